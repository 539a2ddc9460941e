/**
 * The Azure → AWS direction of the mesh, built as children of MulticloudEventMesh (components/mesh.ts):
 * the relay's managed identity, the audience its tokens are for, the IAM OIDC trust, the outbox
 * server, the relay Function app and the AWS consumer (docs/azure-to-aws.md).
 */
import * as pulumi from "@pulumi/pulumi";
import * as azuread from "@pulumi/azuread";
import * as monitor from "@pulumi/azure-native/monitor";
import * as operationalinsights from "@pulumi/azure-native/operationalinsights";
import type * as resources from "@pulumi/azure-native/resources";
import type { BusinessHandler } from "../runtime/consumer";
import type { AlarmTopic } from "./aws/alarm-topic";
import { MAX_RETENTION_SECONDS } from "./aws/alarmed-queue";
import { IngressConsumer } from "./aws/ingress-consumer";
import { RelayTrust } from "./aws/relay-trust";
import { OutboxPostgres } from "./azure/outbox-postgres";
import { OutboxRelayApp } from "./azure/outbox-relay-app";
import { RelayAudience } from "./azure/relay-audience";
import { RelayIdentity } from "./azure/relay-identity";
import type { AzureToAwsConfig } from "./config-azure-to-aws";
import type { MulticloudEventMeshArgs } from "./mesh";

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
 * Without the AWS → Azure route there is no consumer workspace or Service Bus action group for
 * the Azure relay's diagnostics and alerts: the mesh gets its own.
 */
export function ownMonitoring(parent: pulumi.ComponentResource, name: string, args: MulticloudEventMeshArgs, resourceGroup: resources.ResourceGroup, tags: Record<string, string>) {
    const workspace = new operationalinsights.Workspace(
        `${name}-logs`,
        // Log Analytics keeps 30..730 days.
        { resourceGroupName: resourceGroup.name, location: args.azureLocation, sku: { name: "PerGB2018" }, retentionInDays: Math.min(730, Math.max(30, args.logRetentionDays)), tags },
        { parent },
    );
    const emails = args.alarms.email === undefined ? [] : [{ name: "mesh-operators", emailAddress: args.alarms.email, useCommonAlertSchema: true }];
    const group = new monitor.ActionGroup(
        `${name}-alerts`,
        // Azure caps the short name at 12 characters.
        { resourceGroupName: resourceGroup.name, location: "Global", enabled: true, groupShortName: "mesh-alerts", emailReceivers: emails, tags },
        { parent },
    );
    return { workspaceId: workspace.id, actionGroupId: group.id };
}

export function buildAzureToAws(
    parent: pulumi.ComponentResource,
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
    const identity = new RelayIdentity(`${name}-relay-identity`, { resourceGroupName: resourceGroup.name, location: args.azureLocation, tags }, { parent });
    const audience = new RelayAudience(`${name}-relay-audience`, { displayName: `${name} AWS relay audience` }, { parent });
    const trust = new RelayTrust(
        `${name}-relay-trust`,
        { tenantId, audience: audience.audience, relayPrincipalId: identity.principalId, busArn: bus.arn, sources: route.sources, tags },
        { parent },
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
        { parent },
    );
    const pg = route.postgres;
    const deployer = azuread.getClientConfigOutput({ parent });
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
            deployerPrincipalName: pg.adminName !== "" ? pg.adminName : deployerName(args.consumer.deployerPrincipalType, deployer.objectId, parent),
            deployerPrincipalType: args.consumer.deployerPrincipalType,
            tenantId,
            allowAzureServices: pg.allowAzureServices,
            deployerIpRanges: pg.deployerIpRanges,
            relay: { roleName: identity.name, objectId: identity.principalId },
            workspaceId: monitoring.workspaceId,
            deletionProtection: args.deletionProtection,
            tags,
        },
        { parent },
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
        { parent, dependsOn: [outbox] },
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
