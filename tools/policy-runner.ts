/**
 * Runs the CrossGuard policies of policy/ offline, against the resources the mock engine recorded,
 * the way the Pulumi engine's analyzer would:
 *
 * - resource policies (`validateResource`) get each custom resource's inputs as `props`, wrapped in
 *   @pulumi/policy's unknown-checking proxy, with its provider's inputs, options and `getConfig`;
 * - stack policies (`validateStack`) get every resource with its outputs as `props` (the mocks
 *   resolve every output, as after `pulumi up`), its parent and its dependencies. A provider's
 *   state echoes the inputs it was given, so inputs are laid over the mocked outputs: the mocks
 *   invent some outputs generically (e.g. an `arn` for every AWS type, even where `arn` is an
 *   input, as on an EventBridge target) and the inputs are what the program asked for;
 * - enforcement levels and config come from the pack config over each policy's own level and its
 *   configSchema defaults; `remediate` counts as mandatory, `disabled` skips the policy;
 * - `notApplicable()` is counted, an `UnknownValueError` becomes an advisory "can't run" as in
 *   CrossGuard, and any other exception is reported as an error (a policy must never crash).
 *
 * What differs from the engine: the mock engine does not record per-property dependencies, so
 * `propertyDependencies` is empty and policies fall back to `dependencies` (which include them).
 */
import type {
    EnforcementLevel,
    Policies,
    PolicyConfigSchema,
    PolicyPackConfig,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { unknownCheckingProxy } from "@pulumi/policy";
import type { RecordedResource } from "./mock-engine";
import { PACK_ENFORCEMENT_LEVEL, PACK_NAME, policies as packPolicies } from "../policy/policies";

export interface PolicyViolation {
    policy: string;
    enforcementLevel: EnforcementLevel;
    message: string;
    /** The resource in violation; undefined when a stack policy blames the stack as a whole. */
    urn?: string;
    resourceType?: string;
    resourceName?: string;
}

export interface PolicyVerdict {
    policy: string;
    description: string;
    enforcementLevel: EnforcementLevel;
    kind: "resource" | "stack";
    /** Resource policies: resources it applied to. Stack policies: 1 when it applied, else 0. */
    checked: number;
    /** Why it did not apply (stack policies, or a resource policy that applied to nothing). */
    notApplicable?: string;
    violations: PolicyViolation[];
    /** Exceptions a policy threw: a defect in the policy, counted as failing. */
    errors: string[];
    /** "can't run during preview" notes (unknown values read without `read()`). */
    advisories: string[];
}

export interface PolicyReport {
    pack: string;
    verdicts: PolicyVerdict[];
    mandatoryViolations: number;
    advisoryViolations: number;
    errors: number;
    /** True when nothing blocks: no mandatory violation and no policy error. */
    passed: boolean;
}

export interface RunPoliciesOptions {
    policies?: Policies;
    /** Pack config as `pulumi preview --policy-config` takes it: per policy a level or `{ enforcementLevel?, ...config }`. */
    config?: PolicyPackConfig;
    packEnforcementLevel?: EnforcementLevel;
    stackTags?: Record<string, string>;
}

class NotApplicable extends Error {
    constructor(readonly reason: string) {
        super(reason);
    }
}

const notApplicable = (reason?: string): never => {
    throw new NotApplicable(reason ?? "not applicable");
};

function isTypeOf(type: string, resourceClass: unknown): boolean {
    const token = (resourceClass as { __pulumiType?: unknown })?.__pulumiType;
    return typeof token === "string" && token === type;
}

function levelOf(policy: { name: string; enforcementLevel?: EnforcementLevel }, options: RunPoliciesOptions): EnforcementLevel {
    const entry = options.config?.[policy.name];
    const configured = typeof entry === "string" ? entry : entry?.enforcementLevel;
    return configured ?? policy.enforcementLevel ?? options.packEnforcementLevel ?? PACK_ENFORCEMENT_LEVEL;
}

/** The policy's config: schema defaults, overridden by the pack config (minus enforcementLevel). */
export function policyConfig(policy: { name: string; configSchema?: PolicyConfigSchema }, config?: PolicyPackConfig): Record<string, unknown> {
    const result: Record<string, unknown> = {};
    for (const [key, schema] of Object.entries(policy.configSchema?.properties ?? {})) {
        if (schema.default !== undefined) result[key] = clone(schema.default);
    }
    const entry = config?.[policy.name];
    if (entry && typeof entry === "object") {
        for (const [key, value] of Object.entries(entry)) if (key !== "enforcementLevel") result[key] = value;
    }
    return result;
}

function options(resource: RecordedResource): PolicyResourceOptions {
    return {
        protect: resource.protect,
        ignoreChanges: [],
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: [],
        ...(resource.parent ? { parent: resource.parent } : {}),
    };
}

/** A deep copy of plain data, so a policy cannot change the recorded run; assets and other objects are shared. */
function clone<T>(value: T): T {
    if (Array.isArray(value)) return value.map(clone) as T;
    if (value !== null && typeof value === "object") {
        const proto = Object.getPrototypeOf(value);
        if (proto === Object.prototype || proto === null) {
            return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clone(v)])) as T;
        }
    }
    return value;
}

function describeError(err: unknown): string {
    return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** Runs every policy of the pack (or `options.policies`) against one program run. */
export async function runPolicies(resources: RecordedResource[], opts: RunPoliciesOptions = {}): Promise<PolicyReport> {
    const policies = opts.policies ?? packPolicies;
    const stackTags: ReadonlyMap<string, string> = new Map(Object.entries(opts.stackTags ?? {}));
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    // A provider reference is "<provider urn>::<provider id>".
    const providerOf = (r: RecordedResource) => {
        if (!r.provider) return undefined;
        const urn = r.provider.slice(0, r.provider.lastIndexOf("::"));
        const p = byUrn.get(urn);
        return p ? { type: p.type, props: unknownCheckingProxy(clone(p.inputs)), urn: p.urn, name: p.name } : undefined;
    };
    const customs = resources.filter((r) => r.custom);

    const verdicts: PolicyVerdict[] = [];
    for (const policy of policies) {
        const level = levelOf(policy, opts);
        const isStack = "validateStack" in policy && typeof (policy as StackValidationPolicy).validateStack === "function";
        const verdict: PolicyVerdict = {
            policy: policy.name,
            description: policy.description,
            enforcementLevel: level === "remediate" ? "mandatory" : level,
            kind: isStack ? "stack" : "resource",
            checked: 0,
            violations: [],
            errors: [],
            advisories: [],
        };
        verdicts.push(verdict);
        if (level === "disabled") continue;
        const getConfig = <T extends object>() => policyConfig(policy, opts.config) as T;

        if (isStack) {
            const wrapped = new Map<string, PolicyResource>();
            for (const r of resources) {
                const props = unknownCheckingProxy(clone({ ...(r.outputs ?? {}), ...r.inputs }));
                wrapped.set(r.urn, {
                    type: r.type,
                    props,
                    urn: r.urn,
                    name: r.name,
                    opts: options(r),
                    provider: providerOf(r),
                    dependencies: [],
                    propertyDependencies: {},
                    isType: (cls) => isTypeOf(r.type, cls),
                    asType: ((cls: unknown) => (isTypeOf(r.type, cls) ? props : undefined)) as PolicyResource["asType"],
                });
            }
            for (const r of resources) {
                const w = wrapped.get(r.urn)!;
                if (r.parent && wrapped.has(r.parent)) w.parent = wrapped.get(r.parent);
                w.dependencies = [...new Set(r.dependsOn)].map((u) => wrapped.get(u)).filter((d): d is PolicyResource => d !== undefined);
            }
            const args: StackValidationArgs = { resources: [...wrapped.values()], stackTags, getConfig, notApplicable };
            try {
                await (policy as StackValidationPolicy).validateStack(args, (message, urn) => {
                    const r = urn ? byUrn.get(urn) : undefined;
                    verdict.violations.push({ policy: policy.name, enforcementLevel: verdict.enforcementLevel, message, urn, resourceType: r?.type, resourceName: r?.name });
                });
                verdict.checked = 1;
            } catch (err) {
                if (err instanceof NotApplicable) verdict.notApplicable = err.reason;
                else if (err instanceof Error && err.name === "UnknownValueError") verdict.advisories.push(`can't run during preview: ${err.message}`);
                else verdict.errors.push(describeError(err));
            }
            continue;
        }

        const validations = (policy as ResourceValidationPolicy).validateResource;
        const list = validations === undefined ? [] : Array.isArray(validations) ? validations : [validations];
        for (const r of customs) {
            let applied = false;
            for (const validate of list) {
                const props = unknownCheckingProxy(clone(r.inputs));
                const args: ResourceValidationArgs = {
                    type: r.type,
                    props,
                    urn: r.urn,
                    name: r.name,
                    opts: options(r),
                    provider: providerOf(r),
                    stackTags,
                    isType: (cls) => isTypeOf(r.type, cls),
                    asType: ((cls: unknown) => (isTypeOf(r.type, cls) ? props : undefined)) as ResourceValidationArgs["asType"],
                    getConfig,
                    notApplicable,
                };
                try {
                    await validate(args, (message) => {
                        verdict.violations.push({ policy: policy.name, enforcementLevel: verdict.enforcementLevel, message, urn: r.urn, resourceType: r.type, resourceName: r.name });
                    });
                    applied = true;
                } catch (err) {
                    if (err instanceof NotApplicable) continue;
                    applied = true;
                    if (err instanceof Error && err.name === "UnknownValueError") verdict.advisories.push(`${r.type} ${r.name}: can't run during preview: ${err.message}`);
                    else verdict.errors.push(`${r.type} ${r.name}: ${describeError(err)}`);
                }
            }
            if (applied) verdict.checked++;
        }
        if (verdict.checked === 0) verdict.notApplicable = "no resource of the types it checks";
    }

    const count = (level: EnforcementLevel) => verdicts.reduce((n, v) => n + v.violations.filter((x) => x.enforcementLevel === level).length, 0);
    const mandatoryViolations = count("mandatory");
    const errors = verdicts.reduce((n, v) => n + v.errors.length, 0);
    return { pack: PACK_NAME, verdicts, mandatoryViolations, advisoryViolations: count("advisory"), errors, passed: mandatoryViolations === 0 && errors === 0 };
}

/** The report as text, grouped by policy. */
export function formatPolicyReport(report: PolicyReport, stack: string): string {
    const lines: string[] = [];
    lines.push(`Policies: pack "${report.pack}" (${report.verdicts.length} policies) against stack "${stack}", offline`);
    for (const v of report.verdicts) {
        const status =
            v.enforcementLevel === "disabled"
                ? "OFF "
                : v.errors.length > 0
                  ? "ERR "
                  : v.violations.length > 0
                    ? v.enforcementLevel === "mandatory"
                        ? "FAIL"
                        : "WARN"
                    : v.notApplicable
                      ? "n/a "
                      : "PASS";
        const scope = v.notApplicable ? `not applicable: ${v.notApplicable}` : v.kind === "stack" ? "stack policy" : `${v.checked} resource${v.checked === 1 ? "" : "s"} checked`;
        lines.push(`  ${status}  ${v.policy}  [${v.enforcementLevel}]  ${scope}`);
        for (const x of v.violations) {
            lines.push(`          ✗ ${x.resourceType ? `${x.resourceType}  ${x.resourceName}: ` : ""}${x.message}`);
        }
        for (const e of v.errors) lines.push(`          ! policy error: ${e}`);
        for (const a of v.advisories) lines.push(`          ~ ${a}`);
    }
    const summary = `${report.mandatoryViolations} mandatory violation${report.mandatoryViolations === 1 ? "" : "s"}, ${report.advisoryViolations} advisory, ${report.errors} policy error${report.errors === 1 ? "" : "s"}`;
    lines.push(`Policy verdict: ${report.passed ? "PASSED" : "FAILED"} (${summary})`);
    return lines.join("\n");
}
