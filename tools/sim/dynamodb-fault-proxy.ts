/**
 * Producer-side faults on the way to DynamoDB Local (REAL): an HTTP proxy that, per request, either
 * forwards it, answers with a DynamoDB error without forwarding (nothing written), or forwards it and
 * throws the answer away (written, but the client sees a dropped connection: "timed out after
 * commit"). The error bodies are DynamoDB's JSON protocol (`__type` and message; for a cancelled
 * transaction the per-item CancellationReasons), as the DynamoDB API reference documents for
 * TransactWriteItems (TransactionCanceledException, ThrottlingException).
 */
import * as http from "http";
import { AddressInfo } from "net";

export type ProxyDecision = "forward" | "drop-response" | { status: number; type: string; message: string; cancellationReasons?: { Code: string; Message?: string }[] };

export interface DynamoDbFaultProxy {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export async function startDynamoDbFaultProxy(upstream: string, decide: (target: string, body: string) => ProxyDecision): Promise<DynamoDbFaultProxy> {
  const upstreamUrl = new URL(upstream);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const decision = decide(String(req.headers["x-amz-target"] ?? ""), body.toString("utf8"));
      if (typeof decision === "object") {
        const payload = JSON.stringify({
          __type: decision.type,
          message: decision.message,
          ...(decision.cancellationReasons ? { CancellationReasons: decision.cancellationReasons } : {}),
        });
        res.writeHead(decision.status, { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "sim-proxy" });
        res.end(payload);
        return;
      }
      const forward = http.request(
        { host: upstreamUrl.hostname, port: upstreamUrl.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstreamUrl.host } },
        (upstreamRes) => {
          const answer: Buffer[] = [];
          upstreamRes.on("data", (c: Buffer) => answer.push(c));
          upstreamRes.on("end", () => {
            if (decision === "drop-response") {
              req.socket.destroy();
              return;
            }
            res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
            res.end(Buffer.concat(answer));
          });
        },
      );
      forward.on("error", () => req.socket.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
