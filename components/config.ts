/**
 * The one place where stack configuration is read and checked. index.ts hands `readMeshConfig` the
 * Pulumi config; tests hand it a plain map. Every key is declared, with its description and
 * default, in Pulumi.yaml; the defaults here are the same ones, so a program run without the Pulumi
 * CLI (the offline preview, the tests) behaves as `pulumi up` would.
 *
 * Every problem is collected before anything is created, and reported together: one line per key,
 * naming the key, the value given and what is allowed.
 */

import { readDirections } from "./config-azure-to-aws";
import {
    ACTION_GROUP_ID,
    AWS_REGIONS,
    AZURE_LOCATIONS,
    EMAIL,
    EVENT_SOURCE,
    FLEX_INSTANCE_MEMORY_MB,
    FLEX_MAXIMUM_INSTANCE_COUNT,
    GUID,
    LOG_RETENTION_DAYS,
    PREMIUM_CAPACITIES,
    QUEUE_NAME,
    RATE_LIMIT_BOUNDS,
    REDIS_SKU,
    RETRY_AGE_BOUNDS,
    RETRY_ATTEMPTS_BOUNDS,
    SERVICE_BUS_SKUS,
    SNS_TOPIC_ARN,
    TAG,
} from "./config-bounds";
import { CONFIG_DEFAULTS, ConfigKey, key } from "./config-defaults";
import { Reader } from "./config-reader";
import { AlarmReceivers, ConfigSource, MeshConfig, MeshConfigError, ServiceBusSku, SETTLEMENT_MODES } from "./config-types";

export {
    ACTION_GROUP_ID,
    AWS_REGIONS,
    AZURE_LOCATIONS,
    FLEX_INSTANCE_MEMORY_MB,
    FLEX_MAXIMUM_INSTANCE_COUNT,
    LOG_RETENTION_DAYS,
    PREMIUM_CAPACITIES,
    RATE_LIMIT_BOUNDS,
    RETRY_AGE_BOUNDS,
    RETRY_ATTEMPTS_BOUNDS,
    SERVICE_BUS_SKUS,
    SNS_TOPIC_ARN,
} from "./config-bounds";
export { CONFIG_DEFAULTS, PROJECT } from "./config-defaults";
export type { ConfigKey } from "./config-defaults";
export { MeshConfigError, SETTLEMENT_MODES } from "./config-types";
export type { AlarmReceivers, ConfigSource, MeshConfig, ServiceBusSku, SettlementMode } from "./config-types";

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
