import * as pulumi from "@pulumi/pulumi";
import * as managedidentity from "@pulumi/azure-native/managedidentity";

export interface RelayIdentityArgs {
    /** Resource group of the identity (the relay app's group). */
    resourceGroupName: pulumi.Input<string>;
    /** Azure region of the identity. */
    location: pulumi.Input<string>;
    /** Tags on the identity. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * The user-assigned managed identity the outbox relay runs as. It lives apart from the relay app
 * because three things need its ids before the app exists: the AWS role's web-identity trust
 * (pinned to this identity's object id as the token's `sub`), the PostgreSQL role mapped to it
 * (outbox-access.ts), and the app itself (`identity` and the settings that name its client id).
 * A system-assigned identity would only exist once the app did, which makes that order circular.
 */
export class RelayIdentity extends pulumi.ComponentResource {
    /** ARM id: what the Function app lists under `identity.userAssignedIdentities`. */
    public readonly id: pulumi.Output<string>;
    /** Entra object id (service principal): the `sub`/`oid` of its tokens, and the PostgreSQL role's object id. */
    public readonly principalId: pulumi.Output<string>;
    /** Client (application) id: what `ManagedIdentityCredential` is asked for inside the app. */
    public readonly clientId: pulumi.Output<string>;
    /** Tenant that issues its tokens (the issuer the AWS OIDC provider trusts). */
    public readonly tenantId: pulumi.Output<string>;
    /** The identity's resource name: the PostgreSQL role is named after it. */
    public readonly name: pulumi.Output<string>;

    constructor(name: string, args: RelayIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("multicloud-mesh:azure:RelayIdentity", name, {}, opts);
        if (!args.resourceGroupName) throw new Error("RelayIdentity: args.resourceGroupName must be the resource group of the relay");
        if (!args.location) throw new Error("RelayIdentity: args.location must be an Azure region");
        const identity = new managedidentity.UserAssignedIdentity(
            `${name}-identity`,
            { resourceGroupName: args.resourceGroupName, location: args.location, tags: args.tags },
            { parent: this },
        );
        this.id = identity.id;
        this.principalId = identity.principalId;
        this.clientId = identity.clientId;
        this.tenantId = identity.tenantId;
        this.name = identity.name;
        this.registerOutputs({ id: this.id, principalId: this.principalId, clientId: this.clientId, tenantId: this.tenantId });
    }
}
