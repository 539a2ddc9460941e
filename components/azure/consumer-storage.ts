import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as storage from "@pulumi/azure-native/storage";
import { FLEX_PACKAGE_NAME } from "./package-delivery";
import { assignRole, BUILT_IN_ROLES } from "./roles";

export interface ConsumerStorageArgs {
    resourceGroupName: pulumi.Input<string>;
    location: pulumi.Input<string>;
    /** Entra object id of the app's identity. */
    appPrincipalId: pulumi.Input<string>;
    /** Entra object id of whoever runs `pulumi up`: the only writer of the package. */
    deployerObjectId: pulumi.Input<string>;
    /** Whether that deployer is a person ("User") or a pipeline's service principal. */
    deployerPrincipalType: "User" | "ServicePrincipal";
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

function account(name: string, accountName: pulumi.Input<string>, args: ConsumerStorageArgs, parent: pulumi.Resource): storage.StorageAccount {
    return new storage.StorageAccount(
        name,
        {
            resourceGroupName: args.resourceGroupName,
            location: args.location,
            accountName,
            kind: "StorageV2",
            sku: { name: "Standard_LRS" },
            minimumTlsVersion: "TLS1_2",
            enableHttpsTrafficOnly: true,
            allowBlobPublicAccess: false,
            // Every reader and writer of both accounts uses Entra ID: the host and the package
            // fetch by the app's managed identity, the upload by the deployer's credential
            // (package-deployment.ts), so no key is ever needed.
            allowSharedKeyAccess: false,
            defaultToOAuthAuthentication: true,
            tags: args.tags,
        },
        { parent },
    );
}

/**
 * The consumer's two storage accounts, kept apart so that the app's identity cannot rewrite the
 * code it runs:
 * - host storage (AzureWebJobsStorage: host locks, keys): the app's identity is Storage Blob Data
 *   Owner of this account, the role identity-based host storage documents;
 * - package storage: one container holding `released-package.zip`, which the app's identity may
 *   only read (Storage Blob Data Reader on the container) and only the deployer may write
 *   (Storage Blob Data Contributor on the container).
 * Children of the consumer component (`parent`); the host account keeps the name it always had.
 */
export function createConsumerStorage(name: string, args: ConsumerStorageArgs, parent: pulumi.Resource) {
    const suffix = new random.RandomString(`${name}-suffix`, { length: 8, special: false, upper: false }, { parent });
    // Storage account names: 3-24 lowercase letters and digits ("meshfn"/"meshpkg" + 8).
    const host = account(`${name}-storage`, pulumi.interpolate`meshfn${suffix.result}`, args, parent);
    const packages = account(`${name}-package-storage`, pulumi.interpolate`meshpkg${suffix.result}`, args, parent);
    const container = new storage.BlobContainer(
        `${name}-packages`,
        { resourceGroupName: args.resourceGroupName, accountName: packages.name, publicAccess: "None" },
        { parent },
    );
    const hostOwner = assignRole(
        `${name}-storage-blob-owner`,
        { role: BUILT_IN_ROLES.storageBlobDataOwner, principalId: args.appPrincipalId, scope: host.id, description: "Functions host storage (AzureWebJobsStorage), by identity" },
        parent,
    );
    const packageReader = assignRole(
        `${name}-package-reader`,
        { role: BUILT_IN_ROLES.storageBlobDataReader, principalId: args.appPrincipalId, scope: container.id, description: "The app reads the package it runs, and cannot change it" },
        parent,
    );
    const packageWriter = assignRole(
        `${name}-package-writer`,
        {
            role: BUILT_IN_ROLES.storageBlobDataContributor,
            principalId: args.deployerObjectId,
            scope: container.id,
            description: "The deployer uploads the consumer package (pulumi up)",
            principalType: args.deployerPrincipalType,
        },
        parent,
    );
    const containerUrl = pulumi.interpolate`https://${packages.name}.blob.core.windows.net/${container.name}`;
    return {
        host,
        packages,
        container,
        containerUrl,
        packageUrl: pulumi.interpolate`${containerUrl}/${FLEX_PACKAGE_NAME}`,
        roles: { hostOwner, packageReader, packageWriter },
    };
}
