import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { v1Issuer } from "../azure/relay-audience";
import { fail, requireInteger } from "../validate";

export interface RelayTrustArgs {
    /** Entra ID tenant whose v1.0 issuer (`https://sts.windows.net/<tenant>/`) AWS trusts. */
    tenantId: pulumi.Input<string>;
    /** The `aud` of the relay's tokens: the App ID URI of the RelayAudience application. */
    audience: pulumi.Input<string>;
    /** The `sub` of the relay's tokens: the principal (object) id of the relay's managed identity. */
    relayPrincipalId: pulumi.Input<string>;
    /** ARN of the mesh bus: the only resource the role may put events on. */
    busArn: pulumi.Input<string>;
    /** The Azure-origin `source` values the relay may publish (every other source is refused by IAM). */
    sources: string[];
    /** Longest session of the assumed role in seconds (IAM CreateRole MaxSessionDuration: 3600..43200). */
    maxSessionDurationSeconds?: number;
    /** Tags on the provider and the role. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** IAM's minimum, and the default here: a stolen session is worth an hour at most. */
export const RELAY_SESSION_SECONDS = 3600;

/**
 * The prefix of an OIDC provider's condition keys: the issuer URL without `https://` (IAM User
 * Guide, "Available keys for OIDC federation": `<provider-url>:aud`, `<provider-url>:sub`).
 */
export function conditionKeyPrefix(issuerUrl: string): string {
    if (!issuerUrl.startsWith("https://")) throw new Error(`conditionKeyPrefix: issuer ${JSON.stringify(issuerUrl)} is not an https URL`);
    return issuerUrl.slice("https://".length);
}

/**
 * The role's trust policy: only `sts:AssumeRoleWithWebIdentity`, only through this provider, and
 * only for a token whose `aud` is the mesh's audience AND whose `sub` is the relay's identity.
 * Audience alone would let every identity in the tenant that can get a token for the audience in.
 */
export function relayTrustPolicy(providerArn: string, issuerUrl: string, audience: string, subject: string): string {
    const key = conditionKeyPrefix(issuerUrl);
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "OnlyTheMeshRelayIdentity",
                Effect: "Allow",
                Principal: { Federated: providerArn },
                Action: "sts:AssumeRoleWithWebIdentity",
                Condition: { StringEquals: { [`${key}:aud`]: audience, [`${key}:sub`]: subject } },
            },
        ],
    });
}

/**
 * The role's only permission: PutEvents on the mesh bus, for Azure-origin sources only. PutEvents
 * supports the `events:source` condition key, evaluated per entry (Service Authorization Reference,
 * "Actions, resources, and condition keys for Amazon EventBridge", PutEvents: events:source,
 * events:detail-type, events:eventBusInvocation). So even a faulty relay cannot put an event with
 * an AWS-origin source on the bus, where the AWS → Azure rule would send it back to Azure.
 */
export function putEventsPolicy(busArn: string, sources: readonly string[]): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "PublishAzureOriginEventsToMeshBus",
                Effect: "Allow",
                Action: "events:PutEvents",
                Resource: busArn,
                Condition: { StringEquals: { "events:source": [...sources] } },
            },
        ],
    });
}

/**
 * AWS trusts the Azure relay's managed identity, with no secret between the clouds: an IAM OIDC
 * provider for the tenant's v1.0 issuer whose client id list is the audience, and a role that only
 * that identity (aud AND sub pinned) may assume, for at most an hour, whose one permission is
 * PutEvents of Azure-origin sources on the mesh bus.
 *
 * Thumbprints: none are given. For a provider created without `thumbprintList`, IAM retrieves the
 * top intermediate CA thumbprint of the IdP's certificate itself, and for IdPs whose certificates
 * chain to a CA in AWS's trusted root library it does not use thumbprints at all (pulumi-aws 7.48.0
 * `iam.OpenIdConnectProvider.thumbprintLists`; IAM User Guide, "Create an OpenID Connect (OIDC)
 * identity provider in IAM"). A hard-coded thumbprint would break at Microsoft's next certificate
 * rotation; none is the safer default.
 */
export class RelayTrust extends pulumi.ComponentResource {
    public readonly providerArn: pulumi.Output<string>;
    public readonly issuerUrl: pulumi.Output<string>;
    public readonly roleArn: pulumi.Output<string>;
    public readonly roleName: pulumi.Output<string>;

    constructor(name: string, args: RelayTrustArgs, opts?: pulumi.ComponentResourceOptions) {
        super("multicloud-mesh:aws:RelayTrust", name, {}, opts);
        const C = "RelayTrust";
        if (!Array.isArray(args.sources) || args.sources.length === 0) fail(C, "sources", "must name at least one Azure-origin event source");
        const session = args.maxSessionDurationSeconds ?? RELAY_SESSION_SECONDS;
        requireInteger(C, "maxSessionDurationSeconds", session, 3600, 43200);

        const issuerUrl = pulumi.output(args.tenantId).apply(v1Issuer);
        const provider = new aws.iam.OpenIdConnectProvider(
            `${name}-oidc`,
            { url: issuerUrl, clientIdLists: [args.audience], tags: args.tags },
            { parent: this },
        );
        const role = new aws.iam.Role(
            `${name}-role`,
            {
                description: "Assumed by the Azure outbox relay's managed identity (Entra token, no secret): PutEvents of Azure-origin events on the mesh bus, nothing else",
                assumeRolePolicy: pulumi
                    .all([provider.arn, issuerUrl, args.audience, args.relayPrincipalId])
                    .apply(([providerArn, issuer, audience, subject]) => {
                        if (subject === "") fail(C, "relayPrincipalId", "is empty: the trust would pin no identity");
                        if (audience === "") fail(C, "audience", "is empty: the trust would pin no audience");
                        return relayTrustPolicy(providerArn, issuer, audience, subject);
                    }),
                maxSessionDuration: session,
                tags: args.tags,
            },
            { parent: this },
        );
        new aws.iam.RolePolicy(
            `${name}-put-events`,
            { role: role.id, policy: pulumi.output(args.busArn).apply((busArn) => putEventsPolicy(busArn, args.sources)) },
            { parent: this },
        );

        this.providerArn = provider.arn;
        this.issuerUrl = issuerUrl;
        this.roleArn = role.arn;
        this.roleName = role.name;
        this.registerOutputs({ providerArn: this.providerArn, issuerUrl: this.issuerUrl, roleArn: this.roleArn });
    }
}
