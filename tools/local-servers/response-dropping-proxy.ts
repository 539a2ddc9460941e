import * as http from "http";
import { AddressInfo } from "net";

/**
 * An HTTP proxy in front of a real server that forwards every request but, when `dropResponse`
 * says so, throws the server's answer away and cuts the connection. From the client's side that is
 * a timeout after the server already applied the request: the case a retry must survive.
 */
export interface ResponseDroppingProxy {
  readonly endpoint: string;
  /** Requests forwarded so far, with their X-Amz-Target. */
  readonly forwarded: { target: string; dropped: boolean }[];
  stop(): Promise<void>;
}

export async function startResponseDroppingProxy(
  upstream: string,
  dropResponse: (target: string, index: number) => boolean,
): Promise<ResponseDroppingProxy> {
  const upstreamUrl = new URL(upstream);
  const forwarded: { target: string; dropped: boolean }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const target = String(req.headers["x-amz-target"] ?? "");
      const drop = dropResponse(target, forwarded.length);
      forwarded.push({ target, dropped: drop });
      const upstreamReq = http.request(
        {
          host: upstreamUrl.hostname,
          port: upstreamUrl.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstreamUrl.host },
        },
        (upstreamRes) => {
          const body: Buffer[] = [];
          upstreamRes.on("data", (c: Buffer) => body.push(c));
          upstreamRes.on("end", () => {
            if (drop) {
              req.socket.destroy();
              return;
            }
            res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
            res.end(Buffer.concat(body));
          });
        },
      );
      upstreamReq.on("error", () => req.socket.destroy());
      upstreamReq.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    forwarded,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
