/**
 * Azure resource groups, identities, role assignments, locks and the telemetry workspace/component:
 * the API versions @pulumi/azure-native 3.28.0 calls, specs under Azure/azure-rest-api-specs specification/.
 * Enum lists match the SDK's generated enums (node_modules/@pulumi/azure-native/types/enums/<module>).
 */
import { createOnly, matches, maxLength, nameRule, oneOf, range, required, resourceRule, TypeConstraints } from "./rules";

const NAMES = "learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules";
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const FORCE_NEW = "pulumi/pulumi-azure-native provider/pkg/gen/replacement.go forceNewMap";
const AUTHZ = "Azure/azure-rest-api-specs authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/authorization-RoleAssignmentsCalls.json";
const LOCKS = "Azure/azure-rest-api-specs resources/resource-manager/Microsoft.Authorization/stable/2020-05-01/locks.json";
const LAW = "Azure/azure-rest-api-specs operationalinsights/resource-manager/Microsoft.OperationalInsights/stable/2023-09-01/Workspaces.json";
const APPI = "Azure/azure-rest-api-specs applicationinsights/resource-manager/Microsoft.Insights/stable/2020-02-02/components_API.json";

export const azureCoreConstraints: TypeConstraints[] = [
    {
        type: "azure-native:resources:ResourceGroup",
        api: "Microsoft.Resources/resourceGroups 2024-03-01",
        name: {
            path: "resourceGroupName",
            autoname: "azure-random",
            rules: [
                nameRule("1-90 characters", `${NAMES}#microsoftresources`, (n) => n.length >= 1 && n.length <= 90),
                nameRule("letters, digits, underscores, hyphens, periods and parentheses; does not end with a period", "Azure/azure-rest-api-specs resources/resource-manager/Microsoft.Resources/stable/2024-03-01/resources.json resourceGroupName (pattern ^[-\\w\\._\\(\\)]+$)", (n) => /^[-\w._()]+$/.test(n) && !n.endsWith(".")),
            ],
        },
        rules: [createOnly("location", true, `${FORCE_NEW} Resources.ResourceGroup`)],
    },
    {
        type: "azure-native:managedidentity:UserAssignedIdentity",
        api: "Microsoft.ManagedIdentity/userAssignedIdentities 2023-01-31",
        name: {
            path: "resourceName",
            autoname: "azure-random",
            rules: [
                nameRule("3-128 characters", `${NAMES}#microsoftmanagedidentity`, (n) => n.length >= 3 && n.length <= 128),
                nameRule("letters, digits, hyphens and underscores; starts with a letter or digit", "Azure/azure-rest-api-specs msi/resource-manager/Microsoft.ManagedIdentity/stable/2023-01-31/ManagedIdentity.json resourceName (pattern ^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$)", (n) => /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$/.test(n)),
            ],
        },
        rules: [],
    },
    {
        type: "azure-native:authorization:RoleAssignment",
        api: "Microsoft.Authorization/roleAssignments 2022-04-01",
        // azure-native names role assignments with a random UUID (AutoNameUuid).
        name: { path: "roleAssignmentName", autoname: "azure-uuid", rules: [nameRule("a GUID", `${AUTHZ} roleAssignmentName`, (n) => GUID.test(n))] },
        rules: [
            required(["principalId", "roleDefinitionId", "scope"], `${AUTHZ} RoleAssignmentProperties.required [roleDefinitionId, principalId]`),
            matches("principalId", GUID, "a GUID (the Entra object id)", `${AUTHZ} RoleAssignmentProperties.principalId`),
            matches("roleDefinitionId", /^(\/subscriptions\/[^/]+)?\/providers\/Microsoft\.Authorization\/roleDefinitions\/[0-9a-fA-F-]{36}$/, "/subscriptions/<sub>/providers/Microsoft.Authorization/roleDefinitions/<GUID>", `${AUTHZ} RoleAssignmentProperties.roleDefinitionId`),
            oneOf("principalType", ["User", "Group", "ServicePrincipal", "ForeignGroup", "Device"], `${AUTHZ} RoleAssignmentProperties.principalType`),
            maxLength("description", 2048, `${AUTHZ} RoleAssignmentProperties.description`),
            resourceRule("condition and conditionVersion go together", `${AUTHZ} RoleAssignmentProperties.conditionVersion ("Currently the only accepted value is '2.0'")`, (r) =>
                r.inputs.conditionVersion !== undefined && (r.inputs.condition === undefined || r.inputs.conditionVersion !== "2.0") ? [{ path: "conditionVersion", value: r.inputs.conditionVersion }] : [],
            ),
            createOnly("principalId", true, `${FORCE_NEW} Authorization.RoleAssignment`),
            createOnly("scope", true, `${FORCE_NEW} Authorization.RoleAssignment`),
        ],
    },
    {
        type: "azure-native:authorization:ManagementLockByScope",
        api: "Microsoft.Authorization/locks 2020-05-01",
        name: {
            path: "lockName",
            autoname: "azure-random",
            rules: [
                nameRule("1-90 characters", `${NAMES}#microsoftauthorization`, (n) => n.length >= 1 && n.length <= 90),
                nameRule("none of < > * % { } & : \\ ? + / # | or control characters", `${NAMES}#microsoftauthorization`, (n) => ![..."<>*%{}&:\\?+/#|"].some((c) => n.includes(c)) && !/[\u0000-\u001f]/.test(n)),
            ],
        },
        rules: [oneOf("level", ["CanNotDelete", "ReadOnly"], `${LOCKS} ManagementLockProperties.level`), maxLength("notes", 512, `${LOCKS} ManagementLockProperties.notes`), required(["level", "scope"], `${LOCKS} ManagementLockProperties.required [level]`)],
    },
    {
        type: "azure-native:operationalinsights:Workspace",
        api: "Microsoft.OperationalInsights/workspaces 2023-09-01",
        name: {
            path: "workspaceName",
            autoname: "azure-random",
            rules: [
                nameRule("4-63 characters", `${LAW} workspaceName (minLength 4, maxLength 63)`, (n) => n.length >= 4 && n.length <= 63),
                nameRule("letters, digits and hyphens; starts and ends with a letter or digit", `${LAW} workspaceName (pattern ^[A-Za-z0-9][A-Za-z0-9-]+[A-Za-z0-9]$)`, (n) => /^[A-Za-z0-9][A-Za-z0-9-]+[A-Za-z0-9]$/.test(n)),
            ],
        },
        rules: [
            oneOf("sku.name", ["Free", "Standard", "Premium", "PerNode", "PerGB2018", "Standalone", "CapacityReservation", "LACluster"], `${LAW} WorkspaceSku.name`),
            range("retentionInDays", 4, 730, "learn.microsoft.com/azure/azure-monitor/logs/data-retention-configure (analytics retention: down to 4 days by API, up to 2 years)", "days"),
            oneOf("publicNetworkAccessForIngestion", ["Enabled", "Disabled", "SecuredByPerimeter"], `${LAW} PublicNetworkAccessType`),
            oneOf("publicNetworkAccessForQuery", ["Enabled", "Disabled", "SecuredByPerimeter"], `${LAW} PublicNetworkAccessType`),
        ],
    },
    {
        type: "azure-native:applicationinsights:Component",
        api: "Microsoft.Insights/components 2020-02-02",
        name: {
            path: "resourceName",
            autoname: "azure-random",
            rules: [
                nameRule("1-260 characters", `${NAMES}#microsoftinsights`, (n) => n.length >= 1 && n.length <= 260),
                nameRule("none of % & \\ ? / or control characters; does not end with a space or period", `${NAMES}#microsoftinsights`, (n) => !/[%&\\?/\u0000-\u001f]/.test(n) && !/[ .]$/.test(n)),
            ],
        },
        rules: [
            required(["kind", "applicationType"], `${APPI} ApplicationInsightsComponent.required [kind], ApplicationInsightsComponentProperties.required [Application_Type]`),
            oneOf("applicationType", ["web", "other"], `${APPI} ApplicationInsightsComponentProperties.Application_Type`),
            oneOf("flowType", ["Bluefield"], `${APPI} ApplicationInsightsComponentProperties.Flow_Type`),
            oneOf("requestSource", ["rest"], `${APPI} ApplicationInsightsComponentProperties.Request_Source`),
            oneOf("ingestionMode", ["ApplicationInsights", "ApplicationInsightsWithDiagnosticSettings", "LogAnalytics"], `${APPI} ApplicationInsightsComponentProperties.IngestionMode`),
            oneOf("publicNetworkAccessForIngestion", ["Enabled", "Disabled"], `${APPI} PublicNetworkAccessType`),
            oneOf("publicNetworkAccessForQuery", ["Enabled", "Disabled"], `${APPI} PublicNetworkAccessType`),
            resourceRule("ingestionMode LogAnalytics needs workspaceResourceId", "learn.microsoft.com/azure/azure-monitor/app/create-workspace-resource (workspace-based resources)", (r) =>
                r.inputs.ingestionMode === "LogAnalytics" && !r.inputs.workspaceResourceId ? [{ path: "workspaceResourceId", value: undefined }] : [],
            ),
        ],
    },
];
