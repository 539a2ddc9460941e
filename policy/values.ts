/**
 * Reading resource properties the way CrossGuard hands them to a policy.
 *
 * During `pulumi preview` a property that depends on another resource's output is not known yet. The
 * engine sends it as one of Pulumi's "unknown" sentinel strings, and CrossGuard wraps the properties
 * in a proxy that throws `UnknownValueError` when such a property is read. A policy that reads
 * `props.foo.bar` directly therefore either crashes on a missing `foo` or is downgraded to an
 * advisory "can't run during preview". Every read in this pack goes through `read()` instead: a
 * missing value is `undefined`, an unknown one is `UNKNOWN`, and the policy decides what each means.
 */

/** A value that only becomes known once the resources it depends on exist (preview). */
export const UNKNOWN: unique symbol = Symbol("unknown during preview");
export type Unknown = typeof UNKNOWN;

/** The sentinels of @pulumi/policy's proxy (and of the Pulumi engine's wire format) for unknown values. */
const UNKNOWN_SENTINELS = new Set([
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", // boolean
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421", // number
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9", // string
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", // array
    "030794c1-ac77-496b-92df-f27374a8bd58", // asset
    "e48ece36-62e2-4504-bad9-02848725956a", // archive
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff", // object
]);

export function isUnknown(value: unknown): value is Unknown {
    return value === UNKNOWN || (typeof value === "string" && UNKNOWN_SENTINELS.has(value));
}

function isUnknownValueError(err: unknown): boolean {
    // Compared by name as well: the pack's own node_modules may hold a second copy of @pulumi/policy.
    return err instanceof Error && (err.name === "UnknownValueError" || err.constructor?.name === "UnknownValueError");
}

/**
 * `obj[path[0]][path[1]]...`, never throwing: `undefined` when any step is missing or not an object,
 * `UNKNOWN` when any step is an unknown value.
 */
export function read(obj: unknown, ...path: (string | number)[]): unknown {
    let current: unknown = obj;
    for (const key of path) {
        if (isUnknown(current)) return UNKNOWN;
        if (current === null || current === undefined || typeof current !== "object") return undefined;
        try {
            current = (current as Record<string | number, unknown>)[key];
        } catch (err) {
            if (isUnknownValueError(err)) return UNKNOWN;
            throw err;
        }
    }
    return isUnknown(current) ? UNKNOWN : current;
}

/** Whether `key` is present on `obj` (even with an undefined or unknown value). */
export function has(obj: unknown, key: string): boolean {
    return obj !== null && typeof obj === "object" && Object.prototype.hasOwnProperty.call(obj, key);
}

/** The elements of an array property: `[]` when missing, `UNKNOWN` when the array itself is unknown. */
export function list(value: unknown): unknown[] | Unknown {
    if (isUnknown(value)) return UNKNOWN;
    if (!Array.isArray(value)) return [];
    const items: unknown[] = [];
    for (let i = 0; i < value.length; i++) items.push(read(value, i));
    return items;
}

/** The entries of a map property (tags, app settings): `{}` when missing, `UNKNOWN` when unknown. */
export function entries(value: unknown): [string, unknown][] | Unknown {
    if (isUnknown(value)) return UNKNOWN;
    if (value === null || typeof value !== "object" || Array.isArray(value)) return [];
    return Object.keys(value).map((key) => [key, read(value, key)]);
}

/**
 * A JSON document property (IAM policies, redrive policies, provider settings): the parsed value,
 * `UNKNOWN` when not known yet, `undefined` when missing or not valid JSON. Objects pass through.
 */
export function json(value: unknown): unknown {
    if (isUnknown(value)) return UNKNOWN;
    if (typeof value === "string") {
        // A document built by interpolating outputs may embed an unknown sentinel.
        for (const sentinel of UNKNOWN_SENTINELS) if (value.includes(sentinel)) return UNKNOWN;
        try {
            return JSON.parse(value);
        } catch {
            return undefined;
        }
    }
    return value ?? undefined;
}

/** A string property, or `undefined` / `UNKNOWN`. Non-strings count as missing. */
export function str(value: unknown): string | Unknown | undefined {
    if (isUnknown(value)) return UNKNOWN;
    return typeof value === "string" ? value : undefined;
}

/** A readable rendering of a value for violation messages. */
export function show(value: unknown): string {
    if (value === UNKNOWN) return "(unknown)";
    if (value === undefined) return "(not set)";
    return JSON.stringify(value);
}
