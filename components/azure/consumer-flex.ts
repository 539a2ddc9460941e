import * as pulumi from "@pulumi/pulumi";
import * as web from "@pulumi/azure-native/web";

/**
 * App settings Flex Consumption does not use and that must not be set: the runtime and its version
 * live in `functionAppConfig.runtime`, the package in `functionAppConfig.deployment`, scale limits
 * in `functionAppConfig.scaleAndConcurrency` (Microsoft Learn, "App settings reference for Azure
 * Functions", Flex Consumption plan deprecations; "Package-based deployment": for Flex Consumption
 * "Don't set WEBSITE_RUN_FROM_PACKAGE").
 */
export const FLEX_FORBIDDEN_SETTINGS: readonly string[] = [
    "FUNCTIONS_EXTENSION_VERSION",
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_WORKER_RUNTIME_VERSION",
    "FUNCTIONS_MAX_HTTP_CONCURRENCY",
    "FUNCTIONS_WORKER_PROCESS_COUNT",
    "FUNCTIONS_WORKER_DYNAMIC_CONCURRENCY_ENABLED",
    "ENABLE_ORYX_BUILD",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "WEBSITE_CONTENTOVERVNET",
    "WEBSITE_CONTENTSHARE",
    "WEBSITE_DNS_SERVER",
    "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
    "WEBSITE_NODE_DEFAULT_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID",
    "WEBSITE_SKIP_CONTENTSHARE_VALIDATION",
    "WEBSITE_VNET_ROUTE_ALL",
    "WEBSITE_MOUNT_ENABLED",
    "WEBSITE_USE_PLACEHOLDER_DOTNETISOLATED",
];

/** Node.js major the consumer runs on (Flex Consumption `runtime: { name: "node", version: "22" }`). */
export const FLEX_NODE_VERSION = "22";

export interface FlexAppArgs {
    /** The component building the app (e.g. "ConsumerApp", "OutboxRelayApp"): errors name it. */
    component: string;
    resourceGroupName: pulumi.Input<string>;
    location: pulumi.Input<string>;
    /** ARM id of the user-assigned identity the app runs as and reads its package with. */
    identityId: pulumi.Input<string>;
    /** `https://<account>.blob.core.windows.net/<container>`: where the app finds its package. */
    deploymentContainerUrl: pulumi.Input<string>;
    /** Scale-out limit (40..1000). */
    maximumInstanceCount: number;
    /** Instance memory, MB (512, 2048, 4096). */
    instanceMemoryMb: number;
    /** App settings (none of FLEX_FORBIDDEN_SETTINGS). */
    settings: Record<string, pulumi.Input<string>>;
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * The Flex Consumption plan and the function app, with basic-auth (FTP and SCM) publishing off.
 * Children of the consumer component (`opts.parent`), under the names they always had.
 *
 * Shapes and values: Azure/azure-rest-api-specs, specification/web/resource-manager/Microsoft.Web/
 * AppService/stable/2025-05-01 (the version @pulumi/azure-native 3.28.0 uses for serverfarms, sites
 * and basicPublishingCredentialsPolicies), example CreateOrUpdateFunctionAppFlexConsumption.json
 * (kind "functionapp,linux", functionAppConfig.deployment.storage of type "blobContainer",
 * runtime, scaleAndConcurrency). Plan SKU FC1 / tier FlexConsumption, runtime node 22,
 * instanceMemoryMB in {512, 2048, 4096} (default 2048) and maximumInstanceCount 40..1000
 * (default 100): Microsoft's reference template, Azure-Samples/azure-functions-flex-consumption-
 * samples IaC/bicep/main.bicep (@allowed / @minValue / @maxValue, commit 9519a36), and Learn
 * "Azure Functions Flex Consumption plan hosting" (instance memory, scale limits).
 */
export function createFlexApp(name: string, args: FlexAppArgs, opts: pulumi.CustomResourceOptions & { parent: pulumi.Resource }) {
    const forbidden = Object.keys(args.settings).filter((k) => FLEX_FORBIDDEN_SETTINGS.includes(k));
    if (forbidden.length > 0) {
        throw new Error(`${args.component}: app settings ${forbidden.join(", ")} are not used on Flex Consumption and must not be set`);
    }
    const plan = new web.AppServicePlan(
        `${name}-plan`,
        {
            resourceGroupName: args.resourceGroupName,
            location: args.location,
            kind: "functionapp",
            reserved: true, // Linux: Flex Consumption runs on Linux only
            sku: { name: "FC1", tier: "FlexConsumption" },
            tags: args.tags,
        },
        { parent: opts.parent },
    );
    const site = new web.WebApp(
        `${name}-app`,
        {
            resourceGroupName: args.resourceGroupName,
            location: args.location,
            kind: "functionapp,linux",
            serverFarmId: plan.id,
            httpsOnly: true,
            identity: { type: "UserAssigned", userAssignedIdentities: [args.identityId] },
            keyVaultReferenceIdentity: args.identityId,
            functionAppConfig: {
                deployment: {
                    storage: {
                        type: "blobContainer",
                        value: args.deploymentContainerUrl,
                        authentication: { type: "UserAssignedIdentity", userAssignedIdentityResourceId: args.identityId },
                    },
                },
                runtime: { name: "node", version: FLEX_NODE_VERSION },
                scaleAndConcurrency: { maximumInstanceCount: args.maximumInstanceCount, instanceMemoryMB: args.instanceMemoryMb },
            },
            siteConfig: {
                minTlsVersion: "1.2",
                ftpsState: "Disabled",
                http20Enabled: true,
                appSettings: Object.entries(args.settings).map(([settingName, value]) => ({ name: settingName, value })),
            },
            tags: args.tags,
        },
        opts,
    );
    // Basic-auth publishing off for both FTP and the SCM site (WebApps_UpdateFtpAllowed /
    // WebApps_UpdateScmAllowed, basicPublishingCredentialsPolicies/ftp and /scm): code reaches the
    // app only through its deployment container, written with Entra credentials.
    const ftp = new web.WebAppFtpAllowed(
        `${name}-ftp-basic-auth`,
        { resourceGroupName: args.resourceGroupName, name: site.name, allow: false },
        { parent: opts.parent },
    );
    const scm = new web.WebAppScmAllowed(
        `${name}-scm-basic-auth`,
        { resourceGroupName: args.resourceGroupName, name: site.name, allow: false },
        { parent: opts.parent },
    );
    return { plan, site, basicAuth: { ftp, scm } };
}
