/**
 * Mutants as source patches: each replaces one line's worth of the program's own code (the most
 * realistic weakening: exactly what a pull request would change) in a temporary copy of the
 * program, previews the copy offline and runs the pack on what it records. A patch whose text is
 * no longer in the program fails loudly as "does not apply" (the program moved on; update the
 * patch), never passes. About 10 s per patch: only `npm run policy:mutants -- --full` runs them.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runPolicies } from "../policy-runner";
import type { MutantClass } from "./catalogue";
import { CaseResult, judgeMutant, MUTANT_POLICY_CONFIG, previewProgram } from "./run";

const ROOT = path.resolve(__dirname, "..", "..");

export interface SourcePatch {
    id: string;
    class: MutantClass;
    policy: string;
    stacks: ("dev" | "prod")[];
    file: string;
    find: string;
    replace: string;
}

export const SOURCE_PATCHES: SourcePatch[] = [
    { id: "src-queue-drops-expired", class: "1 delivery path", policy: "servicebus-queue-dead-letter-settings", stacks: ["dev"], file: "components/azure/service-bus-ingress.ts", find: "deadLetteringOnMessageExpiration: true", replace: "deadLetteringOnMessageExpiration: false" },
    { id: "src-target-dlq-removed", class: "1 delivery path", policy: "eventbridge-target-retry-dlq", stacks: ["prod"], file: "components/aws/event-egress.ts", find: "deadLetterConfig: { arn: deadLetterQueue.arn },", replace: "" },
    { id: "src-relay-no-bisect", class: "1 delivery path", policy: "lambda-dynamodb-stream-mapping-failure-handling", stacks: ["dev"], file: "components/aws/outbox-relay.ts", find: "bisectBatchOnFunctionError: true", replace: "bisectBatchOnFunctionError: false" },
    { id: "src-relay-parks-anywhere", class: "3 access", policy: "iam-no-admin-or-full-access", stacks: ["prod"], file: "components/aws/outbox-relay.ts", find: 'Action: "sqs:SendMessage", Resource: queueArn', replace: 'Action: "sqs:*", Resource: "*"' },
    { id: "src-egress-dlq-unencrypted", class: "4 transport", policy: "sqs-queue-encrypted", stacks: ["dev"], file: "components/aws/event-egress.ts", find: "sqsManagedSseEnabled: true,", replace: "sqsManagedSseEnabled: false," },
    { id: "src-namespace-sas", class: "4 transport", policy: "servicebus-namespace-entra-only-tls12", stacks: ["prod"], file: "components/azure/service-bus-ingress.ts", find: "disableLocalAuth: true,", replace: "disableLocalAuth: false," },
];

/** A copy of the program (sources only; node_modules linked) under a temp folder. */
function copyProgram(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "policy-mutant-"));
    for (const entry of fs.readdirSync(ROOT)) {
        if (entry === "node_modules" || entry.startsWith(".") || entry === "test" || entry === "docs") continue;
        fs.cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
    }
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
    return dir;
}

export async function runSourcePatches(stacks: ("dev" | "prod")[]): Promise<CaseResult[]> {
    const results: CaseResult[] = [];
    for (const patch of SOURCE_PATCHES) {
        for (const stack of patch.stacks.filter((s) => stacks.includes(s))) {
            const dir = copyProgram();
            try {
                const file = path.join(dir, patch.file);
                const source = fs.readFileSync(file, "utf8");
                if (!source.includes(patch.find)) throw new Error(`${patch.file} no longer contains ${JSON.stringify(patch.find)}`);
                fs.writeFileSync(file, source.replace(patch.find, patch.replace));
                const report = await runPolicies(previewProgram(stack, dir), { config: MUTANT_POLICY_CONFIG });
                results.push(judgeMutant(patch, stack, report));
            } catch (err) {
                results.push({ id: patch.id, stack, kind: "mutant", ok: false, detail: `does not apply: ${(err as Error).message}` });
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        }
    }
    return results;
}
