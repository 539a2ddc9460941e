/**
 * Resource policies outside SQS/SNS that decide who may act on the mesh: KMS key policies (the
 * alarm topic's key) and Lambda resource-based permissions. Closes I19 and I21 of the issue-11
 * re-check (docs/policy-recheck.md).
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { forTypes, label, T } from "./common";
import { isAnyone, pinned } from "./identity-and-access";
import { isUnknown, json, list, read, show, UNKNOWN } from "./values";

/** KMS condition keys that limit a "*" principal to one account or to calls through one service (AWS KMS Developer Guide, "AWS KMS condition keys"). */
const KMS_PINNING_KEYS = ["kms:calleraccount", "kms:viaservice"];

function kmsPinned(condition: unknown): boolean {
    if (pinned(condition)) return true;
    if (condition === null || typeof condition !== "object") return false;
    return Object.values(condition as Record<string, unknown>).some((keys) => keys !== null && typeof keys === "object" && Object.keys(keys).some((k) => KMS_PINNING_KEYS.includes(k.toLowerCase())));
}

export const kmsKeyPolicyNotPublic: ResourceValidationPolicy = {
    name: "kms-key-policy-not-public",
    displayName: "KMS key policies are not open to anyone",
    description:
        'No KMS key policy allows Principal "*" (or {"AWS": "*"}) without a condition that pins the caller (aws:SourceAccount, aws:PrincipalOrgID, kms:CallerAccount, kms:ViaService, ...). Whoever may disable or schedule deletion of the key that encrypts an alarm topic silences every alarm that publishes to it.',
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: 'Name the account root (arn:<partition>:iam::<account>:root) or the roles that need the key, or add a kms:CallerAccount / aws:PrincipalOrgID condition.',
    // AWS KMS Developer Guide, "Key policies in AWS KMS" and "Default key policy": a key policy's Principal
    // "*" without a condition gives every AWS account the listed actions; Pulumi aws provider kms/key
    // `policy` and kms/keyPolicy `policy` hold the JSON document.
    validateResource: forTypes([T.kmsKey, T.kmsKeyPolicy], (props, args, report) => {
        const document = json(read(props, "policy"));
        if (document === UNKNOWN || document === undefined) return;
        const raw = read(document, "Statement");
        const statements = Array.isArray(raw) ? list(raw) : raw === undefined ? [] : isUnknown(raw) ? UNKNOWN : [raw];
        if (statements === UNKNOWN) return;
        statements.forEach((s, i) => {
            if (read(s, "Effect") !== "Allow") return;
            if (!isAnyone(read(s, "Principal")) && read(s, "NotPrincipal") === undefined) return;
            if (kmsPinned(read(s, "Condition"))) return;
            const where = read(s, "Sid") !== undefined ? show(read(s, "Sid")) : `#${i + 1}`;
            report(`${label(args)}: key policy statement ${where} allows any principal ${show(read(s, "Action"))} with no condition on the caller.`);
        });
    }),
};

export const lambdaPermissionPinned: ResourceValidationPolicy = {
    name: "lambda-permission-pinned",
    displayName: "Lambda permissions name who may invoke",
    description:
        'No Lambda permission grants principal "*" without sourceAccount, sourceArn or principalOrgId; a service principal (*.amazonaws.com) names the invoking resource (sourceArn) or account (sourceAccount). An open permission lets anyone invoke a consumer with a forged event it would apply.',
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: "Give principal the calling service or account, and set sourceArn to the invoking resource (rule, topic, bucket) or sourceAccount to its account.",
    // Lambda API reference, AddPermission: Principal ("The AWS service, AWS account, IAM user, or IAM role
    // that invokes the function"), SourceArn / SourceAccount / PrincipalOrgID restrict it; the Lambda
    // Developer Guide warns that without SourceArn any resource of that service, in any account, can
    // invoke. Pulumi aws provider lambda/permission: principal, sourceArn, sourceAccount, principalOrgId.
    validateResource: forTypes([T.lambdaPermission], (props, args, report) => {
        const principal = read(props, "principal");
        if (typeof principal !== "string") return;
        const restricted = ["sourceArn", "sourceAccount", "principalOrgId"].some((k) => read(props, k) !== undefined);
        if (restricted) return;
        if (principal === "*") report(`${label(args)}: principal is "*" with no sourceArn, sourceAccount or principalOrgId; anyone could invoke ${show(read(props, "function"))}.`);
        else if (principal.toLowerCase().endsWith(".amazonaws.com")) report(`${label(args)}: service principal ${principal} with no sourceArn or sourceAccount; any account's ${principal.split(".")[0]} resources could invoke ${show(read(props, "function"))}.`);
    }),
};

export const keyAndInvokePolicies = [kmsKeyPolicyNotPublic, lambdaPermissionPinned];
