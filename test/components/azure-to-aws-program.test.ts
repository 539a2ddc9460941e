import { strict as assert } from "assert";
import { all, one, preview, PreviewResult } from "../support/offline-preview";
import { FAKE_TENANT } from "../../tools/mock-engine";

/**
 * The Azure → AWS direction in the real program (index.ts) under the mocked engine: the relations
 * between the relay's identity, its audience, the IAM OIDC provider and role, the bus, the rule,
 * the queues, their alarms, the consumer and its table; and the two switches.
 */
describe("the Azure → AWS direction under mocks (index.ts)", function () {
    this.timeout(240_000);

    let dev: PreviewResult;
    before(() => {
        dev = preview(["--stack", "dev", "--json", "--show-secrets"]);
        assert.equal(dev.status, 0, dev.stderr);
    });

    const doc = (text: string) => JSON.parse(text) as { Statement: any[] };
    const byRole = (run: PreviewResult, roleSuffix: string) => {
        const role = one(run, "aws:iam/role:Role", roleSuffix);
        return { role, inline: all(run, "aws:iam/rolePolicy:RolePolicy").filter((p) => p.inputs.role === role.outputs.id) };
    };

    describe("cross-cloud identity without secrets", () => {
        it("the audience: an Entra application asking for v1.0 tokens, its App ID URI api://<client id>, its service principal, and no credential", () => {
            const app = one(dev, "azuread:index/application:Application", "-relay-audience-app");
            const uri = one(dev, "azuread:index/applicationIdentifierUri:ApplicationIdentifierUri", "-relay-audience-uri");
            const sp = one(dev, "azuread:index/servicePrincipal:ServicePrincipal", "-relay-audience-sp");
            assert.equal(app.inputs.api.requestedAccessTokenVersion, 1);
            assert.equal(app.inputs.signInAudience, "AzureADMyOrg");
            assert.equal(uri.inputs.applicationId, app.outputs.id);
            assert.equal(uri.inputs.identifierUri, `api://${app.outputs.clientId}`);
            assert.equal(sp.inputs.clientId, app.outputs.clientId);
            const passwords = all(dev, "azuread:index/applicationPassword:ApplicationPassword").filter((p) => p.inputs.applicationId === app.outputs.id);
            assert.equal(passwords.length, 0, "the audience has no secret");
        });

        it("the OIDC provider: the tenant's v1.0 issuer, the audience as its only client id, no pinned thumbprint", () => {
            const provider = one(dev, "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "-relay-trust-oidc");
            const uri = one(dev, "azuread:index/applicationIdentifierUri:ApplicationIdentifierUri", "-relay-audience-uri");
            assert.equal(provider.inputs.url, `https://sts.windows.net/${FAKE_TENANT}/`);
            assert.deepEqual(provider.inputs.clientIdLists, [uri.outputs.identifierUri]);
            assert.equal(provider.inputs.thumbprintLists, undefined);
            assert.equal(dev.outputs.azureRelayIssuer, provider.inputs.url);
        });

        it("the role's trust: only AssumeRoleWithWebIdentity, only through that provider, StringEquals on aud (the audience) AND sub (the relay identity's principal id); one-hour sessions", () => {
            const { role } = byRole(dev, "-relay-trust-role");
            const provider = one(dev, "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "-relay-trust-oidc");
            const identity = one(dev, "azure-native:managedidentity:UserAssignedIdentity", "-relay-identity-identity");
            const uri = one(dev, "azuread:index/applicationIdentifierUri:ApplicationIdentifierUri", "-relay-audience-uri");
            const trust = doc(role.inputs.assumeRolePolicy).Statement;
            assert.equal(trust.length, 1);
            const [st] = trust;
            assert.equal(st.Effect, "Allow");
            assert.deepEqual(st.Principal, { Federated: provider.outputs.arn });
            assert.equal(st.Action, "sts:AssumeRoleWithWebIdentity");
            const key = `sts.windows.net/${FAKE_TENANT}/`;
            assert.deepEqual(st.Condition, { StringEquals: { [`${key}:aud`]: uri.outputs.identifierUri, [`${key}:sub`]: identity.outputs.principalId } });
            assert.match(String(identity.outputs.principalId), /^[0-9a-f-]{36}$/);
            assert.equal(role.inputs.maxSessionDuration, 3600);
            assert.equal(dev.outputs.azureRelayRoleArn, role.outputs.arn);
            assert.equal(dev.outputs.azureRelayIdentityPrincipalId, identity.outputs.principalId);
        });

        it("the role's only permission: PutEvents on the mesh bus, for the Azure-origin sources only", () => {
            const { role, inline } = byRole(dev, "-relay-trust-role");
            const bus = one(dev, "aws:cloudwatch/eventBus:EventBus");
            assert.equal(role.inputs.managedPolicyArns, undefined);
            assert.equal(all(dev, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").length, 0);
            assert.equal(inline.length, 1);
            assert.deepEqual(doc(inline[0].inputs.policy).Statement, [
                {
                    Sid: "PublishAzureOriginEventsToMeshBus",
                    Effect: "Allow",
                    Action: "events:PutEvents",
                    Resource: bus.outputs.arn,
                    Condition: { StringEquals: { "events:source": ["enterprise.azure.transactions"] } },
                },
            ]);
        });
    });

    describe("the Azure side, composed", () => {
        it("the relay app runs as the identity the role trusts and is given that role, the audience, the bus and its region; the outbox role is mapped to the same identity", () => {
            const app = one(dev, "azure-native:web:WebApp", "-outbox-relay-app");
            const identity = one(dev, "azure-native:managedidentity:UserAssignedIdentity", "-relay-identity-identity");
            const { role } = byRole(dev, "-relay-trust-role");
            const uri = one(dev, "azuread:index/applicationIdentifierUri:ApplicationIdentifierUri", "-relay-audience-uri");
            const bus = one(dev, "aws:cloudwatch/eventBus:EventBus");
            const settings = Object.fromEntries(app.inputs.siteConfig.appSettings.map((x: { name: string; value: string }) => [x.name, x.value]));
            assert.deepEqual(app.inputs.identity, { type: "UserAssigned", userAssignedIdentities: [identity.outputs.id] });
            assert.equal(settings.AZURE_CLIENT_ID, identity.outputs.clientId);
            assert.equal(settings.MESH_AWS_ROLE_ARN, role.outputs.arn);
            assert.equal(settings.MESH_AWS_TOKEN_AUDIENCE, uri.outputs.identifierUri);
            assert.equal(settings.MESH_EVENT_BUS_NAME, bus.outputs.name);
            assert.equal(settings.MESH_AWS_REGION, "eu-west-1");
            const access = one(dev, "pulumi-nodejs:dynamic/multicloud-mesh:OutboxAccess", "-outbox-pg-relay-access");
            assert.equal(access.inputs.relayObjectId, identity.outputs.principalId);
            const server = one(dev, "azure-native:dbforpostgresql:Server", "-outbox-pg-server");
            assert.deepEqual([server.inputs.authConfig.passwordAuth, server.inputs.authConfig.activeDirectoryAuth], ["Disabled", "Enabled"]);
            assert.equal(dev.outputs.azureOutboxDatabaseName, "outbox");
        });
    });

    describe("the relay's alerts", () => {
        const relayAlert = (run: PreviewResult, role: string) => one(run, "azure-native:monitor:ScheduledQueryRule", `-outbox-relay-${role}`);

        it("backlog age: the maximum oldestPendingAgeSeconds of the relay's own traces above outboxRelayBacklogAgeAlarmSeconds (default 300), to the mesh's action group", () => {
            const rule = relayAlert(dev, "backlog-alert");
            const insights = one(dev, "azure-native:applicationinsights:Component", "-outbox-relay-insights");
            const group = one(dev, "azure-native:monitor:ActionGroup");
            assert.deepEqual(rule.inputs.scopes, [insights.outputs.id]);
            assert.deepEqual(rule.inputs.actions.actionGroups, [group.outputs.id]);
            const c = rule.inputs.criteria.allOf[0];
            assert.deepEqual([c.timeAggregation, c.metricMeasureColumn, c.operator, c.threshold], ["Maximum", "oldestPendingAgeSeconds", "GreaterThan", 300]);
            // The parked-row alert goes to the same group: parked rows were alarmed before the backlog was.
            assert.deepEqual(relayAlert(dev, "parked-alert").inputs.actions.actionGroups, [group.outputs.id]);
        });

        it("the threshold follows the config key", () => {
            const run = preview(["--stack", "dev", "--json", "--config", "outboxRelayBacklogAgeAlarmSeconds=900"]);
            assert.equal(run.status, 0, run.stderr);
            assert.equal(relayAlert(run, "backlog-alert").inputs.criteria.allOf[0].threshold, 900);
        });
    });

    describe("AWS delivery and the consumer", () => {
        it("no ping-pong: both rules sit on the one bus and their source patterns are disjoint", () => {
            const bus = one(dev, "aws:cloudwatch/eventBus:EventBus");
            const egress = one(dev, "aws:cloudwatch/eventRule:EventRule", "-egress-rule");
            const ingress = one(dev, "aws:cloudwatch/eventRule:EventRule", "-aws-consumer-rule");
            assert.equal(egress.inputs.eventBusName, bus.outputs.name);
            assert.equal(ingress.inputs.eventBusName, bus.outputs.name);
            const toAzure: string[] = JSON.parse(egress.inputs.eventPattern).source;
            const toAws: string[] = JSON.parse(ingress.inputs.eventPattern).source;
            assert.deepEqual(Object.keys(JSON.parse(ingress.inputs.eventPattern)), ["source"], "the pattern selects by source only");
            assert.deepEqual(toAws, ["enterprise.azure.transactions"]);
            assert.ok(toAzure.length > 0);
            assert.deepEqual(toAzure.filter((s) => toAws.includes(s)), []);
            assert.equal(dev.outputs.azureEventSources, toAws.join(","));
        });

        it("rule → queue: the target has the retry policy and its own dead-letter queue; only this rule may send to either", () => {
            const rule = one(dev, "aws:cloudwatch/eventRule:EventRule", "-aws-consumer-rule");
            const target = one(dev, "aws:cloudwatch/eventTarget:EventTarget", "-aws-consumer-target");
            const queue = one(dev, "aws:sqs/queue:Queue", "-aws-consumer-queue");
            const targetDlq = one(dev, "aws:sqs/queue:Queue", "-aws-consumer-target-dlq");
            assert.equal(target.inputs.rule, rule.outputs.name);
            assert.equal(target.inputs.eventBusName, rule.inputs.eventBusName);
            assert.equal(target.inputs.arn, queue.outputs.arn);
            assert.deepEqual(target.inputs.retryPolicy, { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 185 });
            assert.deepEqual(target.inputs.deadLetterConfig, { arn: targetDlq.outputs.arn });
            for (const [q, suffix] of [[queue, "-aws-consumer-queue-policy"], [targetDlq, "-aws-consumer-target-dlq-policy"]] as const) {
                const policy = one(dev, "aws:sqs/queuePolicy:QueuePolicy", suffix);
                assert.equal(policy.inputs.queueUrl, q.outputs.url);
                const allows = doc(policy.inputs.policy).Statement.filter((s) => s.Effect === "Allow");
                assert.equal(allows.length, 1);
                assert.deepEqual([allows[0].Action, allows[0].Resource, allows[0].Condition.ArnEquals["aws:SourceArn"]], ["sqs:SendMessage", q.outputs.arn, rule.outputs.arn]);
            }
        });

        it("queue → DLQ → alarm: SSE everywhere, the redrive names the DLQ, each DLQ's depth alarm watches it, the queue alarms on age", () => {
            const queue = one(dev, "aws:sqs/queue:Queue", "-aws-consumer-queue");
            const dlq = one(dev, "aws:sqs/queue:Queue", "-aws-consumer-dlq");
            const targetDlq = one(dev, "aws:sqs/queue:Queue", "-aws-consumer-target-dlq");
            const topic = one(dev, "aws:sns/topic:Topic");
            for (const q of [queue, dlq, targetDlq]) {
                assert.equal(q.inputs.sqsManagedSseEnabled, true, q.name);
                assert.equal(q.inputs.messageRetentionSeconds, 1209600, q.name);
            }
            assert.deepEqual(JSON.parse(queue.inputs.redrivePolicy), { deadLetterTargetArn: dlq.outputs.arn, maxReceiveCount: 10 });
            for (const [q, suffix] of [[dlq, "-aws-consumer-dlq-depth-alarm"], [targetDlq, "-aws-consumer-target-dlq-depth-alarm"]] as const) {
                const alarm = one(dev, "aws:cloudwatch/metricAlarm:MetricAlarm", suffix);
                assert.equal(alarm.inputs.metricName, "ApproximateNumberOfMessagesVisible");
                assert.deepEqual(alarm.inputs.dimensions, { QueueName: q.outputs.name });
                assert.equal(alarm.inputs.threshold, 0);
                assert.deepEqual(alarm.inputs.alarmActions, [topic.outputs.arn]);
            }
            const age = one(dev, "aws:cloudwatch/metricAlarm:MetricAlarm", "-aws-consumer-queue-age-alarm");
            assert.equal(age.inputs.metricName, "ApproximateAgeOfOldestMessage");
            assert.deepEqual(age.inputs.dimensions, { QueueName: queue.outputs.name });
            assert.equal(age.inputs.threshold, 300);
            assert.equal(dev.outputs.awsConsumerDeadLetterQueueUrl, dlq.outputs.url);
        });

        it("mapping: this queue to this function, ReportBatchItemFailures, the configured batch; visibility timeout = 6 × function timeout + batching window", () => {
            const mapping = one(dev, "aws:lambda/eventSourceMapping:EventSourceMapping", "-aws-consumer-mapping");
            const fn = one(dev, "aws:lambda/function:Function", "-aws-consumer-function");
            const queue = one(dev, "aws:sqs/queue:Queue", "-aws-consumer-queue");
            assert.equal(mapping.inputs.eventSourceArn, queue.outputs.arn);
            assert.equal(mapping.inputs.functionName, fn.outputs.arn);
            assert.deepEqual(mapping.inputs.functionResponseTypes, ["ReportBatchItemFailures"]);
            assert.equal(mapping.inputs.batchSize, 10);
            assert.equal(mapping.inputs.maximumBatchingWindowInSeconds, 1);
            assert.equal(fn.inputs.timeout, 30);
            assert.equal(queue.inputs.visibilityTimeoutSeconds, 6 * fn.inputs.timeout + mapping.inputs.maximumBatchingWindowInSeconds);
            assert.equal(fn.inputs.environment.variables.MESH_VISIBILITY_TIMEOUT_SECONDS, String(queue.inputs.visibilityTimeoutSeconds));
            assert.equal(fn.inputs.environment.variables.MESH_FUNCTION_TIMEOUT_SECONDS, String(fn.inputs.timeout));
        });

        it("the consumer's role: Lambda only; receive/delete on its queue, send to its DLQ, put/update its table, its logs; nothing else", () => {
            const { role, inline } = byRole(dev, "-aws-consumer-role");
            const fn = one(dev, "aws:lambda/function:Function", "-aws-consumer-function");
            const queue = one(dev, "aws:sqs/queue:Queue", "-aws-consumer-queue");
            const dlq = one(dev, "aws:sqs/queue:Queue", "-aws-consumer-dlq");
            const table = one(dev, "aws:dynamodb/table:Table", "-aws-consumer-idempotency");
            const logs = one(dev, "aws:cloudwatch/logGroup:LogGroup", "-aws-consumer-logs");
            assert.equal(fn.inputs.role, role.outputs.arn);
            assert.deepEqual(doc(role.inputs.assumeRolePolicy).Statement.map((s: any) => s.Principal), [{ Service: "lambda.amazonaws.com" }]);
            assert.equal(inline.length, 1);
            const byAction: Record<string, string> = {};
            for (const st of doc(inline[0].inputs.policy).Statement) {
                assert.equal(st.Effect, "Allow");
                assert.equal(st.Condition, undefined);
                for (const action of [st.Action].flat()) byAction[action] = st.Resource;
            }
            assert.deepEqual(byAction, {
                "sqs:ReceiveMessage": queue.outputs.arn,
                "sqs:DeleteMessage": queue.outputs.arn,
                "sqs:GetQueueAttributes": queue.outputs.arn,
                "sqs:SendMessage": dlq.outputs.arn,
                "dynamodb:PutItem": table.outputs.arn,
                "dynamodb:UpdateItem": table.outputs.arn,
                "logs:CreateLogStream": `${logs.outputs.arn}:*`,
                "logs:PutLogEvents": `${logs.outputs.arn}:*`,
            });
            assert.equal(fn.inputs.environment.variables.MESH_IDEMPOTENCY_TABLE, table.outputs.name);
            assert.equal(fn.inputs.environment.variables.MESH_DEAD_LETTER_QUEUE_URL, dlq.outputs.url);
        });

        it("the idempotency table: the store's key and TTL attribute, TTL on, on-demand, encrypted, point-in-time recovery", () => {
            const table = one(dev, "aws:dynamodb/table:Table", "-aws-consumer-idempotency");
            assert.equal(table.inputs.hashKey, "pk");
            assert.deepEqual(table.inputs.attributes, [{ name: "pk", type: "S" }]);
            assert.deepEqual(table.inputs.ttl, { attributeName: "ttl", enabled: true });
            assert.equal(table.inputs.billingMode, "PAY_PER_REQUEST");
            assert.deepEqual(table.inputs.serverSideEncryption, { enabled: true });
            assert.deepEqual(table.inputs.pointInTimeRecovery, { enabled: true });
        });
    });

    describe("each direction can be switched off", () => {
        it("azureToAwsEnabled=false: no relay trust, audience, identity or AWS consumer, and none of their outputs", () => {
            const run = preview(["--stack", "dev", "--json", "--config", "azureToAwsEnabled=false"]);
            assert.equal(run.status, 0, run.stderr);
            for (const type of ["multicloud-mesh:aws:RelayTrust", "multicloud-mesh:azure:RelayAudience", "multicloud-mesh:azure:RelayIdentity", "multicloud-mesh:aws:IngressConsumer"]) {
                assert.equal(all(run, type).length, 0, type);
            }
            assert.equal(all(run, "aws:iam/openIdConnectProvider:OpenIdConnectProvider").length, 0);
            assert.equal(run.outputs.azureRelayRoleArn, undefined);
            assert.ok(run.outputs.queueName, "the other direction is still there");
        });

        it("awsToAzureEnabled=false: no outbox, egress, Service Bus or Azure consumer; the mesh's own bus carries the Azure → AWS route", () => {
            const run = preview(["--stack", "dev", "--json", "--config", "awsToAzureEnabled=false"]);
            assert.equal(run.status, 0, run.stderr);
            for (const type of ["multicloud-mesh:aws:EventEgress", "multicloud-mesh:aws:OutboxTable", "multicloud-mesh:aws:OutboxRelay", "azure-native:servicebus:Namespace", "azuread:index/applicationPassword:ApplicationPassword"]) {
                assert.equal(all(run, type).length, 0, type);
            }
            const bus = one(run, "aws:cloudwatch/eventBus:EventBus");
            assert.equal(one(run, "aws:cloudwatch/eventRule:EventRule", "-aws-consumer-rule").inputs.eventBusName, bus.outputs.name);
            assert.equal(run.outputs.busArn, bus.outputs.arn);
            assert.equal(run.outputs.queueName, undefined);
            assert.ok(run.outputs.azureRelayRoleArn);
        });

        it("refuses both off, and source lists that share a value (ping-pong), naming the keys", () => {
            const off = preview(["--stack", "dev", "--json", "--config", "awsToAzureEnabled=false", "--config", "azureToAwsEnabled=false"]);
            assert.equal(off.status, 1);
            assert.match(off.stderr, /awsToAzureEnabled and multicloud-mesh:azureToAwsEnabled are both false/);
            const loop = preview(["--stack", "dev", "--json", "--config", 'azureEventSources=["enterprise.transactions"]']);
            assert.equal(loop.status, 1);
            assert.match(loop.stderr, /multicloud-mesh:azureEventSources: "enterprise.transactions" also in multicloud-mesh:eventSources.*ping-pong/);
        });
    });
});
