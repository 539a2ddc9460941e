/**
 * The one place where stack configuration is read and checked. index.ts hands `readMeshConfig` the
 * Pulumi config; tests hand it a plain map. Every key is declared, with its description and
 * default, in Pulumi.yaml; the defaults here are the same ones, so a program run without the Pulumi
 * CLI (the offline preview, the tests) behaves as `pulumi up` would.
 *
 * Every problem is collected before anything is created, and reported together: one line per key,
 * naming the key, the value given and what is allowed.
 */

import { AZURE_TO_AWS_DEFAULTS, DirectionsConfig, readDirections } from "./config-azure-to-aws";

export const PROJECT = "multicloud-mesh";

/** Reads one raw config value by key (without the project namespace); undefined when unset. */
export interface ConfigSource {
    get(key: string): string | undefined;
}

export type ServiceBusSku = "Standard" | "Premium";
export type SettlementMode = "sdk" | "throw";
export const SETTLEMENT_MODES: readonly SettlementMode[] = ["sdk", "throw"];

export interface MeshConfig {
    aws: {
        region: string;
    };
    azure: {
        location: string;
        /** Entra ID tenant of the publisher application; undefined means the azuread provider's own tenant. */
        tenantId?: string;
    };
    events: {
        /** EventBridge `source` values the rule forwards to Azure. */
        sources: string[];
    };
    queue: {
        /** Queue name; the API destination URL and the consumer are built from it. */
        name: string;
        /** Deliveries before a message is dead-lettered (1..2000). */
        maxDeliveryCount: number;
        /** Peek-lock duration in seconds (5..300). */
        lockDurationSeconds: number;
        /** Days before an undelivered message expires into the dead-letter queue. */
        messageTtlDays: number;
        /** Duplicate detection window in minutes; 0 turns Service Bus duplicate detection off (see README: the API destination cannot set MessageId). */
        duplicateDetectionWindowMinutes: number;
    };
    serviceBus: {
        sku: ServiceBusSku;
        /** Messaging units; Premium only. */
        capacity: number;
    };
    delivery: {
        /** Longest time EventBridge retries one event, in seconds (60..86400). */
        maximumEventAgeSeconds: number;
        /** Most retries of one event (0..185). */
        maximumRetryAttempts: number;
        /** Invocations per second of the API destination (1..300). */
        rateLimitPerSecond: number;
    };
    archiveRetentionDays: number;
    /** Who is told when an alarm fires, on both clouds. */
    alarms: AlarmReceivers;
    deletionProtection: boolean;
    publisher: {
        /** Days between two rotations of one secret slot (the two slots alternate every half period). */
        rotationDays: number;
        /** Days a secret stays valid after its slot's next rotation is due. */
        graceDays: number;
        /** Seconds between a new secret's creation and its first use by EventBridge. */
        propagationWaitSeconds: number;
        /** Seconds between the Data Sender role assignment and EventBridge's first secret (RBAC propagation). */
        rolePropagationSeconds: number;
    };
    relay: {
        /** Memory of the relay Lambda in MB (128..10240). */
        memoryMb: number;
        /** Timeout of one relay invocation in seconds (1..900). */
        timeoutSeconds: number;
        /** Stream records per invocation (1..10000). */
        batchSize: number;
        /** Seconds the mapping gathers records before invoking (0..300). */
        batchWindowSeconds: number;
        /** Retries of a failing batch before its records are parked in the failure queue (0..10000; finite). */
        maximumRetryAttempts: number;
        /** Records older than this many seconds are parked instead of retried (60..72000, inside the stream's 24 h). */
        maximumRecordAgeSeconds: number;
        /** Iterator age, in seconds, that raises the "stream falling behind" alarm. */
        iteratorAgeAlarmSeconds: number;
    };
    /** Days function logs are kept. */
    logRetentionDays: number;
    consumer: {
        /** Messages the consumer processes at once per instance. */
        maxConcurrentCalls: number;
        /** Flex Consumption scale-out limit of the consumer app. */
        maximumInstanceCount: number;
        /** Memory of each consumer instance, MB (Flex Consumption: 512, 2048 or 4096). */
        instanceMemoryMb: number;
        /** Principal type of whoever runs `pulumi up` (the package upload role names it). */
        deployerPrincipalType: "User" | "ServicePrincipal";
        /** Azure Managed Redis SKU of the idempotency store. */
        redisSku: string;
        /** Two-node Redis (replicated) for the idempotency store. */
        redisHighAvailability: boolean;
        // Azure operations (docs/azure-observability-and-sizing.md):
        /** Average events per second the consumer completes: sizes the idempotency store. */
        expectedEventsPerSecond: number;
        /** Redis used-memory percentage that raises the alert (1..99). */
        redisUsedMemoryAlertPercent: number;
        /** `sdk` (explicit settlement) or `throw` (fallback without the preview settlement package). */
        settlementMode: SettlementMode;
        /** Seconds between the consumer identity's role assignments and the app's start (RBAC propagation). */
        rolePropagationSeconds: number;
    };
    /** Pulumi Deployments for this stack; undefined when `deploymentsEnabled` is false. */
    deployments?: {
        organization?: string;
        repository: string;
        branch: string;
        repoDir?: string;
        paths: string[];
        awsRoleArn: string;
        azureClientId: string;
        azureSubscriptionId?: string;
        /** Cron (UTC) of the scheduled refresh + update, or false for none. */
        scheduleCron: string | false;
    };
    tags: Record<string, string>;
    /** Which directions the mesh carries, and the Azure → AWS direction's settings (config-azure-to-aws.ts). */
    directions: DirectionsConfig;
}

/** The receivers every alarm of the mesh notifies; at least one is required when `requireAlarmReceiver` is true. */
export interface AlarmReceivers {
    /** Subscribed (e-mail) to the mesh's own SNS topic and added to the Azure action group. */
    email?: string;
    /** An existing SNS topic (same region) that every AWS alarm also notifies. */
    snsTopicArn?: string;
    /** An existing Azure Monitor action group that every Azure alert also notifies. */
    actionGroupId?: string;
    /** Days before the active publisher secret's end date at which the expiry alarm fires. */
    secretExpiryDays: number;
}

/** Thrown when configuration is invalid; `problems` has one entry per bad key. */
export class MeshConfigError extends Error {
    constructor(public readonly problems: string[]) {
        super(
            `invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "MeshConfigError";
    }
}

/** AWS commercial regions that offer EventBridge API destinations. */
export const AWS_REGIONS: readonly string[] = [
    "us-east-1", "us-east-2", "us-west-1", "us-west-2",
    "ca-central-1", "ca-west-1", "sa-east-1", "mx-central-1",
    "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-central-2",
    "eu-north-1", "eu-south-1", "eu-south-2",
    "ap-east-1", "ap-south-1", "ap-south-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7",
    "me-south-1", "me-central-1", "il-central-1", "af-south-1",
];

/** Azure public-cloud regions (ARM location names) where Service Bus Standard and Premium are offered. */
export const AZURE_LOCATIONS: readonly string[] = [
    "eastus", "eastus2", "centralus", "northcentralus", "southcentralus", "westcentralus",
    "westus", "westus2", "westus3", "canadacentral", "canadaeast", "brazilsouth", "mexicocentral",
    "northeurope", "westeurope", "uksouth", "ukwest", "francecentral", "germanywestcentral",
    "switzerlandnorth", "norwayeast", "swedencentral", "polandcentral", "italynorth", "spaincentral",
    "uaenorth", "qatarcentral", "israelcentral", "southafricanorth",
    "centralindia", "southindia", "westindia", "eastasia", "southeastasia", "japaneast", "japanwest",
    "koreacentral", "koreasouth", "australiaeast", "australiasoutheast", "australiacentral",
    "newzealandnorth", "indonesiacentral", "malaysiawest",
];

/** Retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS: readonly number[] = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/**
 * Flex Consumption instance sizes (MB) and scale-out limit bounds: Microsoft's reference template
 * Azure-Samples/azure-functions-flex-consumption-samples IaC/bicep/main.bicep (commit 9519a36:
 * instanceMemoryMB @allowed [512, 2048, 4096], maximumInstanceCount @minValue 40 @maxValue 1000)
 * and Learn "Azure Functions Flex Consumption plan hosting".
 */
export const FLEX_INSTANCE_MEMORY_MB: readonly number[] = [512, 2048, 4096];
export const FLEX_MAXIMUM_INSTANCE_COUNT = { min: 40, max: 1000 } as const;

export const SERVICE_BUS_SKUS: readonly ServiceBusSku[] = ["Standard", "Premium"];
export const PREMIUM_CAPACITIES: readonly number[] = [1, 2, 4, 8, 16];

/** EventBridge's documented bounds for a target's retry policy and an API destination's rate. */
export const RETRY_AGE_BOUNDS = { min: 60, max: 86400 } as const;
export const RETRY_ATTEMPTS_BOUNDS = { min: 0, max: 185 } as const;
export const RATE_LIMIT_BOUNDS = { min: 1, max: 300 } as const;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// EventBridge `source`: 1..256 printable characters; we also refuse the reserved "aws." prefix,
// which PutEvents rejects for custom events.
const EVENT_SOURCE = /^[A-Za-z0-9._\-/]{1,256}$/;
// Service Bus entity names: letters, digits, '.', '-', '_', start and end alphanumeric, at most 260.
const QUEUE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,258}[A-Za-z0-9])?$/;
const REDIS_SKU = /^(Balanced|MemoryOptimized|ComputeOptimized|FlashOptimized)_[A-Z]\d+$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
// SNS topic ARN. Topic names: 1-256 ASCII letters, digits, '_' and '-' (SNS API reference,
// CreateTopic, "Name"); a FIFO topic's name ends in ".fifo" and every Publish to it needs a
// MessageGroupId (SNS API reference, Publish), which CloudWatch alarms and the Scheduler/EventBridge
// targets here do not send: FIFO topics are refused.
export const SNS_TOPIC_ARN = /^arn:aws(?:-[a-z]+)*:sns:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):([A-Za-z0-9_-]{1,256})$/;
// Azure Monitor action group resource id: the ActionGroups_CreateOrUpdate path in
// Azure/azure-rest-api-specs specification/monitor/resource-manager/Microsoft.Insights/stable/2023-01-01/actionGroups_API.json;
// the resource group name follows common-types/resource-management/v3 ResourceGroupNameParameter
// (1-90 of letters, digits, '_', '-', '.', '(', ')'); the action group name has no pattern there (any
// non-empty path segment). ARM ids are case-insensitive, so the fixed segments are matched that way.
export const ACTION_GROUP_ID = /^\/subscriptions\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/resourceGroups\/[-\w.()]{1,90}\/providers\/Microsoft\.Insights\/actionGroups\/[^/]{1,260}$/i;
const TAG = /^([^=]{1,128})=(.{0,256})$/;

/** Every key the program reads, with the default Pulumi.yaml declares for it. */
export const CONFIG_DEFAULTS = {
    awsRegion: "us-east-1",
    azureLocation: "westeurope",
    entraTenantId: "",
    eventSources: ["enterprise.transactions"],
    queueName: "mesh-events",
    queueMaxDeliveryCount: 10,
    queueLockDurationSeconds: 60,
    queueMessageTtlDays: 14,
    queueDuplicateDetectionWindowMinutes: 0,
    serviceBusSku: "Standard",
    serviceBusCapacity: 1,
    retryMaximumEventAgeSeconds: 86400,
    retryMaximumAttempts: 185,
    apiDestinationRateLimitPerSecond: 300,
    archiveRetentionDays: 7,
    alarmEmail: "",
    alarmSnsTopicArn: "",
    alarmActionGroupId: "",
    requireAlarmReceiver: false,
    secretExpiryAlarmDays: 21,
    deletionProtection: false,
    publisherRotationDays: 90,
    publisherRotationGraceDays: 14,
    publisherPropagationWaitSeconds: 120,
    relayMemoryMb: 256,
    relayTimeoutSeconds: 60,
    relayBatchSize: 100,
    relayBatchWindowSeconds: 1,
    relayMaximumRetryAttempts: 10,
    relayMaximumRecordAgeSeconds: 21600,
    relayIteratorAgeAlarmSeconds: 300,
    logRetentionDays: 30,
    consumerMaxConcurrentCalls: 16,
    consumerMaximumInstanceCount: 100,
    consumerInstanceMemoryMb: 2048,
    consumerDeployerPrincipalType: "User",
    redisSku: "Balanced_B0",
    redisHighAvailability: false,
    // Azure operations (diagnostics, RBAC propagation, Redis sizing, settlement fallback).
    // Microsoft: role assignment changes can take up to 10 minutes to take effect
    // (learn.microsoft.com/azure/role-based-access-control/troubleshooting).
    azureRolePropagationSeconds: 600,
    consumerExpectedEventsPerSecond: 1,
    redisUsedMemoryAlertPercent: 70,
    consumerSettlementMode: "sdk",
    deploymentsEnabled: false,
    deploymentsOrganization: "",
    deploymentsRepository: "",
    deploymentsBranch: "main",
    deploymentsRepoDir: "",
    deploymentsPaths: [] as string[],
    deploymentsAwsRoleArn: "",
    deploymentsAzureClientId: "",
    deploymentsAzureSubscriptionId: "",
    deploymentsScheduleCron: "0 4 * * 1",
    tags: [] as string[],
    ...AZURE_TO_AWS_DEFAULTS,
} as const;

export type ConfigKey = keyof typeof CONFIG_DEFAULTS;

/** Reads and validates the whole stack configuration; throws MeshConfigError listing every bad key. */
export function readMeshConfig(source: ConfigSource): MeshConfig {
    const problems: string[] = [];
    const reader = new Reader(source, problems);

    const region = reader.oneOf("awsRegion", AWS_REGIONS);
    const location = reader.oneOf("azureLocation", AZURE_LOCATIONS);
    const tenantId = reader.string("entraTenantId", (v) => v === "" || GUID.test(v), "a tenant GUID, or empty for the azuread provider's tenant");

    // undefined: not a list at all, already reported.
    const sourceList = reader.stringList("eventSources");
    const sources = sourceList ?? [];
    if (sourceList !== undefined && sourceList.length === 0) {
        problems.push(`${key("eventSources")}: the list is empty; give at least one EventBridge source, e.g. ["enterprise.transactions"]`);
    }
    for (const s of sources) {
        if (!EVENT_SOURCE.test(s) || s.startsWith("aws.")) {
            problems.push(`${key("eventSources")}: ${JSON.stringify(s)} is not a valid custom event source (1-256 of letters, digits, . _ - /; not starting with "aws.")`);
        }
    }
    if (new Set(sources).size !== sources.length) {
        problems.push(`${key("eventSources")}: contains duplicates`);
    }

    const queueName = reader.string("queueName", (v) => QUEUE_NAME.test(v), "1-260 letters, digits, '.', '-', '_', starting and ending with a letter or digit");
    const maxDeliveryCount = reader.integer("queueMaxDeliveryCount", 1, 2000);
    const lockDurationSeconds = reader.integer("queueLockDurationSeconds", 5, 300);
    const messageTtlDays = reader.integer("queueMessageTtlDays", 1, 3650);
    const duplicateDetectionWindowMinutes = reader.integer("queueDuplicateDetectionWindowMinutes", 0, 10080);

    const sku = reader.oneOf("serviceBusSku", SERVICE_BUS_SKUS) as ServiceBusSku;
    const capacity = reader.integer("serviceBusCapacity", 1, 16);
    if (sku === "Premium" && !PREMIUM_CAPACITIES.includes(capacity)) {
        problems.push(`${key("serviceBusCapacity")}: ${capacity} messaging units is not offered; allowed for Premium: ${PREMIUM_CAPACITIES.join(", ")}`);
    }
    if (sku === "Standard" && capacity !== 1 && source.get("serviceBusCapacity") !== undefined) {
        problems.push(`${key("serviceBusCapacity")}: messaging units apply to Premium only; remove the key or set ${key("serviceBusSku")} to Premium`);
    }

    const maximumEventAgeSeconds = reader.integer("retryMaximumEventAgeSeconds", RETRY_AGE_BOUNDS.min, RETRY_AGE_BOUNDS.max);
    const maximumRetryAttempts = reader.integer("retryMaximumAttempts", RETRY_ATTEMPTS_BOUNDS.min, RETRY_ATTEMPTS_BOUNDS.max);
    const rateLimitPerSecond = reader.integer("apiDestinationRateLimitPerSecond", RATE_LIMIT_BOUNDS.min, RATE_LIMIT_BOUNDS.max);
    // 0 keeps archived events indefinitely (EventBridge's own meaning of RetentionDays = 0).
    const archiveRetentionDays = reader.integer("archiveRetentionDays", 0, 36500);
    const alarmEmail = reader.string("alarmEmail", (v) => v === "" || EMAIL.test(v), "an e-mail address, or empty for no subscription");
    const alarmSnsTopicArn = reader.string(
        "alarmSnsTopicArn",
        (v) => v === "" || SNS_TOPIC_ARN.test(v),
        "an SNS standard topic ARN (arn:aws:sns:<region>:<account>:<name>, not .fifo), or empty for none",
    );
    const topicRegion = SNS_TOPIC_ARN.exec(alarmSnsTopicArn)?.[1];
    if (topicRegion !== undefined && topicRegion !== region) {
        // CloudWatch alarm actions, EventBridge targets and Scheduler targets are regional resources
        // of this stack; a topic elsewhere would need cross-region delivery we have not verified.
        problems.push(`${key("alarmSnsTopicArn")}: the topic is in ${topicRegion} but the stack's ${key("awsRegion")} is ${region}; use a topic in ${region}`);
    }
    const alarmActionGroupId = reader.string(
        "alarmActionGroupId",
        (v) => v === "" || ACTION_GROUP_ID.test(v),
        "an action group resource id (/subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.Insights/actionGroups/<name>), or empty for none",
    );
    const requireAlarmReceiver = reader.boolean("requireAlarmReceiver");
    if (requireAlarmReceiver && alarmEmail === "" && alarmSnsTopicArn === "" && alarmActionGroupId === "") {
        problems.push(
            `${key("requireAlarmReceiver")}: is true but no alarm receiver is set; set at least one of ${key("alarmEmail")}, ` +
                `${key("alarmSnsTopicArn")}, ${key("alarmActionGroupId")} (or every alarm of this stack reaches no one)`,
        );
    }
    const deletionProtection = reader.boolean("deletionProtection");
    const rotationDays = reader.integer("publisherRotationDays", 2, 480);
    const graceDays = reader.integer("publisherRotationGraceDays", 1, 180);
    const propagationWaitSeconds = reader.integer("publisherPropagationWaitSeconds", 0, 3600);
    const secretExpiryDays = reader.integer("secretExpiryAlarmDays", 1, 365);
    // The active secret is the newest: the other slot replaces it half a period after it was issued,
    // and it lives a full period plus the grace. An alarm N days before its end therefore fires only
    // when rotations have stalled, as long as N < period/2 + grace; otherwise it fires while healthy.
    if (secretExpiryDays >= rotationDays / 2 + graceDays) {
        problems.push(
            `${key("secretExpiryAlarmDays")}: ${secretExpiryDays} days would page before the next rotation is even due; keep it below ` +
                `${key("publisherRotationDays")}/2 + ${key("publisherRotationGraceDays")} = ${rotationDays / 2 + graceDays}`,
        );
    }
    if (rotationDays % 2 !== 0) {
        problems.push(`${key("publisherRotationDays")}: ${rotationDays} must be even (the second secret slot is offset by half a period)`);
    }
    // The second slot's first secret lives 1.5 periods plus the grace; Entra ID refuses more than two years.
    if (1.5 * rotationDays + graceDays > 730) {
        problems.push(
            `${key("publisherRotationGraceDays")}: with ${key("publisherRotationDays")} ${rotationDays}, secrets would live ${1.5 * rotationDays + graceDays} days; ` +
                "Entra ID allows 730 (keep 1.5 × rotation + grace ≤ 730)",
        );
    }


    const relay = {
        memoryMb: reader.integer("relayMemoryMb", 128, 10240),
        timeoutSeconds: reader.integer("relayTimeoutSeconds", 1, 900),
        batchSize: reader.integer("relayBatchSize", 1, 10000),
        batchWindowSeconds: reader.integer("relayBatchWindowSeconds", 0, 300),
        // Finite by design: a record that can never be published must reach the failure queue.
        maximumRetryAttempts: reader.integer("relayMaximumRetryAttempts", 0, 10000),
        // The stream keeps records 24 h: a record must reach the failure queue well before it is
        // trimmed, or nothing is left to redrive.
        maximumRecordAgeSeconds: reader.integer("relayMaximumRecordAgeSeconds", 60, 72000),
        iteratorAgeAlarmSeconds: reader.integer("relayIteratorAgeAlarmSeconds", 1, 604800),
    };
    const logRetentionDays = reader.integer("logRetentionDays", 1, 3653);
    if (!LOG_RETENTION_DAYS.includes(logRetentionDays)) {
        problems.push(`${key("logRetentionDays")}: ${logRetentionDays} is not a CloudWatch Logs retention; expected one of ${LOG_RETENTION_DAYS.join(", ")}`);
    }

    const consumer = {
        maxConcurrentCalls: reader.integer("consumerMaxConcurrentCalls", 1, 256),
        maximumInstanceCount: reader.integer("consumerMaximumInstanceCount", FLEX_MAXIMUM_INSTANCE_COUNT.min, FLEX_MAXIMUM_INSTANCE_COUNT.max),
        instanceMemoryMb: reader.integer("consumerInstanceMemoryMb", 1, 1_000_000),
        deployerPrincipalType: reader.oneOf("consumerDeployerPrincipalType", ["User", "ServicePrincipal"] as const),
        redisSku: reader.string("redisSku", (v) => REDIS_SKU.test(v), "an Azure Managed Redis SKU such as Balanced_B0, Balanced_B1, MemoryOptimized_M10"),
        redisHighAvailability: reader.boolean("redisHighAvailability"),
    };

    if (!FLEX_INSTANCE_MEMORY_MB.includes(consumer.instanceMemoryMb)) {
        problems.push(`${key("consumerInstanceMemoryMb")}: ${consumer.instanceMemoryMb} is not a Flex Consumption instance size; expected one of ${FLEX_INSTANCE_MEMORY_MB.join(", ")}`);
    }
    // Azure operations (docs/azure-observability-and-sizing.md).
    const rolePropagationSeconds = reader.integer("azureRolePropagationSeconds", 0, 3600);
    const consumerOperations = {
        expectedEventsPerSecond: reader.integer("consumerExpectedEventsPerSecond", 1, 1_000_000),
        redisUsedMemoryAlertPercent: reader.integer("redisUsedMemoryAlertPercent", 1, 99),
        settlementMode: reader.oneOf("consumerSettlementMode", SETTLEMENT_MODES),
        rolePropagationSeconds,
    };

    let deployments: MeshConfig["deployments"];
    if (reader.boolean("deploymentsEnabled")) {
        const required = (name: ConfigKey, what: string) => {
            const value = source.get(name) ?? "";
            if (value === "") problems.push(`${key(name)}: required when ${key("deploymentsEnabled")} is true (${what})`);
            return value;
        };
        const optional = (name: ConfigKey) => (source.get(name) ?? "") || undefined;
        const cron = source.get("deploymentsScheduleCron") ?? String(CONFIG_DEFAULTS.deploymentsScheduleCron);
        deployments = {
            organization: optional("deploymentsOrganization"),
            repository: required("deploymentsRepository", "the GitHub owner/name holding this program"),
            branch: source.get("deploymentsBranch") || CONFIG_DEFAULTS.deploymentsBranch,
            repoDir: optional("deploymentsRepoDir"),
            paths: reader.stringList("deploymentsPaths") ?? [],
            awsRoleArn: required("deploymentsAwsRoleArn", "the IAM role that trusts Pulumi Cloud's OIDC issuer for this stack"),
            azureClientId: required("deploymentsAzureClientId", "the Entra application with a federated credential for this stack"),
            azureSubscriptionId: optional("deploymentsAzureSubscriptionId"),
            scheduleCron: cron === "off" ? false : cron,
        };
    }

    const tags: Record<string, string> = {};
    for (const entry of reader.stringList("tags") ?? []) {
        const match = TAG.exec(entry);
        if (!match) {
            problems.push(`${key("tags")}: ${JSON.stringify(entry)} is not "key=value" (key 1-128 characters without '=', value up to 256)`);
            continue;
        }
        tags[match[1]] = match[2];
    }

    const directions = readDirections(reader, problems, key, sources, (s) => EVENT_SOURCE.test(s) && !s.startsWith("aws."));

    if (problems.length > 0) {
        throw new MeshConfigError(problems);
    }
    return {
        aws: { region },
        azure: { location, tenantId: tenantId === "" ? undefined : tenantId },
        events: { sources },
        queue: { name: queueName, maxDeliveryCount, lockDurationSeconds, messageTtlDays, duplicateDetectionWindowMinutes },
        serviceBus: { sku, capacity },
        delivery: { maximumEventAgeSeconds, maximumRetryAttempts, rateLimitPerSecond },
        archiveRetentionDays,
        alarms: {
            email: alarmEmail === "" ? undefined : alarmEmail,
            snsTopicArn: alarmSnsTopicArn === "" ? undefined : alarmSnsTopicArn,
            actionGroupId: alarmActionGroupId === "" ? undefined : alarmActionGroupId,
            secretExpiryDays,
        },
        deletionProtection,
        publisher: { rotationDays, graceDays, propagationWaitSeconds, rolePropagationSeconds },
        relay,
        logRetentionDays,
        consumer: { ...consumer, ...consumerOperations },
        deployments,
        tags,
        directions,
    };
}

// RFC 2606 / RFC 6761 reserve these names for documentation and tests: no mail ever reaches them.
const PLACEHOLDER_EMAIL_DOMAIN = /@(?:[^@]+\.)?(?:example\.(?:com|net|org)|[^@]+\.(?:example|invalid|test|localhost))$|@(?:example|invalid|test|localhost)$/i;

/**
 * What the program should warn about the alarm receivers (the program passes each line to
 * pulumi.log.warn): none at all, or only a placeholder address that no mail reaches.
 */
export function alarmReceiverWarnings(alarms: AlarmReceivers): string[] {
    const { email, snsTopicArn, actionGroupId } = alarms;
    if (email === undefined && snsTopicArn === undefined && actionGroupId === undefined) {
        return [
            `no alarm receiver is configured: every alarm of this stack notifies no one. Set ${key("alarmEmail")}, ` +
                `${key("alarmSnsTopicArn")} or ${key("alarmActionGroupId")} (and ${key("requireAlarmReceiver")}: true to make it mandatory)`,
        ];
    }
    if (email !== undefined && PLACEHOLDER_EMAIL_DOMAIN.test(email) && snsTopicArn === undefined && actionGroupId === undefined) {
        return [`${key("alarmEmail")} is ${email}, a reserved placeholder domain that receives no mail: replace it with your on-call address`];
    }
    return [];
}

function key(name: ConfigKey): string {
    return `${PROJECT}:${name}`;
}

/** Typed access to raw values with defaults; records a problem instead of throwing. */
class Reader {
    constructor(
        private readonly source: ConfigSource,
        private readonly problems: string[],
    ) {}

    string(name: ConfigKey, valid: (v: string) => boolean, allowed: string): string {
        const raw = this.source.get(name);
        const value = raw ?? String(CONFIG_DEFAULTS[name]);
        if (!valid(value)) {
            this.problems.push(`${key(name)}: ${JSON.stringify(value)} is not allowed; expected ${allowed}`);
        }
        return value;
    }

    oneOf<T extends string>(name: ConfigKey, allowed: readonly T[]): T {
        const value = this.source.get(name) ?? String(CONFIG_DEFAULTS[name]);
        if (!(allowed as readonly string[]).includes(value)) {
            this.problems.push(`${key(name)}: ${JSON.stringify(value)} is not allowed; expected one of ${allowed.join(", ")}`);
        }
        return value as T;
    }

    integer(name: ConfigKey, min: number, max: number): number {
        const raw = this.source.get(name);
        const fallback = CONFIG_DEFAULTS[name] as number;
        if (raw === undefined) {
            return fallback;
        }
        const value = Number(raw.trim());
        if (raw.trim() === "" || !Number.isInteger(value) || value < min || value > max) {
            this.problems.push(`${key(name)}: ${JSON.stringify(raw)} is not allowed; expected an integer from ${min} to ${max}`);
            return fallback;
        }
        return value;
    }

    boolean(name: ConfigKey): boolean {
        const raw = this.source.get(name);
        if (raw === undefined) {
            return CONFIG_DEFAULTS[name] as boolean;
        }
        if (raw !== "true" && raw !== "false") {
            this.problems.push(`${key(name)}: ${JSON.stringify(raw)} is not allowed; expected true or false`);
            return CONFIG_DEFAULTS[name] as boolean;
        }
        return raw === "true";
    }

    /** The list, or undefined (with a problem recorded) when the value is not a list of strings. */
    stringList(name: ConfigKey): string[] | undefined {
        const raw = this.source.get(name);
        if (raw === undefined) {
            return [...(CONFIG_DEFAULTS[name] as readonly string[])];
        }
        let parsed: unknown;
        try {
            parsed = JSON.parse(raw);
        } catch {
            this.problems.push(`${key(name)}: ${JSON.stringify(raw)} is not a list; expected a YAML/JSON list of strings`);
            return undefined;
        }
        if (!Array.isArray(parsed) || parsed.some((v) => typeof v !== "string")) {
            this.problems.push(`${key(name)}: expected a list of strings, got ${JSON.stringify(parsed)}`);
            return undefined;
        }
        return parsed as string[];
    }
}
