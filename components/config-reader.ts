/**
 * Typed access to raw configuration values for components/config.ts: defaults from CONFIG_DEFAULTS,
 * every bad value recorded as a problem naming its key instead of thrown, so all are reported at once.
 */
import { CONFIG_DEFAULTS, ConfigKey, key } from "./config-defaults";
import type { ConfigSource } from "./config-types";

/** Typed access to raw values with defaults; records a problem instead of throwing. */
export class Reader {
    constructor(
        private readonly source: ConfigSource,
        private readonly problems: string[],
    ) {}

    string(name: ConfigKey, valid: (v: string) => boolean, allowed: string): string {
        const raw = this.source.get(name);
        const value = raw ?? String(CONFIG_DEFAULTS[name]);
        if (!valid(value)) {
            this.problems.push(`${key(name)}: ${JSON.stringify(value)} is not allowed; expected ${allowed}`);
        }
        return value;
    }

    oneOf<T extends string>(name: ConfigKey, allowed: readonly T[]): T {
        const value = this.source.get(name) ?? String(CONFIG_DEFAULTS[name]);
        if (!(allowed as readonly string[]).includes(value)) {
            this.problems.push(`${key(name)}: ${JSON.stringify(value)} is not allowed; expected one of ${allowed.join(", ")}`);
        }
        return value as T;
    }

    integer(name: ConfigKey, min: number, max: number): number {
        const raw = this.source.get(name);
        const fallback = CONFIG_DEFAULTS[name] as number;
        if (raw === undefined) {
            return fallback;
        }
        const value = Number(raw.trim());
        if (raw.trim() === "" || !Number.isInteger(value) || value < min || value > max) {
            this.problems.push(`${key(name)}: ${JSON.stringify(raw)} is not allowed; expected an integer from ${min} to ${max}`);
            return fallback;
        }
        return value;
    }

    boolean(name: ConfigKey): boolean {
        const raw = this.source.get(name);
        if (raw === undefined) {
            return CONFIG_DEFAULTS[name] as boolean;
        }
        if (raw !== "true" && raw !== "false") {
            this.problems.push(`${key(name)}: ${JSON.stringify(raw)} is not allowed; expected true or false`);
            return CONFIG_DEFAULTS[name] as boolean;
        }
        return raw === "true";
    }

    /** The list, or undefined (with a problem recorded) when the value is not a list of strings. */
    stringList(name: ConfigKey): string[] | undefined {
        const raw = this.source.get(name);
        if (raw === undefined) {
            return [...(CONFIG_DEFAULTS[name] as readonly string[])];
        }
        let parsed: unknown;
        try {
            parsed = JSON.parse(raw);
        } catch {
            this.problems.push(`${key(name)}: ${JSON.stringify(raw)} is not a list; expected a YAML/JSON list of strings`);
            return undefined;
        }
        if (!Array.isArray(parsed) || parsed.some((v) => typeof v !== "string")) {
            this.problems.push(`${key(name)}: expected a list of strings, got ${JSON.stringify(parsed)}`);
            return undefined;
        }
        return parsed as string[];
    }
}
