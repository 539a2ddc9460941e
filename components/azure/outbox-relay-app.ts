import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as monitor from "@pulumi/azure-native/monitor";
import { RELAY_HOST_LOG_MESSAGES, RELAY_SETTING_NAMES } from "../../runtime/azure-relay-host";
import { RELAY_LOG_MESSAGES } from "../../runtime/postgres-outbox/relay";
import { createConsumerStorage } from "./consumer-storage";
import { createFlexApp } from "./consumer-flex";
import { writeConsumerZip } from "./consumer-zip";
import { createFunctionInsights, hostSettings } from "./function-telemetry";
import { buildRelayPackage, RELAY_FUNCTION_NAME } from "./outbox-relay-package";
import { PackageDeployment } from "./package-deployment";
import { DOCUMENTED_RBAC_PROPAGATION_SECONDS, rolePropagationWait } from "./role-propagation";
import { FLEX_INSTANCE_MEMORY_MB } from "../config";
import { fail, requireInteger } from "../validate";

export interface OutboxRelayAppArgs {
    /** Resource group of the app, its storage and Application Insights. */
    resourceGroupName: pulumi.Input<string>;
    /** Azure region of all of them. */
    location: pulumi.Input<string>;
    /** The relay identity (relay-identity.ts): the app runs as it, the AWS role and the PostgreSQL role trust it. */
    identity: { id: pulumi.Input<string>; principalId: pulumi.Input<string>; clientId: pulumi.Input<string> };
    /** The outbox: server FQDN, database, the relay's PostgreSQL role and the table (outbox-postgres.ts outputs). */
    postgres: { host: pulumi.Input<string>; database: pulumi.Input<string>; user: pulumi.Input<string>; table: pulumi.Input<string> };
    /** ARN of the AWS role the relay assumes with its Entra token (PutEvents on the mesh bus only). */
    awsRoleArn: pulumi.Input<string>;
    /** AWS region of the bus. */
    awsRegion: pulumi.Input<string>;
    /** Name (or ARN) of the EventBridge bus. */
    eventBusName: pulumi.Input<string>;
    /** Audience of the Entra token the AWS OIDC provider accepts (the role's trust pins it as `aud`). */
    audience: pulumi.Input<string>;
    /** Seconds between timer runs; divides 60 (default 10). The latency bound is about one period plus one run. */
    scheduleSeconds?: number;
    /** Rows claimed per batch (1..1000; default 100). */
    batchSize?: number;
    /** Claim lease, seconds (5..3600; default 120): a crashed run's rows are claimable again after it. */
    leaseSeconds?: number;
    /** Log Analytics workspace of the relay's Application Insights (the consumer's, like the diagnostics). */
    workspaceId: pulumi.Input<string>;
    /** Action group the relay's alerts notify (the ingress's, where the other Azure alerts go). */
    actionGroupId: pulumi.Input<string>;
    /** Age (s) of the oldest pending outbox row that raises the backlog alert (60..86400; default 300). */
    backlogAgeAlarmSeconds?: number;
    /** Flex Consumption instance memory, MB (512, 2048, 4096; default 512: the relay is I/O-bound). */
    instanceMemoryMb?: number;
    /** Whether the principal running `pulumi up` is a person or a service principal (package upload role). */
    deployerPrincipalType: "User" | "ServicePrincipal";
    /** Seconds between the identity's role assignments and the app's start (0..3600; default 600). */
    rolePropagationSeconds?: number;
    /** Where the package ZIP is written before upload (default: the OS temp folder). */
    packageDir?: string;
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** The column the backlog alert aggregates: the host's field of the same name. */
export const BACKLOG_MEASURE = "oldestPendingAgeSeconds";

/** The log-search conditions of the relay's alerts, built from the runtime's own message constants. */
export function relayAlertQueries(functionName = RELAY_FUNCTION_NAME): { parked: string; failures: string; backlog: string } {
    // The JSON logger writes `"message":"<text>"`; matching that exact field keeps other lines quoting the text out.
    const field = (text: string) => JSON.stringify({ message: text }).slice(1, -1).replace(/\\/g, "\\\\").replace(/'/g, "\\'");
    return {
        parked: `traces | where message contains '${field(RELAY_LOG_MESSAGES.parked)}'`,
        // A failed run (settings, database, credentials) fails its invocation; a failed PutEvents request is logged and its rows put back.
        failures: `union (requests | where name == '${functionName}' and success == false), (traces | where message contains '${field(RELAY_LOG_MESSAGES.requestFailed)}')`,
        // The host's one line per run (runtime/azure-relay-host.ts RELAY_HOST_LOG_MESSAGES.backlog): its JSON fields are the trace's message.
        backlog:
            `traces | where message contains '${field(RELAY_HOST_LOG_MESSAGES.backlog)}'` +
            ` | extend ${BACKLOG_MEASURE} = toreal(parse_json(message).${BACKLOG_MEASURE}) | where isnotnull(${BACKLOG_MEASURE}) | project timestamp, ${BACKLOG_MEASURE}`,
    };
}

/**
 * The outbox relay on Azure: a Flex Consumption Functions app (the consumer's hosting: same plan,
 * identity-only storage, package deployment) whose timer runs the runtime's relay
 * (`createOutboxRelayTimerHandler(readRelaySettings(process.env))`) every `scheduleSeconds`, as the
 * relay identity. Its settings name hosts, roles and audiences only: the PostgreSQL password is the
 * identity's Entra token and AWS credentials come from AssumeRoleWithWebIdentity, so nothing secret
 * is stored. Three log-search alerts go to the action group: any parked (poison) row, any failed
 * run or PutEvents request, and a pending row older than `backlogAgeAlarmSeconds`.
 */
export class OutboxRelayApp extends pulumi.ComponentResource {
    public readonly functionAppName: pulumi.Output<string>;
    public readonly functionAppId: pulumi.Output<string>;
    public readonly insightsId: pulumi.Output<string>;
    public readonly parkedAlertId: pulumi.Output<string>;
    public readonly failureAlertId: pulumi.Output<string>;
    public readonly backlogAlertId: pulumi.Output<string>;
    /** Host storage account (diagnostics target). */
    public readonly storageAccountId: pulumi.Output<string>;
    public readonly packageSha256: pulumi.Output<string>;
    /** The timer's NCRONTAB expression. */
    public readonly schedule: string;

    constructor(name: string, args: OutboxRelayAppArgs, opts?: pulumi.ComponentResourceOptions) {
        super("multicloud-mesh:azure:OutboxRelayApp", name, {}, opts);
        const scheduleSeconds = args.scheduleSeconds ?? 10;
        const leaseSeconds = args.leaseSeconds ?? 120;
        const batchSize = args.batchSize ?? 100;
        const instanceMemoryMb = args.instanceMemoryMb ?? 512;
        const backlogAgeAlarmSeconds = args.backlogAgeAlarmSeconds ?? 300;
        validateRelayArgs(args, { scheduleSeconds, leaseSeconds, batchSize, instanceMemoryMb, backlogAgeAlarmSeconds });
        const pkg = buildRelayPackage({ scheduleSeconds });
        const deployer = authorization.getClientConfigOutput({ parent: this });

        const stores = createConsumerStorage(
            name,
            {
                resourceGroupName: args.resourceGroupName,
                location: args.location,
                appPrincipalId: args.identity.principalId,
                deployerObjectId: deployer.objectId,
                deployerPrincipalType: args.deployerPrincipalType,
                tags: args.tags,
            },
            this,
        );
        const { insights, publisher } = createFunctionInsights(
            name,
            {
                resourceGroupName: args.resourceGroupName,
                location: args.location,
                workspaceId: args.workspaceId,
                appPrincipalId: args.identity.principalId,
                publisherDescription: "The outbox relay sends telemetry with its identity",
                tags: args.tags,
            },
            this,
        );

        const n = RELAY_SETTING_NAMES;
        const settings: Record<string, pulumi.Input<string>> = {
            ...hostSettings({ storageAccountName: stores.host.name, identityClientId: args.identity.clientId, insightsConnectionString: insights.connectionString }),
            [n.pgHost]: args.postgres.host,
            [n.pgPort]: "5432",
            [n.pgDatabase]: args.postgres.database,
            [n.pgUser]: args.postgres.user,
            [n.outboxTable]: args.postgres.table,
            [n.awsRoleArn]: args.awsRoleArn,
            [n.awsRegion]: args.awsRegion,
            [n.eventBusName]: args.eventBusName,
            [n.audience]: args.audience,
            [n.roleSessionName]: "mesh-outbox-relay",
            [n.clientId]: args.identity.clientId,
            // A run ends 2 s before the next tick, so runs never queue up behind each other.
            [n.budgetMs]: String(Math.max(1_000, scheduleSeconds * 1000 - 2_000)),
            [n.leaseMs]: String(leaseSeconds * 1000),
            [n.batchSize]: String(batchSize),
        };

        const roles = [stores.roles.hostOwner, stores.roles.packageReader, publisher];
        const rolePropagation = rolePropagationWait(`${name}-role-propagation`, roles, args.rolePropagationSeconds ?? DOCUMENTED_RBAC_PROPAGATION_SECONDS, this);
        const app = createFlexApp(
            name,
            {
                component: "OutboxRelayApp",
                resourceGroupName: args.resourceGroupName,
                location: args.location,
                identityId: args.identity.id,
                deploymentContainerUrl: stores.containerUrl,
                // One instance drains the outbox: the timer runs as a singleton, more instances would idle.
                maximumInstanceCount: 40,
                instanceMemoryMb,
                settings,
                tags: args.tags,
            },
            { parent: this, dependsOn: [...roles, rolePropagation] },
        );

        const packageDir = args.packageDir ?? path.join(os.tmpdir(), "multicloud-mesh-packages");
        const written = pulumi.output(pkg.contentHash.then((key) => writeConsumerZip(pkg.archive, packageDir, key, RELAY_FUNCTION_NAME)));
        const deployment = new PackageDeployment(
            `${name}-package`,
            {
                packageUrl: stores.packageUrl,
                appResourceId: app.site.id,
                functionName: RELAY_FUNCTION_NAME,
                packagePath: written.path,
                packageSha256: written.sha256,
                deployerObjectId: deployer.objectId,
            },
            { parent: this, dependsOn: [app.site, app.basicAuth.ftp, app.basicAuth.scm, stores.roles.packageWriter, stores.roles.packageReader] },
        );

        const queries = relayAlertQueries();
        const countAny = (query: string) => ({ query, timeAggregation: "Count", operator: "GreaterThan", threshold: 0, failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 } });
        const alert = (role: string, severity: number, description: string, condition: Record<string, unknown>, autoMitigate = false) =>
            new monitor.ScheduledQueryRule(
                `${name}-${role}`,
                {
                    resourceGroupName: args.resourceGroupName,
                    location: args.location,
                    kind: "LogAlert",
                    description,
                    severity,
                    enabled: true,
                    scopes: [insights.id],
                    evaluationFrequency: "PT5M",
                    windowSize: "PT5M",
                    criteria: { allOf: [condition] },
                    autoMitigate,
                    actions: { actionGroups: [args.actionGroupId] },
                    tags: args.tags,
                },
                { parent: this },
            );
        const parked = alert(
            "parked-alert",
            1,
            "An outbox row was parked (poison): it will not be sent again by itself. The trace has its eventId and reason; fix the event and set it back to pending (docs/azure-outbox-infrastructure.md).",
            countAny(queries.parked),
        );
        const failures = alert(
            "failure-alert",
            2,
            "The outbox relay failed a run or a PutEvents request: pending rows stay pending and claimed ones return after their lease. Check the trace (database, Entra token, AWS role).",
            countAny(queries.failures),
        );
        // Microsoft.Insights 2025-01-01-preview scheduledQueryRule_API.json (the version @pulumi/azure-native 3.28.0
        // uses), definitions/Condition: timeAggregation enum Count | Average | Minimum | Maximum | Total,
        // metricMeasureColumn (the column aggregated instead of counting rows), operator enum incl. GreaterThan,
        // threshold (double); ScheduledQueryRuleProperties.autoMitigate (resolves when the condition clears).
        const backlog = alert(
            "backlog-alert",
            2,
            `The oldest pending outbox row has waited more than ${backlogAgeAlarmSeconds} s: the relay is not keeping up or cannot publish (see the failure alert and the relay's traces). Rows stay pending, nothing is lost; events reach AWS late.`,
            {
                query: queries.backlog,
                timeAggregation: "Maximum",
                metricMeasureColumn: BACKLOG_MEASURE,
                operator: "GreaterThan",
                threshold: backlogAgeAlarmSeconds,
                failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 },
            },
            // A backlog drains by itself once the relay catches up: the alert resolves then.
            true,
        );

        this.functionAppName = app.site.name;
        this.functionAppId = app.site.id;
        this.insightsId = insights.id;
        this.parkedAlertId = parked.id;
        this.failureAlertId = failures.id;
        this.backlogAlertId = backlog.id;
        this.storageAccountId = stores.host.id;
        this.packageSha256 = deployment.packageSha256;
        this.schedule = pkg.schedule;
        this.registerOutputs({ functionAppName: this.functionAppName, functionAppId: this.functionAppId, parkedAlertId: this.parkedAlertId, failureAlertId: this.failureAlertId, backlogAlertId: this.backlogAlertId });
    }
}

function validateRelayArgs(args: OutboxRelayAppArgs, d: { scheduleSeconds: number; leaseSeconds: number; batchSize: number; instanceMemoryMb: number; backlogAgeAlarmSeconds: number }): void {
    const C = "OutboxRelayApp";
    if (!Number.isInteger(d.scheduleSeconds) || d.scheduleSeconds < 5 || 60 % d.scheduleSeconds !== 0) {
        fail(C, "scheduleSeconds", `must divide 60 and be at least 5 (5, 6, 10, 12, 15, 20, 30, 60), got ${d.scheduleSeconds}`);
    }
    requireInteger(C, "leaseSeconds", d.leaseSeconds, 5, 3600);
    // The lease must outlast a run, or a slow run's rows could be claimed again by the next tick while it still publishes them.
    if (d.leaseSeconds <= d.scheduleSeconds) fail(C, "leaseSeconds", `must be longer than a run (scheduleSeconds ${d.scheduleSeconds}), got ${d.leaseSeconds}`);
    requireInteger(C, "batchSize", d.batchSize, 1, 1000);
    requireInteger(C, "backlogAgeAlarmSeconds", d.backlogAgeAlarmSeconds, 60, 86400);
    // Rows wait up to a timer period in normal operation: a lower threshold would fire on a healthy relay.
    if (d.backlogAgeAlarmSeconds <= d.scheduleSeconds) fail(C, "backlogAgeAlarmSeconds", `must be longer than the timer period (scheduleSeconds ${d.scheduleSeconds}), got ${d.backlogAgeAlarmSeconds}`);
    if (!FLEX_INSTANCE_MEMORY_MB.includes(d.instanceMemoryMb)) fail(C, "instanceMemoryMb", `must be one of ${FLEX_INSTANCE_MEMORY_MB.join(", ")}, got ${d.instanceMemoryMb}`);
    if (args.rolePropagationSeconds !== undefined) requireInteger(C, "rolePropagationSeconds", args.rolePropagationSeconds, 0, 3600);
    if (args.deployerPrincipalType !== "User" && args.deployerPrincipalType !== "ServicePrincipal") fail(C, "deployerPrincipalType", `must be "User" or "ServicePrincipal"`);
    for (const field of ["awsRoleArn", "awsRegion", "eventBusName", "audience", "workspaceId", "actionGroupId"] as const) {
        if (args[field] === undefined || args[field] === "") fail(C, field, "is required");
    }
}
