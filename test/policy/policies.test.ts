import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { OUTBOX_KEY_ATTRIBUTE } from "../../runtime/outbox-schema";
import { POLICY_CLASSES, policies, T } from "../../policy/policies";
import { runPolicies } from "../../tools/policy-runner";
import { messages, resource, UNKNOWN_BOOLEAN, UNKNOWN_OBJECT, UNKNOWN_STRING, urnOf, verdictOf } from "./support";

const RG = "/subscriptions/s/resourceGroups/rg";

function assertPasses(v: Awaited<ReturnType<typeof verdictOf>>) {
    assert.deepStrictEqual(v.errors, [], "policy threw");
    assert.deepStrictEqual(messages(v), []);
    assert.strictEqual(v.notApplicable, undefined, "policy did not apply");
}

function assertFails(v: Awaited<ReturnType<typeof verdictOf>>, pattern: RegExp) {
    assert.deepStrictEqual(v.errors, [], "policy threw");
    assert.ok(messages(v).some((m) => pattern.test(m)), `expected a violation matching ${pattern}, got ${JSON.stringify(messages(v))}`);
}

describe("policy: servicebus-queue-deadletter-alert", () => {
    const P = "servicebus-queue-deadletter-alert";
    const namespace = resource(T.serviceBusNamespace, "ns", { namespaceName: "mesh-ns", resourceGroupName: "rg" });
    const queue = resource(T.serviceBusQueue, "queue", { namespaceName: "mesh-ns", queueName: "mesh-events" }, { dependsOn: [namespace.urn] });
    const alert = (criterion: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
        resource(
            T.metricAlert,
            "alert",
            {
                scopes: [`${RG}/providers/Microsoft.ServiceBus/namespaces/mesh-ns`],
                enabled: true,
                actions: [{ actionGroupId: "ag" }],
                criteria: {
                    odataType: "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                    allOf: [{ metricName: "DeadletteredMessages", operator: "GreaterThan", threshold: 0, dimensions: [{ name: "EntityName", operator: "Include", values: ["mesh-events"] }], ...criterion }],
                },
                ...extra,
            },
            { dependsOn: [queue.urn, namespace.urn] },
        );

    it("passes a queue with an alert filtered to it", async () => assertPasses(await verdictOf(P, [namespace, queue, alert({})])));
    it("fails a queue without any alert", async () => assertFails(await verdictOf(P, [namespace, queue]), /"mesh-events".*no dead-letter alert/));
    it("fails a namespace-wide alert (no EntityName filter)", async () =>
        assertFails(await verdictOf(P, [namespace, queue, alert({ dimensions: [] })]), /no dead-letter alert/));
    it("fails an alert filtered to another queue", async () =>
        assertFails(await verdictOf(P, [namespace, queue, alert({ dimensions: [{ name: "EntityName", operator: "Include", values: ["other"] }] })]), /no dead-letter alert/));
    it("fails a disabled alert, and says why", async () => assertFails(await verdictOf(P, [namespace, queue, alert({}, { enabled: false })]), /is disabled/));
    it("fails an alert without an action group", async () => assertFails(await verdictOf(P, [namespace, queue, alert({}, { actions: [] })]), /notifies nobody/));
    it("fails an alert scoped to another namespace", async () =>
        assertFails(await verdictOf(P, [namespace, queue, alert({}, { scopes: [`${RG}/providers/Microsoft.ServiceBus/namespaces/elsewhere`] })]), /not scoped/));
    it("fails an alert that fires only above the configured threshold", async () =>
        assertFails(await verdictOf(P, [namespace, queue, alert({ threshold: 10 })]), /later than/));
    it("during preview, relates an alert to its queue through dependencies when the queue name is unknown", async () => {
        const previewAlert = alert({ dimensions: [{ name: "EntityName", operator: "Include", values: [UNKNOWN_STRING] }] }, { scopes: [UNKNOWN_STRING] });
        assertPasses(await verdictOf(P, [namespace, queue, previewAlert]));
        const unrelated = { ...previewAlert, dependsOn: [] };
        assertFails(await verdictOf(P, [namespace, queue, unrelated]), /no dead-letter alert/);
    });
    it("is not applicable without Service Bus queues", async () => assert.ok((await verdictOf(P, [namespace])).notApplicable));
});

describe("policy: sqs-dead-letter-queue-depth-alarm", () => {
    const P = "sqs-dead-letter-queue-depth-alarm";
    const dlqArn = "arn:aws:sqs:eu-west-1:123456789012:dlq";
    const dlq = resource(T.sqsQueue, "dlq", {}, { outputs: { name: "dlq", arn: dlqArn } });
    const target = resource(T.eventTarget, "target", { arn: "arn:aws:events:eu-west-1:1:api-destination/d/x", deadLetterConfig: { arn: dlqArn } }, { dependsOn: [dlq.urn] });
    const alarm = (extra: Record<string, unknown> = {}) =>
        resource(T.metricAlarm, "depth", {
            namespace: "AWS/SQS",
            metricName: "ApproximateNumberOfMessagesVisible",
            dimensions: { QueueName: "dlq" },
            comparisonOperator: "GreaterThanThreshold",
            threshold: 0,
            alarmActions: ["arn:aws:sns:eu-west-1:1:topic"],
            ...extra,
        });

    it("passes a dead-letter queue with a depth alarm", async () => assertPasses(await verdictOf(P, [dlq, target, alarm()])));
    it("fails a dead-letter queue without an alarm, naming who dead-letters into it", async () =>
        assertFails(await verdictOf(P, [dlq, target]), /"dlq".*dead-letter destination of EventTarget "target"/));
    it("fails an alarm on another queue", async () => assertFails(await verdictOf(P, [dlq, target, alarm({ dimensions: { QueueName: "other" } })]), /no CloudWatch alarm/));
    it("fails an alarm on another metric", async () => assertFails(await verdictOf(P, [dlq, target, alarm({ metricName: "NumberOfMessagesSent" })]), /no CloudWatch alarm/));
    it("fails an alarm without actions", async () => assertFails(await verdictOf(P, [dlq, target, alarm({ alarmActions: [] })]), /notifies nobody/));
    it("fails an alarm that waits for 10 messages", async () => assertFails(await verdictOf(P, [dlq, target, alarm({ threshold: 9 })]), /not at a depth of 1/));
    it("accepts a metric-math alarm on the queue's depth", async () => {
        const math = resource(T.metricAlarm, "math", {
            comparisonOperator: "GreaterThanThreshold",
            threshold: 0,
            alarmActions: ["topic"],
            metricQueries: [{ id: "m1", metric: { namespace: "AWS/SQS", metricName: "ApproximateNumberOfMessagesVisible", dimensions: { QueueName: "dlq" } } }],
        });
        assertPasses(await verdictOf(P, [dlq, target, math]));
    });
    it("finds dead-letter queues through an SQS redrive policy and a stream mapping's on-failure destination", async () => {
        const source = resource(T.sqsQueue, "source", { redrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 5 }) });
        assertFails(await verdictOf(P, [dlq, source]), /dead-letter destination of Queue "source"/);
        const mapping = resource(T.eventSourceMapping, "esm", { destinationConfig: { onFailure: { destinationArn: dlqArn } } });
        assertFails(await verdictOf(P, [dlq, mapping]), /dead-letter destination of EventSourceMapping "esm"/);
    });
    it("is not applicable when no queue is a dead-letter destination", async () => assert.ok((await verdictOf(P, [dlq, alarm()])).notApplicable));
});

describe("policy: eventbridge-api-destination-target-retry-dlq", () => {
    const P = "eventbridge-api-destination-target-retry-dlq";
    const destinationArn = "arn:aws:events:eu-west-1:123456789012:api-destination/to-azure/0f0e";
    const target = (extra: Record<string, unknown>) =>
        resource(T.eventTarget, "target", {
            arn: destinationArn,
            retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86400 },
            deadLetterConfig: { arn: "arn:aws:sqs:eu-west-1:123456789012:dlq" },
            ...extra,
        });

    it("passes a target with retries and a DLQ", async () => assertPasses(await verdictOf(P, [target({})])));
    it("fails a target without deadLetterConfig", async () => assertFails(await verdictOf(P, [target({ deadLetterConfig: undefined })]), /without deadLetterConfig\.arn/));
    it("fails a target without retryPolicy", async () => assertFails(await verdictOf(P, [target({ retryPolicy: undefined })]), /without a retryPolicy/));
    it("fails zero retries (configurable)", async () => {
        const zero = target({ retryPolicy: { maximumRetryAttempts: 0, maximumEventAgeInSeconds: 60 } });
        assertFails(await verdictOf(P, [zero]), /needs at least 1/);
        assertPasses(await verdictOf(P, [zero], { [P]: { minimumRetryAttempts: 0 } }));
    });
    it("fails a dead-letter ARN that is not an SQS queue", async () =>
        assertFails(await verdictOf(P, [target({ deadLetterConfig: { arn: "arn:aws:sns:eu-west-1:1:topic" } })]), /not an SQS queue ARN/));
    it("ignores targets that are not API destinations", async () =>
        assert.ok((await verdictOf(P, [target({ arn: "arn:aws:lambda:eu-west-1:1:function:f", deadLetterConfig: undefined })])).notApplicable));
    it("during preview, recognises an API destination target by its dependency when the ARN is unknown", async () => {
        const destination = resource(T.apiDestination, "destination", {});
        const previewTarget = { ...target({ arn: UNKNOWN_STRING, deadLetterConfig: undefined }), dependsOn: [destination.urn] };
        assertFails(await verdictOf(P, [destination, previewTarget]), /without deadLetterConfig/);
    });
});

describe("policy: lambda-dynamodb-stream-mapping-failure-handling", () => {
    const P = "lambda-dynamodb-stream-mapping-failure-handling";
    const streamArn = "arn:aws:dynamodb:eu-west-1:123456789012:table/outbox/stream/2026-01-01T00:00:00.000";
    const good = {
        eventSourceArn: streamArn,
        functionName: "relay",
        startingPosition: "TRIM_HORIZON",
        bisectBatchOnFunctionError: true,
        functionResponseTypes: ["ReportBatchItemFailures"],
        maximumRetryAttempts: 5,
        destinationConfig: { onFailure: { destinationArn: "arn:aws:sqs:eu-west-1:123456789012:relay-dlq" } },
    };
    it("passes a mapping with every failure setting", async () => assertPasses(await verdictOf(P, [resource(T.eventSourceMapping, "esm", good)])));
    it("fails the defaults: no destination, no bisect, no partial failures, infinite retries", async () => {
        const v = await verdictOf(P, [resource(T.eventSourceMapping, "esm", { eventSourceArn: streamArn, functionName: "relay" })]);
        assert.strictEqual(v.violations.length, 4, JSON.stringify(messages(v)));
        assertFails(v, /onFailure/);
        assertFails(v, /bisectBatchOnFunctionError/);
        assertFails(v, /ReportBatchItemFailures/);
        assertFails(v, /maximumRetryAttempts is \(not set\) \(infinite\)/);
    });
    it("fails retries above the configured maximum", async () =>
        assertFails(await verdictOf(P, [resource(T.eventSourceMapping, "esm", { ...good, maximumRetryAttempts: 100 })]), /set 0\.\.10/));
    it("ignores mappings on other sources (SQS)", async () =>
        assert.ok((await verdictOf(P, [resource(T.eventSourceMapping, "esm", { eventSourceArn: "arn:aws:sqs:eu-west-1:1:q" })])).notApplicable));
});

describe("policy: iam-no-admin-or-full-access", () => {
    const P = "iam-no-admin-or-full-access";
    const doc = (action: unknown) => JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: action, Resource: "*" }] });
    it("passes a scoped inline policy and a read-only attachment", async () => {
        assertPasses(await verdictOf(P, [resource(T.iamRolePolicy, "p", { role: "r", policy: doc("events:InvokeApiDestination") })]));
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

describe("policy: servicebus-namespace-entra-only-tls12", () => {
    const P = "servicebus-namespace-entra-only-tls12";
    const ns = (extra: Record<string, unknown>) => resource(T.serviceBusNamespace, "ns", { namespaceName: "n", disableLocalAuth: true, minimumTlsVersion: "1.2", ...extra });
    it("passes SAS disabled and TLS 1.2", async () => assertPasses(await verdictOf(P, [ns({})])));
    it("fails SAS enabled", async () => assertFails(await verdictOf(P, [ns({ disableLocalAuth: false })]), /disableLocalAuth is false/));
    it("fails a missing disableLocalAuth (Azure's default is SAS on)", async () => assertFails(await verdictOf(P, [ns({ disableLocalAuth: undefined })]), /disableLocalAuth is \(not set\)/));
    it("fails TLS 1.0 and a missing TLS version", async () => {
        assertFails(await verdictOf(P, [ns({ minimumTlsVersion: "1.0" })]), /minimumTlsVersion is "1\.0"/);
        assertFails(await verdictOf(P, [ns({ minimumTlsVersion: undefined })]), /minimumTlsVersion is \(not set\)/);
    });
    it("skips values unknown during preview", async () => assertPasses(await verdictOf(P, [ns({ disableLocalAuth: UNKNOWN_BOOLEAN })])));
});

describe("policy: redis-tls-only", () => {
    const P = "redis-tls-only";
    it("passes a TLS-only cache, cluster and database", async () => {
        assertPasses(await verdictOf(P, [resource(T.redis, "r", { enableNonSslPort: false, minimumTlsVersion: "1.2" })]));
        assertPasses(await verdictOf(P, [resource(T.redisEnterprise, "c", { minimumTlsVersion: "1.2" })]));
        assertPasses(await verdictOf(P, [resource(T.redisEnterpriseDatabase, "d", { clientProtocol: "Encrypted" })]));
    });
    it("fails a non-TLS port, an old or missing TLS version, a plaintext database", async () => {
        assertFails(await verdictOf(P, [resource(T.redis, "r", { enableNonSslPort: true, minimumTlsVersion: "1.2" })]), /enableNonSslPort is true/);
        assertFails(await verdictOf(P, [resource(T.redis, "r", { minimumTlsVersion: "1.1" })]), /minimumTlsVersion is "1\.1"/);
        assertFails(await verdictOf(P, [resource(T.redisEnterprise, "c", {})]), /minimumTlsVersion is \(not set\)/);
        assertFails(await verdictOf(P, [resource(T.redisEnterpriseDatabase, "d", { clientProtocol: "Plaintext" })]), /Plaintext/);
    });
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

describe("policy: dynamodb-outbox-table-durability", () => {
    const P = "dynamodb-outbox-table-durability";
    const outbox = (extra: Record<string, unknown>) =>
        resource(T.dynamodbTable, "outbox", {
            hashKey: OUTBOX_KEY_ATTRIBUTE,
            streamEnabled: true,
            streamViewType: "NEW_IMAGE",
            pointInTimeRecovery: { enabled: true },
            serverSideEncryption: { enabled: true },
            ...extra,
        });
    it("passes the outbox table as the program builds it", async () => assertPasses(await verdictOf(P, [outbox({})])));
    it("fails an outbox table without stream, without PITR, without encryption", async () => {
        assertFails(await verdictOf(P, [outbox({ streamEnabled: false })]), /outbox table.*streamEnabled is false/);
        assertFails(await verdictOf(P, [outbox({ streamViewType: "KEYS_ONLY" })]), /streamViewType is "KEYS_ONLY"/);
        assertFails(await verdictOf(P, [outbox({ pointInTimeRecovery: undefined })]), /pointInTimeRecovery\.enabled is \(not set\)/);
        assertFails(await verdictOf(P, [outbox({ serverSideEncryption: { enabled: false } })]), /serverSideEncryption\.enabled is false/);
    });
    it("holds any other table with a stream to PITR and encryption, and ignores plain tables", async () => {
        assertFails(await verdictOf(P, [resource(T.dynamodbTable, "orders", { hashKey: "id", streamEnabled: true })]), /pointInTimeRecovery/);
        assert.ok((await verdictOf(P, [resource(T.dynamodbTable, "plain", { hashKey: "id" })])).notApplicable);
    });
});

describe("policy: function-app-https-no-key-settings", () => {
    const P = "function-app-https-no-key-settings";
    const app = (extra: Record<string, unknown>, settings: { name: string; value: string }[] = []) =>
        resource(T.webApp, "consumer", { kind: "functionapp,linux", httpsOnly: true, siteConfig: { appSettings: settings }, ...extra });
    const secret = "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=c2VjcmV0LWtleQ==;EndpointSuffix=core.windows.net";
    it("passes HTTPS only with identity-based and Key Vault settings", async () =>
        assertPasses(await verdictOf(P, [app({}, [{ name: "AzureWebJobsStorage__accountName", value: "st" }, { name: "REDIS", value: "@Microsoft.KeyVault(SecretUri=https://kv/secrets/redis)" }])])));
    it("fails without httpsOnly", async () => assertFails(await verdictOf(P, [app({ httpsOnly: undefined })]), /httpsOnly is \(not set\)/));
    it("fails a key-bearing app setting, without printing the key", async () => {
        const v = await verdictOf(P, [app({}, [{ name: "AzureWebJobsStorage", value: secret }])]);
        assertFails(v, /app setting "AzureWebJobsStorage" holds a key-bearing connection string/);
        assert.ok(!messages(v).some((m) => m.includes("c2VjcmV0")), "the key leaked into the message");
    });
    it("fails SAS keys in a separate settings resource and in connection strings", async () => {
        assertFails(await verdictOf(P, [resource(T.webAppSettings, "s", { properties: { SB: "Endpoint=sb://n.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=abc" } })]), /"SB"/);
        assertFails(await verdictOf(P, [app({ siteConfig: { connectionStrings: [{ name: "redis", connectionString: "r.redis.cache.windows.net:6380,password=abc,ssl=True" }] } })]), /connection string "redis"/);
    });
});

describe("policy: lambda-runtime-not-deprecated", () => {
    const P = "lambda-runtime-not-deprecated";
    const fn = (inputs: Record<string, unknown>) => resource(T.lambdaFunction, "relay", { role: "arn", handler: "index.handler", ...inputs });
    it("passes a supported runtime", async () => assertPasses(await verdictOf(P, [fn({ runtime: "nodejs22.x" })])));
    it("fails a deprecated runtime", async () => assertFails(await verdictOf(P, [fn({ runtime: "nodejs16.x" })]), /nodejs16\.x, deprecated since 2024-06-12/));
    it("compares deprecation dates with referenceTime", async () => {
        assertPasses(await verdictOf(P, [fn({ runtime: "nodejs20.x" })], { [P]: { referenceTime: "2026-01-01T00:00:00Z" } }));
        assertFails(await verdictOf(P, [fn({ runtime: "nodejs20.x" })], { [P]: { referenceTime: "2026-05-01T00:00:00Z" } }), /deprecated since 2026-04-30/);
    });
    it("fails a runtime added through config, and a missing runtime", async () => {
        assertFails(await verdictOf(P, [fn({ runtime: "nodejs22.x" })], { [P]: { additionalDeprecatedRuntimes: ["nodejs22.x"] } }), /nodejs22\.x, deprecated/);
        assertFails(await verdictOf(P, [fn({})]), /has no runtime/);
    });
    it("does not apply to container images", async () => assert.ok((await verdictOf(P, [fn({ packageType: "Image" })])).notApplicable));
});

describe("policy: required-tags", () => {
    const P = "required-tags";
    const tags = { "mesh:project": "multicloud-mesh", "mesh:stack": "dev" };
    const provider = (inputs: Record<string, unknown>) => resource("pulumi:providers:aws", "aws", inputs);
    const ref = (p: { urn: string }) => `${p.urn}::aws-id`;
    it("counts the aws provider's defaultTags (as the provider receives them: a JSON string)", async () => {
        const p = provider({ region: "eu-west-1", defaultTags: JSON.stringify({ tags }) });
        assertPasses(await verdictOf(P, [p, resource(T.sqsQueue, "q", {}, { provider: ref(p) })]));
    });
    it("fails an AWS resource with neither tags nor default tags", async () => {
        const p = provider({ region: "eu-west-1" });
        assertFails(await verdictOf(P, [p, resource(T.sqsQueue, "q", {}, { provider: ref(p) })]), /lacks required tags "mesh:project", "mesh:stack"/);
    });
    it("accepts tagsAll (the provider's merged tags during up)", async () => assertPasses(await verdictOf(P, [resource(T.sqsQueue, "q", { tagsAll: tags })])));
    it("fails an Azure resource missing one tag or with an empty value", async () => {
        assertFails(await verdictOf(P, [resource(T.serviceBusNamespace, "ns", { tags: { "mesh:project": "multicloud-mesh" } })]), /lacks required tag "mesh:stack"/);
        assertFails(await verdictOf(P, [resource(T.serviceBusNamespace, "ns", { tags: { ...tags, "mesh:stack": "" } })]), /"mesh:stack"/);
    });
    it("takes the tag list from config", async () =>
        assertFails(await verdictOf(P, [resource(T.serviceBusNamespace, "ns", { tags })], { [P]: { requiredTags: ["owner"] } }), /"owner"/));
    it("does not apply to types without tags, nor to Entra ID", async () => {
        assert.ok((await verdictOf(P, [resource(T.serviceBusQueue, "q", { queueName: "q" })])).notApplicable);
        assert.ok((await verdictOf(P, [resource("azuread:index/application:Application", "app", { displayName: "x" })])).notApplicable);
    });
});

describe("policies: the pack as a whole", () => {
    it("has uniquely named policies, each with name, description, enforcement level and remediation", () => {
        assert.strictEqual(new Set(policies.map((p) => p.name)).size, policies.length);
        for (const p of policies) {
            assert.ok(p.description.length > 20, p.name);
            assert.ok(p.enforcementLevel, p.name);
            assert.ok(p.remediationSteps && p.remediationSteps.length > 20, p.name);
        }
    });

    it("docs/policies.md lists every policy with its class, level and when it acts, in pack order", () => {
        const doc = fs.readFileSync(path.resolve(__dirname, "..", "..", "docs", "policies.md"), "utf8");
        const rows = [...doc.matchAll(/^\| `([^`]+)` \| ([a-z ]+) \| (\w+) \| (before creation|after the update) \|/gm)].map((m) => m.slice(1, 5));
        const expected = POLICY_CLASSES.flatMap(([cls, list]) =>
            list.map((p) => [p.name, cls, p.enforcementLevel, "validateStack" in p ? "after the update" : "before creation"]),
        );
        assert.deepStrictEqual(rows, expected);
    });

    it("never throws on missing properties or on values unknown during preview", async () => {
        // Every property any policy reads, each once missing and once unknown, on every type the pack knows.
        const keys = [
            "criteria", "scopes", "actions", "enabled", "queueName", "namespaceName", "name", "arn", "deadLetterConfig", "retryPolicy", "redrivePolicy",
            "destinationConfig", "eventSourceArn", "bisectBatchOnFunctionError", "functionResponseTypes", "maximumRetryAttempts", "policy", "policyArn",
            "managedPolicyArns", "inlinePolicies", "disableLocalAuth", "minimumTlsVersion", "enableNonSslPort", "clientProtocol", "endDate",
            "endDateRelative", "startDate", "rotateWhenChanged", "hashKey", "streamEnabled", "streamViewType", "pointInTimeRecovery",
            "serverSideEncryption", "httpsOnly", "siteConfig", "properties", "runtime", "packageType", "tags", "tagsAll", "metricQueries",
            "dimensions", "namespace", "metricName", "alarmActions", "actionsEnabled", "threshold", "comparisonOperator",
        ];
        const unknown = Object.fromEntries(keys.map((k) => [k, UNKNOWN_OBJECT]));
        const unknownNested = {
            criteria: { allOf: [{ metricName: "DeadletteredMessages", dimensions: UNKNOWN_OBJECT }] },
            deadLetterConfig: { arn: UNKNOWN_STRING },
            retryPolicy: { maximumRetryAttempts: UNKNOWN_STRING },
            siteConfig: { appSettings: [{ name: "x", value: UNKNOWN_STRING }] },
            tags: { "mesh:project": UNKNOWN_STRING, "mesh:stack": UNKNOWN_STRING },
            policy: `{"Statement":[{"Effect":"Allow","Action":"${UNKNOWN_STRING}"}]}`,
        };
        const resources = Object.values(T).flatMap((type, i) => [
            resource(type, `missing-${i}`, {}),
            resource(type, `unknown-${i}`, unknown, { outputs: unknown }),
            resource(type, `nested-${i}`, unknownNested, { outputs: unknownNested, dependsOn: [urnOf(type, `missing-${i}`)] }),
        ]);
        const report = await runPolicies(resources);
        for (const v of report.verdicts) {
            assert.deepStrictEqual(v.errors, [], `${v.policy} threw`);
            assert.deepStrictEqual(v.advisories, [], `${v.policy} read an unknown value without read()`);
        }
        // Missing required settings are violations, not silence.
        assert.ok(report.mandatoryViolations > 10, `only ${report.mandatoryViolations} violations for resources missing every setting`);
    });
});
