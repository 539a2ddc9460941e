import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { alarmReceiverWarnings, CONFIG_DEFAULTS, MeshConfigError, readMeshConfig } from "../../components/config";
import { namespacePrefix } from "../../components/mesh";
import { isoDurationSeconds } from "../../components/azure/service-bus-ingress";
import { entraTokenEndpoint, serviceBusSendEndpoint } from "../../components/aws/event-egress";

const ROOT = path.resolve(__dirname, "..", "..");

function source(values: Record<string, string>) {
    return { get: (key: string) => values[key] };
}

function problemsOf(values: Record<string, string>): string[] {
    try {
        readMeshConfig(source(values));
    } catch (err) {
        assert.ok(err instanceof MeshConfigError, `expected MeshConfigError, got ${err}`);
        return err.problems;
    }
    assert.fail(`expected ${JSON.stringify(values)} to be rejected`);
}

describe("stack configuration (components/config.ts)", () => {
    it("outboxRelayBacklogAgeAlarmSeconds: 300 by default, 60..86400, a bad value named", () => {
        assert.equal(readMeshConfig(source({})).directions.azureToAws?.relay.backlogAgeAlarmSeconds, 300);
        assert.equal(readMeshConfig(source({ outboxRelayBacklogAgeAlarmSeconds: "900" })).directions.azureToAws?.relay.backlogAgeAlarmSeconds, 900);
        for (const bad of ["59", "86401", "ten"]) assert.ok(problemsOf({ outboxRelayBacklogAgeAlarmSeconds: bad }).some((p) => p.includes("outboxRelayBacklogAgeAlarmSeconds")), bad);
    });

    it("Pulumi.yaml declares every key the program reads, with the same default", () => {
        const project = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as { config: Record<string, any> };
        assert.deepEqual(Object.keys(project.config).sort(), Object.keys(CONFIG_DEFAULTS).sort());
        for (const [key, schema] of Object.entries(project.config)) {
            assert.ok(typeof schema.description === "string" && schema.description.length > 10, `${key} has no description`);
            assert.deepEqual(schema.default, (CONFIG_DEFAULTS as Record<string, unknown>)[key], `default of ${key}`);
            const expectedType = Array.isArray(schema.default) ? "array" : typeof schema.default === "number" ? "integer" : typeof schema.default;
            assert.equal(schema.type, expectedType, `type of ${key}`);
        }
    });

    it("stack files hold no plain-text secret and only declared keys", () => {
        for (const stack of ["dev", "prod"]) {
            const doc = yaml.load(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
            for (const [key, value] of Object.entries(doc.config)) {
                const [namespace, name] = key.split(":");
                if (namespace === "multicloud-mesh") assert.ok(name in CONFIG_DEFAULTS, `${stack}: ${key} is not declared in Pulumi.yaml`);
                const secure = typeof value === "object" && value !== null && "secure" in value;
                if (!secure) assert.doesNotMatch(key, /(password|clientSecret|accessKey|token|connectionString)$/i, `${stack}: ${key} looks like a secret; use pulumi config set --secret`);
                assert.doesNotMatch(JSON.stringify(value), /-----BEGIN|AKIA[0-9A-Z]{16}/, `${stack}: ${key} holds a credential`);
            }
        }
    });

    it("all defaults give a valid configuration", () => {
        const config = readMeshConfig(source({}));
        assert.equal(config.aws.region, "us-east-1");
        assert.deepEqual(config.events.sources, ["enterprise.transactions"]);
        assert.deepEqual(config.delivery, { maximumEventAgeSeconds: 86400, maximumRetryAttempts: 185, rateLimitPerSecond: 300 });
        assert.equal(config.azure.tenantId, undefined);
        assert.equal(config.alarms.email, undefined);
        assert.deepEqual(config.tags, {});
    });

    it("parses lists, integers, booleans and tags the way the CLI hands them over", () => {
        const config = readMeshConfig(
            source({
                eventSources: '["enterprise.transactions","enterprise.accounts"]',
                queueMaxDeliveryCount: "7",
                deletionProtection: "true",
                tags: '["team=payments","owner=platform=core"]',
                alarmEmail: "oncall@example.com",
                entraTenantId: "11111111-2222-4333-8444-555555555555",
            }),
        );
        assert.deepEqual(config.events.sources, ["enterprise.transactions", "enterprise.accounts"]);
        assert.equal(config.queue.maxDeliveryCount, 7);
        assert.equal(config.deletionProtection, true);
        assert.deepEqual(config.tags, { team: "payments", owner: "platform=core" });
        assert.equal(config.alarms.email, "oncall@example.com");
        assert.equal(config.azure.tenantId, "11111111-2222-4333-8444-555555555555");
    });

    const rejected: Array<[string, Record<string, string>, RegExp]> = [
        ["unknown AWS region", { awsRegion: "mars-1" }, /^multicloud-mesh:awsRegion: "mars-1" is not allowed; expected one of us-east-1, .*eu-west-1/],
        ["unknown Azure location", { azureLocation: "West Europe" }, /^multicloud-mesh:azureLocation: "West Europe" is not allowed; expected one of .*westeurope/],
        ["tenant that is not a GUID", { entraTenantId: "contoso.onmicrosoft.com" }, /^multicloud-mesh:entraTenantId: .* expected a tenant GUID/],
        ["empty source list", { eventSources: "[]" }, /^multicloud-mesh:eventSources: the list is empty/],
        ["source list that is not a list", { eventSources: "enterprise.transactions" }, /^multicloud-mesh:eventSources: .* is not a list/],
        ["reserved aws. source", { eventSources: '["aws.s3"]' }, /^multicloud-mesh:eventSources: "aws.s3" is not a valid custom event source/],
        ["duplicate sources", { eventSources: '["a.b","a.b"]' }, /^multicloud-mesh:eventSources: contains duplicates/],
        ["queue name with a space", { queueName: "my queue" }, /^multicloud-mesh:queueName: "my queue" is not allowed/],
        ["maxDeliveryCount below 1", { queueMaxDeliveryCount: "0" }, /^multicloud-mesh:queueMaxDeliveryCount: "0" is not allowed; expected an integer from 1 to 2000$/],
        ["non-integer maxDeliveryCount", { queueMaxDeliveryCount: "2.5" }, /^multicloud-mesh:queueMaxDeliveryCount: "2.5" is not allowed/],
        ["lock longer than Service Bus allows", { queueLockDurationSeconds: "301" }, /^multicloud-mesh:queueLockDurationSeconds: "301" .* from 5 to 300$/],
        ["duplicate detection window over 7 days", { queueDuplicateDetectionWindowMinutes: "10081" }, /^multicloud-mesh:queueDuplicateDetectionWindowMinutes: .* from 0 to 10080$/],
        ["Basic tier", { serviceBusSku: "Basic" }, /^multicloud-mesh:serviceBusSku: "Basic" is not allowed; expected one of Standard, Premium$/],
        ["Premium capacity not offered", { serviceBusSku: "Premium", serviceBusCapacity: "3" }, /^multicloud-mesh:serviceBusCapacity: 3 messaging units is not offered; allowed for Premium: 1, 2, 4, 8, 16$/],
        ["capacity on Standard", { serviceBusCapacity: "2" }, /^multicloud-mesh:serviceBusCapacity: messaging units apply to Premium only/],
        ["retry age below 60 s", { retryMaximumEventAgeSeconds: "59" }, /^multicloud-mesh:retryMaximumEventAgeSeconds: "59" .* from 60 to 86400$/],
        ["retry age above 24 h", { retryMaximumEventAgeSeconds: "86401" }, /^multicloud-mesh:retryMaximumEventAgeSeconds: "86401" .* from 60 to 86400$/],
        ["more than 185 retries", { retryMaximumAttempts: "186" }, /^multicloud-mesh:retryMaximumAttempts: "186" .* from 0 to 185$/],
        ["rate limit 0", { apiDestinationRateLimitPerSecond: "0" }, /^multicloud-mesh:apiDestinationRateLimitPerSecond: "0" .* from 1 to 300$/],
        ["negative archive retention", { archiveRetentionDays: "-1" }, /^multicloud-mesh:archiveRetentionDays: "-1"/],
        ["malformed e-mail", { alarmEmail: "oncall" }, /^multicloud-mesh:alarmEmail: "oncall" is not allowed; expected an e-mail address/],
        ["SNS topic ARN with a bad account", { alarmSnsTopicArn: "arn:aws:sns:us-east-1:1234:pager" }, /^multicloud-mesh:alarmSnsTopicArn: "arn:aws:sns:us-east-1:1234:pager" is not allowed; expected an SNS standard topic ARN/],
        ["FIFO SNS topic", { alarmSnsTopicArn: "arn:aws:sns:us-east-1:123456789012:pager.fifo" }, /^multicloud-mesh:alarmSnsTopicArn: .* not \.fifo/],
        ["SQS ARN as the alarm topic", { alarmSnsTopicArn: "arn:aws:sqs:us-east-1:123456789012:pager" }, /^multicloud-mesh:alarmSnsTopicArn: .* is not allowed/],
        ["SNS topic in another region", { alarmSnsTopicArn: "arn:aws:sns:eu-west-1:123456789012:pager" }, /^multicloud-mesh:alarmSnsTopicArn: the topic is in eu-west-1 but the stack's multicloud-mesh:awsRegion is us-east-1/],
        ["action group id of another resource type", { alarmActionGroupId: "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/ops/providers/Microsoft.Insights/metricAlerts/pager" }, /^multicloud-mesh:alarmActionGroupId: .* is not allowed; expected an action group resource id/],
        ["action group id without a subscription GUID", { alarmActionGroupId: "/subscriptions/prod/resourceGroups/ops/providers/Microsoft.Insights/actionGroups/pager" }, /^multicloud-mesh:alarmActionGroupId: .* is not allowed/],
        ["required receiver missing", { requireAlarmReceiver: "true" }, /^multicloud-mesh:requireAlarmReceiver: is true but no alarm receiver is set; set at least one of multicloud-mesh:alarmEmail, multicloud-mesh:alarmSnsTopicArn, multicloud-mesh:alarmActionGroupId/],
        ["expiry alarm that fires before a rotation is due", { secretExpiryAlarmDays: "59" }, /^multicloud-mesh:secretExpiryAlarmDays: 59 days would page before the next rotation is even due; keep it below .* = 59$/],
        ["boolean spelled yes", { deletionProtection: "yes" }, /^multicloud-mesh:deletionProtection: "yes" is not allowed; expected true or false$/],
        ["secret rotation past Entra's 2 years", { publisherRotationDays: "480", publisherRotationGraceDays: "30" }, /^multicloud-mesh:publisherRotationGraceDays: with multicloud-mesh:publisherRotationDays 480, secrets would live 750 days/],
        ["odd rotation period", { publisherRotationDays: "91" }, /^multicloud-mesh:publisherRotationDays: 91 must be even/],
        ["tag without '='", { tags: '["team"]' }, /^multicloud-mesh:tags: "team" is not "key=value"/],
        ["infinite relay retries (-1)", { relayMaximumRetryAttempts: "-1" }, /^multicloud-mesh:relayMaximumRetryAttempts: "-1" .* from 0 to 10000$/],
        ["relay timeout over 15 minutes", { relayTimeoutSeconds: "901" }, /^multicloud-mesh:relayTimeoutSeconds: "901" .* from 1 to 900$/],
        ["an Azure Cache for Redis SKU", { redisSku: "Standard_C1" }, /^multicloud-mesh:redisSku: "Standard_C1" is not allowed; expected an Azure Managed Redis SKU/],
        ["a Flex Consumption instance size that does not exist", { consumerInstanceMemoryMb: "1024" }, /^multicloud-mesh:consumerInstanceMemoryMb: 1024 is not a Flex Consumption instance size; expected one of 512, 2048, 4096$/],
        ["a Flex Consumption scale-out limit under 40", { consumerMaximumInstanceCount: "10" }, /^multicloud-mesh:consumerMaximumInstanceCount: "10" is not allowed; expected an integer from 40 to 1000$/],
        ["log retention CloudWatch does not offer", { logRetentionDays: "8" }, /^multicloud-mesh:logRetentionDays: 8 is not a CloudWatch Logs retention; expected one of 1, 3, 5, 7, 14, 30/],
    ];
    for (const [what, values, message] of rejected) {
        it(`rejects ${what}, naming the key`, () => {
            const problems = problemsOf(values);
            assert.equal(problems.length, 1, problems.join("\n"));
            assert.match(problems[0], message);
        });
    }

    it("alarm receivers: any one of the three satisfies requireAlarmReceiver; valid ids are kept", () => {
        const topic = "arn:aws:sns:us-east-1:123456789012:pager-duty_1";
        const group = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/ops-rg.(1)/providers/microsoft.insights/actionGroups/pager";
        assert.equal(readMeshConfig(source({ requireAlarmReceiver: "true", alarmEmail: "a@b.io" })).alarms.email, "a@b.io");
        assert.equal(readMeshConfig(source({ requireAlarmReceiver: "true", alarmSnsTopicArn: topic })).alarms.snsTopicArn, topic);
        assert.equal(readMeshConfig(source({ requireAlarmReceiver: "true", alarmActionGroupId: group })).alarms.actionGroupId, group);
        assert.equal(readMeshConfig(source({ secretExpiryAlarmDays: "58" })).alarms.secretExpiryDays, 58);
    });

    it("warns when alarms reach no one, or only a reserved placeholder domain", () => {
        assert.match(alarmReceiverWarnings({ secretExpiryDays: 21 }).join(), /no alarm receiver is configured: every alarm of this stack notifies no one/);
        assert.match(alarmReceiverWarnings({ email: "platform-oncall@example.com", secretExpiryDays: 21 }).join(), /reserved placeholder domain/);
        assert.match(alarmReceiverWarnings({ email: "ops@corp.test", secretExpiryDays: 21 }).join(), /reserved placeholder domain/);
        assert.deepEqual(alarmReceiverWarnings({ email: "oncall@examples.com", secretExpiryDays: 21 }), []);
        assert.deepEqual(alarmReceiverWarnings({ email: "platform-oncall@example.com", actionGroupId: "/subscriptions/x", secretExpiryDays: 21 }), []);
    });

    it("prod requires a receiver and carries one; dev does not", () => {
        const stackSource = (stack: string) => {
            const doc = yaml.load(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
            const values = Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k.replace(/^multicloud-mesh:/, ""), typeof v === "string" ? v : JSON.stringify(v)]));
            return values;
        };
        const prod = stackSource("prod");
        assert.equal(prod.requireAlarmReceiver, "true");
        assert.ok(readMeshConfig(source(prod)).alarms.email);
        delete prod.alarmEmail;
        assert.match(problemsOf(prod).join("\n"), /requireAlarmReceiver: is true but no alarm receiver is set/);
        assert.notEqual(stackSource("dev").requireAlarmReceiver, "true");
    });

    it("directions: both on by default; the Azure → AWS settings are read and checked; overlapping sources and both off are refused", () => {
        const defaults = readMeshConfig(source({}));
        assert.equal(defaults.directions.awsToAzure, true);
        assert.deepEqual(defaults.directions.azureToAws?.sources, ["enterprise.azure.transactions"]);
        assert.deepEqual(defaults.directions.azureToAws?.consumer, { memoryMb: 256, timeoutSeconds: 30, batchSize: 10, batchWindowSeconds: 1, maxReceiveCount: 10, queueAgeAlarmSeconds: 300 });
        assert.deepEqual(defaults.directions.azureToAws?.postgres, {
            skuName: "Standard_B1ms", skuTier: "Burstable", version: "16", storageSizeGb: 32, highAvailability: "Disabled", backupRetentionDays: 7,
            geoRedundantBackup: false, databaseName: "outbox", allowAzureServices: true, adminName: "", deployerIpRanges: [],
        });
        assert.deepEqual(readMeshConfig(source({ outboxPostgresDeployerIpRanges: '["office=203.0.113.1-203.0.113.9"]' })).directions.azureToAws?.postgres.deployerIpRanges, [
            { name: "office", start: "203.0.113.1", end: "203.0.113.9" },
        ]);
        assert.match(problemsOf({ outboxPostgresDeployerIpRanges: '["office=203.0.113.1"]' })[0], /outboxPostgresDeployerIpRanges: "office=203.0.113.1" is not "name=first-last"/);
        assert.match(problemsOf({ outboxPostgresHighAvailability: "ZoneRedundant" })[0], /outboxPostgresHighAvailability: ZoneRedundant needs .*Burstable has no high availability/);
        assert.equal(readMeshConfig(source({ azureToAwsEnabled: "false" })).directions.azureToAws, undefined);
        assert.deepEqual(problemsOf({ eventSources: '["a.orders","b.orders"]', azureEventSources: '["b.orders"]' }), [
            'multicloud-mesh:azureEventSources: "b.orders" also in multicloud-mesh:eventSources: an event from Azure would be forwarded back to Azure (ping-pong); the two lists must be disjoint',
        ]);
        // With the AWS → Azure route off, nothing could loop: the lists may overlap.
        assert.deepEqual(readMeshConfig(source({ awsToAzureEnabled: "false", azureEventSources: '["enterprise.transactions"]' })).directions.azureToAws?.sources, ["enterprise.transactions"]);
        assert.match(problemsOf({ awsToAzureEnabled: "false", azureToAwsEnabled: "false" })[0], /are both false/);
        assert.match(problemsOf({ awsConsumerBatchSize: "100", awsConsumerBatchWindowSeconds: "0" })[0], /awsConsumerBatchWindowSeconds: must be at least 1/);
        assert.match(problemsOf({ azureEventSources: '["aws.s3"]' })[0], /azureEventSources: "aws.s3" is not a valid custom event source/);
        assert.match(problemsOf({ azureEventSources: "[]" })[0], /azureEventSources: the list is empty/);
    });

    it("reports every bad key at once", () => {
        const problems = problemsOf({ awsRegion: "x", queueMaxDeliveryCount: "0", eventSources: "[]" });
        assert.equal(problems.length, 3);
        try {
            readMeshConfig(source({ awsRegion: "x", queueMaxDeliveryCount: "0", eventSources: "[]" }));
        } catch (err) {
            assert.match((err as Error).message, /^invalid stack configuration \(3 problems\):/);
        }
    });
});

describe("naming and endpoint helpers", () => {
    it("namespace prefixes are valid Service Bus names for any stack name", () => {
        assert.equal(namespacePrefix("mesh-dev"), "mesh-dev");
        assert.equal(namespacePrefix("mesh-Feature_42"), "mesh-feature-42");
        assert.equal(namespacePrefix("42"), "mesh0");
        const long = namespacePrefix(`mesh-${"x".repeat(80)}`);
        assert.ok(long.length <= 43 && /^[a-z][a-z0-9-]*[a-z0-9]$/.test(long), long);
    });

    it("ISO-8601 durations for Service Bus", () => {
        assert.equal(isoDurationSeconds(60), "PT1M");
        assert.equal(isoDurationSeconds(90), "PT1M30S");
        assert.equal(isoDurationSeconds(5), "PT5S");
        assert.equal(isoDurationSeconds(7 * 86400), "PT168H");
    });

    it("endpoints", () => {
        assert.equal(entraTokenEndpoint("t-1"), "https://login.microsoftonline.com/t-1/oauth2/v2.0/token");
        assert.equal(serviceBusSendEndpoint("ns.servicebus.windows.net", "mesh.events"), "https://ns.servicebus.windows.net/mesh.events/messages");
    });
});
