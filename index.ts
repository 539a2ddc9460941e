import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as azuread from "@pulumi/azuread";
import { Provider as AzureNativeProvider } from "@pulumi/azure-native/provider";
import * as azureNativeAuthorization from "@pulumi/azure-native/authorization";
import { alarmReceiverWarnings, readMeshConfig } from "./components/config";
import { MulticloudEventMesh } from "./components/mesh";
import { logEventHandler } from "./runtime/handlers";
import { StackDeployments } from "./components/deployments";

const config = readMeshConfig(new pulumi.Config());
const stack = pulumi.getStack();
for (const warning of alarmReceiverWarnings(config.alarms)) void pulumi.log.warn(warning);
const tags = { "mesh:project": pulumi.getProject(), "mesh:stack": stack, ...config.tags };

// Credentials come from the environment (AWS_*, ARM_* / OIDC in Pulumi Deployments), never from config.
const awsProvider = new aws.Provider("aws", { region: config.aws.region as aws.Region, defaultTags: { tags } });
const azureNativeProvider = new AzureNativeProvider("azure-native", { location: config.azure.location });
const azureadProvider = new azuread.Provider("azuread", { tenantId: config.azure.tenantId });

const mesh = new MulticloudEventMesh(
    `mesh-${stack}`,
    {
        azureLocation: config.azure.location,
        tenantId: config.azure.tenantId,
        eventSources: config.events.sources,
        queue: config.queue,
        serviceBus: config.serviceBus,
        delivery: config.delivery,
        archiveRetentionDays: config.archiveRetentionDays,
        alarms: config.alarms,
        deletionProtection: config.deletionProtection,
        publisherRotation: config.publisher,
        relay: config.relay,
        logRetentionDays: config.logRetentionDays,
        // Replace with your business handler: it runs once per event id.
        consumer: { ...config.consumer, handler: logEventHandler },
        tags,
        awsToAzure: config.directions.awsToAzure,
        // Replace with your business handler for Azure-origin events: it runs once per event id.
        azureToAws: config.directions.azureToAws && { ...config.directions.azureToAws, awsRegion: config.aws.region, handler: logEventHandler },
    },
    { providers: [awsProvider, azureNativeProvider, azureadProvider] },
);

if (config.deployments) {
    const d = config.deployments;
    new StackDeployments(`mesh-${stack}-deployments`, {
        organization: d.organization ?? pulumi.getOrganization(),
        project: pulumi.getProject(),
        stack,
        source: { repository: d.repository, branch: d.branch, repoDir: d.repoDir, paths: d.paths.length > 0 ? d.paths : undefined },
        aws: { roleArn: d.awsRoleArn },
        azure: {
            clientId: d.azureClientId,
            tenantId: config.azure.tenantId ?? azuread.getClientConfigOutput({ provider: azureadProvider }).tenantId,
            subscriptionId: d.azureSubscriptionId ?? azureNativeAuthorization.getClientConfigOutput({ provider: azureNativeProvider }).subscriptionId,
        },
        scheduleCron: d.scheduleCron,
    });
}

export const awsRegion = config.aws.region;
export const azureLocation = config.azure.location;
export const busName = mesh.busName;
export const busArn = mesh.busArn;
export const resourceGroupName = mesh.resourceGroupName;
export const alarmTopicArn = mesh.alarmTopicArn;

// AWS → Azure (undefined, so not exported, when awsToAzureEnabled is false).
const awsToAzure = mesh.awsToAzure;
export const archiveArn = awsToAzure?.archiveArn;
export const outboxTableName = awsToAzure?.outboxTableName;
export const outboxStreamArn = awsToAzure?.outboxStreamArn;
export const serviceBusNamespaceFqdn = awsToAzure?.serviceBusNamespaceFqdn;
export const queueName = awsToAzure?.queueName;
export const apiDestinationArn = awsToAzure?.apiDestinationArn;
// npm run smoke reads these two: the connection it checks, and a source the rule forwards.
// Comma-separated (sources cannot contain commas): stack outputs read by MeshReference are strings.
export const connectionName = awsToAzure?.connectionName;
export const eventSources = awsToAzure === undefined ? undefined : config.events.sources.join(",");
export const awsDeadLetterQueueUrl = awsToAzure?.awsDeadLetterQueueUrl;
export const awsDeadLetterQueueArn = awsToAzure?.awsDeadLetterQueueArn;
export const azureDeadLetterPath = awsToAzure?.azureDeadLetterPath;
export const publisherClientId = awsToAzure?.publisherClientId;
export const publisherSecretEndDate = awsToAzure?.publisherSecretEndDate;
export const publisherActiveSecretSlot = awsToAzure?.publisherActiveSecretSlot;
export const secretExpiryPageAt = awsToAzure?.secretExpiryPageAt;
export const relayFunctionName = awsToAzure?.relayFunctionName;
export const relayFailureQueueUrl = awsToAzure?.relayFailureQueueUrl;
export const relayFailureQueueArn = awsToAzure?.relayFailureQueueArn;
export const consumerFunctionAppName = awsToAzure?.consumerFunctionAppName;
export const consumerIdentityPrincipalId = awsToAzure?.consumerIdentityPrincipalId;
export const redisHostName = awsToAzure?.redisHostName;

// Azure → AWS (undefined, so not exported, when azureToAwsEnabled is false).
const azureToAws = mesh.azureToAws;
export const azureEventSources = azureToAws === undefined ? undefined : config.directions.azureToAws?.sources.join(",");
export const azureRelayRoleArn = azureToAws?.relayRoleArn;
export const azureRelayAudience = azureToAws?.relayAudience;
export const azureRelayIssuer = azureToAws?.relayIssuer;
export const azureRelayIdentityPrincipalId = azureToAws?.relayIdentityPrincipalId;
export const awsConsumerQueueUrl = azureToAws?.consumerQueueUrl;
export const awsConsumerDeadLetterQueueUrl = azureToAws?.consumerDeadLetterQueueUrl;
export const awsConsumerDeadLetterQueueArn = azureToAws?.consumerDeadLetterQueueArn;
export const awsConsumerTargetDeadLetterQueueUrl = azureToAws?.consumerTargetDeadLetterQueueUrl;
export const awsConsumerFunctionName = azureToAws?.consumerFunctionName;
export const awsIdempotencyTableName = azureToAws?.idempotencyTableName;
export const azureOutboxServerFqdn = azureToAws?.outboxServerFqdn;
export const azureOutboxDatabaseName = azureToAws?.outboxDatabaseName;
export const azureRelayAppName = azureToAws?.relayAppName;
