/**
 * What `npm run smoke` talks to: read from the stack's outputs (`pulumi stack output --json
 * --show-secrets --stack <s>`, or a file holding that JSON) with a few flags that override them.
 */
import { DEFAULT_KEY_PREFIX } from "../../runtime/idempotency-store";
import { DEFAULT_PG_OUTBOX_TABLE } from "../../runtime/postgres-outbox/schema";

export class UsageError extends Error {}

export interface SmokeTargets {
    region: string;
    outboxTableName: string;
    /** The domain event's `source`: one the mesh's rule forwards. */
    source: string;
    connectionName: string;
    awsDeadLetterQueueUrl: string;
    /** The relay's on-failure queue (records the relay gave up on). */
    relayFailureQueueUrl?: string;
    serviceBusNamespaceFqdn: string;
    queueName: string;
    redisHost: string;
    redisPort: number;
    /** The Entra object id Redis knows the user by; default: the `oid` claim of the user's token. */
    redisUsername?: string;
    keyPrefix: string;
    timeoutMs: number;
    pollMs: number;
}

/** What the Azure → AWS run talks to (tools/smoke/reverse.ts). */
export interface ReverseSmokeTargets {
    region: string;
    /** The outbox server (Azure Database for PostgreSQL flexible server) and database. */
    pgHost: string;
    pgPort: number;
    pgDatabase: string;
    /** The PostgreSQL role; default: the UPN in the user's Entra token. */
    pgUser?: string;
    pgTable: string;
    /** The domain event's `source`: one of the stack's azureEventSources (the consumer rule forwards only those). */
    source: string;
    consumerQueueUrl: string;
    consumerDeadLetterQueueUrl: string;
    targetDeadLetterQueueUrl: string;
    idempotencyTableName: string;
    /** Prepended to the event id in the idempotency table's key; the deployed consumer uses none. */
    keyPrefix: string;
    timeoutMs: number;
    pollMs: number;
}

export type Direction = "aws-to-azure" | "azure-to-aws" | "both";

export interface SmokeArgs {
    stack?: string;
    outputsFile?: string;
    direction: Direction;
    /** AWS → Azure, when run. */
    targets?: SmokeTargets;
    /** Azure → AWS, when run. */
    reverse?: ReverseSmokeTargets;
    /** Directions `both` skipped because the stack has them switched off, with why. */
    skipped: string[];
}

/**
 * Azure Managed Redis serves its databases on port 10000, TLS only (Azure Managed Redis
 * documentation, "Microsoft Entra ID for cache authentication" and the connection guidance); the
 * mesh's database uses it (components/azure/consumer-app.ts MANAGED_REDIS_PORT).
 */
export const DEFAULT_REDIS_PORT = 10000;
export const DEFAULT_TIMEOUT_SECONDS = 120;
/** An Entra token lives about an hour and the tool does not refresh it; a wait is kept well inside. */
export const MAX_TIMEOUT_SECONDS = 1800;

export const USAGE = `usage: npm run smoke -- (--stack NAME | --outputs FILE) [--direction aws-to-azure|azure-to-aws|both]
                      [--timeout SECONDS] [--poll-ms MS] [--region R]
                      [--source SOURCE] [--redis-port N] [--redis-username OBJECT_ID] [--key-prefix P]     (AWS → Azure)
                      [--azure-source SOURCE] [--pg-user NAME] [--pg-port N] [--pg-table T]                (Azure → AWS)

For a stack you have just deployed with \`pulumi up\`: writes ONE test event (type MeshSmokeTest) through the
real outbox writer into the stack's outbox table, waits until the consumer has applied it (its idempotency
record in Redis turns to done:), checks that the EventBridge connection is AUTHORIZED and that both
dead-letter queues (SQS and Service Bus) are empty, and prints the end-to-end latency and a verdict.
Exit 0: PASS. Exit 1: FAIL, with the failing hop named (connection, outbox write, relay/bus, delivery,
consumer, DLQ). Exit 2: bad arguments or outputs.

--stack NAME     reads \`pulumi stack output --json --show-secrets --stack NAME\` (needs the Pulumi CLI)
--outputs FILE   reads that JSON from a file instead (pulumi stack output --json > out.json)
--timeout        seconds to wait for the consumer (default ${DEFAULT_TIMEOUT_SECONDS}, at most ${MAX_TIMEOUT_SECONDS})
--source         the event's source (default: the first of the stack output eventSources)
--direction      which direction(s) to prove (default both; both skips a direction the stack has switched off)

Azure → AWS: commits ONE test event through the real PostgreSQL outbox writer into the outbox database as
you (your Entra token is the password; your role needs INSERT and SELECT on the outbox table, by default
mesh_outbox), waits until the AWS consumer's idempotency record in DynamoDB reads done, and checks the
consumer's two dead-letter queues. FAIL names the hop: outbox write, relay, bus/rule, delivery, consumer,
DLQ. Needs dynamodb:GetItem on the idempotency table, sqs:GetQueueAttributes on the consumer queue and
both dead-letter queues, and sqs:ReceiveMessage on the dead-letter queues (to name a dead letter's reason).

Credentials are your own: the AWS SDK's default chain (needs dynamodb:PutItem on the outbox table,
events:DescribeConnection, sqs:GetQueueAttributes on the dead-letter and relay-failure queues), and
Azure DefaultAzureCredential (az login) for Service Bus (peek needs Azure Service Bus Data Receiver on
the queue) and Redis (your object id needs an access policy assignment on the Redis database; see
docs/smoke.md). Your business handler receives the test event: let it ignore type MeshSmokeTest.

What only a real cloud proves, and this command checks there: IAM and RBAC as deployed, the stream
trigger of the relay Lambda, the bus rule, the OAuth token exchange with Entra ID, the API destination's
POST to Service Bus, the consumer app's trigger waking on a message, and Entra-authenticated Redis.
The command's own logic is tested offline against DynamoDB Local, redis-server, local EventBridge/SQS
endpoints and a Service Bus model (test/tools/smoke.test.ts), and for Azure → AWS against PostgreSQL 15,
the real relay core, models of the rule/SQS target and Lambda's poller, the real SQS consumer host and
DynamoDB Local (test/tools/smoke-reverse.test.ts); those tests prove nothing about a cloud.`;

/** Stack outputs the smoke test reads (names as index.ts exports them). */
const OUTPUTS = {
    region: "awsRegion",
    outboxTableName: "outboxTableName",
    eventSources: "eventSources",
    connectionName: "connectionName",
    awsDeadLetterQueueUrl: "awsDeadLetterQueueUrl",
    relayFailureQueueUrl: "relayFailureQueueUrl",
    serviceBusNamespaceFqdn: "serviceBusNamespaceFqdn",
    queueName: "queueName",
    redisHostName: "redisHostName",
} as const;

/** Outputs of the Azure → AWS direction (index.ts). */
const REVERSE_OUTPUTS = {
    azureEventSources: "azureEventSources",
    pgHost: "azureOutboxServerFqdn",
    pgDatabase: "azureOutboxDatabaseName",
    consumerQueueUrl: "awsConsumerQueueUrl",
    consumerDeadLetterQueueUrl: "awsConsumerDeadLetterQueueUrl",
    targetDeadLetterQueueUrl: "awsConsumerTargetDeadLetterQueueUrl",
    idempotencyTableName: "awsIdempotencyTableName",
} as const;

function integerFlag(flag: string, value: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const n = Number(value);
    if (!value || !Number.isInteger(n) || n < min || n > max) {
        throw new UsageError(`${flag} needs an integer from ${min} to ${max}, got ${JSON.stringify(value ?? "")}`);
    }
    return n;
}

export interface OutputSources {
    readFile(path: string): string;
    /** Runs the Pulumi CLI; resolves with its exit status and output. */
    runPulumi(args: string[]): { status: number | null; stdout: string; stderr: string; error?: Error };
}

/** Reads the command line and the stack's outputs; each problem names the flag or the output. */
export function parseSmokeArgs(argv: string[], sources: OutputSources): SmokeArgs {
    const flags: Record<string, string> = {};
    const valueFlags = [
        "--stack",
        "--outputs",
        "--timeout",
        "--poll-ms",
        "--source",
        "--region",
        "--redis-port",
        "--redis-username",
        "--key-prefix",
        "--direction",
        "--azure-source",
        "--pg-user",
        "--pg-port",
        "--pg-table",
    ];
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        if (!valueFlags.includes(flag)) throw new UsageError(`unknown argument ${JSON.stringify(flag)}`);
        const value = argv[++i];
        if (value === undefined || value.startsWith("--")) throw new UsageError(`${flag} needs a value`);
        flags[flag] = value;
    }
    const stack = flags["--stack"];
    const outputsFile = flags["--outputs"];
    if (!stack && !outputsFile) throw new UsageError("give --stack NAME (reads the stack's outputs with the Pulumi CLI) or --outputs FILE");
    if (stack && outputsFile) throw new UsageError("give either --stack or --outputs, not both");

    let text: string;
    let origin: string;
    if (outputsFile) {
        origin = `--outputs ${outputsFile}`;
        try {
            text = sources.readFile(outputsFile);
        } catch (error) {
            throw new UsageError(`${origin}: cannot read it (${(error as Error).message})`);
        }
    } else {
        origin = `pulumi stack output --stack ${stack}`;
        const result = sources.runPulumi(["stack", "output", "--json", "--show-secrets", "--stack", stack!]);
        if (result.error) {
            const missing = (result.error as NodeJS.ErrnoException).code === "ENOENT";
            throw new UsageError(
                missing
                    ? "the Pulumi CLI is not installed or not on PATH; install it, or pass --outputs FILE (the JSON of `pulumi stack output --json`)"
                    : `could not run the Pulumi CLI: ${result.error.message}`,
            );
        }
        if (result.status !== 0) throw new UsageError(`${origin} failed (exit ${result.status}): ${result.stderr.trim() || result.stdout.trim()}`);
        text = result.stdout;
    }
    let outputs: Record<string, unknown>;
    try {
        outputs = JSON.parse(text);
    } catch (error) {
        throw new UsageError(`${origin}: not JSON (${(error as Error).message})`);
    }
    if (outputs === null || typeof outputs !== "object" || Array.isArray(outputs)) throw new UsageError(`${origin}: expected the JSON object of the stack's outputs`);

    const stringOutput = (name: string, required: boolean): string | undefined => {
        const value = outputs[name];
        if (typeof value === "string" && value !== "" && value !== "[secret]") return value;
        if (!required) return undefined;
        if (value === "[secret]") throw new UsageError(`${origin}: output ${name} is a secret and was not shown (use --stack, which passes --show-secrets)`);
        throw new UsageError(
            `${origin}: output ${name} is missing. Deploy this version of the program (pulumi up) so the stack exports it${name === "connectionName" || name === "eventSources" ? " (added for the smoke test)" : ""}.`,
        );
    };

    const direction = (flags["--direction"] ?? "both") as Direction;
    if (!["aws-to-azure", "azure-to-aws", "both"].includes(direction)) throw new UsageError(`--direction is aws-to-azure, azure-to-aws or both, got ${JSON.stringify(direction)}`);
    // A direction switched off exports none of its outputs (index.ts); these two say whether it is on.
    const forwardOn = outputs[OUTPUTS.outboxTableName] !== undefined;
    const reverseOn = outputs[REVERSE_OUTPUTS.consumerQueueUrl] !== undefined;
    const skipped: string[] = [];
    const wanted = (name: Direction, on: boolean, marker: string, key: string): boolean => {
        if (direction !== "both" && direction !== name) return false;
        if (on) return true;
        if (direction === name) throw new UsageError(`${origin}: the stack has ${name} switched off (no ${marker} output; config ${key}); nothing to prove in that direction`);
        skipped.push(`${name}: switched off in this stack (no ${marker} output)`);
        return false;
    };
    const runForward = wanted("aws-to-azure", forwardOn, OUTPUTS.outboxTableName, "awsToAzureEnabled");
    const runReverse = wanted("azure-to-aws", reverseOn, REVERSE_OUTPUTS.consumerQueueUrl, "azureToAwsEnabled");
    if (!runForward && !runReverse) throw new UsageError(`${origin}: neither direction is deployed in this stack (no ${OUTPUTS.outboxTableName} nor ${REVERSE_OUTPUTS.consumerQueueUrl} output)`);
    const timeoutSeconds = flags["--timeout"] ? integerFlag("--timeout", flags["--timeout"], 1, MAX_TIMEOUT_SECONDS) : DEFAULT_TIMEOUT_SECONDS;
    const pollMs = flags["--poll-ms"] ? integerFlag("--poll-ms", flags["--poll-ms"], 50, 60_000) : 500;
    const firstOf = (raw: unknown) => (typeof raw === "string" ? raw.split(",").filter((s) => s !== "") : Array.isArray(raw) ? raw.filter((s): s is string => typeof s === "string") : [])[0];

    let reverse: ReverseSmokeTargets | undefined;
    if (runReverse) {
        const source = flags["--azure-source"] ?? firstOf(outputs[REVERSE_OUTPUTS.azureEventSources]);
        if (!source) throw new UsageError(`${origin}: output ${REVERSE_OUTPUTS.azureEventSources} is missing or empty; pass --azure-source with one of the stack's azureEventSources`);
        reverse = {
            region: flags["--region"] ?? stringOutput(OUTPUTS.region, true)!,
            pgHost: stringOutput(REVERSE_OUTPUTS.pgHost, true)!,
            pgPort: flags["--pg-port"] ? integerFlag("--pg-port", flags["--pg-port"], 1, 65535) : 5432,
            pgDatabase: stringOutput(REVERSE_OUTPUTS.pgDatabase, true)!,
            pgUser: flags["--pg-user"],
            pgTable: flags["--pg-table"] ?? DEFAULT_PG_OUTBOX_TABLE,
            source,
            consumerQueueUrl: stringOutput(REVERSE_OUTPUTS.consumerQueueUrl, true)!,
            consumerDeadLetterQueueUrl: stringOutput(REVERSE_OUTPUTS.consumerDeadLetterQueueUrl, true)!,
            targetDeadLetterQueueUrl: stringOutput(REVERSE_OUTPUTS.targetDeadLetterQueueUrl, true)!,
            idempotencyTableName: stringOutput(REVERSE_OUTPUTS.idempotencyTableName, true)!,
            keyPrefix: "",
            timeoutMs: timeoutSeconds * 1000,
            pollMs,
        };
    }
    if (!runForward) return { stack, outputsFile, direction, reverse, skipped };

    let source = flags["--source"];
    if (!source) {
        // index.ts exports the list comma-separated (a stack output other stacks read must be a string).
        const raw = outputs[OUTPUTS.eventSources];
        const list = typeof raw === "string" ? raw.split(",").filter((s) => s !== "") : Array.isArray(raw) ? raw.filter((s): s is string => typeof s === "string") : [];
        if (list.length === 0) {
            throw new UsageError(`${origin}: output ${OUTPUTS.eventSources} is missing or empty; pass --source with one of the stack's eventSources, or deploy this version (pulumi up)`);
        }
        source = list[0];
    }

    const targets: SmokeTargets = {
        region: flags["--region"] ?? stringOutput(OUTPUTS.region, true)!,
        outboxTableName: stringOutput(OUTPUTS.outboxTableName, true)!,
        source,
        connectionName: stringOutput(OUTPUTS.connectionName, true)!,
        awsDeadLetterQueueUrl: stringOutput(OUTPUTS.awsDeadLetterQueueUrl, true)!,
        relayFailureQueueUrl: stringOutput(OUTPUTS.relayFailureQueueUrl, false),
        serviceBusNamespaceFqdn: stringOutput(OUTPUTS.serviceBusNamespaceFqdn, true)!,
        queueName: stringOutput(OUTPUTS.queueName, true)!,
        redisHost: stringOutput(OUTPUTS.redisHostName, true)!,
        redisPort: flags["--redis-port"] ? integerFlag("--redis-port", flags["--redis-port"], 1, 65535) : DEFAULT_REDIS_PORT,
        redisUsername: flags["--redis-username"],
        keyPrefix: flags["--key-prefix"] ?? DEFAULT_KEY_PREFIX,
        timeoutMs: timeoutSeconds * 1000,
        pollMs,
    };
    return { stack, outputsFile, direction, targets, reverse, skipped };
}
