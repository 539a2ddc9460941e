/**
 * One valid resource per type the cloud-constraints catalog knows, and for each a deliberately broken
 * value with the rule that must catch it. The valid set must pass clean, so every violation a broken
 * case produces is the broken value's own.
 */
import type { ConstrainedResource } from "../../tools/cloud-constraints";

const SUB = "/subscriptions/00000000-0000-4000-8000-000000000001";
const RG = `${SUB}/resourceGroups/rg1`;
const GUID = "11111111-2222-4333-8444-555555555555";
export const IDS = {
    namespace: `${RG}/providers/Microsoft.ServiceBus/namespaces/meshns01`,
    redis: `${RG}/providers/Microsoft.Cache/redisEnterprise/cache1`,
    flexPlan: `${RG}/providers/Microsoft.Web/serverfarms/flexplan`,
    y1Plan: `${RG}/providers/Microsoft.Web/serverfarms/y1plan`,
    site: `${RG}/providers/Microsoft.Web/sites/flexapp`,
    workspace: `${RG}/providers/Microsoft.OperationalInsights/workspaces/logs1`,
    identity: `${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1`,
};
const ARN = (service: string, rest: string) => `arn:aws:${service}:eu-west-1:123456789012:${rest}`;
const POLICY = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sqs:SendMessage", Resource: "*" }] });

const r = (type: string, name: string, inputs: Record<string, unknown>, extra: Partial<ConstrainedResource> = {}): ConstrainedResource => ({ type, name, inputs, custom: true, outputs: {}, ...extra });

export function validResources(): ConstrainedResource[] {
    return [
        r("azure-native:resources:ResourceGroup", "rg", { resourceGroupName: "rg1", location: "westeurope" }),
        r("azure-native:managedidentity:UserAssignedIdentity", "id", { resourceName: "id1", resourceGroupName: "rg1" }, { outputs: { id: IDS.identity } }),
        r("azure-native:authorization:RoleAssignment", "ra", { principalId: GUID, principalType: "ServicePrincipal", roleDefinitionId: `${SUB}/providers/Microsoft.Authorization/roleDefinitions/${GUID}`, scope: IDS.namespace }),
        r("azure-native:authorization:ManagementLockByScope", "lock", { lockName: "no-delete", level: "CanNotDelete", scope: IDS.namespace, notes: "keep" }),
        r("azure-native:operationalinsights:Workspace", "logs", { workspaceName: "logs1", resourceGroupName: "rg1", sku: { name: "PerGB2018" }, retentionInDays: 30 }, { outputs: { id: IDS.workspace } }),
        r("azure-native:applicationinsights:Component", "ai", { resourceName: "ai1", resourceGroupName: "rg1", kind: "web", applicationType: "web", ingestionMode: "LogAnalytics", workspaceResourceId: IDS.workspace }),
        r("azure-native:servicebus:Namespace", "ns", { namespaceName: "meshns01", resourceGroupName: "rg1", sku: { name: "Standard", tier: "Standard" }, minimumTlsVersion: "1.2" }, { outputs: { id: IDS.namespace } }),
        r("azure-native:servicebus:Queue", "queue", { namespaceName: "meshns01", resourceGroupName: "rg1", queueName: "mesh-events", lockDuration: "PT1M", maxDeliveryCount: 5, requiresSession: false }),
        r("azure-native:storage:StorageAccount", "st", { accountName: "meshst01", resourceGroupName: "rg1", kind: "StorageV2", sku: { name: "Standard_LRS" }, minimumTlsVersion: "TLS1_2" }),
        r("azure-native:storage:BlobContainer", "packages", { containerName: "packages", accountName: "meshst01", resourceGroupName: "rg1", publicAccess: "None" }),
        r("azure-native:storage:Blob", "pkg", { blobName: "app.zip", containerName: "packages", accountName: "meshst01", resourceGroupName: "rg1", type: "Block" }),
        r("azure-native:redisenterprise:RedisEnterprise", "redis", { clusterName: "cache1", resourceGroupName: "rg1", sku: { name: "Balanced_B0" }, publicNetworkAccess: "Enabled", minimumTlsVersion: "1.2", highAvailability: "Disabled" }, { outputs: { id: IDS.redis } }),
        r("azure-native:redisenterprise:Database", "db", { clusterName: "cache1", databaseName: "default", resourceGroupName: "rg1", clusteringPolicy: "EnterpriseCluster", evictionPolicy: "NoEviction", clientProtocol: "Encrypted", port: 10000, persistence: { aofEnabled: true, aofFrequency: "1s" } }, { replaceOnChanges: ["clusteringPolicy"], deleteBeforeReplace: true }),
        r("azure-native:redisenterprise:AccessPolicyAssignment", "access", { accessPolicyAssignmentName: "consumeraccess", clusterName: "cache1", databaseName: "default", resourceGroupName: "rg1", accessPolicyName: "default", user: { objectId: GUID } }),
        r("azure-native:web:AppServicePlan", "flexplan", { name: "flexplan", resourceGroupName: "rg1", kind: "functionapp", reserved: true, sku: { name: "FC1", tier: "FlexConsumption" } }, { outputs: { id: IDS.flexPlan } }),
        r("azure-native:web:WebApp", "flexapp", {
            name: "flexapp",
            resourceGroupName: "rg1",
            kind: "functionapp,linux",
            serverFarmId: IDS.flexPlan,
            identity: { type: "UserAssigned", userAssignedIdentities: [IDS.identity] },
            siteConfig: { minTlsVersion: "1.2", appSettings: [{ name: "AzureWebJobsStorage__accountName", value: "meshst01" }] },
            functionAppConfig: {
                deployment: { storage: { type: "blobContainer", value: "https://meshst01.blob.core.windows.net/packages", authentication: { type: "UserAssignedIdentity", userAssignedIdentityResourceId: IDS.identity } } },
                runtime: { name: "node", version: "22" },
                scaleAndConcurrency: { maximumInstanceCount: 40, instanceMemoryMB: 2048 },
            },
        }, { outputs: { id: IDS.site } }),
        r("azure-native:web:WebAppFtpAllowed", "ftp", { name: "flexapp", resourceGroupName: "rg1", allow: false }),
        r("azure-native:web:WebAppScmAllowed", "scm", { name: "flexapp", resourceGroupName: "rg1", allow: false }),
        r("azure-native:monitor:ActionGroup", "ag", { actionGroupName: "mesh-alerts", resourceGroupName: "rg1", groupShortName: "mesh-alerts", enabled: true, emailReceivers: [{ name: "oncall", emailAddress: "oncall@example.com" }] }),
        r("azure-native:monitor:MetricAlert", "dlq-alert", {
            ruleName: "dlq-alert",
            resourceGroupName: "rg1",
            location: "global",
            severity: 1,
            enabled: true,
            evaluationFrequency: "PT1M",
            windowSize: "PT5M",
            scopes: [IDS.namespace],
            criteria: {
                odataType: "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                allOf: [{ criterionType: "StaticThresholdCriterion", name: "dlq", metricNamespace: "Microsoft.ServiceBus/namespaces", metricName: "DeadletteredMessages", operator: "GreaterThan", threshold: 0, timeAggregation: "Maximum", dimensions: [{ name: "EntityName", operator: "Include", values: ["mesh-events"] }] }],
            },
        }),
        r("azure-native:monitor:DiagnosticSetting", "diag", { name: "to-logs", resourceUri: IDS.namespace, workspaceId: IDS.workspace, logs: [{ categoryGroup: "allLogs", enabled: true }], metrics: [{ category: "AllMetrics", enabled: true }] }),
        r("azuread:index/application:Application", "app", { displayName: "publisher", signInAudience: "AzureADMyOrg" }),
        r("azuread:index/servicePrincipal:ServicePrincipal", "sp", { clientId: GUID }),
        r("azuread:index/applicationPassword:ApplicationPassword", "pw", { applicationId: `/applications/${GUID}`, endDate: "2026-04-15T00:00:00Z" }),
        r("aws:dynamodb/table:Table", "outbox", { name: "outbox", billingMode: "PAY_PER_REQUEST", hashKey: "event_id", attributes: [{ name: "event_id", type: "S" }], streamEnabled: true, streamViewType: "NEW_IMAGE" }),
        r("aws:sqs/queue:Queue", "dlq", { name: "mesh-dlq", messageRetentionSeconds: 1209600, sqsManagedSseEnabled: true }),
        r("aws:sqs/queuePolicy:QueuePolicy", "dlq-policy", { queueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/mesh-dlq", policy: POLICY }),
        r("aws:sns/topic:Topic", "alarms", { name: "alarms", kmsMasterKeyId: ARN("kms", `key/${GUID}`) }),
        r("aws:sns/topicPolicy:TopicPolicy", "alarms-policy", { arn: ARN("sns", "alarms"), policy: POLICY }),
        r("aws:kms/key:Key", "key", { deletionWindowInDays: 30, enableKeyRotation: true, policy: POLICY }),
        r("aws:iam/role:Role", "role", { name: "relay-role", assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }] }) }),
        r("aws:iam/rolePolicy:RolePolicy", "role-policy", { name: "relay-policy", role: "relay-role", policy: POLICY }),
        r("aws:lambda/function:Function", "relay", { name: "relay", runtime: "nodejs22.x", handler: "index.handler", role: ARN("iam", "role/relay-role").replace(":eu-west-1", ""), memorySize: 256, timeout: 60, architectures: ["arm64"], loggingConfig: { logFormat: "JSON", applicationLogLevel: "INFO" } }),
        r("aws:lambda/eventSourceMapping:EventSourceMapping", "mapping", { functionName: "relay", eventSourceArn: ARN("dynamodb", "table/outbox/stream/2026-01-01T00:00:00.000"), startingPosition: "TRIM_HORIZON", batchSize: 100, maximumRetryAttempts: 10, maximumRecordAgeInSeconds: 21600 }),
        r("aws:cloudwatch/logGroup:LogGroup", "logs", { name: "/aws/lambda/relay", retentionInDays: 30 }),
        r("aws:cloudwatch/metricAlarm:MetricAlarm", "alarm", { name: "dlq-depth", comparisonOperator: "GreaterThanThreshold", statistic: "Maximum", period: 60, evaluationPeriods: 1, threshold: 0, treatMissingData: "notBreaching", alarmActions: [ARN("sns", "alarms")] }),
        r("aws:cloudwatch/eventBus:EventBus", "bus", { name: "mesh-bus" }),
        r("aws:cloudwatch/eventArchive:EventArchive", "archive", { name: "mesh-archive", eventSourceArn: ARN("events", "event-bus/mesh-bus"), retentionDays: 3, eventPattern: '{"source":["x"]}' }),
        r("aws:cloudwatch/eventRule:EventRule", "rule", { name: "mesh-rule", eventBusName: "mesh-bus", eventPattern: '{"source":["x"]}', state: "ENABLED" }),
        r("aws:cloudwatch/eventTarget:EventTarget", "target", { rule: "mesh-rule", arn: ARN("events", `api-destination/dest/${GUID}`), roleArn: "arn:aws:iam::123456789012:role/target", retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 3600 }, deadLetterConfig: { arn: ARN("sqs", "mesh-dlq") } }),
        r("aws:cloudwatch/eventConnection:EventConnection", "connection", { name: "mesh-connection", authorizationType: "OAUTH_CLIENT_CREDENTIALS", authParameters: { oauth: { authorizationEndpoint: "https://login.microsoftonline.com/t/oauth2/v2.0/token", httpMethod: "POST" } } }),
        r("aws:cloudwatch/eventApiDestination:EventApiDestination", "destination", { name: "mesh-destination", connectionArn: ARN("events", `connection/c/${GUID}`), httpMethod: "POST", invocationEndpoint: "https://meshns01.servicebus.windows.net/mesh-events/messages", invocationRateLimitPerSecond: 50 }),
        r("azure-native:monitor:ScheduledQueryRule", "heartbeat-missing", { ruleName: "heartbeat-missing", resourceGroupName: "rg1", kind: "LogAlert", severity: 1, evaluationFrequency: "PT5M", windowSize: "PT15M", scopes: [IDS.workspace], criteria: { allOf: [{ query: "AppTraces | where Message has 'heartbeat'", timeAggregation: "Count", operator: "LessThan", threshold: 1 }] } }),
        r("azure-native:dbforpostgresql:Server", "pg", { serverName: "mesh-outbox-1", resourceGroupName: "rg1", version: "16", sku: { name: "Standard_B1ms", tier: "Burstable" }, storage: { storageSizeGB: 32, autoGrow: "Enabled" }, authConfig: { activeDirectoryAuth: "Enabled", passwordAuth: "Disabled", tenantId: GUID }, backup: { backupRetentionDays: 7, geoRedundantBackup: "Disabled" }, highAvailability: { mode: "Disabled" }, network: { publicNetworkAccess: "Enabled" }, createMode: "Create" }, { replaceOnChanges: ["backup.geoRedundantBackup"] }),
        r("azure-native:dbforpostgresql:Configuration", "pg-tls", { configurationName: "ssl_min_protocol_version", serverName: "mesh-outbox-1", resourceGroupName: "rg1", value: "TLSv1.2", source: "user-override" }),
        r("azure-native:dbforpostgresql:Database", "pg-db", { databaseName: "mesh_outbox", serverName: "mesh-outbox-1", resourceGroupName: "rg1" }),
        r("azure-native:dbforpostgresql:FirewallRule", "pg-fw", { firewallRuleName: "deployer", serverName: "mesh-outbox-1", resourceGroupName: "rg1", startIpAddress: "203.0.113.7", endIpAddress: "203.0.113.7" }),
        r("azure-native:dbforpostgresql:AdministratorsMicrosoftEntra", "pg-admin", { objectId: GUID, serverName: "mesh-outbox-1", resourceGroupName: "rg1", principalName: "deployer@example.com", principalType: "User", tenantId: GUID }),
        r("aws:sns/topicSubscription:TopicSubscription", "oncall", { topic: ARN("sns", "alarms"), protocol: "email", endpoint: "oncall@example.com" }),
        r("aws:lambda/permission:Permission", "allow-events", { action: "lambda:InvokeFunction", function: "relay", principal: "events.amazonaws.com", statementId: "AllowEvents" }),
        r("aws:iam/policy:Policy", "heartbeat-policy", { name: "heartbeat", policy: POLICY }),
        r("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "relay-oidc", { url: `https://sts.windows.net/${GUID}/`, clientIdLists: [`api://${GUID}`] }),
        r("azuread:index/applicationIdentifierUri:ApplicationIdentifierUri", "relay-uri", { applicationId: `/applications/${GUID}`, identifierUri: `api://${GUID}` }),
        r("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "attach", { role: "relay-role", policyArn: "arn:aws:iam::123456789012:policy/heartbeat" }),
        r("aws:scheduler/schedule:Schedule", "heartbeat", { name: "mesh-heartbeat", scheduleExpression: "rate(5 minutes)", flexibleTimeWindow: { mode: "OFF" }, target: { arn: ARN("events", "event-bus/default"), roleArn: "arn:aws:iam::123456789012:role/scheduler", retryPolicy: { maximumRetryAttempts: 10, maximumEventAgeInSeconds: 3600 } } }),
    ];
}

export interface BrokenCase {
    type: string;
    /** What is broken, for the test title. */
    what: string;
    /** Breaks one value of the type's valid resource (mutates in place; may also change options). */
    breakIt(resource: ConstrainedResource, all: ConstrainedResource[]): void;
    /** The violation expected: its path, and a fragment of its rule text. */
    path: string;
    rule: string;
    value: unknown;
}

export const BROKEN: BrokenCase[] = [
    { type: "azure-native:resources:ResourceGroup", what: "name ending in a period", breakIt: (x) => (x.inputs.resourceGroupName = "rg1."), path: "resourceGroupName", rule: "does not end with a period", value: "rg1." },
    { type: "azure-native:managedidentity:UserAssignedIdentity", what: "two-character name", breakIt: (x) => (x.inputs.resourceName = "id"), path: "resourceName", rule: "3-128 characters", value: "id" },
    { type: "azure-native:authorization:RoleAssignment", what: "unknown principalType", breakIt: (x) => (x.inputs.principalType = "App"), path: "principalType", rule: "must be one of", value: "App" },
    { type: "azure-native:authorization:ManagementLockByScope", what: "unknown lock level", breakIt: (x) => (x.inputs.level = "NoDelete"), path: "level", rule: "must be one of", value: "NoDelete" },
    { type: "azure-native:operationalinsights:Workspace", what: "3-year retention", breakIt: (x) => (x.inputs.retentionInDays = 1096), path: "retentionInDays", rule: "from 4 to 730", value: 1096 },
    { type: "azure-native:applicationinsights:Component", what: "LogAnalytics ingestion without a workspace", breakIt: (x) => delete x.inputs.workspaceResourceId, path: "workspaceResourceId", rule: "needs workspaceResourceId", value: undefined },
    { type: "azure-native:servicebus:Namespace", what: "name ending in -sb", breakIt: (x) => (x.inputs.namespaceName = "meshns01-sb"), path: "namespaceName", rule: '"-sb"', value: "meshns01-sb" },
    { type: "azure-native:servicebus:Queue", what: "10-minute lock", breakIt: (x) => (x.inputs.lockDuration = "PT10M"), path: "lockDuration", rule: "at most 5 minutes", value: "PT10M" },
    { type: "azure-native:storage:StorageAccount", what: "hyphen in the account name", breakIt: (x) => (x.inputs.accountName = "mesh-st01"), path: "accountName", rule: "lowercase letters and digits only", value: "mesh-st01" },
    { type: "azure-native:storage:BlobContainer", what: "uppercase container name", breakIt: (x) => (x.inputs.containerName = "Packages"), path: "containerName", rule: "lowercase letters, digits and hyphens", value: "Packages" },
    { type: "azure-native:storage:Blob", what: "page blob (not a provider BlobType)", breakIt: (x) => (x.inputs.type = "Page"), path: "type", rule: "must be one of", value: "Page" },
    { type: "azure-native:redisenterprise:RedisEnterprise", what: "TLS 1.0", breakIt: (x) => (x.inputs.minimumTlsVersion = "1.0"), path: "minimumTlsVersion", rule: "must be one of", value: "1.0" },
    {
        type: "azure-native:redisenterprise:Database",
        what: "clusteringPolicy without replaceOnChanges",
        breakIt: (x) => {
            x.replaceOnChanges = [];
        },
        path: "clusteringPolicy",
        rule: "replaceOnChanges",
        value: "EnterpriseCluster",
    },
    {
        // The blocker of issue 10: left to the provider, the name is the logical name + 8 hex, hyphens and all.
        type: "azure-native:redisenterprise:AccessPolicyAssignment",
        what: "auto-named from a hyphenated logical name",
        breakIt: (x) => {
            delete x.inputs.accessPolicyAssignmentName;
            x.name = "mesh-dev-consumer-redis-access";
        },
        path: "accessPolicyAssignmentName (auto-name: logical name + 8 random hex characters)",
        rule: "^[A-Za-z0-9]{1,60}$",
        value: "mesh-dev-consumer-redis-access0a1b2c3d",
    },
    { type: "azure-native:web:AppServicePlan", what: "FC1 on Windows", breakIt: (x) => (x.inputs.reserved = false), path: "reserved", rule: "Flex Consumption", value: false },
    { type: "azure-native:web:WebApp", what: "FUNCTIONS_WORKER_RUNTIME on Flex", breakIt: (x) => (x.inputs.siteConfig as { appSettings: unknown[] }).appSettings.push({ name: "FUNCTIONS_WORKER_RUNTIME", value: "node" }), path: "siteConfig.appSettings[1].name", rule: "Flex Consumption rejects", value: "FUNCTIONS_WORKER_RUNTIME" },
    { type: "azure-native:web:WebAppFtpAllowed", what: "allow as a string", breakIt: (x) => (x.inputs.allow = "false"), path: "allow", rule: "boolean", value: "false" },
    { type: "azure-native:web:WebAppScmAllowed", what: "allow missing", breakIt: (x) => delete x.inputs.allow, path: "allow", rule: "required", value: undefined },
    { type: "azure-native:monitor:ActionGroup", what: "13-character short name", breakIt: (x) => (x.inputs.groupShortName = "mesh-alerts-x"), path: "groupShortName", rule: "at most 12", value: "mesh-alerts-x" },
    { type: "azure-native:monitor:MetricAlert", what: "metric namespace of another resource type", breakIt: (x) => ((x.inputs.criteria as { allOf: Array<Record<string, unknown>> }).allOf[0].metricNamespace = "Microsoft.Cache/redisEnterprise"), path: "criteria.allOf[0].metricNamespace", rule: "resource type of the alert's scope", value: "Microsoft.Cache/redisEnterprise" },
    { type: "azure-native:monitor:DiagnosticSetting", what: "no destination", breakIt: (x) => delete x.inputs.workspaceId, path: "workspaceId", rule: "at least one destination", value: undefined },
    { type: "azuread:index/application:Application", what: "unknown audience", breakIt: (x) => (x.inputs.signInAudience = "Everyone"), path: "signInAudience", rule: "must be one of", value: "Everyone" },
    { type: "aws:iam/openIdConnectProvider:OpenIdConnectProvider", what: "an http issuer", breakIt: (x) => (x.inputs.url = "http://sts.windows.net/t/"), path: "url", rule: "https URL", value: "http://sts.windows.net/t/" },
    { type: "azuread:index/applicationIdentifierUri:ApplicationIdentifierUri", what: "a bare name as App ID URI", breakIt: (x) => (x.inputs.identifierUri = "api://mesh"), path: "identifierUri", rule: "api://<application client id>", value: "api://mesh" },
    { type: "azuread:index/servicePrincipal:ServicePrincipal", what: "client id not a GUID", breakIt: (x) => (x.inputs.clientId = "publisher"), path: "clientId", rule: "a GUID", value: "publisher" },
    { type: "azuread:index/applicationPassword:ApplicationPassword", what: "end date not RFC 3339", breakIt: (x) => (x.inputs.endDate = "15/04/2026"), path: "endDate", rule: "RFC 3339", value: "15/04/2026" },
    { type: "aws:dynamodb/table:Table", what: "capacity on an on-demand table", breakIt: (x) => (x.inputs.readCapacity = 5), path: "readCapacity", rule: "on-demand", value: 5 },
    { type: "aws:sqs/queue:Queue", what: "15-day retention", breakIt: (x) => (x.inputs.messageRetentionSeconds = 1296000), path: "messageRetentionSeconds", rule: "from 60 to 1209600", value: 1296000 },
    { type: "aws:sqs/queuePolicy:QueuePolicy", what: "policy without Version", breakIt: (x) => (x.inputs.policy = JSON.stringify({ Statement: [] })), path: "policy", rule: "Version", value: JSON.stringify({ Statement: [] }) },
    { type: "aws:sns/topic:Topic", what: ".fifo name on a standard topic", breakIt: (x) => (x.inputs.name = "alarms.fifo"), path: "name", rule: "FIFO topic", value: "alarms.fifo" },
    { type: "aws:sns/topicPolicy:TopicPolicy", what: "queue ARN as the topic", breakIt: (x) => (x.inputs.arn = ARN("sqs", "q")), path: "arn", rule: "SNS topic ARN", value: ARN("sqs", "q") },
    { type: "aws:kms/key:Key", what: "3-day deletion window", breakIt: (x) => (x.inputs.deletionWindowInDays = 3), path: "deletionWindowInDays", rule: "from 7 to 30", value: 3 },
    { type: "aws:iam/role:Role", what: "space in the role name", breakIt: (x) => (x.inputs.name = "relay role"), path: "name", rule: "letters, digits and + = , . @ _ -", value: "relay role" },
    { type: "aws:iam/rolePolicy:RolePolicy", what: "policy not JSON", breakIt: (x) => (x.inputs.policy = "allow all"), path: "policy", rule: "JSON policy document", value: "allow all" },
    { type: "aws:lambda/function:Function", what: "16-minute timeout", breakIt: (x) => (x.inputs.timeout = 960), path: "timeout", rule: "from 1 to 900", value: 960 },
    { type: "aws:lambda/eventSourceMapping:EventSourceMapping", what: "stream without startingPosition", breakIt: (x) => delete x.inputs.startingPosition, path: "startingPosition", rule: "need startingPosition", value: undefined },
    { type: "aws:cloudwatch/logGroup:LogGroup", what: "retention of 10 days", breakIt: (x) => (x.inputs.retentionInDays = 10), path: "retentionInDays", rule: "must be one of", value: 10 },
    { type: "aws:cloudwatch/metricAlarm:MetricAlarm", what: "45-second period", breakIt: (x) => (x.inputs.period = 45), path: "period", rule: "multiple of 60", value: 45 },
    { type: "aws:cloudwatch/eventBus:EventBus", what: "a custom bus named default", breakIt: (x) => (x.inputs.name = "default"), path: "name", rule: "no 'default'", value: "default" },
    { type: "aws:cloudwatch/eventArchive:EventArchive", what: "49-character name", breakIt: (x) => (x.inputs.name = "a".repeat(49)), path: "name", rule: "1-48 characters", value: "a".repeat(49) },
    { type: "aws:cloudwatch/eventRule:EventRule", what: "schedule on a custom bus", breakIt: (x) => (x.inputs.scheduleExpression = "rate(5 minutes)"), path: "scheduleExpression", rule: "only on the default event bus", value: "rate(5 minutes)" },
    { type: "aws:cloudwatch/eventTarget:EventTarget", what: "186 retries", breakIt: (x) => ((x.inputs.retryPolicy as Record<string, unknown>).maximumRetryAttempts = 186), path: "retryPolicy.maximumRetryAttempts", rule: "from 0 to 185", value: 186 },
    { type: "aws:cloudwatch/eventConnection:EventConnection", what: "OAuth via PATCH", breakIt: (x) => ((x.inputs.authParameters as { oauth: Record<string, unknown> }).oauth.httpMethod = "PATCH"), path: "authParameters.oauth.httpMethod", rule: "must be one of", value: "PATCH" },
    { type: "aws:cloudwatch/eventApiDestination:EventApiDestination", what: "plain-http endpoint", breakIt: (x) => (x.inputs.invocationEndpoint = "http://meshns01.servicebus.windows.net/q/messages"), path: "invocationEndpoint", rule: "https URL", value: "http://meshns01.servicebus.windows.net/q/messages" },
    { type: "azure-native:monitor:ScheduledQueryRule", what: "a log alert without a query", breakIt: (x) => delete (x.inputs.criteria as { allOf: Array<Record<string, unknown>> }).allOf[0].query, path: "criteria.allOf[0].query", rule: "has a query", value: undefined },
    { type: "azure-native:dbforpostgresql:Server", what: "high availability on the Burstable tier", breakIt: (x) => (x.inputs.highAvailability = { mode: "ZoneRedundant" }), path: "highAvailability.mode", rule: "Burstable", value: "ZoneRedundant" },
    { type: "azure-native:dbforpostgresql:Configuration", what: "TLS minimum that PostgreSQL does not know", breakIt: (x) => (x.inputs.value = "TLSv1.4"), path: "value", rule: "accepts", value: "TLSv1.4" },
    { type: "azure-native:dbforpostgresql:Database", what: "database name with a space", breakIt: (x) => (x.inputs.databaseName = "mesh outbox"), path: "databaseName", rule: "letters, digits", value: "mesh outbox" },
    { type: "azure-native:dbforpostgresql:FirewallRule", what: "an address that is not IPv4", breakIt: (x) => (x.inputs.startIpAddress = "203.0.113.256"), path: "startIpAddress", rule: "IPv4", value: "203.0.113.256" },
    { type: "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra", what: "an administrator given by name instead of object id", breakIt: (x) => (x.inputs.objectId = "deployer@example.com"), path: "objectId", rule: "GUID", value: "deployer@example.com" },
    { type: "aws:sns/topicSubscription:TopicSubscription", what: "email protocol with a URL", breakIt: (x) => (x.inputs.endpoint = "https://pager.example.com"), path: "endpoint", rule: "fits the protocol", value: "https://pager.example.com" },
    { type: "aws:lambda/permission:Permission", what: "statement id with a space", breakIt: (x) => (x.inputs.statementId = "Allow Events"), path: "statementId", rule: "1-100 letters", value: "Allow Events" },
    { type: "aws:iam/policy:Policy", what: "managed policy over 6144 characters", breakIt: (x) => (x.inputs.policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "x".repeat(6200) }] })), path: "policy", rule: "at most 6144", value: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "x".repeat(6200) }] }) },
    { type: "aws:iam/rolePolicyAttachment:RolePolicyAttachment", what: "policy given by name, not ARN", breakIt: (x) => (x.inputs.policyArn = "heartbeat"), path: "policyArn", rule: "IAM policy ARN", value: "heartbeat" },
    { type: "aws:scheduler/schedule:Schedule", what: "FLEXIBLE window without its length", breakIt: (x) => ((x.inputs.flexibleTimeWindow as Record<string, unknown>).mode = "FLEXIBLE"), path: "flexibleTimeWindow", rule: "exactly when mode is FLEXIBLE", value: { mode: "FLEXIBLE" } },
];
