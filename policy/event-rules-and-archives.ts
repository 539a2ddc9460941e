/**
 * EventBridge rules and replay archives: a rule that stops matching and an archive that forgets
 * too early both lose events silently (nothing fails, so no delivery alarm fires). Closes W15 and
 * W16 of the issue-11 re-check (docs/policy-recheck.md).
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { config, forTypes, label, number, T } from "./common";
import { isUnknown, read, show } from "./values";

export const eventRuleEnabled: ResourceValidationPolicy = {
    name: "eventbridge-rule-enabled",
    displayName: "EventBridge rules are enabled",
    description:
        "No EventBridge rule sets state DISABLED (or the deprecated isEnabled false): a disabled rule matches nothing, so events on the bus reach none of its targets and no delivery metric or dead-letter queue shows it.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: 'Set state "ENABLED". To pause delivery on purpose, list the rule\'s name in allowedDisabledRules (pack config) for the duration and replay from the archive afterwards.',
    configSchema: {
        properties: {
            allowedDisabledRules: { type: "array", items: { type: "string" }, default: [], description: "Rule names (the name property or the logical name) allowed to be disabled." },
        },
    },
    // EventBridge API reference, PutRule: State is ENABLED | DISABLED | ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS,
    // default ENABLED; "If the state is DISABLED, the rule does not match any events". Pulumi aws provider
    // (cloudwatch/eventRule): `state`, and the deprecated boolean `isEnabled` that maps onto it.
    validateResource: forTypes([T.eventRule], (props, args, report) => {
        const { allowedDisabledRules } = config(args, { allowedDisabledRules: [] as string[] });
        const name = read(props, "name");
        if (allowedDisabledRules.includes(args.name) || (typeof name === "string" && allowedDisabledRules.includes(name))) return;
        const state = read(props, "state");
        const enabled = read(props, "isEnabled");
        if (typeof state === "string" && state.toUpperCase() === "DISABLED") report(`${label(args)}: state is "DISABLED"; the rule matches no event, so its targets receive nothing and no alarm fires.`);
        else if (state === undefined && enabled === false) report(`${label(args)}: isEnabled is false; the rule matches no event, so its targets receive nothing and no alarm fires.`);
    }),
};

export const eventArchiveRetention: ResourceValidationPolicy = {
    name: "eventbridge-archive-retention",
    displayName: "EventBridge replay archives keep events long enough to replay them",
    description:
        "Every EventBridge archive keeps events indefinitely (retentionDays 0 or absent) or at least minimumRetentionDays: an event EventBridge could neither deliver nor dead-letter is recoverable only by replay from the archive.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Raise retentionDays to the stack's replay horizon (the program's archiveRetentionDays; prod 90) or 0 (indefinitely). Production pack config should set minimumRetentionDays to that horizon.",
    configSchema: {
        properties: {
            // A weekend: an incident that starts on Friday evening is found on Monday morning. Dev
            // stacks keep 3 days; a production policy group should raise this to its own horizon (90).
            minimumRetentionDays: { type: "integer", minimum: 1, default: 3, description: "Shortest acceptable retention (days) of an archive that does not keep events indefinitely." },
        },
    },
    // EventBridge API reference, CreateArchive / UpdateArchive: RetentionDays, "The number of days to retain
    // events for. Default value is 0. If set to 0, events are retained indefinitely". Pulumi aws provider
    // (cloudwatch/eventArchive): `retentionDays`.
    validateResource: forTypes([T.eventArchive], (props, args, report) => {
        const { minimumRetentionDays } = config(args, { minimumRetentionDays: 3 });
        const raw = read(props, "retentionDays");
        if (raw === undefined || isUnknown(raw)) return;
        const days = number(raw);
        if (days === undefined) report(`${label(args)}: retentionDays is ${show(raw)}, not a number.`);
        else if (days !== 0 && days < minimumRetentionDays) report(`${label(args)}: retentionDays is ${days}; events that failed delivery are gone after ${days} day(s), before the ${minimumRetentionDays}-day replay horizon.`);
    }),
};

export const eventRuleAndArchivePolicies = [eventRuleEnabled, eventArchiveRetention];
