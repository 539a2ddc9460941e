import * as pulumi from "@pulumi/pulumi";
import * as azuread from "@pulumi/azuread";
import * as time from "@pulumiverse/time";
import * as authorization from "@pulumi/azure-native/authorization";

/** Built-in role "Azure Service Bus Data Sender": send to the entity in scope, nothing else. */
export const SERVICE_BUS_DATA_SENDER_ROLE_ID = "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39";

export interface PublisherIdentityArgs {
    /** Display name of the Entra ID application, unique enough for an admin to recognise. */
    displayName: pulumi.Input<string>;
    /** Resource id of the Service Bus queue the publisher may send to (the role assignment's scope). */
    queueId: pulumi.Input<string>;
    /** Days until the client secret expires (1..730, Entra ID's limit). */
    secretLifetimeDays: number;
}

/**
 * The Entra ID identity EventBridge authenticates as: an application, its service principal, a
 * client secret, and the "Azure Service Bus Data Sender" role on the mesh queue alone. Without that
 * role assignment Service Bus answers every delivery with 401.
 *
 * `clientSecret` is the seam for rotation: callers only ever see "the secret to use now", as a
 * Pulumi secret, so replacing the single password below by rotating slots changes nothing outside
 * this component.
 */
export class PublisherIdentity extends pulumi.ComponentResource {
    public readonly clientId: pulumi.Output<string>;
    public readonly applicationObjectId: pulumi.Output<string>;
    public readonly servicePrincipalObjectId: pulumi.Output<string>;
    /** The client secret EventBridge should use now. Always a Pulumi secret. */
    public readonly clientSecret: pulumi.Output<string>;
    /** When that secret stops working (RFC 3339). */
    public readonly secretEndDate: pulumi.Output<string>;
    public readonly senderRoleAssignmentId: pulumi.Output<string>;

    constructor(name: string, args: PublisherIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("multicloud-mesh:azure:PublisherIdentity", name, {}, opts);
        if (!Number.isInteger(args.secretLifetimeDays) || args.secretLifetimeDays < 1 || args.secretLifetimeDays > 730) {
            throw new Error(`PublisherIdentity: args.secretLifetimeDays must be an integer from 1 to 730 (Entra ID's limit), got ${args.secretLifetimeDays}`);
        }

        const application = new azuread.Application(
            `${name}-app`,
            {
                displayName: args.displayName,
                signInAudience: "AzureADMyOrg",
                notes: "Used by AWS EventBridge (API destination) to send mesh events to Azure Service Bus. Managed by Pulumi.",
            },
            { parent: this },
        );

        const servicePrincipal = new azuread.ServicePrincipal(
            `${name}-sp`,
            { clientId: application.clientId, appRoleAssignmentRequired: false },
            { parent: this },
        );

        // The end date is fixed when the offset is created, so re-running the program does not
        // reissue the secret; a new offset (new lifetime) gives a new secret.
        const expiry = new time.Offset(`${name}-secret-expiry`, { offsetDays: args.secretLifetimeDays }, { parent: this });
        const password = new azuread.ApplicationPassword(
            `${name}-secret`,
            {
                applicationId: application.id,
                displayName: "eventbridge-connection",
                endDate: expiry.rfc3339,
                rotateWhenChanged: { expiry: expiry.rfc3339 },
            },
            { parent: this },
        );

        const client = authorization.getClientConfigOutput({ parent: this });
        const senderRole = new authorization.RoleAssignment(
            `${name}-queue-sender`,
            {
                principalId: servicePrincipal.objectId,
                // Declaring the type lets ARM accept a principal that Entra ID has not replicated yet.
                principalType: "ServicePrincipal",
                roleDefinitionId: pulumi.interpolate`/subscriptions/${client.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${SERVICE_BUS_DATA_SENDER_ROLE_ID}`,
                scope: args.queueId,
                description: "EventBridge API destination sends mesh events to this queue",
            },
            { parent: this },
        );

        this.clientId = application.clientId;
        this.applicationObjectId = application.objectId;
        this.servicePrincipalObjectId = servicePrincipal.objectId;
        this.clientSecret = pulumi.secret(password.value);
        this.secretEndDate = password.endDate;
        this.senderRoleAssignmentId = senderRole.id;
        this.registerOutputs({
            clientId: this.clientId,
            servicePrincipalObjectId: this.servicePrincipalObjectId,
            clientSecret: this.clientSecret,
            secretEndDate: this.secretEndDate,
        });
    }
}
