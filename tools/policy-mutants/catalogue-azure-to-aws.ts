/**
 * Mutants and compliant rewrites of the Azure → AWS direction (issue 13): the producers' PostgreSQL
 * outbox, the relay's web identity trust and PutEvents grant, the AWS consumer's queue, mapping,
 * dead-letter queues and alarms, and the rule that keeps the two routes apart. Each edits the
 * resource the program really builds for that hop (by its role suffix), never a stand-in.
 */
import { add, editDocument, get, one, Program, remove, set } from "./edit";
import type { Mutant, Rewrite } from "./catalogue";

const BOTH: ("dev" | "prod")[] = ["dev", "prod"];

const ROLE = "aws:iam/role:Role";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const SQS = "aws:sqs/queue:Queue";
const QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy";
const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const ESM = "aws:lambda/eventSourceMapping:EventSourceMapping";
const RULE = "aws:cloudwatch/eventRule:EventRule";
const TARGET = "aws:cloudwatch/eventTarget:EventTarget";
const LAMBDA = "aws:lambda/function:Function";
const PG_SERVER = "azure-native:dbforpostgresql:Server";
const PG_CONFIGURATION = "azure-native:dbforpostgresql:Configuration";
const PG_FIREWALL = "azure-native:dbforpostgresql:FirewallRule";
const WEB_APP = "azure-native:web:WebApp";
const INSIGHTS = "azure-native:applicationinsights:Component";
const LOG_ALERT = "azure-native:monitor:ScheduledQueryRule";

type Statement = Record<string, unknown>;
type Conditions = Record<string, Record<string, unknown>>;

/** Edits the Condition of the relay role's one web identity trust statement. */
const editTrust = (p: Program, edit: (condition: Conditions, statement: Statement) => void) =>
    editDocument(one(p, ROLE, "-relay-trust-role"), "assumeRolePolicy", (d) => {
        const statement = d.Statement.find((s) => s.Action === "sts:AssumeRoleWithWebIdentity");
        if (!statement) throw new Error("mutant does not apply: the relay trust role has no web identity statement");
        edit(statement.Condition as Conditions, statement);
    });

/** The key of the StringEquals condition on `claim` (`<issuer>:aud` / `<issuer>:sub`). */
const claimKey = (condition: Conditions, claim: "aud" | "sub") => {
    const key = Object.keys(condition.StringEquals ?? {}).find((k) => k.endsWith(`:${claim}`));
    if (!key) throw new Error(`mutant does not apply: the trust has no StringEquals ${claim}`);
    return key;
};

const putEvents = (p: Program, edit: (s: Statement) => void) =>
    editDocument(one(p, ROLE_POLICY, "-relay-trust-put-events"), "policy", (d) => {
        const s = d.Statement.find((x) => x.Action === "events:PutEvents");
        if (!s) throw new Error("mutant does not apply: the relay trust policy has no events:PutEvents statement");
        edit(s);
    });

const pattern = (r: ReturnType<typeof one>) => JSON.parse(get<string>(r, "eventPattern")) as Record<string, unknown>;
const setPattern = (r: ReturnType<typeof one>, value: Record<string, unknown>) => set(r, "eventPattern", JSON.stringify(value));

const pgParameter = (p: Program, suffix: string, value: string) => set(one(p, PG_CONFIGURATION, suffix), "value", value);

const firewallRule = (p: Program, name: string, start: string, end: string) => {
    const existing = one(p, PG_FIREWALL);
    add(p, existing, PG_FIREWALL, name, { ...existing.inputs, firewallRuleName: name, startIpAddress: start, endIpAddress: end });
};

const relayAlerts = (p: Program) => {
    const alerts = p.filter((r) => r.type === LOG_ALERT && /-outbox-relay-[a-z-]+-alert$/.test(r.name));
    if (alerts.length === 0) throw new Error("mutant does not apply: no outbox relay log alert");
    return alerts;
};

export const AZURE_TO_AWS_MUTANTS: Mutant[] = [
    // 1. Delivery path: the AWS consumer's queue, mapping and dead-letter queues; no ping-pong.
    { id: "a2a-consumer-queue-no-redrive", class: "1 delivery path", policy: "lambda-sqs-source-queue-dead-letters", stacks: BOTH, apply: (p) => set(one(p, SQS, "-aws-consumer-queue"), "redrivePolicy", undefined) },
    {
        id: "a2a-consumer-queue-receives-1000-times",
        class: "1 delivery path",
        policy: "lambda-sqs-source-queue-dead-letters",
        stacks: ["prod"],
        apply: (p) => set(one(p, SQS, "-aws-consumer-queue"), "redrivePolicy", JSON.stringify({ ...JSON.parse(get<string>(one(p, SQS, "-aws-consumer-queue"), "redrivePolicy")), maxReceiveCount: 1000 })),
    },
    { id: "a2a-mapping-whole-batch-retried", class: "1 delivery path", policy: "lambda-sqs-mapping-report-batch-item-failures", stacks: BOTH, apply: (p) => set(one(p, ESM, "-aws-consumer-mapping"), "functionResponseTypes", []) },
    { id: "a2a-mapping-response-types-removed", class: "1 delivery path", policy: "lambda-sqs-mapping-report-batch-item-failures", stacks: ["dev"], apply: (p) => set(one(p, ESM, "-aws-consumer-mapping"), "functionResponseTypes", undefined) },
    { id: "a2a-consumer-dlq-alarm-deleted", class: "1 delivery path", policy: "sqs-dead-letter-queue-depth-alarm", stacks: BOTH, apply: (p) => remove(p, one(p, ALARM, "-aws-consumer-dlq-depth-alarm")) },
    { id: "a2a-target-dlq-alarm-at-100", class: "1 delivery path", policy: "sqs-dead-letter-queue-depth-alarm", stacks: ["dev"], apply: (p) => set(one(p, ALARM, "-aws-consumer-target-dlq-depth-alarm"), "threshold", 100) },
    { id: "a2a-consumer-queue-age-alarm-deleted", class: "1 delivery path", policy: "lambda-sqs-source-queue-backlog-alarm", stacks: BOTH, apply: (p) => remove(p, one(p, ALARM, "-aws-consumer-queue-age-alarm")) },
    { id: "a2a-consumer-queue-age-alarm-other-queue", class: "1 delivery path", policy: "lambda-sqs-source-queue-backlog-alarm", stacks: ["prod"], apply: (p) => set(one(p, ALARM, "-aws-consumer-queue-age-alarm"), "dimensions.QueueName", get(one(p, ALARM, "-aws-consumer-dlq-depth-alarm"), "dimensions.QueueName")) },
    { id: "a2a-consumer-dlq-keeps-a-day", class: "1 delivery path", policy: "sqs-dead-letter-queue-retention", stacks: ["dev"], apply: (p) => set(one(p, SQS, "-aws-consumer-dlq"), "messageRetentionSeconds", 86400) },
    { id: "a2a-target-without-dlq", class: "1 delivery path", policy: "eventbridge-target-retry-dlq", stacks: BOTH, apply: (p) => set(one(p, TARGET, "-aws-consumer-target"), "deadLetterConfig", undefined) },
    {
        id: "a2a-ping-pong-consumer-takes-aws-sources",
        class: "1 delivery path",
        policy: "eventbridge-routes-no-ping-pong",
        stacks: BOTH,
        apply: (p) => {
            const inbound = one(p, RULE, "-aws-consumer-rule");
            const egress = pattern(one(p, RULE, "-egress-rule"));
            setPattern(inbound, { ...pattern(inbound), source: [...(pattern(inbound).source as string[]), ...(egress.source as string[])] });
        },
    },
    { id: "a2a-ping-pong-consumer-any-source", class: "1 delivery path", policy: "eventbridge-routes-no-ping-pong", stacks: ["dev"], apply: (p) => setPattern(one(p, RULE, "-aws-consumer-rule"), { "detail-type": [{ exists: true }] }) },
    { id: "a2a-ping-pong-egress-prefix", class: "1 delivery path", policy: "eventbridge-routes-no-ping-pong", stacks: ["prod"], apply: (p) => setPattern(one(p, RULE, "-egress-rule"), { source: [{ prefix: "" }] }) },

    // 2. Alarms that reach nobody: the relay's log alerts (parked rows, failures, backlog age).
    { id: "a2a-relay-alerts-disabled", class: "2 alarms", policy: "alarm-enabled-with-actions-in-time", stacks: BOTH, apply: (p) => relayAlerts(p).forEach((a) => set(a, "enabled", false)) },
    { id: "a2a-relay-alerts-no-action-group", class: "2 alarms", policy: "alarm-enabled-with-actions-in-time", stacks: ["dev"], apply: (p) => relayAlerts(p).forEach((a) => set(a, "actions.actionGroups", [])) },
    { id: "a2a-relay-alerts-daily", class: "2 alarms", policy: "alarm-enabled-with-actions-in-time", stacks: ["prod"], apply: (p) => relayAlerts(p).forEach((a) => (set(a, "windowSize", "P1D"), set(a, "evaluationFrequency", "P1D"))) },
    { id: "a2a-consumer-age-alarm-silent", class: "2 alarms", policy: "lambda-sqs-source-queue-backlog-alarm", stacks: ["dev"], apply: (p) => set(one(p, ALARM, "-aws-consumer-queue-age-alarm"), "alarmActions", []) },

    // 3. Who may do what: the relay's web identity trust and grant, the consumer's role.
    { id: "a2a-trust-without-aud", class: "3 access", policy: "iam-web-identity-trust-pinned", stacks: BOTH, apply: (p) => editTrust(p, (c) => delete c.StringEquals[claimKey(c, "aud")]) },
    { id: "a2a-trust-without-sub", class: "3 access", policy: "iam-web-identity-trust-pinned", stacks: BOTH, apply: (p) => editTrust(p, (c) => delete c.StringEquals[claimKey(c, "sub")]) },
    {
        id: "a2a-trust-sub-stringlike-star",
        class: "3 access",
        policy: "iam-web-identity-trust-pinned",
        stacks: ["prod"],
        apply: (p) =>
            editTrust(p, (c) => {
                const key = claimKey(c, "sub");
                delete c.StringEquals[key];
                c.StringLike = { [key]: "*" };
            }),
    },
    { id: "a2a-trust-no-condition", class: "3 access", policy: "iam-web-identity-trust-pinned", stacks: ["dev"], apply: (p) => editTrust(p, (_c, s) => delete s.Condition) },
    { id: "a2a-trust-aud-empty", class: "3 access", policy: "iam-web-identity-trust-pinned", stacks: ["dev"], apply: (p) => editTrust(p, (c) => (c.StringEquals[claimKey(c, "aud")] = "")) },
    { id: "a2a-relay-role-events-star", class: "3 access", policy: "iam-no-admin-or-full-access", stacks: BOTH, apply: (p) => putEvents(p, (s) => (s.Action = "events:*")) },
    { id: "a2a-relay-role-put-events-anywhere", class: "3 access", policy: "iam-no-admin-or-full-access", stacks: BOTH, apply: (p) => putEvents(p, (s) => (s.Resource = "*")) },
    {
        id: "a2a-relay-role-power-user",
        class: "3 access",
        policy: "iam-no-admin-or-full-access",
        stacks: ["prod"],
        apply: (p) => {
            const policy = one(p, ROLE_POLICY, "-relay-trust-put-events");
            add(p, policy, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "relay-trust-power", { role: get(policy, "role"), policyArn: "arn:aws:iam::aws:policy/PowerUserAccess" });
        },
    },
    {
        id: "a2a-consumer-role-any-table",
        class: "3 access",
        policy: "iam-no-admin-or-full-access",
        stacks: ["dev"],
        apply: (p) => editDocument(one(p, ROLE_POLICY, "-aws-consumer-policy"), "policy", (d) => void (d.Statement.find((s) => s.Sid === "IdempotencyRecords")!.Resource = "*")),
    },
    {
        id: "a2a-consumer-queue-open",
        class: "3 access",
        policy: "queue-topic-policy-not-public",
        stacks: BOTH,
        apply: (p) => editDocument(one(p, QUEUE_POLICY, "-aws-consumer-queue-policy"), "policy", (d) => d.Statement.filter((s) => s.Effect === "Allow").forEach((s) => ((s.Principal = "*"), delete s.Condition))),
    },

    // 4. Transport and exposure: the outbox server, the consumer queue, the relay app.
    { id: "a2a-pg-password-auth-on", class: "4 transport", policy: "postgres-flexible-server-entra-only", stacks: BOTH, apply: (p) => set(one(p, PG_SERVER), "authConfig.passwordAuth", "Enabled") },
    { id: "a2a-pg-password-auth-default", class: "4 transport", policy: "postgres-flexible-server-entra-only", stacks: ["dev"], apply: (p) => set(one(p, PG_SERVER), "authConfig.passwordAuth", undefined) },
    { id: "a2a-pg-entra-off", class: "4 transport", policy: "postgres-flexible-server-entra-only", stacks: ["prod"], apply: (p) => set(one(p, PG_SERVER), "authConfig.activeDirectoryAuth", "Disabled") },
    { id: "a2a-pg-tls-not-required", class: "4 transport", policy: "postgres-server-parameters-tls", stacks: BOTH, apply: (p) => pgParameter(p, "-outbox-pg-require-secure-transport", "off") },
    { id: "a2a-pg-tls10-allowed", class: "4 transport", policy: "postgres-server-parameters-tls", stacks: BOTH, apply: (p) => pgParameter(p, "-outbox-pg-ssl-min-protocol-version", "TLSv1") },
    { id: "a2a-pg-open-to-internet", class: "4 transport", policy: "postgres-firewall-not-open-to-internet", stacks: BOTH, apply: (p) => firewallRule(p, "AllowAll", "0.0.0.0", "255.255.255.255") },
    { id: "a2a-pg-firewall-slash-16", class: "4 transport", policy: "postgres-firewall-not-open-to-internet", stacks: ["dev"], apply: (p) => firewallRule(p, "Partners", "198.18.0.0", "198.18.255.255") },
    { id: "a2a-consumer-queue-unencrypted", class: "4 transport", policy: "sqs-queue-encrypted", stacks: BOTH, apply: (p) => set(one(p, SQS, "-aws-consumer-queue"), "sqsManagedSseEnabled", false) },
    { id: "a2a-consumer-dlq-unencrypted", class: "4 transport", policy: "sqs-queue-encrypted", stacks: ["prod"], apply: (p) => set(one(p, SQS, "-aws-consumer-dlq"), "sqsManagedSseEnabled", undefined) },
    { id: "a2a-relay-app-tls10", class: "4 transport", policy: "function-app-https-no-key-settings", stacks: ["dev"], apply: (p) => set(one(p, WEB_APP, "-outbox-relay-app"), "siteConfig.minTlsVersion", "1.0") },
    { id: "a2a-relay-insights-local-auth", class: "4 transport", policy: "appinsights-no-local-auth", stacks: ["prod"], apply: (p) => set(one(p, INSIGHTS, "-outbox-relay-insights"), "disableLocalAuth", false) },

    // 6. Types: the consumer's runtime.
    { id: "a2a-consumer-runtime-deprecated", class: "6 types", policy: "lambda-runtime-not-deprecated", stacks: ["prod"], apply: (p) => set(one(p, LAMBDA, "-aws-consumer-function"), "runtime", "nodejs18.x") },
];

export const AZURE_TO_AWS_REWRITES: Rewrite[] = [
    { id: "a2a-trust-claims-as-lists", stacks: BOTH, apply: (p) => editTrust(p, (c) => ["aud", "sub"].forEach((claim) => (c.StringEquals[claimKey(c, claim as "aud")] = [c.StringEquals[claimKey(c, claim as "aud")]]))) },
    { id: "a2a-pg-tls13-minimum", stacks: BOTH, apply: (p) => pgParameter(p, "-outbox-pg-ssl-min-protocol-version", "TLSv1.3") },
    { id: "a2a-pg-require-tls-spelled-true", stacks: ["prod"], apply: (p) => pgParameter(p, "-outbox-pg-require-secure-transport", "true") },
    { id: "a2a-pg-firewall-office-slash-24", stacks: ["dev"], apply: (p) => firewallRule(p, "Office", "203.0.113.0", "203.0.113.255") },
    { id: "a2a-consumer-queue-kms", stacks: ["prod"], apply: (p) => (set(one(p, SQS, "-aws-consumer-queue"), "sqsManagedSseEnabled", undefined), set(one(p, SQS, "-aws-consumer-queue"), "kmsMasterKeyId", "alias/aws/sqs")) },
    { id: "a2a-consumer-rule-two-azure-sources", stacks: BOTH, apply: (p) => setPattern(one(p, RULE, "-aws-consumer-rule"), { ...pattern(one(p, RULE, "-aws-consumer-rule")), source: [...(pattern(one(p, RULE, "-aws-consumer-rule")).source as string[]), "enterprise.azure.payments"] }) },
    { id: "a2a-consumer-backlog-by-depth", stacks: ["dev"], apply: (p) => (set(one(p, ALARM, "-aws-consumer-queue-age-alarm"), "metricName", "ApproximateNumberOfMessagesVisible"), set(one(p, ALARM, "-aws-consumer-queue-age-alarm"), "threshold", 1000)) },
];
