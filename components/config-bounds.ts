/**
 * What the cloud accepts for the values components/config.ts checks: regions, sizes, bounds and name
 * patterns, each with its source.
 */
import type { ServiceBusSku } from "./config-types";

/** AWS commercial regions that offer EventBridge API destinations. */
export const AWS_REGIONS: readonly string[] = [
    "us-east-1", "us-east-2", "us-west-1", "us-west-2",
    "ca-central-1", "ca-west-1", "sa-east-1", "mx-central-1",
    "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-central-2",
    "eu-north-1", "eu-south-1", "eu-south-2",
    "ap-east-1", "ap-south-1", "ap-south-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7",
    "me-south-1", "me-central-1", "il-central-1", "af-south-1",
];

/** Azure public-cloud regions (ARM location names) where Service Bus Standard and Premium are offered. */
export const AZURE_LOCATIONS: readonly string[] = [
    "eastus", "eastus2", "centralus", "northcentralus", "southcentralus", "westcentralus",
    "westus", "westus2", "westus3", "canadacentral", "canadaeast", "brazilsouth", "mexicocentral",
    "northeurope", "westeurope", "uksouth", "ukwest", "francecentral", "germanywestcentral",
    "switzerlandnorth", "norwayeast", "swedencentral", "polandcentral", "italynorth", "spaincentral",
    "uaenorth", "qatarcentral", "israelcentral", "southafricanorth",
    "centralindia", "southindia", "westindia", "eastasia", "southeastasia", "japaneast", "japanwest",
    "koreacentral", "koreasouth", "australiaeast", "australiasoutheast", "australiacentral",
    "newzealandnorth", "indonesiacentral", "malaysiawest",
];

/** Retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS: readonly number[] = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/**
 * Flex Consumption instance sizes (MB) and scale-out limit bounds: Microsoft's reference template
 * Azure-Samples/azure-functions-flex-consumption-samples IaC/bicep/main.bicep (commit 9519a36:
 * instanceMemoryMB @allowed [512, 2048, 4096], maximumInstanceCount @minValue 40 @maxValue 1000)
 * and Learn "Azure Functions Flex Consumption plan hosting".
 */
export const FLEX_INSTANCE_MEMORY_MB: readonly number[] = [512, 2048, 4096];
export const FLEX_MAXIMUM_INSTANCE_COUNT = { min: 40, max: 1000 } as const;

export const SERVICE_BUS_SKUS: readonly ServiceBusSku[] = ["Standard", "Premium"];
export const PREMIUM_CAPACITIES: readonly number[] = [1, 2, 4, 8, 16];

/** EventBridge's documented bounds for a target's retry policy and an API destination's rate. */
export const RETRY_AGE_BOUNDS = { min: 60, max: 86400 } as const;
export const RETRY_ATTEMPTS_BOUNDS = { min: 0, max: 185 } as const;
export const RATE_LIMIT_BOUNDS = { min: 1, max: 300 } as const;

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// EventBridge `source`: 1..256 printable characters; we also refuse the reserved "aws." prefix,
// which PutEvents rejects for custom events.
export const EVENT_SOURCE = /^[A-Za-z0-9._\-/]{1,256}$/;
// Service Bus entity names: letters, digits, '.', '-', '_', start and end alphanumeric, at most 260.
export const QUEUE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,258}[A-Za-z0-9])?$/;
export const REDIS_SKU = /^(Balanced|MemoryOptimized|ComputeOptimized|FlashOptimized)_[A-Z]\d+$/;
export const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
// SNS topic ARN. Topic names: 1-256 ASCII letters, digits, '_' and '-' (SNS API reference,
// CreateTopic, "Name"); a FIFO topic's name ends in ".fifo" and every Publish to it needs a
// MessageGroupId (SNS API reference, Publish), which CloudWatch alarms and the Scheduler/EventBridge
// targets here do not send: FIFO topics are refused.
export const SNS_TOPIC_ARN = /^arn:aws(?:-[a-z]+)*:sns:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):([A-Za-z0-9_-]{1,256})$/;
// Azure Monitor action group resource id: the ActionGroups_CreateOrUpdate path in
// Azure/azure-rest-api-specs specification/monitor/resource-manager/Microsoft.Insights/stable/2023-01-01/actionGroups_API.json;
// the resource group name follows common-types/resource-management/v3 ResourceGroupNameParameter
// (1-90 of letters, digits, '_', '-', '.', '(', ')'); the action group name has no pattern there (any
// non-empty path segment). ARM ids are case-insensitive, so the fixed segments are matched that way.
export const ACTION_GROUP_ID = /^\/subscriptions\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/resourceGroups\/[-\w.()]{1,90}\/providers\/Microsoft\.Insights\/actionGroups\/[^/]{1,260}$/i;
export const TAG = /^([^=]{1,128})=(.{0,256})$/;
