/**
 * The AWS → Azure direction of the mesh, built as children of MulticloudEventMesh (components/mesh.ts):
 * the outbox table and its relay, the bus, archive and API destination, the Service Bus ingress, the
 * publisher identity with its credential alarms, and the consumer Function with its Redis.
 */
import type * as pulumi from "@pulumi/pulumi";
import type * as resources from "@pulumi/azure-native/resources";
import type { AlarmTopic } from "./aws/alarm-topic";
import { CredentialAlarms } from "./aws/credential-alarms";
import { EventEgress } from "./aws/event-egress";
import { OutboxRelay } from "./aws/outbox-relay";
import { OutboxTable } from "./aws/outbox-table";
import { ConsumerApp } from "./azure/consumer-app";
import { AzureDiagnostics } from "./azure/diagnostics";
import { PublisherIdentity } from "./azure/publisher-identity";
import { ServiceBusIngress } from "./azure/service-bus-ingress";
import type { MulticloudEventMeshArgs } from "./mesh";

/** The AWS → Azure direction's parts. */
export interface AwsToAzureOutputs {
    busName: pulumi.Output<string>;
    busArn: pulumi.Output<string>;
    archiveArn: pulumi.Output<string>;
    outboxTableName: pulumi.Output<string>;
    outboxTableArn: pulumi.Output<string>;
    outboxStreamArn: pulumi.Output<string>;
    serviceBusNamespaceName: pulumi.Output<string>;
    serviceBusNamespaceFqdn: pulumi.Output<string>;
    queueName: pulumi.Output<string>;
    queueId: pulumi.Output<string>;
    apiDestinationArn: pulumi.Output<string>;
    connectionName: pulumi.Output<string>;
    awsDeadLetterQueueUrl: pulumi.Output<string>;
    awsDeadLetterQueueArn: pulumi.Output<string>;
    azureDeadLetterPath: pulumi.Output<string>;
    publisherClientId: pulumi.Output<string>;
    publisherSecretEndDate: pulumi.Output<string>;
    publisherActiveSecretSlot: pulumi.Output<string>;
    relayFunctionName: pulumi.Output<string>;
    relayFailureQueueUrl: pulumi.Output<string>;
    relayFailureQueueArn: pulumi.Output<string>;
    consumerFunctionAppName: pulumi.Output<string>;
    consumerIdentityPrincipalId: pulumi.Output<string>;
    redisHostName: pulumi.Output<string>;
    azureActionGroupId: pulumi.Output<string>;
    /** Every action group an Azure alert must notify: the mesh's own, then the team's when configured. */
    azureAlertActionGroupIds: pulumi.Output<string[]>;
    /** RFC 3339 instant at which the secret-expiry page fires unless a rotation moves it. */
    secretExpiryPageAt: pulumi.Output<string>;
    /** The consumer's Log Analytics workspace (the Azure relay's diagnostics go there too). */
    logAnalyticsWorkspaceId: pulumi.Output<string>;
    /** The AWS → Azure rule's pattern: disjoint from the Azure → AWS rule's. */
    eventPattern: string;
}

export function buildAwsToAzure(
    parent: pulumi.ComponentResource,
    name: string,
    args: MulticloudEventMeshArgs,
    shared: { alarms: AlarmTopic; resourceGroup: resources.ResourceGroup; tenantId: pulumi.Input<string>; tags: Record<string, string> },
): AwsToAzureOutputs {
    const { alarms, resourceGroup, tenantId, tags } = shared;
    const outbox = new OutboxTable(`${name}-outbox`, { deletionProtection: args.deletionProtection, tags }, { parent });

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
        { parent },
    );

    const publisher = new PublisherIdentity(
        `${name}-publisher`,
        {
            displayName: `${name} EventBridge publisher`,
            queueId: ingress.queueId,
            ...args.publisherRotation,
        },
        { parent },
    );

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
        { parent, dependsOn: [publisher] },
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
        { parent },
    );

    const relay = new OutboxRelay(
        `${name}-relay`,
        {
            streamArn: outbox.streamArn,
            tableArn: outbox.tableArn,
            busName: egress.busName,
            busArn: egress.busArn,
            sources: args.eventSources,
            serviceBusTier: args.serviceBus.sku,
            ...args.relay,
            alarmTopicArns: alarms.notifyTopicArns,
            deletionProtection: args.deletionProtection,
            logRetentionDays: args.logRetentionDays,
            tags,
        },
        { parent },
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
        { parent },
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
        { parent },
    );
    return {
        busName: egress.busName,
        busArn: egress.busArn,
        archiveArn: egress.archiveArn,
        outboxTableName: outbox.tableName,
        outboxTableArn: outbox.tableArn,
        outboxStreamArn: outbox.streamArn,
        serviceBusNamespaceName: ingress.namespaceName,
        serviceBusNamespaceFqdn: ingress.namespaceFqdn,
        queueName: ingress.queueName,
        queueId: ingress.queueId,
        apiDestinationArn: egress.apiDestinationArn,
        connectionName: egress.connectionName,
        awsDeadLetterQueueUrl: egress.deadLetterQueueUrl,
        awsDeadLetterQueueArn: egress.deadLetterQueueArn,
        azureDeadLetterPath: ingress.deadLetterPath,
        publisherClientId: publisher.clientId,
        publisherSecretEndDate: publisher.secretEndDate,
        publisherActiveSecretSlot: publisher.activeSlot,
        relayFunctionName: relay.functionName,
        relayFailureQueueUrl: relay.failureQueueUrl,
        relayFailureQueueArn: relay.failureQueueArn,
        consumerFunctionAppName: consumer.functionAppName,
        consumerIdentityPrincipalId: consumer.identityPrincipalId,
        redisHostName: consumer.redisHostName,
        azureActionGroupId: ingress.actionGroupId,
        azureAlertActionGroupIds: ingress.alertActionGroupIds,
        secretExpiryPageAt: credentialAlarms.secretExpiryPageAt,
        logAnalyticsWorkspaceId: consumer.logAnalyticsWorkspaceId,
        eventPattern: egress.eventPattern,
    };
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
