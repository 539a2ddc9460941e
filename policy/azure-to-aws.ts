/**
 * The Azure → AWS direction (issue 13), judged by resource type only, so the pack does not care which
 * component builds these resources:
 * - the producers' PostgreSQL Flexible Server accepts Entra ID tokens only, over TLS 1.2+;
 * - an IAM role that a web identity (the relay's managed identity) assumes is pinned to one audience
 *   and one subject;
 * - a Lambda consuming an SQS queue reports item failures, and that queue dead-letters.
 * The routing rule that keeps the two directions apart (no ping-pong) is in ./azure-to-aws-routing.
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { config, forTypes, label, number, refersTo, T } from "./common";
import { isUnknown, json, list, read, show, str, UNKNOWN } from "./values";
import { postgresFirewallNarrow } from "./postgres-network";

// ---------------------------------------------------------------------------------------------
// PostgreSQL Flexible Server: Entra ID only

export const postgresEntraOnly: ResourceValidationPolicy = {
    name: "postgres-flexible-server-entra-only",
    displayName: "PostgreSQL flexible servers accept Entra ID tokens only",
    description:
        'Every Azure Database for PostgreSQL flexible server sets authConfig.passwordAuth "Disabled" (the API default is "Enabled") and authConfig.activeDirectoryAuth "Enabled": no password exists that could leak or need rotating.',
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        'On the azure-native:dbforpostgresql:Server set authConfig: { activeDirectoryAuth: "Enabled", passwordAuth: "Disabled", tenantId }, leave administratorLoginPassword out, ' +
        "and add the Entra administrator (azure-native:dbforpostgresql:Administrator) the producers' identities are mapped from.",
    // Microsoft.DBforPostgreSQL 2025-08-01 (the API version @pulumi/azure-native 3.28.0 uses for Server),
    // AuthConfig: activeDirectoryAuth enum Enabled | Disabled, passwordAuth enum Enabled | Disabled with
    // default "Enabled" (azure-rest-api-specs specification/postgresql/resource-manager/Microsoft.DBforPostgreSQL/
    // stable/2025-08-01/FlexibleServers.json, definitions/AuthConfig).
    validateResource: forTypes([T.postgresServer], (props, args, report) => {
        const who = label(args);
        const auth = read(props, "authConfig");
        if (isUnknown(auth)) return;
        const password = read(auth, "passwordAuth");
        if (!isUnknown(password) && password !== "Disabled") {
            report(`${who}: authConfig.passwordAuth is ${show(password)}${password === undefined ? ' (the API default is "Enabled")' : ""}: password logins stay possible; set "Disabled".`);
        }
        const entra = read(auth, "activeDirectoryAuth");
        if (!isUnknown(entra) && entra !== "Enabled") {
            report(`${who}: authConfig.activeDirectoryAuth is ${show(entra)}: without Entra ID authentication the producers' managed identities cannot log in; set "Enabled".`);
        }
    }),
};

// ---------------------------------------------------------------------------------------------
// PostgreSQL Flexible Server parameters: TLS required, 1.2 or later

/** "TLSv1.2" → [1, 2]; anything else → undefined. */
function postgresTlsVersion(value: unknown): [number, number] | undefined {
    const m = typeof value === "string" ? /^TLSv(\d+)(?:\.(\d+))?$/i.exec(value.trim()) : null;
    return m ? [Number(m[1]), Number(m[2] ?? 0)] : undefined;
}
const below = (v: [number, number], min: [number, number]) => v[0] < min[0] || (v[0] === min[0] && v[1] < min[1]);

/** PostgreSQL boolean spellings (PostgreSQL 16 docs, 20.1.2 Parameter Interaction: on/off, true/false, yes/no, 1/0 and unique prefixes). */
const POSTGRES_TRUE = /^(on|true|yes|1|t|y)$/i;

export const postgresTlsRequired: ResourceValidationPolicy = {
    name: "postgres-server-parameters-tls",
    displayName: "PostgreSQL server parameters keep TLS required, 1.2 or later",
    description:
        "No PostgreSQL flexible server parameter (azure-native:dbforpostgresql:Configuration) turns require_secure_transport off, lowers ssl_min_protocol_version below TLSv1.2, or caps ssl_max_protocol_version below it. Unset parameters keep the service defaults (require_secure_transport on, ssl_min_protocol_version TLSv1.2), which pass.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        'Remove the Configuration resource (the defaults are secure) or set require_secure_transport "on" and ssl_min_protocol_version "TLSv1.2" or "TLSv1.3".',
    // Server parameters of Azure Database for PostgreSQL flexible server, TLS category:
    // require_secure_transport boolean, default on; ssl_min_protocol_version default TLSv1.2, allowed
    // TLSv1, TLSv1.1, TLSv1.2, TLSv1.3 (learn.microsoft.com/azure/postgresql/flexible-server/server-parameters-table-tls).
    // The resource: Microsoft.DBforPostgreSQL 2025-08-01 Configurations.json, ConfigurationProperties.value (string).
    validateResource: forTypes([T.postgresConfiguration], (props, args, report) => {
        const name = str(read(props, "configurationName")) ?? str(read(props, "name"));
        const value = read(props, "value");
        if (name === UNKNOWN || isUnknown(value)) return;
        const who = label(args);
        const parameter = (name ?? "").toLowerCase();
        if (parameter === "require_secure_transport") {
            if (typeof value !== "string" || !POSTGRES_TRUE.test(value.trim())) report(`${who}: require_secure_transport is ${show(value)}: clients may connect without TLS; set "on".`);
        } else if (parameter === "ssl_min_protocol_version" || parameter === "ssl_max_protocol_version") {
            const version = postgresTlsVersion(value);
            if (version === undefined || below(version, [1, 2])) {
                report(`${who}: ${parameter} is ${show(value)}: ${parameter.includes("min") ? "clients may negotiate" : "clients can only use"} TLS older than 1.2; use "TLSv1.2" or "TLSv1.3".`);
            }
        } else {
            args.notApplicable("not a TLS parameter");
        }
    }),
};

// ---------------------------------------------------------------------------------------------
// IAM roles assumed with a web identity token: audience and subject pinned

const asList = (value: unknown): unknown[] | typeof UNKNOWN => (Array.isArray(value) ? list(value) : value === undefined ? [] : isUnknown(value) ? UNKNOWN : [value]);

/** Whether an Action (or list) grants sts:AssumeRoleWithWebIdentity. */
const grantsWebIdentity = (actions: unknown[]) => actions.some((a) => typeof a === "string" && /^(\*|sts:\*|sts:AssumeRoleWithWebIdentity)$/i.test(a));

/**
 * The condition-key prefix of a Federated principal: an IAM OIDC provider ARN
 * `arn:aws:iam::1:oidc-provider/sts.windows.net/t/` → `sts.windows.net/t`; a well-known provider
 * (`accounts.google.com`) is its own prefix. Undefined while the principal is unknown (preview).
 */
function providerKeyPrefix(federated: unknown): string | undefined {
    if (typeof federated !== "string" || isUnknown(federated)) return undefined;
    const m = /^arn:[^:]+:iam::[^:]*:oidc-provider\/(.+)$/.exec(federated);
    return (m ? m[1] : federated).toLowerCase().replace(/\/$/, "");
}

/** The problems of one trust statement that lets a federated web identity assume the role. */
function webIdentityProblems(statement: unknown, where: string): string[] {
    const federated = asList(read(statement, "Principal", "Federated"));
    const prefixes = federated === UNKNOWN ? [undefined] : federated.map(providerKeyPrefix);
    const condition = read(statement, "Condition");
    if (isUnknown(condition)) return [];
    const problems: string[] = [];
    // IAM condition keys are case-insensitive; OIDC federation keys are `<issuer host/path>:aud` and
    // `<issuer host/path>:sub` (IAM User Guide, "Available keys for OIDC federation",
    // docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif).
    const keyMatches = (key: string, claim: "aud" | "sub") => {
        const k = key.toLowerCase();
        if (!k.endsWith(`:${claim}`)) return false;
        const prefix = k.slice(0, -claim.length - 1).replace(/\/$/, "");
        // A provider ARN unknown at preview: any issuer's key counts; the issuer is compared once known.
        return prefixes.some((p) => p === undefined || p === prefix);
    };
    const operators = condition !== null && typeof condition === "object" ? Object.keys(condition) : [];
    for (const claim of ["aud", "sub"] as const) {
        const pinnedBy = operators.filter((op) => op === "StringEquals").flatMap((op) => {
            const block = read(condition, op);
            return block !== null && typeof block === "object" ? Object.keys(block).filter((k) => keyMatches(k, claim)).map((k) => read(block, k)) : [];
        });
        const loose = operators.filter((op) => op !== "StringEquals").flatMap((op) => {
            const block = read(condition, op);
            return block !== null && typeof block === "object" && Object.keys(block).some((k) => keyMatches(k, claim)) ? [op] : [];
        });
        if (pinnedBy.length === 0) {
            problems.push(
                `${where} lets a web identity assume the role without pinning "${claim}" with StringEquals` +
                    (loose.length ? ` (only ${loose.join(", ")}, which matches more than one value)` : "") +
                    `: ${claim === "aud" ? "a token issued for any application of the issuer" : "any identity of the issuer"} could assume it.`,
            );
            continue;
        }
        for (const values of pinnedBy) {
            const items = asList(values);
            if (items === UNKNOWN) continue;
            const bad = items.filter((v) => !isUnknown(v) && (typeof v !== "string" || v.trim() === ""));
            if (items.length === 0 || bad.length > 0) problems.push(`${where}: the StringEquals value for "${claim}" is ${show(values)}, not a non-empty string.`);
        }
    }
    return problems;
}

export const webIdentityTrustPinned: ResourceValidationPolicy = {
    name: "iam-web-identity-trust-pinned",
    displayName: "Roles assumed with a web identity pin audience and subject",
    description:
        'Every IAM role whose trust policy lets a Federated principal call sts:AssumeRoleWithWebIdentity pins both the token audience (<provider>:aud) and the subject (<provider>:sub) with StringEquals to non-empty values. StringLike or a missing sub lets other identities of the same issuer (any Entra tenant app or identity) assume the role.',
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        'In assumeRolePolicy: { Effect: "Allow", Principal: { Federated: <OIDC provider ARN> }, Action: "sts:AssumeRoleWithWebIdentity", ' +
        'Condition: { StringEquals: { "<issuer>:aud": "<audience the program defines>", "<issuer>:sub": "<object id of the managed identity>" } } }.',
    validateResource: forTypes([T.iamRole], (props, args, report) => {
        const document = json(read(props, "assumeRolePolicy"));
        if (document === UNKNOWN || document === undefined) return;
        const statements = asList(read(document, "Statement"));
        if (statements === UNKNOWN) return;
        let applies = false;
        statements.forEach((s, i) => {
            if (read(s, "Effect") !== "Allow" || read(s, "Principal", "Federated") === undefined) return;
            const actions = asList(read(s, "Action"));
            if (actions === UNKNOWN || !grantsWebIdentity(actions)) return;
            applies = true;
            const where = `trust statement ${read(s, "Sid") !== undefined ? show(read(s, "Sid")) : `#${i + 1}`}`;
            for (const problem of webIdentityProblems(s, where)) report(`${label(args)}: ${problem}`);
        });
        if (!applies) args.notApplicable("no web identity trust");
    }),
};

// ---------------------------------------------------------------------------------------------
// Lambda event source mappings on SQS: item failures reported, the queue dead-letters

const SQS_ARN = /^arn:[^:]+:sqs:/;

/**
 * Whether a mapping reads an SQS queue. Preview: the ARN of a queue built by the same program is
 * unknown; SQS mappings take no startingPosition (required for streams, Kafka and DocumentDB) and no
 * queues / selfManagedEventSource (Amazon MQ, self-managed Kafka) (Lambda API Reference,
 * CreateEventSourceMapping), so their absence tells an SQS mapping apart.
 */
export function readsSqs(props: unknown): boolean {
    const source = read(props, "eventSourceArn");
    if (typeof source === "string") return SQS_ARN.test(source);
    if (!isUnknown(source)) return false;
    return ["startingPosition", "queues", "selfManagedEventSource"].every((k) => read(props, k) === undefined);
}

export const sqsMappingReportsItemFailures: ResourceValidationPolicy = {
    name: "lambda-sqs-mapping-report-batch-item-failures",
    displayName: "SQS event source mappings report item failures",
    description:
        'Every Lambda event source mapping on an SQS queue sets functionResponseTypes ["ReportBatchItemFailures"]: without it one failed message makes SQS redeliver the whole batch, so handled messages come back (and poison ones drag their batch-mates toward the dead-letter queue).',
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: 'On the aws.lambda.EventSourceMapping set functionResponseTypes: ["ReportBatchItemFailures"] and return { batchItemFailures: [{ itemIdentifier }] } from the handler.',
    // Lambda CreateEventSourceMapping, FunctionResponseTypes: valid value ReportBatchItemFailures, for
    // streams and SQS (AWS Lambda API Reference).
    validateResource: forTypes([T.eventSourceMapping], (props, args, report) => {
        if (!readsSqs(props)) args.notApplicable("not a mapping on an SQS queue");
        const responseTypes = list(read(props, "functionResponseTypes"));
        if (responseTypes !== UNKNOWN && !responseTypes.includes("ReportBatchItemFailures")) {
            report(`${label(args)}: functionResponseTypes ${show(responseTypes)} lacks "ReportBatchItemFailures": one failed message redelivers its whole batch.`);
        }
    }),
};

/** The redrive policy that applies to `queue`: its own attribute, or an aws.sqs.RedrivePolicy resource naming it. */
function redriveOf(queue: PolicyResource, resources: PolicyResource[]): { document: unknown; from: string } | undefined {
    const own = read(queue.props, "redrivePolicy");
    if (own !== undefined && own !== null && own !== "") return { document: json(own), from: "redrivePolicy" };
    const separate = resources.find((r) => r.type === T.sqsRedrivePolicy && refersTo(r, "queueUrl", read(r.props, "queueUrl"), queue, [read(queue.props, "url"), read(queue.props, "id")]));
    return separate ? { document: json(read(separate.props, "redrivePolicy")), from: label(separate) } : undefined;
}

export const sqsConsumerQueueDeadLetters: StackValidationPolicy = {
    name: "lambda-sqs-source-queue-dead-letters",
    displayName: "Queues that Lambdas consume dead-letter poison messages",
    description:
        "Every SQS queue of the stack that a Lambda event source mapping reads has a redrive policy (on the queue or as an aws.sqs.RedrivePolicy) with a deadLetterTargetArn and a maxReceiveCount of at most maximumReceiveCount. The dead-letter queue's own alarm and retention are checked by sqs-dead-letter-queue-depth-alarm and sqs-dead-letter-queue-retention.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        "Set redrivePolicy: JSON.stringify({ deadLetterTargetArn: <DLQ ARN>, maxReceiveCount: 5 }) on the consumed aws.sqs.Queue. " +
        "Without it a message the consumer never accepts circulates until the retention period deletes it.",
    configSchema: {
        properties: {
            maximumReceiveCount: { type: "integer", minimum: 1, maximum: 1000, default: 10, description: "Largest maxReceiveCount allowed (SQS range 1..1000)." },
        },
    },
    // SQS SetQueueAttributes, RedrivePolicy: deadLetterTargetArn, maxReceiveCount 1..1000 (Amazon SQS API Reference).
    validateStack: (args, report) => {
        const { maximumReceiveCount } = config(args, { maximumReceiveCount: 10 });
        const queues = args.resources.filter((r) => r.type === T.sqsQueue);
        const mappings = args.resources.filter((r) => r.type === T.eventSourceMapping && readsSqs(r.props));
        const consumed = queues.filter((q) => mappings.some((m) => refersTo(m, "eventSourceArn", read(m.props, "eventSourceArn"), q, [read(q.props, "arn")])));
        if (consumed.length === 0) args.notApplicable("no SQS queue of the stack is read by an event source mapping");
        for (const queue of consumed) {
            const redrive = redriveOf(queue, args.resources);
            if (redrive === undefined) {
                report(`SQS queue ${label(queue)} feeds a Lambda but has no redrive policy: a message the consumer keeps failing is never dead-lettered.`, queue.urn);
                continue;
            }
            if (redrive.document === UNKNOWN) continue;
            const target = read(redrive.document, "deadLetterTargetArn");
            if (!isUnknown(target) && (typeof target !== "string" || !SQS_ARN.test(target))) {
                report(`SQS queue ${label(queue)}: ${redrive.from} has deadLetterTargetArn ${show(target)}, not an SQS queue ARN.`, queue.urn);
            }
            const count = read(redrive.document, "maxReceiveCount");
            if (!isUnknown(count)) {
                const n = number(count);
                if (n === undefined || n < 1 || n > maximumReceiveCount) {
                    report(`SQS queue ${label(queue)}: ${redrive.from} has maxReceiveCount ${show(count)}; a poison message must reach the dead-letter queue after at most ${maximumReceiveCount} receives.`, queue.urn);
                }
            }
        }
    },
};

export const azureToAwsDeliveryPolicies = [sqsMappingReportsItemFailures, sqsConsumerQueueDeadLetters];
export const azureToAwsIdentityPolicies = [webIdentityTrustPinned];
export const azureToAwsTransportPolicies = [postgresEntraOnly, postgresTlsRequired, postgresFirewallNarrow];
