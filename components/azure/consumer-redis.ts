import * as pulumi from "@pulumi/pulumi";
import * as redisenterprise from "@pulumi/azure-native/redisenterprise";

/** Azure Managed Redis database port (TLS). */
export const MANAGED_REDIS_PORT = 10000;

/**
 * Name rule of a database access policy assignment: the path parameter
 * `accessPolicyAssignmentName` is `^[A-Za-z0-9]{1,60}$` (Azure/azure-rest-api-specs,
 * specification/redisenterprise/resource-manager/Microsoft.Cache/RedisEnterprise/stable/2025-07-01/
 * redisenterprise.json, parameters.AccessPolicyAssignmentNameParameter; the API version
 * @pulumi/azure-native 3.28.0 uses for AccessPolicyAssignment). Left to the provider, the name
 * would be `<logical name>` plus a random suffix, with hyphens, and the PUT would be refused.
 */
export const ACCESS_POLICY_ASSIGNMENT_NAME = /^[A-Za-z0-9]{1,60}$/;

/**
 * The assignment's name from the component's logical name: letters and digits only, at most 60.
 * Deterministic, so a `pulumi up` after a refresh finds the same assignment instead of a new one.
 */
export function accessPolicyAssignmentName(logicalName: string): string {
    const name = `${logicalName.replace(/[^A-Za-z0-9]/g, "")}consumer`.slice(0, 60);
    if (!ACCESS_POLICY_ASSIGNMENT_NAME.test(name)) {
        throw new Error(`ConsumerRedis: cannot derive an access policy assignment name matching ${ACCESS_POLICY_ASSIGNMENT_NAME} from ${JSON.stringify(logicalName)}`);
    }
    return name;
}

export interface ConsumerRedisArgs {
    /** Resource group of the cluster. */
    resourceGroupName: pulumi.Input<string>;
    /** Azure region of the cluster. */
    location: pulumi.Input<string>;
    /** Azure Managed Redis SKU, e.g. Balanced_B0 (dev) or Balanced_B1. */
    sku: string;
    /** Replicate across two nodes (prod). */
    highAvailability: boolean;
    /** Entra object id of the consumer's identity: the only principal given data access. */
    consumerPrincipalId: pulumi.Input<string>;
    /** Protect the cluster and database (their records make a redelivery a duplicate) from deletion. */
    deletionProtection: boolean;
    /** Tags on the cluster. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * The consumer's idempotency store: Azure Managed Redis with TLS only, access keys disabled, no
 * eviction, and Entra access for the consumer's identity through the "default" access policy.
 * Created as children of the consumer component (`parent`), under the names they always had, so
 * moving the code here does not move (replace) the store.
 */
export function createConsumerRedis(name: string, args: ConsumerRedisArgs, parent: pulumi.Resource) {
    const cluster = new redisenterprise.RedisEnterprise(
        `${name}-redis`,
        {
            resourceGroupName: args.resourceGroupName,
            location: args.location,
            sku: { name: args.sku },
            minimumTlsVersion: "1.2",
            highAvailability: args.highAvailability ? "Enabled" : "Disabled",
            publicNetworkAccess: "Enabled",
            tags: args.tags,
        },
        { parent, protect: args.deletionProtection },
    );
    const database = new redisenterprise.Database(
        `${name}-redis-db`,
        {
            resourceGroupName: args.resourceGroupName,
            clusterName: cluster.name,
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
        // clusteringPolicy is fixed at creation (redisenterprise.json 2025-07-01, DatabaseProperties.clusteringPolicy)
        // and the provider would try an in-place update; the database name is fixed, so the old one
        // must go first. Deletion protection (prod) blocks such a replacement outright.
        { parent, protect: args.deletionProtection, replaceOnChanges: ["clusteringPolicy"], deleteBeforeReplace: true },
    );
    const access = new redisenterprise.AccessPolicyAssignment(
        `${name}-redis-access`,
        {
            resourceGroupName: args.resourceGroupName,
            clusterName: cluster.name,
            databaseName: database.name,
            accessPolicyAssignmentName: accessPolicyAssignmentName(name),
            accessPolicyName: "default",
            user: { objectId: args.consumerPrincipalId },
        },
        { parent },
    );
    return { cluster, database, access };
}
