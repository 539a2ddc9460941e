import { strict as assert } from "assert";
import { all, one, preview, PreviewResult } from "../support/offline-preview";

/**
 * The real program (index.ts) evaluated with each stack's configuration under the mocked engine.
 * These tests check what each resource receives and how resources point at each other.
 */
describe("the mesh program under mocks (index.ts)", function () {
    // Two previews of the whole program, both directions (packaging two Function apps): slow on a loaded machine.
    this.timeout(360_000);

    let dev: PreviewResult;
    let prod: PreviewResult;
    before(() => {
        // Secrets are shown so tests can inspect their structure; the leak test below runs without.
        dev = preview(["--stack", "dev", "--json", "--show-secrets"]);
        assert.equal(dev.status, 0, dev.stderr);
        prod = preview(["--stack", "prod", "--json"]);
        assert.equal(prod.status, 0, prod.stderr);
    });

    const policy = (doc: string) => JSON.parse(doc) as { Statement: any[] };

    describe("AWS side", () => {
        it("outbox table: on-demand, keyed by event id, NEW_IMAGE stream, PITR, SSE, TTL", () => {
            const table = one(dev, "aws:dynamodb/table:Table", "-outbox-table");
            assert.equal(table.inputs.billingMode, "PAY_PER_REQUEST");
            assert.equal(table.inputs.hashKey, "event_id");
            assert.deepEqual(table.inputs.attributes, [{ name: "event_id", type: "S" }]);
            assert.equal(table.inputs.streamEnabled, true);
            assert.equal(table.inputs.streamViewType, "NEW_IMAGE");
            assert.deepEqual(table.inputs.pointInTimeRecovery, { enabled: true });
            assert.deepEqual(table.inputs.serverSideEncryption, { enabled: true });
            assert.deepEqual(table.inputs.ttl, { attributeName: "expires_at", enabled: true });
            assert.equal(dev.outputs.outboxStreamArn, table.outputs.streamArn);
        });

        it("archive records this bus, with the stack's retention", () => {
            const bus = one(dev, "aws:cloudwatch/eventBus:EventBus");
            const archive = one(dev, "aws:cloudwatch/eventArchive:EventArchive");
            assert.equal(archive.inputs.eventSourceArn, bus.outputs.arn);
            assert.equal(archive.inputs.retentionDays, 3);
            assert.equal(one(prod, "aws:cloudwatch/eventArchive:EventArchive").inputs.retentionDays, 90);
        });

        it("rule on this bus matches exactly the configured sources", () => {
            const bus = one(dev, "aws:cloudwatch/eventBus:EventBus");
            const rule = one(dev, "aws:cloudwatch/eventRule:EventRule", "-egress-rule");
            assert.equal(rule.inputs.eventBusName, bus.outputs.name);
            assert.deepEqual(JSON.parse(rule.inputs.eventPattern), { source: ["enterprise.transactions"] });
        });

        it("connection: OAuth client credentials against the tenant's v2.0 token endpoint, with the publisher's client id and a secret", () => {
            const connection = one(dev, "aws:cloudwatch/eventConnection:EventConnection");
            const app = one(dev, "azuread:index/application:Application", "-publisher-app");
            assert.equal(connection.inputs.authorizationType, "OAUTH_CLIENT_CREDENTIALS");
            assert.ok(connection.secretInputs.includes("authParameters"), "authParameters must travel as a Pulumi secret");
            const oauth = connection.inputs.authParameters.oauth;
            assert.equal(oauth.authorizationEndpoint, "https://login.microsoftonline.com/00000000-0000-4000-8000-000000000002/oauth2/v2.0/token");
            assert.equal(oauth.httpMethod, "POST");
            assert.equal(oauth.clientParameters.clientId, app.outputs.clientId);
            const bodies = Object.fromEntries(oauth.oauthHttpParameters.bodies.map((b: any) => [b.key, b.value]));
            assert.deepEqual(bodies, { grant_type: "client_credentials", scope: "https://servicebus.azure.net/.default" });
        });

        it("connection uses the configured tenant when one is given", () => {
            const tenant = "11111111-2222-4333-8444-555555555555";
            const run = preview(["--stack", "dev", "--json", "--show-secrets", "--config", `entraTenantId=${tenant}`]);
            assert.equal(run.status, 0, run.stderr);
            const oauth = one(run, "aws:cloudwatch/eventConnection:EventConnection").inputs.authParameters.oauth;
            assert.equal(oauth.authorizationEndpoint, `https://login.microsoftonline.com/${tenant}/oauth2/v2.0/token`);
            assert.equal(one(run, "pulumi:providers:azuread").inputs.tenantId, tenant);
        });

        it("API destination POSTs to this namespace's queue, through this connection, at the configured rate", () => {
            const destination = one(dev, "aws:cloudwatch/eventApiDestination:EventApiDestination");
            const connection = one(dev, "aws:cloudwatch/eventConnection:EventConnection");
            const namespace = one(dev, "azure-native:servicebus:Namespace");
            const queue = one(dev, "azure-native:servicebus:Queue");
            assert.equal(destination.inputs.httpMethod, "POST");
            assert.equal(destination.inputs.connectionArn, connection.outputs.arn);
            assert.equal(destination.inputs.invocationEndpoint, `https://${namespace.outputs.name}.servicebus.windows.net/${queue.outputs.name}/messages`);
            assert.equal(destination.inputs.invocationRateLimitPerSecond, 50);
            assert.equal(one(prod, "aws:cloudwatch/eventApiDestination:EventApiDestination").inputs.invocationRateLimitPerSecond, 300);
        });

        it("target: this rule to this destination, with the retry policy and the dead-letter queue", () => {
            const target = one(dev, "aws:cloudwatch/eventTarget:EventTarget", "-egress-target");
            const rule = one(dev, "aws:cloudwatch/eventRule:EventRule", "-egress-rule");
            const destination = one(dev, "aws:cloudwatch/eventApiDestination:EventApiDestination");
            const dlq = one(dev, "aws:sqs/queue:Queue", "-egress-dlq");
            assert.equal(target.inputs.rule, rule.outputs.name);
            assert.equal(target.inputs.eventBusName, rule.inputs.eventBusName);
            assert.equal(target.inputs.arn, destination.outputs.arn);
            assert.deepEqual(target.inputs.retryPolicy, { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 185 });
            assert.deepEqual(one(prod, "aws:cloudwatch/eventTarget:EventTarget", "-egress-target").inputs.retryPolicy, { maximumEventAgeInSeconds: 86400, maximumRetryAttempts: 185 });
            assert.deepEqual(target.inputs.deadLetterConfig, { arn: dlq.outputs.arn });
        });

        it("target role: assumable only by EventBridge for this rule, and may invoke only this destination", () => {
            const target = one(dev, "aws:cloudwatch/eventTarget:EventTarget", "-egress-target");
            const role = one(dev, "aws:iam/role:Role", "-target-role");
            const rule = one(dev, "aws:cloudwatch/eventRule:EventRule", "-egress-rule");
            const destination = one(dev, "aws:cloudwatch/eventApiDestination:EventApiDestination");
            assert.equal(target.inputs.roleArn, role.outputs.arn);
            const trust = policy(role.inputs.assumeRolePolicy).Statement;
            assert.equal(trust.length, 1);
            assert.deepEqual(trust[0].Principal, { Service: "events.amazonaws.com" });
            assert.equal(trust[0].Condition.ArnEquals["aws:SourceArn"], rule.outputs.arn);
            assert.equal(role.inputs.managedPolicyArns, undefined, "no managed policies on the target role");
            const inline = all(dev, "aws:iam/rolePolicy:RolePolicy").filter((p) => p.inputs.role === role.outputs.id || p.inputs.role === role.outputs.name);
            assert.equal(inline.length, 1);
            assert.deepEqual(policy(inline[0].inputs.policy).Statement, [
                { Effect: "Allow", Action: "events:InvokeApiDestination", Resource: destination.outputs.arn },
            ]);
        });

        it("dead-letter queue: encrypted, 14-day retention, and only this rule may send to it", () => {
            const dlq = one(dev, "aws:sqs/queue:Queue", "-egress-dlq");
            const rule = one(dev, "aws:cloudwatch/eventRule:EventRule", "-egress-rule");
            assert.equal(dlq.inputs.sqsManagedSseEnabled, true);
            assert.equal(dlq.inputs.messageRetentionSeconds, 1209600);
            const queuePolicy = one(dev, "aws:sqs/queuePolicy:QueuePolicy", "-egress-dlq-policy");
            assert.equal(queuePolicy.inputs.queueUrl, dlq.outputs.url);
            const allows = policy(queuePolicy.inputs.policy).Statement.filter((s) => s.Effect === "Allow");
            assert.equal(allows.length, 1);
            assert.equal(allows[0].Action, "sqs:SendMessage");
            assert.equal(allows[0].Resource, dlq.outputs.arn);
            assert.equal(allows[0].Condition.ArnEquals["aws:SourceArn"], rule.outputs.arn);
        });

        it("alarms: the DLQ depth alarm watches this DLQ; delivery alarms watch this rule; all notify the alarm topic", () => {
            const dlq = one(dev, "aws:sqs/queue:Queue", "-egress-dlq");
            const rule = one(dev, "aws:cloudwatch/eventRule:EventRule", "-egress-rule");
            const bus = one(dev, "aws:cloudwatch/eventBus:EventBus");
            const topic = one(dev, "aws:sns/topic:Topic");
            const depth = one(dev, "aws:cloudwatch/metricAlarm:MetricAlarm", "-egress-dlq-depth-alarm");
            assert.equal(depth.inputs.namespace, "AWS/SQS");
            assert.equal(depth.inputs.metricName, "ApproximateNumberOfMessagesVisible");
            assert.deepEqual(depth.inputs.dimensions, { QueueName: dlq.outputs.name });
            assert.equal(depth.inputs.threshold, 0);
            assert.equal(depth.inputs.comparisonOperator, "GreaterThanThreshold");
            for (const suffix of ["-egress-failed-invocations-alarm", "-egress-dlq-send-failed-alarm"]) {
                const alarm = one(dev, "aws:cloudwatch/metricAlarm:MetricAlarm", suffix);
                assert.equal(alarm.inputs.namespace, "AWS/Events");
                assert.deepEqual(alarm.inputs.dimensions, { EventBusName: bus.outputs.name, RuleName: rule.outputs.name });
            }
            for (const alarm of all(dev, "aws:cloudwatch/metricAlarm:MetricAlarm")) {
                assert.deepEqual(alarm.inputs.alarmActions, [topic.outputs.arn], alarm.name);
            }
            assert.equal(dev.outputs.alarmTopicArn, topic.outputs.arn);
        });

        it("alarm topic is encrypted with a key CloudWatch may use", () => {
            const topic = one(dev, "aws:sns/topic:Topic");
            const key = one(dev, "aws:kms/key:Key");
            assert.equal(topic.inputs.kmsMasterKeyId, key.outputs.arn);
            const statements = policy(key.inputs.policy).Statement;
            assert.ok(statements.some((s) => s.Principal?.Service === "cloudwatch.amazonaws.com" && s.Action.includes("kms:GenerateDataKey*")));
        });

        it("e-mail subscription exists only when alarmEmail is configured, on both clouds", () => {
            assert.equal(all(dev, "aws:sns/topicSubscription:TopicSubscription").length, 0);
            assert.deepEqual(one(dev, "azure-native:monitor:ActionGroup").inputs.emailReceivers, []);
            const run = preview(["--stack", "dev", "--json", "--config", "alarmEmail=oncall@example.com"]);
            assert.equal(run.status, 0, run.stderr);
            const subscription = one(run, "aws:sns/topicSubscription:TopicSubscription");
            assert.equal(subscription.inputs.protocol, "email");
            assert.equal(subscription.inputs.endpoint, "oncall@example.com");
            assert.equal(subscription.inputs.topic, one(run, "aws:sns/topic:Topic").outputs.arn);
            assert.equal(one(run, "azure-native:monitor:ActionGroup").inputs.emailReceivers[0].emailAddress, "oncall@example.com");
        });
    });

    describe("relay Lambda (AWS)", () => {
        it("role: assumable by Lambda only; reads this stream, puts on this bus, parks in this queue, logs to this group; no managed policy", () => {
            const fn = one(dev, "aws:lambda/function:Function", "-relay-function");
            const role = one(dev, "aws:iam/role:Role", "-relay-role");
            const table = one(dev, "aws:dynamodb/table:Table", "-outbox-table");
            const bus = one(dev, "aws:cloudwatch/eventBus:EventBus");
            const failures = one(dev, "aws:sqs/queue:Queue", "-relay-failures");
            const logs = one(dev, "aws:cloudwatch/logGroup:LogGroup", "-relay-logs");
            assert.equal(fn.inputs.role, role.outputs.arn);
            assert.deepEqual(policy(role.inputs.assumeRolePolicy).Statement.map((s: any) => s.Principal), [{ Service: "lambda.amazonaws.com" }]);
            assert.equal(all(dev, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").length, 0, "no managed policy is attached to any role");
            const inline = all(dev, "aws:iam/rolePolicy:RolePolicy").filter((p) => p.inputs.role === role.outputs.id);
            assert.equal(inline.length, 1);
            const byAction = new Map<string, string>();
            for (const st of policy(inline[0].inputs.policy).Statement) {
                assert.equal(st.Effect, "Allow");
                for (const action of [st.Action].flat()) byAction.set(action, st.Resource);
            }
            assert.deepEqual(Object.fromEntries(byAction), {
                "dynamodb:DescribeStream": table.outputs.streamArn,
                "dynamodb:GetRecords": table.outputs.streamArn,
                "dynamodb:GetShardIterator": table.outputs.streamArn,
                "dynamodb:ListStreams": `${table.outputs.arn}/stream/*`,
                "events:PutEvents": bus.outputs.arn,
                "sqs:SendMessage": failures.outputs.arn,
                "logs:CreateLogStream": `${logs.outputs.arn}:*`,
                "logs:PutLogEvents": `${logs.outputs.arn}:*`,
            });
            // PutEvents only for the AWS-origin sources the egress rule forwards: never an Azure-origin one.
            const publish = policy(inline[0].inputs.policy).Statement.find((st: any) => st.Action === "events:PutEvents");
            const egressSources = JSON.parse(one(dev, "aws:cloudwatch/eventRule:EventRule", "-egress-rule").inputs.eventPattern).source;
            assert.deepEqual(publish.Condition, { StringEquals: { "events:source": egressSources } });
            assert.deepEqual(egressSources, ["enterprise.transactions"]);
        });

        it("function: Node.js 22, memory and timeout from config, bus name and Service Bus tier in its environment, logs in its group", () => {
            const fn = one(dev, "aws:lambda/function:Function", "-relay-function");
            const bus = one(dev, "aws:cloudwatch/eventBus:EventBus");
            const logs = one(dev, "aws:cloudwatch/logGroup:LogGroup", "-relay-logs");
            assert.equal(fn.inputs.runtime, "nodejs22.x");
            assert.equal(fn.inputs.memorySize, 256);
            assert.equal(fn.inputs.timeout, 60);
            // The relay holds back events too large for the stack's Service Bus tier.
            assert.deepEqual(fn.inputs.environment.variables, { MESH_EVENT_BUS_NAME: bus.outputs.name, MESH_SERVICE_BUS_TIER: "Standard" });
            assert.equal(one(prod, "aws:lambda/function:Function", "-relay-function").inputs.environment.variables.MESH_SERVICE_BUS_TIER, "Premium");
            assert.equal(fn.inputs.loggingConfig.logGroup, logs.outputs.name);
            assert.equal(logs.inputs.retentionInDays, 30);
            assert.ok(fn.inputs.code.archive.bytes > 0 && fn.inputs.code.archive.bytes < 50 * 1024 * 1024, "archive size is reported");
        });

        it("mapping: this stream to this function from the trim horizon, bisecting, per-record failures, finite retries, parked in the alarmed queue, pending inserts only", () => {
            const mapping = one(dev, "aws:lambda/eventSourceMapping:EventSourceMapping", "-relay-mapping");
            const fn = one(dev, "aws:lambda/function:Function", "-relay-function");
            const table = one(dev, "aws:dynamodb/table:Table", "-outbox-table");
            const failures = one(dev, "aws:sqs/queue:Queue", "-relay-failures");
            assert.equal(mapping.inputs.eventSourceArn, table.outputs.streamArn);
            assert.equal(mapping.inputs.functionName, fn.outputs.arn);
            assert.equal(mapping.inputs.startingPosition, "TRIM_HORIZON");
            assert.equal(mapping.inputs.batchSize, 100);
            assert.equal(mapping.inputs.maximumBatchingWindowInSeconds, 1);
            assert.equal(mapping.inputs.bisectBatchOnFunctionError, true);
            assert.deepEqual(mapping.inputs.functionResponseTypes, ["ReportBatchItemFailures"]);
            assert.equal(mapping.inputs.maximumRetryAttempts, 10);
            assert.equal(mapping.inputs.maximumRecordAgeInSeconds, 21600, "parked well before the stream's 24 h trim");
            assert.deepEqual(mapping.inputs.destinationConfig, { onFailure: { destinationArn: failures.outputs.arn } });
            const [filter] = mapping.inputs.filterCriteria.filters;
            assert.deepEqual(JSON.parse(filter.pattern), { eventName: ["INSERT"], dynamodb: { NewImage: { status: { S: ["PENDING"] } } } });
            assert.equal(failures.inputs.sqsManagedSseEnabled, true);
        });

        it("alarms: errors and iterator age of this function, depth of its failure queue, into the alarm topic", () => {
            const fn = one(dev, "aws:lambda/function:Function", "-relay-function");
            const failures = one(dev, "aws:sqs/queue:Queue", "-relay-failures");
            const topic = one(dev, "aws:sns/topic:Topic");
            const errors = one(dev, "aws:cloudwatch/metricAlarm:MetricAlarm", "-relay-errors-alarm");
            const age = one(dev, "aws:cloudwatch/metricAlarm:MetricAlarm", "-relay-iterator-age-alarm");
            const depth = one(dev, "aws:cloudwatch/metricAlarm:MetricAlarm", "-relay-failures-depth-alarm");
            assert.deepEqual([errors.inputs.metricName, errors.inputs.dimensions], ["Errors", { FunctionName: fn.outputs.name }]);
            assert.deepEqual([age.inputs.metricName, age.inputs.dimensions, age.inputs.threshold], ["IteratorAge", { FunctionName: fn.outputs.name }, 300_000]);
            assert.deepEqual([depth.inputs.metricName, depth.inputs.dimensions], ["ApproximateNumberOfMessagesVisible", { QueueName: failures.outputs.name }]);
            for (const alarm of [errors, age, depth]) assert.deepEqual(alarm.inputs.alarmActions, [topic.outputs.arn]);
            assert.equal(dev.outputs.relayFailureQueueUrl, failures.outputs.url);
        });
    });

    describe("consumer Function and Redis (Azure)", () => {
        const settingsOf = (run: PreviewResult) =>
            Object.fromEntries(one(run, "azure-native:web:WebApp", "-consumer-app").inputs.siteConfig.appSettings.map((s: { name: string; value: string }) => [s.name, s.value]));

        it("the app's identity: Data Owner of this queue, host storage, read-only package container, telemetry; nothing wider", () => {
            const identity = one(dev, "azure-native:managedidentity:UserAssignedIdentity", "-consumer-identity");
            const queue = one(dev, "azure-native:servicebus:Queue");
            const host = one(dev, "azure-native:storage:StorageAccount", "-consumer-storage");
            const container = one(dev, "azure-native:storage:BlobContainer", "-consumer-packages");
            const insights = one(dev, "azure-native:applicationinsights:Component", "-consumer-insights");
            const assigned = all(dev, "azure-native:authorization:RoleAssignment")
                .filter((a) => a.inputs.principalId === identity.outputs.principalId)
                .map((a) => [a.inputs.roleDefinitionId.split("/").pop(), a.inputs.scope])
                .sort();
            assert.deepEqual(assigned, [
                ["090c5cfd-751d-490a-894a-3ce6f1109419", queue.outputs.id], // Azure Service Bus Data Owner
                ["2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", container.outputs.id], // Storage Blob Data Reader
                ["3913510d-42f4-4e42-8a64-420c390055eb", insights.outputs.id], // Monitoring Metrics Publisher
                ["b7e6dc6d-f1e8-4753-8033-0f276bb0955b", host.outputs.id], // Storage Blob Data Owner
            ].sort());
        });

        it("app: HTTPS only, TLS 1.2, identity-based Service Bus connection, no key in any setting", () => {
            const app = one(dev, "azure-native:web:WebApp", "-consumer-app");
            const identity = one(dev, "azure-native:managedidentity:UserAssignedIdentity", "-consumer-identity");
            const namespace = one(dev, "azure-native:servicebus:Namespace");
            const settings = settingsOf(dev);
            assert.equal(app.inputs.httpsOnly, true);
            assert.equal(app.inputs.kind, "functionapp,linux");
            assert.equal(app.inputs.siteConfig.minTlsVersion, "1.2");
            assert.equal(app.inputs.siteConfig.ftpsState, "Disabled");
            assert.deepEqual(app.inputs.identity, { type: "UserAssigned", userAssignedIdentities: [identity.outputs.id] });
            assert.equal(settings.ServiceBusConnection__fullyQualifiedNamespace, `${namespace.inputs.namespaceName}.servicebus.windows.net`);
            assert.equal(settings.ServiceBusConnection__credential, "managedidentity");
            assert.equal(settings.ServiceBusConnection__clientId, identity.outputs.clientId);
            assert.equal(settings.MESH_QUEUE_NAME, "mesh-events");
            assert.equal(settings.MESH_MESSAGE_LOCK_MS, "60000", "the consumer's lease is bounded by the queue's lock");
            // Completed ids are remembered as long as any copy can come back: dev 14 days (the AWS DLQ),
            // prod 90 days (the archive's replay window).
            assert.equal(settings.MESH_DEDUPE_WINDOW_MS, String(14 * 86_400_000));
            assert.equal(settingsOf(prod).MESH_DEDUPE_WINDOW_MS, String(90 * 86_400_000));
            assert.equal(settings.AzureWebJobsStorage__credential, "managedidentity");
            assert.equal(settings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING, `ClientId=${identity.outputs.clientId};Authorization=AAD`);
            assert.equal(one(dev, "azure-native:applicationinsights:Component", "-consumer-insights").inputs.disableLocalAuth, true);
            for (const [name, value] of Object.entries(settings)) {
                assert.doesNotMatch(String(value), /(AccountKey|SharedAccessKey|SharedAccessSignature|Password)\s*=|[?&]sig=/i, `${name} carries a key`);
            }
            assert.equal(settings.AzureWebJobsStorage, undefined, "no connection-string AzureWebJobsStorage");
        });

        it("Redis: Azure Managed Redis, TLS 1.2 only, no access keys, no eviction, Entra access for the app's identity", () => {
            const identity = one(dev, "azure-native:managedidentity:UserAssignedIdentity", "-consumer-identity");
            const cluster = one(dev, "azure-native:redisenterprise:RedisEnterprise");
            const db = one(dev, "azure-native:redisenterprise:Database");
            const access = one(dev, "azure-native:redisenterprise:AccessPolicyAssignment");
            const settings = settingsOf(dev);
            assert.equal(cluster.inputs.minimumTlsVersion, "1.2");
            assert.equal(db.inputs.clusterName, cluster.outputs.name);
            assert.equal(db.inputs.clientProtocol, "Encrypted");
            assert.equal(db.inputs.accessKeysAuthentication, "Disabled");
            assert.equal(db.inputs.evictionPolicy, "NoEviction");
            assert.deepEqual(access.inputs.user, { objectId: identity.outputs.principalId });
            assert.equal(access.inputs.databaseName, db.outputs.name);
            assert.equal(settings.MESH_REDIS_HOST, cluster.outputs.hostName);
            assert.equal(settings.MESH_REDIS_PORT, "10000");
            assert.equal(settings.MESH_REDIS_TLS, "true");
            assert.equal(settings.MESH_REDIS_AUTH, "entra");
            assert.equal(settings.MESH_REDIS_USERNAME, identity.outputs.principalId);
            assert.equal(settings.AZURE_CLIENT_ID, identity.outputs.clientId);
            assert.equal(cluster.inputs.highAvailability, "Disabled");
            const prodCluster = one(prod, "azure-native:redisenterprise:RedisEnterprise");
            assert.equal(prodCluster.inputs.highAvailability, "Enabled");
            assert.deepEqual(prodCluster.inputs.sku, { name: "MemoryOptimized_M20" });
        });
    });

    describe("Azure side", () => {
        it("namespace: SAS disabled, TLS 1.2, a stable random suffix; dev Standard, prod Premium", () => {
            const namespace = one(dev, "azure-native:servicebus:Namespace");
            const suffix = one(dev, "random:index/randomString:RandomString", "-ingress-suffix");
            assert.equal(namespace.inputs.disableLocalAuth, true);
            assert.equal(namespace.inputs.minimumTlsVersion, "1.2");
            assert.equal(namespace.inputs.namespaceName, `mesh-dev-${suffix.outputs.result}`);
            assert.deepEqual(namespace.inputs.sku, { name: "Standard", tier: "Standard" });
            const prodNamespace = one(prod, "azure-native:servicebus:Namespace");
            assert.deepEqual(prodNamespace.inputs.sku, { name: "Premium", tier: "Premium", capacity: 1 });
            assert.equal(prodNamespace.inputs.zoneRedundant, true);
            assert.equal(dev.outputs.serviceBusNamespaceFqdn, `${namespace.inputs.namespaceName}.servicebus.windows.net`);
        });

        it("queue: in this namespace, with delivery count, lock, TTL and dead-lettering on expiry", () => {
            const namespace = one(dev, "azure-native:servicebus:Namespace");
            const queue = one(dev, "azure-native:servicebus:Queue");
            assert.equal(queue.inputs.namespaceName, namespace.outputs.name);
            assert.equal(queue.inputs.resourceGroupName, namespace.inputs.resourceGroupName);
            assert.equal(queue.inputs.queueName, "mesh-events");
            assert.equal(queue.inputs.maxDeliveryCount, 5);
            assert.equal(queue.inputs.lockDuration, "PT1M");
            assert.equal(queue.inputs.defaultMessageTimeToLive, "P3D");
            assert.equal(queue.inputs.deadLetteringOnMessageExpiration, true);
            const prodQueue = one(prod, "azure-native:servicebus:Queue");
            assert.equal(prodQueue.inputs.maxDeliveryCount, 10);
            assert.equal(prodQueue.inputs.lockDuration, "PT2M");
            assert.equal(dev.outputs.azureDeadLetterPath, "mesh-events/$DeadLetterQueue");
        });

        it("dead-letter alert: DeadletteredMessages of this queue only, scoped to this namespace, into the action group", () => {
            const namespace = one(dev, "azure-native:servicebus:Namespace");
            const queue = one(dev, "azure-native:servicebus:Queue");
            const group = one(dev, "azure-native:monitor:ActionGroup");
            const alert = one(dev, "azure-native:monitor:MetricAlert", "-dlq-alert");
            assert.deepEqual(alert.inputs.scopes, [namespace.outputs.id]);
            const [criterion] = alert.inputs.criteria.allOf;
            assert.equal(alert.inputs.criteria.allOf.length, 1);
            assert.equal(criterion.metricName, "DeadletteredMessages");
            assert.equal(criterion.metricNamespace, "Microsoft.ServiceBus/namespaces");
            assert.deepEqual(criterion.dimensions, [{ name: "EntityName", operator: "Include", values: [queue.outputs.name] }]);
            assert.equal(criterion.operator, "GreaterThan");
            assert.equal(criterion.threshold, 0);
            assert.deepEqual(alert.inputs.actions, [{ actionGroupId: group.outputs.id }]);
        });

        it("publisher: application, its service principal, two rotating secret slots, and Data Sender on this queue for that principal", () => {
            const app = one(dev, "azuread:index/application:Application", "-publisher-app");
            const sp = one(dev, "azuread:index/servicePrincipal:ServicePrincipal", "-publisher-sp");
            assert.equal(all(dev, "azuread:index/applicationPassword:ApplicationPassword").length, 2);
            for (const slot of ["a", "b"]) {
                const password = one(dev, "azuread:index/applicationPassword:ApplicationPassword", `-slot-${slot}-secret`);
                const rotation = one(dev, "time:index/rotating:Rotating", `-slot-${slot}-rotation`);
                assert.deepEqual(password.inputs.rotateWhenChanged, { rotation: rotation.outputs.rfc3339 }, `slot ${slot} rotates with its time.Rotating`);
                assert.equal(one(dev, "time:index/sleep:Sleep", `-slot-${slot}-propagation`).inputs.triggers.keyId, password.outputs.keyId);
            }
            const password = one(dev, "azuread:index/applicationPassword:ApplicationPassword", "-slot-a-secret");
            const assignment = one(dev, "azure-native:authorization:RoleAssignment", "-publisher-queue-sender");
            const queue = one(dev, "azure-native:servicebus:Queue");
            assert.equal(sp.inputs.clientId, app.outputs.clientId);
            assert.equal(password.inputs.applicationId, app.outputs.id);
            assert.match(password.inputs.endDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
            assert.ok(password.inputs.rotateWhenChanged, "rotateWhenChanged must be set so a new end date issues a new secret");
            assert.equal(assignment.inputs.scope, queue.outputs.id, "the sender role is scoped to the queue, not the namespace");
            assert.equal(assignment.inputs.principalId, sp.outputs.objectId);
            assert.equal(assignment.inputs.principalType, "ServicePrincipal");
            assert.ok(assignment.inputs.roleDefinitionId.endsWith("/roleDefinitions/69a216fc-b8fb-44d8-bc22-1f3c2cd27a39"), "Azure Service Bus Data Sender");
            assert.equal(dev.outputs.publisherClientId, app.outputs.clientId);
        });

        it("secret end dates follow the rotation settings: next rotation plus grace, slot B half a period later", () => {
            const end = (run: PreviewResult, slot: string) =>
                (Date.parse(one(run, "azuread:index/applicationPassword:ApplicationPassword", `-slot-${slot}-secret`).inputs.endDate) - Date.parse("2026-01-01T00:00:00Z")) / 86400_000;
            // dev: 90-day period, 14-day grace; prod: 60 and 14. The mock engine's clock starts at 2026-01-01.
            assert.deepEqual([end(dev, "a"), end(dev, "b")], [104, 149]);
            assert.deepEqual([end(prod, "a"), end(prod, "b")], [74, 104]);
            assert.equal(dev.outputs.publisherActiveSecretSlot, "b");
            const connection = one(dev, "aws:cloudwatch/eventConnection:EventConnection");
            const active = one(dev, "azuread:index/applicationPassword:ApplicationPassword", "-slot-b-secret");
            assert.equal(connection.inputs.authParameters.oauth.clientParameters.clientSecret, active.outputs.value, "the connection uses the active slot's secret");
        });
    });

    describe("stacks and providers", () => {
        it("every resource is managed by the explicit provider of its cloud, built from config", () => {
            const providers = new Map(dev.resources.filter((r) => r.type.startsWith("pulumi:providers:")).map((p) => [p.urn, p]));
            assert.equal(one(dev, "pulumi:providers:aws").inputs.region, "eu-west-1");
            assert.equal(one(dev, "pulumi:providers:azure-native").inputs.location, "westeurope");
            for (const r of dev.resources.filter((x) => x.custom && !x.type.startsWith("pulumi:"))) {
                const pkg = r.type.split(":")[0];
                if (pkg === "random" || pkg === "time") continue; // no cloud, no credentials: default providers
                // The package deployment runs in the engine's Node.js dynamic provider and signs in
                // as the deployer itself (components/azure/package-deployment.ts).
                if (pkg === "pulumi-nodejs" && r.type.endsWith(":PackageDeployment")) continue;
                // So does the outbox role step (components/azure/outbox-access.ts): it signs in to PostgreSQL as the deployer.
                if (pkg === "pulumi-nodejs" && r.type.endsWith(":OutboxAccess")) continue;
                assert.ok(r.provider, `${r.name} has no provider`);
                const provider = providers.get(r.provider!.split("::").slice(0, -1).join("::"));
                assert.ok(provider, `${r.name}'s provider is not one of the program's explicit providers`);
                assert.equal(provider!.type, `pulumi:providers:${pkg}`, r.name);
                assert.notEqual(provider!.name.startsWith("default"), true, `${r.name} uses a default provider`);
            }
        });

        it("AWS resources get the stack's tags through the provider; Azure resources carry them directly", () => {
            const aws = one(dev, "pulumi:providers:aws");
            const defaultTags = typeof aws.inputs.defaultTags === "string" ? JSON.parse(aws.inputs.defaultTags) : aws.inputs.defaultTags;
            assert.deepEqual(defaultTags.tags, { "mesh:project": "multicloud-mesh", "mesh:stack": "dev", environment: "dev", "cost-center": "platform" });
            assert.equal(one(dev, "azure-native:servicebus:Namespace").inputs.tags.environment, "dev");
            assert.equal(one(prod, "azure-native:servicebus:Namespace").inputs.tags.environment, "prod");
        });

        it("prod protects every stateful resource and locks the namespace; dev protects nothing", () => {
            const stateful = (run: PreviewResult) => [
                one(run, "aws:dynamodb/table:Table", "-outbox-table"),
                one(run, "aws:sqs/queue:Queue", "-egress-dlq"),
                one(run, "azure-native:servicebus:Namespace"),
                one(run, "azure-native:servicebus:Queue"),
                one(run, "azure-native:resources:ResourceGroup"),
                one(run, "aws:cloudwatch/eventArchive:EventArchive"),
                one(run, "aws:sqs/queue:Queue", "-relay-failures"),
                one(run, "azure-native:redisenterprise:RedisEnterprise"),
                one(run, "azure-native:redisenterprise:Database"),
            ];
            for (const r of stateful(prod)) assert.equal(r.protect, true, `${r.name} is not protected in prod`);
            for (const r of stateful(dev)) assert.equal(r.protect, false, `${r.name} is protected in dev`);
            assert.equal(one(prod, "aws:dynamodb/table:Table", "-outbox-table").inputs.deletionProtectionEnabled, true);
            assert.equal(one(dev, "aws:dynamodb/table:Table", "-outbox-table").inputs.deletionProtectionEnabled, false);
            const lock = one(prod, "azure-native:authorization:ManagementLockByScope");
            assert.equal(lock.inputs.scope, one(prod, "azure-native:servicebus:Namespace").outputs.id);
            assert.equal(lock.inputs.level, "CanNotDelete");
            assert.equal(all(dev, "azure-native:authorization:ManagementLockByScope").length, 0);
        });

        it("exports every documented output, none of them secret, and never the client secret's value", () => {
            const expected = [
                "busName", "busArn", "outboxTableName", "outboxStreamArn", "serviceBusNamespaceFqdn", "queueName",
                "awsDeadLetterQueueUrl", "awsDeadLetterQueueArn", "azureDeadLetterPath", "apiDestinationArn",
                "publisherClientId", "publisherActiveSecretSlot", "alarmTopicArn", "relayFunctionName", "relayFailureQueueUrl", "relayFailureQueueArn",
                "consumerFunctionAppName", "consumerIdentityPrincipalId", "redisHostName",
            ];
            for (const key of expected) {
                assert.equal(typeof dev.outputs[key], "string", `output ${key} is missing`);
                assert.notEqual(dev.outputs[key], "[secret]", `output ${key} is a secret`);
            }
            const secret = one(dev, "azuread:index/applicationPassword:ApplicationPassword", "-slot-b-secret").outputs.value;
            assert.match(secret, /^mock-secret-/);
            assert.deepEqual(one(dev, "azuread:index/applicationPassword:ApplicationPassword", "-slot-b-secret").secretOutputs, ["value"]);
            const text = preview(["--stack", "dev"]);
            const json = preview(["--stack", "dev", "--json"]);
            assert.equal(text.status, 0, text.stderr);
            assert.equal(json.status, 0, json.stderr);
            for (const out of [json.stdout, text.stdout]) {
                assert.ok(!out.includes(secret), "the publisher's client secret leaked into the preview");
            }
            assert.match(text.stdout, /authParameters: \[secret\]/);
        });
    });

    describe("Pulumi Deployments (off unless configured)", () => {
        it("creates nothing in Pulumi Cloud by default", () => {
            for (const run of [dev, prod]) {
                assert.equal(run.resources.filter((r) => r.type.startsWith("pulumiservice:")).length, 0);
            }
        });

        it("when enabled: deployment settings with OIDC for both clouds and a schedule, for this stack", () => {
            const run = preview([
                "--stack", "dev", "--json",
                "--config", "deploymentsEnabled=true",
                "--config", "deploymentsRepository=acme/mesh",
                "--config", "deploymentsAwsRoleArn=arn:aws:iam::123456789012:role/pulumi-deploy",
                "--config", "deploymentsAzureClientId=11111111-2222-4333-8444-555555555555",
            ]);
            assert.equal(run.status, 0, run.stderr);
            const settings = one(run, "pulumiservice:index:DeploymentSettings");
            const schedule = one(run, "pulumiservice:index:DeploymentSchedule");
            assert.equal(settings.inputs.stack, "dev");
            assert.equal(settings.inputs.project, "multicloud-mesh");
            assert.equal(settings.inputs.github.repository, "acme/mesh");
            assert.equal(settings.inputs.github.deployCommits, true);
            assert.equal(settings.inputs.github.previewPullRequests, true);
            assert.equal(settings.inputs.operationContext.oidc.aws.roleARN, "arn:aws:iam::123456789012:role/pulumi-deploy");
            assert.equal(settings.inputs.operationContext.oidc.azure.clientId, "11111111-2222-4333-8444-555555555555");
            assert.equal(settings.inputs.operationContext.oidc.azure.tenantId, "00000000-0000-4000-8000-000000000002");
            assert.equal(settings.inputs.operationContext.environmentVariables.PULUMI_OPTION_REFRESH, "true", "scheduled runs refresh, so expired time.Rotating resources rotate");
            assert.equal(schedule.inputs.stack, "dev");
            assert.equal(schedule.inputs.pulumiOperation, "update");
        });

        it("when enabled without its required keys: one error naming each", () => {
            const run = preview(["--stack", "dev", "--json", "--config", "deploymentsEnabled=true"]);
            assert.equal(run.status, 1);
            for (const k of ["deploymentsRepository", "deploymentsAwsRoleArn", "deploymentsAzureClientId"]) {
                assert.match(run.stderr, new RegExp(`multicloud-mesh:${k}: required when multicloud-mesh:deploymentsEnabled is true`));
            }
        });
    });

    describe("bad configuration fails before anything is created, naming the key", () => {
        const cases: Array<[string, string, RegExp]> = [
            ["unknown region", "awsRegion=mars-1", /multicloud-mesh:awsRegion: "mars-1" is not allowed; expected one of us-east-1/],
            ["maxDeliveryCount below 1", "queueMaxDeliveryCount=0", /multicloud-mesh:queueMaxDeliveryCount: "0" is not allowed; expected an integer from 1 to 2000/],
            ["empty source list", "eventSources=[]", /multicloud-mesh:eventSources: the list is empty/],
            ["retry age outside 60..86400", "retryMaximumEventAgeSeconds=86401", /multicloud-mesh:retryMaximumEventAgeSeconds: "86401" is not allowed; expected an integer from 60 to 86400/],
        ];
        for (const [what, setting, message] of cases) {
            it(what, () => {
                const run = preview(["--stack", "dev", "--json", "--config", setting]);
                assert.equal(run.status, 1, `expected failure, got status ${run.status}`);
                assert.match(run.stderr, message);
                assert.equal(run.stdout.trim(), "", "no resource may be reported when the config is invalid");
            });
        }

        it("an unknown stack is an error that lists the stacks", () => {
            const run = preview(["--stack", "staging"]);
            assert.equal(run.status, 1);
            assert.match(run.stderr, /no stack "staging".*stacks here: dev, prod/s);
        });
    });
});
