/**
 * The offline cloud-constraints check: every name and property the program sets, for every resource
 * type it creates, against the documented constraints of the cloud API (docs/cloud-constraints.md).
 * A type without rules is itself a violation unless exempted here with the reason.
 */
import { ConstraintReport, checkResources, formatViolation } from "./engine";
import { ConstrainedResource, Exemption, TypeConstraints, Violation } from "./rules";
import { azureCoreConstraints } from "./azure-core";
import { monitorConstraints } from "./azure-monitor";
import { postgresConstraints } from "./azure-postgres";
import { redisConstraints } from "./azure-redis";
import { serviceBusConstraints } from "./azure-servicebus";
import { storageConstraints } from "./azure-storage";
import { webConstraints } from "./azure-web";
import { azureadConstraints } from "./azuread";
import { computeConstraints } from "./aws-compute";
import { dataConstraints } from "./aws-data";
import { eventsConstraints } from "./aws-events";
import { extraAwsConstraints } from "./aws-extra";
import { messagingConstraints } from "./aws-messaging";

export type { ConstraintReport } from "./engine";
export type { ConstrainedResource, Violation } from "./rules";
export { formatViolation } from "./engine";

export const CATALOG: TypeConstraints[] = [
    ...azureCoreConstraints,
    ...monitorConstraints,
    ...postgresConstraints,
    ...redisConstraints,
    ...serviceBusConstraints,
    ...storageConstraints,
    ...webConstraints,
    ...azureadConstraints,
    ...computeConstraints,
    ...dataConstraints,
    ...eventsConstraints,
    ...messagingConstraints,
    ...extraAwsConstraints,
];

export const EXEMPTIONS: Exemption[] = [
    { type: "pulumi:*", reason: "the stack and provider registrations: no cloud API" },
    { type: "multicloud-mesh:*", reason: "this program's components: their children are checked" },
    { type: "random:*", reason: "computed locally by the random provider; no cloud API sees it except through the names checked here" },
    { type: "time:*", reason: "computed locally by the time provider (@pulumiverse/time); no cloud API" },
    { type: "pulumiservice:*", reason: "Pulumi Cloud's own API (Deployments settings and schedule, only with deploymentsEnabled): not an AWS or Azure API; the provider validates against Pulumi Cloud" },
    { type: "pulumi-nodejs:dynamic*", reason: "a dynamic provider runs this program's own code in the Pulumi process; the cloud calls it makes are that code's to validate" },
];

/**
 * Violations another change already owns: reported loudly but not failing, until that change lands.
 * The test suite fails once an entry no longer matches a violation, so each entry is removed with its fix.
 */
export interface PendingViolation {
    type: string;
    path: string;
    owner: string;
}
export const PENDING: PendingViolation[] = [
];

export interface CloudConstraintsResult extends ConstraintReport {
    /** Violations not covered by PENDING: these fail the preview. */
    failing: Violation[];
    /** Violations covered by PENDING. */
    pending: Array<Violation & { owner: string }>;
    /** PENDING entries that matched nothing: their fix landed, so the entry must go. */
    stalePending: PendingViolation[];
}

export function checkCloudConstraints(resources: ConstrainedResource[], catalog: TypeConstraints[] = CATALOG, pendingList: PendingViolation[] = PENDING): CloudConstraintsResult {
    const report = checkResources(resources, catalog, EXEMPTIONS);
    const matchOf = (v: Violation) => pendingList.find((p) => p.type === v.type && p.path === v.path);
    const pending = report.violations.flatMap((v) => {
        const p = matchOf(v);
        return p ? [{ ...v, owner: p.owner }] : [];
    });
    return {
        ...report,
        failing: report.violations.filter((v) => !matchOf(v)),
        pending,
        stalePending: pendingList.filter((p) => !pending.some((v) => v.type === p.type && v.path === p.path)),
    };
}

export function formatCloudConstraints(result: CloudConstraintsResult, stack: string): string {
    const lines: string[] = [];
    lines.push(
        `Cloud constraints (stack "${stack}"): ${result.checkedValues} values checked, ${result.skippedComputed.length} skipped (computed by providers at deployment), ${result.autoNames.length} auto-names modelled, ${result.providerForcesNew.length} create-only values the provider replaces on change, ${result.exempt.length} types exempt`,
    );
    const unchecked = result.unchecked.reduce((n, u) => n + u.keys.length, 0);
    if (unchecked > 0) lines.push(`    ${unchecked} set properties of ${result.unchecked.length} types have no documented constraint here (--json: cloudConstraints.unchecked; docs/cloud-constraints.md)`);
    if (result.failing.length === 0) lines.push("    no violations");
    for (const v of result.failing) lines.push(`  ✗ ${formatViolation(v)}`);
    for (const v of result.pending) lines.push(`  ! KNOWN, pending ${v.owner}: ${formatViolation(v)}`);
    for (const p of result.stalePending) lines.push(`  ! stale pending entry (its violation is gone; remove it from tools/cloud-constraints/index.ts): ${p.type} ${p.path}`);
    return lines.join("\n");
}
