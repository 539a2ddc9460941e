import * as http from "http";
import { randomUUID } from "crypto";
import { AddressInfo } from "net";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";

/**
 * A PutEvents endpoint the tests control: a local HTTP server speaking EventBridge's JSON 1.1
 * protocol (POST /, X-Amz-Target: AWSEvents.PutEvents). It enforces EventBridge's request limits
 * (≤ 10 entries, ≤ 256 KB by the documented entry-size formula) so a relay that breaks them fails
 * here as it would in AWS, and it lets each test script failures per request or per entry.
 */

export interface ReceivedEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Time?: number;
  Resources?: string[];
}

export interface ReceivedRequest {
  index: number;
  entries: ReceivedEntry[];
  headers: http.IncomingHttpHeaders;
}

export type EntryVerdict = { ok: true } | { ok: false; errorCode: string; errorMessage?: string };

export type RequestVerdict =
  | { kind: "respond"; entry?: (entry: ReceivedEntry, index: number) => EntryVerdict }
  | { kind: "error"; status: number; type: string; message: string }
  /** Close the connection without answering (a network failure, or a timeout seen by the client). */
  | { kind: "drop" };

export type Behaviour = (request: ReceivedRequest) => RequestVerdict;

export const acceptAll: Behaviour = () => ({ kind: "respond" });

/** Answers another EventBridge operation (X-Amz-Target `AWSEvents.<name>`), e.g. StartReplay for the redrive tests. */
export type OperationHandler = (body: Record<string, any>) => { status?: number; body: unknown; errorType?: string };

export interface PutEventsEndpoint {
  readonly endpoint: string;
  /** Every request that reached the server, in arrival order. */
  readonly requests: ReceivedRequest[];
  /** Entries EventBridge would have accepted. */
  readonly accepted: ReceivedEntry[];
  /** Highest number of requests being handled at the same time. */
  maxInFlight(): number;
  setBehaviour(behaviour: Behaviour): void;
  /** Serves another operation (`AWSEvents.<name>`), or stops serving it with `undefined`. */
  setOperation(name: string, handler: OperationHandler | undefined): void;
  /** Per-request artificial latency, to make concurrency observable. */
  setLatencyMs(ms: number): void;
  reset(): void;
  client(options?: { maxAttempts?: number }): EventBridgeClient;
  stop(): Promise<void>;
}

const MAX_ENTRIES = 10;
const MAX_REQUEST_BYTES = 256 * 1024;

function entrySize(e: ReceivedEntry): number {
  let size = e.Time !== undefined ? 14 : 0;
  for (const s of [e.Source, e.DetailType, e.Detail]) if (s !== undefined) size += Buffer.byteLength(s, "utf8");
  for (const r of e.Resources ?? []) size += Buffer.byteLength(r, "utf8");
  return size;
}

export async function startPutEventsEndpoint(initial: Behaviour = acceptAll): Promise<PutEventsEndpoint> {
  let behaviour = initial;
  let latencyMs = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const requests: ReceivedRequest[] = [];
  const accepted: ReceivedEntry[] = [];
  const operations = new Map<string, OperationHandler>();

  const reply = (res: http.ServerResponse, status: number, body: unknown, errorType?: string) => {
    const headers: http.OutgoingHttpHeaders = { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": randomUUID() };
    if (errorType) headers["x-amzn-errortype"] = errorType;
    res.writeHead(status, headers);
    res.end(JSON.stringify(body));
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
        const other = operations.get(String(req.headers["x-amz-target"]).replace(/^AWSEvents\./, ""));
        if (req.method === "POST" && other) {
          const answer = other(JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}"));
          reply(res, answer.status ?? 200, answer.body, answer.errorType);
          return;
        }
        if (req.method !== "POST" || req.headers["x-amz-target"] !== "AWSEvents.PutEvents") {
          reply(res, 400, { __type: "UnknownOperationException", message: `unsupported ${req.method} ${String(req.headers["x-amz-target"])}` }, "UnknownOperationException");
          return;
        }
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { Entries?: ReceivedEntry[] };
        const entries = body.Entries ?? [];
        const request: ReceivedRequest = { index: requests.length, entries, headers: req.headers };
        requests.push(request);
        if (entries.length < 1 || entries.length > MAX_ENTRIES) {
          reply(res, 400, { __type: "ValidationException", message: `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ENTRIES}` }, "ValidationException");
          return;
        }
        const total = entries.reduce((sum, e) => sum + entrySize(e), 0);
        if (total > MAX_REQUEST_BYTES) {
          reply(res, 400, { __type: "ValidationException", message: "Total size of the entries in the request is over the limit." }, "ValidationException");
          return;
        }
        const verdict = behaviour(request);
        if (verdict.kind === "drop") {
          req.socket.destroy();
          return;
        }
        if (verdict.kind === "error") {
          reply(res, verdict.status, { __type: verdict.type, message: verdict.message }, verdict.type);
          return;
        }
        let failed = 0;
        const results = entries.map((entry, i) => {
          let v: EntryVerdict = verdict.entry ? verdict.entry(entry, i) : { ok: true };
          if (v.ok) {
            try {
              const detail = JSON.parse(entry.Detail ?? "");
              if (typeof detail !== "object" || detail === null || Array.isArray(detail)) throw new Error("not an object");
            } catch {
              v = { ok: false, errorCode: "MalformedDetail", errorMessage: "Detail is malformed." };
            }
          }
          if (v.ok) {
            accepted.push(entry);
            return { EventId: randomUUID() };
          }
          failed++;
          return { ErrorCode: v.errorCode, ErrorMessage: v.errorMessage ?? v.errorCode };
        });
        reply(res, 200, { FailedEntryCount: failed, Entries: results });
      } catch (error) {
        reply(res, 500, { __type: "InternalException", message: String(error) }, "InternalException");
      } finally {
        inFlight--;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    requests,
    accepted,
    maxInFlight: () => maxInFlight,
    setBehaviour: (b) => (behaviour = b),
    setOperation: (name, handler) => (handler ? operations.set(name, handler) : operations.delete(name)),
    setLatencyMs: (ms) => (latencyMs = ms),
    reset: () => {
      requests.length = 0;
      accepted.length = 0;
      maxInFlight = 0;
      behaviour = acceptAll;
      latencyMs = 0;
      operations.clear();
    },
    client: (options = {}) =>
      new EventBridgeClient({
        endpoint,
        region: "us-east-1",
        credentials: { accessKeyId: "test", secretAccessKey: "test" },
        maxAttempts: options.maxAttempts ?? 1,
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
