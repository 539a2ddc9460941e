import * as pulumi from "@pulumi/pulumi";
import * as azuread from "@pulumi/azuread";
import { fail } from "../validate";

/**
 * The access token version this audience asks Entra ID for. v1.0, deliberately (docs/cross-cloud-identity.md):
 *  - a v1.0 access token carries `appid` and no `azp` (Microsoft identity platform, "Access token
 *    claims reference": `azp` is "only present in v2.0 tokens"), so which claim AWS IAM compares
 *    with the `:aud` condition key cannot depend on `azp` (IAM documents mapping `:aud` to `azp`
 *    for accounts.google.com; for a generic provider we do not rely on it either way);
 *  - its `aud` is the resource the caller asked for, here the App ID URI (same reference: "In
 *    v1.0 tokens, it can be the client ID or the resource URI used in the request"), and a managed
 *    identity asks by `resource=`, the v1 form;
 *  - its issuer is `https://sts.windows.net/<tenant>/`, the setup AWS documents for Entra managed
 *    identities (AWS Security Blog, "How to access AWS resources from Microsoft Entra ID tenants
 *    using AWS Security Token Service", updated 2024-09-20 for v1.0/v2.0).
 * Pinned explicitly (azuread 6.9.1 `api.requestedAccessTokenVersion`, default 1) so a change in the
 * portal shows as drift instead of silently changing the issuer the AWS provider trusts.
 */
export const RELAY_TOKEN_VERSION = 1 as const;

/** The issuer (`iss`) of a v1.0 access token of this tenant: the URL the IAM OIDC provider is created for. */
export function v1Issuer(tenantId: string): string {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(tenantId)) {
        throw new Error(`v1Issuer: tenant id ${JSON.stringify(tenantId)} is not a GUID`);
    }
    return `https://sts.windows.net/${tenantId.toLowerCase()}/`;
}

/**
 * The App ID URI of the audience: `api://<client id>`, one of the identifier URI forms Entra ID
 * accepts for a single-tenant application without a verified domain (Microsoft identity platform,
 * "Restrictions on identifier URIs of Microsoft Entra applications").
 */
export function audienceUri(clientId: string): string {
    return `api://${clientId}`;
}

export interface RelayAudienceArgs {
    /** Display name of the Entra application that stands for "the AWS side of the mesh". */
    displayName: pulumi.Input<string>;
}

/**
 * The audience the Azure relay's managed identity requests its token for: an Entra application
 * registration with no credentials at all (nothing to rotate, nothing stored), its App ID URI and
 * its service principal (Entra ID issues tokens only for resources with one in the tenant). The
 * token's `aud` is `audience`; AWS IAM trusts exactly that value (components/aws/relay-trust.ts).
 */
export class RelayAudience extends pulumi.ComponentResource {
    /** Application (client) id of the audience application. */
    public readonly clientId: pulumi.Output<string>;
    /** The value of `aud` in the relay's tokens: the App ID URI, `api://<clientId>`. */
    public readonly audience: pulumi.Output<string>;
    /** Object id of the audience's service principal. */
    public readonly servicePrincipalObjectId: pulumi.Output<string>;
    /** 1: see RELAY_TOKEN_VERSION. */
    public readonly tokenVersion: number = RELAY_TOKEN_VERSION;

    constructor(name: string, args: RelayAudienceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("multicloud-mesh:azure:RelayAudience", name, {}, opts);
        if (args === undefined || args.displayName === undefined || args.displayName === "") fail("RelayAudience", "displayName", "is required");

        const application = new azuread.Application(
            `${name}-app`,
            {
                displayName: args.displayName,
                signInAudience: "AzureADMyOrg",
                api: { requestedAccessTokenVersion: RELAY_TOKEN_VERSION },
                notes: "Audience of the mesh relay's managed-identity tokens, exchanged at AWS STS (AssumeRoleWithWebIdentity). Has no credentials.",
            },
            { parent: this },
        );
        const identifierUri = new azuread.ApplicationIdentifierUri(
            `${name}-uri`,
            { applicationId: application.id, identifierUri: application.clientId.apply(audienceUri) },
            { parent: this },
        );
        const servicePrincipal = new azuread.ServicePrincipal(`${name}-sp`, { clientId: application.clientId }, { parent: this });

        this.clientId = application.clientId;
        this.audience = identifierUri.identifierUri;
        this.servicePrincipalObjectId = servicePrincipal.objectId;
        this.registerOutputs({ clientId: this.clientId, audience: this.audience, servicePrincipalObjectId: this.servicePrincipalObjectId });
    }
}
