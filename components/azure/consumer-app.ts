import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as applicationinsights from "@pulumi/azure-native/applicationinsights";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import * as operationalinsights from "@pulumi/azure-native/operationalinsights";
import * as redisenterprise from "@pulumi/azure-native/redisenterprise";
import * as storage from "@pulumi/azure-native/storage";
import * as web from "@pulumi/azure-native/web";
import type { BusinessHandler } from "../../runtime/consumer";
import { CONSUMER_SETTING_NAMES } from "../../runtime/functions-host";
import { buildConsumerPackage, SERVICE_BUS_CONNECTION } from "./consumer-package";
import { assignRole, BUILT_IN_ROLES, BuiltInRole } from "./roles";
import { fail, requireInteger } from "../validate";
import { DOCUMENTED_RBAC_PROPAGATION_SECONDS, rolePropagationWait } from "./role-propagation";
import type { SettlementMode } from "../config";


/** Azure Managed Redis database port (TLS). */
export const MANAGED_REDIS_PORT = 10000;

export interface ConsumerAppArgs {
    /** Resource group of the app, its storage, Redis and telemetry. */
    resourceGroupName: pulumi.Input<string>;
    /** Azure region of all of them. */
    location: pulumi.Input<string>;
    /** `<namespace>.servicebus.windows.net` of the mesh namespace. */
    namespaceFqdn: pulumi.Input<string>;
    /** The queue the consumer reads. */
    queueName: pulumi.Input<string>;
    /** Resource id of that queue: the receiver role's scope. */
    queueId: pulumi.Input<string>;
    /** The queue's lock duration in seconds; the consumer's lease never exceeds it. */
    lockDurationSeconds: number;
    /** The business handler, serialized into the package: runs once per event id. */
    handler: BusinessHandler;
    /** Messages processed at once per instance (1..256). */
    maxConcurrentCalls: number;
    /** Azure Managed Redis SKU, e.g. Balanced_B0 (dev) or Balanced_B1. */
    redisSku: string;
    /** Replicate Redis across two nodes (prod). */
    redisHighAvailability: boolean;
    /**
     * Days the consumer remembers a completed event id (1..3650). It must cover every way an event
     * can come back: EventBridge retries (1 day), the AWS dead-letter queue (14 days), the Service
     * Bus message TTL and the archive's replay window.
     */
    dedupeWindowDays: number;
    /** Protect Redis (its records are what makes a redelivery a duplicate) from deletion. */
    deletionProtection: boolean;
    /** Days Application Insights / Log Analytics keep logs (30..730). */
    logRetentionDays: number;
    /** Tags on every taggable resource. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Seconds between the identity's role assignments and the app's start (0..3600; default 600, RBAC propagation). */
    rolePropagationSeconds?: number;
    /** `sdk` (explicit settlement, default) or `throw` (fallback without the preview settlement package). */
    settlementMode?: SettlementMode;
}

/**
 * The consumer on Azure: a Linux Functions app (Consumption plan) running the package the program
 * builds, with a user-assigned managed identity for everything — the package blob, the host's
 * storage, the Service Bus trigger (identity-based connection), Application Insights ingestion
 * (Entra ID auth) and Redis (Entra ID token). No app setting holds a key; Redis is Azure Managed
 * Redis with TLS only, access keys disabled and no eviction.
 */
export class ConsumerApp extends pulumi.ComponentResource {
    public readonly functionAppName: pulumi.Output<string>;
    public readonly functionAppId: pulumi.Output<string>;
    public readonly identityPrincipalId: pulumi.Output<string>;
    public readonly identityClientId: pulumi.Output<string>;
    public readonly redisHostName: pulumi.Output<string>;
    public readonly packageBlobUrl: pulumi.Output<string>;
    public readonly storageAccountName: pulumi.Output<string>;
    /** Targets of the diagnostic settings (components/azure/diagnostics.ts). */
    public readonly storageAccountId: pulumi.Output<string>;
    public readonly logAnalyticsWorkspaceId: pulumi.Output<string>;
    public readonly redisClusterId: pulumi.Output<string>;
    public readonly redisDatabaseId: pulumi.Output<string>;

    constructor(name: string, args: ConsumerAppArgs, opts?: pulumi.ComponentResourceOptions) {
        super("multicloud-mesh:azure:ConsumerApp", name, {}, opts);
        validateConsumerArgs(args);

        const identity = new managedidentity.UserAssignedIdentity(
            `${name}-identity`,
            { resourceGroupName: args.resourceGroupName, location: args.location, tags: args.tags },
            { parent: this },
        );
        const grant = (role: string, builtIn: BuiltInRole, scope: pulumi.Input<string>, description: string) =>
            assignRole(`${name}-${role}`, { role: builtIn, principalId: identity.principalId, scope, description }, this);

        const suffix = new random.RandomString(`${name}-suffix`, { length: 8, special: false, upper: false }, { parent: this });
        const account = new storage.StorageAccount(
            `${name}-storage`,
            {
                resourceGroupName: args.resourceGroupName,
                location: args.location,
                accountName: pulumi.interpolate`meshfn${suffix.result}`,
                kind: "StorageV2",
                sku: { name: "Standard_LRS" },
                minimumTlsVersion: "TLS1_2",
                enableHttpsTrafficOnly: true,
                allowBlobPublicAccess: false,
                // Pulumi uploads the package with the account's key (the provider's blob upload);
                // nothing that runs uses a key: the app reaches this account with its identity only.
                allowSharedKeyAccess: true,
                defaultToOAuthAuthentication: true,
                tags: args.tags,
            },
            { parent: this },
        );
        const container = new storage.BlobContainer(
            `${name}-packages`,
            { resourceGroupName: args.resourceGroupName, accountName: account.name, publicAccess: "None" },
            { parent: this },
        );
        const blobOwner = grant("storage-blob-owner", BUILT_IN_ROLES.storageBlobDataOwner, account.id, "Functions host storage and the app package, by identity");

        const pkg = buildConsumerPackage({
            handler: args.handler,
            maxConcurrentCalls: args.maxConcurrentCalls,
            maxAutoLockRenewalSeconds: 300,
        });
        // A new package gets a new blob name, so the app setting changes and the app loads it
        // (the same URL with new content would keep serving the old package).
        const blob = new storage.Blob(
            `${name}-package`,
            {
                resourceGroupName: args.resourceGroupName,
                accountName: account.name,
                containerName: container.name,
                blobName: pulumi.output(pkg.contentHash).apply((hash) => `mesh-consumer-${hash.slice(0, 16)}.zip`),
                type: "Block",
                contentType: "application/zip",
                source: pkg.archive,
            },
            { parent: this },
        );
        const packageUrl = pulumi.interpolate`https://${account.name}.blob.core.windows.net/${container.name}/${blob.name}`;

        const receiver = grant("queue-receiver", BUILT_IN_ROLES.serviceBusDataReceiver, args.queueId, "The consumer receives and settles messages of this queue");

        const workspace = new operationalinsights.Workspace(
            `${name}-logs`,
            {
                resourceGroupName: args.resourceGroupName,
                location: args.location,
                sku: { name: "PerGB2018" },
                retentionInDays: args.logRetentionDays,
                tags: args.tags,
            },
            { parent: this },
        );
        const insights = new applicationinsights.Component(
            `${name}-insights`,
            {
                resourceGroupName: args.resourceGroupName,
                location: args.location,
                kind: "web",
                applicationType: "web",
                workspaceResourceId: workspace.id,
                // Ingestion only with an Entra ID token: the instrumentation key alone cannot send.
                disableLocalAuth: true,
                tags: args.tags,
            },
            { parent: this },
        );
        const publisher = grant("insights-publisher", BUILT_IN_ROLES.monitoringMetricsPublisher, insights.id, "The consumer sends telemetry with its identity");

        const redis = new redisenterprise.RedisEnterprise(
            `${name}-redis`,
            {
                resourceGroupName: args.resourceGroupName,
                location: args.location,
                sku: { name: args.redisSku },
                minimumTlsVersion: "1.2",
                highAvailability: args.redisHighAvailability ? "Enabled" : "Disabled",
                publicNetworkAccess: "Enabled",
                tags: args.tags,
            },
            { parent: this, protect: args.deletionProtection },
        );
        const database = new redisenterprise.Database(
            `${name}-redis-db`,
            {
                resourceGroupName: args.resourceGroupName,
                clusterName: redis.name,
                databaseName: "default",
                clientProtocol: "Encrypted",
                port: MANAGED_REDIS_PORT,
                // Idempotency records must never be evicted before their TTL: an evicted "done"
                // record would let a redelivery apply the effect again.
                evictionPolicy: "NoEviction",
                clusteringPolicy: "EnterpriseCluster",
                accessKeysAuthentication: "Disabled",
                persistence: { aofEnabled: true, aofFrequency: "1s" },
            },
            { parent: this, protect: args.deletionProtection },
        );
        const redisAccess = new redisenterprise.AccessPolicyAssignment(
            `${name}-redis-access`,
            {
                resourceGroupName: args.resourceGroupName,
                clusterName: redis.name,
                databaseName: database.name,
                accessPolicyName: "default",
                user: { objectId: identity.principalId },
            },
            { parent: this },
        );

        const plan = new web.AppServicePlan(
            `${name}-plan`,
            {
                resourceGroupName: args.resourceGroupName,
                location: args.location,
                kind: "functionapp",
                reserved: true, // Linux
                sku: { name: "Y1", tier: "Dynamic" },
                tags: args.tags,
            },
            { parent: this },
        );

        const n = CONSUMER_SETTING_NAMES;
        const settings: Record<string, pulumi.Input<string>> = {
            FUNCTIONS_EXTENSION_VERSION: "~4",
            FUNCTIONS_WORKER_RUNTIME: "node",
            AzureWebJobsStorage__accountName: account.name,
            AzureWebJobsStorage__credential: "managedidentity",
            AzureWebJobsStorage__clientId: identity.clientId,
            WEBSITE_RUN_FROM_PACKAGE: packageUrl,
            WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID: identity.id,
            [`${SERVICE_BUS_CONNECTION}__fullyQualifiedNamespace`]: args.namespaceFqdn,
            [`${SERVICE_BUS_CONNECTION}__credential`]: "managedidentity",
            [`${SERVICE_BUS_CONNECTION}__clientId`]: identity.clientId,
            MESH_QUEUE_NAME: args.queueName,
            [n.lockMs]: String(args.lockDurationSeconds * 1000),
            [n.redisHost]: redis.hostName,
            [n.redisPort]: String(MANAGED_REDIS_PORT),
            [n.redisTls]: "true",
            [n.redisAuth]: "entra",
            [n.redisUsername]: identity.principalId,
            [n.clientId]: identity.clientId,
            [n.dedupeWindowMs]: String(args.dedupeWindowDays * 86_400_000),
            [n.settlementMode]: args.settlementMode ?? "sdk",
            APPLICATIONINSIGHTS_CONNECTION_STRING: insights.connectionString,
            APPLICATIONINSIGHTS_AUTHENTICATION_STRING: pulumi.interpolate`ClientId=${identity.clientId};Authorization=AAD`,
        };

        const rolePropagation = rolePropagationWait(
            `${name}-role-propagation`,
            [blobOwner, receiver, publisher, redisAccess],
            args.rolePropagationSeconds ?? DOCUMENTED_RBAC_PROPAGATION_SECONDS,
            this,
        );

        const app = new web.WebApp(
            `${name}-app`,
            {
                resourceGroupName: args.resourceGroupName,
                location: args.location,
                kind: "functionapp,linux",
                serverFarmId: plan.id,
                httpsOnly: true,
                identity: { type: "UserAssigned", userAssignedIdentities: [identity.id] },
                keyVaultReferenceIdentity: identity.id,
                siteConfig: {
                    linuxFxVersion: "Node|22",
                    minTlsVersion: "1.2",
                    ftpsState: "Disabled",
                    http20Enabled: true,
                    appSettings: Object.entries(settings).map(([name, value]) => ({ name, value })),
                },
                tags: args.tags,
            },
            // The app must not start before its identity can read the package, its storage and the queue.
            // and only after those roles have had time to propagate.
            { parent: this, dependsOn: [blobOwner, receiver, publisher, redisAccess, rolePropagation] },
        );

        this.functionAppName = app.name;
        this.functionAppId = app.id;
        this.identityPrincipalId = identity.principalId;
        this.identityClientId = identity.clientId;
        this.redisHostName = redis.hostName;
        this.packageBlobUrl = packageUrl;
        this.storageAccountName = account.name;
        this.storageAccountId = account.id;
        this.logAnalyticsWorkspaceId = workspace.id;
        this.redisClusterId = redis.id;
        this.redisDatabaseId = database.id;
        this.registerOutputs({
            functionAppName: this.functionAppName,
            identityPrincipalId: this.identityPrincipalId,
            redisHostName: this.redisHostName,
            packageBlobUrl: this.packageBlobUrl,
        });
    }
}

function validateConsumerArgs(args: ConsumerAppArgs): void {
    const C = "ConsumerApp";
    requireInteger(C, "lockDurationSeconds", args.lockDurationSeconds, 5, 300);
    requireInteger(C, "maxConcurrentCalls", args.maxConcurrentCalls, 1, 256);
    requireInteger(C, "dedupeWindowDays", args.dedupeWindowDays, 1, 3650);
    requireInteger(C, "logRetentionDays", args.logRetentionDays, 30, 730);
    if (!/^(Balanced|MemoryOptimized|ComputeOptimized|FlashOptimized)_[A-Z]\d+$/.test(args.redisSku)) {
        fail(C, "redisSku", `must be an Azure Managed Redis SKU such as Balanced_B0 or Balanced_B1, got ${JSON.stringify(args.redisSku)}`);
    }
    if (typeof args.handler !== "function") fail(C, "handler", "must be the business handler function");
    if (args.rolePropagationSeconds !== undefined) requireInteger(C, "rolePropagationSeconds", args.rolePropagationSeconds, 0, 3600);
    if (args.settlementMode !== undefined && args.settlementMode !== "sdk" && args.settlementMode !== "throw") {
        fail(C, "settlementMode", `must be "sdk" or "throw", got ${JSON.stringify(args.settlementMode)}`);
    }
}
