import * as pulumi from "@pulumi/pulumi";
import * as dbforpostgresql from "@pulumi/azure-native/dbforpostgresql";
import * as monitor from "@pulumi/azure-native/monitor";
import { DIAGNOSTIC_SETTING_NAME } from "./diagnostics";
import { OutboxAccess } from "./outbox-access";
import { fail, requireInteger } from "../validate";
import { DEFAULT_PG_OUTBOX_TABLE, outboxDdl } from "../../runtime/postgres-outbox/schema";

/*
 * Shapes and values: Azure/azure-rest-api-specs specification/postgresql/resource-manager/
 * Microsoft.DBforPostgreSQL/stable/2025-08-01 (the version @pulumi/azure-native 3.28.0 uses for
 * flexibleServers, configurations, databases, firewallRules and administrators): Servers.json
 * (ServerProperties, AuthConfig, Backup, HighAvailability, Sku, Storage), Configurations.json,
 * Databases.json, FirewallRules.json, AdministratorsMicrosoftEntra.json. Limits the spec does not
 * carry are cited where they are used.
 */

/** PostgreSQL majors the API accepts (Servers.json ServerVersion enum, 2025-08-01). */
export const POSTGRES_VERSIONS = ["11", "12", "13", "14", "15", "16", "17"] as const;
/** Servers.json Sku.tier enum. */
export const POSTGRES_SKU_TIERS = ["Burstable", "GeneralPurpose", "MemoryOptimized"] as const;
/** Servers.json HighAvailability.mode enum. */
export const POSTGRES_HA_MODES = ["Disabled", "ZoneRedundant", "SameZone"] as const;
/**
 * Backup retention, days: 7 (the spec's default, Backup.backupRetentionDays) to 35 (Learn,
 * "Backup and restore in Azure Database for PostgreSQL flexible server": "retention period of
 * backups between 7 and 35 days").
 */
export const POSTGRES_BACKUP_RETENTION_DAYS = { min: 7, max: 35 } as const;

/**
 * Server parameters that make TLS mandatory. `require_secure_transport` refuses any connection
 * without TLS; `ssl_min_protocol_version` refuses TLS older than 1.2 (Learn, "Networking with TLS
 * in Azure Database for PostgreSQL flexible server"; PostgreSQL 15 docs, ssl_min_protocol_version:
 * TLSv1, TLSv1.1, TLSv1.2, TLSv1.3). Set with source `user-override` (Configurations.json
 * ConfigurationProperties.source: "Required to update the value").
 */
export const POSTGRES_TLS_PARAMETERS = { require_secure_transport: "on", ssl_min_protocol_version: "TLSv1.2" } as const;

/**
 * What the server sends to Log Analytics: `PostgreSQLLogs` (the engine's log: connections,
 * authentication failures, errors) and all metrics (Azure Monitor, "Supported logs for
 * Microsoft.DBforPostgreSQL/flexibleServers" and "Supported metrics for ..."). Named, not a
 * category group, like the blob service in diagnostics.ts: no group support was verified here.
 */
export const POSTGRES_DIAGNOSTICS = { logs: [{ category: "PostgreSQLLogs" }], metrics: ["AllMetrics"] } as const;

/** The firewall rule that admits connections from Azure services (start = end = 0.0.0.0, FirewallRules.json and Learn "Firewall rules"). */
export const ALLOW_AZURE_SERVICES = { name: "AllowAllAzureServicesAndResourcesWithinAzureIps", start: "0.0.0.0", end: "0.0.0.0" } as const;

const IPV4 = /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** The outbox's DDL and the relay's rights on it: owned by the runtime's schema module, imported by the caller. */
export interface OutboxSchemaArgs {
    /** Idempotent statements that create the outbox (applied in order in one transaction). */
    statements: readonly string[];
    /** The outbox table, `schema.table`. */
    table: string;
    /** Table privileges the relay needs on it (claim, mark published, park), exactly. */
    relayPrivileges: readonly string[];
}

/**
 * What the relay does to the outbox table, and so all it is granted: it claims with
 * `SELECT … FOR UPDATE SKIP LOCKED` inside an UPDATE, then marks rows published, reschedules or
 * parks them with UPDATE, and reads the backlog with SELECT (runtime/postgres-outbox/relay.ts).
 * `FOR UPDATE` needs the UPDATE privilege (PostgreSQL 15 docs, SELECT, "The Locking Clause").
 * No INSERT (producers write), no DELETE, no CREATE on any schema.
 */
export const RELAY_TABLE_PRIVILEGES: readonly string[] = ["SELECT", "UPDATE"];

/** The outbox schema as the runtime defines it (runtime/postgres-outbox/schema.ts), for `OutboxPostgresArgs.schema`. */
export function runtimeOutboxSchema(table: string = DEFAULT_PG_OUTBOX_TABLE): OutboxSchemaArgs {
    return { statements: [outboxDdl(table)], table, relayPrivileges: RELAY_TABLE_PRIVILEGES };
}

export interface OutboxPostgresArgs {
    /** Resource group of the server. */
    resourceGroupName: pulumi.Input<string>;
    /** Azure region of the server. */
    location: pulumi.Input<string>;
    /** Compute size, e.g. Standard_B1ms (Burstable, dev) or Standard_D2ds_v5 (GeneralPurpose, prod). */
    skuName: string;
    /** Compute tier of skuName. */
    skuTier: (typeof POSTGRES_SKU_TIERS)[number];
    /** PostgreSQL major version. */
    version: (typeof POSTGRES_VERSIONS)[number];
    /** Storage, GiB (32..32767). */
    storageSizeGb: number;
    /** High availability: Disabled (dev), ZoneRedundant (prod: a standby in another zone, synchronous commit). */
    highAvailability: (typeof POSTGRES_HA_MODES)[number];
    /** Days of point-in-time restore (7..35). */
    backupRetentionDays: number;
    /** Geo-redundant backups (create-only: changing it replaces the server). */
    geoRedundantBackup: boolean;
    /** Name of the outbox database. */
    databaseName: string;
    /** Entra object id of the deployer: the server's Entra administrator, who creates the relay's role. */
    deployerObjectId: pulumi.Input<string>;
    /** The deployer's name as PostgreSQL will know it: UPN for a person, display name for a service principal. */
    deployerPrincipalName: pulumi.Input<string>;
    /** Whether the deployer is a person or a service principal. */
    deployerPrincipalType: "User" | "ServicePrincipal";
    /** Entra tenant of the deployer and the relay identity. */
    tenantId: pulumi.Input<string>;
    /**
     * Admit connections from Azure services (firewall rule 0.0.0.0): the relay on Flex Consumption
     * without a virtual network comes from Azure's shared outbound addresses. Entra-only sign-in and
     * TLS still apply to every connection.
     */
    allowAzureServices: boolean;
    /** IPv4 ranges the deployer runs `pulumi up` from (the role/schema step connects from there). */
    deployerIpRanges: Array<{ name: string; start: string; end: string }>;
    /** The relay identity: its role is mapped to exactly this object id. */
    relay: { roleName: pulumi.Input<string>; objectId: pulumi.Input<string> };
    /** The outbox DDL and the relay's rights (default: runtimeOutboxSchema(), table mesh_outbox). */
    schema?: OutboxSchemaArgs;
    /** Log Analytics workspace of the diagnostic setting. */
    workspaceId: pulumi.Input<string>;
    /** Protect the server (the outbox holds events not yet relayed) from deletion. */
    deletionProtection: boolean;
    /** Tags on the server. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * The outbox database on Azure Database for PostgreSQL Flexible Server: Microsoft Entra sign-in
 * only (password authentication off, no administrator login), TLS 1.2+ required, the deployer as
 * Entra administrator, the outbox database, backups and high availability per stack, diagnostics
 * to Log Analytics, and — on `pulumi up` — the relay's role with rights on the outbox table only
 * (outbox-access.ts). Network: public endpoint behind the firewall (docs/azure-outbox-infrastructure.md).
 */
export class OutboxPostgres extends pulumi.ComponentResource {
    public readonly serverId: pulumi.Output<string>;
    public readonly serverName: pulumi.Output<string>;
    /** `<server>.postgres.database.azure.com`: the relay's host. */
    public readonly fqdn: pulumi.Output<string>;
    public readonly databaseName: pulumi.Output<string>;
    /** The relay's PostgreSQL role (its user name when it signs in). */
    public readonly relayRoleName: pulumi.Output<string>;
    /** The outbox table the relay may use. */
    public readonly outboxTable: string;
    /** What the server reported the relay may do on the outbox table after `pulumi up`. */
    public readonly relayPrivileges: pulumi.Output<string[]>;

    constructor(name: string, args: OutboxPostgresArgs, opts?: pulumi.ComponentResourceOptions) {
        super("multicloud-mesh:azure:OutboxPostgres", name, {}, opts);
        validateOutboxPostgresArgs(args);
        const schema = args.schema ?? runtimeOutboxSchema();

        const server = new dbforpostgresql.Server(
            `${name}-server`,
            {
                resourceGroupName: args.resourceGroupName,
                location: args.location,
                version: args.version,
                sku: { name: args.skuName, tier: args.skuTier },
                storage: { storageSizeGB: args.storageSizeGb, autoGrow: "Enabled" },
                // Entra only. administratorLogin is left out: the spec requires it only "the first
                // time that you enable password based authentication" (ServerProperties.administratorLogin),
                // and passwordAuth defaults to Enabled (AuthConfig.passwordAuth), so it is set Disabled here.
                authConfig: { activeDirectoryAuth: "Enabled", passwordAuth: "Disabled", tenantId: args.tenantId },
                backup: { backupRetentionDays: args.backupRetentionDays, geoRedundantBackup: args.geoRedundantBackup ? "Enabled" : "Disabled" },
                highAvailability: { mode: args.highAvailability },
                network: { publicNetworkAccess: "Enabled" },
                createMode: "Create",
                tags: args.tags,
            },
            // geoRedundantBackup is create-only (Backup x-ms-mutability [create, read]): a change is a
            // planned replacement — which deletionProtection blocks, since pending events live here.
            { parent: this, protect: args.deletionProtection, replaceOnChanges: ["backup.geoRedundantBackup"] },
        );

        // A Flexible Server runs one management operation at a time; each child waits for the previous one.
        const admin = new dbforpostgresql.AdministratorsMicrosoftEntra(
            `${name}-entra-admin`,
            {
                resourceGroupName: args.resourceGroupName,
                serverName: server.name,
                objectId: args.deployerObjectId,
                principalName: args.deployerPrincipalName,
                principalType: args.deployerPrincipalType,
                tenantId: args.tenantId,
            },
            { parent: this },
        );
        let previous: pulumi.Resource = admin;
        const tls: dbforpostgresql.Configuration[] = [];
        for (const [parameter, value] of Object.entries(POSTGRES_TLS_PARAMETERS)) {
            const configuration = new dbforpostgresql.Configuration(
                `${name}-${parameter.replace(/_/g, "-")}`,
                { resourceGroupName: args.resourceGroupName, serverName: server.name, configurationName: parameter, value, source: "user-override" },
                { parent: this, dependsOn: [previous] },
            );
            tls.push(configuration);
            previous = configuration;
        }
        const rules = [...(args.allowAzureServices ? [ALLOW_AZURE_SERVICES] : []), ...args.deployerIpRanges];
        const firewall = rules.map((rule) => {
            const created = new dbforpostgresql.FirewallRule(
                `${name}-fw-${rule.name}`,
                { resourceGroupName: args.resourceGroupName, serverName: server.name, firewallRuleName: rule.name, startIpAddress: rule.start, endIpAddress: rule.end },
                { parent: this, dependsOn: [previous] },
            );
            previous = created;
            return created;
        });
        const database = new dbforpostgresql.Database(
            `${name}-database`,
            { resourceGroupName: args.resourceGroupName, serverName: server.name, databaseName: args.databaseName },
            { parent: this, dependsOn: [previous], protect: args.deletionProtection },
        );
        new monitor.DiagnosticSetting(
            `${name}-diagnostics`,
            {
                name: DIAGNOSTIC_SETTING_NAME,
                resourceUri: server.id,
                workspaceId: args.workspaceId,
                logAnalyticsDestinationType: "Dedicated",
                logs: POSTGRES_DIAGNOSTICS.logs.map((l) => ({ ...l, enabled: true })),
                metrics: POSTGRES_DIAGNOSTICS.metrics.map((category) => ({ category, enabled: true })),
            },
            { parent: this },
        );

        const access = new OutboxAccess(
            `${name}-relay-access`,
            {
                host: server.fullyQualifiedDomainName,
                database: database.name,
                adminUser: args.deployerPrincipalName,
                adminObjectId: args.deployerObjectId,
                relayRoleName: args.relay.roleName,
                relayObjectId: args.relay.objectId,
                schemaStatements: [...schema.statements],
                outboxTable: schema.table,
                relayPrivileges: [...schema.relayPrivileges],
            },
            // Only once the deployer is administrator, TLS is enforced, the deployer's address is admitted and the database exists.
            { parent: this, dependsOn: [admin, ...tls, ...firewall, database] },
        );

        this.serverId = server.id;
        this.serverName = server.name;
        this.fqdn = server.fullyQualifiedDomainName;
        this.databaseName = database.name;
        this.relayRoleName = access.relayRoleName;
        this.outboxTable = schema.table;
        this.relayPrivileges = access.grantedPrivileges;
        this.registerOutputs({ serverId: this.serverId, fqdn: this.fqdn, databaseName: this.databaseName, relayRoleName: this.relayRoleName });
    }
}

export function validateOutboxPostgresArgs(args: OutboxPostgresArgs): void {
    const C = "OutboxPostgres";
    if (!POSTGRES_SKU_TIERS.includes(args.skuTier)) fail(C, "skuTier", `must be one of ${POSTGRES_SKU_TIERS.join(", ")}, got ${JSON.stringify(args.skuTier)}`);
    if (!/^Standard_[A-Za-z0-9_]+$/.test(args.skuName)) fail(C, "skuName", `must be a compute size such as Standard_B1ms or Standard_D2ds_v5, got ${JSON.stringify(args.skuName)}`);
    if (args.skuTier === "Burstable" && !/^Standard_B/.test(args.skuName)) fail(C, "skuName", `${args.skuName} is not a Burstable (Standard_B…) size`);
    if (!POSTGRES_VERSIONS.includes(args.version)) fail(C, "version", `must be one of ${POSTGRES_VERSIONS.join(", ")}, got ${JSON.stringify(args.version)}`);
    requireInteger(C, "storageSizeGb", args.storageSizeGb, 32, 32767);
    if (!POSTGRES_HA_MODES.includes(args.highAvailability)) fail(C, "highAvailability", `must be one of ${POSTGRES_HA_MODES.join(", ")}, got ${JSON.stringify(args.highAvailability)}`);
    // Learn, "High availability in Azure Database for PostgreSQL flexible server": not supported in the Burstable tier.
    if (args.highAvailability !== "Disabled" && args.skuTier === "Burstable") fail(C, "highAvailability", `${args.highAvailability} needs the GeneralPurpose or MemoryOptimized tier; Burstable has no high availability`);
    requireInteger(C, "backupRetentionDays", args.backupRetentionDays, POSTGRES_BACKUP_RETENTION_DAYS.min, POSTGRES_BACKUP_RETENTION_DAYS.max);
    // Databases.json DatabaseNameParameter ^[-\w\._]+$; kept to a plain PostgreSQL identifier (≤ 63, no quoting needed).
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(args.databaseName)) fail(C, "databaseName", `must be a lowercase PostgreSQL identifier (letters, digits, _; ≤ 63), got ${JSON.stringify(args.databaseName)}`);
    if (args.deployerPrincipalType !== "User" && args.deployerPrincipalType !== "ServicePrincipal") fail(C, "deployerPrincipalType", `must be "User" or "ServicePrincipal", got ${JSON.stringify(args.deployerPrincipalType)}`);
    for (const [i, r] of args.deployerIpRanges.entries()) {
        if (!/^[-\w._]+$/.test(r.name)) fail(C, `deployerIpRanges[${i}].name`, `must match ^[-\\w._]+$ (FirewallRules.json), got ${JSON.stringify(r.name)}`);
        if (!IPV4.test(r.start) || !IPV4.test(r.end)) fail(C, `deployerIpRanges[${i}]`, `start and end must be IPv4 addresses, got ${r.start}..${r.end}`);
        const n = (ip: string) => ip.split(".").reduce((a, b) => a * 256 + Number(b), 0);
        if (n(r.start) > n(r.end)) fail(C, `deployerIpRanges[${i}]`, `start ${r.start} is after end ${r.end}`);
        if (r.start === "0.0.0.0" && r.end !== "0.0.0.0") fail(C, `deployerIpRanges[${i}]`, "must not open the server to the whole internet");
    }
    if (args.schema === undefined) return;
    if (args.schema.statements.length === 0) fail(C, "schema.statements", "must hold the outbox DDL");
    if (args.schema.relayPrivileges.length === 0) fail(C, "schema.relayPrivileges", "must name what the relay may do on the outbox table");
    if (typeof args.schema.table !== "string" || !/^([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$/.test(args.schema.table)) fail(C, "schema.table", `must be "table" or "schema.table", got ${JSON.stringify(args.schema.table)}`);
}
