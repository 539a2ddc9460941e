/**
 * DynamoDB, CloudWatch (log groups, alarms), KMS and EventBridge Scheduler as pulumi-aws 7.48.0
 * manages them: limits from the respective API references.
 */
import { API, arnOf, nameChars, policyDocument } from "./aws-shared";
import { check, getPath, matches, maxLength, oneOf, range, required, resourceRule, TypeConstraints } from "./rules";

const DDB = (page: string) => API("amazondynamodb", page);
const CW = (page: string) => API("AmazonCloudWatch", page);
const LOGS = (page: string) => API("AmazonCloudWatchLogs", page);
const KMS = (page: string) => API("kms", page);
const SCHED = (page: string) => `docs.aws.amazon.com/scheduler/latest/APIReference/${page}`;

export const dataConstraints: TypeConstraints[] = [
    {
        type: "aws:dynamodb/table:Table",
        api: "DynamoDB CreateTable",
        name: { path: "name", autoname: "aws", rules: nameChars("letters, digits, . - _", DDB("API_CreateTable.html TableName (pattern [a-zA-Z0-9_.-]+, 3-255)"), /^[a-zA-Z0-9_.-]+$/, 3, 255) },
        rules: [
            oneOf("billingMode", ["PROVISIONED", "PAY_PER_REQUEST"], DDB("API_CreateTable.html BillingMode")),
            oneOf("streamViewType", ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"], DDB("API_StreamSpecification.html StreamViewType")),
            oneOf("attributes[].type", ["S", "N", "B"], DDB("API_AttributeDefinition.html AttributeType")),
            required(["hashKey", "attributes"], DDB("API_CreateTable.html KeySchema, AttributeDefinitions (required)")),
            resourceRule("on-demand tables take no read/write capacity", DDB("API_CreateTable.html BillingMode (PAY_PER_REQUEST: ProvisionedThroughput not allowed)"), (r) =>
                r.inputs.billingMode === "PAY_PER_REQUEST" ? ["readCapacity", "writeCapacity"].filter((p) => typeof r.inputs[p] === "number" && (r.inputs[p] as number) > 0).map((p) => ({ path: p, value: r.inputs[p] })) : [],
            ),
            resourceRule("streamViewType needs streamEnabled, and an enabled stream needs a view type", DDB("API_StreamSpecification.html"), (r) =>
                (r.inputs.streamViewType !== undefined) !== (r.inputs.streamEnabled === true) ? [{ path: "streamViewType", value: r.inputs.streamViewType }] : [],
            ),
            resourceRule("every key is a defined attribute and every defined attribute is a key", DDB("API_CreateTable.html AttributeDefinitions (\"An array of attributes that describe the key schema\"; extra definitions are rejected)"), (r) => {
                const defined = ((r.inputs.attributes as Array<{ name?: string }> | undefined) ?? []).map((a) => a.name as string);
                const keys = [r.inputs.hashKey, r.inputs.rangeKey, ...((r.inputs.globalSecondaryIndexes as Array<Record<string, unknown>> | undefined) ?? []).flatMap((g) => [g.hashKey, g.rangeKey]), ...((r.inputs.localSecondaryIndexes as Array<Record<string, unknown>> | undefined) ?? []).map((l) => l.rangeKey)].filter((k) => k !== undefined);
                return [
                    ...keys.filter((k) => !defined.includes(k as string)).map((k) => ({ path: "attributes", value: k, detail: `key ${String(k)} is not defined` })),
                    ...defined.filter((d) => !keys.includes(d as string)).map((d) => ({ path: "attributes", value: d, detail: `attribute ${String(d)} is no key` })),
                ];
            }),
            matches("ttl.attributeName", /^.{1,255}$/, "1-255 characters", DDB("API_TimeToLiveSpecification.html AttributeName")),
        ],
    },
    {
        type: "aws:cloudwatch/logGroup:LogGroup",
        api: "CloudWatch Logs CreateLogGroup",
        name: { path: "name", autoname: "aws", rules: nameChars("letters, digits and . - _ / #", LOGS("API_CreateLogGroup.html logGroupName (pattern [\\.\\-_/#A-Za-z0-9]+, 1-512)"), /^[\.\-_/#A-Za-z0-9]+$/, 1, 512) },
        rules: [oneOf("retentionInDays", [0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], LOGS("API_PutRetentionPolicy.html retentionInDays")), oneOf("logGroupClass", ["STANDARD", "INFREQUENT_ACCESS", "DELIVERY"], LOGS("API_CreateLogGroup.html logGroupClass"))],
    },
    {
        type: "aws:cloudwatch/metricAlarm:MetricAlarm",
        api: "CloudWatch PutMetricAlarm",
        name: { path: "name", autoname: "aws", rules: nameChars("printable characters", CW("API_PutMetricAlarm.html AlarmName (1-255)"), /^[^\u0000-\u001f]+$/, 1, 255) },
        rules: [
            oneOf("comparisonOperator", ["GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold", "LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold"], CW("API_PutMetricAlarm.html ComparisonOperator")),
            oneOf("statistic", ["SampleCount", "Average", "Sum", "Minimum", "Maximum"], CW("API_PutMetricAlarm.html Statistic")),
            oneOf("treatMissingData", ["breaching", "notBreaching", "ignore", "missing"], CW("API_PutMetricAlarm.html TreatMissingData")),
            range("evaluationPeriods", 1, 2147483647, CW("API_PutMetricAlarm.html EvaluationPeriods (minimum 1)")),
            maxLength("alarmDescription", 1024, CW("API_PutMetricAlarm.html AlarmDescription")),
            matches("namespace", /^[^:].{0,254}$/, "1-255 characters, not starting with ':'", CW("API_PutMetricAlarm.html Namespace")),
            matches("metricName", /^.{1,255}$/, "1-255 characters", CW("API_PutMetricAlarm.html MetricName")),
            check("threshold", "a number", CW("API_PutMetricAlarm.html Threshold (Double)"), (v) => (typeof v === "number" && Number.isFinite(v) ? undefined : "not a number")),
            resourceRule("period is 10, 20, 30 or a multiple of 60 seconds", CW("API_PutMetricAlarm.html Period"), (r) => {
                const p = r.inputs.period;
                return p === undefined || [10, 20, 30].includes(p as number) || (typeof p === "number" && p > 0 && p % 60 === 0) ? [] : [{ path: "period", value: p }];
            }),
            resourceRule("statistic and extendedStatistic are mutually exclusive", CW("API_PutMetricAlarm.html Statistic / ExtendedStatistic"), (r) =>
                r.inputs.statistic !== undefined && r.inputs.extendedStatistic !== undefined ? [{ path: "extendedStatistic", value: r.inputs.extendedStatistic }] : [],
            ),
            resourceRule("datapointsToAlarm is at most evaluationPeriods", CW("API_PutMetricAlarm.html DatapointsToAlarm"), (r) =>
                typeof r.inputs.datapointsToAlarm === "number" && typeof r.inputs.evaluationPeriods === "number" && r.inputs.datapointsToAlarm > r.inputs.evaluationPeriods ? [{ path: "datapointsToAlarm", value: r.inputs.datapointsToAlarm }] : [],
            ),
            resourceRule("alarmActions, okActions, insufficientDataActions: at most 5 each; dimensions: at most 30", CW("API_PutMetricAlarm.html AlarmActions, OKActions (max 5), Dimensions (max 30)"), (r) => {
                const hits: Array<{ path: string; value: unknown }> = [];
                for (const p of ["alarmActions", "okActions", "insufficientDataActions"]) if (Array.isArray(r.inputs[p]) && (r.inputs[p] as unknown[]).length > 5) hits.push({ path: p, value: r.inputs[p] });
                const dims = r.inputs.dimensions;
                if (dims && typeof dims === "object" && Object.keys(dims).length > 30) hits.push({ path: "dimensions", value: dims });
                return hits;
            }),
        ],
    },
    {
        type: "aws:kms/key:Key",
        api: "KMS CreateKey",
        rules: [
            range("deletionWindowInDays", 7, 30, KMS("API_ScheduleKeyDeletion.html PendingWindowInDays"), "days"),
            maxLength("description", 8192, KMS("API_CreateKey.html Description")),
            policyDocument("policy", 32768, KMS("API_CreateKey.html Policy (up to 32 KB)")),
            oneOf("keyUsage", ["ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT"], KMS("API_CreateKey.html KeyUsage")),
            resourceRule("automatic rotation only for symmetric encryption keys", KMS("API_EnableKeyRotation.html (symmetric encryption KMS keys only)"), (r) => {
                const spec = r.inputs.customerMasterKeySpec ?? r.inputs.keySpec;
                return r.inputs.enableKeyRotation === true && spec !== undefined && spec !== "SYMMETRIC_DEFAULT" ? [{ path: "enableKeyRotation", value: true }] : [];
            }),
            range("rotationPeriodInDays", 90, 2560, KMS("API_EnableKeyRotation.html RotationPeriodInDays"), "days"),
        ],
    },
    {
        type: "aws:scheduler/schedule:Schedule",
        api: "EventBridge Scheduler CreateSchedule",
        name: { path: "name", autoname: "aws", rules: nameChars("letters, digits, . - _", SCHED("API_CreateSchedule.html Name (pattern [0-9a-zA-Z-_.]+, 1-64)"), /^[0-9a-zA-Z\-_.]+$/, 1, 64) },
        rules: [
            required(["scheduleExpression", "flexibleTimeWindow.mode", "target.arn", "target.roleArn"], SCHED("API_CreateSchedule.html ScheduleExpression, FlexibleTimeWindow, Target (required); API_Target.html Arn, RoleArn (required)")),
            matches("scheduleExpression", /^(at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(\S+ \S+ \S+ \S+ \S+ \S+\))$/, "at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(6 fields)", SCHED("API_CreateSchedule.html ScheduleExpression")),
            oneOf("flexibleTimeWindow.mode", ["OFF", "FLEXIBLE"], SCHED("API_FlexibleTimeWindow.html Mode")),
            range("flexibleTimeWindow.maximumWindowInMinutes", 1, 1440, SCHED("API_FlexibleTimeWindow.html MaximumWindowInMinutes"), "minutes"),
            resourceRule("maximumWindowInMinutes is set exactly when mode is FLEXIBLE", SCHED("API_FlexibleTimeWindow.html"), (r) =>
                (getPath(r.inputs, "flexibleTimeWindow.mode") === "FLEXIBLE") !== (getPath(r.inputs, "flexibleTimeWindow.maximumWindowInMinutes") !== undefined) ? [{ path: "flexibleTimeWindow", value: r.inputs.flexibleTimeWindow }] : [],
            ),
            oneOf("state", ["ENABLED", "DISABLED"], SCHED("API_CreateSchedule.html State")),
            maxLength("description", 512, SCHED("API_CreateSchedule.html Description")),
            range("target.retryPolicy.maximumRetryAttempts", 0, 185, SCHED("API_RetryPolicy.html MaximumRetryAttempts")),
            range("target.retryPolicy.maximumEventAgeInSeconds", 60, 86400, SCHED("API_RetryPolicy.html MaximumEventAgeInSeconds"), "seconds"),
            matches("target.roleArn", arnOf("iam"), "an IAM role ARN", SCHED("API_Target.html RoleArn")),
            matches("target.deadLetterConfig.arn", arnOf("sqs"), "an SQS queue ARN", SCHED("API_DeadLetterConfig.html Arn")),
            matches("groupName", /^[0-9a-zA-Z\-_.]{1,64}$/, "1-64 letters, digits, . - _", SCHED("API_CreateSchedule.html GroupName")),
        ],
    },
];
