/**
 * Azure Monitor: action groups (microsoft.insights 2024-10-01-preview), metric alerts (2018-03-01) and
 * diagnostic settings (2021-05-01-preview): the versions @pulumi/azure-native 3.28.0 calls, specs under
 * Azure/azure-rest-api-specs specification/monitor/resource-manager/Microsoft.Insights.
 */
import { durationBetween, getPath, isoSeconds, matches, maxLength, nameRule, oneOf, range, required, resourceRule, TypeConstraints } from "./rules";

const SPEC = "Azure/azure-rest-api-specs monitor/resource-manager/Microsoft.Insights";
const NAMES = "learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftinsights";
const ALERTS = "learn.microsoft.com/azure/azure-monitor/alerts/alerts-metric-create-templates (evaluationFrequency, windowSize values)";

/** Azure resource type a metric alert's scope resolves to, for the Pulumi types this program creates. */
const ARM_TYPE: Record<string, string> = {
    "azure-native:servicebus:Namespace": "Microsoft.ServiceBus/namespaces",
    "azure-native:redisenterprise:RedisEnterprise": "Microsoft.Cache/redisEnterprise",
    "azure-native:web:WebApp": "Microsoft.Web/sites",
    "azure-native:storage:StorageAccount": "Microsoft.Storage/storageAccounts",
    "azure-native:applicationinsights:Component": "Microsoft.Insights/components",
};

/** Metrics whose only time grains are these (windowSize cannot be shorter than the metric is sampled). */
const MIN_GRAIN_SECONDS: Record<string, number> = {
    // "Time Grains: PT5M, PT1H" for every metric of the type.
    "microsoft.cache/redisenterprise": 300,
};
const REDIS_METRICS = "learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/microsoft-cache-redisenterprise-metrics (time grains PT5M, PT1H)";

const noChars = (chars: string) => (n: string) => ![...chars].some((c) => n.includes(c)) && !/[\u0000-\u001f]/.test(n);

export const monitorConstraints: TypeConstraints[] = [
    {
        type: "azure-native:monitor:ActionGroup",
        api: "microsoft.insights/actionGroups 2024-10-01-preview",
        name: {
            path: "actionGroupName",
            autoname: "azure-random",
            rules: [
                nameRule("1-260 characters", NAMES, (n) => n.length >= 1 && n.length <= 260),
                nameRule("none of : < > + / & % \\ ? | or control characters", NAMES, noChars(":<>+/&%\\?|")),
            ],
        },
        rules: [
            required(["groupShortName", "enabled"], `${SPEC}/preview/2024-10-01-preview/actionGroups_API.json ActionGroup.required [groupShortName, enabled]`),
            maxLength("groupShortName", 12, `${SPEC} actionGroups_API.json ActionGroup.groupShortName (maxLength 12)`),
            resourceRule("each e-mail receiver has a name and an address, names unique in the group", `${SPEC} actionGroups_API.json EmailReceiver.required [name, emailAddress]`, (r) => {
                const list = Array.isArray(r.inputs.emailReceivers) ? (r.inputs.emailReceivers as Array<Record<string, unknown>>) : [];
                const seen = new Set<unknown>();
                return list.flatMap((e, i) => {
                    const bad = !e.name || !e.emailAddress || seen.has(e.name);
                    seen.add(e.name);
                    return bad ? [{ path: `emailReceivers[${i}]`, value: e }] : [];
                });
            }),
            matches("emailReceivers[].emailAddress", /^[^@\s]+@[^@\s]+\.[^@\s]+$/, "an e-mail address", `${SPEC} actionGroups_API.json EmailReceiver.emailAddress`),
        ],
    },
    {
        type: "azure-native:monitor:MetricAlert",
        api: "microsoft.insights/metricAlerts 2018-03-01",
        name: {
            path: "ruleName",
            autoname: "azure-random",
            rules: [
                nameRule("1-260 characters", NAMES, (n) => n.length >= 1 && n.length <= 260),
                nameRule("none of * # & + : < > ? @ % { } \\ / or control characters", NAMES, noChars("*#&+:<>?@%{}\\/")),
            ],
        },
        rules: [
            range("severity", 0, 4, `${SPEC}/stable/2018-03-01/metricAlert_API.json MetricAlertProperties.severity`),
            oneOf("evaluationFrequency", ["PT1M", "PT5M", "PT15M", "PT30M", "PT1H"], ALERTS),
            oneOf("windowSize", ["PT1M", "PT5M", "PT15M", "PT30M", "PT1H", "PT6H", "PT12H", "P1D"], ALERTS),
            oneOf("location", ["global", "Global"], `${SPEC} metricAlert_API.json examples (metric alerts are global resources)`),
            oneOf("criteria.odataType", ["Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria", "Microsoft.Azure.Monitor.MultipleResourceMultipleMetricCriteria", "Microsoft.Azure.Monitor.WebtestLocationAvailabilityCriteria"], `${SPEC} metricAlert_API.json MetricAlertCriteria.odata.type`),
            oneOf("criteria.allOf[].criterionType", ["StaticThresholdCriterion", "DynamicThresholdCriterion"], `${SPEC} metricAlert_API.json MultiMetricCriteria.criterionType`),
            oneOf("criteria.allOf[].timeAggregation", ["Average", "Count", "Minimum", "Maximum", "Total"], `${SPEC} metricAlert_API.json MetricCriteria.timeAggregation`),
            resourceRule("operator: static thresholds take Equals/GreaterThan/GreaterThanOrEqual/LessThan/LessThanOrEqual, dynamic ones GreaterThan/LessThan/GreaterOrLessThan", `${SPEC} metricAlert_API.json MetricCriteria.operator, DynamicMetricCriteria.operator`, (r) => {
                const all = (getPath(r.inputs, "criteria.allOf") as Array<Record<string, unknown>> | undefined) ?? [];
                return all.flatMap((c, i) => {
                    const allowed = c.criterionType === "DynamicThresholdCriterion" ? ["GreaterThan", "LessThan", "GreaterOrLessThan"] : ["Equals", "GreaterThan", "GreaterThanOrEqual", "LessThan", "LessThanOrEqual"];
                    return allowed.includes(c.operator as string) ? [] : [{ path: `criteria.allOf[${i}].operator`, value: c.operator }];
                });
            }),
            oneOf("criteria.allOf[].dimensions[].operator", ["Include", "Exclude"], `${SPEC} metricAlert_API.json MetricDimension.operator`),
            resourceRule("windowSize is at least evaluationFrequency", ALERTS, (r) => {
                const w = isoSeconds(r.inputs.windowSize);
                const f = isoSeconds(r.inputs.evaluationFrequency);
                return w !== undefined && f !== undefined && w < f ? [{ path: "windowSize", value: r.inputs.windowSize }] : [];
            }),
            resourceRule("single-resource criteria watch exactly one scope", `${SPEC} metricAlert_API.json MetricAlertSingleResourceMultipleMetricCriteria`, (r) => {
                const scopes = Array.isArray(r.inputs.scopes) ? r.inputs.scopes : [];
                return getPath(r.inputs, "criteria.odataType") === "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria" && scopes.length !== 1 ? [{ path: "scopes", value: scopes }] : [];
            }),
            resourceRule("each criterion's metricNamespace is the resource type of the alert's scope", `${SPEC} metricAlert_API.json MetricCriteria.metricNamespace; learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/metrics-index`, (r, ctx) => {
                const scopes = Array.isArray(r.inputs.scopes) ? r.inputs.scopes : [];
                const types = scopes.map((s) => ARM_TYPE[ctx.byId(s)?.type ?? ""]).filter((t): t is string => t !== undefined);
                if (types.length === 0) return [];
                const all = (getPath(r.inputs, "criteria.allOf") as Array<Record<string, unknown>> | undefined) ?? [];
                return all.flatMap((c, i) =>
                    typeof c.metricNamespace === "string" && !types.some((t) => t.toLowerCase() === (c.metricNamespace as string).toLowerCase())
                        ? [{ path: `criteria.allOf[${i}].metricNamespace`, value: c.metricNamespace, detail: `scope is ${types.join(", ")}` }]
                        : [],
                );
            }),
            resourceRule("windowSize is not shorter than the metric's time grain", REDIS_METRICS, (r) => {
                const w = isoSeconds(r.inputs.windowSize);
                const all = (getPath(r.inputs, "criteria.allOf") as Array<Record<string, unknown>> | undefined) ?? [];
                const grain = Math.max(0, ...all.map((c) => MIN_GRAIN_SECONDS[String(c.metricNamespace).toLowerCase()] ?? 0));
                return w !== undefined && w < grain ? [{ path: "windowSize", value: r.inputs.windowSize, detail: `metric sampled every ${grain} s` }] : [];
            }),
            required(["criteria", "evaluationFrequency", "windowSize", "severity", "enabled", "scopes"], `${SPEC} metricAlert_API.json MetricAlertProperties.required`),
        ],
    },
    {
        type: "azure-native:monitor:DiagnosticSetting",
        api: "microsoft.insights/diagnosticSettings 2021-05-01-preview",
        name: {
            path: "name",
            autoname: "azure-random",
            rules: [
                nameRule("1-260 characters", NAMES, (n) => n.length >= 1 && n.length <= 260),
                // An ARM name is one URL path segment; '#' is called out by the naming-rules page.
                nameRule("no / \\ ? # % (one URL path segment)", "learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules (\"Don't use # in a resource name\")", noChars("/\\?#%")),
            ],
        },
        rules: [
            required(["resourceUri"], `${SPEC}/preview/2021-05-01-preview/diagnosticsSettings_API.json (resourceUri path parameter)`),
            resourceRule("at least one destination: workspaceId, storageAccountId, eventHubAuthorizationRuleId or marketplacePartnerId", "learn.microsoft.com/azure/azure-monitor/essentials/diagnostic-settings#destinations", (r) =>
                ["workspaceId", "storageAccountId", "eventHubAuthorizationRuleId", "marketplacePartnerId"].some((p) => r.inputs[p] !== undefined) ? [] : [{ path: "workspaceId", value: undefined }],
            ),
            resourceRule("at least one log or metric category", "learn.microsoft.com/azure/azure-monitor/essentials/diagnostic-settings", (r) =>
                (Array.isArray(r.inputs.logs) && r.inputs.logs.length > 0) || (Array.isArray(r.inputs.metrics) && r.inputs.metrics.length > 0) ? [] : [{ path: "logs", value: r.inputs.logs }],
            ),
            resourceRule("each log entry names exactly one of category or categoryGroup, and says enabled", `${SPEC} diagnosticsSettings_API.json LogSettings (required [enabled]; category | categoryGroup)`, (r) => {
                const logs = Array.isArray(r.inputs.logs) ? (r.inputs.logs as Array<Record<string, unknown>>) : [];
                return logs.flatMap((l, i) => ((l.category === undefined) === (l.categoryGroup === undefined) || typeof l.enabled !== "boolean" ? [{ path: `logs[${i}]`, value: l }] : []));
            }),
            oneOf("logs[].categoryGroup", ["allLogs", "audit"], "learn.microsoft.com/azure/azure-monitor/essentials/diagnostic-settings#resource-logs (category groups)"),
            resourceRule("each metric entry says enabled", `${SPEC} diagnosticsSettings_API.json MetricSettings.required [enabled]`, (r) => {
                const metrics = Array.isArray(r.inputs.metrics) ? (r.inputs.metrics as Array<Record<string, unknown>>) : [];
                return metrics.flatMap((m, i) => (typeof m.enabled !== "boolean" ? [{ path: `metrics[${i}]`, value: m }] : []));
            }),
            oneOf("logAnalyticsDestinationType", ["Dedicated", "AzureDiagnostics"], `${SPEC} diagnosticsSettings_API.json DiagnosticSettings.logAnalyticsDestinationType`),
        ],
    },
    {
        type: "azure-native:monitor:ScheduledQueryRule",
        api: "microsoft.insights/scheduledQueryRules 2025-01-01-preview",
        name: {
            path: "ruleName",
            autoname: "azure-random",
            rules: [
                nameRule("1-260 characters", NAMES, (n) => n.length >= 1 && n.length <= 260),
                nameRule("none of * # & + : < > ? @ % { } \\ / or control characters", NAMES, noChars("*#&+:<>?@%{}\\/")),
            ],
        },
        rules: [
            required(["scopes", "criteria"], `${SPEC}/preview/2025-01-01-preview/scheduledQueryRule_API.json ScheduledQueryRuleProperties`),
            oneOf("kind", ["LogAlert", "SimpleLogAlert", "LogToMetric"], `${SPEC} scheduledQueryRule_API.json ScheduledQueryRuleResource.kind`),
            range("severity", 0, 4, `${SPEC} scheduledQueryRule_API.json ScheduledQueryRuleProperties.severity`),
            durationBetween("evaluationFrequency", 60, 86400, "an ISO 8601 duration from 1 minute to 1 day", "learn.microsoft.com/azure/azure-monitor/alerts/alerts-create-log-alert-rule (frequency of evaluation)"),
            durationBetween("windowSize", 60, 2 * 86400, "an ISO 8601 duration from 1 minute to 2 days", "learn.microsoft.com/azure/azure-monitor/alerts/alerts-create-log-alert-rule (query time range up to 2 days)"),
            oneOf("criteria.allOf[].timeAggregation", ["Count", "Average", "Minimum", "Maximum", "Total"], `${SPEC} scheduledQueryRule_API.json Condition.timeAggregation`),
            resourceRule("a log alert's every condition has a query", `${SPEC} scheduledQueryRule_API.json Condition.query ("Log query alert")`, (r) => {
                const all = (getPath(r.inputs, "criteria.allOf") as Array<Record<string, unknown>> | undefined) ?? [];
                return (r.inputs.kind ?? "LogAlert") === "LogAlert" ? all.flatMap((c, i) => (typeof c.query === "string" && c.query.trim() !== "" ? [] : [{ path: `criteria.allOf[${i}].query`, value: c.query }])) : [];
            }),
        ],
    },
];
