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
export const archiveArn = mesh.archiveArn;
export const outboxTableName = mesh.outboxTableName;
export const outboxStreamArn = mesh.outboxStreamArn;
export const resourceGroupName = mesh.resourceGroupName;
export const serviceBusNamespaceFqdn = mesh.serviceBusNamespaceFqdn;
export const queueName = mesh.queueName;
export const apiDestinationArn = mesh.apiDestinationArn;
// npm run smoke reads these two: the connection it checks, and a source the rule forwards.
// Comma-separated (sources cannot contain commas): stack outputs read by MeshReference are strings.
export const connectionName = mesh.connectionName;
export const eventSources = config.events.sources.join(",");
export const awsDeadLetterQueueUrl = mesh.awsDeadLetterQueueUrl;
export const awsDeadLetterQueueArn = mesh.awsDeadLetterQueueArn;
export const azureDeadLetterPath = mesh.azureDeadLetterPath;
export const publisherClientId = mesh.publisherClientId;
export const publisherSecretEndDate = mesh.publisherSecretEndDate;
export const publisherActiveSecretSlot = mesh.publisherActiveSecretSlot;
export const secretExpiryPageAt = mesh.secretExpiryPageAt;
export const alarmTopicArn = mesh.alarmTopicArn;
export const relayFunctionName = mesh.relayFunctionName;
export const relayFailureQueueUrl = mesh.relayFailureQueueUrl;
export const relayFailureQueueArn = mesh.relayFailureQueueArn;
export const consumerFunctionAppName = mesh.consumerFunctionAppName;
export const consumerIdentityPrincipalId = mesh.consumerIdentityPrincipalId;
export const redisHostName = mesh.redisHostName;
