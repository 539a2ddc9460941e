/**
 * Configuration of the two directions' switches and of the Azure → AWS direction's AWS side, read by
 * components/config.ts (the one place config is read) through its Reader. Declared in Pulumi.yaml
 * like every other key; the defaults here are the same.
 */
import type { ConfigKey } from "./config";

export const AZURE_TO_AWS_DEFAULTS = {
    awsToAzureEnabled: true,
    azureToAwsEnabled: true,
    azureEventSources: ["enterprise.azure.transactions"] as string[],
    awsConsumerMemoryMb: 256,
    awsConsumerTimeoutSeconds: 30,
    awsConsumerBatchSize: 10,
    awsConsumerBatchWindowSeconds: 1,
    awsConsumerMaxReceiveCount: 10,
    awsConsumerQueueAgeAlarmSeconds: 300,
    outboxRelayBacklogAgeAlarmSeconds: 300,
    // The Azure outbox server (components/azure/outbox-postgres.ts; docs/azure-outbox-infrastructure.md).
    outboxPostgresSku: "Standard_B1ms",
    outboxPostgresTier: "Burstable",
    outboxPostgresVersion: "16",
    outboxPostgresStorageGb: 32,
    outboxPostgresHighAvailability: "Disabled",
    outboxPostgresBackupRetentionDays: 7,
    outboxPostgresGeoRedundantBackup: false,
    outboxPostgresDatabase: "outbox",
    outboxPostgresAllowAzureServices: true,
    outboxPostgresAdminName: "",
    outboxPostgresDeployerIpRanges: [] as string[],
} as const;

export interface AzureToAwsConfig {
    /** EventBridge `source` values of Azure-origin events: the AWS consumer's rule takes exactly these. */
    sources: string[];
    consumer: {
        memoryMb: number;
        timeoutSeconds: number;
        batchSize: number;
        batchWindowSeconds: number;
        maxReceiveCount: number;
        queueAgeAlarmSeconds: number;
    };
    relay: {
        /** Age (s) of the oldest pending outbox row that raises the relay's backlog alert (components/azure/outbox-relay-app.ts). */
        backlogAgeAlarmSeconds: number;
    };
    /** The outbox server; validated again, naming the field, by OutboxPostgres. */
    postgres: {
        skuName: string;
        skuTier: "Burstable" | "GeneralPurpose" | "MemoryOptimized";
        version: "11" | "12" | "13" | "14" | "15" | "16" | "17";
        storageSizeGb: number;
        highAvailability: "Disabled" | "ZoneRedundant" | "SameZone";
        backupRetentionDays: number;
        geoRedundantBackup: boolean;
        databaseName: string;
        allowAzureServices: boolean;
        /** UPN (person) or display name (service principal) of whoever runs `pulumi up`: the server's Entra administrator; "" = look it up in Entra. */
        adminName: string;
        deployerIpRanges: Array<{ name: string; start: string; end: string }>;
    };
}

export interface DirectionsConfig {
    awsToAzure: boolean;
    /** Undefined when the direction is switched off. */
    azureToAws?: AzureToAwsConfig;
}

/** What readDirections needs from config.ts's Reader. */
export interface DirectionReader {
    string(name: ConfigKey, valid: (v: string) => boolean, allowed: string): string;
    oneOf<T extends string>(name: ConfigKey, allowed: readonly T[]): T;
    boolean(name: ConfigKey): boolean;
    integer(name: ConfigKey, min: number, max: number): number;
    stringList(name: ConfigKey): string[] | undefined;
}

/**
 * Reads both switches and the Azure → AWS settings. `awsSources` are the AWS → Azure rule's
 * sources: the two lists must not share a value, or an event of one direction would be forwarded
 * back by the other (ping-pong).
 */
export function readDirections(reader: DirectionReader, problems: string[], key: (name: ConfigKey) => string, awsSources: readonly string[], validSource: (s: string) => boolean): DirectionsConfig {
    const awsToAzure = reader.boolean("awsToAzureEnabled");
    const enabled = reader.boolean("azureToAwsEnabled");
    if (!awsToAzure && !enabled) problems.push(`${key("awsToAzureEnabled")} and ${key("azureToAwsEnabled")} are both false: the mesh would carry nothing; enable at least one direction`);
    if (!enabled) return { awsToAzure };

    const list = reader.stringList("azureEventSources");
    const sources = list ?? [];
    if (list !== undefined && sources.length === 0) problems.push(`${key("azureEventSources")}: the list is empty; give at least one source of Azure-origin events`);
    for (const s of sources) {
        if (!validSource(s)) problems.push(`${key("azureEventSources")}: ${JSON.stringify(s)} is not a valid custom event source (1-256 of letters, digits, . _ - /; not starting with "aws.")`);
    }
    if (new Set(sources).size !== sources.length) problems.push(`${key("azureEventSources")}: contains duplicates`);
    if (awsToAzure) {
        const shared = sources.filter((s) => awsSources.includes(s));
        if (shared.length > 0) {
            problems.push(
                `${key("azureEventSources")}: ${shared.map((s) => JSON.stringify(s)).join(", ")} also in ${key("eventSources")}: an event from Azure would be forwarded back to Azure (ping-pong); the two lists must be disjoint`,
            );
        }
    }

    const consumer = {
        memoryMb: reader.integer("awsConsumerMemoryMb", 128, 10240),
        timeoutSeconds: reader.integer("awsConsumerTimeoutSeconds", 1, 900),
        batchSize: reader.integer("awsConsumerBatchSize", 1, 10000),
        batchWindowSeconds: reader.integer("awsConsumerBatchWindowSeconds", 0, 300),
        maxReceiveCount: reader.integer("awsConsumerMaxReceiveCount", 1, 1000),
        queueAgeAlarmSeconds: reader.integer("awsConsumerQueueAgeAlarmSeconds", 1, 1209600),
    };
    // Lambda CreateEventSourceMapping: BatchSize above 10 needs MaximumBatchingWindowInSeconds ≥ 1.
    if (consumer.batchSize > 10 && consumer.batchWindowSeconds < 1) {
        problems.push(`${key("awsConsumerBatchWindowSeconds")}: must be at least 1 when ${key("awsConsumerBatchSize")} (${consumer.batchSize}) is above 10 (Lambda refuses the mapping otherwise)`);
    }
    // At least a few timer periods, so one slow run does not page anyone; at most a day, since the alert exists to fire early.
    const relay = { backlogAgeAlarmSeconds: reader.integer("outboxRelayBacklogAgeAlarmSeconds", 60, 86400) };
    const ipv4 = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(?:\\.(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}";
    const RANGE = new RegExp(`^([A-Za-z0-9_-]{1,80})=(${ipv4})-(${ipv4})$`);
    const deployerIpRanges: Array<{ name: string; start: string; end: string }> = [];
    for (const entry of reader.stringList("outboxPostgresDeployerIpRanges") ?? []) {
        const m = RANGE.exec(entry);
        if (!m) problems.push(`${key("outboxPostgresDeployerIpRanges")}: ${JSON.stringify(entry)} is not "name=first-last" (IPv4 addresses, name of letters, digits, - and _)`);
        else deployerIpRanges.push({ name: m[1], start: m[2], end: m[3] });
    }
    const postgres = {
        skuName: reader.string("outboxPostgresSku", (v) => /^Standard_[A-Za-z0-9_]+$/.test(v), "a Flexible Server compute size such as Standard_B1ms or Standard_D2ds_v5"),
        skuTier: reader.oneOf("outboxPostgresTier", ["Burstable", "GeneralPurpose", "MemoryOptimized"] as const),
        version: reader.oneOf("outboxPostgresVersion", ["11", "12", "13", "14", "15", "16", "17"] as const),
        storageSizeGb: reader.integer("outboxPostgresStorageGb", 32, 32767),
        highAvailability: reader.oneOf("outboxPostgresHighAvailability", ["Disabled", "ZoneRedundant", "SameZone"] as const),
        backupRetentionDays: reader.integer("outboxPostgresBackupRetentionDays", 7, 35),
        geoRedundantBackup: reader.boolean("outboxPostgresGeoRedundantBackup"),
        databaseName: reader.string("outboxPostgresDatabase", (v) => /^[a-z_][a-z0-9_]{0,62}$/.test(v), "a PostgreSQL identifier (lower-case letters, digits, _; at most 63)"),
        allowAzureServices: reader.boolean("outboxPostgresAllowAzureServices"),
        adminName: reader.string(
            "outboxPostgresAdminName",
            (v) => v === "" || v.trim() === v,
            "the UPN (a person) or display name (a service principal) of whoever runs `pulumi up`, without surrounding spaces, or empty to look it up",
        ),
        deployerIpRanges,
    };
    if (postgres.highAvailability !== "Disabled" && postgres.skuTier === "Burstable") {
        problems.push(`${key("outboxPostgresHighAvailability")}: ${postgres.highAvailability} needs ${key("outboxPostgresTier")} GeneralPurpose or MemoryOptimized (Burstable has no high availability)`);
    }
    return { awsToAzure, azureToAws: { sources, consumer, relay, postgres } };
}
