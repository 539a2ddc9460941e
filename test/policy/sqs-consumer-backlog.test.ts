import * as assert from "assert";
import { T } from "../../policy/policies";

import { assertFails, assertPasses, resource, UNKNOWN_STRING, verdictOf } from "./support";

describe("policy: lambda-sqs-source-queue-backlog-alarm", () => {
    const P = "lambda-sqs-source-queue-backlog-alarm";
    const arn = "arn:aws:sqs:eu-west-1:123456789012:inbound";
    const queue = (name: string = "inbound") => resource(T.sqsQueue, "inbound", {}, { outputs: { arn, name } });
    const mapping = (eventSourceArn: string = arn, dependsOn: string[] = []) => resource(T.eventSourceMapping, "consumer-mapping", { eventSourceArn, functionName: "consumer", functionResponseTypes: ["ReportBatchItemFailures"] }, { dependsOn });
    const alarm = (props: Record<string, unknown> = {}, dependsOn: string[] = []) =>
        resource(
            T.metricAlarm,
            "inbound-age-alarm",
            { namespace: "AWS/SQS", metricName: "ApproximateAgeOfOldestMessage", dimensions: { QueueName: "inbound" }, comparisonOperator: "GreaterThanThreshold", threshold: 300, period: 60, evaluationPeriods: 1, alarmActions: ["arn:aws:sns:eu-west-1:1:t"], ...props },
            { dependsOn },
        );

    it("passes a consumed queue with an age alarm, or with a depth alarm", async () => {
        assertPasses(await verdictOf(P, [queue(), mapping(), alarm()]));
        assertPasses(await verdictOf(P, [queue(), mapping(), alarm({ metricName: "ApproximateNumberOfMessagesVisible", threshold: 1000 })]));
    });
    it("fails a consumed queue without a backlog alarm, or whose alarm watches another queue or metric", async () => {
        assertFails(await verdictOf(P, [queue(), mapping()]), /"inbound".*feeds a Lambda but no CloudWatch alarm watches its backlog/);
        assertFails(await verdictOf(P, [queue(), mapping(), alarm({ dimensions: { QueueName: "inbound-dlq" } })]), /no CloudWatch alarm watches its backlog/);
        assertFails(await verdictOf(P, [queue(), mapping(), alarm({ metricName: "NumberOfMessagesSent" })]), /no CloudWatch alarm watches its backlog/);
    });
    it("fails an alarm that tells no one, or waits longer than maximumAgeSeconds", async () => {
        assertFails(await verdictOf(P, [queue(), mapping(), alarm({ alarmActions: [] })]), /has no alarm action/);
        assertFails(await verdictOf(P, [queue(), mapping(), alarm({ actionsEnabled: false })]), /has actions disabled/);
        assertFails(await verdictOf(P, [queue(), mapping(), alarm({ threshold: 86400 })]), /waits for messages 86400 s old \(more than 3600 s\)/);
        assertPasses(await verdictOf(P, [queue(), mapping(), alarm({ threshold: 86400 })], { [P]: { maximumAgeSeconds: 86400 } }));
    });
    it("relates preview values through dependencies; ignores queues nobody consumes", async () => {
        const q = queue(UNKNOWN_STRING);
        assertPasses(await verdictOf(P, [q, mapping(UNKNOWN_STRING, [q.urn]), alarm({ dimensions: { QueueName: UNKNOWN_STRING } }, [q.urn])]));
        assertFails(await verdictOf(P, [q, mapping(UNKNOWN_STRING, [q.urn]), alarm({ dimensions: { QueueName: UNKNOWN_STRING } })]), /no CloudWatch alarm watches its backlog/);
        assert.ok((await verdictOf(P, [queue(), alarm()])).notApplicable);
    });
});

describe("policy: alarm-enabled-with-actions-in-time, on log search alerts (scheduled query rules)", () => {
    const P = "alarm-enabled-with-actions-in-time";
    const rule = (props: Record<string, unknown> = {}) =>
        resource(T.scheduledQueryRule, "relay-backlog-alert", {
            kind: "LogAlert",
            enabled: true,
            scopes: ["/subscriptions/s/resourceGroups/rg/providers/Microsoft.Insights/components/ai"],
            evaluationFrequency: "PT5M",
            windowSize: "PT15M",
            criteria: { allOf: [{ query: "traces", timeAggregation: "Maximum", metricMeasureColumn: "age", operator: "GreaterThan", threshold: 600 }] },
            actions: { actionGroups: ["/subscriptions/s/resourceGroups/rg/providers/microsoft.insights/actionGroups/ag"] },
            ...props,
        });

    it("passes an enabled rule with an action group that decides within the hour", async () => assertPasses(await verdictOf(P, [rule()])));
    it("fails a disabled rule, one without action group, and one that decides a day late", async () => {
        assertFails(await verdictOf(P, [rule({ enabled: false })]), /is disabled/);
        assertFails(await verdictOf(P, [rule({ actions: { actionGroups: [] } })]), /no action group/);
        assertFails(await verdictOf(P, [rule({ actions: undefined })]), /no action group/);
        assertFails(await verdictOf(P, [rule({ windowSize: "P1D" })]), /windowSize "P1D"/);
    });
    it("does not apply to LogToMetric rules, which alert no one by design", async () => assert.ok((await verdictOf(P, [rule({ kind: "LogToMetric", actions: undefined })])).notApplicable));
});
