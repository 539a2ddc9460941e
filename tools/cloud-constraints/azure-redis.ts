/**
 * Azure Managed Redis (Microsoft.Cache/redisEnterprise). All facts from
 * Azure/azure-rest-api-specs specification/redisenterprise/resource-manager/Microsoft.Cache/RedisEnterprise/stable/2025-07-01/redisenterprise.json
 * (the API version @pulumi/azure-native 3.28.0 calls for these types).
 */
import { check, createOnly, exclusive, matches, nameRule, oneOf, required, TypeConstraints } from "./rules";

const SPEC = "Azure/azure-rest-api-specs redisenterprise/resource-manager/Microsoft.Cache/RedisEnterprise/stable/2025-07-01/redisenterprise.json";
/** Cluster and database names: ClusterNameParameter / DatabaseNameParameter pattern. */
const HYPHENATED_1_60 = /^(?=.{1,60}$)[A-Za-z0-9]+(-[A-Za-z0-9]+)*$/;

export const redisConstraints: TypeConstraints[] = [
    {
        type: "azure-native:redisenterprise:RedisEnterprise",
        api: "Microsoft.Cache/redisEnterprise 2025-07-01",
        name: {
            path: "clusterName",
            autoname: "azure-random",
            rules: [nameRule("1-60 characters, letters, digits and single inner hyphens (^(?=.{1,60}$)[A-Za-z0-9]+(-[A-Za-z0-9]+)*$)", `${SPEC} parameters.ClusterNameParameter`, (n) => HYPHENATED_1_60.test(n))],
        },
        rules: [
            oneOf("highAvailability", ["Enabled", "Disabled"], `${SPEC} ClusterProperties.highAvailability`),
            oneOf("minimumTlsVersion", ["1.2"], `${SPEC} ClusterProperties.minimumTlsVersion ("TLS 1.0 and TLS 1.1 are now completely obsolete -- you cannot use them")`),
            oneOf("publicNetworkAccess", ["Enabled", "Disabled"], `${SPEC} ClusterCreateProperties.publicNetworkAccess (required at create)`),
            required(["publicNetworkAccess", "sku.name"], `${SPEC} ClusterCreateProperties.required [publicNetworkAccess], Cluster.required [sku]`),
            matches("sku.name", /^(Balanced|ComputeOptimized|MemoryOptimized|FlashOptimized)_[A-Z]\d+$|^Enterprise(Flash)?_[EF]\d+$/, "an Azure Managed Redis SKU (Balanced_B*, ComputeOptimized_X*, MemoryOptimized_M*, FlashOptimized_A*) or a classic Enterprise SKU", `${SPEC} Sku.name enum`),
        ],
    },
    {
        type: "azure-native:redisenterprise:Database",
        api: "Microsoft.Cache/redisEnterprise/databases 2025-07-01",
        name: {
            path: "databaseName",
            autoname: "azure-random",
            rules: [nameRule("1-60 characters, letters, digits and single inner hyphens", `${SPEC} parameters.DatabaseNameParameter`, (n) => HYPHENATED_1_60.test(n))],
        },
        rules: [
            oneOf("clientProtocol", ["Encrypted", "Plaintext"], `${SPEC} DatabaseProperties.clientProtocol`),
            oneOf("clusteringPolicy", ["EnterpriseCluster", "OSSCluster", "NoCluster"], `${SPEC} DatabaseProperties.clusteringPolicy`),
            oneOf("evictionPolicy", ["AllKeysLFU", "AllKeysLRU", "AllKeysRandom", "VolatileLRU", "VolatileLFU", "VolatileTTL", "VolatileRandom", "NoEviction"], `${SPEC} DatabaseProperties.evictionPolicy`),
            oneOf("accessKeysAuthentication", ["Disabled", "Enabled"], `${SPEC} DatabaseProperties.accessKeysAuthentication`),
            oneOf("deferUpgrade", ["Deferred", "NotDeferred"], `${SPEC} DatabaseProperties.deferUpgrade`),
            oneOf("persistence.aofFrequency", ["1s", "always"], `${SPEC} Persistence.aofFrequency`),
            oneOf("persistence.rdbFrequency", ["1h", "6h", "12h"], `${SPEC} Persistence.rdbFrequency`),
            check("port", "a TCP port (1-65535)", `${SPEC} DatabaseProperties.port (int32)`, (v) => (typeof v === "number" && Number.isInteger(v) && v > 0 && v < 65536 ? undefined : "not a port")),
            exclusive(["persistence.aofEnabled", "persistence.rdbEnabled"], `${SPEC} Persistence.aofEnabled ("at most one of AOF or RDB persistence may be enabled")`),
            // "This property can be updated only if the current value is NoCluster. If the value is
            // OSSCluster or EnterpriseCluster, it cannot be updated without deleting the database."
            // x-ms-mutability includes "update", so azure-native does not force a replacement.
            createOnly("clusteringPolicy", false, `${SPEC} DatabaseProperties.clusteringPolicy description + x-ms-mutability [read, create, update]; pulumi/pulumi-azure-native provider/pkg/gen/replacement.go has no entry for it`, {
                when: (v) => v !== "NoCluster",
                fixedNameInput: "databaseName",
            }),
            // x-ms-mutability [read, create]: azure-native marks these force-new (pulumi-azure-native PR #137).
            createOnly("port", true, `${SPEC} DatabaseProperties.port x-ms-mutability [read, create]`),
            createOnly("modules", true, `${SPEC} DatabaseProperties.modules x-ms-mutability [read, create]`),
            createOnly("geoReplication", true, `${SPEC} DatabaseProperties.geoReplication x-ms-mutability [read, create]`),
        ],
    },
    {
        type: "azure-native:redisenterprise:AccessPolicyAssignment",
        api: "Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments 2025-07-01",
        name: {
            path: "accessPolicyAssignmentName",
            autoname: "azure-random",
            rules: [nameRule("1-60 letters and digits only, no hyphens (^[A-Za-z0-9]{1,60}$)", `${SPEC} parameters.AccessPolicyAssignmentNameParameter`, (n) => /^[A-Za-z0-9]{1,60}$/.test(n))],
        },
        rules: [
            oneOf("accessPolicyName", ["default"], `${SPEC} AccessPolicyAssignmentProperties.accessPolicyName ("Only \\"default\\" policy is supported for now")`),
            required(["accessPolicyName", "user.objectId"], `${SPEC} AccessPolicyAssignmentProperties.required [user, accessPolicyName]`),
        ],
    },
];
