import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { alarmAbove, AlarmMetric } from "./alarms";
import { alarmedQueue } from "./alarmed-queue";
import { fail, requireInteger } from "../validate";

/** The Entra ID client credentials EventBridge exchanges for a Service Bus token. */
export interface OAuthClientCredentials {
    /** Entra ID tenant whose v2.0 token endpoint issues the token. */
    tenantId: pulumi.Input<string>;
    /** Application (client) id of the publisher application. */
    clientId: pulumi.Input<string>;
    /** Client secret of the publisher application. Always handled as a Pulumi secret. */
    clientSecret: pulumi.Input<string>;
}

export interface EventEgressArgs {
    /** EventBridge `source` values forwarded to Azure; at least one. */
    sources: string[];
    /** Days the bus archive keeps events for replay; 0 keeps them indefinitely. */
    archiveRetentionDays: number;
    /** Fully qualified Service Bus namespace, e.g. `mesh-dev-a1b2c3.servicebus.windows.net`. */
    namespaceFqdn: pulumi.Input<string>;
    /** Service Bus queue the API destination sends to. */
    queueName: pulumi.Input<string>;
    /** Credentials of the Entra ID application allowed to send to the queue. */
    credentials: OAuthClientCredentials;
    /** Longest time EventBridge keeps retrying one event, in seconds (60..86400). */
    maximumEventAgeSeconds: number;
    /** Most retries of one event (0..185). */
    maximumRetryAttempts: number;
    /** Invocations per second the API destination allows (1..300). */
    rateLimitPerSecond: number;
    /** SNS topics the dead-letter and failed-invocation alarms notify. */
    alarmTopicArns: pulumi.Input<pulumi.Input<string>[]>;
    /** Protect the dead-letter queue from deletion (it may hold the only copy of an event). */
    deletionProtection: boolean;
    /** Tags on every taggable resource of this component. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** Entra ID scope that grants data-plane access to every Service Bus namespace the principal has a role on. */
export const SERVICE_BUS_SCOPE = "https://servicebus.azure.net/.default";

/** Token endpoint of an Entra ID tenant (v2.0, client credentials grant). */
export function entraTokenEndpoint(tenantId: string): string {
    return `https://login.microsoftonline.com/${tenantId}/oauth2/v2.0/token`;
}

/** Service Bus REST "send message" endpoint for a queue. */
export function serviceBusSendEndpoint(namespaceFqdn: string, queueName: string): string {
    return `https://${namespaceFqdn}/${encodeURIComponent(queueName)}/messages`;
}

/**
 * The AWS half of the delivery path: the custom event bus and its archive, the rule that selects
 * the mesh's sources, and the API destination (OAuth client credentials against Entra ID) that
 * POSTs each event into the Service Bus queue. Failed deliveries land in an encrypted SQS
 * dead-letter queue that only this rule may write to, and two alarms watch the path.
 *
 * Why the dead-letter queue is not optional: EventBridge does not retry a 4xx other than
 * 401/407/409/429 (a 413 for an oversized message, a 403 for an exceeded quota or disabled entity,
 * a 410 when the queue is gone); without a dead-letter queue such an event is dropped.
 */
export class EventEgress extends pulumi.ComponentResource {
    public readonly busName: pulumi.Output<string>;
    public readonly busArn: pulumi.Output<string>;
    public readonly archiveArn: pulumi.Output<string>;
    public readonly ruleArn: pulumi.Output<string>;
    public readonly connectionArn: pulumi.Output<string>;
    /** DescribeConnection takes the name, not the ARN (npm run smoke checks the state). */
    public readonly connectionName: pulumi.Output<string>;
    public readonly apiDestinationArn: pulumi.Output<string>;
    public readonly deadLetterQueueArn: pulumi.Output<string>;
    public readonly deadLetterQueueUrl: pulumi.Output<string>;
    public readonly deadLetterQueueName: pulumi.Output<string>;
    /** The rule's (and the archive's) event pattern: exactly the configured sources. */
    public readonly eventPattern: string;

    constructor(name: string, args: EventEgressArgs, opts?: pulumi.ComponentResourceOptions) {
        super("multicloud-mesh:aws:EventEgress", name, {}, opts);
        validateEgressArgs(args);
        this.eventPattern = JSON.stringify({ source: args.sources });

        const bus = new aws.cloudwatch.EventBus(`${name}-bus`, { tags: args.tags }, { parent: this });

        const archive = new aws.cloudwatch.EventArchive(
            `${name}-archive`,
            {
                eventSourceArn: bus.arn,
                retentionDays: args.archiveRetentionDays,
                // Archive exactly what the rule forwards, so a replay re-sends only mesh events.
                eventPattern: this.eventPattern,
                description: "Replay source for events that must be re-delivered to Azure after an outage",
            },
            { parent: this, protect: args.deletionProtection },
        );

        const rule = new aws.cloudwatch.EventRule(
            `${name}-rule`,
            {
                eventBusName: bus.name,
                description: "Forwards mesh events to the Azure Service Bus queue",
                eventPattern: this.eventPattern,
                state: "ENABLED",
                tags: args.tags,
            },
            { parent: this },
        );

        const connection = new aws.cloudwatch.EventConnection(
            `${name}-connection`,
            {
                description: "OAuth client credentials (Entra ID) for the Service Bus API destination",
                authorizationType: "OAUTH_CLIENT_CREDENTIALS",
                authParameters: {
                    oauth: {
                        authorizationEndpoint: pulumi.output(args.credentials.tenantId).apply(entraTokenEndpoint),
                        httpMethod: "POST",
                        clientParameters: {
                            clientId: args.credentials.clientId,
                            clientSecret: pulumi.secret(args.credentials.clientSecret),
                        },
                        oauthHttpParameters: {
                            bodies: [
                                { key: "grant_type", value: "client_credentials", isValueSecret: false },
                                { key: "scope", value: SERVICE_BUS_SCOPE, isValueSecret: false },
                            ],
                        },
                    },
                },
            },
            { parent: this },
        );

        const apiDestination = new aws.cloudwatch.EventApiDestination(
            `${name}-destination`,
            {
                description: "Service Bus REST send endpoint of the mesh queue",
                connectionArn: connection.arn,
                httpMethod: "POST",
                invocationEndpoint: pulumi
                    .all([args.namespaceFqdn, args.queueName])
                    .apply(([fqdn, queue]) => serviceBusSendEndpoint(fqdn, queue)),
                invocationRateLimitPerSecond: args.rateLimitPerSecond,
            },
            { parent: this },
        );

        const { queue: deadLetterQueue } = alarmedQueue(
            {
                name: `${name}-dlq`,
                alarmSuffix: "-depth-alarm",
                alarmDescription: "Events that EventBridge could not deliver to Azure are waiting in the dead-letter queue: inspect, then `npm run redrive`",
                alarmTopicArns: args.alarmTopicArns,
                senderRuleArn: rule.arn,
                senderSid: "OnlyTheMeshRuleDeadLetters",
                deletionProtection: args.deletionProtection,
                tags: args.tags,
            },
            this,
        );

        const identity = aws.getCallerIdentityOutput({}, { parent: this });
        const targetRole = new aws.iam.Role(
            `${name}-target-role`,
            {
                description: "Lets the mesh rule invoke its API destination, and nothing else",
                assumeRolePolicy: pulumi.all([rule.arn, identity.accountId]).apply(([ruleArn, account]) =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            {
                                Effect: "Allow",
                                Principal: { Service: "events.amazonaws.com" },
                                Action: "sts:AssumeRole",
                                Condition: {
                                    StringEquals: { "aws:SourceAccount": account },
                                    ArnEquals: { "aws:SourceArn": ruleArn },
                                },
                            },
                        ],
                    }),
                ),
                tags: args.tags,
            },
            { parent: this },
        );

        new aws.iam.RolePolicy(
            `${name}-target-invoke`,
            {
                role: targetRole.id,
                policy: apiDestination.arn.apply((destinationArn) =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            { Effect: "Allow", Action: "events:InvokeApiDestination", Resource: destinationArn },
                        ],
                    }),
                ),
            },
            { parent: this },
        );

        new aws.cloudwatch.EventTarget(
            `${name}-target`,
            {
                rule: rule.name,
                eventBusName: bus.name,
                arn: apiDestination.arn,
                roleArn: targetRole.arn,
                retryPolicy: {
                    maximumEventAgeInSeconds: args.maximumEventAgeSeconds,
                    maximumRetryAttempts: args.maximumRetryAttempts,
                },
                deadLetterConfig: { arn: deadLetterQueue.arn },
            },
            { parent: this },
        );

        const alarm = (role: string, description: string, metric: AlarmMetric) =>
            alarmAbove(`${name}-${role}`, description, metric, { topicArns: args.alarmTopicArns, tags: args.tags }, this);

        alarm("failed-invocations-alarm", "The API destination to Service Bus is failing (retried until the retry policy gives up, then dead-lettered)", {
            namespace: "AWS/Events",
            metricName: "FailedInvocations",
            dimensions: { EventBusName: bus.name, RuleName: rule.name },
            statistic: "Sum",
        });
        // If the dead-letter queue itself refuses an event (policy or key broken) the event is gone:
        // this alarm is the only trace of it.
        alarm("dlq-send-failed-alarm", "EventBridge failed to put an undeliverable event into the dead-letter queue: the event is lost unless replayed from the archive", {
            namespace: "AWS/Events",
            metricName: "InvocationsFailedToBeSentToDlq",
            dimensions: { EventBusName: bus.name, RuleName: rule.name },
            statistic: "Sum",
        });

        this.busName = bus.name;
        this.busArn = bus.arn;
        this.archiveArn = archive.arn;
        this.ruleArn = rule.arn;
        this.connectionArn = connection.arn;
        this.connectionName = connection.name;
        this.apiDestinationArn = apiDestination.arn;
        this.deadLetterQueueArn = deadLetterQueue.arn;
        this.deadLetterQueueUrl = deadLetterQueue.url;
        this.deadLetterQueueName = deadLetterQueue.name;
        this.registerOutputs({
            busName: this.busName,
            busArn: this.busArn,
            archiveArn: this.archiveArn,
            ruleArn: this.ruleArn,
            connectionArn: this.connectionArn,
            connectionName: this.connectionName,
            apiDestinationArn: this.apiDestinationArn,
            deadLetterQueueArn: this.deadLetterQueueArn,
            deadLetterQueueUrl: this.deadLetterQueueUrl,
        });
    }
}

function validateEgressArgs(args: EventEgressArgs): void {
    const C = "EventEgress";
    if (!Array.isArray(args.sources) || args.sources.length === 0) fail(C, "sources", "must name at least one event source");
    requireInteger(C, "maximumEventAgeSeconds", args.maximumEventAgeSeconds, 60, 86400);
    requireInteger(C, "maximumRetryAttempts", args.maximumRetryAttempts, 0, 185);
    requireInteger(C, "rateLimitPerSecond", args.rateLimitPerSecond, 1, 300);
    requireInteger(C, "archiveRetentionDays", args.archiveRetentionDays, 0, 36500);
}
