/**
 * No ping-pong between the two directions: an event that came from Azure must never be forwarded
 * back to Azure. On the AWS bus that means no event can match both a rule that sends to an API
 * destination (the route to Azure) and a rule that feeds an SQS queue or a Lambda (the consumers of
 * Azure-origin events).
 *
 * What the check can prove, and what it cannot: an event has exactly one `source`, so two patterns
 * whose `source` lists are literal and share no value can never match the same event. Anything else
 * is not proved disjoint and is reported: a pattern without `source` (every source), a top-level
 * `$or`, or a content filter in `source` (prefix, suffix, anything-but, wildcard, equals-ignore-case)
 * is reported as unverifiable rather than evaluated. Two rules kept apart by another field only
 * (`detail-type`, `detail`) are reported too: use distinct sources per direction.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { config, dependsOn, label, T } from "./common";
import { isUnknown, json, read, show, UNKNOWN } from "./values";

type Route = "to-azure" | "to-aws-consumer";

/** What a rule target sends to. An ARN unknown at preview is resolved through the target's `arn` dependencies. */
function routeOf(target: PolicyResource, resources: PolicyResource[]): Route | undefined {
    const arn = read(target.props, "arn");
    if (typeof arn === "string") {
        // EventBridge API destination ARN: arn:aws:events:<region>:<account>:api-destination/<name>/<uuid>.
        if (/^arn:[^:]+:events:[^:]*:[^:]*:api-destination\//.test(arn)) return "to-azure";
        if (/^arn:[^:]+:(sqs|lambda):/.test(arn)) return "to-aws-consumer";
        return undefined;
    }
    if (!isUnknown(arn)) return undefined;
    const reached = resources.filter((r) => dependsOn(target, r, "arn"));
    if (reached.some((r) => r.type === T.apiDestination)) return "to-azure";
    if (reached.some((r) => r.type === T.sqsQueue || r.type === T.lambdaFunction)) return "to-aws-consumer";
    return undefined;
}

/** Whether `target` belongs to `rule`: by rule name (and bus, when both are known), else through its `rule` dependency. */
function targets(target: PolicyResource, rule: PolicyResource): boolean {
    const ref = read(target.props, "rule");
    const name = read(rule.props, "name");
    if (typeof ref !== "string" || typeof name !== "string") return isUnknown(ref) || isUnknown(name) ? dependsOn(target, rule, "rule") : false;
    if (ref !== name) return false;
    return sameBus(target, rule) !== false;
}

/** The event bus of a rule or target by name (`default` when unset), or the bus resources it is built from. */
function busOf(r: PolicyResource, resources: PolicyResource[]): string | PolicyResource[] | undefined {
    const bus = read(r.props, "eventBusName");
    if (bus === undefined || bus === null || bus === "") return "default";
    if (typeof bus === "string") return bus.replace(/^arn:[^:]+:events:[^:]*:[^:]*:event-bus\//, "");
    const from = resources.filter((b) => b.type === T.eventBus && dependsOn(r, b, "eventBusName"));
    return from.length ? from : undefined;
}

/** False when a and b are provably on different buses; true when provably the same; undefined when unknown. */
function sameBus(a: PolicyResource, b: PolicyResource, resources: PolicyResource[] = []): boolean | undefined {
    const [x, y] = [busOf(a, resources), busOf(b, resources)];
    if (typeof x === "string" && typeof y === "string") return x === y;
    if (Array.isArray(x) && Array.isArray(y)) return x.some((bus) => y.includes(bus)) ? true : false;
    return undefined;
}

type Sources = { kind: "literal"; values: string[] } | { kind: "every" } | { kind: "unverifiable"; why: string } | { kind: "unknown" };

/** The `source` values a rule's pattern can match. */
export function sourcesOf(rule: PolicyResource): Sources {
    const pattern = json(read(rule.props, "eventPattern"));
    if (pattern === UNKNOWN) return { kind: "unknown" };
    if (pattern === undefined || pattern === null || typeof pattern !== "object" || Array.isArray(pattern)) {
        return read(rule.props, "scheduleExpression") !== undefined ? { kind: "literal", values: [] } : { kind: "unverifiable", why: "its eventPattern is missing or not a JSON object" };
    }
    if (read(pattern, "$or") !== undefined) return { kind: "unverifiable", why: "its pattern uses a top-level $or" };
    const source = read(pattern, "source");
    if (isUnknown(source)) return { kind: "unknown" };
    if (source === undefined) return { kind: "every" };
    if (!Array.isArray(source)) return { kind: "unverifiable", why: `its source is ${show(source)}, not a list` };
    const filters = source.filter((s) => typeof s !== "string");
    if (filters.length > 0) return { kind: "unverifiable", why: `its source uses content filters (${show(filters)}) that this check does not evaluate` };
    return { kind: "literal", values: source as string[] };
}

export const noPingPong: StackValidationPolicy = {
    name: "eventbridge-routes-no-ping-pong",
    displayName: "The two directions' routes never match the same event",
    description:
        "For every pair of EventBridge rules on the same bus where one targets an API destination (towards Azure) and the other an SQS queue or Lambda function (the consumer of Azure-origin events), the rules' literal `source` lists are disjoint. A rule without `source`, with `$or`, or with content filters in `source` (prefix, anything-but, wildcard, ...) cannot be proved disjoint and is reported as unverifiable.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        'Give each direction its own sources: the rule to the API destination matches only AWS-origin sources (e.g. source ["mesh.aws.orders"]), the rule to the consumer queue only Azure-origin ones (["mesh.azure.orders"]), both as literal lists. ' +
        "An event matching both would be forwarded back to the cloud it came from, and again, without end. A rule whose SQS/Lambda target is not a consumer of Azure-origin events can be listed in ignoredRules.",
    configSchema: {
        properties: {
            ignoredRules: {
                type: "array",
                items: { type: "string" },
                default: [],
                description: "Rules (Pulumi resource names or rule names) whose SQS / Lambda targets do not consume Azure-origin events, e.g. an audit copy.",
            },
        },
    },
    validateStack: (args, report) => {
        const { ignoredRules } = config(args, { ignoredRules: [] as string[] });
        const rules = args.resources.filter((r) => r.type === T.eventRule);
        const allTargets = args.resources.filter((r) => r.type === T.eventTarget);
        const routesOf = (rule: PolicyResource) => new Set(allTargets.filter((t) => targets(t, rule)).map((t) => routeOf(t, args.resources)));
        const toAzure = rules.filter((r) => routesOf(r).has("to-azure"));
        const toConsumers = rules.filter((r) => routesOf(r).has("to-aws-consumer") && !ignoredRules.includes(r.name) && !ignoredRules.includes(String(read(r.props, "name"))));
        if (toAzure.length === 0 || toConsumers.length === 0) args.notApplicable("no pair of rules routing towards Azure and to an AWS consumer");
        for (const outbound of toAzure) {
            for (const inbound of toConsumers) {
                if (outbound === inbound) {
                    report(`${label(outbound)} sends the same events to an API destination and to an AWS consumer: an event from Azure it matches goes straight back to Azure.`, outbound.urn);
                    continue;
                }
                if (sameBus(outbound, inbound, args.resources) === false) continue;
                const [a, b] = [sourcesOf(outbound), sourcesOf(inbound)];
                if (a.kind === "unknown" || b.kind === "unknown") continue;
                const pair = `${label(outbound)} (towards Azure) and ${label(inbound)} (to an AWS consumer)`;
                const unverifiable = [a.kind === "unverifiable" ? `${label(outbound)}: ${a.why}` : "", b.kind === "unverifiable" ? `${label(inbound)}: ${b.why}` : ""].filter(Boolean);
                if (unverifiable.length > 0) {
                    report(`Cannot verify that ${pair} match disjoint events (${unverifiable.join("; ")}); use literal source lists.`, inbound.urn);
                } else if (a.kind === "every" || b.kind === "every") {
                    report(`${pair} can match the same event: ${a.kind === "every" ? label(outbound) : label(inbound)} has no source filter, so it matches every source.`, inbound.urn);
                } else if (a.kind === "literal" && b.kind === "literal") {
                    const shared = a.values.filter((v) => b.values.includes(v));
                    if (shared.length > 0) report(`${pair} both match source ${show(shared)}: such an event would be forwarded back to the cloud it came from.`, inbound.urn);
                }
            }
        }
    },
};

export const azureToAwsRoutingPolicies = [noPingPong];
