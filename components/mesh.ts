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
import * as aws from "@pulumi/aws";
import type { AzureToAwsConfig } from "./config-azure-to-aws";
import { IngressConsumer } from "./aws/ingress-consumer";
import { MAX_RETENTION_SECONDS } from "./aws/alarmed-queue";
import { RelayTrust } from "./aws/relay-trust";
import { RelayAudience } from "./azure/relay-audience";
import { RelayIdentity } from "./azure/relay-identity";
import * as monitor from "@pulumi/azure-native/monitor";
import * as operationalinsights from "@pulumi/azure-native/operationalinsights";
import { OutboxPostgres } from "./azure/outbox-postgres";
import { OutboxRelayApp } from "./azure/outbox-relay-app";

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
    /** Carry AWS-origin events to Azure (outbox, relay, API destination, Service Bus, consumer Function). Default true. */
    awsToAzure?: boolean;
    /** The Azure → AWS direction (docs/azure-to-aws.md); undefined switches it off. */
    azureToAws?: AzureToAwsArgs;
}

/** Settings of the Azure → AWS direction, and the business handler the AWS consumer runs. */
export interface AzureToAwsArgs extends AzureToAwsConfig {
    /** The business handler, packaged into the consumer Lambda: runs once per event id. */
    handler: BusinessHandler;
    /** AWS region of the bus (the Azure relay's AWS clients are pinned to it). */
    awsRegion: string;
}

/** The Azure → AWS direction's parts, for outputs and for the Azure relay app's settings. */
export interface AzureToAwsOutputs {
    /** The role the Azure relay assumes with its managed identity's token. */
    relayRoleArn: pulumi.Output<string>;
    /** The `aud` of the relay's token (App ID URI of the audience application). */
    relayAudience: pulumi.Output<string>;
    /** The issuer the IAM OIDC provider trusts (`https://sts.windows.net/<tenant>/`). */
    relayIssuer: pulumi.Output<string>;
    relayIdentityPrincipalId: pulumi.Output<string>;
    relayIdentityClientId: pulumi.Output<string>;
    relayIdentityId: pulumi.Output<string>;
    consumerQueueUrl: pulumi.Output<string>;
    consumerDeadLetterQueueUrl: pulumi.Output<string>;
    consumerDeadLetterQueueArn: pulumi.Output<string>;
    consumerTargetDeadLetterQueueUrl: pulumi.Output<string>;
    consumerFunctionName: pulumi.Output<string>;
    idempotencyTableName: pulumi.Output<string>;
    /** The Azure outbox server's FQDN and database: producers commit their outbox rows there. */
    outboxServerFqdn: pulumi.Output<string>;
    outboxDatabaseName: pulumi.Output<string>;
    /** The Azure relay Function app. */
    relayAppName: pulumi.Output<string>;
    /** The AWS consumer rule's pattern: disjoint from the AWS → Azure rule's. */
    eventPattern: string;
}

/**
 * The whole event mesh, both directions, each switchable:
 *  - AWS → Azure: the transactional outbox table and its relay, the event bus with its archive,
 *    the API destination that delivers to the Service Bus queue (dead-letter queue, alarms), the
 *    Entra ID identity EventBridge sends as, and the consumer Function with its Redis;
 *  - Azure → AWS: the relay's managed identity, the audience it requests tokens for, the IAM OIDC
 *    provider and role that trust exactly that identity, and the rule → SQS → consumer Lambda with
 *    DynamoDB idempotency.
 * Both share the bus; their rules take disjoint sources, so neither forwards the other's events.
 * Give it explicit providers (`providers: [awsProvider, azureNativeProvider, azureadProvider]`);
 * every child inherits them.
 */
export class MulticloudEventMesh extends pulumi.ComponentResource {
    public readonly busName: pulumi.Output<string>;
    public readonly busArn: pulumi.Output<string>;
    public readonly resourceGroupName: pulumi.Output<string>;
    public readonly alarmTopicArn: pulumi.Output<string>;
    /** The AWS → Azure direction's parts; undefined when it is switched off. */
    public readonly awsToAzure?: AwsToAzureOutputs;
    /** The Azure → AWS direction's parts; undefined when it is switched off. */
    public readonly azureToAws?: AzureToAwsOutputs;

    constructor(name: string, args: MulticloudEventMeshArgs, opts?: pulumi.ComponentResourceOptions) {
        super("multicloud-mesh:index:MulticloudEventMesh", name, {}, opts);

        const tags = args.tags ?? {};
        const awsToAzureOn = args.awsToAzure ?? true;
        if (!awsToAzureOn && args.azureToAws === undefined) {
            throw new Error("MulticloudEventMesh: args.awsToAzure is false and args.azureToAws is undefined: the mesh would carry nothing");
        }
        if (awsToAzureOn) {
            // Before anything is created: a Redis that cannot hold the dedupe window dead-letters healthy events.
            assertRedisHoldsWindow({
                sku: args.consumer.redisSku,
                eventsPerSecond: args.consumer.expectedEventsPerSecond,
                dedupeWindowDays: dedupeWindowDays(args),
            });
        }
        if (awsToAzureOn && args.azureToAws !== undefined) {
            const shared = args.azureToAws.sources.filter((s) => args.eventSources.includes(s));
            if (shared.length > 0) {
                throw new Error(`MulticloudEventMesh: args.azureToAws.sources ${JSON.stringify(shared)} are also in args.eventSources: Azure-origin events would be forwarded back to Azure`);
            }
        }

        const alarms = new AlarmTopic(`${name}-alarms`, { email: args.alarms.email, externalTopicArn: args.alarms.snsTopicArn, tags }, { parent: this });

        const resourceGroup = new resources.ResourceGroup(
            `${name}-rg`,
            { location: args.azureLocation, tags },
            { parent: this, protect: args.deletionProtection },
        );
        const tenantId = args.tenantId ?? azuread.getClientConfigOutput({ parent: this }).tenantId;

        let bus: { name: pulumi.Output<string>; arn: pulumi.Output<string> };
        if (awsToAzureOn) {
            this.awsToAzure = this.buildAwsToAzure(name, args, { alarms, resourceGroup, tenantId, tags });
            bus = { name: this.awsToAzure.busName, arn: this.awsToAzure.busArn };
        } else {
            // Without the AWS → Azure route no EventEgress owns the bus; the Azure relay still needs one.
            const own = new aws.cloudwatch.EventBus(`${name}-bus`, { tags }, { parent: this });
            bus = { name: own.name, arn: own.arn };
        }
        if (args.azureToAws !== undefined) {
            const monitoring = this.awsToAzure === undefined ? this.ownMonitoring(name, args, resourceGroup, tags) : { workspaceId: this.awsToAzure.logAnalyticsWorkspaceId, actionGroupId: this.awsToAzure.azureActionGroupId };
            this.azureToAws = this.buildAzureToAws(name, args, args.azureToAws, { alarms, resourceGroup, tenantId, bus, monitoring, tags });
        }

        this.busName = bus.name;
        this.busArn = bus.arn;
        this.resourceGroupName = resourceGroup.name;
        this.alarmTopicArn = alarms.topicArn;
        this.registerOutputs({
            busName: this.busName,
            busArn: this.busArn,
            alarmTopicArn: this.alarmTopicArn,
            awsToAzure: this.awsToAzure === undefined ? undefined : { queueName: this.awsToAzure.queueName, relayFunctionName: this.awsToAzure.relayFunctionName },
            azureToAws: this.azureToAws === undefined ? undefined : { relayRoleArn: this.azureToAws.relayRoleArn, consumerQueueUrl: this.azureToAws.consumerQueueUrl },
        });
    }

    /**
     * Without the AWS → Azure route there is no consumer workspace or Service Bus action group for
     * the Azure relay's diagnostics and alerts: the mesh gets its own.
     */
    private ownMonitoring(name: string, args: MulticloudEventMeshArgs, resourceGroup: resources.ResourceGroup, tags: Record<string, string>) {
        const workspace = new operationalinsights.Workspace(
            `${name}-logs`,
            // Log Analytics keeps 30..730 days.
            { resourceGroupName: resourceGroup.name, location: args.azureLocation, sku: { name: "PerGB2018" }, retentionInDays: Math.min(730, Math.max(30, args.logRetentionDays)), tags },
            { parent: this },
        );
        const emails = args.alarms.email === undefined ? [] : [{ name: "mesh-operators", emailAddress: args.alarms.email, useCommonAlertSchema: true }];
        const group = new monitor.ActionGroup(
            `${name}-alerts`,
            // Azure caps the short name at 12 characters.
            { resourceGroupName: resourceGroup.name, location: "Global", enabled: true, groupShortName: "mesh-alerts", emailReceivers: emails, tags },
            { parent: this },
        );
        return { workspaceId: workspace.id, actionGroupId: group.id };
    }

    private buildAzureToAws(
        name: string,
        args: MulticloudEventMeshArgs,
        route: AzureToAwsArgs,
        shared: {
            alarms: AlarmTopic;
            resourceGroup: resources.ResourceGroup;
            tenantId: pulumi.Input<string>;
            bus: { name: pulumi.Output<string>; arn: pulumi.Output<string> };
            monitoring: { workspaceId: pulumi.Output<string>; actionGroupId: pulumi.Output<string> };
            tags: Record<string, string>;
        },
    ): AzureToAwsOutputs {
        const { alarms, resourceGroup, tenantId, bus, monitoring, tags } = shared;
        const identity = new RelayIdentity(`${name}-relay-identity`, { resourceGroupName: resourceGroup.name, location: args.azureLocation, tags }, { parent: this });
        const audience = new RelayAudience(`${name}-relay-audience`, { displayName: `${name} AWS relay audience` }, { parent: this });
        const trust = new RelayTrust(
            `${name}-relay-trust`,
            { tenantId, audience: audience.audience, relayPrincipalId: identity.principalId, busArn: bus.arn, sources: route.sources, tags },
            { parent: this },
        );
        const consumer = new IngressConsumer(
            `${name}-aws-consumer`,
            {
                busName: bus.name,
                sources: route.sources,
                handler: route.handler,
                ...route.consumer,
                // A copy may wait 14 days in the queue, then 14 in a dead-letter queue before a redrive.
                dedupeWindowDays: (2 * MAX_RETENTION_SECONDS) / 86_400,
                maximumEventAgeSeconds: args.delivery.maximumEventAgeSeconds,
                maximumRetryAttempts: args.delivery.maximumRetryAttempts,
                alarmTopicArns: alarms.notifyTopicArns,
                deletionProtection: args.deletionProtection,
                logRetentionDays: args.logRetentionDays,
                tags,
            },
            { parent: this },
        );
        const pg = route.postgres;
        const deployer = azuread.getClientConfigOutput({ parent: this });
        const outbox = new OutboxPostgres(
            `${name}-outbox-pg`,
            {
                resourceGroupName: resourceGroup.name,
                location: args.azureLocation,
                skuName: pg.skuName,
                skuTier: pg.skuTier,
                version: pg.version,
                storageSizeGb: pg.storageSizeGb,
                highAvailability: pg.highAvailability,
                backupRetentionDays: pg.backupRetentionDays,
                geoRedundantBackup: pg.geoRedundantBackup,
                databaseName: pg.databaseName,
                deployerObjectId: deployer.objectId,
                deployerPrincipalName: pg.adminName !== "" ? pg.adminName : deployerName(args.consumer.deployerPrincipalType, deployer.objectId, this),
                deployerPrincipalType: args.consumer.deployerPrincipalType,
                tenantId,
                allowAzureServices: pg.allowAzureServices,
                deployerIpRanges: pg.deployerIpRanges,
                relay: { roleName: identity.name, objectId: identity.principalId },
                workspaceId: monitoring.workspaceId,
                deletionProtection: args.deletionProtection,
                tags,
            },
            { parent: this },
        );
        const relayApp = new OutboxRelayApp(
            `${name}-outbox-relay`,
            {
                resourceGroupName: resourceGroup.name,
                location: args.azureLocation,
                identity: { id: identity.id, principalId: identity.principalId, clientId: identity.clientId },
                postgres: { host: outbox.fqdn, database: outbox.databaseName, user: outbox.relayRoleName, table: outbox.outboxTable },
                awsRoleArn: trust.roleArn,
                awsRegion: route.awsRegion,
                eventBusName: bus.name,
                audience: audience.audience,
                workspaceId: monitoring.workspaceId,
                actionGroupId: monitoring.actionGroupId,
                backlogAgeAlarmSeconds: route.relay.backlogAgeAlarmSeconds,
                deployerPrincipalType: args.consumer.deployerPrincipalType,
                rolePropagationSeconds: args.consumer.rolePropagationSeconds,
                tags,
            },
            // The first run finds the relay's PostgreSQL role in place (it would retry on the next tick otherwise).
            { parent: this, dependsOn: [outbox] },
        );
        return {
            outboxServerFqdn: outbox.fqdn,
            outboxDatabaseName: outbox.databaseName,
            relayAppName: relayApp.functionAppName,
            relayRoleArn: trust.roleArn,
            relayAudience: audience.audience,
            relayIssuer: trust.issuerUrl,
            relayIdentityPrincipalId: identity.principalId,
            relayIdentityClientId: identity.clientId,
            relayIdentityId: identity.id,
            consumerQueueUrl: consumer.queueUrl,
            consumerDeadLetterQueueUrl: consumer.deadLetterQueueUrl,
            consumerDeadLetterQueueArn: consumer.deadLetterQueueArn,
            consumerTargetDeadLetterQueueUrl: consumer.targetDeadLetterQueueUrl,
            consumerFunctionName: consumer.functionName,
            idempotencyTableName: consumer.idempotencyTableName,
            eventPattern: consumer.eventPattern,
        };
    }

    private buildAwsToAzure(
        name: string,
        args: MulticloudEventMeshArgs,
        shared: { alarms: AlarmTopic; resourceGroup: resources.ResourceGroup; tenantId: pulumi.Input<string>; tags: Record<string, string> },
    ): AwsToAzureOutputs {
        const { alarms, resourceGroup, tenantId, tags } = shared;
        const outbox = new OutboxTable(`${name}-outbox`, { deletionProtection: args.deletionProtection, tags }, { parent: this });

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
}

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

/**
 * The name PostgreSQL knows the deployer by, from Entra ID: a person's UPN, a service principal's
 * display name (Learn, "Microsoft Entra authentication with Azure Database for PostgreSQL flexible
 * server": the administrator is named by UPN for users, by display name for service principals).
 * Reading it needs directory read access (Entra's default member permissions include reading users
 * and service principals); set outboxPostgresAdminName where that is restricted.
 */
function deployerName(type: "User" | "ServicePrincipal", objectId: pulumi.Input<string>, parent: pulumi.Resource): pulumi.Output<string> {
    return type === "User"
        ? azuread.getUserOutput({ objectId }, { parent }).userPrincipalName
        : azuread.getServicePrincipalOutput({ objectId }, { parent }).displayName;
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
