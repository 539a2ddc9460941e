/**
 * Delivery path, continued: an alarm is only as good as the person it reaches. Alarms and alerts
 * have actions, are enabled and fire within the hour; action groups are enabled and (advisory by
 * default) have a receiver; SNS topics that alarms notify (advisory by default) have a subscription.
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { config, dependsOn, forTypes, label, number, T } from "./common";
import { isoDurationSeconds } from "./durations";
import { isUnknown, list, read, show, UNKNOWN } from "./values";

/**
 * Receiver arrays of an Azure Monitor action group (Microsoft.Insights 2023-01-01 ActionGroup:
 * emailReceivers, smsReceivers, webhookReceivers, itsmReceivers, azureAppPushReceivers,
 * automationRunbookReceivers, voiceReceivers, logicAppReceivers, azureFunctionReceivers,
 * armRoleReceivers, eventHubReceivers; azure-rest-api-specs
 * specification/monitor/resource-manager/Microsoft.Insights/stable/2023-01-01/actionGroups_API.json).
 */
const ACTION_GROUP_RECEIVERS = [
    "emailReceivers",
    "smsReceivers",
    "webhookReceivers",
    "itsmReceivers",
    "azureAppPushReceivers",
    "automationRunbookReceivers",
    "voiceReceivers",
    "logicAppReceivers",
    "azureFunctionReceivers",
    "armRoleReceivers",
    "eventHubReceivers",
    "incidentReceivers",
];

export const alarmActsInTime: ResourceValidationPolicy = {
    name: "alarm-enabled-with-actions-in-time",
    displayName: "Alarms are enabled, have actions and fire in time",
    description:
        "Every CloudWatch metric alarm has actions enabled and at least one alarm action, and decides within maximumDetectionSeconds (period × evaluationPeriods); every Azure Monitor metric alert and log search alert (scheduled query rule) is enabled, has an action group, and its window and evaluation frequency are within maximumDetectionSeconds.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "CloudWatch: actionsEnabled true (or unset), alarmActions [<SNS topic ARN>], period × evaluationPeriods ≤ the maximum (e.g. 60 × 1). " +
        "Azure Monitor: enabled true, actions [{ actionGroupId }] (log search alerts: actions { actionGroups: [<id>] }), windowSize and evaluationFrequency ≤ the maximum (e.g. PT5M / PT1M).",
    configSchema: {
        properties: {
            maximumDetectionSeconds: { type: "integer", minimum: 60, default: 3600, description: "Longest time an alarm may take to decide (period × evaluationPeriods; alert window)." },
        },
    },
    // Log search alerts: Microsoft.Insights 2025-01-01-preview (the version @pulumi/azure-native 3.28.0 uses for
    // ScheduledQueryRule), ScheduledQueryRuleProperties enabled (required), evaluationFrequency, windowSize and
    // actions.actionGroups (azure-rest-api-specs specification/monitor/resource-manager/Microsoft.Insights/preview/
    // 2025-01-01-preview/scheduledQueryRule_API.json). A rule of kind LogToMetric only writes a metric and alerts no one by design.
    validateResource: forTypes([T.metricAlarm, T.metricAlert, T.scheduledQueryRule], (props, args, report) => {
        const { maximumDetectionSeconds } = config(args, { maximumDetectionSeconds: 3600 });
        const who = label(args);
        if (args.type === T.metricAlarm) {
            const enabled = read(props, "actionsEnabled");
            if (enabled === false) report(`${who}: actionsEnabled is false: it changes state and tells no one.`);
            const actions = list(read(props, "alarmActions"));
            if (actions !== UNKNOWN && actions.length === 0) report(`${who} has no alarmActions: it notifies nobody.`);
            const period = read(props, "period");
            const periods = read(props, "evaluationPeriods");
            // Metric-math alarms carry the period on each query; the largest one counts.
            const queries = list(read(props, "metricQueries"));
            const queryPeriods = queries === UNKNOWN ? [] : queries.map((q) => number(read(q, "metric", "period"))).filter((p): p is number => p !== undefined);
            const p = number(period) ?? (queryPeriods.length ? Math.max(...queryPeriods) : undefined);
            const n = number(periods);
            if (!isUnknown(period) && !isUnknown(periods) && p !== undefined && n !== undefined && p * n > maximumDetectionSeconds) {
                report(`${who}: period ${p} s × evaluationPeriods ${n} = ${p * n} s before it can fire, more than ${maximumDetectionSeconds} s.`);
            }
        } else {
            const enabled = read(props, "enabled");
            if (enabled === false) report(`${who} is disabled: it never fires.`);
            if (args.type === T.scheduledQueryRule && read(props, "kind") === "LogToMetric") {
                args.notApplicable("a LogToMetric rule writes a metric and alerts no one");
                return;
            }
            const actions = list(args.type === T.scheduledQueryRule ? read(props, "actions", "actionGroups") : read(props, "actions"));
            if (actions !== UNKNOWN && actions.length === 0) report(`${who} has no action group: it notifies nobody.`);
            for (const key of ["windowSize", "evaluationFrequency"]) {
                const value = read(props, key);
                if (typeof value !== "string") continue;
                const seconds = isoDurationSeconds(value);
                if (seconds === undefined || seconds > maximumDetectionSeconds) report(`${who}: ${key} ${show(value)} is longer than ${maximumDetectionSeconds} s: the alert fires late.`);
            }
        }
    }),
};

export const actionGroupEnabled: ResourceValidationPolicy = {
    name: "action-group-enabled",
    displayName: "Action groups are enabled",
    description: "Every Azure Monitor action group is enabled: a disabled group silences every alert that uses it.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Set enabled: true on the azure-native:monitor:ActionGroup.",
    validateResource: forTypes([T.actionGroup], (props, args, report) => {
        const enabled = read(props, "enabled");
        if (!isUnknown(enabled) && enabled !== true) report(`${label(args)}: enabled is ${show(enabled)}: alerts that use it notify nobody.`);
    }),
};

/**
 * Advisory by default: the program's own defaults configure no receiver (alarmEmail is empty), a
 * choice its configuration documents and warns about. An organisation that requires a receiver
 * sets this policy (and sns-alarm-topic-has-subscription) to mandatory in its policy group or with
 * --policy-config.
 */
export const actionGroupReceivers: ResourceValidationPolicy = {
    name: "action-group-has-receiver",
    displayName: "Action groups reach someone",
    description: "Every Azure Monitor action group has at least one receiver (e-mail, SMS, webhook, push, voice, ITSM, Logic App, Function, ARM role, Event Hub, runbook).",
    enforcementLevel: "advisory",
    severity: "high",
    remediationSteps: "Add at least one receiver, e.g. emailReceivers [{ name, emailAddress, useCommonAlertSchema: true }] (config alarmEmail in this program). Set this policy mandatory for production stacks.",
    validateResource: forTypes([T.actionGroup], (props, args, report) => {
        let unknown = false;
        let receivers = 0;
        for (const key of ACTION_GROUP_RECEIVERS) {
            const items = list(read(props, key));
            if (items === UNKNOWN) unknown = true;
            else receivers += items.length;
        }
        if (!unknown && receivers === 0) report(`${label(args)} has no receiver: alerts that use it notify nobody.`);
    }),
};

/** SNS topic ARNs an alarm names (alarm, OK and insufficient-data actions). */
function alarmTopicReferences(alarm: PolicyResource): unknown[] {
    const refs: unknown[] = [];
    for (const key of ["alarmActions", "okActions", "insufficientDataActions"]) {
        const items = list(read(alarm.props, key));
        if (items === UNKNOWN) refs.push(UNKNOWN);
        else refs.push(...items);
    }
    return refs;
}

export const snsAlarmTopicSubscribed: StackValidationPolicy = {
    name: "sns-alarm-topic-has-subscription",
    displayName: "SNS topics that alarms notify have a subscriber",
    description:
        "Every SNS topic of the stack that a CloudWatch alarm notifies has at least one topic subscription in the stack. Topics outside the stack (given by ARN) cannot be checked and pass.",
    // Advisory by default for the same reason as action-group-has-receiver.
    enforcementLevel: "advisory",
    severity: "high",
    remediationSteps: "Add an aws.sns.TopicSubscription (email, https, lambda, sqs...) to the alarm topic (config alarmEmail in this program), or notify a topic whose subscribers you manage elsewhere.",
    validateStack: (args, report) => {
        const topics = args.resources.filter((r) => r.type === T.snsTopic);
        const alarms = args.resources.filter((r) => r.type === T.metricAlarm);
        const subscriptions = args.resources.filter((r) => r.type === T.snsSubscription);
        const notified = topics.filter((topic) => {
            const arn = read(topic.props, "arn");
            return alarms.some((alarm) => alarmTopicReferences(alarm).some((ref) => (typeof ref === "string" && typeof arn === "string" ? ref === arn : dependsOn(alarm, topic))));
        });
        if (notified.length === 0) args.notApplicable("no SNS topic of the stack is notified by an alarm");
        for (const topic of notified) {
            const arn = read(topic.props, "arn");
            const subscribed = subscriptions.some((s) => {
                const ref = read(s.props, "topic");
                if (typeof ref === "string" && typeof arn === "string") return ref === arn;
                return dependsOn(s, topic, "topic");
            });
            if (!subscribed) report(`SNS topic ${label(topic)} is notified by alarms but has no subscription in the stack: the alarms reach nobody.`, topic.urn);
        }
    },
};

export const alarmPolicies = [alarmActsInTime, actionGroupEnabled, actionGroupReceivers, snsAlarmTopicSubscribed];
