import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";

/** The Azure built-in roles the mesh assigns (their ids are the same in every tenant). */
export const BUILT_IN_ROLES = {
    serviceBusDataSender: { id: "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39", name: "Azure Service Bus Data Sender" },
    serviceBusDataReceiver: { id: "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0", name: "Azure Service Bus Data Receiver" },
    serviceBusDataOwner: { id: "090c5cfd-751d-490a-894a-3ce6f1109419", name: "Azure Service Bus Data Owner" },
    storageBlobDataOwner: { id: "b7e6dc6d-f1e8-4753-8033-0f276bb0955b", name: "Storage Blob Data Owner" },
    storageBlobDataContributor: { id: "ba92f5b4-2d11-453d-a403-e96b0029c9fe", name: "Storage Blob Data Contributor" },
    storageBlobDataReader: { id: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", name: "Storage Blob Data Reader" },
    monitoringMetricsPublisher: { id: "3913510d-42f4-4e42-8a64-420c390055eb", name: "Monitoring Metrics Publisher" },
} as const;

export type BuiltInRole = (typeof BUILT_IN_ROLES)[keyof typeof BUILT_IN_ROLES];

/** A role's display name from a role definition id (or its last segment); undefined when not one of ours. */
export function roleName(roleDefinitionId: string): string | undefined {
    const id = roleDefinitionId.split("/").pop();
    return Object.values(BUILT_IN_ROLES).find((r) => r.id === id)?.name;
}

/**
 * Grants a built-in role to a principal on one scope. The role definition id is built from the
 * subscription of the azure-native provider the parent uses. Declaring the principal type lets ARM
 * accept a managed identity that Entra ID has not replicated yet; it must match the principal
 * (ARM refuses a mismatch), so a person running `pulumi up` is "User" (default ServicePrincipal).
 */
export function assignRole(
    name: string,
    args: {
        role: BuiltInRole;
        principalId: pulumi.Input<string>;
        scope: pulumi.Input<string>;
        description: string;
        principalType?: "ServicePrincipal" | "User";
    },
    parent: pulumi.Resource,
): authorization.RoleAssignment {
    const client = authorization.getClientConfigOutput({ parent });
    return new authorization.RoleAssignment(
        name,
        {
            principalId: args.principalId,
            principalType: args.principalType ?? "ServicePrincipal",
            roleDefinitionId: pulumi.interpolate`/subscriptions/${client.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${args.role.id}`,
            scope: args.scope,
            description: args.description,
        },
        { parent },
    );
}
