import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { EventEgress, EventEgressArgs } from "../../components/aws/event-egress";
import { ServiceBusIngress, ServiceBusIngressArgs } from "../../components/azure/service-bus-ingress";
import { PublisherIdentity } from "../../components/azure/publisher-identity";
import { OutboxRelay, OutboxRelayArgs } from "../../components/aws/outbox-relay";
import { ConsumerApp, ConsumerAppArgs } from "../../components/azure/consumer-app";
import { createFlexApp } from "../../components/azure/consumer-flex";

/** Components check their own arguments too, so a caller other than index.ts gets the same clear errors. */
describe("component argument validation", () => {
    before(async () => {
        await pulumi.runtime.setMocks(
            {
                newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
                call: () => ({}),
            },
            "multicloud-mesh",
            "validation",
        );
    });

    const egress: EventEgressArgs = {
        sources: ["enterprise.transactions"],
        archiveRetentionDays: 7,
        namespaceFqdn: "ns.servicebus.windows.net",
        queueName: "q",
        credentials: { tenantId: "t", clientId: "c", clientSecret: "s" },
        maximumEventAgeSeconds: 3600,
        maximumRetryAttempts: 185,
        rateLimitPerSecond: 10,
        alarmTopicArns: ["arn:aws:sns:eu-west-1:123456789012:t"],
        deletionProtection: false,
    };
    const ingress: ServiceBusIngressArgs = {
        resourceGroupName: "rg",
        location: "westeurope",
        namespacePrefix: "mesh-test",
        sku: "Standard",
        capacity: 1,
        queueName: "q",
        maxDeliveryCount: 10,
        lockDurationSeconds: 60,
        messageTtlDays: 14,
        duplicateDetectionWindowMinutes: 0,
        deletionProtection: false,
    };

    const relay: OutboxRelayArgs = {
        streamArn: "s",
        tableArn: "t",
        busName: "b",
        busArn: "a",
        sources: ["enterprise.transactions"],
        serviceBusTier: "Standard",
        memoryMb: 256,
        timeoutSeconds: 60,
        batchSize: 100,
        batchWindowSeconds: 1,
        maximumRetryAttempts: 10,
        maximumRecordAgeSeconds: 3600,
        iteratorAgeAlarmSeconds: 300,
        alarmTopicArns: ["arn:aws:sns:eu-west-1:123456789012:t"],
        logRetentionDays: 30,
        deletionProtection: false,
    };

    const consumer: ConsumerAppArgs = {
        resourceGroupName: "rg",
        location: "westeurope",
        namespaceFqdn: "ns.servicebus.windows.net",
        queueName: "q",
        queueId: "/q",
        lockDurationSeconds: 60,
        handler: async () => undefined,
        maxConcurrentCalls: 16,
        maximumInstanceCount: 100,
        instanceMemoryMb: 2048,
        deployerPrincipalType: "User",
        dedupeWindowDays: 14,
        deletionProtection: false,
        redisSku: "Balanced_B0",
        redisHighAvailability: false,
        logRetentionDays: 30,
    };

    const cases: Array<[string, () => unknown, RegExp]> = [
        ["ConsumerApp with a Basic cache SKU", () => new ConsumerApp("c1", { ...consumer, redisSku: "Basic_C0" }), /^ConsumerApp: args\.redisSku must be an Azure Managed Redis SKU/],
        ["ConsumerApp lock of 10 minutes", () => new ConsumerApp("c2", { ...consumer, lockDurationSeconds: 600 }), /^ConsumerApp: args\.lockDurationSeconds/],
        ["ConsumerApp 1 GB instances", () => new ConsumerApp("c3", { ...consumer, instanceMemoryMb: 1024 }), /^ConsumerApp: args\.instanceMemoryMb must be one of 512, 2048, 4096/],
        ["ConsumerApp 5 instances at most", () => new ConsumerApp("c4", { ...consumer, maximumInstanceCount: 5 }), /^ConsumerApp: args\.maximumInstanceCount must be an integer from 40 to 1000, got 5$/],
        ["OutboxRelay with infinite retries", () => new OutboxRelay("r1", { ...relay, maximumRetryAttempts: -1 }), /^OutboxRelay: args\.maximumRetryAttempts must be an integer from 0 to 10000, got -1$/],
        ["OutboxRelay batch of 0", () => new OutboxRelay("r2", { ...relay, batchSize: 0 }), /^OutboxRelay: args\.batchSize/],
        ["OutboxRelay without sources", () => new OutboxRelay("r3", { ...relay, sources: [] }), /^OutboxRelay: args\.sources must name at least one event source/],
        [
            "a Flex app setting Flex Consumption ignores, naming the component that builds the app",
            () =>
                createFlexApp(
                    "f1",
                    { component: "OutboxRelayApp", resourceGroupName: "rg", location: "westeurope", identityId: "/id", deploymentContainerUrl: "https://a.blob.core.windows.net/c", maximumInstanceCount: 40, instanceMemoryMb: 512, settings: { WEBSITE_CONTENTSHARE: "x" } },
                    { parent: new pulumi.ComponentResource("test:index:Parent", "f1-parent") },
                ),
            /^OutboxRelayApp: app settings WEBSITE_CONTENTSHARE are not used on Flex Consumption/,
        ],
        ["EventEgress without sources", () => new EventEgress("e1", { ...egress, sources: [] }), /^EventEgress: args\.sources must name at least one event source$/],
        ["EventEgress retry age 30 s", () => new EventEgress("e2", { ...egress, maximumEventAgeSeconds: 30 }), /^EventEgress: args\.maximumEventAgeSeconds must be an integer from 60 to 86400, got 30$/],
        ["EventEgress 200 retries", () => new EventEgress("e3", { ...egress, maximumRetryAttempts: 200 }), /^EventEgress: args\.maximumRetryAttempts/],
        ["EventEgress rate 301/s", () => new EventEgress("e4", { ...egress, rateLimitPerSecond: 301 }), /^EventEgress: args\.rateLimitPerSecond/],
        ["ServiceBusIngress delivery count 0", () => new ServiceBusIngress("i1", { ...ingress, maxDeliveryCount: 0 }), /^ServiceBusIngress: args\.maxDeliveryCount must be an integer from 1 to 2000, got 0$/],
        ["ServiceBusIngress Premium capacity 3", () => new ServiceBusIngress("i2", { ...ingress, sku: "Premium", capacity: 3 }), /^ServiceBusIngress: args\.capacity/],
        ["ServiceBusIngress bad prefix", () => new ServiceBusIngress("i3", { ...ingress, namespacePrefix: "Mesh_Test" }), /^ServiceBusIngress: args\.namespacePrefix/],
        ["ServiceBusIngress lock 10 min", () => new ServiceBusIngress("i4", { ...ingress, lockDurationSeconds: 600 }), /^ServiceBusIngress: args\.lockDurationSeconds/],
        ["PublisherIdentity secrets past Entra's 2 years", () => new PublisherIdentity("p1", { displayName: "p", queueId: "q", rotationDays: 480, graceDays: 30, propagationWaitSeconds: 60 }), /^PublisherIdentity: args\.graceDays with rotationDays 480 gives secrets living 750 days; Entra ID allows at most 730/],
        ["PublisherIdentity odd period", () => new PublisherIdentity("p2", { displayName: "p", queueId: "q", rotationDays: 91, graceDays: 14, propagationWaitSeconds: 60 }), /^PublisherIdentity: args\.rotationDays must be even/],
    ];
    for (const [what, build, message] of cases) {
        it(`rejects ${what}`, () =>
            assert.throws(build, (err: Error) => {
                assert.match(err.message, message);
                return true;
            }));
    }

    it("accepts valid arguments", () => {
        assert.doesNotThrow(() => new EventEgress("ok-egress", egress));
        assert.doesNotThrow(() => new ServiceBusIngress("ok-ingress", ingress));
    });
});
