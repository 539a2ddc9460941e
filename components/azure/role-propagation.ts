import * as pulumi from "@pulumi/pulumi";
import * as time from "@pulumiverse/time";

/**
 * Microsoft: "When you assign roles or remove role assignments, it can take up to 10 minutes for
 * changes to take effect" (Troubleshoot Azure RBAC, learn.microsoft.com/azure/role-based-access-control/troubleshooting,
 * MicrosoftDocs/azure-docs articles/role-based-access-control/troubleshooting.md). The default of
 * `azureRolePropagationSeconds` is that bound.
 */
export const DOCUMENTED_RBAC_PROPAGATION_SECONDS = 600;

/**
 * A wait between role assignments and the first use of the roles. ARM reports an assignment as
 * created before every data plane honours it; a principal that acts at once gets 401/403 (the
 * publisher's first deliveries, the consumer's first package fetch and queue receive).
 *
 * The sleep depends on the assignments and is created again whenever one of them is replaced
 * (their ids are its triggers), so a re-created assignment is waited for as well. Only creation
 * waits; an unchanged stack does not.
 */
export function rolePropagationWait(
    name: string,
    assignments: readonly pulumi.CustomResource[],
    seconds: number,
    parent: pulumi.Resource,
): time.Sleep {
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 3600) {
        throw new Error(`rolePropagationWait(${name}): seconds must be an integer from 0 to 3600, got ${seconds}`);
    }
    if (assignments.length === 0) throw new Error(`rolePropagationWait(${name}): no role assignments to wait for`);
    const triggers: Record<string, pulumi.Input<string>> = {};
    assignments.forEach((assignment, i) => {
        triggers[`assignment${i}`] = assignment.id;
    });
    return new time.Sleep(name, { createDuration: `${seconds}s`, triggers }, { parent, dependsOn: [...assignments] });
}
