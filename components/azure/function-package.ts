import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

/** A Functions app package as the host expects it at wwwroot, and what identifies its content. */
export interface FunctionPackage {
    archive: pulumi.asset.AssetArchive;
    /** SHA-256 over what the package is made of: a new value means new code (it names the ZIP, consumer-zip.ts). */
    contentHash: Promise<string>;
}

export interface FunctionPackageSpec {
    /** File the serialized closure becomes (the entry file requires it), e.g. `consumer.js`. */
    closureFile: string;
    /** Factory whose result is exported as `handler` (serialized like a Lambda closure). */
    factory: () => unknown;
    /** npm packages the closure loads at run time: the only node_modules packed. */
    runtimePackages: readonly string[];
    /** Generated files (host.json, package.json, index.js) by name. */
    files: Record<string, string>;
}

function rootDependencies(): Record<string, string> {
    const root = JSON.parse(fs.readFileSync(path.join(process.cwd(), "package.json"), "utf8")) as { dependencies?: Record<string, string> };
    return root.dependencies ?? {};
}

/** package.json of a Functions app: the runtime packages at the versions the program pins. */
export function functionPackageJson(name: string, runtimePackages: readonly string[]): string {
    const pinned = rootDependencies();
    const dependencies = Object.fromEntries(runtimePackages.map((p) => [p, pinned[p] ?? "*"]));
    return JSON.stringify({ name, version: "1.0.0", private: true, main: "index.js", dependencies }, null, 2);
}

/**
 * Builds a Functions app package: the generated files, the closure serialized with
 * pulumi.runtime.serializeFunction (exactly as for a Lambda), and only the node_modules of
 * `runtimePackages`. The content hash covers the closure text, the files and the pinned versions of
 * the packed packages (the lockfile pins them), so an unchanged program gives the same hash.
 */
export function buildFunctionPackage(spec: FunctionPackageSpec): FunctionPackage {
    const serialized = pulumi.runtime.serializeFunction(spec.factory, { exportName: "handler", isFactoryFunction: true, allowSecrets: false });
    const excluded = Object.keys(rootDependencies()).filter((p) => !spec.runtimePackages.includes(p));
    const modules = pulumi.runtime.computeCodePaths({ extraExcludePackages: excluded });
    const files = spec.files;
    const assets: Promise<Record<string, pulumi.asset.Asset | pulumi.asset.Archive>> = Promise.all([serialized, modules]).then(([fn, paths]) => {
        const all: Record<string, pulumi.asset.Asset | pulumi.asset.Archive> = { [spec.closureFile]: new pulumi.asset.StringAsset(fn.text) };
        for (const [name, text] of Object.entries(files)) all[name] = new pulumi.asset.StringAsset(text);
        for (const [p, asset] of paths) all[p] = asset;
        return all;
    });
    const contentHash = Promise.all([serialized, modules]).then(([fn, paths]) => {
        const hash = crypto.createHash("sha256");
        hash.update(fn.text);
        for (const name of Object.keys(files).sort()) hash.update(name).update(files[name]);
        for (const p of [...paths.keys()].sort()) {
            const manifest = path.join(p, "package.json");
            hash.update(p).update(fs.existsSync(manifest) ? (JSON.parse(fs.readFileSync(manifest, "utf8")).version ?? "") : "");
        }
        return hash.digest("hex");
    });
    return { archive: new pulumi.asset.AssetArchive(assets as any), contentHash };
}
