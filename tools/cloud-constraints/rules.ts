/**
 * The vocabulary of the cloud-constraints check: what a rule is, and small constructors for the
 * kinds the clouds document (name pattern and length, enum, range, mutually exclusive settings,
 * create-only properties). Rules live in one file per cloud service next to this one; each cites
 * its source beside it. The engine that applies them is in ./engine.ts.
 */

/** A resource as the offline engine recorded it (tools/mock-engine.ts RecordedResource, narrowed). */
export interface ConstrainedResource {
    type: string;
    /** Logical (Pulumi) name: the base of every auto-name. */
    name: string;
    inputs: Record<string, unknown>;
    /** Registration options that decide what a changed create-only property does. */
    replaceOnChanges?: string[];
    deleteBeforeReplace?: boolean;
    custom?: boolean;
    /** Provider-computed state (mocked): used to find a resource by the id another one refers to. */
    outputs?: Record<string, unknown>;
}

export interface Violation {
    type: string;
    name: string;
    /** Property path in the resource's inputs (`criteria.allOf[0].timeAggregation`); `(auto-name)` marks a name the provider would choose. */
    path: string;
    value: unknown;
    rule: string;
    source: string;
}

/** What a rule can ask about the rest of the program. */
export interface RuleContext {
    /** True when a value (or any string inside it) is only known after a provider computed it. */
    isComputed(value: unknown): boolean;
    /** The recorded resource whose provider id is `id` (case-insensitive, as ARM ids are). */
    byId(id: unknown): ConstrainedResource | undefined;
    /** Resources of a type. */
    ofType(type: string): ConstrainedResource[];
}

/** How a provider names a resource whose name input the program leaves out. */
export type Autoname =
    /** azure-native `AutoNameRandom`: logical name + 8 random hex characters, no separator (provider/pkg/provider/provider.go getDefaultName). */
    | "azure-random"
    /** azure-native `AutoNameUuid`: a random UUID, whatever the logical name. */
    | "azure-uuid"
    /** pulumi-aws (terraform bridge AutoName): logical name + "-" + 7 random hex characters. */
    | "aws"
    /** The provider does not name it: the program must. */
    | "none";

/** A check of one value: returns undefined when the value is acceptable, else what is wrong. */
export type ValueTest = (value: unknown, resource: ConstrainedResource, ctx: RuleContext) => string | undefined;

export interface ValueRule {
    kind: "value";
    /** Dot path; `[]` walks every element of an array (`criteria.allOf[].operator`). */
    path: string;
    rule: string;
    source: string;
    test: ValueTest;
    /**
     * The rule looks at the value's structure (a JSON document's shape and size), which is known at
     * preview even where provider-computed ids sit inside it: check it anyway.
     */
    structural?: boolean;
}

/** A rule over several properties (mutually exclusive settings, cross-resource facts). */
export interface ResourceRule {
    kind: "resource";
    rule: string;
    source: string;
    /** Returns the offending property paths and values; empty when the resource complies. */
    check(resource: ConstrainedResource, ctx: RuleContext): Array<{ path: string; value: unknown; detail?: string }>;
}

/**
 * A property the cloud API refuses to change after creation. When the provider's own schema already
 * replaces the resource on a change (`providerForcesNew`), nothing is demanded and the rule only
 * documents the fact; otherwise the program must list the property in `replaceOnChanges` (and, for a
 * resource whose name is fixed, set `deleteBeforeReplace`), or the next change fails in the cloud.
 */
export interface CreateOnlyRule {
    kind: "createOnly";
    path: string;
    providerForcesNew: boolean;
    rule: string;
    source: string;
    /** Only applies when this holds (e.g. clusteringPolicy is updatable from NoCluster). */
    when?: (value: unknown, resource: ConstrainedResource) => boolean;
    /** Name input that, when set explicitly, makes create-before-delete impossible. */
    fixedNameInput?: string;
}

export type Rule = ValueRule | ResourceRule | CreateOnlyRule;

export interface NameSpec {
    /** The input that carries the cloud name (`accountName`, `name`). */
    path: string;
    autoname: Autoname;
    rules: Array<{ rule: string; source: string; test: (name: string) => boolean }>;
}

export interface TypeConstraints {
    type: string;
    /** The API (and version) the provider calls for this type: the first thing a reader checks. */
    api: string;
    name?: NameSpec;
    rules: Rule[];
}

/** A type the check deliberately has no rules for, with the reason (components, local providers). */
export interface Exemption {
    /** Exact type token, or a prefix ending in `*`. */
    type: string;
    reason: string;
}

// ---- constructors -------------------------------------------------------------------------------

const show = (v: unknown) => JSON.stringify(v);

export function oneOf(path: string, values: readonly (string | number | boolean)[], source: string): ValueRule {
    return {
        kind: "value",
        path,
        rule: `must be one of ${values.map(show).join(", ")}`,
        source,
        test: (v) => (values.includes(v as string) ? undefined : "not an allowed value"),
    };
}

export function range(path: string, min: number, max: number, source: string, unit = ""): ValueRule {
    return {
        kind: "value",
        path,
        rule: `must be an integer from ${min} to ${max}${unit ? ` ${unit}` : ""}`,
        source,
        test: (v) => (typeof v === "number" && Number.isInteger(v) && v >= min && v <= max ? undefined : "out of range"),
    };
}

export function matches(path: string, pattern: RegExp, rule: string, source: string): ValueRule {
    return { kind: "value", path, rule, source, test: (v) => (typeof v === "string" && pattern.test(v) ? undefined : "does not match") };
}

export function maxLength(path: string, max: number, source: string): ValueRule {
    return {
        kind: "value",
        path,
        rule: `at most ${max} characters`,
        source,
        test: (v) => (typeof v === "string" && v.length <= max ? undefined : "too long"),
    };
}

export function check(path: string, rule: string, source: string, test: ValueTest): ValueRule {
    return { kind: "value", path, rule, source, test };
}

export function resourceRule(rule: string, source: string, fn: ResourceRule["check"]): ResourceRule {
    return { kind: "resource", rule, source, check: fn };
}

/** At most one of these top-level-or-nested paths may be set (truthy for booleans). */
export function exclusive(paths: string[], source: string, rule?: string): ResourceRule {
    return resourceRule(rule ?? `at most one of ${paths.join(", ")} may be set`, source, (r) => {
        const set = paths.map((p) => ({ path: p, value: getPath(r.inputs, p) })).filter((e) => e.value !== undefined && e.value !== false && e.value !== null);
        return set.length > 1 ? set : [];
    });
}

/** Each of these paths must be set (the API answers 400 for a PUT without them). */
export function required(paths: string[], source: string): ResourceRule {
    return resourceRule(`required: ${paths.join(", ")}`, source, (r) =>
        paths.filter((p) => getPath(r.inputs, p) === undefined || getPath(r.inputs, p) === "").map((p) => ({ path: p, value: undefined, detail: `${p} is missing` })),
    );
}

export function createOnly(path: string, providerForcesNew: boolean, source: string, extra: Partial<CreateOnlyRule> = {}): CreateOnlyRule {
    const rule = providerForcesNew
        ? "create-only in the API; the provider already replaces the resource when it changes"
        : `create-only in the API and the provider would update it in place: list "${path}" in replaceOnChanges${extra.fixedNameInput ? " and set deleteBeforeReplace (the name is fixed)" : ""}`;
    return { kind: "createOnly", path, providerForcesNew, rule, source, ...extra };
}

/** A name rule: pattern plus, optionally, a length window, worded as the docs word it. */
export function nameRule(rule: string, source: string, test: (name: string) => boolean) {
    return { rule, source, test };
}

export function lengthBetween(min: number, max: number, source: string) {
    return nameRule(`${min}-${max} characters`, source, (n) => n.length >= min && n.length <= max);
}

// ---- paths --------------------------------------------------------------------------------------

/** One level of a dot path: the value at `a.b` (no arrays). */
export function getPath(root: unknown, path: string): unknown {
    let cur: unknown = root;
    for (const key of path.split(".")) {
        if (cur === null || typeof cur !== "object") return undefined;
        cur = (cur as Record<string, unknown>)[key];
    }
    return cur;
}

/** Every value a path with `[]` reaches, with its concrete path (`a.b[2].c`). */
export function resolvePath(root: unknown, path: string): Array<{ path: string; value: unknown }> {
    let frontier: Array<{ path: string; value: unknown }> = [{ path: "", value: root }];
    for (const part of path.split(".")) {
        const isArray = part.endsWith("[]");
        const key = isArray ? part.slice(0, -2) : part;
        const next: Array<{ path: string; value: unknown }> = [];
        for (const { path: at, value } of frontier) {
            if (value === null || typeof value !== "object") continue;
            const child = (value as Record<string, unknown>)[key];
            const here = at ? `${at}.${key}` : key;
            if (child === undefined) continue;
            if (isArray) {
                if (Array.isArray(child)) child.forEach((item, i) => next.push({ path: `${here}[${i}]`, value: item }));
            } else {
                next.push({ path: here, value: child });
            }
        }
        frontier = next;
    }
    return frontier;
}

/** Seconds in an ISO 8601 duration (`P3D`, `PT1M`, `P1DT2H`); undefined when it is not one. */
export function isoSeconds(value: unknown): number | undefined {
    if (typeof value !== "string") return undefined;
    const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(value);
    if (!m || value === "P" || value.endsWith("T")) return undefined;
    return (Number(m[1] ?? 0) * 86400) + (Number(m[2] ?? 0) * 3600) + (Number(m[3] ?? 0) * 60) + Number(m[4] ?? 0);
}

export function durationBetween(path: string, minSeconds: number, maxSeconds: number, rule: string, source: string): ValueRule {
    return check(path, rule, source, (v) => {
        const s = isoSeconds(v);
        return s !== undefined && s >= minSeconds && s <= maxSeconds ? undefined : "out of range or not an ISO 8601 duration";
    });
}
