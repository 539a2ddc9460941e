import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";

import { policies, POLICY_CLASSES, T } from "../../policy/policies";
import { runPolicies } from "../../tools/policy-runner";
import { resource, UNKNOWN_OBJECT, UNKNOWN_STRING, urnOf } from "./support";


describe("policies: the pack as a whole", () => {
    it("has uniquely named policies, each with name, description, enforcement level and remediation", () => {
        assert.strictEqual(new Set(policies.map((p) => p.name)).size, policies.length);
        for (const p of policies) {
            assert.ok(p.description.length > 20, p.name);
            assert.ok(p.enforcementLevel, p.name);
            assert.ok(p.remediationSteps && p.remediationSteps.length > 20, p.name);
        }
    });

    it("docs/policies.md lists every policy with its class, level and when it acts, in pack order", () => {
        const doc = fs.readFileSync(path.resolve(__dirname, "..", "..", "docs", "policies.md"), "utf8");
        const rows = [...doc.matchAll(/^\| `([^`]+)` \| ([a-z ]+) \| (\w+) \| (before creation|after the update) \|/gm)].map((m) => m.slice(1, 5));
        const expected = POLICY_CLASSES.flatMap(([cls, list]) =>
            list.map((p) => [p.name, cls, p.enforcementLevel, "validateStack" in p ? "after the update" : "before creation"]),
        );
        assert.deepStrictEqual(rows, expected);
    });

    it("never throws on missing properties or on values unknown during preview", async () => {
        // Every property any policy reads, each once missing and once unknown, on every type the pack knows.
        const keys = [
            "criteria", "scopes", "actions", "enabled", "queueName", "namespaceName", "name", "arn", "deadLetterConfig", "retryPolicy", "redrivePolicy",
            "destinationConfig", "eventSourceArn", "bisectBatchOnFunctionError", "functionResponseTypes", "maximumRetryAttempts", "policy", "policyArn",
            "managedPolicyArns", "inlinePolicies", "disableLocalAuth", "minimumTlsVersion", "enableNonSslPort", "clientProtocol", "endDate",
            "endDateRelative", "startDate", "rotateWhenChanged", "hashKey", "streamEnabled", "streamViewType", "pointInTimeRecovery",
            "serverSideEncryption", "httpsOnly", "siteConfig", "properties", "runtime", "packageType", "tags", "tagsAll", "metricQueries",
            "dimensions", "namespace", "metricName", "alarmActions", "actionsEnabled", "threshold", "comparisonOperator",
            "authConfig", "configurationName", "value", "assumeRolePolicy", "eventPattern", "rule", "eventBusName", "queueUrl", "startingPosition",
        ];
        const unknown = Object.fromEntries(keys.map((k) => [k, UNKNOWN_OBJECT]));
        const unknownNested = {
            criteria: { allOf: [{ metricName: "DeadletteredMessages", dimensions: UNKNOWN_OBJECT }] },
            deadLetterConfig: { arn: UNKNOWN_STRING },
            retryPolicy: { maximumRetryAttempts: UNKNOWN_STRING },
            siteConfig: { appSettings: [{ name: "x", value: UNKNOWN_STRING }] },
            tags: { "mesh:project": UNKNOWN_STRING, "mesh:stack": UNKNOWN_STRING },
            policy: `{"Statement":[{"Effect":"Allow","Action":"${UNKNOWN_STRING}"}]}`,
        };
        const resources = Object.values(T).flatMap((type, i) => [
            resource(type, `missing-${i}`, {}),
            resource(type, `unknown-${i}`, unknown, { outputs: unknown }),
            resource(type, `nested-${i}`, unknownNested, { outputs: unknownNested, dependsOn: [urnOf(type, `missing-${i}`)] }),
        ]);
        const report = await runPolicies(resources);
        for (const v of report.verdicts) {
            assert.deepStrictEqual(v.errors, [], `${v.policy} threw`);
            assert.deepStrictEqual(v.advisories, [], `${v.policy} read an unknown value without read()`);
        }
        // Missing required settings are violations, not silence.
        assert.ok(report.mandatoryViolations > 10, `only ${report.mandatoryViolations} violations for resources missing every setting`);
    });
});
