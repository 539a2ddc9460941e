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
}

export interface DirectionsConfig {
    awsToAzure: boolean;
    /** Undefined when the direction is switched off. */
    azureToAws?: AzureToAwsConfig;
}

/** What readDirections needs from config.ts's Reader. */
export interface DirectionReader {
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
    return { awsToAzure, azureToAws: { sources, consumer } };
}
