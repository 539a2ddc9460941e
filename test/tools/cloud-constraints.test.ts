import { strict as assert } from "assert";
import { CATALOG, checkCloudConstraints, EXEMPTIONS, formatViolation } from "../../tools/cloud-constraints";
import type { ConstrainedResource } from "../../tools/cloud-constraints";
import { modelAutoName } from "../../tools/cloud-constraints/engine";
import { preview } from "../support/offline-preview";
import { BROKEN, validResources } from "./cloud-constraints-fixtures";


describe("cloud constraints (tools/cloud-constraints)", () => {
    describe("the catalog against hand-made resources", () => {
        it("the valid resource of every type passes clean (so each broken case below is caught for its own value)", () => {
            const result = checkCloudConstraints(validResources(), CATALOG, []);
            assert.deepEqual(result.failing.map(formatViolation), []);
        });

        it("every type in the catalog has a valid fixture and a broken case", () => {
            const fixtureTypes = new Set(validResources().map((r) => r.type));
            const brokenTypes = new Set(BROKEN.map((b) => b.type));
            for (const c of CATALOG) {
                assert.ok(fixtureTypes.has(c.type), `no valid fixture for ${c.type}`);
                assert.ok(brokenTypes.has(c.type), `no broken case for ${c.type}`);
            }
        });

        for (const broken of BROKEN) {
            it(`${broken.type}: ${broken.what} is caught by its rule, and the message names resource, property, value and rule`, () => {
                const all = validResources();
                const target = all.find((r) => r.type === broken.type);
                assert.ok(target, `fixture for ${broken.type}`);
                broken.breakIt(target, all);
                const result = checkCloudConstraints(all, CATALOG, []);
                const hit = result.failing.find((v) => v.type === broken.type && v.path === broken.path && v.rule.includes(broken.rule));
                assert.ok(hit, `expected ${broken.path} to violate "${broken.rule}", got:\n${result.failing.map(formatViolation).join("\n") || "(nothing)"}`);
                assert.deepEqual(hit.value, broken.value);
                assert.ok(hit.source.length > 10, "the rule cites a source");
                const message = formatViolation(hit);
                for (const part of [broken.type, target.name, broken.path, JSON.stringify(broken.value), hit.rule]) {
                    assert.ok(message.includes(part), `message lacks ${part}: ${message}`);
                }
                assert.deepEqual(
                    result.failing.filter((v) => v.type !== broken.type).map(formatViolation),
                    [],
                    "only the broken resource is reported",
                );
            });
        }
    });

    describe("the engine", () => {
        it("a type with no rules is a violation unless exempted with a reason", () => {
            const unknown: ConstrainedResource = { type: "azure-native:cdn:Profile", name: "cdn", inputs: {}, custom: true };
            const result = checkCloudConstraints([unknown, { type: "random:index/randomString:RandomString", name: "s", inputs: {}, custom: true }], CATALOG, []);
            assert.equal(result.failing.length, 1);
            assert.match(result.failing[0].rule, /no constraints known for azure-native:cdn:Profile/);
            assert.ok(result.exempt.some((e) => e.type.startsWith("random:") && e.reason.length > 0));
            assert.ok(EXEMPTIONS.every((e) => e.reason.length > 20), "every exemption says why");
        });

        it("models azure-native and pulumi-aws auto-names as the providers build them", () => {
            assert.equal(modelAutoName("azure-random", "mesh-dev-x"), "mesh-dev-x0a1b2c3d");
            assert.equal(modelAutoName("aws", "mesh-dev-x"), "mesh-dev-x-0a1b2c3");
            assert.match(modelAutoName("azure-uuid", "x") ?? "", /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        });

        it("an explicit alphanumeric access-policy assignment name passes where the auto-name fails", () => {
            const all = validResources();
            const access = all.find((r) => r.type === "azure-native:redisenterprise:AccessPolicyAssignment")!;
            access.name = "mesh-dev-consumer-redis-access";
            access.inputs.accessPolicyAssignmentName = "meshdevconsumer";
            assert.deepEqual(checkCloudConstraints(all, CATALOG, []).failing, []);
            access.inputs.accessPolicyAssignmentName = "mesh-dev-consumer";
            assert.equal(checkCloudConstraints(all, CATALOG, []).failing[0]?.path, "accessPolicyAssignmentName");
        });

        it("create-only: replaceOnChanges alone is not enough for a fixed name; NoCluster may change in place", () => {
            const all = validResources();
            const db = all.find((r) => r.type === "azure-native:redisenterprise:Database")!;
            db.deleteBeforeReplace = false;
            assert.match(checkCloudConstraints(all, CATALOG, []).failing[0]?.rule ?? "", /deleteBeforeReplace/);
            db.replaceOnChanges = ["*"];
            db.deleteBeforeReplace = true;
            assert.deepEqual(checkCloudConstraints(all, CATALOG, []).failing, []);
            db.replaceOnChanges = [];
            db.inputs.clusteringPolicy = "NoCluster";
            assert.deepEqual(checkCloudConstraints(all, CATALOG, []).failing, []);
        });

        it("values only a provider computes are skipped and counted, not checked", () => {
            const all = validResources();
            const queue = all.find((r) => r.type === "aws:sqs/queue:Queue")!;
            // A name invented by another resource's provider (here: the bus's auto-name) is unknown at preview.
            all.push({ type: "aws:cloudwatch/eventBus:EventBus", name: "other", inputs: {}, custom: true, outputs: { name: "bad name!xyz", arn: "arn:aws:events:x" } });
            queue.inputs.name = "bad name!xyz";
            const result = checkCloudConstraints(all, CATALOG, []);
            assert.ok(result.skippedComputed.some((s) => s.type === "aws:sqs/queue:Queue" && s.path === "name"));
            assert.ok(!result.failing.some((v) => v.type === "aws:sqs/queue:Queue"));
        });

        it("lists the set properties no rule looks at, but not tags, location or a parent's name", () => {
            const all = validResources();
            const queue = all.find((r) => r.type === "azure-native:servicebus:Queue")!;
            queue.inputs.status = "Active";
            queue.inputs.tags = { team: "mesh" };
            const unchecked = checkCloudConstraints(all, CATALOG, []).unchecked.find((u) => u.type === queue.type);
            assert.deepEqual(unchecked?.keys, ["status"]);
        });

        it("pending entries are reported apart, and an entry whose violation is gone is stale", () => {
            const all = validResources();
            const pending = [{ type: "aws:kms/key:Key", path: "deletionWindowInDays", owner: "test" }];
            all.find((r) => r.type === "aws:kms/key:Key")!.inputs.deletionWindowInDays = 1;
            const result = checkCloudConstraints(all, CATALOG, pending);
            assert.deepEqual(result.failing, []);
            assert.equal(result.pending.length, 1);
            assert.deepEqual(checkCloudConstraints(validResources(), CATALOG, pending).stalePending, pending);
        });
    });

    describe("the program (npm run preview)", function () {
        this.timeout(240_000);
        for (const stack of ["dev", "prod"]) {
            it(`${stack}: no violations outside the pending list, and every pending entry is still real`, () => {
                // The same arguments as the program and policy suites, so the run is shared with them.
                const run = preview(["--stack", stack, "--json", "--show-secrets"]);
                assert.equal(run.status, 0, run.stderr);
                const doc = JSON.parse(run.stdout) as { cloudConstraints: ReturnType<typeof checkCloudConstraints> };
                const c = doc.cloudConstraints;
                assert.deepEqual(c.failing.map(formatViolation), []);
                assert.deepEqual(c.stalePending, [], "a pending violation is fixed: remove its PENDING entry");
                assert.ok(c.checkedValues > 200, `checked ${c.checkedValues} values`);
                // The issue-10 blocker: the access-policy assignment carries an explicit name, never the provider's auto-name.
                assert.ok(!c.autoNames.some((a) => a.type === "azure-native:redisenterprise:AccessPolicyAssignment"), "the Redis access policy assignment is auto-named");
            });
        }

    });
});
