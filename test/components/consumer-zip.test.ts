import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { crc32, zipFiles } from "../../components/azure/consumer-zip";
import { readZip } from "../support/zip-reader";

/** The consumer package's ZIP writer: readable by other implementations, and the same bytes for the same files. */
describe("consumer package ZIP", () => {
    const files = [
        { name: "host.json", data: Buffer.from('{"version":"2.0"}') },
        { name: "node_modules/x/index.js", data: crypto.randomBytes(50_000) },
        { name: "index.js", data: Buffer.from("module.exports = 1;\n".repeat(200)) },
        { name: "empty.txt", data: Buffer.alloc(0) },
    ];

    it("round-trips through an independent reader (central directory, deflate)", () => {
        const read = readZip(zipFiles(files));
        assert.deepEqual([...read.keys()].sort(), files.map((f) => f.name).sort());
        for (const f of files) assert.deepEqual(read.get(f.name), f.data, f.name);
    });

    it("is deterministic: the same files in any order give the same bytes (and so the same hash)", () => {
        assert.deepEqual(zipFiles(files), zipFiles([...files].reverse()));
    });

    it("CRC-32 as ZIP defines it", () => {
        assert.equal(crc32(Buffer.from("123456789")), 0xcbf43926);
    });

    it("the same file listed twice is packed once; two different files under one name are refused", () => {
        assert.equal(readZip(zipFiles([...files, files[0]])).size, files.length);
        assert.throws(() => zipFiles([...files, { name: "host.json", data: Buffer.from("{}") }]), /two different files named host\.json/);
    });

    it("passes the system's unzip integrity test where unzip exists", function () {
        const probe = spawnSync("unzip", ["-v"], { encoding: "utf8" });
        if (probe.error) this.skip();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mesh-zip-"));
        try {
            const file = path.join(dir, "p.zip");
            fs.writeFileSync(file, zipFiles(files));
            const test = spawnSync("unzip", ["-t", file], { encoding: "utf8" });
            assert.equal(test.status, 0, test.stdout + test.stderr);
            assert.match(test.stdout, /No errors detected/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
