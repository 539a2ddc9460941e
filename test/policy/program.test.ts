import * as assert from "assert";
import type { RecordedResource } from "../../tools/mock-engine";
import { FAKE_NOW } from "../../tools/mock-engine";
import { PolicyReport, runPolicies } from "../../tools/policy-runner";
import { policies, T } from "../../policy/policies";
import { preview } from "../support/offline-preview";
import { COMPLIANT_CONFIG, copy, programResources, urnOf } from "./support";

/** The config the preview applies: secret lifetimes measured from the mock engine's clock. */
const OFFLINE_CONFIG = { "entra-application-password-lifetime": { referenceTime: FAKE_NOW } };

const check = (resources: RecordedResource[]) => runPolicies(resources, { config: OFFLINE_CONFIG });

/** Policy name → violation messages, for every policy that has any. */
function failing(report: PolicyReport): Record<string, string[]> {
    return Object.fromEntries(report.verdicts.filter((v) => v.violations.length > 0).map((v) => [v.policy, v.violations.map((x) => x.message)]));
}

/** The one resource of `type` whose logical name ends with `suffix` (the program may hold several of a type). */
function only<T extends RecordedResource>(resources: T[], type: string, suffix = ""): T {
    const found = resources.filter((r) => r.type === type && r.name.endsWith(suffix));
    assert.strictEqual(found.length, 1, `expected one ${type} named *${suffix}, found ${found.length}`);
    return found[0];
}

/** Sets (or with `undefined`, deletes) a top-level property in both the inputs and the outputs. */
function setProperty(r: RecordedResource, key: string, value: unknown): void {
    for (const bag of [r.inputs, r.outputs]) {
        if (value === undefined) delete bag[key];
        else bag[key] = value;
    }
}

for (const stack of ["dev", "prod"]) {
    describe(`policies against the real program (${stack})`, () => {
        let resources: RecordedResource[];
        before(function () {
            this.timeout(180_000);
            resources = programResources(stack);
        });

        it("has zero violations and no policy error", async () => {
            const report = await check(resources);
            assert.deepStrictEqual(failing(report), {});
            assert.deepStrictEqual(report.verdicts.flatMap((v) => v.errors), []);
            assert.strictEqual(report.passed, true);
        });

        it("`npm run preview -- --json` carries the same verdict", () => {
            const doc = JSON.parse(preview(["--stack", stack, "--json", "--show-secrets", ...COMPLIANT_CONFIG]).stdout);
            assert.strictEqual(doc.policies.passed, true);
            assert.strictEqual(doc.policies.verdicts.length, policies.length);
            assert.ok(doc.resources.every((r: { dependsOn?: unknown }) => Array.isArray(r.dependsOn)));
        });

        it("actually applies the policies for what the program builds", async () => {
            const report = await check(resources);
            const applied = report.verdicts.filter((v) => !v.notApplicable).map((v) => v.policy);
            for (const name of [
                "servicebus-queue-deadletter-alert",
                "sqs-dead-letter-queue-depth-alarm",
                "eventbridge-target-retry-dlq",
                "iam-no-admin-or-full-access",
                "servicebus-namespace-entra-only-tls12",
                "entra-application-password-lifetime",
                "dynamodb-outbox-table-durability",
                "required-tags",
            ]) {
                assert.ok(applied.includes(name), `${name} did not apply to the ${stack} program`);
            }
            const tags = report.verdicts.find((v) => v.policy === "required-tags")!;
            assert.ok(tags.checked >= 10, `required-tags checked only ${tags.checked} resources`);
        });

        it("`npm run preview` prints the verdicts grouped by policy and exits 0", function () {
            this.timeout(180_000);
            const result = preview(["--stack", stack, "--policy-only", ...COMPLIANT_CONFIG]);
            assert.strictEqual(result.status, 0, result.stderr);
            assert.match(result.stdout, new RegExp(`Policies: pack "multicloud-mesh" \\(${policies.length} policies\\)`));
            assert.match(result.stdout, /PASS {2}servicebus-queue-deadletter-alert {2}\[mandatory\]/);
            assert.match(result.stdout, /Policy verdict: PASSED \(0 mandatory violations/);
            assert.doesNotMatch(result.stdout, /\+ azure-native:servicebus:Queue/, "--policy-only printed the resource tree");
        });
    });
}

describe("policies catch programs broken on purpose (mutations of the dev program)", () => {
    let dev: RecordedResource[];
    before(function () {
        this.timeout(180_000);
        dev = programResources("dev");
    });

    it("a Service Bus queue without its dead-letter alert: servicebus-queue-deadletter-alert, and only it", async () => {
        const broken = copy(dev).filter((r) => !(r.type === T.metricAlert && r.name.endsWith("-ingress-dlq-alert")));
        assert.strictEqual(broken.length, dev.length - 1);
        const report = await check(broken);
        assert.deepStrictEqual(Object.keys(failing(report)), ["servicebus-queue-deadletter-alert"]);
        assert.match(failing(report)["servicebus-queue-deadletter-alert"][0], /"mesh-events".*no dead-letter alert/);
        assert.strictEqual(report.passed, false);
    });

    it("the alert filtered to another queue: servicebus-queue-deadletter-alert", async () => {
        const broken = copy(dev);
        const alert = only(broken, T.metricAlert, "-ingress-dlq-alert");
        const criteria = alert.inputs.criteria as { allOf: { dimensions: { values: string[] }[] }[] };
        criteria.allOf[0].dimensions[0].values = ["some-other-queue"];
        setProperty(alert, "criteria", criteria);
        assert.deepStrictEqual(Object.keys(failing(await check(broken))), ["servicebus-queue-deadletter-alert"]);
    });

    it("an EventBridge target without a DLQ: eventbridge-target-retry-dlq, and only it", async () => {
        const broken = copy(dev);
        setProperty(only(broken, T.eventTarget, "-egress-target"), "deadLetterConfig", undefined);
        const report = await check(broken);
        assert.deepStrictEqual(Object.keys(failing(report)), ["eventbridge-target-retry-dlq"]);
        assert.match(failing(report)["eventbridge-target-retry-dlq"][0], /no deadLetterConfig\.arn/);
    });

    it("an EventBridge target that gives up after a minute: eventbridge-target-retry-dlq", async () => {
        const broken = copy(dev);
        setProperty(only(broken, T.eventTarget, "-egress-target"), "retryPolicy", { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 60 });
        assert.deepStrictEqual(Object.keys(failing(await check(broken))), ["eventbridge-target-retry-dlq"]);
    });

    it("the DLQ depth alarm removed: sqs-dead-letter-queue-depth-alarm, and only it", async () => {
        const dlqName = only(dev, T.sqsQueue, "-egress-dlq").outputs.name;
        const broken = copy(dev).filter(
            (r) => !(r.type === T.metricAlarm && r.inputs.metricName === "ApproximateNumberOfMessagesVisible" && (r.inputs.dimensions as { QueueName?: string })?.QueueName === dlqName),
        );
        assert.strictEqual(broken.length, dev.length - 1);
        const report = await check(broken);
        assert.deepStrictEqual(Object.keys(failing(report)), ["sqs-dead-letter-queue-depth-alarm"]);
        assert.match(failing(report)["sqs-dead-letter-queue-depth-alarm"][0], /dead-letter destination of EventTarget/);
    });

    it("an AdministratorAccess attachment on the target role: iam-no-admin-or-full-access, and only it", async () => {
        const broken = copy(dev);
        const role = only(broken, T.iamRole, "-egress-target-role");
        const type = T.iamRolePolicyAttachment;
        broken.push({
            ...copy(role),
            urn: urnOf(type, "mesh-dev-egress-target-admin"),
            type,
            name: "mesh-dev-egress-target-admin",
            inputs: { role: role.outputs.name, policyArn: "arn:aws:iam::aws:policy/AdministratorAccess" },
            outputs: { role: role.outputs.name, policyArn: "arn:aws:iam::aws:policy/AdministratorAccess", id: "admin" },
            dependsOn: [role.urn],
        });
        const report = await check(broken);
        assert.deepStrictEqual(Object.keys(failing(report)), ["iam-no-admin-or-full-access"]);
        assert.match(failing(report)["iam-no-admin-or-full-access"][0], /AdministratorAccess/);
    });

    it('"Action": "*" in the target role\'s inline policy: iam-no-admin-or-full-access', async () => {
        const broken = copy(dev);
        setProperty(only(broken, T.iamRolePolicy, "-egress-target-invoke"), "policy", JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }));
        assert.deepStrictEqual(Object.keys(failing(await check(broken))), ["iam-no-admin-or-full-access"]);
    });

    it("a Service Bus namespace with SAS on: servicebus-namespace-entra-only-tls12, and only it", async () => {
        const broken = copy(dev);
        setProperty(only(broken, T.serviceBusNamespace), "disableLocalAuth", false);
        const report = await check(broken);
        assert.deepStrictEqual(Object.keys(failing(report)), ["servicebus-namespace-entra-only-tls12"]);
        assert.match(failing(report)["servicebus-namespace-entra-only-tls12"][0], /disableLocalAuth is false/);
    });

    it("the outbox table without point-in-time recovery: dynamodb-outbox-table-durability, and only it", async () => {
        const broken = copy(dev);
        setProperty(only(broken, T.dynamodbTable, "-outbox-table"), "pointInTimeRecovery", { enabled: false });
        assert.deepStrictEqual(Object.keys(failing(await check(broken))), ["dynamodb-outbox-table-durability"]);
    });

    it("AWS tags come from the provider's defaultTags: a resource without its own tags passes, and fails once defaultTags go", async () => {
        const untagged = copy(dev);
        setProperty(only(untagged, T.sqsQueue, "-egress-dlq"), "tags", undefined);
        assert.deepStrictEqual(failing(await check(untagged)), {});
        const provider = only(untagged, "pulumi:providers:aws");
        setProperty(provider, "defaultTags", undefined);
        const report = await check(untagged);
        assert.deepStrictEqual(Object.keys(failing(report)), ["required-tags"]);
        const violations = report.verdicts.find((v) => v.policy === "required-tags")!.violations;
        const dlq = only(untagged, T.sqsQueue, "-egress-dlq");
        assert.ok(violations.some((v) => v.urn === dlq.urn), "the untagged queue was not reported");
        // Everything else reported relies on defaultTags alone too (sets no tags of its own).
        for (const v of violations) assert.ok(!untagged.find((r) => r.urn === v.urn)!.inputs.tags, `${v.resourceName} has its own tags`);
    });

    it("a policy's enforcement level comes from the pack config: advisory violations do not fail the run", async () => {
        const broken = copy(dev);
        setProperty(only(broken, T.serviceBusNamespace), "disableLocalAuth", false);
        const report = await runPolicies(broken, { config: { ...OFFLINE_CONFIG, "servicebus-namespace-entra-only-tls12": "advisory" } });
        assert.strictEqual(report.mandatoryViolations, 0);
        assert.strictEqual(report.advisoryViolations, 1);
        assert.strictEqual(report.passed, true);
        const disabled = await runPolicies(broken, { config: { ...OFFLINE_CONFIG, "servicebus-namespace-entra-only-tls12": { enforcementLevel: "disabled" } } });
        assert.deepStrictEqual(failing(disabled), {});
    });
});

describe("npm run preview fails the stack when a mandatory policy is violated", function () {
    this.timeout(180_000);
    // The pack config, not the program's config, makes the real program violate a policy here, so the
    // test holds whatever the program's own settings are: no client secret may live a single day.
    const strict = ["--policy-config", "entra-application-password-lifetime.maximumLifetimeDays=1"];

    it("a violation: exit 3, the policy FAILs with the resource and the reason, nothing else fails", () => {
        const result = preview(["--stack", "dev", "--policy-only", "--no-diagram", ...COMPLIANT_CONFIG, ...strict]);
        assert.strictEqual(result.status, 3, result.stdout + result.stderr);
        assert.match(result.stdout, /FAIL {2}entra-application-password-lifetime {2}\[mandatory\]/);
        assert.match(result.stdout, /✗ azuread:index\/applicationPassword:ApplicationPassword .*: lifetime \d+ days exceeds the maximum of 1 days/);
        assert.strictEqual((result.stdout.match(/^ {2}FAIL/gm) ?? []).length, 1);
        assert.match(result.stdout, /Policy verdict: FAILED \(\d+ mandatory violations?,/);
    });

    it("the same violation at advisory level is printed (WARN) but does not fail the stack", () => {
        const result = preview(["--stack", "dev", "--policy-only", "--no-diagram", ...COMPLIANT_CONFIG, ...strict, "--policy-config", "entra-application-password-lifetime=advisory"]);
        assert.strictEqual(result.status, 0, result.stdout + result.stderr);
        assert.match(result.stdout, /WARN {2}entra-application-password-lifetime {2}\[advisory\]/);
        assert.match(result.stdout, /Policy verdict: PASSED \(0 mandatory violations, [1-9]\d* advisory/);
    });
});
