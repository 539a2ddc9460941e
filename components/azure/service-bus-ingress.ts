import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as servicebus from "@pulumi/azure-native/servicebus";
import * as monitor from "@pulumi/azure-native/monitor";
import * as authorization from "@pulumi/azure-native/authorization";
import { fail, requireInteger } from "../validate";
import { ACTION_GROUP_ID } from "../config";

export interface ServiceBusIngressArgs {
    /** Resource group that holds the namespace and its alerting. */
    resourceGroupName: pulumi.Input<string>;
    /** Azure region of the namespace. */
    location: pulumi.Input<string>;
    /** Prefix of the globally unique namespace name; a stable random suffix is appended. */
    namespacePrefix: string;
    /** `Standard` (no messaging units) or `Premium` (isolated capacity, zone redundancy). */
    sku: "Standard" | "Premium";
    /** Premium messaging units (1, 2, 4, 8 or 16); ignored on Standard. */
    capacity: number;
    /** Queue the API destination sends to and the consumer reads. */
    queueName: string;
    /** Deliveries before Service Bus moves a message to the dead-letter queue (1..2000). */
    maxDeliveryCount: number;
    /** Peek-lock duration in seconds (5..300): the consumer's idempotency lease never outlives it. */
    lockDurationSeconds: number;
    /** Days an undelivered message lives before it is dead-lettered on expiry. */
    messageTtlDays: number;
    /** Duplicate detection window in minutes; 0 turns it off. */
    duplicateDetectionWindowMinutes: number;
    /** E-mail receiver of the mesh's action group; none when undefined. */
    alertEmail?: pulumi.Input<string>;
    /**
     * Existing action groups (resource ids) every alert also notifies, for teams that page through
     * another tool: an action group cannot contain another, so each alert lists them all.
     */
    extraActionGroupIds?: string[];
    /** Lock the namespace against deletion and protect it in Pulumi. */
    deletionProtection: boolean;
    /** Tags on every taggable resource of this component. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** ISO-8601 duration for a number of seconds, as Service Bus expects for TimeSpan properties. */
export function isoDurationSeconds(seconds: number): string {
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    return `PT${h ? `${h}H` : ""}${m ? `${m}M` : ""}${s || (!h && !m) ? `${s}S` : ""}`;
}

/**
 * The Azure half of the delivery path: a Service Bus namespace with SAS keys disabled (only Entra ID
 * identities with a data role can send or receive) and TLS 1.2 minimum, the mesh queue with peek-lock
 * redelivery bounded by maxDeliveryCount, and a metric alert on that queue's dead-letter count.
 */
export class ServiceBusIngress extends pulumi.ComponentResource {
    public readonly namespaceName: pulumi.Output<string>;
    public readonly namespaceId: pulumi.Output<string>;
    /** `<namespace>.servicebus.windows.net` */
    public readonly namespaceFqdn: pulumi.Output<string>;
    public readonly queueName: pulumi.Output<string>;
    public readonly queueId: pulumi.Output<string>;
    /** Entity path of the queue's dead-letter sub-queue, as the Service Bus SDKs address it. */
    public readonly deadLetterPath: pulumi.Output<string>;
    public readonly actionGroupId: pulumi.Output<string>;
    /** The mesh's action group, then `extraActionGroupIds`: what every Azure alert of the mesh must list. */
    public readonly alertActionGroupIds: pulumi.Output<string[]>;

    constructor(name: string, args: ServiceBusIngressArgs, opts?: pulumi.ComponentResourceOptions) {
        super("multicloud-mesh:azure:ServiceBusIngress", name, {}, opts);
        validateIngressArgs(args);

        const suffix = new random.RandomString(
            `${name}-suffix`,
            { length: 6, special: false, upper: false },
            { parent: this },
        );

        const premium = args.sku === "Premium";
        const namespace = new servicebus.Namespace(
            `${name}-namespace`,
            {
                resourceGroupName: args.resourceGroupName,
                location: args.location,
                namespaceName: pulumi.interpolate`${args.namespacePrefix}-${suffix.result}`,
                sku: premium
                    ? { name: "Premium", tier: "Premium", capacity: args.capacity }
                    : { name: "Standard", tier: "Standard" },
                disableLocalAuth: true,
                minimumTlsVersion: "1.2",
                zoneRedundant: premium ? true : undefined,
                tags: args.tags,
            },
            { parent: this, protect: args.deletionProtection },
        );

        const duplicateDetection = args.duplicateDetectionWindowMinutes > 0;
        const queue = new servicebus.Queue(
            `${name}-queue`,
            {
                resourceGroupName: args.resourceGroupName,
                namespaceName: namespace.name,
                queueName: args.queueName,
                maxDeliveryCount: args.maxDeliveryCount,
                lockDuration: isoDurationSeconds(args.lockDurationSeconds),
                defaultMessageTimeToLive: `P${args.messageTtlDays}D`,
                deadLetteringOnMessageExpiration: true,
                requiresDuplicateDetection: duplicateDetection,
                duplicateDetectionHistoryTimeWindow: duplicateDetection
                    ? isoDurationSeconds(args.duplicateDetectionWindowMinutes * 60)
                    : undefined,
                requiresSession: false,
                enableBatchedOperations: true,
            },
            { parent: this, protect: args.deletionProtection },
        );

        if (args.deletionProtection) {
            new authorization.ManagementLockByScope(
                `${name}-namespace-lock`,
                {
                    scope: namespace.id,
                    level: "CanNotDelete",
                    notes: "The mesh queue and its dead letters may hold the only copy of an event",
                },
                { parent: this },
            );
        }

        const actionGroup = new monitor.ActionGroup(
            `${name}-alerts`,
            {
                resourceGroupName: args.resourceGroupName,
                location: "Global",
                enabled: true,
                // Azure caps the short name at 12 characters; it appears in SMS and e-mail subjects.
                groupShortName: "mesh-alerts",
                emailReceivers:
                    args.alertEmail === undefined
                        ? []
                        : [{ name: "mesh-operators", emailAddress: args.alertEmail, useCommonAlertSchema: true }],
                tags: args.tags,
            },
            { parent: this },
        );

        const extra = args.extraActionGroupIds ?? [];
        const alertGroups = actionGroup.id.apply((own) => [own, ...extra]);

        new monitor.MetricAlert(
            `${name}-dlq-alert`,
            {
                resourceGroupName: args.resourceGroupName,
                location: "global",
                description: pulumi.interpolate`Messages in the dead-letter queue of ${queue.name}: inspect the reason, then \`npm run redrive\``,
                severity: 1,
                enabled: true,
                scopes: [namespace.id],
                evaluationFrequency: "PT1M",
                windowSize: "PT5M",
                autoMitigate: true,
                criteria: {
                    odataType: "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                    allOf: [
                        {
                            criterionType: "StaticThresholdCriterion",
                            name: "dead-lettered-messages",
                            metricNamespace: "Microsoft.ServiceBus/namespaces",
                            metricName: "DeadletteredMessages",
                            // The namespace-level metric sums every entity; the dimension narrows it to this queue.
                            dimensions: [{ name: "EntityName", operator: "Include", values: [queue.name] }],
                            operator: "GreaterThan",
                            threshold: 0,
                            timeAggregation: "Maximum",
                        },
                    ],
                },
                actions: pulumi.output(alertGroups).apply((ids) => ids.map((actionGroupId) => ({ actionGroupId }))),
                tags: args.tags,
            },
            { parent: this },
        );

        this.namespaceName = namespace.name;
        this.namespaceId = namespace.id;
        this.namespaceFqdn = pulumi.interpolate`${namespace.name}.servicebus.windows.net`;
        this.queueName = queue.name;
        this.queueId = queue.id;
        this.deadLetterPath = pulumi.interpolate`${queue.name}/$DeadLetterQueue`;
        this.actionGroupId = actionGroup.id;
        this.alertActionGroupIds = alertGroups;
        this.registerOutputs({
            namespaceName: this.namespaceName,
            namespaceFqdn: this.namespaceFqdn,
            queueName: this.queueName,
            queueId: this.queueId,
            deadLetterPath: this.deadLetterPath,
            actionGroupId: this.actionGroupId,
            alertActionGroupIds: this.alertActionGroupIds,
        });
    }
}

function validateIngressArgs(args: ServiceBusIngressArgs): void {
    const C = "ServiceBusIngress";
    if (!/^[a-z][a-z0-9-]{4,42}$/.test(args.namespacePrefix)) {
        fail(C, "namespacePrefix", `must be 5-43 lower-case letters, digits or '-', starting with a letter (a 7-character suffix follows), got ${JSON.stringify(args.namespacePrefix)}`);
    }
    if (args.sku !== "Standard" && args.sku !== "Premium") fail(C, "sku", `must be Standard or Premium, got ${JSON.stringify(args.sku)}`);
    if (args.sku === "Premium" && ![1, 2, 4, 8, 16].includes(args.capacity)) fail(C, "capacity", `must be 1, 2, 4, 8 or 16 on Premium, got ${args.capacity}`);
    requireInteger(C, "maxDeliveryCount", args.maxDeliveryCount, 1, 2000);
    requireInteger(C, "lockDurationSeconds", args.lockDurationSeconds, 5, 300);
    requireInteger(C, "messageTtlDays", args.messageTtlDays, 1, 3650);
    requireInteger(C, "duplicateDetectionWindowMinutes", args.duplicateDetectionWindowMinutes, 0, 10080);
    for (const [i, id] of (args.extraActionGroupIds ?? []).entries()) {
        if (!ACTION_GROUP_ID.test(id)) fail(C, `extraActionGroupIds[${i}]`, `must be an action group resource id (/subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.Insights/actionGroups/<name>), got ${JSON.stringify(id)}`);
    }
}
