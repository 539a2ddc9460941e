/**
 * Small edits of a recorded program (the mock engine's records of `npm run preview`), the way a
 * pull request would change the program's inputs. Each edit names the resource it changes by type
 * and role suffix, and fails loudly when the program no longer has it: a mutant that silently
 * edits nothing would count as caught for the wrong reason or pass for the wrong reason.
 */
import type { RecordedResource } from "../mock-engine";

export type Program = RecordedResource[];

/** The one resource of `type` whose logical name ends with `suffix`. */
export function one(program: Program, type: string, suffix = ""): RecordedResource {
    const found = program.filter((r) => r.type === type && r.name.endsWith(suffix));
    if (found.length !== 1) throw new Error(`mutant does not apply: expected one ${type} named *${suffix}, found ${found.length}`);
    return found[0];
}

export function all(program: Program, type: string): RecordedResource[] {
    const found = program.filter((r) => r.type === type);
    if (found.length === 0) throw new Error(`mutant does not apply: no ${type} in the program`);
    return found;
}

/** Sets (`undefined`: deletes) a property by path in both the inputs and the recorded outputs, as a changed program input would. */
export function set(r: RecordedResource, path: string, value: unknown): void {
    const keys = path.split(".");
    for (const bag of [r.inputs, r.outputs]) {
        let node: Record<string, unknown> = bag;
        for (const key of keys.slice(0, -1)) {
            if (node[key] === undefined || node[key] === null || typeof node[key] !== "object") node[key] = {};
            node = node[key] as Record<string, unknown>;
        }
        const last = keys[keys.length - 1];
        if (value === undefined) delete node[last];
        else node[last] = clone(value);
    }
}

/** A property by path from the inputs (throws when absent, so an edit never builds on nothing). */
export function get<T = unknown>(r: RecordedResource, path: string): T {
    let node: unknown = r.inputs;
    for (const key of path.split(".")) {
        if (node === null || typeof node !== "object" || !(key in (node as object))) throw new Error(`mutant does not apply: ${r.name} has no ${path}`);
        node = (node as Record<string, unknown>)[key];
    }
    return node as T;
}

/** Edits an IAM / queue policy document held as a JSON string property. */
export function editDocument(r: RecordedResource, property: string, edit: (doc: { Statement: Record<string, unknown>[] }) => void): void {
    const doc = JSON.parse(get<string>(r, property));
    edit(doc);
    set(r, property, JSON.stringify(doc));
}

export function remove(program: Program, r: RecordedResource): void {
    const i = program.indexOf(r);
    if (i < 0) throw new Error(`mutant does not apply: ${r.name} is not in the program`);
    program.splice(i, 1);
    for (const other of program) other.dependsOn = other.dependsOn.filter((u) => u !== r.urn);
}

/** Adds a resource next to `sibling` (same parent, provider and stack), with outputs echoing its inputs. */
export function add(program: Program, sibling: RecordedResource, type: string, name: string, inputs: Record<string, unknown>, dependsOn: RecordedResource[] = []): RecordedResource {
    const [stackPart, projectPart] = sibling.urn.split("::");
    const r: RecordedResource = {
        urn: `${stackPart}::${projectPart}::${type}::${name}`,
        type,
        name,
        parent: sibling.parent,
        provider: sibling.provider,
        custom: true,
        inputs: clone(inputs),
        secretInputs: [],
        protect: false,
        dependsOn: dependsOn.map((d) => d.urn),
        outputs: { ...clone(inputs), id: `${name}-id` },
        secretOutputs: [],
    };
    program.push(r);
    return r;
}

/** The stack's root resource; its outputs are the stack outputs. */
export function stackResource(program: Program): RecordedResource {
    return one(program, "pulumi:pulumi:Stack");
}

export function clone<T>(value: T): T {
    return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}
