/**
 * Azure Database for PostgreSQL Flexible Server (Microsoft.DBforPostgreSQL 2025-08-01, the version
 * @pulumi/azure-native 3.28.0 calls for flexibleServers and their configurations, databases,
 * firewall rules and Entra administrators): Azure/azure-rest-api-specs specification/postgresql/
 * resource-manager/Microsoft.DBforPostgreSQL/stable/2025-08-01. Enum lists agree with
 * node_modules/@pulumi/azure-native/types/enums/dbforpostgresql.
 */
import { createOnly, getPath, matches, nameRule, oneOf, range, required, resourceRule, TypeConstraints } from "./rules";

const SPEC = "Azure/azure-rest-api-specs postgresql/resource-manager/Microsoft.DBforPostgreSQL/stable/2025-08-01";
const SERVERS = `${SPEC}/Servers.json`;
const COMMON = "Azure/azure-rest-api-specs postgresql/resource-manager/types/common-types.json ServerNameParameter (pattern ^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*, 3-63)";
const NAMES = "learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftdbforpostgresql";
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const IPV4 = /^(([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\.){3}([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])$/;
const PG_IDENT = "PostgreSQL 15 docs, 4.1.1 Identifiers (NAMEDATALEN 64: at most 63 bytes)";
/** Values PostgreSQL accepts for the two TLS parameters the mesh sets (PostgreSQL 15 docs, 20.3 Connections and Authentication, SSL). */
const PARAMETER_VALUES: Record<string, readonly string[]> = {
    require_secure_transport: ["on", "off"],
    ssl_min_protocol_version: ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"],
};

export const postgresConstraints: TypeConstraints[] = [
    {
        type: "azure-native:dbforpostgresql:Server",
        api: "Microsoft.DBforPostgreSQL/flexibleServers 2025-08-01",
        name: {
            path: "serverName",
            autoname: "azure-random",
            rules: [
                nameRule("3-63 characters", COMMON, (n) => n.length >= 3 && n.length <= 63),
                nameRule("lowercase letters, digits and hyphens; does not start or end with a hyphen", `${NAMES}; ${COMMON}`, (n) => /^[a-z0-9]+(-[a-z0-9]+)*$/.test(n)),
            ],
        },
        rules: [
            oneOf("version", ["11", "12", "13", "14", "15", "16", "17"], `${SERVERS} ServerVersion`),
            oneOf("sku.tier", ["Burstable", "GeneralPurpose", "MemoryOptimized"], `${SERVERS} Sku.tier`),
            required(["sku.name", "sku.tier"], `${SERVERS} Sku.required [name, tier]`),
            oneOf("authConfig.activeDirectoryAuth", ["Enabled", "Disabled"], `${SERVERS} AuthConfig.activeDirectoryAuth`),
            oneOf("authConfig.passwordAuth", ["Enabled", "Disabled"], `${SERVERS} AuthConfig.passwordAuth`),
            oneOf("highAvailability.mode", ["Disabled", "ZoneRedundant", "SameZone"], `${SERVERS} HighAvailability.mode`),
            oneOf("backup.geoRedundantBackup", ["Enabled", "Disabled"], `${SERVERS} Backup.geoRedundantBackup`),
            oneOf("storage.autoGrow", ["Enabled", "Disabled"], `${SERVERS} Storage.autoGrow`),
            oneOf("network.publicNetworkAccess", ["Enabled", "Disabled"], `${SERVERS} Network.publicNetworkAccess`),
            oneOf("createMode", ["Default", "Create", "Update", "PointInTimeRestore", "GeoRestore", "Replica", "ReviveDropped"], `${SERVERS} ServerProperties.createMode`),
            range("backup.backupRetentionDays", 7, 35, "learn.microsoft.com/azure/postgresql/flexible-server/concepts-backup-restore (retention 7-35 days; spec default 7)", "days"),
            range("storage.storageSizeGB", 32, 32767, "learn.microsoft.com/azure/postgresql/flexible-server/concepts-storage (32 GiB to 32 TiB)", "GiB"),
            resourceRule("password authentication off needs Microsoft Entra authentication on (else nobody can sign in)", `${SERVERS} AuthConfig (passwordAuth default Enabled); learn.microsoft.com/azure/postgresql/flexible-server/concepts-azure-ad-authentication`, (r) =>
                getPath(r.inputs, "authConfig.passwordAuth") === "Disabled" && getPath(r.inputs, "authConfig.activeDirectoryAuth") !== "Enabled"
                    ? [{ path: "authConfig.activeDirectoryAuth", value: getPath(r.inputs, "authConfig.activeDirectoryAuth") }]
                    : [],
            ),
            resourceRule("password authentication on needs administratorLogin at creation", `${SERVERS} ServerProperties.administratorLogin ("Must be specified the first time that you enable password based authentication")`, (r) =>
                getPath(r.inputs, "authConfig.passwordAuth") !== "Disabled" && r.inputs.administratorLogin === undefined ? [{ path: "administratorLogin", value: undefined, detail: "passwordAuth defaults to Enabled" }] : [],
            ),
            resourceRule("high availability is not offered in the Burstable tier", "learn.microsoft.com/azure/postgresql/flexible-server/concepts-high-availability (limitations: not supported in Burstable)", (r) =>
                getPath(r.inputs, "sku.tier") === "Burstable" && (getPath(r.inputs, "highAvailability.mode") ?? "Disabled") !== "Disabled"
                    ? [{ path: "highAvailability.mode", value: getPath(r.inputs, "highAvailability.mode") }]
                    : [],
            ),
            // x-ms-mutability [create, read]: the provider replaces on a change (pulumi/pulumi-azure-native PR #137).
            createOnly("administratorLogin", true, `${SERVERS} ServerProperties.administratorLogin x-ms-mutability [create, read]`),
            createOnly("availabilityZone", true, `${SERVERS} ServerProperties.availabilityZone x-ms-mutability [create, read]`),
            createOnly("backup.geoRedundantBackup", false, `${SERVERS} Backup.geoRedundantBackup x-ms-mutability [create, read] (nested: listed in replaceOnChanges so a change is a planned replacement, not a failed PATCH)`),
        ],
    },
    {
        type: "azure-native:dbforpostgresql:Configuration",
        api: "Microsoft.DBforPostgreSQL/flexibleServers/configurations 2025-08-01",
        name: { path: "configurationName", autoname: "none", rules: [nameRule("a server parameter the mesh knows the values of", `${SPEC}/Configurations.json (configurationName: a server parameter)`, (n) => n in PARAMETER_VALUES)] },
        rules: [
            required(["serverName", "value", "source"], `${SPEC}/Configurations.json ConfigurationProperties.value/source ("Required to update the value")`),
            oneOf("source", ["user-override"], `${SPEC}/Configurations.json ConfigurationProperties.source; examples/ConfigurationsUpdate.json`),
            resourceRule("value is one the server parameter accepts", "PostgreSQL 15 docs, ssl_min_protocol_version; learn.microsoft.com/azure/postgresql/flexible-server/concepts-networking-ssl-tls (require_secure_transport)", (r) => {
                const allowed = PARAMETER_VALUES[String(r.inputs.configurationName)];
                return allowed && !allowed.includes(String(r.inputs.value)) ? [{ path: "value", value: r.inputs.value, detail: `allowed: ${allowed.join(", ")}` }] : [];
            }),
        ],
    },
    {
        type: "azure-native:dbforpostgresql:Database",
        api: "Microsoft.DBforPostgreSQL/flexibleServers/databases 2025-08-01",
        name: {
            path: "databaseName",
            autoname: "azure-random",
            rules: [
                nameRule("letters, digits, _ - . (at least one)", `${SPEC}/Databases.json DatabaseNameParameter (pattern ^[-\\w\\._]+$, minLength 1)`, (n) => /^[-\w._]+$/.test(n)),
                nameRule("at most 63 characters", PG_IDENT, (n) => n.length <= 63),
            ],
        },
        rules: [
            matches("charset", /^[a-zA-Z]+\w*$/, "^[a-zA-Z]+\\w*$", `${SPEC}/Databases.json DatabaseProperties.charset`),
            createOnly("charset", true, `${SPEC}/Databases.json (a database's encoding is fixed at CREATE DATABASE)`),
        ],
    },
    {
        type: "azure-native:dbforpostgresql:FirewallRule",
        api: "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules 2025-08-01",
        name: { path: "firewallRuleName", autoname: "azure-random", rules: [nameRule("letters, digits, _ - . (at least one)", `${SPEC}/FirewallRules.json FirewallRuleNameParameter (pattern ^[-\\w\\._]+$, minLength 1)`, (n) => /^[-\w._]+$/.test(n))] },
        rules: [
            required(["startIpAddress", "endIpAddress"], `${SPEC}/FirewallRules.json FirewallRuleProperties.required`),
            matches("startIpAddress", IPV4, "an IPv4 address", `${SPEC}/FirewallRules.json FirewallRuleProperties.startIpAddress (pattern)`),
            matches("endIpAddress", IPV4, "an IPv4 address", `${SPEC}/FirewallRules.json FirewallRuleProperties.endIpAddress (pattern)`),
            resourceRule("start is not after end", `${SPEC}/FirewallRules.json ("the range of addresses")`, (r) => {
                const n = (ip: unknown) => String(ip).split(".").reduce((a, b) => a * 256 + Number(b), 0);
                return IPV4.test(String(r.inputs.startIpAddress)) && IPV4.test(String(r.inputs.endIpAddress)) && n(r.inputs.startIpAddress) > n(r.inputs.endIpAddress)
                    ? [{ path: "startIpAddress", value: r.inputs.startIpAddress, detail: `end ${String(r.inputs.endIpAddress)}` }]
                    : [];
            }),
        ],
    },
    {
        type: "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra",
        api: "Microsoft.DBforPostgreSQL/flexibleServers/administrators 2025-08-01",
        // The object id is the resource's name (path parameter objectId).
        name: { path: "objectId", autoname: "none", rules: [nameRule("an Entra object id (GUID)", `${SPEC}/AdministratorsMicrosoftEntra.json ObjectIdParameter ("Object identifier of the Microsoft Entra principal")`, (n) => GUID.test(n))] },
        rules: [
            oneOf("principalType", ["Unknown", "User", "Group", "ServicePrincipal"], `${SPEC}/AdministratorsMicrosoftEntra.json AdministratorMicrosoftEntraPropertiesForAdd.principalType`),
            required(["principalName", "principalType", "tenantId"], "learn.microsoft.com/azure/postgresql/flexible-server/how-to-configure-sign-in-azure-ad-authentication (an administrator is a named principal of the server's tenant)"),
            matches("tenantId", GUID, "a tenant id (GUID)", `${SPEC}/AdministratorsMicrosoftEntra.json tenantId`),
        ],
    },
];
