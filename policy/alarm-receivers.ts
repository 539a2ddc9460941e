/**
 * Alarms that reach nobody, outside development stacks. action-group-has-receiver and
 * sns-alarm-topic-has-subscription are advisory because a developer's stack legitimately has no
 * on-call receiver; a production stack without one loses the only signal that an event was parked
 * or dead-lettered (A12 of the issue-11 re-check, docs/policy-recheck.md). This policy makes the
 * same two checks mandatory on every stack whose name does not mark it as a development stack, so
 * it no longer depends on the program's own `requireAlarmReceiver` switch staying in its config.
 */
import type { PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { actionGroupReceivers, snsAlarmTopicSubscribed } from "./alarms";
import { config, T } from "./common";

/** Stack name from a resource URN (`urn:pulumi:<stack>::<project>::<type>::<name>`, Pulumi docs "Resource URNs"). */
export function stackNameOf(resources: PolicyResource[]): string | undefined {
    for (const r of resources) {
        const m = /^urn:pulumi:([^:]+)::/.exec(r.urn);
        if (m) return m[1];
    }
    return undefined;
}

const NOT_APPLICABLE = Symbol("not applicable");

export const alarmReceiversOutsideDev: StackValidationPolicy = {
    name: "alarm-receivers-required-outside-dev",
    displayName: "Alarms reach someone on every stack that is not a development stack",
    description:
        "On a stack whose name matches none of developmentStacks, every Azure Monitor action group has a receiver and every SNS topic a CloudWatch alarm notifies has a subscription in the stack (the checks of action-group-has-receiver and sns-alarm-topic-has-subscription, here mandatory).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Give the stack an alarm receiver (this program: config alarmEmail, and requireAlarmReceiver true), or, for a development stack, add a pattern matching its name to developmentStacks.",
    configSchema: {
        properties: {
            developmentStacks: {
                type: "array",
                items: { type: "string" },
                default: ["^dev$", "^dev-", "-dev$", "^test", "^sandbox"],
                description: "Regular expressions (case-insensitive) of stack names that may have alarms without a receiver.",
            },
        },
    },
    validateStack: (args, report) => {
        const { developmentStacks } = config(args, { developmentStacks: ["^dev$", "^dev-", "-dev$", "^test", "^sandbox"] });
        const stack = stackNameOf(args.resources);
        if (stack === undefined) return args.notApplicable("no resource URN names the stack");
        if (developmentStacks.some((p) => new RegExp(p, "i").test(stack))) return args.notApplicable(`stack "${stack}" is a development stack (developmentStacks)`);
        const prefix = `Stack "${stack}" is not a development stack: `;
        const skip = () => {
            throw NOT_APPLICABLE;
        };
        for (const group of args.resources.filter((r) => r.type === T.actionGroup)) {
            const groupArgs = { ...group, getConfig: () => ({}), notApplicable: skip } as unknown as ResourceValidationArgs;
            const check = actionGroupReceivers.validateResource as (a: ResourceValidationArgs, r: ReportViolation) => void;
            check(groupArgs, (message) => report(prefix + message, group.urn));
        }
        try {
            const check = snsAlarmTopicSubscribed.validateStack as (a: StackValidationArgs, r: ReportViolation) => void;
            check({ ...args, getConfig: () => ({}), notApplicable: skip } as unknown as StackValidationArgs, (message, urn) => report(prefix + message, urn));
        } catch (e) {
            if (e !== NOT_APPLICABLE) throw e;
        }
    },
};
