/**
 * Azure Storage (Microsoft.Storage 2024-01-01, the version @pulumi/azure-native 3.28.0 calls):
 * Azure/azure-rest-api-specs specification/storage/resource-manager/Microsoft.Storage/stable/2024-01-01/storage.json
 * and blob.json. The Blob resource is the provider's own data-plane resource, not an ARM type.
 */
import { createOnly, nameRule, oneOf, TypeConstraints } from "./rules";

const SPEC = "Azure/azure-rest-api-specs storage/resource-manager/Microsoft.Storage/stable/2024-01-01";
const NAMES = "learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftstorage";
const FORCE_NEW = "pulumi/pulumi-azure-native provider/pkg/gen/replacement.go forceNewMap Storage.StorageAccount";

export const storageConstraints: TypeConstraints[] = [
    {
        type: "azure-native:storage:StorageAccount",
        api: "Microsoft.Storage/storageAccounts 2024-01-01",
        name: {
            path: "accountName",
            autoname: "azure-random",
            rules: [
                nameRule("3-24 characters", `${SPEC}/storage.json accountName (minLength 3, maxLength 24)`, (n) => n.length >= 3 && n.length <= 24),
                nameRule("lowercase letters and digits only", `${NAMES} storageAccounts`, (n) => /^[a-z0-9]+$/.test(n)),
            ],
        },
        rules: [
            oneOf("kind", ["Storage", "StorageV2", "BlobStorage", "FileStorage", "BlockBlobStorage"], `${SPEC}/storage.json StorageAccount.kind`),
            oneOf("sku.name", ["Standard_LRS", "Standard_GRS", "Standard_RAGRS", "Standard_ZRS", "Premium_LRS", "Premium_ZRS", "Standard_GZRS", "Standard_RAGZRS", "StandardV2_LRS", "StandardV2_GRS", "StandardV2_ZRS", "StandardV2_GZRS", "PremiumV2_LRS", "PremiumV2_ZRS"], `${SPEC}/storage.json SkuName`),
            oneOf("minimumTlsVersion", ["TLS1_0", "TLS1_1", "TLS1_2", "TLS1_3"], `${SPEC}/storage.json StorageAccountPropertiesCreateParameters.minimumTlsVersion`),
            oneOf("accessTier", ["Hot", "Cool", "Premium", "Cold"], `${SPEC}/storage.json accessTier`),
            oneOf("publicNetworkAccess", ["Enabled", "Disabled", "SecuredByPerimeter"], `${SPEC}/storage.json publicNetworkAccess`),
            createOnly("isHnsEnabled", true, FORCE_NEW),
        ],
    },
    {
        type: "azure-native:storage:BlobContainer",
        api: "Microsoft.Storage/storageAccounts/blobServices/containers 2024-01-01",
        name: {
            path: "containerName",
            autoname: "azure-random",
            rules: [
                nameRule("3-63 characters", `${SPEC}/blob.json containerName (minLength 3, maxLength 63)`, (n) => n.length >= 3 && n.length <= 63),
                nameRule("lowercase letters, digits and hyphens; starts and ends with a letter or digit; no two hyphens in a row", "learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata#container-names", (n) => /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(n) && !n.includes("--")),
            ],
        },
        rules: [oneOf("publicAccess", ["None", "Container", "Blob"], `${SPEC}/blob.json ContainerProperties.publicAccess`)],
    },
    {
        type: "azure-native:storage:Blob",
        api: "azure-native data-plane resource (Blob service REST API)",
        name: {
            path: "blobName",
            autoname: "azure-random",
            rules: [nameRule("1-1024 characters", "learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata#blob-names", (n) => n.length >= 1 && n.length <= 1024)],
        },
        rules: [
            oneOf("type", ["Block", "Append"], "@pulumi/azure-native 3.28.0 storage/blob.d.ts BlobType"),
            oneOf("accessTier", ["Hot", "Cool", "Archive"], "@pulumi/azure-native 3.28.0 storage/blob.d.ts BlobAccessTier"),
        ],
    },
];
