import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import * as operationalinsights from "@pulumi/azure-native/operationalinsights";
import type { BusinessHandler } from "../../runtime/consumer";
import { CONSUMER_SETTING_NAMES } from "../../runtime/functions-host";
import { buildConsumerPackage, FUNCTION_NAME, SERVICE_BUS_CONNECTION } from "./consumer-package";
import { createConsumerRedis, MANAGED_REDIS_PORT } from "./consumer-redis";
import { createConsumerStorage } from "./consumer-storage";
import { createFlexApp } from "./consumer-flex";
import { createFunctionInsights, hostSettings } from "./function-telemetry";
import { writeConsumerZip } from "./consumer-zip";
import { PackageDeployment } from "./package-deployment";
import { assignRole, BUILT_IN_ROLES, BuiltInRole } from "./roles";
import { FLEX_INSTANCE_MEMORY_MB, FLEX_MAXIMUM_INSTANCE_COUNT } from "../config";
import { fail, requireInteger } from "../validate";
import { DOCUMENTED_RBAC_PROPAGATION_SECONDS, rolePropagationWait } from "./role-propagation";
import type { SettlementMode } from "../config";

export { MANAGED_REDIS_PORT };


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
    /** Flex Consumption scale-out limit of the app (40..1000). */
    maximumInstanceCount: number;
    /** Memory of each Flex Consumption instance, MB: 512, 2048 or 4096. */
    instanceMemoryMb: number;
    /** Whether the principal running `pulumi up` is a person ("User") or a service principal. */
    deployerPrincipalType: "User" | "ServicePrincipal";
    /** Where the program writes the package ZIP before uploading it (default: the OS temp folder). */
    packageDir?: string;
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
 * The consumer on Azure: a Functions app on the Flex Consumption plan running the package the
 * program builds, with a user-assigned managed identity for everything at run time — the package
 * (read only), the host's storage, the Service Bus trigger (identity-based connection),
 * Application Insights ingestion (Entra ID auth) and Redis (Entra ID token). No app setting holds
 * a key; no storage account accepts one. The package reaches the app through `PackageDeployment`
 * on every `pulumi up` that changes it (docs/azure-consumer-hosting.md).
 */
export class ConsumerApp extends pulumi.ComponentResource {
    public readonly functionAppName: pulumi.Output<string>;
    public readonly functionAppId: pulumi.Output<string>;
    public readonly identityPrincipalId: pulumi.Output<string>;
    public readonly identityClientId: pulumi.Output<string>;
    public readonly redisHostName: pulumi.Output<string>;
    /** Where the app's package lives (`…/released-package.zip` in the deployment container). */
    public readonly packageBlobUrl: pulumi.Output<string>;
    /** Host storage (AzureWebJobsStorage) account. */
    public readonly storageAccountName: pulumi.Output<string>;
    /** Targets of the diagnostic settings (components/azure/diagnostics.ts). */
    public readonly storageAccountId: pulumi.Output<string>;
    public readonly logAnalyticsWorkspaceId: pulumi.Output<string>;
    public readonly redisClusterId: pulumi.Output<string>;
    public readonly redisDatabaseId: pulumi.Output<string>;
    /** SHA-256 of the package the last `pulumi up` delivered. */
    public readonly packageSha256: pulumi.Output<string>;

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
        const deployer = authorization.getClientConfigOutput({ parent: this });

        const stores = createConsumerStorage(
            name,
            {
                resourceGroupName: args.resourceGroupName,
                location: args.location,
                appPrincipalId: identity.principalId,
                deployerObjectId: deployer.objectId,
                deployerPrincipalType: args.deployerPrincipalType,
                tags: args.tags,
            },
            this,
        );

        // Target-based scaling of an identity-based Service Bus trigger reads the queue's message
        // count, which Service Bus gives only with the Manage right; among the built-in roles only
        // Azure Service Bus Data Owner carries it (it also receives and settles, so no separate
        // Data Receiver). With Listen alone the scale controller cannot see the backlog and may
        // never wake the app. Scoped to this queue, not the namespace. Sources in
        // docs/azure-consumer-hosting.md ("Scale permissions").
        const queueOwner = grant("queue-owner", BUILT_IN_ROLES.serviceBusDataOwner, args.queueId, "The consumer receives and settles this queue; the scale controller reads its length");

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
        const { insights, publisher } = createFunctionInsights(
            name,
            {
                resourceGroupName: args.resourceGroupName,
                location: args.location,
                workspaceId: workspace.id,
                appPrincipalId: identity.principalId,
                publisherDescription: "The consumer sends telemetry with its identity",
                tags: args.tags,
            },
            this,
        );

        const redis = createConsumerRedis(
            name,
            {
                resourceGroupName: args.resourceGroupName,
                location: args.location,
                sku: args.redisSku,
                highAvailability: args.redisHighAvailability,
                consumerPrincipalId: identity.principalId,
                deletionProtection: args.deletionProtection,
                tags: args.tags,
            },
            this,
        );

        const n = CONSUMER_SETTING_NAMES;
        const host = hostSettings({ storageAccountName: stores.host.name, identityClientId: identity.clientId, insightsConnectionString: insights.connectionString });
        const settings: Record<string, pulumi.Input<string>> = {
            AzureWebJobsStorage__accountName: host.AzureWebJobsStorage__accountName,
            AzureWebJobsStorage__credential: host.AzureWebJobsStorage__credential,
            AzureWebJobsStorage__clientId: host.AzureWebJobsStorage__clientId,
            [`${SERVICE_BUS_CONNECTION}__fullyQualifiedNamespace`]: args.namespaceFqdn,
            [`${SERVICE_BUS_CONNECTION}__credential`]: "managedidentity",
            [`${SERVICE_BUS_CONNECTION}__clientId`]: identity.clientId,
            MESH_QUEUE_NAME: args.queueName,
            [n.lockMs]: String(args.lockDurationSeconds * 1000),
            [n.redisHost]: redis.cluster.hostName,
            [n.redisPort]: String(MANAGED_REDIS_PORT),
            [n.redisTls]: "true",
            [n.redisAuth]: "entra",
            [n.redisUsername]: identity.principalId,
            [n.clientId]: identity.clientId,
            [n.dedupeWindowMs]: String(args.dedupeWindowDays * 86_400_000),
            [n.settlementMode]: args.settlementMode ?? "sdk",
            APPLICATIONINSIGHTS_CONNECTION_STRING: host.APPLICATIONINSIGHTS_CONNECTION_STRING,
            APPLICATIONINSIGHTS_AUTHENTICATION_STRING: host.APPLICATIONINSIGHTS_AUTHENTICATION_STRING,
        };

        const rolePropagation = rolePropagationWait(
            `${name}-role-propagation`,
            [stores.roles.hostOwner, stores.roles.packageReader, queueOwner, publisher, redis.access],
            args.rolePropagationSeconds ?? DOCUMENTED_RBAC_PROPAGATION_SECONDS,
            this,
        );

        const app = createFlexApp(
            name,
            {
                component: "ConsumerApp",
                resourceGroupName: args.resourceGroupName,
                location: args.location,
                identityId: identity.id,
                deploymentContainerUrl: stores.containerUrl,
                maximumInstanceCount: args.maximumInstanceCount,
                instanceMemoryMb: args.instanceMemoryMb,
                settings,
                tags: args.tags,
            },
            // The app must not start before its identity can read the package, its storage, the
            // queue and Redis, and only after those roles have had time to propagate.
            { parent: this, dependsOn: [stores.roles.hostOwner, stores.roles.packageReader, queueOwner, publisher, redis.access, rolePropagation] },
        );

        const pkg = buildConsumerPackage({
            handler: args.handler,
            maxConcurrentCalls: args.maxConcurrentCalls,
            maxAutoLockRenewalSeconds: 300,
        });
        const packageDir = args.packageDir ?? path.join(os.tmpdir(), "multicloud-mesh-packages");
        const written = pulumi.output(pkg.contentHash.then((key) => writeConsumerZip(pkg.archive, packageDir, key)));
        const deployment = new PackageDeployment(
            `${name}-package`,
            {
                packageUrl: stores.packageUrl,
                appResourceId: app.site.id,
                functionName: FUNCTION_NAME,
                packagePath: written.path,
                packageSha256: written.sha256,
                deployerObjectId: deployer.objectId,
            },
            { parent: this, dependsOn: [app.site, app.basicAuth.ftp, app.basicAuth.scm, stores.roles.packageWriter, stores.roles.packageReader] },
        );

        this.functionAppName = app.site.name;
        this.functionAppId = app.site.id;
        this.identityPrincipalId = identity.principalId;
        this.identityClientId = identity.clientId;
        this.redisHostName = redis.cluster.hostName;
        this.packageBlobUrl = stores.packageUrl;
        this.storageAccountName = stores.host.name;
        this.packageSha256 = deployment.packageSha256;
        this.storageAccountId = stores.host.id;
        this.logAnalyticsWorkspaceId = workspace.id;
        this.redisClusterId = redis.cluster.id;
        this.redisDatabaseId = redis.database.id;
        this.registerOutputs({
            functionAppName: this.functionAppName,
            identityPrincipalId: this.identityPrincipalId,
            redisHostName: this.redisHostName,
            packageBlobUrl: this.packageBlobUrl,
            packageSha256: this.packageSha256,
        });
    }
}

function validateConsumerArgs(args: ConsumerAppArgs): void {
    const C = "ConsumerApp";
    requireInteger(C, "lockDurationSeconds", args.lockDurationSeconds, 5, 300);
    requireInteger(C, "maxConcurrentCalls", args.maxConcurrentCalls, 1, 256);
    requireInteger(C, "maximumInstanceCount", args.maximumInstanceCount, FLEX_MAXIMUM_INSTANCE_COUNT.min, FLEX_MAXIMUM_INSTANCE_COUNT.max);
    if (!FLEX_INSTANCE_MEMORY_MB.includes(args.instanceMemoryMb)) {
        fail(C, "instanceMemoryMb", `must be one of ${FLEX_INSTANCE_MEMORY_MB.join(", ")} (Flex Consumption instance sizes), got ${JSON.stringify(args.instanceMemoryMb)}`);
    }
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
