/**
 * Applies the cloud-constraints rules to the resources a program run recorded. Pure: no Pulumi, no
 * cloud; the same function runs in `npm run preview` and in the tests.
 */
import { Autoname, ConstrainedResource, Exemption, resolvePath, RuleContext, TypeConstraints, Violation } from "./rules";

export interface ConstraintReport {
    violations: Violation[];
    /** Values the rules would have checked but that only a provider computes at deployment. */
    skippedComputed: Array<{ type: string; name: string; path: string }>;
    /** How many values (names included) were checked against a rule. */
    checkedValues: number;
    /** Auto-names the check modelled because the program left the name to the provider. */
    autoNames: Array<{ type: string; name: string; path: string; modelled: string }>;
    /** Create-only properties that are safe because the provider itself replaces on change. */
    providerForcesNew: Array<{ type: string; name: string; path: string }>;
    /** Types with no rules that are exempt, and why. */
    exempt: Array<{ type: string; reason: string }>;
    /**
     * Top-level inputs the program sets that no rule of their type looks at (tags, location and the
     * names of parents, which are checked where they originate, are not listed): what stays unchecked.
     */
    unchecked: Array<{ type: string; keys: string[] }>;
}

/** Inputs no cloud constrains beyond what their own resource checks, or that only route the request. */
const NOT_CONSTRAINED = new Set(["tags", "location", "__defaults"]);

const topKey = (path: string) => path.split(".")[0].replace(/\[\]$/, "");

/** Top-level input keys a type's rules look at. */
function coveredKeys(constraints: TypeConstraints, resource: ConstrainedResource, hitPaths: string[]): Set<string> {
    const covered = new Set<string>(hitPaths.map(topKey));
    if (constraints.name) covered.add(constraints.name.path);
    for (const rule of constraints.rules) {
        if (rule.kind === "resource") {
            for (const key of Object.keys(resource.inputs)) if (new RegExp(`\\b${key}\\b`).test(rule.rule)) covered.add(key);
        } else covered.add(topKey(rule.path));
    }
    return covered;
}

/** A stand-in for the random part of an auto-name: its characters are hex, so any hex is as good. */
const AZURE_RANDOM_SUFFIX = "0a1b2c3d";
const AWS_RANDOM_SUFFIX = "-0a1b2c3";
const UUID = "0a1b2c3d-4e5f-4a1b-8c2d-3e4f5a6b7c8d";

export function modelAutoName(autoname: Autoname, logicalName: string): string | undefined {
    switch (autoname) {
        case "azure-random":
            return `${logicalName}${AZURE_RANDOM_SUFFIX}`;
        case "azure-uuid":
            return UUID;
        case "aws":
            return `${logicalName}${AWS_RANDOM_SUFFIX}`;
        case "none":
            return undefined;
    }
}

/** Cloud providers whose mocked outputs are invented; random/time outputs follow the providers' documented shape. */
const INVENTING_PROVIDERS = ["aws:", "azure-native:", "azuread:"];

/**
 * Strings that exist only because the mocks invented a provider-computed output (ids, ARNs,
 * auto-names, principal ids). A value containing one is unknown at a real preview, so it is skipped.
 */
function inventedStrings(resources: ConstrainedResource[]): Set<string> {
    const invented = new Set<string>();
    const collect = (value: unknown, inputs: Set<string>) => {
        if (typeof value === "string") {
            if (value.length >= 6 && !inputs.has(value)) invented.add(value);
        } else if (Array.isArray(value)) value.forEach((v) => collect(v, inputs));
        else if (value && typeof value === "object") Object.values(value).forEach((v) => collect(v, inputs));
    };
    for (const r of resources) {
        if (!r.custom || !INVENTING_PROVIDERS.some((p) => r.type.startsWith(p)) || !r.outputs) continue;
        const inputStrings = new Set<string>();
        const gather = (v: unknown) => {
            if (typeof v === "string") inputStrings.add(v);
            else if (Array.isArray(v)) v.forEach(gather);
            else if (v && typeof v === "object") Object.values(v).forEach(gather);
        };
        gather(r.inputs);
        for (const [key, value] of Object.entries(r.outputs)) {
            if (key in r.inputs && JSON.stringify(r.inputs[key]) === JSON.stringify(value)) continue;
            collect(value, inputStrings);
        }
    }
    return invented;
}

function makeContext(resources: ConstrainedResource[]): RuleContext {
    const invented = [...inventedStrings(resources)];
    const isComputed = (value: unknown): boolean => {
        if (typeof value === "string") return invented.some((s) => value.includes(s));
        if (Array.isArray(value)) return value.some(isComputed);
        if (value && typeof value === "object") return Object.values(value).some(isComputed);
        return false;
    };
    return {
        isComputed,
        byId: (id) => (typeof id === "string" ? resources.find((r) => typeof r.outputs?.id === "string" && (r.outputs.id as string).toLowerCase() === id.toLowerCase()) : undefined),
        ofType: (type) => resources.filter((r) => r.type === type),
    };
}

function exemptionFor(type: string, exemptions: Exemption[]): Exemption | undefined {
    return exemptions.find((e) => (e.type.endsWith("*") ? type.startsWith(e.type.slice(0, -1)) : e.type === type));
}

const listed = (list: string[] | undefined, path: string) => (list ?? []).some((p) => p === "*" || p === path || path.startsWith(`${p}.`));

export function checkResources(resources: ConstrainedResource[], catalog: TypeConstraints[], exemptions: Exemption[]): ConstraintReport {
    const ctx = makeContext(resources);
    const byType = new Map(catalog.map((c) => [c.type, c]));
    const report: ConstraintReport = { violations: [], skippedComputed: [], checkedValues: 0, autoNames: [], providerForcesNew: [], exempt: [], unchecked: [] };
    const exemptSeen = new Set<string>();
    // A parent's name on a child (namespaceName on a queue) is checked on the parent.
    const parentNames = new Set(catalog.flatMap((c) => (c.name ? [c.name.path] : [])));
    const unchecked = new Map<string, Set<string>>();

    for (const r of resources) {
        const constraints = byType.get(r.type);
        if (!constraints) {
            const exemption = exemptionFor(r.type, exemptions);
            if (exemption) {
                if (!exemptSeen.has(r.type)) report.exempt.push({ type: r.type, reason: exemption.reason });
                exemptSeen.add(r.type);
                continue;
            }
            report.violations.push({
                type: r.type,
                name: r.name,
                path: "(type)",
                value: r.type,
                rule: `no constraints known for ${r.type}: add its rules to tools/cloud-constraints/ (or an exemption with the reason)`,
                source: "docs/cloud-constraints.md",
            });
            continue;
        }
        const hitPaths: string[] = [];
        const violate = (path: string, value: unknown, rule: string, source: string) => {
            hitPaths.push(path);
            report.violations.push({ type: r.type, name: r.name, path, value, rule, source });
        };

        if (constraints.name) {
            const spec = constraints.name;
            let value = r.inputs[spec.path];
            let path = spec.path;
            let modelledName = false;
            if (value === undefined) {
                const modelled = modelAutoName(spec.autoname, r.name);
                if (modelled === undefined) {
                    violate(spec.path, undefined, "the provider does not auto-name this resource: the program must set the name", constraints.api);
                    value = undefined;
                } else {
                    report.autoNames.push({ type: r.type, name: r.name, path: spec.path, modelled });
                    value = modelled;
                    modelledName = true;
                    path = `${spec.path} (auto-name: ${autonameWords(spec.autoname)})`;
                }
            }
            if (typeof value === "string") {
                // A modelled auto-name is known by construction, even where the mocks invented the same string.
                if (!modelledName && ctx.isComputed(value)) report.skippedComputed.push({ type: r.type, name: r.name, path });
                else {
                    report.checkedValues++;
                    for (const rule of spec.rules) if (!rule.test(value)) violate(path, value, `name: ${rule.rule}`, rule.source);
                }
            }
        }

        for (const rule of constraints.rules) {
            if (rule.kind === "value") {
                for (const { path, value } of resolvePath(r.inputs, rule.path)) {
                    if (value === undefined || value === null) continue;
                    if (!rule.structural && ctx.isComputed(value)) {
                        report.skippedComputed.push({ type: r.type, name: r.name, path });
                        continue;
                    }
                    report.checkedValues++;
                    const problem = rule.test(value, r, ctx);
                    if (problem !== undefined) violate(path, value, rule.rule, rule.source);
                }
            } else if (rule.kind === "resource") {
                report.checkedValues++;
                for (const hit of rule.check(r, ctx)) violate(hit.path, hit.value, hit.detail ? `${rule.rule} (${hit.detail})` : rule.rule, rule.source);
            } else {
                for (const { path, value } of resolvePath(r.inputs, rule.path)) {
                    if (value === undefined || (rule.when && !rule.when(value, r))) continue;
                    report.checkedValues++;
                    if (rule.providerForcesNew) {
                        report.providerForcesNew.push({ type: r.type, name: r.name, path });
                        continue;
                    }
                    const replaced = listed(r.replaceOnChanges, rule.path.replace(/\[\]/g, "[*]")) || listed(r.replaceOnChanges, rule.path);
                    const fixedName = rule.fixedNameInput !== undefined && r.inputs[rule.fixedNameInput] !== undefined;
                    if (!replaced || (fixedName && !r.deleteBeforeReplace)) violate(path, value, rule.rule, rule.source);
                }
            }
        }
        const covered = coveredKeys(constraints, r, hitPaths);
        const missing = Object.keys(r.inputs).filter((k) => r.inputs[k] !== undefined && !covered.has(k) && !NOT_CONSTRAINED.has(k) && !parentNames.has(k));
        if (missing.length > 0) {
            const set = unchecked.get(r.type) ?? new Set<string>();
            missing.forEach((k) => set.add(k));
            unchecked.set(r.type, set);
        }
    }
    report.unchecked = [...unchecked].map(([type, keys]) => ({ type, keys: [...keys].sort() }));
    return report;
}

function autonameWords(autoname: Autoname): string {
    switch (autoname) {
        case "azure-random":
            return "logical name + 8 random hex characters";
        case "azure-uuid":
            return "a random UUID";
        case "aws":
            return 'logical name + "-" + 7 random hex characters';
        case "none":
            return "none";
    }
}

export function formatViolation(v: Violation): string {
    return `${v.type} "${v.name}": ${v.path} = ${JSON.stringify(v.value)} violates: ${v.rule}  [source: ${v.source}]`;
}
