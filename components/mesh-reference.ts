import * as pulumi from "@pulumi/pulumi";

/**
 * The stack outputs of a multicloud-mesh stack, as another stack reads them through a
 * `pulumi.StackReference`. They are exactly the `export const` names of index.ts (a test compares
 * them with index.ts and with what the program really exports, so they cannot drift apart).
 *
 * To add an output: export it from index.ts, add it here and to `MESH_OUTPUTS`. An output added
 * after stacks were deployed is optional (`name?: T`, `"optional"` in `MESH_OUTPUTS`): a stack
 * deployed by an older version of the program does not have it; so is every output of one
 * direction, which a stack may switch off (awsToAzureEnabled, azureToAwsEnabled). The compiler refuses a
 * `MESH_OUTPUTS` entry whose optionality differs from this interface.
 */
export interface MeshOutputs {
    /** AWS region of the bus and every AWS resource of the mesh. */
    awsRegion: string;
    /** Azure region of the resource group and every Azure resource of the mesh. */
    azureLocation: string;
    /** Name of the custom EventBridge bus both directions' relays publish to. */
    busName: string;
    /** ARN of that bus. */
    busArn: string;
    /** Azure resource group of the mesh. */
    resourceGroupName: string;
    /** SNS topic every AWS alarm notifies. */
    alarmTopicArn: string;

    // AWS → Azure. Optional: a stack with awsToAzureEnabled false has none of them.
    /** ARN of the bus archive, for `StartReplay`. */
    archiveArn?: string;
    /** Name of the DynamoDB outbox table producers write to. */
    outboxTableName?: string;
    /** ARN of the outbox table's stream (the relay's event source). */
    outboxStreamArn?: string;
    /** `<namespace>.servicebus.windows.net`. */
    serviceBusNamespaceFqdn?: string;
    /** The Service Bus queue events arrive in. */
    queueName?: string;
    /** ARN of the API destination that POSTs to the queue. */
    apiDestinationArn?: string;
    /** URL of the SQS dead-letter queue of the EventBridge target. */
    awsDeadLetterQueueUrl?: string;
    /** ARN of that dead-letter queue. */
    awsDeadLetterQueueArn?: string;
    /** `<queue>/$DeadLetterQueue`. */
    azureDeadLetterPath?: string;
    /** Client id of the Entra ID application EventBridge authenticates as. */
    publisherClientId?: string;
    /** When the publisher's current client secret expires (RFC 3339). */
    publisherSecretEndDate?: string;
    /** Name of the relay Lambda (DynamoDB stream → PutEvents). */
    relayFunctionName?: string;
    /** URL of the SQS queue the relay's stream mapping sends failed batches to. */
    relayFailureQueueUrl?: string;
    /** ARN of that queue. */
    relayFailureQueueArn?: string;
    /** Name of the Azure Function app that runs the consumer. */
    consumerFunctionAppName?: string;
    /** Principal id of the consumer's managed identity (for role assignments in other stacks). */
    consumerIdentityPrincipalId?: string;
    /** Host name of the Redis cache holding the consumer's idempotency records. */
    redisHostName?: string;
    /** Which of the publisher's two rotating client-secret slots ("a" or "b") the connection uses now. */
    publisherActiveSecretSlot?: string;
    /** Name of the EventBridge connection (DescribeConnection takes the name; npm run smoke checks its state). */
    connectionName?: string;
    /** When the alarm topic is paged about the active client secret nearing its end date (ISO 8601, UTC). */
    secretExpiryPageAt?: string;
    /** The `source` values the mesh's AWS → Azure rule forwards, comma-separated. */
    eventSources?: string;

    // Azure → AWS. Optional: added later, and absent when azureToAwsEnabled is false.
    /** The `source` values of Azure-origin events the AWS consumer's rule takes, comma-separated. */
    azureEventSources?: string;
    /** The IAM role the Azure relay assumes with its managed identity's token (AssumeRoleWithWebIdentity). */
    azureRelayRoleArn?: string;
    /** The `aud` the role trusts: App ID URI of the relay's audience application. */
    azureRelayAudience?: string;
    /** The issuer the IAM OIDC provider trusts (`https://sts.windows.net/<tenant>/`). */
    azureRelayIssuer?: string;
    /** Principal (object) id of the relay's managed identity: the `sub` the role trusts. */
    azureRelayIdentityPrincipalId?: string;
    /** URL of the SQS queue Azure-origin events wait in for the AWS consumer. */
    awsConsumerQueueUrl?: string;
    /** URL of that queue's dead-letter queue (poison with its reason, or maxReceiveCount exceeded). */
    awsConsumerDeadLetterQueueUrl?: string;
    /** ARN of that dead-letter queue. */
    awsConsumerDeadLetterQueueArn?: string;
    /** URL of the dead-letter queue of the rule's target (EventBridge could not put into the queue). */
    awsConsumerTargetDeadLetterQueueUrl?: string;
    /** Name of the AWS consumer Lambda. */
    awsConsumerFunctionName?: string;
    /** Name of the DynamoDB table of the AWS consumer's idempotency records. */
    awsIdempotencyTableName?: string;
    /** FQDN of the Azure outbox server (PostgreSQL Flexible Server, Entra sign-in, TLS): producers commit there. */
    azureOutboxServerFqdn?: string;
    /** The outbox database on that server. */
    azureOutboxDatabaseName?: string;
    /** Name of the Azure relay Function app (outbox → PutEvents). */
    azureRelayAppName?: string;
}

/** Whether a stack of the mesh always has an output (`required`) or may lack it (`optional`). */
export type OutputPresence = "required" | "optional";

/** One entry per output: the compiler checks it against `T`'s optional (`?`) fields. */
export type OutputSpec<T> = { readonly [K in keyof T]-?: undefined extends T[K] ? "optional" : "required" };

/** The runtime list of `MeshOutputs`, with each output's presence. */
export const MESH_OUTPUTS: OutputSpec<MeshOutputs> = {
    awsRegion: "required",
    azureLocation: "required",
    busName: "required",
    busArn: "required",
    resourceGroupName: "required",
    alarmTopicArn: "required",
    archiveArn: "optional",
    outboxTableName: "optional",
    outboxStreamArn: "optional",
    serviceBusNamespaceFqdn: "optional",
    queueName: "optional",
    apiDestinationArn: "optional",
    awsDeadLetterQueueUrl: "optional",
    awsDeadLetterQueueArn: "optional",
    azureDeadLetterPath: "optional",
    publisherClientId: "optional",
    publisherSecretEndDate: "optional",
    relayFunctionName: "optional",
    relayFailureQueueUrl: "optional",
    relayFailureQueueArn: "optional",
    consumerFunctionAppName: "optional",
    consumerIdentityPrincipalId: "optional",
    redisHostName: "optional",
    publisherActiveSecretSlot: "optional",
    connectionName: "optional",
    secretExpiryPageAt: "optional",
    eventSources: "optional",
    azureEventSources: "optional",
    azureRelayRoleArn: "optional",
    azureRelayAudience: "optional",
    azureRelayIssuer: "optional",
    azureRelayIdentityPrincipalId: "optional",
    awsConsumerQueueUrl: "optional",
    awsConsumerDeadLetterQueueUrl: "optional",
    awsConsumerDeadLetterQueueArn: "optional",
    awsConsumerTargetDeadLetterQueueUrl: "optional",
    awsConsumerFunctionName: "optional",
    awsIdempotencyTableName: "optional",
    azureOutboxServerFqdn: "optional",
    azureOutboxDatabaseName: "optional",
    azureRelayAppName: "optional",
};

/** Each output of `T` as a `pulumi.Output`; an optional one resolves to `undefined` when the stack lacks it. */
export type OutputsOf<T> = { readonly [K in keyof T]-?: pulumi.Output<T[K]> };

// Pulumi Cloud / self-managed backends: org (or "organization"), project and stack names are
// letters, digits, "-", "_" and "."; projects and stacks are at most 100 characters.
const NAME_PART = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Checks that `stack` is a fully qualified `org/project/stack` name and returns its parts; throws
 * an Error naming the value and what is wrong otherwise.
 */
export function parseStackName(stack: string, who = "MeshReference"): { org: string; project: string; stack: string } {
    if (typeof stack !== "string" || stack.trim() === "") {
        throw new Error(`${who}: args.stack must be a fully qualified stack name "org/project/stack", got ${JSON.stringify(stack)}`);
    }
    const parts = stack.split("/");
    if (parts.length !== 3) {
        throw new Error(
            `${who}: args.stack must be a fully qualified stack name "org/project/stack" (three parts separated by "/"), got ${JSON.stringify(stack)} with ${parts.length} part${parts.length === 1 ? "" : "s"}`,
        );
    }
    const labels = ["org", "project", "stack"] as const;
    parts.forEach((part, i) => {
        if (!NAME_PART.test(part) || part.length > 100) {
            throw new Error(
                `${who}: args.stack: the ${labels[i]} part of ${JSON.stringify(stack)} is ${JSON.stringify(part)}; it must be 1 to 100 letters, digits, "-", "_" or "." and start with a letter or digit`,
            );
        }
    });
    return { org: parts[0], project: parts[1], stack: parts[2] };
}

export interface TypedStackReferenceArgs<T> {
    /** The referenced stack, fully qualified: `org/project/stack`. */
    stack: string;
    /** Every output the caller may read, and whether the stack must have it. */
    spec: OutputSpec<T>;
    /** What to call this helper in errors (default "StackReference"). */
    label?: string;
}

/**
 * A `pulumi.StackReference` whose outputs are typed by `T` and checked when they resolve: a missing
 * required output, or an output that is not a string, fails the program with an error naming the
 * stack and the output. `MeshReference` is this for `MeshOutputs`.
 */
export class TypedStackReference<T> {
    /** The fully qualified name of the referenced stack. */
    public readonly stackName: string;
    /** The underlying stack reference (for outputs that are not part of `T`). */
    public readonly stackReference: pulumi.StackReference;
    /** Every output of `T`, typed; required ones fail when the stack lacks them. */
    public readonly outputs: OutputsOf<T>;
    private readonly label: string;
    private readonly spec: OutputSpec<T>;

    constructor(name: string, args: TypedStackReferenceArgs<T>, opts?: pulumi.CustomResourceOptions) {
        this.label = args.label ?? "StackReference";
        parseStackName(args.stack, this.label);
        this.stackName = args.stack;
        this.spec = args.spec;
        this.stackReference = new pulumi.StackReference(name, { name: args.stack }, opts);
        const outputs: Record<string, pulumi.Output<unknown>> = {};
        for (const key of Object.keys(args.spec) as Array<keyof T & string>) {
            outputs[key] = this.read(key);
        }
        this.outputs = outputs as unknown as OutputsOf<T>;
    }

    /** One output, checked; the same as `outputs[name]`. */
    public output<K extends keyof T & string>(name: K): pulumi.Output<T[K]> {
        return this.outputs[name];
    }

    /**
     * All outputs of `T` as one value. Fails, naming every missing required output at once, when
     * the stack lacks any.
     */
    public all(): pulumi.Output<T> {
        return this.stackReference.outputs.apply((present) => {
            const missing = (Object.keys(this.spec) as Array<keyof T & string>).filter((k) => this.spec[k] === "required" && (present ?? {})[k] === undefined);
            if (missing.length > 0) {
                throw new Error(this.missingMessage(missing, present ?? {}));
            }
            const picked: Record<string, unknown> = {};
            for (const key of Object.keys(this.spec) as Array<keyof T & string>) {
                if (present[key] !== undefined) picked[key] = this.checkType(key, present[key]);
            }
            return picked as T;
        });
    }

    private read<K extends keyof T & string>(key: K): pulumi.Output<T[K]> {
        const presence = this.spec[key];
        // getOutput keeps the output's own secretness (requireOutput's error names no context). The
        // whole `outputs` map is secret as soon as one output is; it serves only the names in the
        // error message, so its secretness must not spread to this output.
        return pulumi.all([this.stackReference.getOutput(key), pulumi.unsecret(this.stackReference.outputs)]).apply(([value, present]) => {
            if (value === undefined || value === null) {
                if (presence === "required") throw new Error(this.missingMessage([key], present ?? {}));
                return undefined as T[K];
            }
            return this.checkType(key, value) as T[K];
        }) as pulumi.Output<T[K]>;
    }

    private checkType(key: string, value: unknown): unknown {
        if (typeof value !== "string") {
            throw new Error(`${this.label}: output "${key}" of stack "${this.stackName}" is ${Array.isArray(value) ? "an array" : `a ${typeof value}`}, expected a string`);
        }
        return value;
    }

    private missingMessage(missing: string[], present: Record<string, unknown>): string {
        const has = Object.keys(present).sort();
        const what = missing.length === 1 ? `required output "${missing[0]}"` : `required outputs ${missing.map((m) => `"${m}"`).join(", ")}`;
        return (
            `${this.label}: stack "${this.stackName}" has no ${what}. ` +
            (has.length === 0
                ? "It has no outputs at all: has it been deployed (pulumi up), and may this stack read it?"
                : `Its outputs are: ${has.join(", ")}. Was it deployed with an older version of multicloud-mesh? Run pulumi up on it first.`)
        );
    }
}

export interface MeshReferenceArgs {
    /** The mesh stack to read, fully qualified: `org/project/stack` (e.g. `acme/multicloud-mesh/prod`). */
    stack: string;
}

/**
 * Reads a multicloud-mesh stack's outputs from another stack, typed:
 *
 * ```ts
 * const mesh = new MeshReference("mesh", { stack: "acme/multicloud-mesh/prod" });
 * mesh.outputs.busArn;          // pulumi.Output<string>
 * mesh.all();                   // pulumi.Output<MeshOutputs>
 * ```
 *
 * The stack name is checked when constructed; a missing output fails the program with an error
 * naming the stack and the output.
 */
export class MeshReference extends TypedStackReference<MeshOutputs> {
    constructor(name: string, args: MeshReferenceArgs, opts?: pulumi.CustomResourceOptions) {
        if (args === undefined || args === null || typeof args !== "object") {
            throw new Error(`MeshReference: args.stack is required ("org/project/stack")`);
        }
        super(name, { stack: args.stack, spec: MESH_OUTPUTS, label: "MeshReference" }, opts);
    }
}
