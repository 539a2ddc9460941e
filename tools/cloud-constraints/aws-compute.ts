/**
 * AWS Lambda and IAM as pulumi-aws 7.48.0 manages them: limits from the Lambda and IAM API references.
 */
import { API, arnOf, nameChars, policyDocument } from "./aws-shared";
import { check, getPath, matches, maxLength, oneOf, range, required, resourceRule, TypeConstraints } from "./rules";

const LAMBDA = (page: string) => `docs.aws.amazon.com/lambda/latest/api/${page}`;
const IAM = (page: string) => API("IAM", page);
const RUNTIMES = "docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html (supported and deprecated runtimes)";
/** Runtimes Lambda no longer lets anyone create a function with (the block-create date has passed). */
const BLOCKED_RUNTIMES = /^(nodejs|nodejs4\.3|nodejs6\.10|nodejs8\.10|nodejs10\.x|nodejs12\.x|nodejs14\.x|nodejs16\.x|python2\.7|python3\.6|python3\.7|python3\.8|dotnetcore.*|dotnet6|go1\.x|ruby2\.\d|java8)$/;
const STREAM_SOURCE = /^arn:aws[a-z-]*:(dynamodb|kinesis):/;

export const computeConstraints: TypeConstraints[] = [
    {
        type: "aws:lambda/function:Function",
        api: "Lambda CreateFunction",
        name: { path: "name", autoname: "aws", rules: nameChars("letters, digits, hyphens and underscores", LAMBDA("API_CreateFunction.html FunctionName (1-64 for a name)"), /^[A-Za-z0-9_-]+$/, 1, 64) },
        rules: [
            range("memorySize", 128, 10240, LAMBDA("API_CreateFunction.html MemorySize"), "MB"),
            range("timeout", 1, 900, LAMBDA("API_CreateFunction.html Timeout"), "seconds"),
            maxLength("description", 256, LAMBDA("API_CreateFunction.html Description")),
            matches("handler", /^[^\s]{1,128}$/, "1-128 characters, no whitespace", LAMBDA("API_CreateFunction.html Handler")),
            matches("runtime", /^[a-z0-9.]+$/, "a runtime identifier", LAMBDA("API_CreateFunction.html Runtime")),
            resourceRule("the runtime can still be used to create a function", RUNTIMES, (r) => (typeof r.inputs.runtime === "string" && BLOCKED_RUNTIMES.test(r.inputs.runtime) ? [{ path: "runtime", value: r.inputs.runtime }] : [])),
            resourceRule("architectures holds exactly one of x86_64, arm64", LAMBDA("API_CreateFunction.html Architectures"), (r) => {
                const a = r.inputs.architectures;
                return a === undefined || (Array.isArray(a) && a.length === 1 && ["x86_64", "arm64"].includes(a[0] as string)) ? [] : [{ path: "architectures", value: a }];
            }),
            matches("role", arnOf("iam"), "an IAM role ARN", LAMBDA("API_CreateFunction.html Role")),
            oneOf("loggingConfig.logFormat", ["JSON", "Text"], LAMBDA("API_LoggingConfig.html LogFormat")),
            oneOf("loggingConfig.applicationLogLevel", ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"], LAMBDA("API_LoggingConfig.html ApplicationLogLevel")),
            oneOf("loggingConfig.systemLogLevel", ["DEBUG", "INFO", "WARN"], LAMBDA("API_LoggingConfig.html SystemLogLevel")),
            resourceRule("log levels need logFormat JSON", LAMBDA("API_LoggingConfig.html (ApplicationLogLevel/SystemLogLevel apply to JSON logs only)"), (r) =>
                ["applicationLogLevel", "systemLogLevel"]
                    .filter((p) => getPath(r.inputs, `loggingConfig.${p}`) !== undefined && getPath(r.inputs, "loggingConfig.logFormat") !== "JSON")
                    .map((p) => ({ path: `loggingConfig.${p}`, value: getPath(r.inputs, `loggingConfig.${p}`) })),
            ),
            check("code.archive.bytes", "the unzipped package is at most 250 MB", "docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html (deployment package 250 MB unzipped)", (v) => (typeof v === "number" && v <= 250 * 1024 * 1024 ? undefined : "too large")),
            resourceRule("environment variables total at most 4 KB", LAMBDA("API_Environment.html; lambda/latest/dg/gettingstarted-limits.html (4 KB)"), (r) => {
                const vars = getPath(r.inputs, "environment.variables");
                return vars && JSON.stringify(vars).length > 4096 ? [{ path: "environment.variables", value: "(over 4 KB)" }] : [];
            }),
        ],
    },
    {
        type: "aws:lambda/eventSourceMapping:EventSourceMapping",
        api: "Lambda CreateEventSourceMapping",
        rules: [
            required(["functionName"], LAMBDA("API_CreateEventSourceMapping.html FunctionName (required)")),
            range("batchSize", 1, 10000, LAMBDA("API_CreateEventSourceMapping.html BatchSize (streams: max 10000)")),
            range("maximumBatchingWindowInSeconds", 0, 300, LAMBDA("API_CreateEventSourceMapping.html MaximumBatchingWindowInSeconds"), "seconds"),
            resourceRule("maximumRecordAgeInSeconds is -1 or 60-604800", LAMBDA("API_CreateEventSourceMapping.html MaximumRecordAgeInSeconds"), (r) => {
                const v = r.inputs.maximumRecordAgeInSeconds;
                return v === undefined || v === -1 || (typeof v === "number" && v >= 60 && v <= 604800) ? [] : [{ path: "maximumRecordAgeInSeconds", value: v }];
            }),
            range("maximumRetryAttempts", -1, 10000, LAMBDA("API_CreateEventSourceMapping.html MaximumRetryAttempts")),
            range("parallelizationFactor", 1, 10, LAMBDA("API_CreateEventSourceMapping.html ParallelizationFactor")),
            oneOf("startingPosition", ["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"], LAMBDA("API_CreateEventSourceMapping.html StartingPosition")),
            matches("eventSourceArn", /^arn:aws[a-z-]*:(dynamodb|kinesis|sqs|kafka|mq|docdb):/, "a DynamoDB stream, Kinesis, SQS, MSK, MQ or DocumentDB ARN", LAMBDA("API_CreateEventSourceMapping.html EventSourceArn")),
            matches("destinationConfig.onFailure.destinationArn", /^arn:aws[a-z-]*:(sqs|sns|s3|kafka):/, "an SQS queue, SNS topic, S3 bucket or Kafka ARN", LAMBDA("API_OnFailure.html Destination")),
            oneOf("functionResponseTypes[]", ["ReportBatchItemFailures"], LAMBDA("API_CreateEventSourceMapping.html FunctionResponseTypes")),
            resourceRule("eventSourceArn: stream sources (DynamoDB, Kinesis) need startingPosition; bisectBatchOnFunctionError, maximumRecordAgeInSeconds, maximumRetryAttempts, parallelizationFactor need a stream source", LAMBDA("API_CreateEventSourceMapping.html (StartingPosition required for streams; BisectBatchOnFunctionError, MaximumRecordAgeInSeconds, MaximumRetryAttempts, ParallelizationFactor, DestinationConfig for streams)"), (r) => {
                const source = r.inputs.eventSourceArn;
                if (typeof source !== "string") return [];
                if (STREAM_SOURCE.test(source)) return r.inputs.startingPosition === undefined ? [{ path: "startingPosition", value: undefined }] : [];
                return ["bisectBatchOnFunctionError", "maximumRecordAgeInSeconds", "maximumRetryAttempts", "parallelizationFactor", "startingPosition"]
                    .filter((p) => r.inputs[p] !== undefined)
                    .map((p) => ({ path: p, value: r.inputs[p] }));
            }),
            resourceRule("filterCriteria: at most 5 filters", "docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html (5 filters per event source mapping by default)", (r) => {
                const f = getPath(r.inputs, "filterCriteria.filters");
                return Array.isArray(f) && f.length > 5 ? [{ path: "filterCriteria.filters", value: f.length }] : [];
            }),
        ],
    },
    {
        type: "aws:iam/role:Role",
        api: "IAM CreateRole",
        name: { path: "name", autoname: "aws", rules: nameChars("letters, digits and + = , . @ _ -", IAM("API_CreateRole.html RoleName (pattern [\\w+=,.@-]+, 1-64)"), /^[\w+=,.@-]+$/, 1, 64) },
        rules: [
            required(["assumeRolePolicy"], IAM("API_CreateRole.html AssumeRolePolicyDocument (required)")),
            policyDocument("assumeRolePolicy", 2048, IAM("API_CreateRole.html AssumeRolePolicyDocument; IAM quotas (role trust policy 2048 characters)")),
            matches("description", /^[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]{0,1000}$/, "at most 1000 printable characters", IAM("API_CreateRole.html Description")),
            range("maxSessionDuration", 3600, 43200, IAM("API_CreateRole.html MaxSessionDuration"), "seconds"),
            matches("path", /^\/([\x21-\x7E]*\/)?$/, "/ or /path/", IAM("API_CreateRole.html Path")),
        ],
    },
    {
        type: "aws:iam/rolePolicy:RolePolicy",
        api: "IAM PutRolePolicy",
        name: { path: "name", autoname: "aws", rules: nameChars("letters, digits and + = , . @ _ -", IAM("API_PutRolePolicy.html PolicyName (pattern [\\w+=,.@-]+, 1-128)"), /^[\w+=,.@-]+$/, 1, 128) },
        rules: [
            required(["role", "policy"], IAM("API_PutRolePolicy.html RoleName, PolicyDocument (required)")),
            policyDocument("policy", 10240, IAM("API_PutRolePolicy.html PolicyDocument; IAM quotas (inline policies of a role: 10240 characters in total)")),
        ],
    },
];
