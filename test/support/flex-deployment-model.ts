import * as crypto from "crypto";
import * as http from "http";
import type { AddressInfo } from "net";
import { readZip } from "./zip-reader";

/**
 * A MODEL of the three Azure endpoints a Flex Consumption package deployment talks to, on one
 * local HTTP server: the Blob service (Put Blob into the deployment container) and the ARM site
 * operations restart, syncfunctiontriggers and list functions. Not Azure: it answers as the
 * documentation describes, and models the two delays a first deployment meets:
 * - the deployer's new Storage Blob Data Contributor assignment not yet effective: Put Blob answers
 *   403 AuthorizationPermissionMismatch (Blob service error codes);
 * - the app identity's new Storage Blob Data Reader assignment not yet effective when the app
 *   starts: the host starts without a package and lists no function.
 * The app "loads" a package the way the Functions host would need to: the uploaded bytes must be a
 * ZIP with host.json and an index.js that registers a Service Bus trigger; the function names come
 * from that file, so a corrupt or foreign package lists nothing.
 */
export interface FlexModelOptions {
    /** Bearer token every request must carry. */
    token: string;
    /** ARM id of the one site the model hosts. */
    appResourceId: string;
    /** Path of the deployment container on the blob endpoint, e.g. `/acct/container`. */
    containerPath: string;
    /** Put Blob calls answered 403 before the upload role "propagates". */
    uploadsForbidden?: number;
    /** App starts that happen before the app identity can read the package. */
    startsWithoutPackageAccess?: number;
    /** ARM calls answered 403 AuthorizationFailed before the deployer's ARM role "propagates". */
    armForbidden?: number;
    /** Answer every Put Blob with this status instead (e.g. 400), to model a refusal. */
    uploadStatus?: number;
}

export interface FlexModel {
    url: string;
    /** Every request, in order: "PUT /acct/container/released-package.zip", "POST restart", … */
    log: string[];
    blobs: Map<string, Buffer>;
    /** Function names the running host loaded from the package. */
    loaded: string[];
    /** Function names the platform knows (what the last sync saw). */
    synced: string[];
    stop(): Promise<void>;
}

const API_VERSION = "2025-05-01";

export async function startFlexModel(options: FlexModelOptions): Promise<FlexModel> {
    let uploadsForbidden = options.uploadsForbidden ?? 0;
    let startsWithoutAccess = options.startsWithoutPackageAccess ?? 0;
    let armForbidden = options.armForbidden ?? 0;
    const model: Omit<FlexModel, "url" | "stop"> = { log: [], blobs: new Map(), loaded: [], synced: [] };

    const functionsIn = (zip: Buffer | undefined): string[] => {
        if (!zip) return [];
        try {
            const files = readZip(zip);
            if (!files.has("host.json")) return [];
            const entry = files.get("index.js")?.toString("utf8") ?? "";
            return [...entry.matchAll(/app\.serviceBusQueue\("([^"]+)"/g)].map((m) => m[1]);
        } catch {
            return [];
        }
    };

    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            const body = Buffer.concat(chunks);
            const url = new URL(req.url ?? "/", "http://model");
            const send = (status: number, text = "", type = "application/json") => {
                res.writeHead(status, { "content-type": type });
                res.end(text);
            };
            if (req.headers.authorization !== `Bearer ${options.token}`) {
                model.log.push(`${req.method} ${url.pathname} unauthenticated`);
                return send(401, JSON.stringify({ error: { code: "InvalidAuthenticationToken", message: "The access token is invalid." } }));
            }
            if (url.pathname.startsWith(options.containerPath + "/")) {
                model.log.push(`${req.method} ${url.pathname}`);
                const xml = (code: string, message: string) => `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
                if (req.method !== "PUT") return send(405, xml("UnsupportedHttpVerb", "model: only Put Blob"), "application/xml");
                if (options.uploadStatus) return send(options.uploadStatus, xml("InvalidHeaderValue", "refused by the model"), "application/xml");
                if (uploadsForbidden > 0) {
                    uploadsForbidden -= 1;
                    return send(403, xml("AuthorizationPermissionMismatch", "This request is not authorized to perform this operation using this permission."), "application/xml");
                }
                if (req.headers["x-ms-blob-type"] !== "BlockBlob") return send(400, xml("MissingRequiredHeader", "x-ms-blob-type"), "application/xml");
                if (!req.headers["x-ms-version"]) return send(400, xml("MissingRequiredHeader", "x-ms-version"), "application/xml");
                const md5 = req.headers["content-md5"];
                if (md5 && md5 !== crypto.createHash("md5").update(body).digest("base64")) return send(400, xml("Md5Mismatch", "The MD5 value specified in the request did not match."), "application/xml");
                model.blobs.set(url.pathname, body);
                return send(201, "", "application/xml");
            }
            const action = url.pathname.startsWith(options.appResourceId + "/") ? url.pathname.slice(options.appResourceId.length + 1) : undefined;
            model.log.push(`${req.method} ${action ?? url.pathname}`);
            if (action === undefined) return send(404, JSON.stringify({ error: { code: "ResourceNotFound", message: `model: no resource ${url.pathname}` } }));
            if (url.searchParams.get("api-version") !== API_VERSION) {
                return send(400, JSON.stringify({ error: { code: "InvalidApiVersionParameter", message: `model serves ${API_VERSION}` } }));
            }
            if (armForbidden > 0) {
                armForbidden -= 1;
                return send(403, JSON.stringify({ error: { code: "AuthorizationFailed", message: "The client does not have authorization to perform action." } }));
            }
            if (req.method === "POST" && action === "restart") {
                const canRead = startsWithoutAccess === 0;
                if (!canRead) startsWithoutAccess -= 1;
                const packageBlob = model.blobs.get(`${options.containerPath}/released-package.zip`);
                model.loaded = canRead ? functionsIn(packageBlob) : [];
                return send(200);
            }
            if (req.method === "POST" && action === "syncfunctiontriggers") {
                model.synced = [...model.loaded];
                return send(204);
            }
            if (req.method === "GET" && action === "functions") {
                const site = options.appResourceId.split("/").pop();
                const value = model.synced.map((name) => ({
                    id: `${options.appResourceId}/functions/${name}`,
                    name: `${site}/${name}`,
                    type: "Microsoft.Web/sites/functions",
                    properties: { name, isDisabled: false },
                }));
                return send(200, JSON.stringify({ value }));
            }
            return send(404, JSON.stringify({ error: { code: "NotFound", message: `model: no ${req.method} ${action}` } }));
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return Object.assign(model, {
        url: `http://127.0.0.1:${port}`,
        stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
    });
}
