import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { MESH_OUTPUTS, MeshOutputs, MeshReference, TypedStackReference, parseStackName } from "../../components/mesh-reference";
import { ROOT, preview } from "../support/offline-preview";
import { specialSigKey, specialSecretSig } from "@pulumi/pulumi/runtime/rpc";

/** Resolves an output under the mocks, rejecting with the error an `apply` threw. */
function settle<T>(output: pulumi.Output<T>): Promise<T> {
    return (output as unknown as { promise(): Promise<T> }).promise();
}

const FULL: MeshOutputs = {
    awsRegion: "eu-west-1",
    azureLocation: "westeurope",
    busName: "mesh-prod-bus",
    busArn: "arn:aws:events:eu-west-1:123456789012:event-bus/mesh-prod-bus",
    archiveArn: "arn:aws:events:eu-west-1:123456789012:archive/mesh-prod-archive",
    outboxTableName: "mesh-prod-outbox",
    outboxStreamArn: "arn:aws:dynamodb:eu-west-1:123456789012:table/mesh-prod-outbox/stream/2026-01-01T00:00:00.000",
    resourceGroupName: "mesh-prod-rg",
    serviceBusNamespaceFqdn: "mesh-prod-abc.servicebus.windows.net",
    queueName: "mesh-events",
    apiDestinationArn: "arn:aws:events:eu-west-1:123456789012:api-destination/d/1",
    awsDeadLetterQueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/mesh-prod-dlq",
    awsDeadLetterQueueArn: "arn:aws:sqs:eu-west-1:123456789012:mesh-prod-dlq",
    azureDeadLetterPath: "mesh-events/$DeadLetterQueue",
    publisherClientId: "11111111-2222-4333-8444-555555555555",
    publisherSecretEndDate: "2026-07-01T00:00:00Z",
    alarmTopicArn: "arn:aws:sns:eu-west-1:123456789012:mesh-prod-alarms",
    relayFunctionName: "mesh-prod-relay",
    relayFailureQueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/mesh-prod-relay-failures",
    relayFailureQueueArn: "arn:aws:sqs:eu-west-1:123456789012:mesh-prod-relay-failures",
    consumerFunctionAppName: "mesh-prod-consumer",
    consumerIdentityPrincipalId: "99999999-2222-4333-8444-555555555555",
    redisHostName: "mesh-prod-redis.redis.cache.windows.net",
    publisherActiveSecretSlot: "a",
    azureEventSources: "enterprise.azure.transactions",
    azureRelayRoleArn: "arn:aws:iam::123456789012:role/mesh-prod-relay-trust-role",
    azureRelayAudience: "api://11111111-2222-4333-8444-000000000001",
    azureRelayIssuer: "https://sts.windows.net/00000000-0000-4000-8000-000000000002/",
    azureRelayIdentityPrincipalId: "99999999-2222-4333-8444-000000000003",
    awsConsumerQueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/mesh-prod-aws-consumer-queue",
    awsConsumerDeadLetterQueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/mesh-prod-aws-consumer-dlq",
    awsConsumerDeadLetterQueueArn: "arn:aws:sqs:eu-west-1:123456789012:mesh-prod-aws-consumer-dlq",
    awsConsumerTargetDeadLetterQueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/mesh-prod-aws-consumer-target-dlq",
    awsConsumerFunctionName: "mesh-prod-aws-consumer-function",
    awsIdempotencyTableName: "mesh-prod-aws-consumer-idempotency",
    azureOutboxServerFqdn: "mesh-prod-outbox-pg.postgres.database.azure.com",
    azureOutboxDatabaseName: "outbox",
    azureRelayAppName: "mesh-prod-outbox-relay-app",
};

/** What the mocked engine knows about each referenced stack: its outputs and which of them are secret. */
const STACKS: Record<string, { outputs: object; secretOutputNames?: string[] }> = {
    "acme/multicloud-mesh/prod": { outputs: FULL, secretOutputNames: ["publisherClientId"] },
    "acme/multicloud-mesh/old": { outputs: Object.fromEntries(Object.entries(FULL).filter(([k]) => k !== "resourceGroupName" && k !== "alarmTopicArn")) },
    "acme/multicloud-mesh/empty": { outputs: {} },
    "acme/multicloud-mesh/old-relayless": { outputs: Object.fromEntries(Object.entries(FULL).filter(([k]) => !k.startsWith("relay"))) },
    "acme/multicloud-mesh/odd": { outputs: { ...FULL, queueName: 42 } },
    "acme/multicloud-mesh/azure-to-aws-only": {
        outputs: Object.fromEntries(
            Object.entries(FULL).filter(([k]) => ["awsRegion", "azureLocation", "busName", "busArn", "resourceGroupName", "alarmTopicArn"].includes(k) || k.startsWith("azureRelay") || k === "azureEventSources" || k.startsWith("azureOutbox") || k === "azureRelayAppName" || k.startsWith("awsConsumer") || k === "awsIdempotencyTableName"),
        ),
    },
};

describe("MeshReference", () => {
    const registered: Array<{ type: string; name: string; inputs: Record<string, unknown>; id?: string }> = [];

    before(async () => {
        await pulumi.runtime.setMocks(
            {
                newResource: (args) => {
                    registered.push({ type: args.type, name: args.name, inputs: args.inputs, id: args.id });
                    if (args.type === "pulumi:pulumi:StackReference") {
                        // The engine reads a stack reference: its state carries the referenced stack's outputs.
                        const known = STACKS[args.inputs.name as string] ?? { outputs: {} };
                        // As the engine does: a secret output's value arrives wrapped as a secret.
                        const outputs = Object.fromEntries(
                            Object.entries(known.outputs).map(([k, v]) => [k, known.secretOutputNames?.includes(k) ? { [specialSigKey]: specialSecretSig, value: v } : v]),
                        );
                        return { id: args.inputs.name as string, state: { name: args.inputs.name, outputs, secretOutputNames: known.secretOutputNames ?? [] } };
                    }
                    return { id: `${args.name}-id`, state: args.inputs };
                },
                call: () => ({}),
            },
            "consumer-project",
            "test",
        );
    });

    it("reads a stack reference of the given stack, named as asked", async () => {
        const mesh = new MeshReference("mesh-prod", { stack: "acme/multicloud-mesh/prod" });
        assert.equal(await settle(mesh.outputs.queueName), "mesh-events");
        const ref = registered.find((r) => r.name === "mesh-prod");
        assert.ok(ref, "a StackReference was registered");
        assert.equal(ref.type, "pulumi:pulumi:StackReference");
        assert.equal(ref.inputs.name, "acme/multicloud-mesh/prod");
        assert.equal(mesh.stackName, "acme/multicloud-mesh/prod");
    });

    it("returns every output typed and with its value", async () => {
        const mesh = new MeshReference("mesh-prod-2", { stack: "acme/multicloud-mesh/prod" });
        for (const key of Object.keys(MESH_OUTPUTS) as Array<keyof MeshOutputs>) {
            assert.equal(await settle(mesh.outputs[key]), FULL[key], key);
        }
        assert.ok(Object.values(MESH_OUTPUTS).includes("required") && Object.values(MESH_OUTPUTS).includes("optional"));
        const busArn: pulumi.Output<string> = mesh.output("busArn");
        assert.equal(await settle(busArn), FULL.busArn);
        assert.deepEqual(await settle(mesh.all()), FULL);
    });

    it("keeps an output secret when the referenced stack marks it secret, and only that one", async () => {
        const mesh = new MeshReference("mesh-prod-3", { stack: "acme/multicloud-mesh/prod" });
        assert.equal(await pulumi.isSecret(mesh.outputs.publisherClientId), true);
        assert.equal(await settle(mesh.outputs.publisherClientId), FULL.publisherClientId);
        assert.equal(await pulumi.isSecret(mesh.outputs.busArn), false, "the other outputs do not become secret");
        assert.equal(await pulumi.isSecret(mesh.all()), true, "all() holds a secret");
    });

    it("fails with the stack and the missing output named", async () => {
        const mesh = new MeshReference("mesh-old", { stack: "acme/multicloud-mesh/old" });
        assert.equal(await settle(mesh.outputs.busArn), FULL.busArn, "present outputs still resolve");
        await assert.rejects(settle(mesh.outputs.resourceGroupName), (err: Error) => {
            assert.match(err.message, /^MeshReference: stack "acme\/multicloud-mesh\/old" has no required output "resourceGroupName"\./);
            assert.match(err.message, /Its outputs are: .*busArn/);
            return true;
        });
        await assert.rejects(settle(mesh.all()), /stack "acme\/multicloud-mesh\/old" has no required outputs "resourceGroupName", "alarmTopicArn"/);
    });

    it("a stack with one direction switched off lacks that direction's outputs: they resolve to undefined, the shared ones stay required", async () => {
        const mesh = new MeshReference("mesh-azure-only", { stack: "acme/multicloud-mesh/azure-to-aws-only" });
        const queue: pulumi.Output<string | undefined> = mesh.outputs.queueName;
        assert.equal(await settle(queue), undefined);
        assert.equal(await settle(mesh.outputs.azureRelayRoleArn), FULL.azureRelayRoleArn);
        const all = await settle(mesh.all());
        assert.equal(all.busArn, FULL.busArn);
        assert.equal("outboxTableName" in all, false);
    });

    it("resolves an optional mesh output the stack lacks to undefined", async () => {
        const mesh = new MeshReference("mesh-old-2", { stack: "acme/multicloud-mesh/old-relayless" });
        const relay: pulumi.Output<string | undefined> = mesh.outputs.relayFunctionName;
        assert.equal(await settle(relay), undefined);
        const all = await settle(mesh.all());
        assert.equal("relayFunctionName" in all, false);
        assert.equal(all.busArn, FULL.busArn);
    });

    it("says when the stack has no outputs at all", async () => {
        const mesh = new MeshReference("mesh-empty", { stack: "acme/multicloud-mesh/empty" });
        await assert.rejects(settle(mesh.outputs.busName), /stack "acme\/multicloud-mesh\/empty" has no required output "busName"\. It has no outputs at all/);
    });

    it("refuses an output of the wrong type, naming it", async () => {
        const mesh = new MeshReference("mesh-odd", { stack: "acme/multicloud-mesh/odd" });
        await assert.rejects(settle(mesh.outputs.queueName), /^Error: MeshReference: output "queueName" of stack "acme\/multicloud-mesh\/odd" is a number, expected a string$/);
    });

    it("resolves an optional output that the stack lacks to undefined, and a present one to its value", async () => {
        interface Extended {
            busArn: string;
            relayFunctionName?: string;
            consumerAppName?: string;
        }
        const ref = new TypedStackReference<Extended>("mesh-ext", {
            stack: "acme/multicloud-mesh/prod",
            spec: { busArn: "required", relayFunctionName: "optional", consumerAppName: "optional" },
        });
        assert.equal(await settle(ref.outputs.consumerAppName), undefined);
        assert.equal(await settle(ref.outputs.relayFunctionName), FULL.relayFunctionName);
        assert.equal(await settle(ref.outputs.busArn), FULL.busArn);
        assert.deepEqual(await settle(ref.all()), { busArn: FULL.busArn, relayFunctionName: FULL.relayFunctionName });
    });

    describe("validates the stack name up front", () => {
        const bad: Array<[unknown, RegExp]> = [
            ["", /^MeshReference: args\.stack must be a fully qualified stack name "org\/project\/stack", got ""$/],
            ["prod", /args\.stack must be .* got "prod" with 1 part$/],
            ["multicloud-mesh/prod", /got "multicloud-mesh\/prod" with 2 parts$/],
            ["acme/multicloud-mesh/prod/extra", /with 4 parts$/],
            ["acme//prod", /the project part of "acme\/\/prod" is ""/],
            ["acme/multicloud mesh/prod", /the project part of "acme\/multicloud mesh\/prod" is "multicloud mesh"/],
            ["-acme/multicloud-mesh/prod", /the org part/],
            [`acme/multicloud-mesh/${"s".repeat(101)}`, /the stack part/],
            [undefined, /args\.stack must be a fully qualified stack name/],
        ];
        for (const [stack, message] of bad) {
            it(`refuses ${JSON.stringify(stack)?.slice(0, 40)}`, () => {
                const before = registered.length;
                assert.throws(() => new MeshReference("bad", { stack: stack as string }), (err: Error) => {
                    assert.match(err.message, message);
                    return true;
                });
                assert.equal(registered.length, before, "no resource registered for a bad name");
            });
        }
        it("accepts a fully qualified name and returns its parts", () => {
            assert.deepEqual(parseStackName("acme-corp/multicloud_mesh.v2/prod-eu"), { org: "acme-corp", project: "multicloud_mesh.v2", stack: "prod-eu" });
        });
    });

    describe("MeshOutputs cannot drift from the program's exports", () => {
        it("has exactly the `export const` names of index.ts", () => {
            const source = fs.readFileSync(path.join(ROOT, "index.ts"), "utf8");
            const exported = [...source.matchAll(/^export\s+(?:const|let|var)\s+([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]);
            assert.ok(exported.length > 0, "index.ts exports outputs");
            assert.deepEqual([...Object.keys(MESH_OUTPUTS)].sort(), [...exported].sort());
        });

        it("has exactly the outputs the dev program really exports (offline preview), each a string", () => {
            const run = preview(["--stack", "dev", "--json", "--show-secrets"]);
            assert.equal(run.status, 0, run.stderr);
            assert.deepEqual(Object.keys(MESH_OUTPUTS).sort(), Object.keys(run.outputs).sort());
            for (const [key, value] of Object.entries(run.outputs)) {
                assert.equal(typeof value, "string", `${key} is a string`);
            }
        });
    });
});
