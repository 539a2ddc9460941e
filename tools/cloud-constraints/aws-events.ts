/**
 * Amazon EventBridge (bus, archive, rule, target, connection, API destination) as pulumi-aws 7.48.0
 * manages them (aws:cloudwatch/*): limits from the EventBridge API reference.
 */
import { API, arnOf, eventPattern, nameChars } from "./aws-shared";
import { check, getPath, matches, maxLength, oneOf, range, required, resourceRule, TypeConstraints } from "./rules";

const EB = (page: string) => API("eventbridge", page);
const EVENTS_NAME = /^[\.\-_A-Za-z0-9]+$/;

export const eventsConstraints: TypeConstraints[] = [
    {
        type: "aws:cloudwatch/eventBus:EventBus",
        api: "EventBridge CreateEventBus",
        name: { path: "name", autoname: "aws", rules: nameChars("letters, digits, . - _ and / (no 'default' for a custom bus)", EB("API_CreateEventBus.html Name (pattern [/\\.\\-_A-Za-z0-9]+, 1-256)"), /^(?!default$)[/\.\-_A-Za-z0-9]+$/, 1, 256) },
        rules: [maxLength("description", 512, EB("API_CreateEventBus.html Description"))],
    },
    {
        type: "aws:cloudwatch/eventArchive:EventArchive",
        api: "EventBridge CreateArchive",
        name: { path: "name", autoname: "aws", rules: nameChars("letters, digits, . - _", EB("API_CreateArchive.html ArchiveName (pattern [\\.\\-_A-Za-z0-9]+, 1-48)"), EVENTS_NAME, 1, 48) },
        rules: [
            range("retentionDays", 0, 2147483647, EB("API_CreateArchive.html RetentionDays (minimum 0; 0 keeps forever)")),
            maxLength("description", 512, EB("API_CreateArchive.html Description")),
            eventPattern("eventPattern", EB("API_CreateArchive.html EventPattern")),
            matches("eventSourceArn", arnOf("events"), "an event bus ARN", EB("API_CreateArchive.html EventSourceArn")),
            required(["eventSourceArn"], EB("API_CreateArchive.html EventSourceArn (required)")),
        ],
    },
    {
        type: "aws:cloudwatch/eventRule:EventRule",
        api: "EventBridge PutRule",
        name: { path: "name", autoname: "aws", rules: nameChars("letters, digits, . - _", EB("API_PutRule.html Name (pattern [\\.\\-_A-Za-z0-9]+, 1-64)"), EVENTS_NAME, 1, 64) },
        rules: [
            oneOf("state", ["ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"], EB("API_PutRule.html State")),
            maxLength("description", 512, EB("API_PutRule.html Description")),
            eventPattern("eventPattern", EB("API_PutRule.html EventPattern")),
            resourceRule("a rule has an eventPattern or a scheduleExpression", EB("API_PutRule.html (EventPattern or ScheduleExpression required)"), (r) =>
                r.inputs.eventPattern === undefined && r.inputs.scheduleExpression === undefined ? [{ path: "eventPattern", value: undefined }] : [],
            ),
            matches("eventBusName", /^([/\.\-_A-Za-z0-9]{1,256}|arn:aws[a-z-]*:events:.+)$/, "a bus name (1-256 of letters, digits, . - _ /) or ARN", EB("API_PutRule.html EventBusName")),
            resourceRule("scheduleExpression only on the default event bus", EB("API_PutRule.html ScheduleExpression"), (r) =>
                r.inputs.scheduleExpression !== undefined && r.inputs.eventBusName !== undefined && r.inputs.eventBusName !== "default" ? [{ path: "scheduleExpression", value: r.inputs.scheduleExpression }] : [],
            ),
        ],
    },
    {
        type: "aws:cloudwatch/eventTarget:EventTarget",
        api: "EventBridge PutTargets",
        // The bridged provider generates a target id (terraform-<timestamp>) when none is given.
        rules: [
            matches("targetId", /^[\.\-_A-Za-z0-9]{1,64}$/, "1-64 letters, digits, . - _", EB("API_Target.html Id")),
            range("retryPolicy.maximumRetryAttempts", 0, 185, EB("API_RetryPolicy.html MaximumRetryAttempts")),
            matches("eventBusName", /^([/\.\-_A-Za-z0-9]{1,256}|arn:aws[a-z-]*:events:.+)$/, "a bus name (1-256 of letters, digits, . - _ /) or ARN", EB("API_PutTargets.html EventBusName")),
            range("retryPolicy.maximumEventAgeInSeconds", 60, 86400, EB("API_RetryPolicy.html MaximumEventAgeInSeconds"), "seconds"),
            matches("deadLetterConfig.arn", arnOf("sqs"), "an SQS queue ARN", EB("API_DeadLetterConfig.html Arn")),
            required(["arn", "rule"], EB("API_PutTargets.html Rule, Target.Arn (required)")),
            resourceRule("an API destination target needs roleArn (EventBridge assumes it to invoke)", EB("API_Target.html RoleArn; eventbridge/latest/userguide/eb-api-destinations.html"), (r) =>
                typeof r.inputs.arn === "string" && r.inputs.arn.includes(":api-destination/") && !r.inputs.roleArn ? [{ path: "roleArn", value: undefined }] : [],
            ),
            check("input", "at most 8192 characters of JSON", EB("API_Target.html Input"), (v) => (typeof v === "string" && v.length <= 8192 ? undefined : "too long")),
            resourceRule("at most one of input, inputPath, inputTransformer", EB("API_Target.html (Input, InputPath, InputTransformer are mutually exclusive)"), (r) => {
                const set = ["input", "inputPath", "inputTransformer"].filter((p) => r.inputs[p] !== undefined);
                return set.length > 1 ? set.map((p) => ({ path: p, value: r.inputs[p] })) : [];
            }),
        ],
    },
    {
        type: "aws:cloudwatch/eventConnection:EventConnection",
        api: "EventBridge CreateConnection",
        name: { path: "name", autoname: "aws", rules: nameChars("letters, digits, . - _", EB("API_CreateConnection.html Name (pattern [\\.\\-_A-Za-z0-9]+, 1-64)"), EVENTS_NAME, 1, 64) },
        rules: [
            oneOf("authorizationType", ["BASIC", "OAUTH_CLIENT_CREDENTIALS", "API_KEY"], EB("API_CreateConnection.html AuthorizationType")),
            maxLength("description", 512, EB("API_CreateConnection.html Description")),
            oneOf("authParameters.oauth.httpMethod", ["GET", "POST", "PUT"], EB("API_CreateConnectionOAuthRequestParameters.html HttpMethod")),
            matches("authParameters.oauth.authorizationEndpoint", /^https:\/\/.{1,2040}$/, "an https URL of at most 2048 characters", EB("API_CreateConnectionOAuthRequestParameters.html AuthorizationEndpoint")),
            resourceRule("authParameters carries exactly the block of the authorizationType", EB("API_CreateConnectionAuthRequestParameters.html"), (r) => {
                const block = { BASIC: "basic", OAUTH_CLIENT_CREDENTIALS: "oauth", API_KEY: "apiKey" }[String(r.inputs.authorizationType)];
                if (!block) return [];
                const present = ["basic", "oauth", "apiKey"].filter((b) => getPath(r.inputs, `authParameters.${b}`) !== undefined);
                return present.length === 1 && present[0] === block ? [] : [{ path: "authParameters", value: present, detail: `expected only ${block}` }];
            }),
        ],
    },
    {
        type: "aws:cloudwatch/eventApiDestination:EventApiDestination",
        api: "EventBridge CreateApiDestination",
        name: { path: "name", autoname: "aws", rules: nameChars("letters, digits, . - _", EB("API_CreateApiDestination.html Name (pattern [\\.\\-_A-Za-z0-9]+, 1-64)"), EVENTS_NAME, 1, 64) },
        rules: [
            oneOf("httpMethod", ["POST", "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"], EB("API_CreateApiDestination.html HttpMethod")),
            range("invocationRateLimitPerSecond", 1, 300, EB("API_CreateApiDestination.html InvocationRateLimitPerSecond (minimum 1; default quota 300)")),
            matches("invocationEndpoint", /^https:\/\/.{1,2040}$/, "an https URL of at most 2048 characters", EB("API_CreateApiDestination.html InvocationEndpoint (^((%[0-9A-Fa-f]{2}|[-()_.!~*';/?:@\\x26=+$,A-Za-z0-9])+)([).!';/?:,])?$, https only)")),
            maxLength("description", 512, EB("API_CreateApiDestination.html Description")),
            matches("connectionArn", arnOf("events"), "an EventBridge connection ARN", EB("API_CreateApiDestination.html ConnectionArn")),
        ],
    },
];
