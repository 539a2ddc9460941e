import * as zlib from "zlib";

/**
 * Reads a ZIP through its central directory (PKWARE APPNOTE 6.3), independently of the writer in
 * components/azure/consumer-zip.ts: the end record gives the directory, each directory entry the
 * local header, each local header the data. Stored and deflated entries; no ZIP64.
 */
export function readZip(zip: Buffer): Map<string, Buffer> {
    let end = -1;
    for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
        if (zip.readUInt32LE(i) === 0x06054b50) {
            end = i;
            break;
        }
    }
    if (end < 0) throw new Error("not a ZIP: no end of central directory record");
    const count = zip.readUInt16LE(end + 10);
    let at = zip.readUInt32LE(end + 16);
    const files = new Map<string, Buffer>();
    for (let n = 0; n < count; n++) {
        if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`bad central directory entry ${n}`);
        const method = zip.readUInt16LE(at + 10);
        const compressedSize = zip.readUInt32LE(at + 20);
        const size = zip.readUInt32LE(at + 24);
        const nameLength = zip.readUInt16LE(at + 28);
        const extraLength = zip.readUInt16LE(at + 30);
        const commentLength = zip.readUInt16LE(at + 32);
        const local = zip.readUInt32LE(at + 42);
        const name = zip.subarray(at + 46, at + 46 + nameLength).toString("utf8");
        if (zip.readUInt32LE(local) !== 0x04034b50) throw new Error(`bad local header for ${name}`);
        const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
        const raw = zip.subarray(dataStart, dataStart + compressedSize);
        const data = method === 0 ? Buffer.from(raw) : method === 8 ? zlib.inflateRawSync(raw) : undefined;
        if (!data) throw new Error(`${name}: compression method ${method} not read here`);
        if (data.length !== size) throw new Error(`${name}: ${data.length} bytes, directory says ${size}`);
        files.set(name, data);
        at += 46 + nameLength + extraLength + commentLength;
    }
    return files;
}
