import { strict as assert } from "assert";
import {
  checkEntrySize,
  deliveredEnvelopeSize,
  measureDelivery,
  SERVICE_BUS_MAX_MESSAGE_BYTES,
  parseDelivery,
  parseDomainEvent,
  PUT_EVENTS_MAX_ENTRY_BYTES,
  putEventsEntrySize,
  toPutEventsEntry,
  validateDomainEvent,
} from "../../runtime/event";
import { envelopeOf, makeEvent } from "../support/events";

describe("runtime/event", () => {
  describe("validateDomainEvent", () => {
    it("accepts a complete event and returns it typed", () => {
      const event = makeEvent();
      const result = validateDomainEvent(event);
      assert.ok(result.ok);
      assert.equal(result.value.metadata.event_id, event.metadata.event_id);
    });

    const cases: [string, (e: any) => void, string, string, boolean][] = [
      ["missing event_id", (e) => delete e.metadata.event_id, "MissingEventId", "metadata.event_id", false],
      ["non-UUID event_id", (e) => (e.metadata.event_id = "order-42"), "InvalidEventId", "metadata.event_id", true],
      ["uppercase event_id (a second spelling of one id)", (e) => (e.metadata.event_id = e.metadata.event_id.toUpperCase()), "InvalidEventId", "metadata.event_id", true],
      ["missing type", (e) => delete e.metadata.type, "MissingField", "metadata.type", true],
      ["empty source", (e) => (e.metadata.source = " "), "InvalidField", "metadata.source", true],
      ["aws.-prefixed source", (e) => (e.metadata.source = "aws.orders"), "InvalidField", "metadata.source", true],
      ["timestamp without offset", (e) => (e.metadata.timestamp = "2024-05-01T12:00:00"), "InvalidField", "metadata.timestamp", true],
      ["impossible timestamp", (e) => (e.metadata.timestamp = "2024-13-45T12:00:00Z"), "InvalidField", "metadata.timestamp", true],
      ["numeric schema_version", (e) => (e.metadata.schema_version = 1), "InvalidField", "metadata.schema_version", true],
      ["unsupported schema major", (e) => (e.metadata.schema_version = "2.0"), "UnsupportedSchemaVersion", "metadata.schema_version", true],
      ["missing data", (e) => delete e.data, "MissingField", "data", true],
      ["array data", (e) => (e.data = [1]), "InvalidField", "data", true],
      ["unknown top-level field", (e) => (e.extra = 1), "InvalidField", "extra", true],
      ["metadata not an object", (e) => (e.metadata = "x"), "InvalidField", "metadata", false],
    ];
    for (const [name, mutate, fault, field, hasId] of cases) {
      it(`refuses ${name}, naming the field${hasId ? " and the event id" : ""}`, () => {
        const event: any = makeEvent();
        mutate(event);
        const id = event.metadata.event_id;
        const result = validateDomainEvent(event);
        assert.equal(result.ok, false);
        if (result.ok) return;
        assert.equal(result.error.fault, fault);
        assert.equal(result.error.field, field);
        assert.match(result.error.message, new RegExp(field.replace(".", "\\.")));
        if (hasId) {
          assert.equal(result.error.eventId, id);
          assert.ok(result.error.message.includes(id));
        }
      });
    }

    it("accepts other schema majors when configured", () => {
      const event = makeEvent({ metadata: { schema_version: "2" } });
      assert.equal(validateDomainEvent(event).ok, false);
      assert.equal(validateDomainEvent(event, { supportedSchemaMajors: ["1", "2"] }).ok, true);
    });

    it("parseDomainEvent reports unparseable JSON as NotJson", () => {
      const result = parseDomainEvent("{not json");
      assert.ok(!result.ok && result.error.fault === "NotJson");
    });
  });

  describe("parseDelivery", () => {
    it("accepts the EventBridge envelope the API destination POSTs, as text, bytes or object", () => {
      const event = makeEvent();
      const envelope = envelopeOf(event);
      for (const body of [JSON.stringify(envelope), Buffer.from(JSON.stringify(envelope)), envelope]) {
        const result = parseDelivery(body);
        assert.ok(result.ok, JSON.stringify(!result.ok && result.error.message));
        assert.deepEqual(result.value.event, event);
        assert.equal(result.value.envelope?.id, envelope.id);
      }
    });

    it("accepts a UTF-8 byte-order mark before the JSON, as text and as bytes", () => {
      const event = makeEvent();
      const json = JSON.stringify(envelopeOf(event));
      const bom = Buffer.from([0xef, 0xbb, 0xbf]);
      for (const body of ["\ufeff" + json, Buffer.concat([bom, Buffer.from(json)]), new Uint8Array(Buffer.concat([bom, Buffer.from(JSON.stringify(event))]))]) {
        const result = parseDelivery(body);
        assert.ok(result.ok, JSON.stringify(!result.ok && result.error.message));
        assert.equal(result.value.event.metadata.event_id, event.metadata.event_id);
      }
    });

    it("still refuses a byte-order mark before something that is not JSON, or a second one", () => {
      for (const body of ["\ufeff{not json", "\ufeff\ufeff{}", "\ufeff"]) {
        const result = parseDelivery(body);
        assert.ok(!result.ok && result.error.fault === "NotJson", JSON.stringify(body));
      }
    });

    it("accepts a replayed envelope (EventBridge adds replay-name)", () => {
      const result = parseDelivery(envelopeOf(makeEvent(), { "replay-name": "replay-1" }));
      assert.ok(result.ok);
    });

    it("accepts a bare domain event", () => {
      const event = makeEvent();
      const result = parseDelivery(JSON.stringify(event));
      assert.ok(result.ok);
      assert.equal(result.value.envelope, undefined);
      assert.equal(result.value.event.metadata.event_id, event.metadata.event_id);
    });

    it("refuses anything else", () => {
      for (const body of ["[]", "42", '"text"', JSON.stringify({ hello: "world" }), "null"]) {
        const result = parseDelivery(body);
        assert.ok(!result.ok, body);
        assert.equal(result.error.fault, "UnsupportedShape", body);
      }
    });

    it("refuses an envelope that lacks an envelope field, naming it", () => {
      const envelope: any = envelopeOf(makeEvent());
      delete envelope.account;
      const result = parseDelivery(envelope);
      assert.ok(!result.ok);
      assert.equal(result.error.fault, "MissingField");
      assert.equal(result.error.field, "account");
      assert.equal(result.error.eventId, envelope.detail.metadata.event_id);
    });

    it("refuses an envelope whose detail is invalid, with the path under detail", () => {
      const event: any = makeEvent();
      event.metadata.timestamp = "yesterday";
      const result = parseDelivery(envelopeOf(event));
      assert.ok(!result.ok);
      assert.equal(result.error.field, "detail.metadata.timestamp");
      assert.equal(result.error.eventId, event.metadata.event_id);
    });

    it("refuses an envelope whose source/detail-type disagree with the event", () => {
      const event = makeEvent();
      const result = parseDelivery(envelopeOf(event, { source: "com.example.other" }));
      assert.ok(!result.ok);
      assert.equal(result.error.fault, "EnvelopeMismatch");
    });
  });

  describe("PutEvents entry size", () => {
    it("counts UTF-8 bytes of Source, DetailType, Detail, resources, and 14 for Time", () => {
      assert.equal(putEventsEntrySize({ Source: "ab", DetailType: "c", Detail: "{}" }), 5);
      assert.equal(putEventsEntrySize({ Source: "ab", DetailType: "c", Detail: "{}", Time: new Date() }), 19);
      assert.equal(putEventsEntrySize({ Source: "é", DetailType: "€", Detail: "😀", Resources: ["arn:x"] }), 2 + 3 + 4 + 5);
    });

    it("Standard: accepts an event whose delivered message is exactly 256 KB and refuses one byte more, naming the event and both sizes", () => {
      const event = makeEvent({ data: { blob: "" } });
      const overhead = measureDelivery(toPutEventsEntry(event, "bus"), "Standard").messageBytes;
      const room = SERVICE_BUS_MAX_MESSAGE_BYTES.Standard - overhead;
      event.data.blob = "x".repeat(room);
      const fits = checkEntrySize(event);
      assert.ok(fits.ok, fits.ok ? "" : fits.error.message);
      assert.equal(measureDelivery(toPutEventsEntry(event, "bus"), "Standard").messageBytes, SERVICE_BUS_MAX_MESSAGE_BYTES.Standard);
      event.data.blob = "x".repeat(room + 1);
      const tooBig = checkEntrySize(event);
      assert.ok(!tooBig.ok);
      assert.equal(tooBig.error.fault, "MessageTooLarge");
      assert.equal(tooBig.error.eventId, event.metadata.event_id);
      const entryBytes = putEventsEntrySize(toPutEventsEntry(event, "bus"));
      assert.match(tooBig.error.message, new RegExp(`a ${SERVICE_BUS_MAX_MESSAGE_BYTES.Standard + 1}-byte message \\(a ${entryBytes}-byte entry`));
      assert.match(tooBig.error.message, /Service Bus Standard accepts at most 262144 bytes/);
      assert.match(tooBig.error.message, new RegExp(`event ${event.metadata.event_id}`));
      // The same event fits Premium's 1 MB messages.
      assert.ok(checkEntrySize(event, JSON.stringify(event), "Premium").ok);
    });

    it("leaves room for the largest envelope EventBridge wraps around the event, replay included", () => {
      const event = makeEvent({ metadata: { source: "com.example.orders", type: "OrderPlaced" }, data: { note: "é€😀\"\\" } });
      const detail = JSON.stringify(event);
      const envelope = {
        version: "0",
        id: "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "OrderPlaced",
        source: "com.example.orders",
        account: "111122223333",
        time: "2026-12-01T12:00:00Z",
        region: "ap-southeast-7",
        resources: [],
        detail: event,
        "replay-name": "mesh-prod-egress-archive-replay-2026-12-01",
      };
      const computed = deliveredEnvelopeSize({ Source: "com.example.orders", DetailType: "OrderPlaced", Detail: detail });
      const actual = Buffer.byteLength(JSON.stringify(envelope), "utf8");
      assert.ok(computed >= actual, `computed ${computed} < actual ${actual}`);
      assert.ok(computed - actual < 100, `computed ${computed} is far above actual ${actual}`);
    });

    it("Premium: EventBridge's entry limit still applies", () => {
      const event = makeEvent({ data: { blob: "x".repeat(PUT_EVENTS_MAX_ENTRY_BYTES) } });
      const result = checkEntrySize(event, JSON.stringify(event), "Premium");
      assert.ok(!result.ok);
      assert.equal(result.error.fault, "EntryTooLarge");
      assert.match(result.error.message, new RegExp(`EventBridge accepts at most ${PUT_EVENTS_MAX_ENTRY_BYTES} bytes`));
    });

    it("measures multi-byte characters in bytes, not string length", () => {
      const event = makeEvent({ data: { blob: "€".repeat(90_000) } }); // 90k chars, 270k bytes
      assert.ok(JSON.stringify(event).length < PUT_EVENTS_MAX_ENTRY_BYTES);
      assert.equal(checkEntrySize(event).ok, false);
    });
  });
});
