/**
 * Turns the Pulumi archives a program builds (a Lambda's closure package, a Functions app package)
 * into files, exactly as the provider would zip them: StringAssets become files, FileAssets and
 * FileArchives are copied from where they are, nested AssetArchives become folders. The preview
 * uses it to report each archive's size and to write it out for inspection; the tests load the
 * written archives in a fresh Node process and invoke them.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

export interface ArchiveSize {
    files: number;
    bytes: number;
}

type Entry = pulumi.asset.Asset | pulumi.asset.Archive;

function isArchive(value: unknown): value is pulumi.asset.Archive {
    return pulumi.asset.Archive.isInstance(value);
}

export function containsArchive(value: unknown): boolean {
    return isArchive(value);
}

async function entriesOf(archive: pulumi.asset.Archive): Promise<Array<[string, Entry]>> {
    if (archive instanceof pulumi.asset.AssetArchive) {
        return Object.entries(await archive.assets);
    }
    throw new Error(`only AssetArchives are written out; got ${archive.constructor.name}`);
}

function walkFiles(target: string, visit: (file: string, bytes: number) => void): void {
    const stat = fs.statSync(target);
    if (stat.isDirectory()) {
        for (const child of fs.readdirSync(target)) walkFiles(path.join(target, child), visit);
    } else {
        visit(target, stat.size);
    }
}

/** Writes `archive` under `dir`, which must not exist yet or be empty. Returns what was written. */
export async function writeArchive(archive: pulumi.asset.Archive, dir: string): Promise<ArchiveSize> {
    const size: ArchiveSize = { files: 0, bytes: 0 };
    fs.mkdirSync(dir, { recursive: true });
    for (const [name, entry] of await entriesOf(archive)) {
        const target = path.join(dir, name);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        if (entry instanceof pulumi.asset.StringAsset) {
            const text = await entry.text;
            fs.writeFileSync(target, text);
            size.files += 1;
            size.bytes += Buffer.byteLength(text);
        } else if (entry instanceof pulumi.asset.FileAsset || entry instanceof pulumi.asset.FileArchive) {
            const source = path.resolve(await entry.path);
            fs.cpSync(source, target, { recursive: true, dereference: true });
            walkFiles(target, (_, bytes) => {
                size.files += 1;
                size.bytes += bytes;
            });
        } else if (isArchive(entry)) {
            const nested = await writeArchive(entry, target);
            size.files += nested.files;
            size.bytes += nested.bytes;
        } else {
            throw new Error(`archive entry ${name} is a ${(entry as object).constructor.name}, which the offline engine cannot write`);
        }
    }
    return size;
}

/** Size of an archive without writing it. */
export async function measureArchive(archive: pulumi.asset.Archive): Promise<ArchiveSize> {
    const size: ArchiveSize = { files: 0, bytes: 0 };
    for (const [name, entry] of await entriesOf(archive)) {
        if (entry instanceof pulumi.asset.StringAsset) {
            size.files += 1;
            size.bytes += Buffer.byteLength(await entry.text);
        } else if (entry instanceof pulumi.asset.FileAsset || entry instanceof pulumi.asset.FileArchive) {
            walkFiles(path.resolve(await entry.path), (_, bytes) => {
                size.files += 1;
                size.bytes += bytes;
            });
        } else if (isArchive(entry)) {
            const nested = await measureArchive(entry);
            size.files += nested.files;
            size.bytes += nested.bytes;
        } else {
            throw new Error(`archive entry ${name} is a ${(entry as object).constructor.name}, which the offline engine cannot measure`);
        }
    }
    return size;
}

export function formatSize(size: ArchiveSize): string {
    const mb = size.bytes / (1024 * 1024);
    return `archive of ${size.files} files, ${mb >= 1 ? `${mb.toFixed(1)} MB` : `${(size.bytes / 1024).toFixed(1)} KB`}`;
}
