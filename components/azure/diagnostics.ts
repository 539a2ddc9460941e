import * as pulumi from "@pulumi/pulumi";
import * as monitor from "@pulumi/azure-native/monitor";
import { fail, requireInteger } from "../validate";

/** Name of every diagnostic setting the mesh creates (one per target resource, so one name suffices). */
export const DIAGNOSTIC_SETTING_NAME = "mesh-to-log-analytics";

/**
 * What each target sends. `categoryGroup: "allLogs"` keeps categories Azure adds later and those
 * a tier lacks (Service Bus RuntimeAuditLogs exist on Premium only) from breaking the PUT.
 * API: Microsoft.Insights diagnosticSettings 2021-05-01-preview (the version
 * azure-native 3.28.0's monitor.DiagnosticSetting uses); LogSettings has `category` or
 * `categoryGroup`, MetricSettings `category`.
 */
export const DIAGNOSTIC_TARGETS = {
    // Microsoft.ServiceBus/namespaces: OperationalLogs, VNetAndIPFilteringLogs, RuntimeAuditLogs
    // (Premium), ApplicationMetricsLogs (Azure Monitor supported logs / AZMS* tables); metrics exportable.
    serviceBusNamespace: { logs: [{ categoryGroup: "allLogs" }], metrics: ["AllMetrics"] },
    // Microsoft.Web/sites: FunctionAppLogs and the App Service categories; category groups are
    // supported (built-in policy c0d8e23a-47be-4032-961f-8b0ff3957061 "Enable logging by category
    // group for App Service (microsoft.web/sites) to Log Analytics").
    functionApp: { logs: [{ categoryGroup: "allLogs" }], metrics: ["AllMetrics"] },
    // Microsoft.Storage/storageAccounts has no resource logs, only metrics; "Transaction" is its
    // exportable metric category (Capacity is not exported by diagnostic settings).
    storageAccount: { logs: [], metrics: ["Transaction"] },
    // Microsoft.Storage/storageAccounts/blobServices: StorageRead, StorageWrite, StorageDelete
    // (Azure Monitor "Supported logs for Microsoft.Storage/storageAccounts/blobServices"): who read
    // or replaced the app's package. Named one by one: no category-group support was verified for it.
    blobService: { logs: [{ category: "StorageRead" }, { category: "StorageWrite" }, { category: "StorageDelete" }], metrics: ["Transaction"] },
    // Microsoft.Cache/redisEnterprise: metrics only, all with "DS Export: Yes" (Azure Monitor
    // "Supported metrics for Microsoft.Cache/redisEnterprise").
    redisCluster: { logs: [], metrics: ["AllMetrics"] },
    // Microsoft.Cache/redisEnterprise/databases: ConnectionEvents (connections and Entra ID
    // authentications, table REDConnectionEvents); category groups supported (built-in policy
    // fa570aa1-acca-4eea-8e5a-233cf2c5e4c2 "Enable logging by category group for Caches
    // (microsoft.cache/redisenterprise/databases) to Log Analytics").
    redisDatabase: { logs: [{ categoryGroup: "allLogs" }], metrics: [] },
} as const satisfies Record<string, { logs: readonly ({ categoryGroup: string } | { category: string })[]; metrics: readonly string[] }>;

export type DiagnosticTarget = keyof typeof DIAGNOSTIC_TARGETS;

/**
 * Metric of Azure Managed Redis that the memory alert watches: `usedmemorypercentage` ("Used
 * Memory Percentage", Percent, Maximum) in namespace Microsoft.Cache/redisEnterprise (Azure
 * Monitor "Supported metrics for Microsoft.Cache/redisEnterprise").
 */
export const REDIS_USED_MEMORY_METRIC = { namespace: "Microsoft.Cache/redisEnterprise", name: "usedmemorypercentage" } as const;

export interface AzureDiagnosticsArgs {
    /** Resource group of the alert rule. */
    resourceGroupName: pulumi.Input<string>;
    /** Log Analytics workspace every diagnostic setting sends to (the consumer's, components/azure/consumer-app.ts). */
    workspaceId: pulumi.Input<string>;
    /** Resource id of each target; the blob service is derived from the storage account. */
    targets: {
        serviceBusNamespace: pulumi.Input<string>;
        functionApp: pulumi.Input<string>;
        storageAccount: pulumi.Input<string>;
        redisCluster: pulumi.Input<string>;
        redisDatabase: pulumi.Input<string>;
    };
    /** Action group the Redis memory alert notifies (the ingress's, where the other Azure alerts go). */
    actionGroupId: pulumi.Input<string>;
    /** Used-memory percentage above which the alert fires (1..99). */
    redisUsedMemoryAlertPercent: number;
    /** Tags on the alert rule (diagnostic settings take none). */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * Diagnostic settings that send the Azure side's logs and metrics to one Log Analytics workspace
 * (Service Bus, the consumer app, its storage account and blob service, Redis cluster and
 * database), and the alert that pages before Redis is full: Redis runs without eviction, so a full
 * store refuses every claim and healthy events end up dead-lettered.
 */
export class AzureDiagnostics extends pulumi.ComponentResource {
    /** The settings by target, for callers and tests. */
    public readonly settingIds: Record<DiagnosticTarget, pulumi.Output<string>>;
    public readonly redisMemoryAlertId: pulumi.Output<string>;

    constructor(name: string, args: AzureDiagnosticsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("multicloud-mesh:azure:AzureDiagnostics", name, {}, opts);
        requireInteger("AzureDiagnostics", "redisUsedMemoryAlertPercent", args.redisUsedMemoryAlertPercent, 1, 99);
        for (const [target, id] of Object.entries(args.targets)) {
            if (id === undefined || id === "") fail("AzureDiagnostics", `targets.${target}`, "must be the resource id of the target");
        }

        const resourceUris: Record<DiagnosticTarget, pulumi.Input<string>> = {
            ...args.targets,
            // The blob service is a child resource with its own diagnostic setting; "default" is its only name.
            blobService: pulumi.interpolate`${args.targets.storageAccount}/blobServices/default`,
        };
        const ids = {} as Record<DiagnosticTarget, pulumi.Output<string>>;
        for (const target of Object.keys(DIAGNOSTIC_TARGETS) as DiagnosticTarget[]) {
            const what = DIAGNOSTIC_TARGETS[target];
            const setting = new monitor.DiagnosticSetting(
                `${name}-${kebab(target)}`,
                {
                    name: DIAGNOSTIC_SETTING_NAME,
                    resourceUri: resourceUris[target],
                    workspaceId: args.workspaceId,
                    // Resource-specific tables (AZMSOperationalLogs, FunctionAppLogs, ...) instead of AzureDiagnostics.
                    logAnalyticsDestinationType: "Dedicated",
                    logs: what.logs.map((l) => ({ ...l, enabled: true })),
                    metrics: what.metrics.map((category) => ({ category, enabled: true })),
                },
                { parent: this },
            );
            ids[target] = setting.id;
        }

        const alert = new monitor.MetricAlert(
            `${name}-redis-memory-alert`,
            {
                resourceGroupName: args.resourceGroupName,
                location: "global",
                description:
                    `Idempotency store above ${args.redisUsedMemoryAlertPercent} % of its memory. It runs without eviction: when full, ` +
                    "every claim fails and healthy events are dead-lettered. Scale redisSku up (docs/azure-observability-and-sizing.md).",
                severity: 2,
                enabled: true,
                scopes: [args.targets.redisCluster],
                evaluationFrequency: "PT5M",
                // The metric's finest time grain is PT5M.
                windowSize: "PT15M",
                autoMitigate: true,
                criteria: {
                    odataType: "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                    allOf: [
                        {
                            criterionType: "StaticThresholdCriterion",
                            name: "used-memory-percentage",
                            metricNamespace: REDIS_USED_MEMORY_METRIC.namespace,
                            metricName: REDIS_USED_MEMORY_METRIC.name,
                            operator: "GreaterThan",
                            threshold: args.redisUsedMemoryAlertPercent,
                            timeAggregation: "Maximum",
                        },
                    ],
                },
                actions: [{ actionGroupId: args.actionGroupId }],
                tags: args.tags,
            },
            { parent: this },
        );

        this.settingIds = ids;
        this.redisMemoryAlertId = alert.id;
        this.registerOutputs({ settingIds: this.settingIds, redisMemoryAlertId: this.redisMemoryAlertId });
    }
}

function kebab(s: string): string {
    return s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
