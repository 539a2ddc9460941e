/**
 * Identity and access: who may do what. Least-privilege IAM, Azure data-plane roles scoped to their
 * queue, no queue open to the world, secrets that expire.
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { config, dependsOn, forTypes, label, T } from "./common";
import { entries, isUnknown, json, list, read, show, UNKNOWN } from "./values";

// ---------------------------------------------------------------------------------------------
// IAM: no broad managed policies, no service-wide or account-wide write grants

/** AWS managed policies that grant far more than any role of the mesh needs. */
const DEFAULT_REFUSED_MANAGED_POLICIES = ["AdministratorAccess", "PowerUserAccess", "IAMFullAccess", ".*FullAccess", "AdministratorAccess-.*"];

/**
 * Actions that IAM only authorizes on `"Resource": "*"` (no resource-level permissions), so a
 * wildcard resource is not a choice there (Service Authorization Reference: CloudWatch
 * PutMetricData, X-Ray PutTraceSegments / PutTelemetryRecords, EC2 network interface actions that
 * Lambda in a VPC needs).
 */
const DEFAULT_STAR_RESOURCE_ACTIONS = [
    "cloudwatch:PutMetricData",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
];

/** Read-only by its verb: what a wildcard resource may be granted for. */
const READ_ONLY_ACTION = /^[a-z0-9-]+:(Get|List|Describe|BatchGet|Query|Scan|Head|Lookup|Search)[A-Za-z0-9]*$/;

const asList = (value: unknown): unknown[] | typeof UNKNOWN => (Array.isArray(value) ? list(value) : value === undefined ? [] : isUnknown(value) ? UNKNOWN : [value]);

/** The problems of one policy document's Allow statements. */
export function broadGrants(document: unknown, starResourceActions: string[]): string[] {
    if (document === UNKNOWN || document === undefined) return [];
    const all = asList(read(document, "Statement"));
    if (all === UNKNOWN) return [];
    const problems: string[] = [];
    all.forEach((s, i) => {
        if (s === undefined || s === null || read(s, "Effect") !== "Allow") return;
        const where = `statement ${read(s, "Sid") !== undefined ? show(read(s, "Sid")) : `#${i + 1}`}`;
        if (read(s, "NotAction") !== undefined) {
            problems.push(`${where} allows NotAction: everything except a list`);
            return;
        }
        const actions = asList(read(s, "Action"));
        if (actions === UNKNOWN) return;
        const strings = actions.filter((a): a is string => typeof a === "string");
        for (const action of strings) {
            if (action === "*" || action === "*:*") problems.push(`${where} allows "Action": "*"`);
            else if (/^[a-z0-9-]+:\*$/i.test(action)) problems.push(`${where} allows every action of a service (${JSON.stringify(action)})`);
        }
        const resources = asList(read(s, "Resource"));
        if (resources === UNKNOWN) return;
        if (resources.includes("*") || read(s, "NotResource") !== undefined) {
            const writes = strings.filter((a) => a !== "*" && !READ_ONLY_ACTION.test(a) && !starResourceActions.includes(a));
            if (writes.length > 0) problems.push(`${where} allows ${writes.map((w) => JSON.stringify(w)).join(", ")} on every resource ("Resource": "*")`);
        }
    });
    return problems;
}

export const iamLeastPrivilege: ResourceValidationPolicy = {
    name: "iam-no-admin-or-full-access",
    displayName: "IAM grants are least-privilege",
    description:
        'No IAM role, user or group gets a broad AWS managed policy (AdministratorAccess, PowerUserAccess, *FullAccess, ...), and no policy document allows "Action": "*", a whole service ("sqs:*"), NotAction, or a write action on "Resource": "*".',
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        "Grant the actions the role needs on the resources it needs them on (e.g. events:PutEvents on one bus ARN, sqs:SendMessage on one queue ARN). " +
        "Never attach AdministratorAccess, PowerUserAccess or *FullAccess managed policies.",
    configSchema: {
        properties: {
            refusedManagedPolicies: {
                type: "array",
                items: { type: "string" },
                default: DEFAULT_REFUSED_MANAGED_POLICIES,
                description: "Managed policy names refused (anchored regular expressions on the name after :policy/).",
            },
            starResourceActions: {
                type: "array",
                items: { type: "string" },
                default: DEFAULT_STAR_RESOURCE_ACTIONS,
                description: 'Write actions allowed on "Resource": "*" because IAM offers no resource-level permission for them.',
            },
        },
    },
    validateResource: forTypes(
        [T.iamRole, T.iamRolePolicy, T.iamRolePolicyAttachment, T.iamPolicyAttachment, T.iamPolicy, T.iamUserPolicy, T.iamGroupPolicy],
        (props, args, report) => {
            const { refusedManagedPolicies, starResourceActions } = config(args, { refusedManagedPolicies: DEFAULT_REFUSED_MANAGED_POLICIES, starResourceActions: DEFAULT_STAR_RESOURCE_ACTIONS });
            const refused = refusedManagedPolicies.map((p) => new RegExp(`^(?:${p})$`));
            const checkArn = (arn: unknown) => {
                if (typeof arn !== "string") return;
                const name = arn.split(":policy/").pop()!.split("/").pop()!;
                if (/^arn:[^:]+:iam::aws:policy\//.test(arn) && refused.some((r) => r.test(name))) {
                    report(`${label(args)} attaches ${arn}: broad managed policies grant far more than any role in the mesh needs.`);
                }
            };
            const checkDocument = (what: string, value: unknown) => {
                const document = json(value);
                if (document === undefined && value !== undefined) {
                    report(`${label(args)}: ${what} is not valid JSON, it cannot be checked.`);
                    return;
                }
                for (const problem of broadGrants(document, starResourceActions)) report(`${label(args)}: ${what} ${problem}.`);
            };
            switch (args.type) {
                case T.iamRolePolicyAttachment:
                case T.iamPolicyAttachment:
                    checkArn(read(props, "policyArn"));
                    break;
                case T.iamRolePolicy:
                case T.iamPolicy:
                case T.iamUserPolicy:
                case T.iamGroupPolicy:
                    checkDocument("policy", read(props, "policy"));
                    break;
                case T.iamRole: {
                    const managed = list(read(props, "managedPolicyArns"));
                    if (managed !== UNKNOWN) managed.forEach(checkArn);
                    const inline = list(read(props, "inlinePolicies"));
                    if (inline !== UNKNOWN) inline.forEach((p, i) => checkDocument(`inline policy ${show(read(p, "name") ?? i)}`, read(p, "policy")));
                    break;
                }
            }
        },
    ),
};

// ---------------------------------------------------------------------------------------------
// Resource policies (SQS queue, SNS topic): nobody anonymous

/**
 * Condition keys that pin an anonymous principal down to a caller: the source resource or
 * account (service principals), the organization, the VPC endpoint (IAM global condition keys).
 */
const PINNING_CONDITION_KEYS = ["aws:sourcearn", "aws:sourceaccount", "aws:sourceowner", "aws:principalorgid", "aws:principalaccount", "aws:principalarn", "aws:sourcevpce", "aws:sourcevpc"];

export function isAnyone(principal: unknown): boolean {
    if (principal === "*") return true;
    const aws = read(principal, "AWS");
    const all = asList(aws);
    return all !== UNKNOWN && all.includes("*");
}

export function pinned(condition: unknown): boolean {
    if (condition === undefined || condition === null || typeof condition !== "object") return false;
    for (const operator of Object.keys(condition)) {
        const keys = read(condition, operator);
        if (keys && typeof keys === "object" && Object.keys(keys).some((k) => PINNING_CONDITION_KEYS.includes(k.toLowerCase()))) return true;
    }
    return false;
}

export const resourcePolicyNotPublic: ResourceValidationPolicy = {
    name: "queue-topic-policy-not-public",
    displayName: "SQS queue and SNS topic policies are not open to anyone",
    description:
        'No SQS queue policy or SNS topic policy allows Principal "*" (or {"AWS": "*"}), or a service principal ({"Service": ...}), without a condition that pins the caller (aws:SourceArn, aws:SourceAccount, aws:PrincipalOrgID, aws:SourceVpce, ...). Deny statements are not affected.',
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        'Name the service principal (e.g. { Service: "events.amazonaws.com" }) and add Condition { ArnEquals: { "aws:SourceArn": <rule ARN> } }. ' +
        "A dead-letter queue anyone can write to lets anyone inject messages that a redrive then forwards downstream.",
    validateResource: forTypes([T.sqsQueuePolicy, T.sqsQueue, T.snsTopicPolicy, T.snsTopic], (props, args, report) => {
        const document = json(read(props, "policy"));
        if (document === UNKNOWN) return;
        if (document === undefined) {
            if (args.type === T.sqsQueuePolicy || args.type === T.snsTopicPolicy) report(`${label(args)}: policy is missing or not valid JSON.`);
            return;
        }
        const all = asList(read(document, "Statement"));
        if (all === UNKNOWN) return;
        all.forEach((s, i) => {
            if (read(s, "Effect") !== "Allow") return;
            const principal = read(s, "Principal");
            const service = read(principal, "Service");
            const anyone = isAnyone(principal) || read(s, "NotPrincipal") !== undefined;
            if (!anyone && service === undefined) return;
            if (pinned(read(s, "Condition"))) return;
            const where = read(s, "Sid") !== undefined ? show(read(s, "Sid")) : `#${i + 1}`;
            if (anyone) report(`${label(args)}: statement ${where} allows any principal ${show(read(s, "Action"))} with no condition on the caller's source.`);
            // A service principal acts for every customer of that service: without aws:SourceArn /
            // aws:SourceAccount any account's EventBridge rule or SNS topic can send here (the
            // cross-service confused deputy, IAM User Guide "The confused deputy problem";
            // SQS Developer Guide "Amazon SQS policy examples" pins events.amazonaws.com with aws:SourceArn).
            else report(`${label(args)}: statement ${where} allows the service principal ${show(service)} ${show(read(s, "Action"))} with no aws:SourceArn / aws:SourceAccount condition; any account's resources of that service could use it.`);
        });
    }),
};

// ---------------------------------------------------------------------------------------------
// Azure RBAC: data-plane roles scoped to their entity, no data owner

/** Scope levels of an Azure resource id, from widest to narrowest. */
type ScopeLevel = "subscription" | "resourceGroup" | "resource" | "entity";

/** The level of a scope: a resource id with a child (`.../namespaces/x/queues/y`) is an entity. */
export function scopeLevel(scope: string): ScopeLevel | undefined {
    const s = scope.replace(/\/+$/, "");
    if (/^\/subscriptions\/[^/]+$/i.test(s) || /^\/providers\/Microsoft\.Management\/managementGroups\/[^/]+$/i.test(s) || s === "" || s === "/") return "subscription";
    if (/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+$/i.test(s)) return "resourceGroup";
    const m = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/[^/]+\/(.+)$/i.exec(s);
    if (!m) return undefined;
    const segments = m[1].split("/");
    return segments.length >= 4 ? "entity" : "resource";
}

const LEVEL_ORDER: ScopeLevel[] = ["subscription", "resourceGroup", "resource", "entity"];

/**
 * Built-in data-plane roles (ids are the same in every tenant; Azure built-in roles reference,
 * learn.microsoft.com/azure/role-based-access-control/built-in-roles) and the narrowest scope each
 * must be assigned at. Service Bus and Event Hubs data roles belong on a queue, topic or hub;
 * storage data roles on an account or container; the Functions host needs Blob Data Owner on its
 * storage account (Azure Functions identity-based connections).
 */
const DEFAULT_ROLE_SCOPES: Record<string, { name: string; scope: ScopeLevel }> = {
    "090c5cfd-751d-490a-894a-3ce6f1109419": { name: "Azure Service Bus Data Owner", scope: "entity" },
    "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39": { name: "Azure Service Bus Data Sender", scope: "entity" },
    "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0": { name: "Azure Service Bus Data Receiver", scope: "entity" },
    "f526a384-b230-433a-b45c-95f59c4a2dec": { name: "Azure Event Hubs Data Owner", scope: "entity" },
    "2b629674-e913-4c01-ae53-ef4638d8f975": { name: "Azure Event Hubs Data Sender", scope: "entity" },
    "a638d3c7-ab3a-418d-83e6-5f17a39d4fde": { name: "Azure Event Hubs Data Receiver", scope: "entity" },
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": { name: "Storage Blob Data Owner", scope: "resource" },
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": { name: "Storage Blob Data Contributor", scope: "resource" },
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": { name: "Storage Blob Data Reader", scope: "resource" },
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": { name: "Storage Queue Data Contributor", scope: "resource" },
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": { name: "Storage Table Data Contributor", scope: "resource" },
    "4633458b-17de-408a-b874-0445c86b69e6": { name: "Key Vault Secrets User", scope: "resource" },
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": { name: "Key Vault Secrets Officer", scope: "resource" },
    "3913510d-42f4-4e42-8a64-420c390055eb": { name: "Monitoring Metrics Publisher", scope: "resource" },
};

/** Data-owner roles: full control of the data and its access; nobody in the mesh needs them. */
const SERVICE_BUS_DATA_OWNER = "090c5cfd-751d-490a-894a-3ce6f1109419";
const DEFAULT_REFUSED_ROLES = [SERVICE_BUS_DATA_OWNER, "f526a384-b230-433a-b45c-95f59c4a2dec"];

export const azureRoleScope: ResourceValidationPolicy = {
    name: "azure-data-role-least-scope",
    displayName: "Azure data-plane roles: no owner, scoped to their entity",
    description:
        "No Azure role assignment grants a refused role (Service Bus / Event Hubs Data Owner), and every data-plane role is assigned at its narrowest scope: Service Bus and Event Hubs roles on a queue, topic or hub, storage and Key Vault roles on an account or below; never on a namespace, resource group, subscription or management group.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        "Assign Azure Service Bus Data Sender to the publisher and Data Receiver to the consumer, each with scope = the queue's resource id (.../namespaces/<ns>/queues/<queue>). " +
        "A role at namespace or resource-group scope reaches every queue there; Data Owner can also manage the entities.",
    configSchema: {
        properties: {
            refusedRoles: { type: "array", items: { type: "string" }, default: DEFAULT_REFUSED_ROLES, description: "Role definition GUIDs never assigned." },
            allowServiceBusOwnerOnQueue: {
                type: "boolean",
                default: true,
                description: "Let Azure Service Bus Data Owner through on one queue (Functions target-based scaling); the stack policy azure-data-owner-managed-identity-only then requires a managed identity of the stack as its principal.",
            },
            roleScopes: {
                type: "object",
                default: Object.fromEntries(Object.entries(DEFAULT_ROLE_SCOPES).map(([id, r]) => [id, r.scope])),
                description: 'Role definition GUID → narrowest scope it must be assigned at: "entity" (queue, topic, container), "resource" (namespace, account, vault), "resourceGroup".',
            },
        },
    },
    validateResource: forTypes([T.roleAssignment], (props, args, report) => {
        const { refusedRoles, roleScopes, allowServiceBusOwnerOnQueue } = config(args, {
            allowServiceBusOwnerOnQueue: true,
            refusedRoles: DEFAULT_REFUSED_ROLES,
            roleScopes: Object.fromEntries(Object.entries(DEFAULT_ROLE_SCOPES).map(([id, r]) => [id, r.scope])) as Record<string, string>,
        });
        const definition = read(props, "roleDefinitionId");
        // Preview: a definition id built from the subscription id is unknown until `up`, where
        // CrossGuard runs this policy again before creating the assignment, with the id resolved.
        if (typeof definition !== "string") return;
        const id = definition.split("/").pop()!.toLowerCase();
        const name = DEFAULT_ROLE_SCOPES[id]?.name ?? id;
        const required = roleScopes[id] as ScopeLevel | undefined;
        const scope = read(props, "scope");
        const level = typeof scope === "string" ? scopeLevel(scope) : undefined;
        if (refusedRoles.map((r) => r.toLowerCase()).includes(id)) {
            // Functions' target-based scaling with an identity-based Service Bus trigger documents Data
            // Owner on the queue for the app's managed identity (the scale controller reads the queue's
            // runtime properties). Only that is let through here, on one queue; that the principal really
            // is a managed identity of the stack is a relation: azure-data-owner-managed-identity-only.
            const ownerOnOneQueue = id === SERVICE_BUS_DATA_OWNER && allowServiceBusOwnerOnQueue && level === "entity";
            if (!ownerOnOneQueue) report(`${label(args)} grants ${name}${level ? ` at ${level} scope` : ""}: full control of the data and of its entities; grant a Sender or Receiver role instead.`);
        }
        if (!required || typeof scope !== "string" || level === undefined) return;
        if (LEVEL_ORDER.indexOf(level) < LEVEL_ORDER.indexOf(required)) {
            report(`${label(args)} grants ${name} at ${level} scope (${scope}); it must be scoped to one ${required === "entity" ? "queue, topic or hub" : "resource"}.`);
        }
    }),
};

// ---------------------------------------------------------------------------------------------
// 8. Entra ID application passwords: bounded lifetime, rotation trigger

const DAY_MS = 86_400_000;

/** "4320h", "720h30m" (azuread's endDateRelative) in milliseconds. */
function goDuration(value: string): number | undefined {
    const match = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(value);
    if (!match || value === "") return undefined;
    return ((Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0)) * 60 + Number(match[3] ?? 0)) * 1000;
}

export const applicationPasswordLifetime: ResourceValidationPolicy = {
    name: "entra-application-password-lifetime",
    displayName: "Entra ID client secrets expire and rotate",
    description:
        "Every Entra ID application password has an end date no further than maximumLifetimeDays from its start (or from now), not already past, and a non-empty rotateWhenChanged so a new end date issues a new secret.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Set endDate from a @pulumiverse/time Offset (or endDateRelative) within the allowed lifetime, and rotateWhenChanged: { expiry: <the same offset> }. " +
        "In this program a secret lives up to 1.5 × publisherRotationDays + publisherRotationGraceDays: lower those if they exceed this policy's maximumLifetimeDays.",
    configSchema: {
        properties: {
            maximumLifetimeDays: { type: "integer", minimum: 1, maximum: 730, default: 180, description: "Longest allowed secret lifetime in days." },
            referenceTime: {
                type: "string",
                description: "RFC 3339 instant lifetimes are measured from when a password has no startDate. Defaults to the time of the check; the offline runner sets the mock engine's clock.",
            },
        },
    },
    validateResource: forTypes([T.applicationPassword], (props, args, report) => {
        const { maximumLifetimeDays, referenceTime } = config<{ maximumLifetimeDays: number; referenceTime?: string }>(args, { maximumLifetimeDays: 180 });
        const who = label(args);
        const rotate = entries(read(props, "rotateWhenChanged"));
        if (rotate !== UNKNOWN && rotate.length === 0) {
            report(`${who} has no rotateWhenChanged: changing its lifetime or expiry would not issue a new secret.`);
        }
        const endDate = read(props, "endDate");
        const relative = read(props, "endDateRelative");
        if (isUnknown(endDate) || isUnknown(relative)) return;
        const startValue = read(props, "startDate");
        const start = typeof startValue === "string" ? Date.parse(startValue) : referenceTime ? Date.parse(referenceTime) : Date.now();
        let end: number | undefined;
        if (typeof endDate === "string") {
            end = Date.parse(endDate);
            if (Number.isNaN(end)) {
                report(`${who}: endDate ${show(endDate)} is not an RFC 3339 date.`);
                return;
            }
        } else if (typeof relative === "string") {
            const duration = goDuration(relative);
            if (duration === undefined) {
                report(`${who}: endDateRelative ${show(relative)} is not a duration like "4320h".`);
                return;
            }
            end = start + duration;
        } else {
            report(`${who} has neither endDate nor endDateRelative: the provider's default (two years) exceeds ${maximumLifetimeDays} days.`);
            return;
        }
        const days = (end - start) / DAY_MS;
        if (days <= 0) {
            report(`${who}: endDate ${show(endDate)} is not after ${new Date(start).toISOString()}; the secret would already be expired.`);
        } else if (days > maximumLifetimeDays + 1e-9) {
            report(`${who}: lifetime ${Math.round(days)} days exceeds the maximum of ${maximumLifetimeDays} days.`);
        }
    }),
};


export const serviceBusOwnerManagedIdentityOnly: StackValidationPolicy = {
    name: "azure-data-owner-managed-identity-only",
    displayName: "Service Bus Data Owner only for a managed identity of the stack",
    description:
        "An Azure Service Bus Data Owner assignment (let through on one queue by azure-data-role-least-scope, for Functions' target-based scaling) must name a user-assigned managed identity of this stack as its principal: never an application whose secret lives elsewhere, such as the EventBridge publisher.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: "Give the publisher Azure Service Bus Data Sender on its queue; keep Data Owner for the consumer app's managed identity, on its queue.",
    validateStack: (args, report) => {
        const identities = args.resources.filter((r) => r.type === "azure-native:managedidentity:UserAssignedIdentity");
        const owners = args.resources.filter((r) => {
            const definition = read(r.props, "roleDefinitionId");
            return r.type === T.roleAssignment && typeof definition === "string" && definition.split("/").pop()!.toLowerCase() === SERVICE_BUS_DATA_OWNER;
        });
        if (owners.length === 0) args.notApplicable("no Azure Service Bus Data Owner assignment in the stack");
        for (const assignment of owners) {
            const principal = read(assignment.props, "principalId");
            const ofIdentity = identities.some((identity) => {
                const id = read(identity.props, "principalId");
                return typeof principal === "string" && typeof id === "string" ? principal === id : dependsOn(assignment, identity, "principalId");
            });
            if (!ofIdentity) report(`${label(assignment)} grants Azure Service Bus Data Owner to a principal that is not a managed identity of this stack.`, assignment.urn);
        }
    },
};

export const identityAndAccessPolicies = [iamLeastPrivilege, resourcePolicyNotPublic, azureRoleScope, serviceBusOwnerManagedIdentityOnly, applicationPasswordLifetime];
