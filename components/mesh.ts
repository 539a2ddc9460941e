/**
 * MulticloudEventMesh: the one class index.ts uses. It checks what both directions must agree on,
 * builds what they share (alarm topic, resource group, bus) and composes them:
 * ./mesh-aws-to-azure.ts and ./mesh-azure-to-aws.ts build each direction's children.
 */
import * as pulumi from "@pulumi/pulumi";
import * as azuread from "@pulumi/azuread";
import * as aws from "@pulumi/aws";
import * as resources from "@pulumi/azure-native/resources";
import type { BusinessHandler } from "../runtime/consumer";
import { AlarmTopic } from "./aws/alarm-topic";
import { assertRedisHoldsWindow } from "./azure/redis-sizing";
import type { MeshConfig } from "./config";
import { AwsToAzureOutputs, buildAwsToAzure, dedupeWindowDays } from "./mesh-aws-to-azure";
import { AzureToAwsArgs, AzureToAwsOutputs, buildAzureToAws, ownMonitoring } from "./mesh-azure-to-aws";

export { dedupeWindowDays, namespacePrefix } from "./mesh-aws-to-azure";
export type { AwsToAzureOutputs } from "./mesh-aws-to-azure";
export type { AzureToAwsArgs, AzureToAwsOutputs } from "./mesh-azure-to-aws";

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
            this.awsToAzure = buildAwsToAzure(this, name, args, { alarms, resourceGroup, tenantId, tags });
            bus = { name: this.awsToAzure.busName, arn: this.awsToAzure.busArn };
        } else {
            // Without the AWS → Azure route no EventEgress owns the bus; the Azure relay still needs one.
            const own = new aws.cloudwatch.EventBus(`${name}-bus`, { tags }, { parent: this });
            bus = { name: own.name, arn: own.arn };
        }
        if (args.azureToAws !== undefined) {
            const monitoring = this.awsToAzure === undefined ? ownMonitoring(this, name, args, resourceGroup, tags) : { workspaceId: this.awsToAzure.logAnalyticsWorkspaceId, actionGroupId: this.awsToAzure.azureActionGroupId };
            this.azureToAws = buildAzureToAws(this, name, args, args.azureToAws, { alarms, resourceGroup, tenantId, bus, monitoring, tags });
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
}
