/**
 * Every configuration key with its default: Pulumi.yaml declares the same keys with the same defaults
 * (test/components/config.test.ts keeps the two identical), so a program run without the Pulumi CLI
 * (the offline preview, the tests) behaves as `pulumi up` would.
 */
import { AZURE_TO_AWS_DEFAULTS } from "./config-azure-to-aws";

export const PROJECT = "multicloud-mesh";

/** Every key the program reads, with the default Pulumi.yaml declares for it. */
export const CONFIG_DEFAULTS = {
    awsRegion: "us-east-1",
    azureLocation: "westeurope",
    entraTenantId: "",
    eventSources: ["enterprise.transactions"],
    queueName: "mesh-events",
    queueMaxDeliveryCount: 10,
    queueLockDurationSeconds: 60,
    queueMessageTtlDays: 14,
    queueDuplicateDetectionWindowMinutes: 0,
    serviceBusSku: "Standard",
    serviceBusCapacity: 1,
    retryMaximumEventAgeSeconds: 86400,
    retryMaximumAttempts: 185,
    apiDestinationRateLimitPerSecond: 300,
    archiveRetentionDays: 7,
    alarmEmail: "",
    alarmSnsTopicArn: "",
    alarmActionGroupId: "",
    requireAlarmReceiver: false,
    secretExpiryAlarmDays: 21,
    deletionProtection: false,
    publisherRotationDays: 90,
    publisherRotationGraceDays: 14,
    publisherPropagationWaitSeconds: 120,
    relayMemoryMb: 256,
    relayTimeoutSeconds: 60,
    relayBatchSize: 100,
    relayBatchWindowSeconds: 1,
    relayMaximumRetryAttempts: 10,
    relayMaximumRecordAgeSeconds: 21600,
    relayIteratorAgeAlarmSeconds: 300,
    logRetentionDays: 30,
    consumerMaxConcurrentCalls: 16,
    consumerMaximumInstanceCount: 100,
    consumerInstanceMemoryMb: 2048,
    consumerDeployerPrincipalType: "User",
    redisSku: "Balanced_B0",
    redisHighAvailability: false,
    // Azure operations (diagnostics, RBAC propagation, Redis sizing, settlement fallback).
    // Microsoft: role assignment changes can take up to 10 minutes to take effect
    // (learn.microsoft.com/azure/role-based-access-control/troubleshooting).
    azureRolePropagationSeconds: 600,
    consumerExpectedEventsPerSecond: 1,
    redisUsedMemoryAlertPercent: 70,
    consumerSettlementMode: "sdk",
    deploymentsEnabled: false,
    deploymentsOrganization: "",
    deploymentsRepository: "",
    deploymentsBranch: "main",
    deploymentsRepoDir: "",
    deploymentsPaths: [] as string[],
    deploymentsAwsRoleArn: "",
    deploymentsAzureClientId: "",
    deploymentsAzureSubscriptionId: "",
    deploymentsScheduleCron: "0 4 * * 1",
    tags: [] as string[],
    ...AZURE_TO_AWS_DEFAULTS,
} as const;

export type ConfigKey = keyof typeof CONFIG_DEFAULTS;

/** A key as Pulumi names it (`multicloud-mesh:<key>`): every problem message names the key this way. */
export function key(name: ConfigKey): string {
    return `${PROJECT}:${name}`;
}
