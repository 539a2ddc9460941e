/**
 * Identity and access: who may do what. Least-privilege IAM, Azure data-plane roles scoped to their
 * queue, no queue open to the world, secrets that expire.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { config, forTypes, label, T } from "./common";
import { entries, isUnknown, json, list, read, show, UNKNOWN } from "./values";

// ---------------------------------------------------------------------------------------------
// 5. IAM: no administrator or *FullAccess managed policies, no "Action": "*"

const BROAD_MANAGED_POLICY = /:policy\/(?:.*\/)?(AdministratorAccess|[A-Za-z0-9+=,.@_-]*FullAccess)$/;

/** Statements of a policy document that allow every action. */
function allowsEverything(document: unknown): string[] {
    if (document === UNKNOWN || document === undefined) return [];
    const statements = read(document, "Statement");
    const all = Array.isArray(statements) ? list(statements) : [statements];
    if (all === UNKNOWN) return [];
    const found: string[] = [];
    all.forEach((s, i) => {
        if (s === undefined || s === null) return;
        const effect = read(s, "Effect") ?? "Allow";
        const action = read(s, "Action");
        const actions = Array.isArray(action) ? list(action) : [action];
        if (effect === "Allow" && actions !== UNKNOWN && actions.some((a) => a === "*" || a === "*:*")) {
            found.push(`statement ${read(s, "Sid") !== undefined ? show(read(s, "Sid")) : `#${i + 1}`}`);
        }
    });
    return found;
}

export const iamLeastPrivilege: ResourceValidationPolicy = {
    name: "iam-no-admin-or-full-access",
    displayName: "No administrator or FullAccess IAM policies",
    description:
        'No IAM role gets AdministratorAccess or an AWS *FullAccess managed policy, and no policy document allows "Action": "*".',
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        "Attach a policy that lists the actions the role needs on the resources it needs them on (e.g. events:InvokeApiDestination on one destination ARN). " +
        "Never attach AdministratorAccess or *FullAccess managed policies, and never allow Action '*'.",
    validateResource: forTypes(
        [T.iamRole, T.iamRolePolicy, T.iamRolePolicyAttachment, T.iamPolicyAttachment, T.iamPolicy],
        (props, args, report) => {
            const checkArn = (arn: unknown) => {
                if (typeof arn === "string" && BROAD_MANAGED_POLICY.test(arn)) {
                    report(`${label(args)} attaches ${arn}: broad managed policies grant far more than any role in the mesh needs.`);
                }
            };
            const checkDocument = (what: string, value: unknown) => {
                const document = json(value);
                if (document === undefined && value !== undefined) {
                    report(`${label(args)}: ${what} is not valid JSON, it cannot be checked.`);
                    return;
                }
                for (const statement of allowsEverything(document)) {
                    report(`${label(args)}: ${what} ${statement} allows "Action": "*".`);
                }
            };
            switch (args.type) {
                case T.iamRolePolicyAttachment:
                case T.iamPolicyAttachment:
                    checkArn(read(props, "policyArn"));
                    break;
                case T.iamRolePolicy:
                case T.iamPolicy:
                    checkDocument("policy", read(props, "policy"));
                    break;
                case T.iamRole: {
                    const managed = list(read(props, "managedPolicyArns"));
                    if (managed !== UNKNOWN) managed.forEach(checkArn);
                    const inline = list(read(props, "inlinePolicies"));
                    if (inline !== UNKNOWN) inline.forEach((p, i) => checkDocument(`inline policy ${show(read(p, "name") ?? i)}`, read(p, "policy")));
                    break;
                }
            }
        },
    ),
};

// ---------------------------------------------------------------------------------------------
// 8. Entra ID application passwords: bounded lifetime, rotation trigger

const DAY_MS = 86_400_000;

/** "4320h", "720h30m" (azuread's endDateRelative) in milliseconds. */
function goDuration(value: string): number | undefined {
    const match = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(value);
    if (!match || value === "") return undefined;
    return ((Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0)) * 60 + Number(match[3] ?? 0)) * 1000;
}

export const applicationPasswordLifetime: ResourceValidationPolicy = {
    name: "entra-application-password-lifetime",
    displayName: "Entra ID client secrets expire and rotate",
    description:
        "Every Entra ID application password has an end date no further than maximumLifetimeDays from its start (or from now), not already past, and a non-empty rotateWhenChanged so a new end date issues a new secret.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Set endDate from a @pulumiverse/time Offset (or endDateRelative) within the allowed lifetime, and rotateWhenChanged: { expiry: <the same offset> }. " +
        "In this program a secret lives up to 1.5 × publisherRotationDays + publisherRotationGraceDays: lower those if they exceed this policy's maximumLifetimeDays.",
    configSchema: {
        properties: {
            maximumLifetimeDays: { type: "integer", minimum: 1, maximum: 730, default: 180, description: "Longest allowed secret lifetime in days." },
            referenceTime: {
                type: "string",
                description: "RFC 3339 instant lifetimes are measured from when a password has no startDate. Defaults to the time of the check; the offline runner sets the mock engine's clock.",
            },
        },
    },
    validateResource: forTypes([T.applicationPassword], (props, args, report) => {
        const { maximumLifetimeDays, referenceTime } = config<{ maximumLifetimeDays: number; referenceTime?: string }>(args, { maximumLifetimeDays: 180 });
        const who = label(args);
        const rotate = entries(read(props, "rotateWhenChanged"));
        if (rotate !== UNKNOWN && rotate.length === 0) {
            report(`${who} has no rotateWhenChanged: changing its lifetime or expiry would not issue a new secret.`);
        }
        const endDate = read(props, "endDate");
        const relative = read(props, "endDateRelative");
        if (isUnknown(endDate) || isUnknown(relative)) return;
        const startValue = read(props, "startDate");
        const start = typeof startValue === "string" ? Date.parse(startValue) : referenceTime ? Date.parse(referenceTime) : Date.now();
        let end: number | undefined;
        if (typeof endDate === "string") {
            end = Date.parse(endDate);
            if (Number.isNaN(end)) {
                report(`${who}: endDate ${show(endDate)} is not an RFC 3339 date.`);
                return;
            }
        } else if (typeof relative === "string") {
            const duration = goDuration(relative);
            if (duration === undefined) {
                report(`${who}: endDateRelative ${show(relative)} is not a duration like "4320h".`);
                return;
            }
            end = start + duration;
        } else {
            report(`${who} has neither endDate nor endDateRelative: the provider's default (two years) exceeds ${maximumLifetimeDays} days.`);
            return;
        }
        const days = (end - start) / DAY_MS;
        if (days <= 0) {
            report(`${who}: endDate ${show(endDate)} is not after ${new Date(start).toISOString()}; the secret would already be expired.`);
        } else if (days > maximumLifetimeDays + 1e-9) {
            report(`${who}: lifetime ${Math.round(days)} days exceeds the maximum of ${maximumLifetimeDays} days.`);
        }
    }),
};


export const identityAndAccessPolicies = [iamLeastPrivilege, applicationPasswordLifetime];
