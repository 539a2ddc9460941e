/**
 * Mutants (and compliant rewrites) for the misses of the issue-11 re-check (docs/policy-recheck.md):
 * each closes one miss with the general rule that catches it, on the resources the program builds.
 * Kept apart from ./catalogue.ts, which registers them, so the two can grow independently.
 */
import type { Mutant, Rewrite } from "./catalogue";
import { add, all, editDocument, one, Program, remove, set, stackResource } from "./edit";

const BOTH: ("dev" | "prod")[] = ["dev", "prod"];
const RULE = "aws:cloudwatch/eventRule:EventRule";
const ARCHIVE = "aws:cloudwatch/eventArchive:EventArchive";
const QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy";
const KMS_KEY = "aws:kms/key:Key";
const LAMBDA = "aws:lambda/function:Function";
const PERMISSION = "aws:lambda/permission:Permission";
const STORAGE = "azure-native:storage:StorageAccount";
const APP_PASSWORD = "azuread:index/applicationPassword:ApplicationPassword";
const SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription";
const ACTION_GROUP = "azure-native:monitor:ActionGroup";

type Statement = Record<string, unknown>;

/** Removes the condition of the queue policy's statement that names the events service principal. */
const unpinServiceStatement = (p: Program, suffix: string) =>
    editDocument(one(p, QUEUE_POLICY, suffix), "policy", (doc) => {
        const s = doc.Statement.find((x) => (x.Principal as Statement | undefined)?.Service === "events.amazonaws.com");
        if (!s) throw new Error(`mutant does not apply: no events.amazonaws.com statement in *${suffix}`);
        delete s.Condition;
    });

/** Applies `edit` to the alarm key policy's account-root statement. */
const editRootStatement = (p: Program, edit: (s: Statement) => void) =>
    editDocument(one(p, KMS_KEY, "-alarms-key"), "policy", (doc) => {
        const s = doc.Statement.find((x) => typeof (x.Principal as Statement | undefined)?.AWS === "string" && String((x.Principal as Statement).AWS).endsWith(":root"));
        if (!s) throw new Error("mutant does not apply: no account-root statement in the alarm key policy");
        edit(s);
    });

const permission = (p: Program, name: string, inputs: Record<string, unknown>) => {
    const fn = one(p, LAMBDA, "-aws-consumer-function");
    add(p, fn, PERMISSION, name, { action: "lambda:InvokeFunction", function: fn.outputs.name, ...inputs }, [fn]);
};

export const RECHECK_MUTANTS: Mutant[] = [
    // W15, W16
    { id: "egress-rule-disabled", class: "1 delivery path", policy: "eventbridge-rule-enabled", stacks: BOTH, apply: (p) => set(one(p, RULE, "-egress-rule"), "state", "DISABLED") },
    {
        id: "consumer-rule-is-enabled-false",
        class: "1 delivery path",
        policy: "eventbridge-rule-enabled",
        stacks: ["dev"],
        apply: (p) => {
            const rule = one(p, RULE, "-aws-consumer-rule");
            set(rule, "state", undefined);
            set(rule, "isEnabled", false);
        },
    },
    { id: "archive-keeps-a-day", class: "1 delivery path", policy: "eventbridge-archive-retention", stacks: BOTH, apply: (p) => set(one(p, ARCHIVE, "-egress-archive"), "retentionDays", 1) },
    // A12: a production stack whose alarms reach nobody (dev stacks are exempt by name)
    {
        id: "prod-alarms-reach-nobody",
        class: "2 alarms",
        policy: "alarm-receivers-required-outside-dev",
        stacks: ["prod"],
        apply: (p) => {
            for (const s of all(p, SUBSCRIPTION)) remove(p, s);
            for (const g of all(p, ACTION_GROUP)) set(g, "emailReceivers", []);
        },
    },
    { id: "prod-alarm-topic-unsubscribed", class: "2 alarms", policy: "alarm-receivers-required-outside-dev", stacks: ["prod"], apply: (p) => all(p, SUBSCRIPTION).forEach((s) => remove(p, s)) },
    // I16, I19, I21
    { id: "dlq-policy-service-unpinned", class: "3 access", policy: "queue-topic-policy-not-public", stacks: BOTH, apply: (p) => unpinServiceStatement(p, "-egress-dlq-policy") },
    { id: "consumer-queue-policy-service-unpinned", class: "3 access", policy: "queue-topic-policy-not-public", stacks: ["prod"], apply: (p) => unpinServiceStatement(p, "-aws-consumer-queue-policy") },
    { id: "alarm-key-open-to-anyone", class: "3 access", policy: "kms-key-policy-not-public", stacks: BOTH, apply: (p) => editRootStatement(p, (s) => (s.Principal = { AWS: "*" })) },
    { id: "alarm-key-open-to-star", class: "3 access", policy: "kms-key-policy-not-public", stacks: ["dev"], apply: (p) => editRootStatement(p, (s) => (s.Principal = "*")) },
    { id: "consumer-invocable-by-anyone", class: "3 access", policy: "lambda-permission-pinned", stacks: BOTH, apply: (p) => permission(p, "open-invoke", { principal: "*" }) },
    { id: "consumer-invocable-by-any-rule", class: "3 access", policy: "lambda-permission-pinned", stacks: ["prod"], apply: (p) => permission(p, "events-invoke", { principal: "events.amazonaws.com" }) },
    // T05
    { id: "consumer-storage-shared-keys", class: "4 transport", policy: "storage-tls12-https-no-public-blobs", stacks: BOTH, apply: (p) => set(one(p, STORAGE, "-consumer-storage"), "allowSharedKeyAccess", true) },
    { id: "relay-storage-shared-keys-default", class: "4 transport", policy: "storage-tls12-https-no-public-blobs", stacks: ["dev"], apply: (p) => set(one(p, STORAGE, "-outbox-relay-storage"), "allowSharedKeyAccess", undefined) },
    // S03
    {
        id: "secret-inside-login-string",
        class: "5 secrets",
        policy: "stack-outputs-no-credentials",
        stacks: BOTH,
        apply: (p) => set(stackResource(p), "publisherLogin", `${String(stackResource(p).outputs.publisherClientId)}:${String(one(p, APP_PASSWORD, "-slot-a-secret").outputs.value)}`),
    },
];

export const RECHECK_REWRITES: Rewrite[] = [
    { id: "archive-keeps-forever", stacks: BOTH, apply: (p) => set(one(p, ARCHIVE, "-egress-archive"), "retentionDays", 0) },
    {
        id: "alarm-key-star-pinned-to-account",
        stacks: BOTH,
        apply: (p) => editRootStatement(p, (s) => {
            const account = String((s.Principal as Statement).AWS).split(":")[4];
            s.Principal = { AWS: "*" };
            s.Condition = { StringEquals: { "kms:CallerAccount": account } };
        }),
    },
    {
        id: "consumer-invocable-by-its-rule",
        stacks: BOTH,
        apply: (p) => permission(p, "rule-invoke", { principal: "events.amazonaws.com", sourceArn: one(p, RULE, "-aws-consumer-rule").outputs.arn ?? "arn:aws:events:eu-west-1:123456789012:rule/x" }),
    },
    { id: "login-output-without-secret", stacks: BOTH, apply: (p) => set(stackResource(p), "publisherLogin", `client:${String(stackResource(p).outputs.publisherClientId)}`) },
];
