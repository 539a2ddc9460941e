/**
 * The shape of the stack configuration that components/config.ts reads and checks, and the error it
 * throws. Types only (and the one error class), so components can name a part of the config without
 * pulling the reader in.
 */
import type { DirectionsConfig } from "./config-azure-to-aws";

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
