import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { alarmedQueue } from "./alarmed-queue";
import * as time from "@pulumiverse/time";
import { alarmTopicPolicy } from "./alarm-topic";
import { requireInteger } from "../validate";

export interface CredentialAlarmsArgs {
    /** The mesh's own alarm topic: its resource policy is set here (it must name the rule below). */
    topicArn: pulumi.Input<string>;
    /** KMS key of that topic: the Scheduler role publishes through it. */
    topicKeyArn: pulumi.Input<string>;
    /** The team's existing SNS topic (same region), notified as well; its policy is the team's to set. */
    teamTopicArn?: string;
    /** ARN of the EventBridge connection whose state changes page. */
    connectionArn: pulumi.Input<string>;
    /** RFC 3339 end date of the secret the connection uses now (PublisherIdentity.secretEndDate). */
    secretEndDate: pulumi.Input<string>;
    /** Which slot that secret comes from (PublisherIdentity.activeSlot); only named in the page. */
    activeSlot: pulumi.Input<string>;
    /** Days before `secretEndDate` at which the expiry page fires (1..365). */
    expiryAlarmDays: number;
    /** Tags on every taggable resource of this component. */
    /** Protect the dead-letter queue of undeliverable state-change pages from deletion (prod). */
    deletionProtection?: boolean;
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** When the expiry page fires, and whether that was pulled forward because the date had already passed. */
export interface ExpiryAlarmTime {
    /** EventBridge Scheduler one-time expression, UTC: `at(yyyy-mm-ddThh:mm:ss)`. */
    expression: string;
    /** The same instant, RFC 3339. */
    firesAt: string;
    /** True when `endDate - days` was not after `deployedAt`: the page fires shortly after the deployment. */
    immediate: boolean;
}

/** Minutes after the deployment at which an overdue page fires: Scheduler's `at()` must lie ahead when the schedule is written. */
export const OVERDUE_PAGE_DELAY_MINUTES = 5;

/**
 * The instant of the secret-expiry page: `days` before `endDate`, or, when that instant is not after
 * `deployedAt` (the secret was already inside the window when it was deployed), a few minutes after
 * the deployment, so the page still goes out at once rather than never.
 */
export function expiryAlarmTime(endDate: string, days: number, deployedAt: string): ExpiryAlarmTime {
    const end = Date.parse(endDate);
    const deployed = Date.parse(deployedAt);
    if (Number.isNaN(end)) throw new Error(`expiryAlarmTime: secret end date ${JSON.stringify(endDate)} is not an RFC 3339 date-time`);
    if (Number.isNaN(deployed)) throw new Error(`expiryAlarmTime: deployment time ${JSON.stringify(deployedAt)} is not an RFC 3339 date-time`);
    const due = end - days * 86_400_000;
    const immediate = due <= deployed;
    // Scheduler fires with one-minute precision; whole seconds keep the expression stable.
    const at = new Date(Math.floor((immediate ? deployed + OVERDUE_PAGE_DELAY_MINUTES * 60_000 : due) / 1000) * 1000);
    const iso = at.toISOString();
    return { expression: `at(${iso.slice(0, 19)})`, firesAt: `${iso.slice(0, 19)}Z`, immediate };
}

/**
 * The EventBridge pattern of connection-state events, on the default bus where EventBridge sends
 * its own events ("Amazon EventBridge events detail reference": `source` "aws.events", one
 * detail-type per state change of a connection; connection states in the EventBridge API reference,
 * Connection.ConnectionState). Deliberately not narrowed to one connection ARN: which field carries
 * it (`resources` or a detail field) is not something we could confirm from the documentation here,
 * and a filter on the wrong field would silence the alarm. Every page names its connection.
 */
export function connectionStatePattern(): string {
    return JSON.stringify({ source: ["aws.events"], "detail-type": [{ prefix: "Connection " }] });
}

/**
 * Two pages that come before users notice a dead credential:
 *  - the active publisher secret's end date approaching: an EventBridge Scheduler one-time schedule
 *    at `endDate - expiryAlarmDays`, publishing straight to the alarm topics (no code runs). It is
 *    recomputed on every update: after a rotation the active secret changes and the schedule moves.
 *    `options.refresh: always` (Pulumi.yaml) makes every update rotate what is due first, so it fires
 *    only when updates have stopped;
 *  - the EventBridge connection changing state (leaving AUTHORIZED is what de-authorizes the API
 *    destination): a rule on the default bus forwarding connection-state events to the alarm topics.
 * The schedule publishes through a role allowed `sns:Publish` on those topics alone (and the topic
 * key, without which SNS refuses a publish to an encrypted topic); the topic policy lets exactly
 * the rule below publish.
 */
export class CredentialAlarms extends pulumi.ComponentResource {
    public readonly connectionRuleArn: pulumi.Output<string>;
    /** RFC 3339 instant of the secret-expiry page. */
    public readonly secretExpiryPageAt: pulumi.Output<string>;
    public readonly scheduleRoleArn: pulumi.Output<string>;

    constructor(name: string, args: CredentialAlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("multicloud-mesh:aws:CredentialAlarms", name, {}, opts);
        requireInteger("CredentialAlarms", "expiryAlarmDays", args.expiryAlarmDays, 1, 365);
        // Known at construction: the own topic, then the team's (from configuration) when set.
        const topics: { role: string; arn: pulumi.Input<string> }[] = [{ role: "topic", arn: args.topicArn }];
        if (args.teamTopicArn !== undefined) topics.push({ role: "team-topic", arn: args.teamTopicArn });
        const identity = aws.getCallerIdentityOutput({}, { parent: this });

        // --- connection leaves AUTHORIZED ---
        const rule = new aws.cloudwatch.EventRule(
            `${name}-connection-state`,
            {
                // No eventBusName: EventBridge delivers its own events to the default bus only.
                description: "Pages when an EventBridge connection changes state (a de-authorized connection stops every delivery to Azure)",
                eventPattern: connectionStatePattern(),
                state: "ENABLED",
                tags: args.tags,
            },
            { parent: this },
        );
        // A state-change page SNS refuses (key or policy broken) must not vanish: retried, then kept
        // in its own dead-letter queue, whose depth pages through CloudWatch (a different path).
        const { queue: deadLetters } = alarmedQueue(
            {
                name: `${name}-connection-state-dead-letters`,
                alarmDescription: "A connection state-change page could not be delivered to the alarm topic: read the dead-letter queue",
                alarmTopicArns: topics.map((t) => t.arn),
                senderRuleArn: rule.arn,
                senderSid: "OnlyTheConnectionStateRuleDeadLetters",
                deletionProtection: args.deletionProtection ?? false,
                tags: args.tags,
            },
            this,
        );
        for (const topic of topics) {
            new aws.cloudwatch.EventTarget(
                `${name}-connection-state-${topic.role}`,
                {
                    rule: rule.name,
                    arn: topic.arn,
                    retryPolicy: { maximumEventAgeInSeconds: 86_400, maximumRetryAttempts: 185 },
                    deadLetterConfig: { arn: deadLetters.arn },
                },
                { parent: this },
            );
        }

        new aws.sns.TopicPolicy(
            `${name}-topic-policy`,
            {
                arn: args.topicArn,
                policy: pulumi.all([args.topicArn, identity.accountId, rule.arn]).apply(([topic, account, ruleArn]) => alarmTopicPolicy(topic, account, ruleArn)),
            },
            { parent: this },
        );

        // --- active secret's end date approaching ---
        const role = new aws.iam.Role(
            `${name}-scheduler-role`,
            {
                description: "Lets the secret-expiry schedule publish to the mesh's alarm topics, and nothing else",
                assumeRolePolicy: identity.accountId.apply((account) =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            {
                                Effect: "Allow",
                                Principal: { Service: "scheduler.amazonaws.com" },
                                Action: "sts:AssumeRole",
                                Condition: { StringEquals: { "aws:SourceAccount": account } },
                            },
                        ],
                    }),
                ),
                tags: args.tags,
            },
            { parent: this },
        );
        new aws.iam.RolePolicy(
            `${name}-scheduler-publish`,
            {
                role: role.id,
                policy: pulumi.all([pulumi.all(topics.map((t) => t.arn)), args.topicKeyArn]).apply(([topicArns, keyArn]) =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            { Sid: "PublishToAlarmTopics", Effect: "Allow", Action: "sns:Publish", Resource: topicArns },
                            // A publisher to a KMS-encrypted topic needs these on the topic's key.
                            { Sid: "EncryptForTheMeshTopic", Effect: "Allow", Action: ["kms:GenerateDataKey*", "kms:Decrypt"], Resource: keyArn },
                        ],
                    }),
                ),
            },
            { parent: this },
        );

        // When the end date last changed, by the time provider's clock: the "deployment time" the
        // overdue case compares against. It is replaced only when the end date changes, so the
        // schedule does not move on every update.
        const deployedAt = new time.Static(`${name}-secret-seen`, { triggers: { endDate: args.secretEndDate } }, { parent: this });
        const when = pulumi.all([args.secretEndDate, deployedAt.rfc3339]).apply(([end, at]) => {
            const result = expiryAlarmTime(end, args.expiryAlarmDays, at);
            if (result.immediate) {
                void pulumi.log.warn(
                    `the active publisher secret ends ${end}, within ${args.expiryAlarmDays} days: the expiry page fires at ${result.firesAt}. ` +
                        "Run `pulumi up` (it refreshes, which rotates the secret) and check the Deployments schedule.",
                    this,
                );
            }
            return result;
        });
        const message = pulumi.all([args.secretEndDate, args.activeSlot, args.connectionArn]).apply(([end, slot, connection]) =>
            [
                `multicloud-mesh: the client secret EventBridge uses (slot ${slot}) expires ${end}.`,
                `When it does, EventBridge de-authorizes ${connection} and no event reaches Azure.`,
                "Rotation has stalled: run `pulumi up` for this stack (it refreshes first and rotates what is due), then check why the scheduled deployment did not.",
            ].join("\n"),
        );
        for (const topic of topics) {
            new aws.scheduler.Schedule(
                `${name}-secret-expiry${topic.role === "topic" ? "" : "-team"}`,
                {
                    description: `Pages ${args.expiryAlarmDays} days before the active publisher secret expires`,
                    // CreateSchedule ScheduleExpression: "at(yyyy-mm-ddThh:mm:ss)", evaluated in
                    // ScheduleExpressionTimezone (EventBridge Scheduler API reference; User Guide,
                    // "Schedule types", one-time schedules).
                    scheduleExpression: when.expression,
                    scheduleExpressionTimezone: "UTC",
                    flexibleTimeWindow: { mode: "OFF" },
                    // Keep the completed schedule: deleting it would make the next refresh recreate
                    // it, and a recreated one-time schedule would page again.
                    actionAfterCompletion: "NONE",
                    state: "ENABLED",
                    // A templated target: a topic ARN means sns:Publish, and Input is the message.
                    target: { arn: topic.arn, roleArn: role.arn, input: message },
                },
                { parent: this },
            );
        }

        this.connectionRuleArn = rule.arn;
        this.secretExpiryPageAt = when.firesAt;
        this.scheduleRoleArn = role.arn;
        this.registerOutputs({ connectionRuleArn: this.connectionRuleArn, secretExpiryPageAt: this.secretExpiryPageAt, scheduleRoleArn: this.scheduleRoleArn });
    }
}
