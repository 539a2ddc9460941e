import { strict as assert } from "assert";
import { redriveSqsDeadLetters, replayFromArchive, toRepublishEntry, EventBridgeEvent } from "../../tools/redrive/aws";
import { startPutEventsEndpoint, PutEventsEndpoint, acceptAll } from "../../tools/local-servers/put-events-endpoint";
import { startSqsEndpoint, SqsEndpoint } from "../../tools/local-servers/sqs-endpoint";

const BUS = "mesh-dev-egress-bus";
const RULE_ARN = "arn:aws:events:eu-west-1:123456789012:rule/mesh-dev-egress-bus/mesh-dev-egress-rule-1a2b3c";
const TARGET_ARN = "arn:aws:events:eu-west-1:123456789012:api-destination/mesh-dev-egress-destination/3f0c";

/** A dead letter as EventBridge writes it: the full event as body, the failure in message attributes. */
function deadLetterOf(n: number, extra: Partial<EventBridgeEvent> = {}): { body: string; attributes: Record<string, string>; event: EventBridgeEvent } {
    const event: EventBridgeEvent = {
        version: "0",
        id: `0b6f0f5e-0000-4000-8000-${String(n).padStart(12, "0")}`,
        "detail-type": "TransactionPosted",
        source: "enterprise.transactions",
        account: "123456789012",
        time: `2026-11-27T08:00:${String(n % 60).padStart(2, "0")}Z`,
        region: "eu-west-1",
        resources: [`arn:aws:dynamodb:eu-west-1:123456789012:table/accounts/item-${n}`],
        detail: { metadata: { event_id: `evt-${n}`, occurred_at: "2026-11-27T08:00:00Z" }, data: { amount: n, note: "ünïcödé" } },
        ...extra,
    };
    return {
        event,
        body: JSON.stringify(event),
        attributes: { ERROR_CODE: "SDK_CLIENT_ERROR", ERROR_MESSAGE: `403 Forbidden for evt-${n}`, RULE_ARN, TARGET_ARN, RETRY_ATTEMPTS: "0" },
    };
}

describe("redrive: EventBridge target's SQS dead-letter queue", () => {
    let sqs: SqsEndpoint;
    let events: PutEventsEndpoint;
    let lines: string[];
    const run = (extra: { dryRun?: boolean; max?: number } = {}) =>
        redriveSqsDeadLetters({ sqs: sqs.client(), eventBridge: events.client(), queueUrl: sqs.queueUrl, busName: BUS, dryRun: false, print: (l) => lines.push(l), ...extra });

    before(async () => {
        events = await startPutEventsEndpoint();
    });
    after(async () => {
        await events.stop();
    });
    beforeEach(async () => {
        sqs = await startSqsEndpoint();
        events.reset();
        lines = [];
    });
    afterEach(async () => {
        await sqs.stop();
    });

    it("republishes each dead letter's original event to the bus, then deletes it", async () => {
        const letters = Array.from({ length: 23 }, (_, i) => deadLetterOf(i + 1));
        for (const l of letters) sqs.send(l.body, l.attributes);

        const summary = await run();

        assert.equal(sqs.messages.length, 0, "queue drained");
        assert.equal(events.accepted.length, 23);
        assert.deepEqual(
            { approximateCount: summary.approximateCount, received: summary.received, republished: summary.republished, deleted: summary.deleted, failed: summary.failed },
            { approximateCount: 23, received: 23, republished: 23, deleted: 23, failed: {} },
        );
        assert.ok(events.requests.every((r) => r.entries.length <= 10), "PutEvents takes at most 10 entries");
        // The entry carries what the relay first put: source, detail-type, detail, resources, time; on the bus given.
        const first = events.accepted.find((e) => JSON.parse(e.Detail!).metadata.event_id === "evt-1")!;
        assert.equal(first.EventBusName, BUS);
        assert.equal(first.Source, "enterprise.transactions");
        assert.equal(first.DetailType, "TransactionPosted");
        assert.deepEqual(JSON.parse(first.Detail!), letters[0].event.detail);
        assert.deepEqual(first.Resources, letters[0].event.resources);
        assert.equal(first.Time, Date.parse("2026-11-27T08:00:01Z") / 1000, "Time is the original event's time");
        // Every PutEvents came before the delete of its messages.
        assert.ok(sqs.operations.indexOf("DeleteMessageBatch") > 0);
        // Each dead letter's error code and message are printed, with the event id.
        assert.ok(lines.some((l) => l.includes("evt-7") && l.includes("SDK_CLIENT_ERROR") && l.includes("403 Forbidden for evt-7")), lines.join("\n"));
        assert.ok(lines.some((l) => /progress: 10\/23 received/.test(l)), "progress is printed");
        assert.match(lines[lines.length - 1], /^summary: 23 received, 23 republished, 23 deleted$/);
    });

    it("--dry-run publishes nothing, deletes nothing, and leaves every message visible", async () => {
        for (let i = 1; i <= 12; i++) {
            const l = deadLetterOf(i);
            sqs.send(l.body, l.attributes);
        }
        const summary = await run({ dryRun: true });
        assert.equal(events.requests.length, 0, "no PutEvents");
        assert.equal(sqs.operations.includes("DeleteMessageBatch"), false, "no delete");
        assert.equal(sqs.messages.length, 12);
        assert.equal(sqs.visibleCount(), 12, "made visible again");
        assert.equal(summary.received, 12);
        assert.ok(lines.some((l) => l.includes("would redrive evt-3") && l.includes("SDK_CLIENT_ERROR")));
        assert.match(lines[lines.length - 1], /^\[dry run\] 12 dead letter\(s\) read, 12 would be republished, 0 unreadable; nothing published or deleted$/);
    });

    it("deletes only the entries PutEvents accepted when some fail", async () => {
        for (let i = 1; i <= 15; i++) {
            const l = deadLetterOf(i);
            sqs.send(l.body, l.attributes);
        }
        const refused = new Set(["evt-2", "evt-9", "evt-14"]);
        events.setBehaviour(() => ({
            kind: "respond",
            entry: (e) => (refused.has(JSON.parse(e.Detail!).metadata.event_id) ? { ok: false, errorCode: "ThrottlingException", errorMessage: "Rate exceeded" } : { ok: true }),
        }));

        const summary = await run();

        assert.equal(summary.republished, 12);
        assert.equal(summary.deleted, 12);
        assert.deepEqual(summary.failed, { ThrottlingException: 3 });
        const left = sqs.messages.map((m) => JSON.parse(m.Body).detail.metadata.event_id).sort();
        assert.deepEqual(left, ["evt-14", "evt-2", "evt-9"], "exactly the refused ones stay in the queue");
        assert.ok(lines.some((l) => l.includes("evt-9") && l.includes("ThrottlingException")));

        // The next run (after their visibility timeout) republishes the rest.
        events.setBehaviour(acceptAll);
        sqs.expireVisibility();
        const again = await run();
        assert.equal(again.deleted, 3);
        assert.equal(sqs.messages.length, 0);
    });

    it("loses nothing when it crashes after PutEvents and before the delete; a rerun publishes again", async () => {
        for (let i = 1; i <= 5; i++) {
            const l = deadLetterOf(i);
            sqs.send(l.body, l.attributes);
        }
        sqs.setFault((op) => (op === "DeleteMessageBatch" ? "drop" : undefined));
        await assert.rejects(run());
        assert.equal(events.accepted.length, 5, "published once");
        assert.equal(sqs.messages.length, 5, "nothing deleted: all still in the queue");

        sqs.setFault(undefined);
        sqs.expireVisibility();
        const rerun = await run();
        assert.equal(rerun.deleted, 5);
        assert.equal(sqs.messages.length, 0);
        // Published twice: duplicates with the same event ids, which the consumer's idempotency absorbs.
        const ids = events.accepted.map((e) => JSON.parse(e.Detail!).metadata.event_id).sort();
        assert.deepEqual(ids, ["evt-1", "evt-1", "evt-2", "evt-2", "evt-3", "evt-3", "evt-4", "evt-4", "evt-5", "evt-5"]);
    });

    it("reports a republished message it could not delete (its receipt handle went stale) and leaves it for the next run", async () => {
        for (let i = 1; i <= 3; i++) sqs.send(deadLetterOf(i).body, deadLetterOf(i).attributes);
        // Another receiver takes evt-2 after its visibility timeout, just before the delete.
        sqs.setFault((op) => {
            if (op === "DeleteMessageBatch") {
                const stolen = sqs.messages.find((m) => JSON.parse(m.Body).detail.metadata.event_id === "evt-2");
                if (stolen) stolen.receiptHandle = "taken-by-someone-else";
            }
            return undefined;
        });
        const summary = await run();
        assert.equal(summary.republished, 3);
        assert.equal(summary.deleted, 2);
        assert.equal(summary.republishedNotDeleted, 1);
        assert.deepEqual(sqs.messages.map((m) => JSON.parse(m.Body).detail.metadata.event_id), ["evt-2"]);
        assert.ok(lines.some((l) => l.includes("evt-2: republished but not deleted (ReceiptHandleIsInvalid)")), lines.join("\n"));
        assert.match(lines[lines.length - 1], /1 republished but not deleted \(run again; duplicates are absorbed by the consumer\)/);
    });

    it("deletes nothing when the PutEvents request itself fails", async () => {
        for (let i = 1; i <= 4; i++) sqs.send(deadLetterOf(i).body, deadLetterOf(i).attributes);
        events.setBehaviour(() => ({ kind: "error", status: 500, type: "InternalException", message: "boom" }));
        await assert.rejects(run());
        assert.equal(sqs.messages.length, 4);
        assert.equal(sqs.operations.includes("DeleteMessageBatch"), false);
    });

    it("leaves a dead letter that is not an EventBridge event in the queue, and says why", async () => {
        sqs.send("not json", { ERROR_CODE: "X" });
        sqs.send(JSON.stringify({ source: "a", "detail-type": "b" }), {});
        const good = deadLetterOf(1);
        sqs.send(good.body, good.attributes);
        const summary = await run();
        assert.equal(summary.unreadable, 2);
        assert.equal(summary.deleted, 1);
        assert.equal(sqs.messages.length, 2);
        assert.ok(lines.some((l) => l.includes("the body is not JSON")));
        assert.ok(lines.some((l) => l.includes("the event has no detail object")));
    });

    it("stops after --max dead letters", async () => {
        for (let i = 1; i <= 8; i++) sqs.send(deadLetterOf(i).body, deadLetterOf(i).attributes);
        const summary = await run({ max: 3 });
        assert.equal(summary.received, 3);
        assert.equal(sqs.messages.length, 5);
    });

    it("splits PutEvents requests to stay under 256 KB", async () => {
        const big = "x".repeat(100 * 1024);
        for (let i = 1; i <= 5; i++) {
            const l = deadLetterOf(i, { detail: { metadata: { event_id: `evt-${i}` }, data: { blob: big } } });
            sqs.send(l.body, l.attributes);
        }
        const summary = await run();
        assert.equal(summary.deleted, 5);
        assert.ok(events.requests.length >= 3, `${events.requests.length} requests`);
    });

    it("builds the PutEvents entry without Time or Resources when the event has none", () => {
        assert.deepEqual(toRepublishEntry({ source: "s", "detail-type": "d", detail: { a: 1 }, resources: [] }, "bus"), { EventBusName: "bus", Source: "s", DetailType: "d", Detail: '{"a":1}' });
    });
});

describe("redrive: replay from the archive", () => {
    let events: PutEventsEndpoint;
    let started: Array<Record<string, any>>;
    let lines: string[];
    const ARCHIVE = "arn:aws:events:eu-west-1:123456789012:archive/mesh-dev-egress-archive";
    const BUS_ARN = `arn:aws:events:eu-west-1:123456789012:event-bus/${BUS}`;
    const from = new Date("2026-11-27T08:00:00Z");
    const to = new Date("2026-11-27T09:00:00Z");
    const now = () => new Date("2026-11-27T10:00:00Z");

    before(async () => {
        events = await startPutEventsEndpoint();
    });
    after(async () => {
        await events.stop();
    });
    beforeEach(() => {
        events.reset();
        started = [];
        lines = [];
        events.setOperation("StartReplay", (body) => {
            started.push(body);
            return { body: { ReplayArn: `arn:aws:events:eu-west-1:123456789012:replay/${body.ReplayName}`, State: "STARTING", ReplayStartTime: 1764230400 } };
        });
        let polls = 0;
        events.setOperation("DescribeReplay", (body) => ({ body: { ReplayName: body.ReplayName, State: ++polls < 2 ? "RUNNING" : "COMPLETED" } }));
        events.setOperation("ListRuleNamesByTarget", (body) => ({
            body: { RuleNames: body.TargetArn === TARGET_ARN && body.EventBusName === BUS ? ["mesh-dev-egress-rule-1a2b3c"] : [] },
        }));
    });

    it("starts a replay of the window from the archive to the bus, filtered to the mesh's rule found from the API destination", async () => {
        const summary = await replayFromArchive({ eventBridge: events.client(), archiveArn: ARCHIVE, busArn: BUS_ARN, apiDestinationArn: TARGET_ARN, from, to, dryRun: false, wait: true, pollIntervalMs: 1, print: (l) => lines.push(l), now });
        assert.equal(started.length, 1);
        assert.equal(started[0].EventSourceArn, ARCHIVE);
        assert.deepEqual(started[0].Destination, { Arn: BUS_ARN, FilterArns: [RULE_ARN] });
        assert.equal(started[0].EventStartTime, from.getTime() / 1000);
        assert.equal(started[0].EventEndTime, to.getTime() / 1000);
        assert.match(started[0].ReplayName, /^[.\-_A-Za-z0-9]{1,64}$/);
        assert.equal(summary.state, "COMPLETED");
        assert.match(lines[lines.length - 1], /^summary: replay mesh-redrive-20261127T080000Z-20261127T090000Z COMPLETED/);
    });

    it("--dry-run starts nothing", async () => {
        await replayFromArchive({ eventBridge: events.client(), archiveArn: ARCHIVE, busArn: BUS_ARN, ruleArn: RULE_ARN, from, to, dryRun: true, wait: false, print: (l) => lines.push(l), now });
        assert.equal(started.length, 0);
        assert.match(lines[0], /^\[dry run\] would replay/);
    });

    it("refuses a window that ends in the future or is empty, and a rule it cannot find", async () => {
        const base = { eventBridge: events.client(), archiveArn: ARCHIVE, busArn: BUS_ARN, ruleArn: RULE_ARN, dryRun: false, wait: false, print: () => undefined, now };
        await assert.rejects(replayFromArchive({ ...base, from, to: new Date("2026-11-28T00:00:00Z") }), /TO \(2026-11-28T00:00:00.000Z\) is in the future/);
        await assert.rejects(replayFromArchive({ ...base, from: to, to: from }), /FROM .* must be before TO/);
        await assert.rejects(
            replayFromArchive({ ...base, ruleArn: undefined, apiDestinationArn: "arn:aws:events:eu-west-1:123456789012:api-destination/other/1", from, to }),
            /expected exactly one rule on bus mesh-dev-egress-bus targeting .*other\/1, found 0; give --rule-arn/,
        );
        assert.equal(started.length, 0);
    });
});
