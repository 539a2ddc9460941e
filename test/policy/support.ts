import * as assert from "assert";
import type { PolicyPackConfig } from "@pulumi/policy";
import type { RecordedResource } from "../../tools/mock-engine";
import { PolicyVerdict, runPolicies } from "../../tools/policy-runner";
import { policies } from "../../policy/policies";
import { preview } from "../support/offline-preview";

/** Pulumi's sentinels for values unknown during preview, as the engine sends them. */
export const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
export const UNKNOWN_OBJECT = "dd056dcd-154b-4c76-9bd3-c8f88648b5ff";
export const UNKNOWN_BOOLEAN = "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7";

export const urnOf = (type: string, name: string) => `urn:pulumi:test::multicloud-mesh::${type}::${name}`;

/** A recorded resource as the mock engine would record it; outputs default to the inputs. */
export function resource(
    type: string,
    name: string,
    inputs: Record<string, unknown>,
    extra: { outputs?: Record<string, unknown>; dependsOn?: string[]; provider?: string; custom?: boolean } = {},
): RecordedResource {
    return {
        urn: urnOf(type, name),
        type,
        name,
        provider: extra.provider,
        custom: extra.custom ?? true,
        inputs,
        secretInputs: [],
        protect: false,
        dependsOn: extra.dependsOn ?? [],
        outputs: { ...inputs, ...(extra.outputs ?? {}) },
        secretOutputs: [],
    };
}

/** The verdict of one policy (by name) on these resources. */
export async function verdictOf(policyName: string, resources: RecordedResource[], config?: PolicyPackConfig): Promise<PolicyVerdict> {
    const policy = policies.find((p) => p.name === policyName);
    if (!policy) throw new Error(`no policy ${policyName}`);
    const report = await runPolicies(resources, { policies: [policy], config });
    return report.verdicts[0];
}

export const messages = (v: PolicyVerdict) => v.violations.map((x) => x.message);

import { COMPLIANT_CONFIG } from "../../tools/policy-mutants/run";

export { COMPLIANT_CONFIG };

/** The real program's resources for a stack, from `npm run preview -- --stack <s> --json --show-secrets` with COMPLIANT_CONFIG (cached). */
export function programResources(stack: string): RecordedResource[] {
    const result = preview(["--stack", stack, "--json", "--show-secrets", ...COMPLIANT_CONFIG]);
    if (result.status !== 0) throw new Error(`preview --stack ${stack} failed (${result.status}):\n${result.stderr}`);
    // Shallow copies: the preview result is cached and shared between tests.
    return result.resources.map((r) => ({ ...r }));
}

/** A deep copy, so each broken program starts from the real one. */
export const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

export const RG = "/subscriptions/s/resourceGroups/rg";

export function assertPasses(v: Awaited<ReturnType<typeof verdictOf>>) {
    assert.deepStrictEqual(v.errors, [], "policy threw");
    assert.deepStrictEqual(messages(v), []);
    assert.strictEqual(v.notApplicable, undefined, "policy did not apply");
}

export function assertFails(v: Awaited<ReturnType<typeof verdictOf>>, pattern: RegExp) {
    assert.deepStrictEqual(v.errors, [], "policy threw");
    assert.ok(messages(v).some((m) => pattern.test(m)), `expected a violation matching ${pattern}, got ${JSON.stringify(messages(v))}`);
}

