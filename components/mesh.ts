import * as pulumi from "@pulumi/pulumi";
import * as azuread from "@pulumi/azuread";
import * as resources from "@pulumi/azure-native/resources";
import { AlarmTopic } from "./aws/alarm-topic";
import { CredentialAlarms } from "./aws/credential-alarms";
import type { MeshConfig } from "./config";
import type { BusinessHandler } from "../runtime/consumer";
import { ConsumerApp } from "./azure/consumer-app";
import { EventEgress } from "./aws/event-egress";
import { OutboxRelay } from "./aws/outbox-relay";
import { OutboxTable } from "./aws/outbox-table";
import { PublisherIdentity } from "./azure/publisher-identity";
import { ServiceBusIngress } from "./azure/service-bus-ingress";
import { AzureDiagnostics } from "./azure/diagnostics";
import { assertRedisHoldsWindow } from "./azure/redis-sizing";

export interface MulticloudEventMeshArgs {
    /** Azure region of the resource group and the Service Bus namespace. */
    azureLocation: string;
    /** Entra ID tenant of the publisher application; the azuread provider's tenant when undefined. */
    tenantId?: pulumi.Input<string>;
    /** EventBridge `source` values the rule forwards to Azure (at least one). */
    eventSources: string[];
    /** Service Bus queue settings (name, delivery count, lock, TTL, duplicate detection). */
    queue: MeshConfig["queue"];
    /** Service Bus tier and, for Premium, messaging units. */
    serviceBus: MeshConfig["serviceBus"];
    /** EventBridge delivery to Azure: retry policy bounds and the API destination's rate. */
    delivery: MeshConfig["delivery"];
    /** Days the EventBridge archive keeps events for replay; 0 keeps them indefinitely. */
    archiveRetentionDays: number;
    /** Who every alarm notifies on both clouds, and how early the secret-expiry page fires. */
    alarms: MeshConfig["alarms"];
    /** Protect stateful resources (table, queues, namespace) against deletion. */
    deletionProtection: boolean;
    /** Rotation of the publisher's client secrets (period, grace, propagation wait). */
    publisherRotation: MeshConfig["publisher"];
    /** Relay Lambda and its stream mapping. */
    relay: MeshConfig["relay"];
    /** Days function logs are kept (a CloudWatch Logs retention value). */
    logRetentionDays: number;
    /** The consumer Function on Azure and its idempotency store. */
    consumer: MeshConfig["consumer"] & {
        /** The business handler, packaged into the Function: runs once per event id. */
        handler: BusinessHandler;
    };
    /** Tags on every taggable resource (AWS resources also get them from the provider's default tags). */
    tags?: Record<string, string>;
}

/**
 * The whole event mesh: on AWS the transactional outbox table, the event bus with its archive, and
 * the API destination that delivers to Azure with a dead-letter queue and alarms; on Azure the
 * Service Bus namespace and queue with a dead-letter alert, and the Entra ID identity EventBridge
 * sends as. Give it explicit providers (`providers: [awsProvider, azureNativeProvider,
 * azureadProvider]`); every child inherits them.
 */
export class MulticloudEventMesh extends pulumi.ComponentResource {
    public readonly busName: pulumi.Output<string>;
    public readonly busArn: pulumi.Output<string>;
    public readonly archiveArn: pulumi.Output<string>;
    public readonly outboxTableName: pulumi.Output<string>;
    public readonly outboxTableArn: pulumi.Output<string>;
    public readonly outboxStreamArn: pulumi.Output<string>;
    public readonly resourceGroupName: pulumi.Output<string>;
    public readonly serviceBusNamespaceName: pulumi.Output<string>;
    public readonly serviceBusNamespaceFqdn: pulumi.Output<string>;
    public readonly queueName: pulumi.Output<string>;
    public readonly queueId: pulumi.Output<string>;
    public readonly apiDestinationArn: pulumi.Output<string>;
    public readonly connectionName: pulumi.Output<string>;
    public readonly awsDeadLetterQueueUrl: pulumi.Output<string>;
    public readonly awsDeadLetterQueueArn: pulumi.Output<string>;
    public readonly azureDeadLetterPath: pulumi.Output<string>;
    public readonly publisherClientId: pulumi.Output<string>;
    public readonly publisherSecretEndDate: pulumi.Output<string>;
    public readonly publisherActiveSecretSlot: pulumi.Output<string>;
    public readonly alarmTopicArn: pulumi.Output<string>;
    public readonly relayFunctionName: pulumi.Output<string>;
    public readonly consumerFunctionAppName: pulumi.Output<string>;
    public readonly consumerIdentityPrincipalId: pulumi.Output<string>;
    public readonly redisHostName: pulumi.Output<string>;
    public readonly relayFailureQueueUrl: pulumi.Output<string>;
    public readonly relayFailureQueueArn: pulumi.Output<string>;
    public readonly azureActionGroupId: pulumi.Output<string>;
    /** Every action group an Azure alert must notify: the mesh's own, then the team's when configured. */
    public readonly azureAlertActionGroupIds: pulumi.Output<string[]>;
    /** RFC 3339 instant at which the secret-expiry page fires unless a rotation moves it. */
    public readonly secretExpiryPageAt: pulumi.Output<string>;

    constructor(name: string, args: MulticloudEventMeshArgs, opts?: pulumi.ComponentResourceOptions) {
        super("multicloud-mesh:index:MulticloudEventMesh", name, {}, opts);

        const tags = args.tags ?? {};
        // Before anything is created: a Redis that cannot hold the dedupe window dead-letters healthy events.
        assertRedisHoldsWindow({
            sku: args.consumer.redisSku,
            eventsPerSecond: args.consumer.expectedEventsPerSecond,
            dedupeWindowDays: dedupeWindowDays(args),
        });

        const alarms = new AlarmTopic(`${name}-alarms`, { email: args.alarms.email, externalTopicArn: args.alarms.snsTopicArn, tags }, { parent: this });

        const outbox = new OutboxTable(`${name}-outbox`, { deletionProtection: args.deletionProtection, tags }, { parent: this });

        const resourceGroup = new resources.ResourceGroup(
            `${name}-rg`,
            { location: args.azureLocation, tags },
            { parent: this, protect: args.deletionProtection },
        );

        const ingress = new ServiceBusIngress(
            `${name}-ingress`,
            {
                resourceGroupName: resourceGroup.name,
                location: args.azureLocation,
                namespacePrefix: namespacePrefix(name),
                sku: args.serviceBus.sku,
                capacity: args.serviceBus.capacity,
                queueName: args.queue.name,
                maxDeliveryCount: args.queue.maxDeliveryCount,
                lockDurationSeconds: args.queue.lockDurationSeconds,
                messageTtlDays: args.queue.messageTtlDays,
                duplicateDetectionWindowMinutes: args.queue.duplicateDetectionWindowMinutes,
                alertEmail: args.alarms.email,
                extraActionGroupIds: args.alarms.actionGroupId === undefined ? [] : [args.alarms.actionGroupId],
                deletionProtection: args.deletionProtection,
                tags,
            },
            { parent: this },
        );

        const publisher = new PublisherIdentity(
            `${name}-publisher`,
            {
                displayName: `${name} EventBridge publisher`,
                queueId: ingress.queueId,
                ...args.publisherRotation,
            },
            { parent: this },
        );

        const tenantId = args.tenantId ?? azuread.getClientConfigOutput({ parent: this }).tenantId;

        const egress = new EventEgress(
            `${name}-egress`,
            {
                sources: args.eventSources,
                archiveRetentionDays: args.archiveRetentionDays,
                namespaceFqdn: ingress.namespaceFqdn,
                queueName: ingress.queueName,
                credentials: { tenantId, clientId: publisher.clientId, clientSecret: publisher.clientSecret },
                maximumEventAgeSeconds: args.delivery.maximumEventAgeSeconds,
                maximumRetryAttempts: args.delivery.maximumRetryAttempts,
                rateLimitPerSecond: args.delivery.rateLimitPerSecond,
                alarmTopicArns: alarms.notifyTopicArns,
                deletionProtection: args.deletionProtection,
                tags,
            },
            // EventBridge must not get a token before Service Bus would honour it: wait for the role.
            { parent: this, dependsOn: [publisher] },
        );

        const credentialAlarms = new CredentialAlarms(
            `${name}-credential-alarms`,
            {
                topicArn: alarms.topicArn,
                topicKeyArn: alarms.keyArn,
                teamTopicArn: args.alarms.snsTopicArn,
                connectionArn: egress.connectionArn,
                secretEndDate: publisher.secretEndDate,
                activeSlot: publisher.activeSlot,
                expiryAlarmDays: args.alarms.secretExpiryDays,
                deletionProtection: args.deletionProtection,
                tags,
            },
            { parent: this },
        );

        const relay = new OutboxRelay(
            `${name}-relay`,
            {
                streamArn: outbox.streamArn,
                tableArn: outbox.tableArn,
                busName: egress.busName,
                busArn: egress.busArn,
                serviceBusTier: args.serviceBus.sku,
                ...args.relay,
                alarmTopicArns: alarms.notifyTopicArns,
                deletionProtection: args.deletionProtection,
                logRetentionDays: args.logRetentionDays,
                tags,
            },
            { parent: this },
        );

        const consumer = new ConsumerApp(
            `${name}-consumer`,
            {
                resourceGroupName: resourceGroup.name,
                location: args.azureLocation,
                namespaceFqdn: ingress.namespaceFqdn,
                queueName: ingress.queueName,
                queueId: ingress.queueId,
                lockDurationSeconds: args.queue.lockDurationSeconds,
                handler: args.consumer.handler,
                maxConcurrentCalls: args.consumer.maxConcurrentCalls,
                maximumInstanceCount: args.consumer.maximumInstanceCount,
                instanceMemoryMb: args.consumer.instanceMemoryMb,
                deployerPrincipalType: args.consumer.deployerPrincipalType,
                redisSku: args.consumer.redisSku,
                redisHighAvailability: args.consumer.redisHighAvailability,
                dedupeWindowDays: dedupeWindowDays(args),
                deletionProtection: args.deletionProtection,
                // Log Analytics keeps 30..730 days.
                logRetentionDays: Math.min(730, Math.max(30, args.logRetentionDays)),
                tags,
                rolePropagationSeconds: args.consumer.rolePropagationSeconds,
                settlementMode: args.consumer.settlementMode,
            },
            { parent: this },
        );

        new AzureDiagnostics(
            `${name}-diagnostics`,
            {
                resourceGroupName: resourceGroup.name,
                workspaceId: consumer.logAnalyticsWorkspaceId,
                targets: {
                    serviceBusNamespace: ingress.namespaceId,
                    functionApp: consumer.functionAppId,
                    storageAccount: consumer.storageAccountId,
                    redisCluster: consumer.redisClusterId,
                    redisDatabase: consumer.redisDatabaseId,
                },
                actionGroupId: ingress.actionGroupId,
                redisUsedMemoryAlertPercent: args.consumer.redisUsedMemoryAlertPercent,
                tags,
            },
            { parent: this },
        );
        this.consumerFunctionAppName = consumer.functionAppName;
        this.consumerIdentityPrincipalId = consumer.identityPrincipalId;
        this.redisHostName = consumer.redisHostName;

        this.relayFunctionName = relay.functionName;
        this.relayFailureQueueUrl = relay.failureQueueUrl;
        this.relayFailureQueueArn = relay.failureQueueArn;
        this.busName = egress.busName;
        this.busArn = egress.busArn;
        this.archiveArn = egress.archiveArn;
        this.outboxTableName = outbox.tableName;
        this.outboxTableArn = outbox.tableArn;
        this.outboxStreamArn = outbox.streamArn;
        this.resourceGroupName = resourceGroup.name;
        this.serviceBusNamespaceName = ingress.namespaceName;
        this.serviceBusNamespaceFqdn = ingress.namespaceFqdn;
        this.queueName = ingress.queueName;
        this.queueId = ingress.queueId;
        this.apiDestinationArn = egress.apiDestinationArn;
        this.connectionName = egress.connectionName;
        this.awsDeadLetterQueueUrl = egress.deadLetterQueueUrl;
        this.awsDeadLetterQueueArn = egress.deadLetterQueueArn;
        this.azureDeadLetterPath = ingress.deadLetterPath;
        this.publisherClientId = publisher.clientId;
        this.publisherSecretEndDate = publisher.secretEndDate;
        this.publisherActiveSecretSlot = publisher.activeSlot;
        this.alarmTopicArn = alarms.topicArn;
        this.azureActionGroupId = ingress.actionGroupId;
        this.azureAlertActionGroupIds = ingress.alertActionGroupIds;
        this.secretExpiryPageAt = credentialAlarms.secretExpiryPageAt;
        this.registerOutputs({
            busName: this.busName,
            busArn: this.busArn,
            outboxTableName: this.outboxTableName,
            outboxStreamArn: this.outboxStreamArn,
            serviceBusNamespaceFqdn: this.serviceBusNamespaceFqdn,
            queueName: this.queueName,
            apiDestinationArn: this.apiDestinationArn,
            connectionName: this.connectionName,
            awsDeadLetterQueueUrl: this.awsDeadLetterQueueUrl,
            azureDeadLetterPath: this.azureDeadLetterPath,
            publisherClientId: this.publisherClientId,
            alarmTopicArn: this.alarmTopicArn,
            secretExpiryPageAt: this.secretExpiryPageAt,
            relayFunctionName: this.relayFunctionName,
            relayFailureQueueUrl: this.relayFailureQueueUrl,
            consumerFunctionAppName: this.consumerFunctionAppName,
            redisHostName: this.redisHostName,
        });
    }
}

/** A Service Bus namespace prefix from the component name: lower-case, letters/digits/hyphens, ≤ 43. */
export function namespacePrefix(name: string): string {
    let prefix = name.toLowerCase().replace(/[^a-z0-9-]/g, "-").replace(/-+/g, "-").replace(/^[^a-z]+/, "");
    prefix = prefix.slice(0, 43).replace(/-+$/, "");
    return prefix.length >= 5 ? prefix : `mesh-${prefix}`.replace(/-+$/, "").padEnd(5, "0");
}

/**
 * How long the consumer must remember completed event ids: at least as long as any copy of an event
 * can come back — a week of slack, the AWS dead-letter queue's 14 days, the Service Bus message TTL,
 * and the archive's replay window (an archive kept forever is covered for a year; replays older
 * than that are re-applied, which the README says).
 */
export function dedupeWindowDays(args: Pick<MulticloudEventMeshArgs, "archiveRetentionDays" | "queue">): number {
    const archive = args.archiveRetentionDays === 0 ? 365 : args.archiveRetentionDays;
    return Math.max(7, 14, args.queue.messageTtlDays, archive);
}
