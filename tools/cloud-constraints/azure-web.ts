/**
 * App Service / Functions (Microsoft.Web 2025-05-01, the version @pulumi/azure-native 3.28.0 calls:
 * Azure/azure-rest-api-specs specification/web/resource-manager/Microsoft.Web/AppService/stable/2025-05-01,
 * WebApps.json and AppServicePlans.json). Flex Consumption facts from the Functions docs and from the
 * errors ARM returns (code 51021), cited per rule.
 */
import { ConstrainedResource, createOnly, getPath, nameRule, oneOf, range, required, resourceRule, RuleContext, TypeConstraints } from "./rules";

const SPEC = "Azure/azure-rest-api-specs web/resource-manager/Microsoft.Web/AppService/stable/2025-05-01";
const NAMES = "learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftweb";
const FLEX = "learn.microsoft.com/azure/azure-functions/flex-consumption-plan";
const FLEX_REJECTS = "ARM 400 code 51021 'The following app setting / site configuration property (...) for Flex Consumption sites is invalid' (Azure/azure-functions-host#10643, Azure/terraform-azurerm-avm-res-web-site#283); learn.microsoft.com/azure/azure-functions/functions-app-settings#flex-consumption-plan-deprecations";

const isFlexPlan = (plan: ConstrainedResource | undefined) => plan !== undefined && (getPath(plan.inputs, "sku.name") === "FC1" || getPath(plan.inputs, "sku.tier") === "FlexConsumption");
const planOf = (site: ConstrainedResource, ctx: RuleContext) => ctx.byId(site.inputs.serverFarmId);
const appSettings = (site: ConstrainedResource) => {
    const list = getPath(site.inputs, "siteConfig.appSettings");
    return Array.isArray(list) ? (list as Array<{ name?: unknown; value?: unknown }>) : [];
};

/** App settings ARM refuses on a Flex Consumption site: the runtime is declared in functionAppConfig.runtime instead. */
const FLEX_REJECTED_SETTINGS = ["FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_WORKER_RUNTIME_VERSION"];
/** siteConfig properties ARM refuses on a Flex Consumption site. */
const FLEX_REJECTED_SITE_CONFIG = ["linuxFxVersion", "functionAppScaleLimit"];

const siteName = [
    nameRule("2-60 characters", NAMES, (n: string) => n.length >= 2 && n.length <= 60),
    nameRule("letters, digits and hyphens; does not start or end with a hyphen", NAMES, (n: string) => /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/.test(n)),
];

export const webConstraints: TypeConstraints[] = [
    {
        type: "azure-native:web:AppServicePlan",
        api: "Microsoft.Web/serverfarms 2025-05-01",
        name: {
            path: "name",
            autoname: "azure-random",
            rules: [
                nameRule("1-60 characters", NAMES, (n) => n.length >= 1 && n.length <= 60),
                nameRule("letters, digits and hyphens", NAMES, (n) => /^[A-Za-z0-9-]+$/.test(n)),
            ],
        },
        rules: [
            resourceRule("Flex Consumption is sku { name: FC1, tier: FlexConsumption } on Linux (reserved: true)", `${FLEX}; ${SPEC}/AppServicePlans.json`, (r) => {
                const name = getPath(r.inputs, "sku.name");
                const tier = getPath(r.inputs, "sku.tier");
                if (name !== "FC1" && tier !== "FlexConsumption") return [];
                const hits: Array<{ path: string; value: unknown }> = [];
                if (name !== "FC1") hits.push({ path: "sku.name", value: name });
                if (tier !== undefined && tier !== "FlexConsumption") hits.push({ path: "sku.tier", value: tier });
                if (r.inputs.reserved !== true) hits.push({ path: "reserved", value: r.inputs.reserved });
                return hits;
            }),
            resourceRule("Consumption is sku { name: Y1, tier: Dynamic }", `${SPEC}/AppServicePlans.json; learn.microsoft.com/azure/azure-functions/consumption-plan`, (r) => {
                const name = getPath(r.inputs, "sku.name");
                const tier = getPath(r.inputs, "sku.tier");
                if (name !== "Y1" && tier !== "Dynamic") return [];
                return name !== "Y1" || (tier !== undefined && tier !== "Dynamic") ? [{ path: "sku", value: r.inputs.sku }] : [];
            }),
            required(["sku.name"], `${SPEC}/AppServicePlans.json AppServicePlan.sku`),
        ],
    },
    {
        type: "azure-native:web:WebApp",
        api: "Microsoft.Web/sites 2025-05-01",
        name: { path: "name", autoname: "azure-random", rules: siteName },
        rules: [
            oneOf("identity.type", ["SystemAssigned", "UserAssigned", "SystemAssigned, UserAssigned", "None"], `${SPEC}/CommonDefinitions.json ManagedServiceIdentity.type`),
            oneOf("siteConfig.minTlsVersion", ["1.0", "1.1", "1.2", "1.3"], `${SPEC} SiteConfig.minTlsVersion`),
            oneOf("siteConfig.ftpsState", ["AllAllowed", "FtpsOnly", "Disabled"], `${SPEC} SiteConfig.ftpsState`),
            oneOf("functionAppConfig.runtime.name", ["dotnet-isolated", "node", "java", "powershell", "python", "custom"], `${SPEC} FunctionsRuntime.name; @pulumi/azure-native types/enums/web RuntimeName`),
            oneOf("functionAppConfig.scaleAndConcurrency.instanceMemoryMB", [512, 2048, 4096], `${FLEX}#instance-memory`),
            range("functionAppConfig.scaleAndConcurrency.maximumInstanceCount", 1, 1000, `${FLEX}#instance-scaling (maximum instance count 1-1000)`),
            oneOf("functionAppConfig.deployment.storage.type", ["blobContainer"], `${SPEC} FunctionsDeploymentStorageType`),
            oneOf("functionAppConfig.deployment.storage.authentication.type", ["SystemAssignedIdentity", "UserAssignedIdentity", "StorageAccountConnectionString"], `${SPEC} AuthenticationType`),
            resourceRule("node runtime versions on Flex Consumption: 20 or 22", `${FLEX}#supported-language-stack-versions`, (r) =>
                getPath(r.inputs, "functionAppConfig.runtime.name") === "node" && !["20", "22"].includes(String(getPath(r.inputs, "functionAppConfig.runtime.version")))
                    ? [{ path: "functionAppConfig.runtime.version", value: getPath(r.inputs, "functionAppConfig.runtime.version") }]
                    : [],
            ),
            resourceRule("deployment storage authentication names its identity or connection setting", `${SPEC} FunctionsDeploymentAuthentication`, (r) => {
                const auth = getPath(r.inputs, "functionAppConfig.deployment.storage.authentication") as Record<string, unknown> | undefined;
                if (!auth) return [];
                if (auth.type === "UserAssignedIdentity" && !auth.userAssignedIdentityResourceId) return [{ path: "functionAppConfig.deployment.storage.authentication.userAssignedIdentityResourceId", value: undefined }];
                if (auth.type === "StorageAccountConnectionString" && !auth.storageAccountConnectionStringName) return [{ path: "functionAppConfig.deployment.storage.authentication.storageAccountConnectionStringName", value: undefined }];
                return [];
            }),
            resourceRule("a site whose serverFarmId is a Flex Consumption plan declares functionAppConfig (deployment storage, runtime, scale)", FLEX, (r, ctx) => {
                if (!isFlexPlan(planOf(r, ctx))) return [];
                return ["functionAppConfig.deployment.storage", "functionAppConfig.runtime.name", "functionAppConfig.runtime.version"]
                    .filter((p) => getPath(r.inputs, p) === undefined)
                    .map((p) => ({ path: p, value: undefined, detail: `${p} is missing` }));
            }),
            resourceRule("functionAppConfig only on a Flex Consumption plan", `${SPEC} SiteProperties.functionAppConfig ("Configuration specific of the Azure Function app")`, (r, ctx) => {
                const plan = planOf(r, ctx);
                return r.inputs.functionAppConfig !== undefined && plan !== undefined && !isFlexPlan(plan) ? [{ path: "functionAppConfig", value: "(set)", detail: `plan sku ${JSON.stringify(plan.inputs.sku)}` }] : [];
            }),
            resourceRule("Flex Consumption rejects these app settings and site properties", FLEX_REJECTS, (r, ctx) => {
                if (!isFlexPlan(planOf(r, ctx))) return [];
                const hits: Array<{ path: string; value: unknown }> = [];
                appSettings(r).forEach((s, i) => {
                    if (typeof s.name === "string" && FLEX_REJECTED_SETTINGS.includes(s.name)) hits.push({ path: `siteConfig.appSettings[${i}].name`, value: s.name });
                });
                for (const p of FLEX_REJECTED_SITE_CONFIG) {
                    const v = getPath(r.inputs, `siteConfig.${p}`);
                    if (v !== undefined) hits.push({ path: `siteConfig.${p}`, value: v });
                }
                return hits;
            }),
            resourceRule("app setting names: no ':' (reserved delimiter; Flex Consumption answers 400), use '__'", "learn.microsoft.com/azure/azure-functions/functions-app-settings (app setting considerations); Azure/azure-functions-host#11908", (r) =>
                appSettings(r).flatMap((s, i) => (typeof s.name === "string" && s.name.includes(":") ? [{ path: `siteConfig.appSettings[${i}].name`, value: s.name }] : [])),
            ),
            resourceRule("app setting names are unique", `${SPEC} SiteConfig.appSettings (a name-value list; ARM keeps one value per name)`, (r) => {
                const seen = new Set<string>();
                return appSettings(r).flatMap((s, i) => {
                    const key = String(s.name).toUpperCase();
                    if (seen.has(key)) return [{ path: `siteConfig.appSettings[${i}].name`, value: s.name }];
                    seen.add(key);
                    return [];
                });
            }),
            createOnly("kind", true, "pulumi/pulumi-azure-native provider/pkg/gen/replacement.go forceNewMap Web.WebApp (location, kind)"),
        ],
    },
    ...(["WebAppFtpAllowed", "WebAppScmAllowed"] as const).map(
        (kind): TypeConstraints => ({
            type: `azure-native:web:${kind}`,
            api: `Microsoft.Web/sites/basicPublishingCredentialsPolicies/${kind === "WebAppFtpAllowed" ? "ftp" : "scm"} 2025-05-01`,
            // The name is the site's: the provider does not invent one.
            name: { path: "name", autoname: "none", rules: siteName },
            rules: [
                required(["allow", "resourceGroupName"], `${SPEC}/WebApps.json CsmPublishingCredentialsPoliciesEntity.properties.allow (required)`),
                resourceRule("allow is a boolean", `${SPEC}/WebApps.json CsmPublishingCredentialsPoliciesEntityProperties.allow`, (r) =>
                    r.inputs.allow !== undefined && typeof r.inputs.allow !== "boolean" ? [{ path: "allow", value: r.inputs.allow }] : [],
                ),
            ],
        }),
    ),
];
