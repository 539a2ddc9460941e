import * as assert from "assert";
import { T } from "../../policy/policies";

import { assertFails, assertPasses, messages, resource, UNKNOWN_OBJECT, UNKNOWN_STRING, verdictOf } from "./support";

describe("policy: postgres-flexible-server-entra-only", () => {
    const P = "postgres-flexible-server-entra-only";
    const server = (authConfig: unknown) => resource(T.postgresServer, "outbox-db", { serverName: "mesh-outbox", version: "16", ...(authConfig === undefined ? {} : { authConfig }) });

    it("passes Entra ID on, passwords off", async () => assertPasses(await verdictOf(P, [server({ activeDirectoryAuth: "Enabled", passwordAuth: "Disabled", tenantId: "t" })])));
    it("fails password authentication left on", async () =>
        assertFails(await verdictOf(P, [server({ activeDirectoryAuth: "Enabled", passwordAuth: "Enabled" })]), /passwordAuth is "Enabled".*password logins/));
    it("fails a missing authConfig: the API default keeps passwords on and Entra off", async () => {
        const v = await verdictOf(P, [server(undefined)]);
        assertFails(v, /passwordAuth is \(not set\) \(the API default is "Enabled"\)/);
        assertFails(v, /activeDirectoryAuth is \(not set\)/);
    });
    it("fails Entra ID authentication off", async () => assertFails(await verdictOf(P, [server({ activeDirectoryAuth: "Disabled", passwordAuth: "Disabled" })]), /activeDirectoryAuth is "Disabled"/));
    it("skips values unknown during preview", async () => {
        assertPasses(await verdictOf(P, [server(UNKNOWN_OBJECT)]));
        assertPasses(await verdictOf(P, [server({ activeDirectoryAuth: UNKNOWN_STRING, passwordAuth: UNKNOWN_STRING })]));
    });
});

describe("policy: postgres-server-parameters-tls", () => {
    const P = "postgres-server-parameters-tls";
    const parameter = (configurationName: string, value: unknown) => resource(T.postgresConfiguration, configurationName, { serverName: "mesh-outbox", configurationName, value, source: "user-override" });

    it("passes TLS required and 1.2 / 1.3 minimums, in any case", async () => {
        for (const [name, value] of [["require_secure_transport", "on"], ["require_secure_transport", "ON"], ["ssl_min_protocol_version", "TLSv1.2"], ["ssl_min_protocol_version", "TLSv1.3"], ["ssl_max_protocol_version", "TLSv1.3"]]) {
            assertPasses(await verdictOf(P, [parameter(name, value)]));
        }
    });
    it("fails require_secure_transport off", async () => {
        assertFails(await verdictOf(P, [parameter("require_secure_transport", "OFF")]), /require_secure_transport is "OFF".*without TLS/);
        assertFails(await verdictOf(P, [parameter("require_secure_transport", "0")]), /without TLS/);
    });
    it("fails a minimum below TLS 1.2, an unparsable one, and a maximum below 1.2", async () => {
        assertFails(await verdictOf(P, [parameter("ssl_min_protocol_version", "TLSv1.1")]), /ssl_min_protocol_version is "TLSv1.1".*older than 1.2/);
        assertFails(await verdictOf(P, [parameter("ssl_min_protocol_version", "TLSv1")]), /older than 1.2/);
        assertFails(await verdictOf(P, [parameter("ssl_min_protocol_version", "1.2")]), /older than 1.2/);
        assertFails(await verdictOf(P, [parameter("ssl_max_protocol_version", "TLSv1.1")]), /ssl_max_protocol_version/);
    });
    it("is not applicable to other parameters, and skips unknown values", async () => {
        assert.ok((await verdictOf(P, [parameter("max_connections", "100")])).notApplicable);
        assertPasses(await verdictOf(P, [parameter("require_secure_transport", UNKNOWN_STRING)]));
    });
});

describe("policy: iam-web-identity-trust-pinned", () => {
    const P = "iam-web-identity-trust-pinned";
    const issuer = "sts.windows.net/11111111-2222-3333-4444-555555555555/";
    const provider = `arn:aws:iam::123456789012:oidc-provider/${issuer}`;
    const role = (condition: unknown, extra: Record<string, unknown> = {}) =>
        resource(T.iamRole, "relay-role", {
            assumeRolePolicy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Federated: provider }, Action: "sts:AssumeRoleWithWebIdentity", ...(condition === undefined ? {} : { Condition: condition }), ...extra }],
            }),
        });
    const pinned = { StringEquals: { [`${issuer}:aud`]: "api://mesh-relay", [`${issuer}:sub`]: "0f0e0d0c-0000-4000-8000-000000000001" } };

    it("passes audience and subject pinned with StringEquals (issuer with or without its trailing slash)", async () => {
        assertPasses(await verdictOf(P, [role(pinned)]));
        const noSlash = { StringEquals: { "sts.windows.net/11111111-2222-3333-4444-555555555555:aud": "api://mesh-relay", "sts.windows.net/11111111-2222-3333-4444-555555555555:sub": "oid" } };
        assertPasses(await verdictOf(P, [role(noSlash)]));
    });
    it("fails a subject matched with StringLike (wildcard)", async () =>
        assertFails(await verdictOf(P, [role({ StringEquals: { [`${issuer}:aud`]: "api://mesh-relay" }, StringLike: { [`${issuer}:sub`]: "*" } })]), /without pinning "sub".*only StringLike/));
    it("fails a missing subject, a missing audience, and no condition at all", async () => {
        assertFails(await verdictOf(P, [role({ StringEquals: { [`${issuer}:aud`]: "api://mesh-relay" } })]), /"sub".*any identity of the issuer/);
        assertFails(await verdictOf(P, [role({ StringEquals: { [`${issuer}:sub`]: "oid" } })]), /"aud".*any application/);
        const none = messages(await verdictOf(P, [role(undefined)]));
        assert.strictEqual(none.length, 2, JSON.stringify(none));
    });
    it("fails keys of another issuer, and empty values", async () => {
        assertFails(await verdictOf(P, [role({ StringEquals: { "accounts.google.com:aud": "x", "accounts.google.com:sub": "y" } })]), /without pinning "aud"/);
        assertFails(await verdictOf(P, [role({ StringEquals: { [`${issuer}:aud`]: "", [`${issuer}:sub`]: "oid" } })]), /value for "aud" is "", not a non-empty string/);
    });
    it("applies to Action lists and sts:*, not to service principals", async () => {
        const listed = resource(T.iamRole, "r", { assumeRolePolicy: { Statement: [{ Effect: "Allow", Principal: { Federated: provider }, Action: ["sts:TagSession", "sts:*"] }] } });
        assertFails(await verdictOf(P, [listed]), /without pinning "aud"/);
        const lambda = resource(T.iamRole, "l", { assumeRolePolicy: JSON.stringify({ Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }] }) });
        assert.ok((await verdictOf(P, [lambda])).notApplicable);
    });
    it("during preview, an unknown provider ARN accepts any issuer's keys but still needs both pinned", async () => {
        const preview = (condition: unknown) =>
            resource(T.iamRole, "r", { assumeRolePolicy: { Statement: [{ Effect: "Allow", Principal: { Federated: UNKNOWN_STRING }, Action: "sts:AssumeRoleWithWebIdentity", Condition: condition }] } });
        assertPasses(await verdictOf(P, [preview(pinned)]));
        assertFails(await verdictOf(P, [preview({ StringEquals: { [`${issuer}:aud`]: "a" } })]), /"sub"/);
        assertPasses(await verdictOf(P, [resource(T.iamRole, "r", { assumeRolePolicy: UNKNOWN_STRING })]));
    });
});

describe("policy: lambda-sqs-mapping-report-batch-item-failures", () => {
    const P = "lambda-sqs-mapping-report-batch-item-failures";
    const mapping = (extra: Record<string, unknown>) => resource(T.eventSourceMapping, "consumer-mapping", { eventSourceArn: "arn:aws:sqs:eu-west-1:123456789012:inbound", functionName: "consumer", batchSize: 10, ...extra });

    it("passes ReportBatchItemFailures", async () => assertPasses(await verdictOf(P, [mapping({ functionResponseTypes: ["ReportBatchItemFailures"] })])));
    it("fails a mapping without it", async () => {
        assertFails(await verdictOf(P, [mapping({})]), /lacks "ReportBatchItemFailures"/);
        assertFails(await verdictOf(P, [mapping({ functionResponseTypes: [] })]), /redelivers its whole batch/);
    });
    it("treats a preview mapping with an unknown ARN and no startingPosition as SQS; leaves stream mappings to their own policy", async () => {
        assertFails(await verdictOf(P, [mapping({ eventSourceArn: UNKNOWN_STRING })]), /lacks/);
        assert.ok((await verdictOf(P, [mapping({ eventSourceArn: UNKNOWN_STRING, startingPosition: "LATEST" })])).notApplicable);
        assert.ok((await verdictOf(P, [mapping({ eventSourceArn: "arn:aws:dynamodb:eu-west-1:1:table/outbox/stream/2024" })])).notApplicable);
    });
});

describe("policy: lambda-sqs-source-queue-dead-letters", () => {
    const P = "lambda-sqs-source-queue-dead-letters";
    const arn = "arn:aws:sqs:eu-west-1:123456789012:inbound";
    const dlqArn = "arn:aws:sqs:eu-west-1:123456789012:inbound-dlq";
    const queue = (redrivePolicy?: unknown) => resource(T.sqsQueue, "inbound", redrivePolicy === undefined ? {} : { redrivePolicy }, { outputs: { arn, url: "https://sqs.eu-west-1.amazonaws.com/123456789012/inbound" } });
    const mapping = (eventSourceArn: string = arn, dependsOn: string[] = []) =>
        resource(T.eventSourceMapping, "consumer-mapping", { eventSourceArn, functionName: "consumer", functionResponseTypes: ["ReportBatchItemFailures"] }, { dependsOn });

    it("passes a consumed queue that dead-letters after a few receives", async () =>
        assertPasses(await verdictOf(P, [queue(JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 5 })), mapping()])));
    it("passes a redrive policy set as its own resource", async () => {
        const separate = resource(T.sqsRedrivePolicy, "inbound-redrive", { queueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/inbound", redrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 3 }) });
        assertPasses(await verdictOf(P, [queue(), separate, mapping()]));
    });
    it("fails a consumed queue without a redrive policy", async () => assertFails(await verdictOf(P, [queue(), mapping()]), /feeds a Lambda but has no redrive policy/));
    it("fails a poison message allowed to circulate, and a dead-letter target that is not a queue", async () => {
        assertFails(await verdictOf(P, [queue(JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 100 })), mapping()]), /maxReceiveCount 100/);
        assertFails(await verdictOf(P, [queue(JSON.stringify({ deadLetterTargetArn: "arn:aws:sns:eu-west-1:1:t", maxReceiveCount: 5 })), mapping()]), /not an SQS queue ARN/);
    });
    it("relates a preview mapping to its queue through dependencies; ignores queues nobody consumes", async () => {
        const q = queue();
        assertFails(await verdictOf(P, [q, mapping(UNKNOWN_STRING, [q.urn])]), /no redrive policy/);
        assert.ok((await verdictOf(P, [q, mapping(UNKNOWN_STRING, [])])).notApplicable);
        assert.ok((await verdictOf(P, [q])).notApplicable);
    });
});

describe("policy: eventbridge-routes-no-ping-pong", () => {
    const P = "eventbridge-routes-no-ping-pong";
    const rule = (name: string, pattern: unknown, bus = "mesh-bus") =>
        resource(T.eventRule, name, { eventBusName: bus, eventPattern: typeof pattern === "string" ? pattern : JSON.stringify(pattern) }, { outputs: { name } });
    const target = (name: string, ruleName: string, arn: string, extra: { bus?: string; dependsOn?: string[] } = {}) =>
        resource(T.eventTarget, name, { rule: ruleName, eventBusName: extra.bus ?? "mesh-bus", arn, deadLetterConfig: { arn: "arn:aws:sqs:eu-west-1:1:dlq" } }, { dependsOn: extra.dependsOn ?? [] });
    const API = "arn:aws:events:eu-west-1:123456789012:api-destination/to-azure/0000";
    const QUEUE = "arn:aws:sqs:eu-west-1:123456789012:inbound";
    const mesh = (outbound: unknown, inbound: unknown, inboundArn = QUEUE) => [
        rule("egress", outbound),
        target("egress-target", "egress", API),
        rule("ingress", inbound),
        target("ingress-target", "ingress", inboundArn),
    ];

    it("passes literal, disjoint source lists", async () =>
        assertPasses(await verdictOf(P, mesh({ source: ["mesh.aws.orders"] }, { source: ["mesh.azure.orders", "mesh.azure.payments"], "detail-type": ["x"] }))));
    it("fails a source both routes match, for SQS and Lambda consumers", async () => {
        assertFails(await verdictOf(P, mesh({ source: ["mesh.aws.orders", "mesh.shared"] }, { source: ["mesh.shared"] })), /both match source \["mesh.shared"\]/);
        assertFails(await verdictOf(P, mesh({ source: ["a"] }, { source: ["a"] }, "arn:aws:lambda:eu-west-1:1:function:consumer")), /both match source/);
    });
    it("fails a route without a source filter", async () => assertFails(await verdictOf(P, mesh({ source: ["a"] }, { "detail-type": ["OrderPlaced"] })), /no source filter, so it matches every source/));
    it("reports prefix, anything-but and $or patterns as unverifiable", async () => {
        assertFails(await verdictOf(P, mesh({ source: [{ prefix: "mesh.aws." }] }, { source: ["mesh.azure.orders"] })), /Cannot verify.*content filters/);
        assertFails(await verdictOf(P, mesh({ source: ["a"] }, { source: [{ "anything-but": ["a"] }] })), /Cannot verify/);
        assertFails(await verdictOf(P, mesh({ source: ["a"] }, { $or: [{ source: ["b"] }, { source: ["c"] }] })), /top-level \$or/);
    });
    it("fails one rule that targets both directions", async () => {
        const both = [rule("both", { source: ["a"] }), target("t1", "both", API), target("t2", "both", QUEUE)];
        assertFails(await verdictOf(P, both), /sends the same events to an API destination and to an AWS consumer/);
    });
    it("ignores rules on different buses, rules listed in ignoredRules, and stacks with one direction only", async () => {
        const apart = [rule("egress", { source: ["a"] }), target("egress-target", "egress", API), rule("ingress", { source: ["a"] }, "other-bus"), target("ingress-target", "ingress", QUEUE, { bus: "other-bus" })];
        assertPasses(await verdictOf(P, apart));
        assert.deepStrictEqual(messages(await verdictOf(P, mesh({ source: ["a"] }, { source: ["a"] }), { [P]: { ignoredRules: ["ingress"] } })), []);
        assert.ok((await verdictOf(P, mesh({ source: ["a"] }, { source: ["a"] }).slice(0, 2))).notApplicable);
    });
    it("during preview, classifies targets with unknown ARNs through their dependencies", async () => {
        const api = resource(T.apiDestination, "to-azure", {}, { outputs: { arn: UNKNOWN_STRING } });
        const queue = resource(T.sqsQueue, "inbound", {});
        const resources = [
            api,
            queue,
            rule("egress", { source: ["a"] }),
            target("egress-target", "egress", UNKNOWN_STRING, { dependsOn: [api.urn] }),
            rule("ingress", { source: ["a"] }),
            target("ingress-target", "ingress", UNKNOWN_STRING, { dependsOn: [queue.urn] }),
        ];
        assertFails(await verdictOf(P, resources), /both match source \["a"\]/);
    });
});

describe("policy: postgres-firewall-not-open-to-internet", () => {
    const P = "postgres-firewall-not-open-to-internet";
    const rule = (startIpAddress: unknown, endIpAddress: unknown) => resource(T.postgresFirewallRule, "outbox-fw", { serverName: "mesh-outbox", startIpAddress, endIpAddress });

    it("passes a /24, a single address and the 0.0.0.0 'Azure services' rule", async () => {
        for (const [a, b] of [["203.0.113.0", "203.0.113.255"], ["198.51.100.7", "198.51.100.7"], ["0.0.0.0", "0.0.0.0"]]) assertPasses(await verdictOf(P, [rule(a, b)]));
    });
    it("fails the whole internet and anything wider than a /24", async () => {
        assertFails(await verdictOf(P, [rule("0.0.0.0", "255.255.255.255")]), /admits 4294967296 addresses/);
        assertFails(await verdictOf(P, [rule("203.0.112.0", "203.0.113.255")]), /admits 512 addresses/);
    });
    it("fails what is not an IPv4 range, and skips unknowns", async () => {
        assertFails(await verdictOf(P, [rule("10.0.0.300", "10.0.0.1")]), /not an IPv4 range/);
        assertPasses(await verdictOf(P, [rule(UNKNOWN_STRING, "1.2.3.4")]));
    });
});
