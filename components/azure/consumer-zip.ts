import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import * as pulumi from "@pulumi/pulumi";

/** One file of a package: its path inside the archive (forward slashes) and its bytes. */
export interface PackageFile {
    name: string;
    data: Buffer;
}

/**
 * Every file of a Pulumi archive as the provider would pack it: StringAssets become files,
 * FileAssets and FileArchives (folders) are read from disk, nested AssetArchives become folders.
 */
export async function archiveFiles(archive: pulumi.asset.Archive, prefix = ""): Promise<PackageFile[]> {
    if (!(archive instanceof pulumi.asset.AssetArchive)) {
        throw new Error(`consumer package: only AssetArchives can be packed, got ${archive.constructor.name}`);
    }
    const files: PackageFile[] = [];
    for (const [name, entry] of Object.entries(await archive.assets)) {
        const at = prefix ? `${prefix}/${name}` : name;
        if (entry instanceof pulumi.asset.StringAsset) {
            files.push({ name: at, data: Buffer.from(await entry.text, "utf8") });
        } else if (entry instanceof pulumi.asset.FileAsset) {
            files.push({ name: at, data: fs.readFileSync(await entry.path) });
        } else if (entry instanceof pulumi.asset.FileArchive) {
            files.push(...readTree(path.resolve(await entry.path), at));
        } else if (pulumi.asset.Archive.isInstance(entry)) {
            files.push(...(await archiveFiles(entry, at)));
        } else {
            throw new Error(`consumer package: entry ${at} is a ${(entry as object).constructor.name}, which cannot be packed`);
        }
    }
    return files;
}

function readTree(root: string, at: string): PackageFile[] {
    const stat = fs.statSync(root);
    if (!stat.isDirectory()) return [{ name: at, data: fs.readFileSync(root) }];
    return fs.readdirSync(root).flatMap((child) => readTree(path.join(root, child), `${at}/${child}`));
}

const CRC_TABLE = (() => {
    const table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
        let c = n;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
        table[n] = c >>> 0;
    }
    return table;
})();

export function crc32(data: Buffer): number {
    let crc = 0xffffffff;
    for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
    return (crc ^ 0xffffffff) >>> 0;
}

// DOS date of 1980-01-01 00:00: the same bytes on every machine and every day, so the same files
// always give the same package and the same hash (the deployment only re-uploads on new code).
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
const UTF8_NAMES = 1 << 11;
const DEFLATE = 8;

/**
 * A deterministic ZIP (PKWARE APPNOTE 6.3: local headers, deflated data, central directory,
 * end record; no ZIP64): entries sorted by name, fixed timestamps, Unix mode 0644. Refuses what
 * plain ZIP cannot hold instead of writing a broken archive.
 */
export function zipFiles(input: PackageFile[]): Buffer {
    // The module paths Pulumi computes can name a nested package both on its own and inside its
    // parent folder: the same file twice is packed once; two different files under one name are an error.
    const byName = new Map<string, PackageFile>();
    for (const f of input) {
        const earlier = byName.get(f.name);
        if (earlier && !earlier.data.equals(f.data)) throw new Error(`consumer package: two different files named ${f.name}`);
        byName.set(f.name, f);
    }
    const files = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (files.length > 0xffff) throw new Error(`consumer package: ${files.length} files, more than a ZIP without ZIP64 holds (65535)`);
    const locals: Buffer[] = [];
    const centrals: Buffer[] = [];
    let offset = 0;
    for (const file of files) {
        const name = Buffer.from(file.name, "utf8");
        const compressed = zlib.deflateRawSync(file.data, { level: 9 });
        const crc = crc32(file.data);
        const local = Buffer.alloc(30);
        local.writeUInt32LE(0x04034b50, 0);
        local.writeUInt16LE(20, 4);
        local.writeUInt16LE(UTF8_NAMES, 6);
        local.writeUInt16LE(DEFLATE, 8);
        local.writeUInt16LE(DOS_TIME, 10);
        local.writeUInt16LE(DOS_DATE, 12);
        local.writeUInt32LE(crc, 14);
        local.writeUInt32LE(compressed.length, 18);
        local.writeUInt32LE(file.data.length, 22);
        local.writeUInt16LE(name.length, 26);
        local.writeUInt16LE(0, 28);
        locals.push(local, name, compressed);

        const central = Buffer.alloc(46);
        central.writeUInt32LE(0x02014b50, 0);
        central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, spec 2.0
        central.writeUInt16LE(20, 6);
        central.writeUInt16LE(UTF8_NAMES, 8);
        central.writeUInt16LE(DEFLATE, 10);
        central.writeUInt16LE(DOS_TIME, 12);
        central.writeUInt16LE(DOS_DATE, 14);
        central.writeUInt32LE(crc, 16);
        central.writeUInt32LE(compressed.length, 20);
        central.writeUInt32LE(file.data.length, 24);
        central.writeUInt16LE(name.length, 28);
        central.writeUInt32LE(((0o100644 << 16) >>> 0), 38);
        central.writeUInt32LE(offset, 42);
        centrals.push(central, name);

        offset += local.length + name.length + compressed.length;
        if (offset > 0xffffffff) throw new Error("consumer package: larger than 4 GiB, more than a ZIP without ZIP64 holds");
    }
    const directory = Buffer.concat(centrals);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(files.length, 8);
    end.writeUInt16LE(files.length, 10);
    end.writeUInt32LE(directory.length, 12);
    end.writeUInt32LE(offset, 16);
    return Buffer.concat([...locals, directory, end]);
}

export interface WrittenPackage {
    /** Where the ZIP was written (content-addressed, so an unchanged package is not rewritten). */
    path: string;
    /** SHA-256 of the ZIP, hex: what the deployment compares to decide whether to upload. */
    sha256: string;
    bytes: number;
}

/**
 * Packs `archive` into `dir` as `<prefix>-<key prefix>.zip` (any Functions app's package; the
 * consumer's by default), where `key` identifies the
 * package's content (consumer-package.ts: the serialized closure, the generated files and the
 * pinned package versions). A ZIP already written for the same key is reused — packing ~9000
 * files costs seconds on every preview — and its SHA-256 is taken from its bytes either way.
 */
export async function writeConsumerZip(archive: pulumi.asset.Archive, dir: string, key: string, prefix = "mesh-consumer"): Promise<WrittenPackage> {
    fs.mkdirSync(dir, { recursive: true });
    const target = path.join(dir, `${prefix}-${key.slice(0, 32)}.zip`);
    if (!fs.existsSync(target)) {
        const zip = zipFiles(await archiveFiles(archive));
        // Write then rename: a concurrent run never sees half a package under the final name.
        const partial = `${target}.${process.pid}.partial`;
        fs.writeFileSync(partial, zip);
        fs.renameSync(partial, target);
    }
    const zip = fs.readFileSync(target);
    return { path: target, sha256: crypto.createHash("sha256").update(zip).digest("hex"), bytes: zip.length };
}
