import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { newestSlot } from "../../components/azure/publisher-identity";

const DAY = 86_400_000;
const T0 = Date.parse("2026-01-01T00:00:00Z");
const ROOT = path.resolve(__dirname, "..", "..");

interface SlotView {
    value: string;
    startDate: string;
    endDate: string;
    issuedAt: string;
    rotatesAt: string;
    sleepTriggers: { keyId: string };
    keyId: string;
}
interface Deploy {
    day: number;
    outputs: { activeSlot: "a" | "b"; clientSecret: string; secretEndDate: string };
    secretOutputs: string[];
    a: SlotView;
    b: SlotView;
}

function deployAt(clockFile: string, day: number, rotationDays: number, graceDays: number): Promise<Deploy> {
    const clock = JSON.parse(fs.readFileSync(clockFile, "utf8"));
    clock.now = new Date(T0 + day * DAY).toISOString().replace(".000", "");
    fs.writeFileSync(clockFile, JSON.stringify(clock));
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", path.join(ROOT, "test", "fixtures", "rotation-deploy.ts"), clockFile, String(rotationDays), String(graceDays)], { cwd: ROOT });
        let out = "";
        let err = "";
        child.stdout.on("data", (c) => (out += c));
        child.stderr.on("data", (c) => (err += c));
        child.on("close", (code) => (code === 0 ? resolve({ day, ...JSON.parse(out) }) : reject(new Error(`deploy at day ${day} failed: ${err}`))));
    });
}

/**
 * The publisher's two secret slots driven through two full rotation periods by deploying the
 * component (under the mock engine) at successive instants. Each deploy is what a scheduled
 * `pulumi up --refresh` does: a time.Rotating past its rotation time is created again, which
 * replaces its slot's password. At every instant the connection must get the newest secret, and
 * the other slot's secret (which EventBridge may still hold) must stay valid for the grace period.
 */
describe("publisher secret rotation: two slots, half a period apart", function () {
    this.timeout(300_000);
    const P = 90;
    const GRACE = 14;
    // Around every rotation (A at 90, 180; B at 135, 225) and in between.
    const days = [0, 30, 60, 89, 90, 91, 120, 134, 135, 136, 160, 179, 180, 181, 224, 225, 226];
    const deploys: Deploy[] = [];

    before(async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mesh-rotation-"));
        const clockFile = path.join(dir, "clock.json");
        fs.writeFileSync(clockFile, JSON.stringify({ now: "", rotations: {} }));
        for (const day of days) deploys.push(await deployAt(clockFile, day, P, GRACE));
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("the connection always gets the newest slot's secret, and it is valid now", () => {
        for (const d of deploys) {
            const now = T0 + d.day * DAY;
            const expected = newestSlot([{ slot: "a", issuedAt: d.a.issuedAt }, { slot: "b", issuedAt: d.b.issuedAt }]);
            assert.equal(d.outputs.activeSlot, expected, `day ${d.day}`);
            assert.equal(d.outputs.clientSecret, d[expected].value, `day ${d.day}: the connection's secret is the active slot's password`);
            assert.ok(Date.parse(d[expected].endDate) > now, `day ${d.day}: the active secret has expired`);
            assert.equal(d.outputs.secretEndDate, d[expected].endDate);
        }
    });

    it("the other slot's secret stays valid for at least the grace period at every instant", () => {
        for (const d of deploys) {
            const now = T0 + d.day * DAY;
            const other = d.outputs.activeSlot === "a" ? d.b : d.a;
            const left = (Date.parse(other.endDate) - now) / DAY;
            assert.ok(left >= GRACE, `day ${d.day}: the previous secret has only ${left} days left (grace ${GRACE})`);
        }
    });

    it("slots rotate alternately, every half period, and only at their rotation time", () => {
        const changes: Array<[number, string]> = [];
        for (let i = 1; i < deploys.length; i++) {
            for (const slot of ["a", "b"] as const) {
                if (deploys[i][slot].value !== deploys[i - 1][slot].value) changes.push([deploys[i].day, slot]);
            }
        }
        assert.deepEqual(changes, [[90, "a"], [135, "b"], [180, "a"], [225, "b"]]);
        const active = deploys.map((d) => `${d.day}:${d.outputs.activeSlot}`);
        assert.deepEqual(active, ["0:b", "30:b", "60:b", "89:b", "90:a", "91:a", "120:a", "134:a", "135:b", "136:b", "160:b", "179:b", "180:a", "181:a", "224:a", "225:b", "226:b"]);
    });

    it("every new secret goes through its propagation wait before use", () => {
        for (const d of deploys) {
            assert.equal(d.a.sleepTriggers.keyId, d.a.keyId, `day ${d.day}: slot a's wait is tied to its current secret`);
            assert.equal(d.b.sleepTriggers.keyId, d.b.keyId, `day ${d.day}: slot b's wait is tied to its current secret`);
        }
    });

    it("no secret lives longer than 1.5 periods plus the grace (Entra ID: 730 days)", () => {
        for (const d of deploys) {
            for (const slot of [d.a, d.b]) {
                const lifetime = (Date.parse(slot.endDate) - Date.parse(slot.startDate)) / DAY;
                assert.ok(lifetime <= 1.5 * P + GRACE, `day ${d.day}: lifetime ${lifetime}`);
                assert.ok(lifetime > GRACE);
            }
        }
    });
});
