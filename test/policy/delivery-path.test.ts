import * as assert from "assert";
import { OUTBOX_KEY_ATTRIBUTE } from "../../runtime/outbox-schema";
import { T } from "../../policy/policies";

import { assertFails, assertPasses, messages, resource, RG, UNKNOWN_STRING, verdictOf } from "./support";


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

describe("policy: eventbridge-target-retry-dlq", () => {
    const P = "eventbridge-target-retry-dlq";
    const destinationArn = "arn:aws:events:eu-west-1:123456789012:api-destination/to-azure/0f0e";
    const target = (extra: Record<string, unknown>) =>
        resource(T.eventTarget, "target", {
            arn: destinationArn,
            retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86400 },
            deadLetterConfig: { arn: "arn:aws:sqs:eu-west-1:123456789012:dlq" },
            ...extra,
        });

    it("passes a target with retries and a DLQ", async () => assertPasses(await verdictOf(P, [target({})])));
    it("passes a target that keeps EventBridge's default retry policy (24 h, 185 attempts)", async () => assertPasses(await verdictOf(P, [target({ retryPolicy: undefined })])));
    it("fails a target without deadLetterConfig", async () => assertFails(await verdictOf(P, [target({ deadLetterConfig: undefined })]), /no deadLetterConfig\.arn/));
    it("fails every kind of target without a DLQ (SQS, Lambda), not only API destinations", async () => {
        for (const arn of ["arn:aws:sqs:eu-west-1:1:q", "arn:aws:lambda:eu-west-1:1:function:f", UNKNOWN_STRING]) {
            assertFails(await verdictOf(P, [target({ arn, deadLetterConfig: undefined })]), /no deadLetterConfig/);
        }
    });
    it("fails zero retries (configurable)", async () => {
        const zero = target({ retryPolicy: { maximumRetryAttempts: 0, maximumEventAgeInSeconds: 3600 } });
        assertFails(await verdictOf(P, [zero]), /needs at least 1/);
        assertPasses(await verdictOf(P, [zero], { [P]: { minimumRetryAttempts: 0 } }));
    });
    it("fails a retry horizon shorter than the configured outage (default 1 h)", async () => {
        const short = target({ retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 600 } });
        assertFails(await verdictOf(P, [short]), /maximumEventAgeInSeconds is 600/);
        assertPasses(await verdictOf(P, [short], { [P]: { minimumEventAgeSeconds: 600 } }));
    });
    it("fails a dead-letter ARN that is not an SQS queue", async () =>
        assertFails(await verdictOf(P, [target({ deadLetterConfig: { arn: "arn:aws:sns:eu-west-1:1:topic" } })]), /not an SQS queue ARN/));
    it("passes an unknown DLQ ARN (preview) and checks it again at up", async () => assertPasses(await verdictOf(P, [target({ deadLetterConfig: { arn: UNKNOWN_STRING } })])));
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

describe("policy: sns-alarm-topic-has-subscription", () => {
    const P = "sns-alarm-topic-has-subscription";
    const topic = resource(T.snsTopic, "alarms", {}, { outputs: { arn: "arn:aws:sns:eu-west-1:1:alarms" } });
    const alarm = resource(T.metricAlarm, "depth", { alarmActions: ["arn:aws:sns:eu-west-1:1:alarms"] });
    const subscription = resource(T.snsSubscription, "mail", { topic: "arn:aws:sns:eu-west-1:1:alarms", protocol: "email", endpoint: "o@corp.example" });
    it("passes a subscribed topic, fails an unsubscribed one", async () => {
        assertPasses(await verdictOf(P, [topic, alarm, subscription]));
        assertFails(await verdictOf(P, [topic, alarm]), /no subscription in the stack/);
    });
    it("during preview relates alarm, topic and subscription through dependencies", async () => {
        const previewAlarm = { ...resource(T.metricAlarm, "depth", { alarmActions: [UNKNOWN_STRING] }), dependsOn: [topic.urn] };
        const previewSub = { ...resource(T.snsSubscription, "mail", { topic: UNKNOWN_STRING, protocol: "email" }), dependsOn: [topic.urn] };
        assertPasses(await verdictOf(P, [topic, previewAlarm, previewSub]));
        assertFails(await verdictOf(P, [topic, previewAlarm]), /no subscription/);
    });
    it("does not apply to topics outside the stack", async () => assert.ok((await verdictOf(P, [alarm])).notApplicable));
});

describe("policy: servicebus-queue-dead-letter-settings", () => {
    const P = "servicebus-queue-dead-letter-settings";
    const q = (extra: Record<string, unknown>) => resource(T.serviceBusQueue, "q", { deadLetteringOnMessageExpiration: true, maxDeliveryCount: 5, defaultMessageTimeToLive: "P3D", ...extra });
    it("passes, and reads ISO 8601 durations", async () => assertPasses(await verdictOf(P, [q({ defaultMessageTimeToLive: "P1DT0H0M0S" })])));
    it("fails the API default (expired messages deleted), a huge delivery count, a TTL of minutes", async () => {
        assertFails(await verdictOf(P, [q({ deadLetteringOnMessageExpiration: undefined })]), /deleted, not dead-lettered/);
        assertFails(await verdictOf(P, [q({ maxDeliveryCount: 100 })]), /at most 10 deliveries/);
        assertFails(await verdictOf(P, [q({ defaultMessageTimeToLive: "PT10M" })]), /shorter than 86400/);
    });
});
