import { strict as assert } from "assert";
import { isoDurationMs, redriveServiceBusDeadLetters, toResentMessage } from "../../tools/redrive/service-bus";
import { InProcessServiceBusQueueModel } from "./redrive-service-bus-model";

/** A body as the API destination POSTs it: JSON bytes, kept as bytes (skipParsingBodyAsJson). */
const bodyOf = (n: number) => Buffer.from(JSON.stringify({ metadata: { event_id: `evt-${n}` }, data: { amount: n, note: "ünïcödé" } }), "utf8");

function seed(model: InProcessServiceBusQueueModel, count: number): void {
    for (let n = 1; n <= count; n++) {
        model.deadLetter(
            {
                body: bodyOf(n),
                messageId: `msg-${n}`,
                contentType: "application/json",
                correlationId: `corr-${n}`,
                subject: "TransactionPosted",
                applicationProperties: { "aws-event-id": `ev-${n}`, attempt: n, urgent: n % 2 === 0 },
            },
            n % 3 === 0 ? "TTLExpiredException" : "MaxDeliveryCountExceeded",
            n % 3 === 0 ? "The message expired and was dead lettered." : `Message could not be consumed after 10 delivery attempts (evt-${n}).`,
        );
    }
}

describe("redrive: Service Bus dead-letter queue (against an in-process model of the broker)", () => {
    let model: InProcessServiceBusQueueModel;
    let lines: string[];
    const run = (extra: { dryRun?: boolean; max?: number; batchSize?: number } = {}) =>
        redriveServiceBusDeadLetters({
            receiver: model.receiver(),
            sender: model.sender(),
            queueLabel: "mesh-dev.servicebus.windows.net/mesh-events",
            dryRun: false,
            count: async () => model.deadLetterCount(),
            maxWaitTimeInMs: 1,
            print: (l) => lines.push(l),
            ...extra,
        });

    beforeEach(() => {
        model = new InProcessServiceBusQueueModel();
        lines = [];
    });

    it("resends each dead letter with the same body bytes, messageId and application properties, then completes it", async () => {
        seed(model, 14);
        const summary = await run();

        assert.equal(model.deadLetterCount(), 0);
        assert.equal(model.queue.length, 14);
        const resent = model.queue.find((m) => m.messageId === "msg-4")!;
        assert.ok(Buffer.isBuffer(resent.body) && resent.body.equals(bodyOf(4)), "same body bytes");
        assert.deepEqual(resent.applicationProperties, { "aws-event-id": "ev-4", attempt: 4, urgent: true }, "same properties, without the broker's dead-letter bookkeeping");
        assert.equal(resent.contentType, "application/json");
        assert.equal(resent.correlationId, "corr-4");
        assert.equal(resent.subject, "TransactionPosted");
        assert.deepEqual(
            { read: summary.read, resent: summary.resent, completed: summary.completed, approximateCount: summary.approximateCount },
            { read: 14, resent: 14, completed: 14, approximateCount: 14 },
        );
        assert.deepEqual(summary.reasons, { MaxDeliveryCountExceeded: 10, TTLExpiredException: 4 });
        // Every dead letter was completed only after its send.
        for (let n = 1; n <= 14; n++) {
            const sent = model.log.findIndex((e) => e.op === "send" && e.messageId === `msg-${n}`);
            const completed = model.log.findIndex((e) => e.op === "complete" && e.messageId === `msg-${n}`);
            assert.ok(sent >= 0 && completed > sent, `msg-${n}: send at ${sent}, complete at ${completed}`);
        }
        // Each dead letter's reason is printed.
        assert.ok(lines.some((l) => l.includes("messageId msg-5") && l.includes("MaxDeliveryCountExceeded") && l.includes("after 10 delivery attempts (evt-5)")), lines.join("\n"));
        assert.ok(lines.some((l) => /progress: 10\/14 read, 10 resent, 10 completed/.test(l)));
        assert.match(lines[lines.length - 1], /^summary: 14 received, 14 resent, 14 completed; reasons: 10 × MaxDeliveryCountExceeded, 4 × TTLExpiredException$/);
    });

    it("--dry-run peeks: sends nothing, completes nothing, locks nothing", async () => {
        seed(model, 12);
        const summary = await run({ dryRun: true });
        assert.equal(summary.read, 12);
        assert.equal(model.queue.length, 0);
        assert.deepEqual(model.log, []);
        assert.equal(model.deadLetterCount(), 12);
        assert.ok(lines.some((l) => l.startsWith("  would resend messageId msg-3") && l.includes("TTLExpiredException")));
        // Nothing is locked: a real run right after takes all of them.
        lines = [];
        const real = await run();
        assert.equal(real.completed, 12);
    });

    it("completes nothing when the send fails: the batch is abandoned and stays dead-lettered", async () => {
        seed(model, 6);
        let sends = 0;
        model.failSends(() => (++sends === 2 ? new Error("ServiceBusError: ServiceCommunicationProblem") : undefined));
        const summary = await run({ batchSize: 4 });
        assert.equal(summary.completed, 4, "the first batch");
        assert.equal(summary.notResent, 2);
        assert.match(summary.stoppedBecause!, /ServiceCommunicationProblem/);
        assert.equal(model.deadLetterCount(), 2);
        assert.deepEqual(model.log.filter((e) => e.op === "complete").map((e) => e.messageId), ["msg-1", "msg-2", "msg-3", "msg-4"]);
        assert.deepEqual(model.log.filter((e) => e.op === "abandon").map((e) => e.messageId), ["msg-5", "msg-6"]);
        assert.equal(model.queue.length, 4);
    });

    it("loses nothing when the process crashes after the send and before the completes; a rerun resends", async () => {
        seed(model, 3);
        model.crashAfterNextSend();
        await run();
        assert.equal(model.queue.length, 3, "sent once");
        assert.equal(model.deadLetterCount(), 3, "nothing completed: all still dead-lettered");

        model.restart();
        model.expireLocks();
        lines = [];
        const rerun = await run();
        assert.equal(rerun.completed, 3);
        assert.equal(model.deadLetterCount(), 0);
        // Sent twice with the same messageId: the duplicate the consumer's idempotency absorbs.
        assert.deepEqual(model.queue.map((m) => m.messageId).sort(), ["msg-1", "msg-1", "msg-2", "msg-2", "msg-3", "msg-3"]);
    });

    it("counts a dead letter whose lock was lost after the send as resent but not completed", async () => {
        seed(model, 2);
        const receiver = model.receiver();
        const summary = await redriveServiceBusDeadLetters({
            receiver: { ...receiver, completeMessage: async (m) => (m.messageId === "msg-2" ? Promise.reject(new Error("MessageLockLostError")) : receiver.completeMessage(m)) },
            sender: model.sender(),
            queueLabel: "ns/q",
            dryRun: false,
            maxWaitTimeInMs: 1,
            print: (l) => lines.push(l),
        });
        assert.equal(summary.resentNotCompleted, 1);
        assert.equal(model.deadLetterCount(), 1);
        assert.ok(lines.some((l) => l.includes("msg-2: resent but not completed")));
    });

    it("leaves dead letters enqueued within the duplicate detection window dead-lettered (the broker would drop their resend)", async () => {
        const now = new Date("2026-11-27T10:00:00Z");
        const at = (minutesAgo: number) => new Date(now.getTime() - minutesAgo * 60_000);
        [90, 5, 30, 1].forEach((minutesAgo, i) =>
            model.deadLetter({ body: bodyOf(i + 1), messageId: `msg-${i + 1}`, enqueuedTimeUtc: at(minutesAgo) }, "MaxDeliveryCountExceeded"),
        );
        model.deadLetter({ body: bodyOf(5), messageId: "msg-5" }, "MaxDeliveryCountExceeded");
        const summary = await redriveServiceBusDeadLetters({
            receiver: model.receiver(),
            sender: model.sender(),
            queueLabel: "ns/q",
            dryRun: false,
            duplicateDetectionWindowMs: 10 * 60_000,
            now: () => now,
            maxWaitTimeInMs: 1,
            print: (l) => lines.push(l),
        });
        assert.deepEqual(model.queue.map((m) => m.messageId).sort(), ["msg-1", "msg-3"]);
        assert.equal(summary.tooRecent, 3, "5 and 1 minutes old, and one of unknown age");
        assert.equal(summary.completed, 2);
        assert.equal(model.deadLetterCount(), 3);
        assert.ok(lines.some((l) => l.includes("msg-2") && l.includes("redrive it after 2026-11-27T10:05:00.000Z")), lines.join("\n"));
        assert.match(lines[lines.length - 1], /3 left for later \(duplicate detection window\)/);
    });

    it("reads Service Bus ISO 8601 durations", () => {
        assert.equal(isoDurationMs("PT10M"), 600_000);
        assert.equal(isoDurationMs("P1D"), 86_400_000);
        assert.equal(isoDurationMs("PT1H30M5.5S"), 5_405_500);
        assert.throws(() => isoDurationMs("10 minutes"), /not an ISO 8601 duration/);
    });

    it("stops after --max dead letters", async () => {
        seed(model, 9);
        const summary = await run({ max: 5 });
        assert.equal(summary.completed, 5);
        assert.equal(model.deadLetterCount(), 4);
    });

    it("does not resend the broker's DeadLetterReason / DeadLetterErrorDescription properties, and keeps a Buffer messageId", () => {
        const id = Buffer.from("0102", "hex");
        const msg = toResentMessage({ body: "x", messageId: id, applicationProperties: { DeadLetterReason: "r", DeadLetterErrorDescription: "d", keep: "k" }, deadLetterReason: "r" });
        assert.deepEqual(msg, { body: "x", messageId: id, applicationProperties: { keep: "k" } });
    });
});
