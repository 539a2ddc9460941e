/**
 * A picture of the mesh as a stack would deploy it, drawn from the resources the mock engine
 * recorded (not from a hand-kept drawing): both clouds and Entra ID, the event path, where dead
 * letters go and what alarms on them, and which identity may do what.
 *
 * Relations are found by value, the way the resources refer to each other (the target's
 * `deadLetterConfig.arn` is the queue's ARN, the alert's `EntityName` filter is the queue's name, the
 * role assignment's `scope` is the queue's id), so a program that drops an alarm or a role
 * assignment gets a picture without it.
 *
 * Output: Mermaid (a flowchart, in a Markdown file GitHub renders) and, through `beautiful-mermaid`
 * (pure JavaScript, no browser), an SVG.
 */
import type { RecordedResource } from "./mock-engine";
import { roleName } from "../components/azure/roles";

type Kind = "event" | "deadletter" | "alarm" | "identity" | "support";

interface Node {
    id: string;
    label: string;
    kind: Kind;
    cloud: "aws" | "azure" | "entra";
    shape: "box" | "store" | "bus" | "alarm" | "identity";
}

interface Edge {
    from: string;
    to: string;
    label: string;
    kind: Kind;
}

const NODE_TYPES: Record<string, { title: string; kind: Kind; shape: Node["shape"] }> = {
    "aws:dynamodb/table:Table": { title: "DynamoDB table", kind: "event", shape: "store" },
    "aws:lambda/eventSourceMapping:EventSourceMapping": { title: "Stream mapping", kind: "event", shape: "box" },
    "aws:lambda/function:Function": { title: "Lambda", kind: "event", shape: "box" },
    "aws:cloudwatch/eventBus:EventBus": { title: "EventBridge bus", kind: "event", shape: "bus" },
    "aws:cloudwatch/eventArchive:EventArchive": { title: "Archive (replay)", kind: "support", shape: "store" },
    "aws:cloudwatch/eventRule:EventRule": { title: "Rule", kind: "event", shape: "box" },
    "aws:cloudwatch/eventTarget:EventTarget": { title: "Target (retry policy)", kind: "event", shape: "box" },
    "aws:cloudwatch/eventApiDestination:EventApiDestination": { title: "API destination", kind: "event", shape: "box" },
    "aws:cloudwatch/eventConnection:EventConnection": { title: "Connection (OAuth client credentials)", kind: "identity", shape: "identity" },
    "aws:sqs/queue:Queue": { title: "SQS queue", kind: "deadletter", shape: "store" },
    "aws:cloudwatch/metricAlarm:MetricAlarm": { title: "CloudWatch alarm", kind: "alarm", shape: "alarm" },
    "aws:sns/topic:Topic": { title: "SNS topic", kind: "alarm", shape: "bus" },
    "aws:sns/topicSubscription:TopicSubscription": { title: "Subscription", kind: "alarm", shape: "box" },
    "aws:iam/role:Role": { title: "IAM role", kind: "identity", shape: "identity" },
    "aws:iam/rolePolicy:RolePolicy": { title: "Role policy", kind: "identity", shape: "identity" },
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": { title: "Policy attachment", kind: "identity", shape: "identity" },
    "azure-native:servicebus:Namespace": { title: "Service Bus namespace", kind: "support", shape: "box" },
    "azure-native:servicebus:Queue": { title: "Service Bus queue", kind: "event", shape: "store" },
    "azure-native:monitor:MetricAlert": { title: "Metric alert", kind: "alarm", shape: "alarm" },
    "azure-native:monitor:ActionGroup": { title: "Action group", kind: "alarm", shape: "bus" },
    "azure-native:authorization:RoleAssignment": { title: "Role assignment", kind: "identity", shape: "identity" },
    "azure-native:web:WebApp": { title: "Function app", kind: "event", shape: "box" },
    "azure-native:managedidentity:UserAssignedIdentity": { title: "Managed identity", kind: "identity", shape: "identity" },
    "azure-native:redisenterprise:Database": { title: "Redis database", kind: "event", shape: "store" },
    "azure-native:redisenterprise:AccessPolicyAssignment": { title: "Redis access policy", kind: "identity", shape: "identity" },
    "azure-native:storage:StorageAccount": { title: "Storage account", kind: "support", shape: "store" },
    "azure-native:applicationinsights:Component": { title: "Application Insights", kind: "support", shape: "box" },
    "azure-native:redis:Redis": { title: "Redis", kind: "event", shape: "store" },
    "azure-native:redisenterprise:RedisEnterprise": { title: "Managed Redis", kind: "event", shape: "store" },
    "azuread:index/application:Application": { title: "Entra ID application", kind: "identity", shape: "identity" },
    "azuread:index/servicePrincipal:ServicePrincipal": { title: "Service principal", kind: "identity", shape: "identity" },
    "azuread:index/applicationPassword:ApplicationPassword": { title: "Client secret", kind: "identity", shape: "identity" },
};

/** Where a relation is found: `from`'s value at `path` ("*" = every array element / map value) is an identifier of `to`. */
interface Relation {
    from: string;
    path: string[];
    to: string;
    label: string | ((from: RecordedResource, to: RecordedResource) => string);
    kind: Kind;
    /** Draw the arrow from `to` to `from` (data flows against the reference). */
    reverse?: boolean;
    /** Identifiers of `to` to compare with; default arn, id, name, url. */
    keys?: string[];
    /** Instead of equality: whether the value points at `to`. */
    matches?: (value: string, to: RecordedResource) => boolean;
    /**
     * Also relate `from` to `to` when `from` depends on `to` and the value at `path` is set but
     * matches no identifier the mocks invent (a managed identity's principalId, a cache's host name).
     */
    orDependency?: boolean;
}

const RELATIONS: Relation[] = [
    // The event path, in the direction events flow.
    { from: "aws:lambda/eventSourceMapping:EventSourceMapping", path: ["eventSourceArn"], to: "aws:dynamodb/table:Table", keys: ["streamArn"], label: "stream", kind: "event", reverse: true },
    { from: "aws:lambda/eventSourceMapping:EventSourceMapping", path: ["functionName"], to: "aws:lambda/function:Function", keys: ["arn", "name", "id"], label: "invokes", kind: "event" },
    { from: "aws:lambda/function:Function", path: ["environment", "variables", "*"], to: "aws:cloudwatch/eventBus:EventBus", keys: ["name", "arn"], label: "PutEvents", kind: "event" },
    { from: "aws:cloudwatch/eventRule:EventRule", path: ["eventBusName"], to: "aws:cloudwatch/eventBus:EventBus", label: "source pattern", kind: "event", reverse: true },
    { from: "aws:cloudwatch/eventArchive:EventArchive", path: ["eventSourceArn"], to: "aws:cloudwatch/eventBus:EventBus", label: "archived", kind: "support", reverse: true },
    { from: "aws:cloudwatch/eventTarget:EventTarget", path: ["rule"], to: "aws:cloudwatch/eventRule:EventRule", label: "", kind: "event", reverse: true },
    { from: "aws:cloudwatch/eventTarget:EventTarget", path: ["arn"], to: "aws:cloudwatch/eventApiDestination:EventApiDestination", label: "retries", kind: "event" },
    {
        from: "aws:cloudwatch/eventApiDestination:EventApiDestination",
        path: ["invocationEndpoint"],
        to: "azure-native:servicebus:Queue",
        label: "HTTPS POST /messages",
        kind: "event",
        matches: (url, queue) => {
            const ns = queue.outputs.namespaceName ?? queue.inputs.namespaceName;
            const name = queue.outputs.name ?? queue.inputs.queueName;
            return typeof ns === "string" && typeof name === "string" && url.includes(`//${ns}.`) && url.includes(`/${encodeURIComponent(name)}/`);
        },
    },
    { from: "aws:cloudwatch/eventApiDestination:EventApiDestination", path: ["connectionArn"], to: "aws:cloudwatch/eventConnection:EventConnection", label: "authenticates with", kind: "identity", reverse: true },
    { from: "azure-native:web:WebApp", path: ["siteConfig", "appSettings", "*", "value"], to: "azure-native:servicebus:Queue", keys: ["name", "queueName"], label: "peek-lock receive", kind: "event", reverse: true },
    { from: "azure-native:web:WebApp", path: ["siteConfig", "appSettings", "*", "value"], to: "azure-native:redisenterprise:RedisEnterprise", keys: ["hostName"], label: "idempotency claim / complete", kind: "event", orDependency: true },
    { from: "azure-native:redisenterprise:Database", path: ["clusterName"], to: "azure-native:redisenterprise:RedisEnterprise", keys: ["name", "clusterName"], label: "in", kind: "support" },
    { from: "azure-native:servicebus:Queue", path: ["namespaceName"], to: "azure-native:servicebus:Namespace", keys: ["name"], label: "in", kind: "support" },
    // Dead letters and their alarms.
    { from: "aws:cloudwatch/eventTarget:EventTarget", path: ["deadLetterConfig", "arn"], to: "aws:sqs/queue:Queue", label: "undeliverable", kind: "deadletter" },
    { from: "aws:lambda/eventSourceMapping:EventSourceMapping", path: ["destinationConfig", "onFailure", "destinationArn"], to: "aws:sqs/queue:Queue", label: "on failure", kind: "deadletter" },
    { from: "aws:cloudwatch/metricAlarm:MetricAlarm", path: ["dimensions", "QueueName"], to: "aws:sqs/queue:Queue", label: (a) => `${a.inputs.metricName}`, kind: "alarm", reverse: true, keys: ["name"] },
    { from: "aws:cloudwatch/metricAlarm:MetricAlarm", path: ["dimensions", "RuleName"], to: "aws:cloudwatch/eventRule:EventRule", label: (a) => `${a.inputs.metricName}`, kind: "alarm", reverse: true, keys: ["name"] },
    { from: "aws:cloudwatch/metricAlarm:MetricAlarm", path: ["dimensions", "FunctionName"], to: "aws:lambda/function:Function", label: (a) => `${a.inputs.metricName}`, kind: "alarm", reverse: true, keys: ["name"] },
    { from: "aws:cloudwatch/metricAlarm:MetricAlarm", path: ["alarmActions", "*"], to: "aws:sns/topic:Topic", label: "notifies", kind: "alarm" },
    { from: "aws:sns/topicSubscription:TopicSubscription", path: ["topic"], to: "aws:sns/topic:Topic", label: (s) => `${s.inputs.protocol}`, kind: "alarm", reverse: true },
    { from: "azure-native:monitor:MetricAlert", path: ["actions", "*", "actionGroupId"], to: "azure-native:monitor:ActionGroup", label: "notifies", kind: "alarm" },
    // Identities and what they may do.
    { from: "aws:cloudwatch/eventTarget:EventTarget", path: ["roleArn"], to: "aws:iam/role:Role", label: "assumes", kind: "identity" },
    { from: "aws:lambda/function:Function", path: ["role"], to: "aws:iam/role:Role", label: "assumes", kind: "identity" },
    { from: "aws:iam/rolePolicy:RolePolicy", path: ["role"], to: "aws:iam/role:Role", label: "grants", kind: "identity" },
    { from: "aws:iam/rolePolicyAttachment:RolePolicyAttachment", path: ["role"], to: "aws:iam/role:Role", label: "grants", kind: "identity" },
    { from: "aws:cloudwatch/eventConnection:EventConnection", path: ["authParameters", "oauth", "clientParameters", "clientId"], to: "azuread:index/application:Application", keys: ["clientId"], label: "client id", kind: "identity" },
    { from: "aws:cloudwatch/eventConnection:EventConnection", path: ["authParameters", "oauth", "clientParameters", "clientSecret"], to: "azuread:index/applicationPassword:ApplicationPassword", keys: ["value"], label: "client secret", kind: "identity" },
    { from: "azuread:index/applicationPassword:ApplicationPassword", path: ["applicationId"], to: "azuread:index/application:Application", keys: ["id"], label: "secret of", kind: "identity" },
    { from: "azuread:index/servicePrincipal:ServicePrincipal", path: ["clientId"], to: "azuread:index/application:Application", keys: ["clientId"], label: "of", kind: "identity" },
    { from: "azure-native:authorization:RoleAssignment", path: ["principalId"], to: "azuread:index/servicePrincipal:ServicePrincipal", keys: ["objectId"], label: "", kind: "identity", reverse: true, orDependency: true },
    { from: "azure-native:authorization:RoleAssignment", path: ["principalId"], to: "azure-native:managedidentity:UserAssignedIdentity", keys: ["principalId"], label: "", kind: "identity", reverse: true, orDependency: true },
    { from: "azure-native:web:WebApp", path: ["identity", "userAssignedIdentities", "*"], to: "azure-native:managedidentity:UserAssignedIdentity", keys: ["id"], label: "runs as", kind: "identity" },
    { from: "azure-native:redisenterprise:AccessPolicyAssignment", path: ["user", "objectId"], to: "azure-native:managedidentity:UserAssignedIdentity", keys: ["principalId"], label: "", kind: "identity", reverse: true, orDependency: true },
    { from: "azure-native:redisenterprise:AccessPolicyAssignment", path: ["databaseName"], to: "azure-native:redisenterprise:Database", keys: ["name", "databaseName"], label: "data access", kind: "identity", orDependency: true },
    // A role assignment points at whatever it is scoped to, labelled with the role.
    ...["azure-native:servicebus:Queue", "azure-native:storage:StorageAccount", "azure-native:applicationinsights:Component"].map((to) => ({
        from: "azure-native:authorization:RoleAssignment",
        path: ["scope"],
        to,
        keys: ["id"],
        label: (ra: RecordedResource) => roleName(String(ra.inputs.roleDefinitionId ?? "")) ?? String(ra.inputs.roleDefinitionId ?? "").split("/").pop() ?? "",
        kind: "identity" as const,
    })),
];

function valuesAt(value: unknown, path: string[]): unknown[] {
    if (path.length === 0) return [value];
    if (value === null || typeof value !== "object") return [];
    const [head, ...rest] = path;
    if (head === "*") return Object.values(value as object).flatMap((v) => valuesAt(v, rest));
    return valuesAt((value as Record<string, unknown>)[head], rest);
}

const identifiers = (r: RecordedResource, keys: string[]) =>
    keys.map((k) => r.outputs[k] ?? r.inputs[k]).filter((v): v is string => typeof v === "string" && v !== "");

function mermaidText(text: string): string {
    // Quoted labels take < and > as they are; only the quote itself must go (beautiful-mermaid decodes no entities).
    return text.replace(/"/g, "'");
}

/** The mesh of one stack as a Mermaid flowchart. */
export function meshDiagram(resources: RecordedResource[], stack: string): string {
    const nodes = new Map<string, Node>();
    const ids = new Map<string, string>();
    const regionOf = (r: RecordedResource) => {
        const provider = r.provider ? resources.find((p) => r.provider!.startsWith(`${p.urn}::`)) : undefined;
        return (provider?.inputs.region ?? provider?.inputs.location) as string | undefined;
    };
    let regions = { aws: "", azure: "" };
    // Sorted, so the same program always gives the same text (registration order depends on timing).
    for (const r of [...resources].sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0))) {
        const spec = NODE_TYPES[r.type];
        if (!r.custom || !spec) continue;
        const id = `n${ids.size + 1}`;
        ids.set(r.urn, id);
        const cloud = r.type.startsWith("aws:") ? "aws" : r.type.startsWith("azuread:") ? "entra" : "azure";
        if (cloud !== "entra" && !regions[cloud]) regions = { ...regions, [cloud]: regionOf(r) ?? "" };
        let detail = r.name;
        if (r.type === "aws:cloudwatch/metricAlarm:MetricAlarm") detail = `${r.inputs.metricName} ${r.inputs.comparisonOperator === "GreaterThanThreshold" ? ">" : "≥"} ${r.inputs.threshold}`;
        if (r.type === "azure-native:servicebus:Queue") detail = `${r.inputs.queueName} · maxDeliveryCount ${r.inputs.maxDeliveryCount}`;
        if (r.type === "azure-native:authorization:RoleAssignment") detail = roleName(String(r.inputs.roleDefinitionId ?? "")) ?? r.name;
        if (r.type === "aws:cloudwatch/eventTarget:EventTarget") {
            const retry = r.inputs.retryPolicy as { maximumRetryAttempts?: number; maximumEventAgeInSeconds?: number } | undefined;
            detail = retry ? `${retry.maximumRetryAttempts} retries / ${retry.maximumEventAgeInSeconds}s` : "no retry policy";
        }
        nodes.set(id, { id, label: `${spec.title}<br/>${mermaidText(detail)}`, kind: spec.kind, cloud, shape: spec.shape });
    }

    const edges: Edge[] = [];
    const byType = (type: string) => resources.filter((r) => r.type === type && ids.has(r.urn)).sort((a, b) => ids.get(a.urn)!.localeCompare(ids.get(b.urn)!, "en", { numeric: true }));
    for (const rel of RELATIONS) {
        for (const from of byType(rel.from)) {
            const values = valuesAt({ ...from.outputs, ...from.inputs }, rel.path).filter((v): v is string => typeof v === "string");
            for (const to of byType(rel.to)) {
                const hit =
                    values.some((v) => (rel.matches ? rel.matches(v, to) : identifiers(to, rel.keys ?? ["arn", "id", "name", "url"]).includes(v))) ||
                    (rel.orDependency === true && values.length > 0 && from.dependsOn.includes(to.urn));
                if (!hit) continue;
                const label = typeof rel.label === "function" ? rel.label(from, to) : rel.label;
                const [a, b] = rel.reverse ? [to, from] : [from, to];
                edges.push({ from: ids.get(a.urn)!, to: ids.get(b.urn)!, label, kind: rel.kind });
            }
        }
    }

    // Service Bus dead-letters inside the queue: draw the sub-queue, and the alert that filters to it.
    for (const queue of byType("azure-native:servicebus:Queue")) {
        const id = `${ids.get(queue.urn)}dlq`;
        const name = String(queue.outputs.name ?? queue.inputs.queueName);
        nodes.set(id, { id, label: `Dead-letter sub-queue<br/>${mermaidText(`${name}/$DeadLetterQueue`)}`, kind: "deadletter", cloud: "azure", shape: "store" });
        edges.push({ from: ids.get(queue.urn)!, to: id, label: `after ${queue.inputs.maxDeliveryCount} deliveries or TTL`, kind: "deadletter" });
        for (const alert of byType("azure-native:monitor:MetricAlert")) {
            const filters = valuesAt(alert.inputs, ["criteria", "allOf", "*"]).filter(
                (c) => (c as { metricName?: string }).metricName === "DeadletteredMessages" && valuesAt(c, ["dimensions", "*", "values", "*"]).includes(name),
            );
            if (filters.length > 0) edges.push({ from: id, to: ids.get(alert.urn)!, label: "DeadletteredMessages > 0", kind: "alarm" });
        }
    }
    // The relay is code (runtime/) this program does not deploy yet: say so instead of drawing a gap.
    const tables = byType("aws:dynamodb/table:Table").filter((t) => t.inputs.streamEnabled === true);
    const buses = byType("aws:cloudwatch/eventBus:EventBus");
    if (tables.length > 0 && buses.length > 0 && byType("aws:lambda/eventSourceMapping:EventSourceMapping").length === 0) {
        for (const t of tables) edges.push({ from: ids.get(t.urn)!, to: ids.get(buses[0].urn)!, label: "stream → relay (runtime/, not deployed by this program)", kind: "support" });
    }

    const shape = (n: Node) => {
        const text = `"${n.label}"`;
        switch (n.shape) {
            case "store":
                return `${n.id}[(${text})]`;
            case "bus":
                return `${n.id}{{${text}}}`;
            case "alarm":
                return `${n.id}([${text}])`;
            case "identity":
                return `${n.id}[[${text}]]`;
            default:
                return `${n.id}[${text}]`;
        }
    };
    const arrow = (e: Edge) => {
        const label = e.label ? `|"${mermaidText(e.label)}"|` : "";
        if (e.kind === "event") return `${e.from} ==>${label} ${e.to}`;
        if (e.kind === "identity" || e.kind === "support") return `${e.from} -.->${label} ${e.to}`;
        return `${e.from} -->${label} ${e.to}`;
    };
    const clouds: [Node["cloud"], string][] = [
        ["aws", `AWS${regions.aws ? ` · ${regions.aws}` : ""}`],
        ["azure", `Azure${regions.azure ? ` · ${regions.azure}` : ""}`],
        ["entra", "Entra ID"],
    ];
    const lines = [`%% The ${stack} stack of multicloud-mesh, drawn by tools/diagram.ts from the offline preview.`, "flowchart TB"];
    for (const [cloud, title] of clouds) {
        const members = [...nodes.values()].filter((n) => n.cloud === cloud);
        if (members.length === 0) continue;
        lines.push(`    subgraph ${cloud}["${title}"]`);
        for (const n of members) lines.push(`        ${shape(n)}`);
        lines.push("    end");
    }
    const seen = new Set<string>();
    for (const e of edges) {
        const line = arrow(e);
        if (!seen.has(line)) lines.push(`    ${line}`);
        seen.add(line);
    }
    lines.push(
        "    classDef deadletter fill:#fdecec,stroke:#b42318",
        "    classDef alarm fill:#fff4e5,stroke:#b54708",
        "    classDef identity fill:#f1ecfd,stroke:#5b3fb5",
        "    classDef support fill:#f2f4f7,stroke:#667085",
    );
    for (const kind of ["deadletter", "alarm", "identity", "support"] as Kind[]) {
        const members = [...nodes.values()].filter((n) => n.kind === kind).map((n) => n.id);
        if (members.length > 0) lines.push(`    class ${members.join(",")} ${kind}`);
    }
    return lines.join("\n");
}

/** The Markdown file the preview writes: a legend and the diagram. */
export function meshDiagramMarkdown(mermaid: string, stack: string): string {
    return [
        `# multicloud-mesh, stack "${stack}"`,
        "",
        "Drawn from the offline preview (`npm run preview -- --stack " + stack + "`): every node is a resource the program would create,",
        "every arrow a reference between their inputs. Thick: the event path. Solid: dead letters and alarms. Dotted: identities, access and support.",
        "",
        "```mermaid",
        mermaid,
        "```",
        "",
    ].join("\n");
}

/**
 * The diagram as SVG through beautiful-mermaid (an ES module, loaded with a real dynamic import);
 * undefined when the package is not installed. The web-font @import is dropped so the file is self-contained.
 */
export async function meshDiagramSvg(mermaid: string): Promise<string | undefined> {
    let renderer: { renderMermaidSVG(text: string, options?: Record<string, unknown>): string };
    try {
        const importModule = new Function("specifier", "return import(specifier)") as (s: string) => Promise<typeof renderer>;
        renderer = await importModule("beautiful-mermaid");
    } catch {
        return undefined;
    }
    return renderer.renderMermaidSVG(mermaid, { font: "sans-serif" }).replace(/^\s*@import url\([^)]*\);?\s*$/gm, "");
}

/** README markers around a stack's embedded diagram. */
export const README_MARKERS = (stack: string) => [`<!-- diagram:${stack}:start -->`, `<!-- diagram:${stack}:end -->`] as const;

/** `readme` with the block between the stack's markers replaced by `mermaid`; throws when the markers are missing. */
export function replaceReadmeDiagram(readme: string, stack: string, mermaid: string): string {
    const [start, end] = README_MARKERS(stack);
    const from = readme.indexOf(start);
    const to = readme.indexOf(end);
    if (from < 0 || to < from) throw new Error(`the diagram page has no ${start} ... ${end} block`);
    return `${readme.slice(0, from)}${start}\n\`\`\`mermaid\n${mermaid}\n\`\`\`\n${readme.slice(to)}`;
}
