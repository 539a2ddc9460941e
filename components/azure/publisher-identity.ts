import * as pulumi from "@pulumi/pulumi";
import * as azuread from "@pulumi/azuread";
import * as random from "@pulumi/random";
import * as time from "@pulumiverse/time";
import { assignRole, BUILT_IN_ROLES } from "./roles";
import { DOCUMENTED_RBAC_PROPAGATION_SECONDS, rolePropagationWait } from "./role-propagation";
import { fail, requireInteger } from "../validate";


export interface PublisherIdentityArgs {
    /** Display name of the Entra ID application, unique enough for an admin to recognise. */
    displayName: pulumi.Input<string>;
    /** Resource id of the Service Bus queue the publisher may send to (the role assignment's scope). */
    queueId: pulumi.Input<string>;
    /** Days between two rotations of one slot; the two slots alternate every half period (2..480, even). */
    rotationDays: number;
    /** Days a secret stays valid after its slot's next rotation is due (1..180). */
    graceDays: number;
    /** Seconds to wait after a new secret is created before EventBridge is given it (Entra ID replication). */
    propagationWaitSeconds: number;
    /**
     * Seconds between the Data Sender role assignment and the first secret EventBridge gets
     * (0..3600). Default 600: Azure RBAC takes up to 10 minutes to take effect (see role-propagation.ts).
     */
    rolePropagationSeconds?: number;
}

export type SecretSlot = "a" | "b";

/** What decides which slot the connection uses: each slot's base time (when its rotation period began). */
export interface SlotState {
    slot: SecretSlot;
    /** RFC 3339 base of the slot's rotation (its time.Rotating `rfc3339`). */
    issuedAt: string;
}

/**
 * The slot whose secret is newest. Its secret has had time to propagate: the connection depends on
 * that slot's time.Sleep, which is recreated (and waited for) with every new secret.
 */
export function newestSlot(slots: readonly SlotState[]): SecretSlot {
    if (slots.length === 0) throw new Error("newestSlot: no slots");
    return [...slots].sort((x, y) => Date.parse(y.issuedAt) - Date.parse(x.issuedAt) || x.slot.localeCompare(y.slot))[0].slot;
}

/** Checks the rotation settings against Entra ID's two-year limit and each other; throws naming the field. */
export function validateRotation(args: Pick<PublisherIdentityArgs, "rotationDays" | "graceDays" | "propagationWaitSeconds" | "rolePropagationSeconds">): void {
    const C = "PublisherIdentity";
    requireInteger(C, "rotationDays", args.rotationDays, 2, 480);
    requireInteger(C, "graceDays", args.graceDays, 1, 180);
    requireInteger(C, "propagationWaitSeconds", args.propagationWaitSeconds, 0, 3600);
    if (args.rolePropagationSeconds !== undefined) requireInteger(C, "rolePropagationSeconds", args.rolePropagationSeconds, 0, 3600);
    if (args.rotationDays % 2 !== 0) fail(C, "rotationDays", `must be even so the second slot can be offset by exactly half a period, got ${args.rotationDays}`);
    // The second slot's first secret is issued at t0 and lives until t0 + 1.5 periods + grace.
    if (1.5 * args.rotationDays + args.graceDays > 730) {
        fail(C, "graceDays", `with rotationDays ${args.rotationDays} gives secrets living ${1.5 * args.rotationDays + args.graceDays} days; Entra ID allows at most 730 (1.5 × rotationDays + graceDays ≤ 730)`);
    }
}

/**
 * The Entra ID identity EventBridge authenticates as: an application, its service principal, two
 * client-secret slots that rotate by themselves, and the "Azure Service Bus Data Sender" role on
 * the mesh queue alone. Without that role assignment Service Bus answers every delivery with 401.
 *
 * Rotation without downtime: slot A and slot B each have a `time.Rotating` with the same period, B
 * offset by half of it, and a password replaced whenever its Rotating is (`rotateWhenChanged`). A
 * password's end date is its slot's next rotation plus a grace period. `clientSecret` is always the
 * newest secret, handed over only after a `time.Sleep` that follows every new secret; the other
 * slot's secret, which the connection may still be using, stays valid for at least the grace period.
 * Rotations happen when the program runs after a slot's rotation time with a refresh (a scheduled
 * deployment does that: see components/deployments.ts).
 */
export class PublisherIdentity extends pulumi.ComponentResource {
    public readonly clientId: pulumi.Output<string>;
    public readonly applicationObjectId: pulumi.Output<string>;
    public readonly servicePrincipalObjectId: pulumi.Output<string>;
    /** The client secret EventBridge should use now (the newest, propagated). Always a Pulumi secret. */
    public readonly clientSecret: pulumi.Output<string>;
    /** Which slot `clientSecret` comes from. */
    public readonly activeSlot: pulumi.Output<SecretSlot>;
    /** When the active secret stops working (RFC 3339). */
    public readonly secretEndDate: pulumi.Output<string>;
    /** End date of each slot's secret. */
    public readonly slotEndDates: pulumi.Output<Record<SecretSlot, string>>;
    public readonly senderRoleAssignmentId: pulumi.Output<string>;

    constructor(name: string, args: PublisherIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("multicloud-mesh:azure:PublisherIdentity", name, {}, opts);
        validateRotation(args);

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

        const slotA = this.secretSlot(name, "a", application.id, args, undefined);
        // Slot B's rotation is anchored half a period after slot A's. The anchor only matters when B
        // is (re)created; later changes of A must not replace B, or both would rotate together.
        const anchorB = new time.Offset(`${name}-slot-b-anchor`, { baseRfc3339: slotA.rotating.rfc3339, offsetDays: args.rotationDays / 2 }, { parent: this });
        const slotB = this.secretSlot(name, "b", application.id, args, anchorB.rfc3339);

        const senderRole = assignRole(
            `${name}-queue-sender`,
            {
                role: BUILT_IN_ROLES.serviceBusDataSender,
                principalId: servicePrincipal.objectId,
                scope: args.queueId,
                description: "EventBridge API destination sends mesh events to this queue",
            },
            this,
        );

        // Until Service Bus honours the role, every delivery would be refused: the secret (and so
        // EventBridge's connection) waits for the role's propagation as well.
        const rolePropagation = rolePropagationWait(`${name}-queue-sender-propagation`, [senderRole], args.rolePropagationSeconds ?? DOCUMENTED_RBAC_PROPAGATION_SECONDS, this);

        // Reading the sleeps' ids makes the choice, and so the secret, wait for both secrets' and the role's propagation.
        const choice = pulumi
            .all([slotA.rotating.rfc3339, slotB.rotating.rfc3339, slotA.sleep.id, slotB.sleep.id, rolePropagation.id])
            .apply(([a, b]) => newestSlot([{ slot: "a", issuedAt: a }, { slot: "b", issuedAt: b }]));

        this.clientId = application.clientId;
        this.applicationObjectId = application.objectId;
        this.servicePrincipalObjectId = servicePrincipal.objectId;
        this.activeSlot = choice;
        this.clientSecret = pulumi.secret(
            pulumi.all([choice, slotA.password.value, slotB.password.value]).apply(([slot, a, b]) => (slot === "a" ? a : b)),
        );
        this.slotEndDates = pulumi.all([slotA.password.endDate, slotB.password.endDate]).apply(([a, b]) => ({ a, b }));
        this.secretEndDate = pulumi.all([choice, this.slotEndDates]).apply(([slot, ends]) => ends[slot]);
        this.senderRoleAssignmentId = senderRole.id;
        this.registerOutputs({
            clientId: this.clientId,
            servicePrincipalObjectId: this.servicePrincipalObjectId,
            clientSecret: this.clientSecret,
            activeSlot: this.activeSlot,
            secretEndDate: this.secretEndDate,
            slotEndDates: this.slotEndDates,
        });
    }

    /** One slot: its Rotating, a generation id, the password it drives, and the propagation wait. */
    private secretSlot(name: string, slot: SecretSlot, applicationId: pulumi.Input<string>, args: PublisherIdentityArgs, anchor: pulumi.Input<string> | undefined) {
        const rotating = new time.Rotating(
            `${name}-slot-${slot}-rotation`,
            { rotationDays: args.rotationDays, ...(anchor ? { rfc3339: anchor } : {}) },
            { parent: this, ...(anchor ? { ignoreChanges: ["rfc3339"] } : {}) },
        );
        // A readable generation id: it names the password in Entra ID, so an admin can tell which is which.
        const generation = new random.RandomId(`${name}-slot-${slot}-generation`, { byteLength: 4, keepers: { rotation: rotating.rfc3339 } }, { parent: this });
        // Valid until the slot's next rotation plus the grace period.
        const expiry = new time.Offset(`${name}-slot-${slot}-expiry`, { baseRfc3339: rotating.rotationRfc3339, offsetDays: args.graceDays }, { parent: this });
        const password = new azuread.ApplicationPassword(
            `${name}-slot-${slot}-secret`,
            {
                applicationId,
                displayName: pulumi.interpolate`eventbridge-slot-${slot}-${generation.hex}`,
                endDate: expiry.rfc3339,
                rotateWhenChanged: { rotation: rotating.rfc3339 },
            },
            { parent: this },
        );
        const sleep = new time.Sleep(
            `${name}-slot-${slot}-propagation`,
            { createDuration: `${args.propagationWaitSeconds}s`, triggers: { keyId: password.keyId } },
            { parent: this },
        );
        return { rotating, password, sleep };
    }
}
