/** Facts several AWS rule files share. */
import { check, nameRule, resourceRule, ValueRule } from "./rules";

export const API = (service: string, page: string) => `docs.aws.amazon.com/${service}/latest/APIReference/${page}`;

/** An IAM-style policy document: JSON with Version 2012-10-17 and a Statement. */
export function policyDocument(path: string, maxChars: number, source: string): ValueRule {
    return { structural: true, ...policyCheck(path, maxChars, source) };
}

function policyCheck(path: string, maxChars: number, source: string): ValueRule {
    return check(path, `a JSON policy document (Version "2012-10-17", Statement) of at most ${maxChars} characters`, source, (v) => {
        if (typeof v !== "string") return undefined;
        if (v.length > maxChars) return "too long";
        try {
            const doc = JSON.parse(v) as { Version?: unknown; Statement?: unknown };
            return doc.Version === "2012-10-17" && doc.Statement !== undefined ? undefined : "no Version 2012-10-17 or no Statement";
        } catch {
            return "not JSON";
        }
    });
}

export const nameChars = (rule: string, source: string, pattern: RegExp, min: number, max: number) => [
    nameRule(`${min}-${max} characters`, source, (n: string) => n.length >= min && n.length <= max),
    nameRule(rule, source, (n: string) => pattern.test(n)),
];

/** A JSON event pattern: parses, and is an object. */
export const eventPattern = (path: string, source: string) =>
    check(path, "a JSON object (EventBridge event pattern) of at most 4096 characters", source, (v) => {
        if (typeof v !== "string") return undefined;
        if (v.length > 4096) return "too long";
        try {
            const p = JSON.parse(v) as unknown;
            return p !== null && typeof p === "object" && !Array.isArray(p) ? undefined : "not an object";
        } catch {
            return "not JSON";
        }
    });

export const arnOf = (service: string) => new RegExp(`^arn:aws[a-z-]*:${service}:`);

export { resourceRule };
