
import { T } from "../../policy/policies";

import { assertFails, assertPasses, resource, RG, UNKNOWN_STRING, verdictOf } from "./support";


describe("policy: iam-no-admin-or-full-access", () => {
    const P = "iam-no-admin-or-full-access";
    const doc = (action: unknown, resourceArn: unknown = "*") => JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: action, Resource: resourceArn }] });
    it("passes a scoped inline policy and a read-only attachment", async () => {
        assertPasses(await verdictOf(P, [resource(T.iamRolePolicy, "p", { role: "r", policy: doc("events:InvokeApiDestination", "arn:aws:events:eu-west-1:1:api-destination/d/x") })]));
        assertPasses(await verdictOf(P, [resource(T.iamRolePolicy, "p", { role: "r", policy: doc(["dynamodb:DescribeTable", "cloudwatch:PutMetricData"]) })]));
        assertPasses(await verdictOf(P, [resource(T.iamRolePolicyAttachment, "a", { role: "r", policyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess" })]));
    });
    it("fails AdministratorAccess and *FullAccess attachments", async () => {
        assertFails(await verdictOf(P, [resource(T.iamRolePolicyAttachment, "a", { role: "r", policyArn: "arn:aws:iam::aws:policy/AdministratorAccess" })]), /AdministratorAccess/);
        assertFails(await verdictOf(P, [resource(T.iamRolePolicyAttachment, "a", { role: "r", policyArn: "arn:aws:iam::aws:policy/AmazonSQSFullAccess" })]), /AmazonSQSFullAccess/);
        assertFails(await verdictOf(P, [resource(T.iamRole, "r", { managedPolicyArns: ["arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess"] })]), /FullAccess/);
    });
    it('fails "Action": "*" in a role policy, an inline policy of a role, and in an array', async () => {
        assertFails(await verdictOf(P, [resource(T.iamRolePolicy, "p", { role: "r", policy: doc("*") })]), /allows "Action": "\*"/);
        assertFails(await verdictOf(P, [resource(T.iamRolePolicy, "p", { role: "r", policy: doc(["sqs:SendMessage", "*"]) })]), /allows "Action": "\*"/);
        assertFails(await verdictOf(P, [resource(T.iamRole, "r", { inlinePolicies: [{ name: "all", policy: doc("*") }] })]), /inline policy "all"/);
    });
    it('passes "Action": "*" under Deny', async () =>
        assertPasses(await verdictOf(P, [resource(T.iamRolePolicy, "p", { role: "r", policy: JSON.stringify({ Statement: [{ Effect: "Deny", Action: "*", Resource: "*" }] }) })])));
    it("does not judge a policy document that is unknown during preview", async () =>
        assertPasses(await verdictOf(P, [resource(T.iamRolePolicy, "p", { role: "r", policy: UNKNOWN_STRING })])));
});

describe("policy: entra-application-password-lifetime", () => {
    const P = "entra-application-password-lifetime";
    const now = { [P]: { referenceTime: "2026-01-01T00:00:00Z" } };
    const password = (extra: Record<string, unknown>) =>
        resource(T.applicationPassword, "secret", { applicationId: "/applications/x", endDate: "2026-04-01T00:00:00Z", rotateWhenChanged: { expiry: "2026-04-01T00:00:00Z" }, ...extra });
    it("passes a 90-day secret that rotates", async () => assertPasses(await verdictOf(P, [password({})], now)));
    it("fails a lifetime above the maximum, and honours the configured maximum", async () => {
        const long = password({ endDate: "2027-01-01T00:00:00Z" });
        assertFails(await verdictOf(P, [long], now), /lifetime 365 days exceeds the maximum of 180/);
        assertPasses(await verdictOf(P, [long], { [P]: { referenceTime: "2026-01-01T00:00:00Z", maximumLifetimeDays: 365 } }));
    });
    it("measures from startDate when set", async () =>
        assertFails(await verdictOf(P, [password({ startDate: "2025-01-01T00:00:00Z" })], now), /lifetime 455 days/));
    it("fails a relative end date above the maximum", async () =>
        assertFails(await verdictOf(P, [password({ endDate: undefined, endDateRelative: "8760h" })], now), /lifetime 365 days/));
    it("fails no end date, an expired end date, and no rotation trigger", async () => {
        assertFails(await verdictOf(P, [password({ endDate: undefined })], now), /neither endDate nor endDateRelative/);
        assertFails(await verdictOf(P, [password({ endDate: "2025-12-01T00:00:00Z" })], now), /already be expired/);
        assertFails(await verdictOf(P, [password({ rotateWhenChanged: undefined })], now), /no rotateWhenChanged/);
    });
    it("does not judge an end date unknown during preview", async () => assertPasses(await verdictOf(P, [password({ endDate: UNKNOWN_STRING })], now)));
});

describe("policy: azure-data-role-least-scope", () => {
    const P = "azure-data-role-least-scope";
    const queue = `${RG}/providers/Microsoft.ServiceBus/namespaces/ns/queues/q`;
    const assignment = (role: string, scope: string) =>
        resource(T.roleAssignment, "a", { principalId: "p", roleDefinitionId: `/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/${role}`, scope });
    const SENDER = "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39";
    it("passes a sender on its queue", async () => assertPasses(await verdictOf(P, [assignment(SENDER, queue)])));
    it("fails the sender on its namespace, resource group or subscription", async () => {
        for (const scope of [queue.replace(/\/queues\/q$/, ""), RG, "/subscriptions/s"]) assertFails(await verdictOf(P, [assignment(SENDER, scope)]), /must be scoped to one queue/);
    });
    it("the required scope is configurable per role (e.g. namespace scope for a scaler)", async () =>
        assertPasses(await verdictOf(P, [assignment(SENDER, queue.replace(/\/queues\/q$/, ""))], { [P]: { roleScopes: { [SENDER]: "resource" } } })));
    it("skips a role definition id unknown at preview; it runs again before creation at up", async () =>
        assertPasses(await verdictOf(P, [resource(T.roleAssignment, "a", { principalId: "p", roleDefinitionId: UNKNOWN_STRING, scope: RG })])));
});

describe("policy: queue-topic-policy-not-public", () => {
    const P = "queue-topic-policy-not-public";
    const policy = (statement: Record<string, unknown>) => resource(T.sqsQueuePolicy, "qp", { queueUrl: "u", policy: JSON.stringify({ Statement: [{ Effect: "Allow", Action: "sqs:SendMessage", Resource: "arn", ...statement }] }) });
    it("passes a service principal pinned by source, and an anonymous principal pinned by source", async () => {
        assertPasses(await verdictOf(P, [policy({ Principal: { Service: "events.amazonaws.com" }, Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } } })]));
        assertPasses(await verdictOf(P, [policy({ Principal: "*", Condition: { ArnEquals: { "aws:SourceArn": "arn:rule" } } })]));
    });
    it("fails Principal * with no condition, or with a condition that does not pin the caller", async () => {
        assertFails(await verdictOf(P, [policy({ Principal: "*" })]), /any principal/);
        assertFails(await verdictOf(P, [policy({ Principal: { AWS: "*" }, Condition: { Bool: { "aws:SecureTransport": "true" } } })]), /any principal/);
    });
    it("fails a service principal with no aws:SourceArn / aws:SourceAccount (any account's rules could send)", async () => {
        assertFails(await verdictOf(P, [policy({ Principal: { Service: "events.amazonaws.com" } })]), /service principal/);
    });
});
