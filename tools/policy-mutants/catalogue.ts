/**
 * The mutants: realistic weakenings of the program, each a small edit a pull request could make,
 * with the policy that must catch it; and equivalent compliant rewrites that must pass. Edits
 * act on the program's recorded inputs (what CrossGuard hands the policies); source patches of
 * the program itself live in ./source-patches.ts.
 */
import { all, add, editDocument, get, one, Program, remove, set, stackResource } from "./edit";
import { RECHECK_MUTANTS, RECHECK_REWRITES } from "./recheck-cases";
import { AZURE_TO_AWS_MUTANTS, AZURE_TO_AWS_REWRITES } from "./catalogue-azure-to-aws";

/** What a mutant weakens: the classes of issue 11 (1 delivery path … 6 unknown types). */
export type MutantClass = "1 delivery path" | "2 alarms" | "3 access" | "4 transport" | "5 secrets" | "6 types";

export interface Mutant {
    id: string;
    class: MutantClass;
    /** The policy that must report it. */
    policy: string;
    /** Stacks it runs against. */
    stacks: ("dev" | "prod")[];
    apply(program: Program): void;
}

export interface Rewrite {
    id: string;
    stacks: ("dev" | "prod")[];
    apply(program: Program): void;
}

const BOTH: ("dev" | "prod")[] = ["dev", "prod"];

const SB_QUEUE = "azure-native:servicebus:Queue";
const SB_NAMESPACE = "azure-native:servicebus:Namespace";
const SQS = "aws:sqs/queue:Queue";
const TARGET = "aws:cloudwatch/eventTarget:EventTarget";
const RULE = "aws:cloudwatch/eventRule:EventRule";
const ESM = "aws:lambda/eventSourceMapping:EventSourceMapping";
const TABLE = "aws:dynamodb/table:Table";
const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const ALERT = "azure-native:monitor:MetricAlert";
const ACTION_GROUP = "azure-native:monitor:ActionGroup";
const SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription";
const ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy";
const STORAGE = "azure-native:storage:StorageAccount";
const CONTAINER = "azure-native:storage:BlobContainer";
const WEB_APP = "azure-native:web:WebApp";
const INSIGHTS = "azure-native:applicationinsights:Component";
const REDIS = "azure-native:redisenterprise:RedisEnterprise";
const REDIS_DB = "azure-native:redisenterprise:Database";
const APP_PASSWORD = "azuread:index/applicationPassword:ApplicationPassword";
const LAMBDA = "aws:lambda/function:Function";

/** Built-in role ids (same in every tenant). */
const ROLE = { sbOwner: "090c5cfd-751d-490a-894a-3ce6f1109419", blobOwner: "b7e6dc6d-f1e8-4753-8033-0f276bb0955b" };

const queueScope = (p: Program, suffix: string) => get<string>(one(p, ROLE_ASSIGNMENT, suffix), "scope");
const withRole = (id: string, role: string) => id.replace(/[0-9a-f-]{36}$/, role);
const appSetting = (p: Program, name: string, value: string) => {
    const app = one(p, WEB_APP, "-consumer-app");
    set(app, "siteConfig.appSettings", [...get<unknown[]>(app, "siteConfig.appSettings"), { name, value }]);
};

/**
 * Adds a rule on the egress bus that sends to an SQS queue (the shape of the Azure-origin consumer
 * route), with the pattern `pattern` derives from the egress rule's, and a compliant target.
 */
const consumerRoute = (p: Program, pattern: (egress: Record<string, unknown>) => Record<string, unknown>) => {
    const rule = one(p, RULE, "egress-rule");
    const target = one(p, TARGET, "egress-target");
    const queue = one(p, SQS, "relay-failures");
    const egressPattern = JSON.parse(get<string>(rule, "eventPattern")) as Record<string, unknown>;
    const inbound = add(p, rule, RULE, "inbound-rule", { ...rule.inputs, description: "Azure-origin events to the consumer queue", eventPattern: JSON.stringify(pattern(egressPattern)) });
    inbound.outputs.name = "inbound-rule";
    add(p, target, TARGET, "inbound-target", { rule: "inbound-rule", eventBusName: get(target, "eventBusName"), arn: queue.outputs.arn, deadLetterConfig: get(target, "deadLetterConfig") }, [inbound, queue]);
};

export const MUTANTS: Mutant[] = [
    // 1. Silent loss on the delivery path
    { id: "sb-queue-drops-expired", class: "1 delivery path", policy: "servicebus-queue-dead-letter-settings", stacks: BOTH, apply: (p) => set(one(p, SB_QUEUE), "deadLetteringOnMessageExpiration", false) },
    { id: "sb-queue-expiry-setting-removed", class: "1 delivery path", policy: "servicebus-queue-dead-letter-settings", stacks: BOTH, apply: (p) => set(one(p, SB_QUEUE), "deadLetteringOnMessageExpiration", undefined) },
    { id: "sb-queue-poison-circulates", class: "1 delivery path", policy: "servicebus-queue-dead-letter-settings", stacks: BOTH, apply: (p) => set(one(p, SB_QUEUE), "maxDeliveryCount", 2000) },
    { id: "sb-queue-ttl-five-minutes", class: "1 delivery path", policy: "servicebus-queue-dead-letter-settings", stacks: ["prod"], apply: (p) => set(one(p, SB_QUEUE), "defaultMessageTimeToLive", "PT5M") },
    { id: "egress-dlq-keeps-a-minute", class: "1 delivery path", policy: "sqs-queue-retention", stacks: BOTH, apply: (p) => set(one(p, SQS, "egress-dlq"), "messageRetentionSeconds", 60) },
    { id: "relay-failures-keep-an-hour", class: "1 delivery path", policy: "sqs-queue-retention", stacks: ["dev"], apply: (p) => set(one(p, SQS, "relay-failures"), "messageRetentionSeconds", 3600) },
    { id: "egress-dlq-keeps-five-days", class: "1 delivery path", policy: "sqs-dead-letter-queue-retention", stacks: BOTH, apply: (p) => set(one(p, SQS, "egress-dlq"), "messageRetentionSeconds", 432000) },
    { id: "target-without-dlq", class: "1 delivery path", policy: "eventbridge-target-retry-dlq", stacks: BOTH, apply: (p) => set(one(p, TARGET, "egress-target"), "deadLetterConfig", undefined) },
    { id: "target-retries-a-minute", class: "1 delivery path", policy: "eventbridge-target-retry-dlq", stacks: BOTH, apply: (p) => set(one(p, TARGET, "egress-target"), "retryPolicy.maximumEventAgeInSeconds", 60) },
    { id: "target-never-retries", class: "1 delivery path", policy: "eventbridge-target-retry-dlq", stacks: ["prod"], apply: (p) => set(one(p, TARGET, "egress-target"), "retryPolicy.maximumRetryAttempts", 0) },
    {
        id: "second-target-sqs-without-dlq",
        class: "1 delivery path",
        policy: "eventbridge-target-retry-dlq",
        stacks: BOTH,
        apply: (p) => {
            const target = one(p, TARGET, "egress-target");
            const queue = one(p, SQS, "relay-failures");
            add(p, target, TARGET, "audit-copy-target", { rule: get(target, "rule"), eventBusName: get(target, "eventBusName"), arn: queue.outputs.arn }, [queue]);
        },
    },
    {
        id: "second-target-lambda-without-dlq",
        class: "1 delivery path",
        policy: "eventbridge-target-retry-dlq",
        stacks: ["dev"],
        apply: (p) => {
            const target = one(p, TARGET, "egress-target");
            const fn = one(p, LAMBDA, "-relay-function");
            add(p, target, TARGET, "debug-target", { rule: get(target, "rule"), eventBusName: get(target, "eventBusName"), arn: fn.outputs.arn, retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 3600 } }, [fn]);
        },
    },
    // No ping-pong (issue 13): a route for Azure-origin events added to the egress bus, to an SQS
    // consumer, whose pattern also matches what the egress rule forwards to Azure.
    { id: "consumer-route-repeats-egress-sources", class: "1 delivery path", policy: "eventbridge-routes-no-ping-pong", stacks: BOTH, apply: (p) => consumerRoute(p, (egress) => egress) },
    { id: "consumer-route-any-source", class: "1 delivery path", policy: "eventbridge-routes-no-ping-pong", stacks: ["dev"], apply: (p) => consumerRoute(p, () => ({ "detail-type": ["OrderPlaced"] })) },
    { id: "consumer-route-prefix-source", class: "1 delivery path", policy: "eventbridge-routes-no-ping-pong", stacks: ["prod"], apply: (p) => consumerRoute(p, () => ({ source: [{ prefix: "mesh." }] })) },
    { id: "stream-retries-forever", class: "1 delivery path", policy: "lambda-dynamodb-stream-mapping-failure-handling", stacks: BOTH, apply: (p) => set(one(p, ESM, "-relay-mapping"), "maximumRetryAttempts", -1) },
    { id: "stream-no-failure-destination", class: "1 delivery path", policy: "lambda-dynamodb-stream-mapping-failure-handling", stacks: BOTH, apply: (p) => set(one(p, ESM, "-relay-mapping"), "destinationConfig", undefined) },
    { id: "stream-no-bisect", class: "1 delivery path", policy: "lambda-dynamodb-stream-mapping-failure-handling", stacks: ["dev"], apply: (p) => set(one(p, ESM, "-relay-mapping"), "bisectBatchOnFunctionError", false) },
    { id: "stream-records-expire-in-a-minute", class: "1 delivery path", policy: "lambda-dynamodb-stream-mapping-failure-handling", stacks: ["prod"], apply: (p) => set(one(p, ESM, "-relay-mapping"), "maximumRecordAgeInSeconds", 60) },
    { id: "outbox-stream-off", class: "1 delivery path", policy: "dynamodb-outbox-table-durability", stacks: BOTH, apply: (p) => set(one(p, TABLE, "-outbox-table"), "streamEnabled", false) },
    { id: "outbox-no-pitr", class: "1 delivery path", policy: "dynamodb-outbox-table-durability", stacks: ["prod"], apply: (p) => set(one(p, TABLE, "-outbox-table"), "pointInTimeRecovery.enabled", false) },
    { id: "egress-dlq-alarm-deleted", class: "1 delivery path", policy: "sqs-dead-letter-queue-depth-alarm", stacks: BOTH, apply: (p) => remove(p, one(p, ALARM, "egress-dlq-depth-alarm")) },
    { id: "sb-dlq-alert-namespace-wide", class: "1 delivery path", policy: "servicebus-queue-deadletter-alert", stacks: ["dev"], apply: (p) => set(one(p, ALERT, "dlq-alert"), "criteria.allOf.0.dimensions", []) },

    // 2. Alarms that reach nobody
    { id: "action-group-disabled", class: "2 alarms", policy: "action-group-enabled", stacks: BOTH, apply: (p) => set(one(p, ACTION_GROUP), "enabled", false) },
    { id: "action-group-no-receiver", class: "2 alarms", policy: "action-group-has-receiver", stacks: BOTH, apply: (p) => set(one(p, ACTION_GROUP), "emailReceivers", []) },
    { id: "sns-topic-unsubscribed", class: "2 alarms", policy: "sns-alarm-topic-has-subscription", stacks: BOTH, apply: (p) => all(p, SUBSCRIPTION).forEach((s) => remove(p, s)) },
    { id: "dlq-alarm-daily-period", class: "2 alarms", policy: "alarm-enabled-with-actions-in-time", stacks: BOTH, apply: (p) => set(one(p, ALARM, "egress-dlq-depth-alarm"), "period", 86400) },
    { id: "relay-alarm-a-day-of-periods", class: "2 alarms", policy: "alarm-enabled-with-actions-in-time", stacks: ["prod"], apply: (p) => set(one(p, ALARM, "relay-errors-alarm"), "evaluationPeriods", 1440) },
    { id: "alarm-actions-disabled", class: "2 alarms", policy: "alarm-enabled-with-actions-in-time", stacks: ["dev"], apply: (p) => set(one(p, ALARM, "relay-iterator-age-alarm"), "actionsEnabled", false) },
    { id: "alarm-without-actions", class: "2 alarms", policy: "alarm-enabled-with-actions-in-time", stacks: BOTH, apply: (p) => set(one(p, ALARM, "relay-errors-alarm"), "alarmActions", []) },
    { id: "alert-daily-window", class: "2 alarms", policy: "alarm-enabled-with-actions-in-time", stacks: ["dev"], apply: (p) => set(one(p, ALERT, "dlq-alert"), "windowSize", "P1D") },
    { id: "alert-disabled", class: "2 alarms", policy: "alarm-enabled-with-actions-in-time", stacks: ["prod"], apply: (p) => set(one(p, ALERT, "dlq-alert"), "enabled", false) },

    // 3. Who may do what
    { id: "publisher-data-owner", class: "3 access", policy: "azure-data-owner-managed-identity-only", stacks: BOTH, apply: (p) => set(one(p, ROLE_ASSIGNMENT, "publisher-queue-sender"), "roleDefinitionId", withRole(get(one(p, ROLE_ASSIGNMENT, "publisher-queue-sender"), "roleDefinitionId"), ROLE.sbOwner)) },
    { id: "sender-on-namespace", class: "3 access", policy: "azure-data-role-least-scope", stacks: BOTH, apply: (p) => set(one(p, ROLE_ASSIGNMENT, "publisher-queue-sender"), "scope", queueScope(p, "publisher-queue-sender").replace(/\/queues\/[^/]+$/, "")) },
    { id: "receiver-on-resource-group", class: "3 access", policy: "azure-data-role-least-scope", stacks: ["dev"], apply: (p) => set(one(p, ROLE_ASSIGNMENT, "consumer-queue-owner"), "scope", queueScope(p, "consumer-queue-owner").replace(/\/providers\/.*$/, "")) },
    { id: "sender-on-subscription", class: "3 access", policy: "azure-data-role-least-scope", stacks: ["prod"], apply: (p) => set(one(p, ROLE_ASSIGNMENT, "publisher-queue-sender"), "scope", queueScope(p, "publisher-queue-sender").replace(/\/resourceGroups\/.*$/, "")) },
    { id: "blob-owner-on-resource-group", class: "3 access", policy: "azure-data-role-least-scope", stacks: ["dev"], apply: (p) => set(one(p, ROLE_ASSIGNMENT, "consumer-storage-blob-owner"), "scope", get<string>(one(p, ROLE_ASSIGNMENT, "consumer-storage-blob-owner"), "scope").replace(/\/providers\/.*$/, "")) },
    {
        id: "relay-power-user",
        class: "3 access",
        policy: "iam-no-admin-or-full-access",
        stacks: BOTH,
        apply: (p) => {
            const policy = one(p, ROLE_POLICY, "relay-policy");
            add(p, policy, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "relay-power", { role: get(policy, "role"), policyArn: "arn:aws:iam::aws:policy/PowerUserAccess" });
        },
    },
    { id: "relay-events-star", class: "3 access", policy: "iam-no-admin-or-full-access", stacks: BOTH, apply: (p) => editDocument(one(p, ROLE_POLICY, "relay-policy"), "policy", (d) => void (d.Statement.find((s) => s.Sid === "PublishToMeshBus")!.Action = "events:*")) },
    { id: "relay-sqs-any-queue", class: "3 access", policy: "iam-no-admin-or-full-access", stacks: ["prod"], apply: (p) => editDocument(one(p, ROLE_POLICY, "relay-policy"), "policy", (d) => void (d.Statement.find((s) => s.Sid === "ParkFailedRecords")!.Resource = "*")) },
    { id: "target-role-action-star", class: "3 access", policy: "iam-no-admin-or-full-access", stacks: ["dev"], apply: (p) => editDocument(one(p, ROLE_POLICY, "target-invoke"), "policy", (d) => void (d.Statement[0].Action = "*")) },
    {
        id: "relay-admin-managed",
        class: "3 access",
        policy: "iam-no-admin-or-full-access",
        stacks: ["prod"],
        apply: (p) => set(one(p, "aws:iam/role:Role", "relay-role"), "managedPolicyArns", ["arn:aws:iam::aws:policy/AdministratorAccess"]),
    },
    { id: "dlq-policy-condition-dropped", class: "3 access", policy: "queue-topic-policy-not-public", stacks: BOTH, apply: (p) => editDocument(one(p, QUEUE_POLICY, "egress-dlq-policy"), "policy", (d) => d.Statement.filter((s) => s.Effect === "Allow").forEach((s) => ((s.Principal = "*"), delete s.Condition))) },
    { id: "dlq-policy-any-aws-principal", class: "3 access", policy: "queue-topic-policy-not-public", stacks: ["dev"], apply: (p) => editDocument(one(p, QUEUE_POLICY, "egress-dlq-policy"), "policy", (d) => d.Statement.push({ Effect: "Allow", Principal: { AWS: "*" }, Action: "sqs:SendMessage", Resource: "*" })) },
    { id: "secret-lives-two-years", class: "3 access", policy: "entra-application-password-lifetime", stacks: BOTH, apply: (p) => all(p, APP_PASSWORD).forEach((r) => set(r, "endDate", "2028-01-01T00:00:00Z")) },

    // 4. Transport and exposure
    { id: "storage-tls10", class: "4 transport", policy: "storage-tls12-https-no-public-blobs", stacks: BOTH, apply: (p) => set(one(p, STORAGE, "consumer-storage"), "minimumTlsVersion", "TLS1_0") },
    { id: "storage-http-allowed", class: "4 transport", policy: "storage-tls12-https-no-public-blobs", stacks: ["dev"], apply: (p) => set(one(p, STORAGE, "consumer-storage"), "enableHttpsTrafficOnly", false) },
    { id: "storage-public-blobs", class: "4 transport", policy: "storage-tls12-https-no-public-blobs", stacks: ["prod"], apply: (p) => set(one(p, STORAGE, "consumer-storage"), "allowBlobPublicAccess", true) },
    { id: "container-public", class: "4 transport", policy: "storage-tls12-https-no-public-blobs", stacks: BOTH, apply: (p) => set(one(p, CONTAINER, "-consumer-packages"), "publicAccess", "Blob") },
    { id: "function-tls10", class: "4 transport", policy: "function-app-https-no-key-settings", stacks: BOTH, apply: (p) => set(one(p, WEB_APP, "-consumer-app"), "siteConfig.minTlsVersion", "1.0") },
    { id: "function-ftps-allowed", class: "4 transport", policy: "function-app-https-no-key-settings", stacks: BOTH, apply: (p) => set(one(p, WEB_APP, "-consumer-app"), "siteConfig.ftpsState", "FtpsOnly") },
    { id: "function-http", class: "4 transport", policy: "function-app-https-no-key-settings", stacks: ["dev"], apply: (p) => set(one(p, WEB_APP, "-consumer-app"), "httpsOnly", false) },
    { id: "function-storage-key-setting", class: "4 transport", policy: "function-app-https-no-key-settings", stacks: ["prod"], apply: (p) => appSetting(p, "AzureWebJobsStorage", "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=bXV0YW50LWtleQ==;EndpointSuffix=core.windows.net") },
    { id: "insights-local-auth", class: "4 transport", policy: "appinsights-no-local-auth", stacks: BOTH, apply: (p) => set(one(p, INSIGHTS, "-consumer-insights"), "disableLocalAuth", false) },
    { id: "redis-access-keys-on", class: "4 transport", policy: "redis-tls-only", stacks: BOTH, apply: (p) => set(one(p, REDIS_DB), "accessKeysAuthentication", "Enabled") },
    { id: "redis-tls10", class: "4 transport", policy: "redis-tls-only", stacks: ["dev"], apply: (p) => set(one(p, REDIS), "minimumTlsVersion", "1.0") },
    { id: "sqs-unencrypted", class: "4 transport", policy: "sqs-queue-encrypted", stacks: BOTH, apply: (p) => set(one(p, SQS, "egress-dlq"), "sqsManagedSseEnabled", false) },
    { id: "namespace-sas-keys", class: "4 transport", policy: "servicebus-namespace-entra-only-tls12", stacks: ["prod"], apply: (p) => set(one(p, SB_NAMESPACE), "disableLocalAuth", false) },

    // 5. Secrets
    { id: "secret-exported-unsecret", class: "5 secrets", policy: "stack-outputs-no-credentials", stacks: BOTH, apply: (p) => set(stackResource(p), "publisherSecret", all(p, APP_PASSWORD)[0].outputs.value) },
    {
        id: "connection-string-exported",
        class: "5 secrets",
        policy: "stack-outputs-no-credentials",
        stacks: ["dev"],
        apply: (p) => set(stackResource(p), "serviceBus", { connection: "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=bXV0YW50" }),
    },

    // 6. Types outside the list
    { id: "unknown-type-s3-bucket", class: "6 types", policy: "resource-type-known-to-pack", stacks: BOTH, apply: (p) => void add(p, one(p, SQS, "egress-dlq"), "aws:s3/bucket:Bucket", "event-archive-bucket", { tags: { "mesh:project": "multicloud-mesh", "mesh:stack": "x" } }) },
    { id: "untagged-taggable-type", class: "6 types", policy: "required-tags", stacks: BOTH, apply: (p) => void add(p, one(p, STORAGE, "consumer-storage"), "azure-native:eventgrid:Topic", "events-topic", { resourceGroupName: get(one(p, STORAGE, "consumer-storage"), "resourceGroupName") }) },
    { id: "action-group-tags-dropped", class: "6 types", policy: "required-tags", stacks: ["prod"], apply: (p) => set(one(p, ACTION_GROUP), "tags", undefined) },
    { id: "relay-runtime-deprecated", class: "6 types", policy: "lambda-runtime-not-deprecated", stacks: ["dev"], apply: (p) => set(one(p, LAMBDA, "-relay-function"), "runtime", "nodejs18.x") },

    // The Azure → AWS direction (issue 13).
    ...AZURE_TO_AWS_MUTANTS,
];

export const REWRITES: Rewrite[] = [
    { id: "consumer-route-own-sources", stacks: BOTH, apply: (p) => consumerRoute(p, () => ({ source: ["mesh.azure.orders", "mesh.azure.payments"] })) },
    { id: "sb-queue-delivery-count-at-limit", stacks: BOTH, apply: (p) => set(one(p, SB_QUEUE), "maxDeliveryCount", 10) },
    { id: "target-default-retry-policy", stacks: BOTH, apply: (p) => set(one(p, TARGET, "egress-target"), "retryPolicy", undefined) },
    { id: "target-retries-a-day", stacks: ["prod"], apply: (p) => set(one(p, TARGET, "egress-target"), "retryPolicy", { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86400 }) },
    { id: "sqs-kms-instead-of-sse-sqs", stacks: BOTH, apply: (p) => (set(one(p, SQS, "egress-dlq"), "sqsManagedSseEnabled", undefined), set(one(p, SQS, "egress-dlq"), "kmsMasterKeyId", "alias/aws/sqs")) },
    { id: "dlq-policy-pinned-by-account", stacks: BOTH, apply: (p) => editDocument(one(p, QUEUE_POLICY, "egress-dlq-policy"), "policy", (d) => d.Statement.filter((s) => s.Effect === "Allow").forEach((s) => (s.Condition = { StringEquals: { "aws:SourceAccount": "123456789012" } }))) },
    { id: "relay-policy-read-only-on-star", stacks: ["dev"], apply: (p) => editDocument(one(p, ROLE_POLICY, "relay-policy"), "policy", (d) => d.Statement.push({ Sid: "Describe", Effect: "Allow", Action: ["dynamodb:DescribeTable", "dynamodb:ListStreams"], Resource: "*" })) },
    { id: "alarm-five-minute-periods", stacks: BOTH, apply: (p) => (set(one(p, ALARM, "egress-dlq-depth-alarm"), "period", 300), set(one(p, ALARM, "egress-dlq-depth-alarm"), "evaluationPeriods", 3)) },
    { id: "action-group-webhook-receiver", stacks: ["dev"], apply: (p) => (set(one(p, ACTION_GROUP), "emailReceivers", []), set(one(p, ACTION_GROUP), "webhookReceivers", [{ name: "pager", serviceUri: "https://pager.corp.example/hook", useCommonAlertSchema: true }])) },
    { id: "sns-https-subscription", stacks: ["prod"], apply: (p) => (set(one(p, SUBSCRIPTION), "protocol", "https"), set(one(p, SUBSCRIPTION), "endpoint", "https://pager.corp.example/sns")) },
    { id: "blob-owner-on-container", stacks: ["dev"], apply: (p) => set(one(p, ROLE_ASSIGNMENT, "consumer-storage-blob-owner"), "scope", `${get<string>(one(p, ROLE_ASSIGNMENT, "consumer-storage-blob-owner"), "scope")}/blobServices/default/containers/packages`) },
    { id: "storage-tls13", stacks: BOTH, apply: (p) => set(one(p, STORAGE, "consumer-storage"), "minimumTlsVersion", "TLS1_3") },
    { id: "stream-records-never-expire", stacks: BOTH, apply: (p) => set(one(p, ESM, "-relay-mapping"), "maximumRecordAgeInSeconds", -1) },
    { id: "plain-output-added", stacks: BOTH, apply: (p) => set(stackResource(p), "egressTargetRule", get(one(p, TARGET, "egress-target"), "rule")) },
    ...AZURE_TO_AWS_REWRITES,
];

// The misses of the issue-11 re-check, each closed by a general rule (./recheck-cases.ts).
MUTANTS.push(...RECHECK_MUTANTS);
REWRITES.push(...RECHECK_REWRITES);
