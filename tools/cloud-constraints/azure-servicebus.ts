/**
 * Azure Service Bus (Microsoft.ServiceBus). @pulumi/azure-native 3.28.0 calls API version 2026-01-01
 * (Azure/azure-rest-api-specs specification/servicebus/resource-manager/Microsoft.ServiceBus).
 * Names and limits from the naming-rules and quotas pages, which the spec's parameters defer to.
 */
import { createOnly, durationBetween, getPath, nameRule, oneOf, range, required, resourceRule, TypeConstraints } from "./rules";

const NAMES = "learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftservicebus";
const QUOTAS = "learn.microsoft.com/azure/service-bus-messaging/service-bus-quotas";
const SPEC = "Azure/azure-rest-api-specs servicebus/resource-manager/Microsoft.ServiceBus 2026-01-01";
const FORCE_NEW = "pulumi/pulumi-azure-native provider/pkg/gen/replacement.go forceNewMap ServiceBus.Queue";

export const serviceBusConstraints: TypeConstraints[] = [
    {
        type: "azure-native:servicebus:Namespace",
        api: "Microsoft.ServiceBus/namespaces 2026-01-01",
        name: {
            path: "namespaceName",
            autoname: "azure-random",
            rules: [
                nameRule("6-50 characters", NAMES, (n) => n.length >= 6 && n.length <= 50),
                nameRule("letters, digits and hyphens; starts with a letter, ends with a letter or digit", NAMES, (n) => /^[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]$/.test(n)),
                nameRule('must not end with "-sb" or "-mgmt" (reserved host names)', NAMES, (n) => !/-(sb|mgmt)$/i.test(n)),
            ],
        },
        rules: [
            oneOf("sku.name", ["Basic", "Standard", "Premium"], `${SPEC} SBSku.name`),
            oneOf("sku.tier", ["Basic", "Standard", "Premium"], `${SPEC} SBSku.tier`),
            resourceRule("sku.tier, when set, equals sku.name", `${SPEC} SBSku`, (r) => {
                const tier = getPath(r.inputs, "sku.tier");
                return tier !== undefined && tier !== getPath(r.inputs, "sku.name") ? [{ path: "sku.tier", value: tier }] : [];
            }),
            oneOf("minimumTlsVersion", ["1.0", "1.1", "1.2", "1.3"], `${SPEC} SBNamespaceProperties.minimumTlsVersion`),
            oneOf("publicNetworkAccess", ["Enabled", "Disabled", "SecuredByPerimeter"], `${SPEC} SBNamespaceProperties.publicNetworkAccess`),
            oneOf("premiumMessagingPartitions", [1, 2, 4], `${SPEC} SBNamespaceProperties.premiumMessagingPartitions`),
            resourceRule("premiumMessagingPartitions only on the Premium tier", `${QUOTAS} (partitioning is a Premium namespace feature)`, (r) =>
                r.inputs.premiumMessagingPartitions !== undefined && getPath(r.inputs, "sku.name") !== "Premium" ? [{ path: "premiumMessagingPartitions", value: r.inputs.premiumMessagingPartitions }] : [],
            ),
            required(["sku.name"], `${SPEC} SBNamespace.sku`),
        ],
    },
    {
        type: "azure-native:servicebus:Queue",
        api: "Microsoft.ServiceBus/namespaces/queues 2026-01-01",
        name: {
            path: "queueName",
            autoname: "azure-random",
            rules: [
                nameRule("1-260 characters", NAMES, (n) => n.length >= 1 && n.length <= 260),
                nameRule("letters, digits, periods, hyphens, underscores and slashes; starts and ends with a letter or digit", NAMES, (n) => /^[A-Za-z0-9]([A-Za-z0-9._\/-]*[A-Za-z0-9])?$/.test(n)),
            ],
        },
        rules: [
            durationBetween("lockDuration", 1, 300, "an ISO 8601 duration of at most 5 minutes (PT5M)", `${QUOTAS} (message lock duration, max 5 minutes)`),
            range("maxDeliveryCount", 1, 2147483647, `${SPEC} SBQueueProperties.maxDeliveryCount (minimum 1)`),
            durationBetween("duplicateDetectionHistoryTimeWindow", 20, 7 * 86400, "an ISO 8601 duration from 20 seconds to 7 days", "learn.microsoft.com/azure/service-bus-messaging/duplicate-detection (window 20 s to 7 days)"),
            durationBetween("defaultMessageTimeToLive", 1, 10675199 * 86400, "a positive ISO 8601 duration", `${SPEC} SBQueueProperties.defaultMessageTimeToLive`),
            durationBetween("autoDeleteOnIdle", 300, 10675199 * 86400, "an ISO 8601 duration of at least 5 minutes", `${SPEC} SBQueueProperties.autoDeleteOnIdle (minimum 5 minutes)`),
            resourceRule("duplicateDetectionHistoryTimeWindow only with requiresDuplicateDetection", `${SPEC} SBQueueProperties.duplicateDetectionHistoryTimeWindow`, (r) =>
                r.inputs.duplicateDetectionHistoryTimeWindow !== undefined && r.inputs.requiresDuplicateDetection !== true ? [{ path: "duplicateDetectionHistoryTimeWindow", value: r.inputs.duplicateDetectionHistoryTimeWindow }] : [],
            ),
            // The Basic tier has no sessions, duplicate detection, auto-forwarding or auto-delete.
            resourceRule("the namespace's Basic tier supports no sessions, duplicate detection, auto-forwarding or auto-delete-on-idle", "learn.microsoft.com/azure/service-bus-messaging/service-bus-premium-messaging (tier comparison)", (r, ctx) => {
                const ns = ctx.ofType("azure-native:servicebus:Namespace").find((n) => n.inputs.namespaceName === r.inputs.namespaceName);
                if (!ns || getPath(ns.inputs, "sku.name") !== "Basic") return [];
                return ["requiresSession", "requiresDuplicateDetection", "forwardTo", "forwardDeadLetteredMessagesTo", "autoDeleteOnIdle"]
                    .filter((p) => r.inputs[p] !== undefined && r.inputs[p] !== false)
                    .map((p) => ({ path: p, value: r.inputs[p] }));
            }),
            // ARM rejects a PUT that changes these on an existing queue (Azure/azure-rest-api-specs PR #45077);
            // azure-native lists them as force-new, so a change replaces the queue.
            createOnly("requiresSession", true, FORCE_NEW),
            createOnly("requiresDuplicateDetection", true, FORCE_NEW),
            createOnly("enablePartitioning", true, FORCE_NEW),
        ],
    },
];
