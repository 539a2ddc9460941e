/**
 * Resources the alarm and heartbeat paths are likely to add: SNS subscriptions, Lambda permissions,
 * managed IAM policies and their attachments (pulumi-aws 7.48.0; limits from the API references).
 */
import { API, arnOf, nameChars, policyDocument } from "./aws-shared";
import { check, matches, maxLength, oneOf, required, resourceRule, TypeConstraints } from "./rules";

const SNS = (page: string) => API("sns", page);
const IAM = (page: string) => API("IAM", page);
const LAMBDA = (page: string) => `docs.aws.amazon.com/lambda/latest/api/${page}`;

export const extraAwsConstraints: TypeConstraints[] = [
    {
        // The Azure → AWS relay's trust (components/aws/relay-trust.ts).
        type: "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        api: "IAM CreateOpenIDConnectProvider",
        rules: [
            required(["url", "clientIdLists"], IAM("API_CreateOpenIDConnectProvider.html Url (required); ClientIDList")),
            matches("url", /^https:\/\/[^\s]{1,247}$/, "an https URL of at most 255 characters", IAM("API_CreateOpenIDConnectProvider.html Url (1-255, must begin with https://)")),
            check("clientIdLists[]", "1-255 characters each", IAM("API_CreateOpenIDConnectProvider.html ClientIDList (items 1-255 characters)"), (v) =>
                typeof v === "string" && v.length >= 1 && v.length <= 255 ? undefined : "not 1-255 characters",
            ),
            resourceRule("at most 100 client ids", IAM("API_CreateOpenIDConnectProvider.html ClientIDList; IAM quotas (client IDs per OIDC provider: 100)"), (r) =>
                Array.isArray(r.inputs.clientIdLists) && r.inputs.clientIdLists.length > 100 ? [{ path: "clientIdLists", value: r.inputs.clientIdLists.length }] : [],
            ),
            check("thumbprintLists[]", "40 hexadecimal characters (a SHA-1 thumbprint)", IAM("API_CreateOpenIDConnectProvider.html ThumbprintList (items exactly 40 characters)"), (v) =>
                typeof v === "string" && /^[0-9a-fA-F]{40}$/.test(v) ? undefined : "not a 40-hex-digit thumbprint",
            ),
            resourceRule("at most 5 thumbprints", IAM("API_CreateOpenIDConnectProvider.html ThumbprintList (maximum 5 items)"), (r) =>
                Array.isArray(r.inputs.thumbprintLists) && r.inputs.thumbprintLists.length > 5 ? [{ path: "thumbprintLists", value: r.inputs.thumbprintLists.length }] : [],
            ),
        ],
    },
    {
        type: "aws:sns/topicSubscription:TopicSubscription",
        api: "SNS Subscribe",
        rules: [
            required(["topic", "protocol", "endpoint"], SNS("API_Subscribe.html TopicArn, Protocol (required), Endpoint")),
            oneOf("protocol", ["http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose"], SNS("API_Subscribe.html Protocol")),
            resourceRule("the endpoint fits the protocol (an address for email, an ARN for sqs/lambda/firehose, a URL for http/https)", SNS("API_Subscribe.html Endpoint"), (r) => {
                const e = r.inputs.endpoint;
                if (typeof e !== "string") return [];
                const ok: Record<string, RegExp> = {
                    email: /^[^@\s]+@[^@\s]+\.[^@\s]+$/,
                    "email-json": /^[^@\s]+@[^@\s]+\.[^@\s]+$/,
                    sqs: arnOf("sqs"),
                    lambda: arnOf("lambda"),
                    firehose: arnOf("firehose"),
                    http: /^http:\/\//,
                    https: /^https:\/\//,
                };
                const pattern = ok[String(r.inputs.protocol)];
                return pattern && !pattern.test(e) ? [{ path: "endpoint", value: e }] : [];
            }),
            resourceRule("firehose subscriptions need subscriptionRoleArn", SNS("API_Subscribe.html Attributes.SubscriptionRoleArn"), (r) =>
                r.inputs.protocol === "firehose" && !r.inputs.subscriptionRoleArn ? [{ path: "subscriptionRoleArn", value: undefined }] : [],
            ),
        ],
    },
    {
        type: "aws:lambda/permission:Permission",
        api: "Lambda AddPermission",
        rules: [
            required(["action", "function", "principal"], LAMBDA("API_AddPermission.html Action, FunctionName, Principal (required)")),
            matches("action", /^(lambda:[*]|lambda:[a-zA-Z]+|[*])$/, "lambda:<Action> or *", LAMBDA("API_AddPermission.html Action")),
            matches("statementId", /^[a-zA-Z0-9_-]{1,100}$/, "1-100 letters, digits, - and _", LAMBDA("API_AddPermission.html StatementId")),
            matches("principal", /^[^\s]+$/, "a service principal, account id or ARN", LAMBDA("API_AddPermission.html Principal")),
        ],
    },
    {
        type: "aws:iam/policy:Policy",
        api: "IAM CreatePolicy",
        name: { path: "name", autoname: "aws", rules: nameChars("letters, digits and + = , . @ _ -", IAM("API_CreatePolicy.html PolicyName (pattern [\\w+=,.@-]+, 1-128)"), /^[\w+=,.@-]+$/, 1, 128) },
        rules: [
            required(["policy"], IAM("API_CreatePolicy.html PolicyDocument (required)")),
            policyDocument("policy", 6144, IAM("API_CreatePolicy.html PolicyDocument; IAM quotas (managed policy 6144 characters)")),
            maxLength("description", 1000, IAM("API_CreatePolicy.html Description")),
        ],
    },
    {
        type: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        api: "IAM AttachRolePolicy",
        rules: [
            required(["role", "policyArn"], IAM("API_AttachRolePolicy.html RoleName, PolicyArn (required)")),
            matches("policyArn", arnOf("iam"), "an IAM policy ARN", IAM("API_AttachRolePolicy.html PolicyArn")),
        ],
    },
];
