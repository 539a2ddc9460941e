/**
 * Delivers the consumer's package to a Flex Consumption app and makes the app run it, with the
 * deployer's own Entra credential. No @pulumi import: the dynamic provider in
 * package-deployment.ts serializes this code into the provider it hands the engine, and the tests
 * drive it against a local model of the documented endpoints.
 *
 * The steps and what documents them:
 * 1. upload: Put Blob of `released-package.zip` into the app's deployment container (Blob service
 *    REST "Put Blob", bearer token of scope https://storage.azure.com; Content-MD5 makes the service
 *    refuse a corrupted body). Flex Consumption runs from the package in that container: "After your
 *    project code is built and zipped into an application package, it is deployed to a blob storage
 *    container. Upon startup, your app will retrieve the package and run from it." (Microsoft Learn,
 *    "Azure Functions Flex Consumption plan hosting", Deployment). The file name must be
 *    `released-package.zip` (Learn, "Automate function app resource deployment", Flex Consumption,
 *    "Deployment package").
 * 2. restart: `POST {app}/restart` (WebApps_Restart), so the app retrieves the new package at startup.
 * 3. sync triggers: `POST {app}/syncfunctiontriggers` (WebApps_SyncFunctionTriggers; Learn,
 *    "Deployment technologies in Azure Functions", Trigger syncing): without it the scale controller
 *    does not know the Service Bus trigger and never wakes the app for queued messages.
 * 4. confirm: `GET {app}/functions` (WebApps_ListFunctions) until the consumer's function is
 *    listed, i.e. the host loaded the package and its trigger is known to the platform. Until then
 *    the app is restarted and synced again: a first start can fail to read the package while the
 *    app identity's new role assignment propagates.
 * ARM operations: Azure/azure-rest-api-specs, specification/web/resource-manager/Microsoft.Web/
 * AppService/stable/2025-05-01/WebApps.json (the version @pulumi/azure-native 3.28.0 uses for sites).
 *
 * Every step retries with capped exponential backoff on answers that mean "not yet" (401/403 while
 * a role assignment propagates, 404 while a just-created resource becomes visible, 408/429/5xx,
 * network errors) and fails at once on any other answer, naming the step. After the retry budget
 * the error names the step and the last answer.
 */

export const WEB_API_VERSION = "2025-05-01";
/** Blob service REST version of the upload; bearer tokens need 2017-11-09 or later. */
export const BLOB_API_VERSION = "2023-11-03";
/** The package name Flex Consumption looks for in its deployment container. */
export const FLEX_PACKAGE_NAME = "released-package.zip";

export interface HttpRequest {
    method: "GET" | "PUT" | "POST";
    url: string;
    headers: Record<string, string>;
    body?: Buffer;
}

export interface HttpResponse {
    status: number;
    body: string;
}

/** Everything the delivery does to the outside world; production wires fetch and @azure/identity. */
export interface DeliveryPorts {
    send(request: HttpRequest): Promise<HttpResponse>;
    /** An Entra access token of the deployer for `https://storage.azure.com` or the ARM endpoint. */
    token(audience: "storage" | "management"): Promise<string>;
    readPackage(path: string): Promise<Buffer>;
    sha256(data: Buffer): string;
    md5Base64(data: Buffer): string;
    sleep(ms: number): Promise<void>;
    log(line: string): void;
}

export interface RetryPolicy {
    /** First wait after a "not yet" answer. */
    initialDelayMs: number;
    /** Longest single wait. */
    maxDelayMs: number;
    /** Total time a step may keep retrying before the deployment fails. */
    budgetMs: number;
}

export interface DeliveryRequest {
    /** `https://<account>.blob.core.windows.net/<container>/released-package.zip`. */
    packageUrl: string;
    /** ARM id of the function app: `/subscriptions/…/providers/Microsoft.Web/sites/<name>`. */
    appResourceId: string;
    /** ARM endpoint, e.g. `https://management.azure.com` (another cloud has another). */
    managementEndpoint: string;
    /** The function the package registers; its listing proves the package was loaded. */
    functionName: string;
    /** Local path of the ZIP built by the program. */
    packagePath: string;
    /** SHA-256 of that ZIP, hex, as the program computed it. */
    packageSha256: string;
    /** Entra object id the upload role was granted to; a token of another principal fails at once. */
    deployerObjectId?: string;
    retry: RetryPolicy;
}

export interface DeliveryResult {
    packageSha256: string;
    attempts: Record<StepName, number>;
}

export type StepName = "upload package" | "restart app" | "sync triggers" | "confirm function loaded";

export class PackageDeliveryError extends Error {
    constructor(
        public readonly step: StepName,
        message: string,
    ) {
        super(`consumer package deployment, step "${step}": ${message}`);
        this.name = "PackageDeliveryError";
    }
}

/** Statuses that mean "not yet" while roles propagate and resources appear. */
export function isRetryable(status: number): boolean {
    return status === 401 || status === 403 || status === 404 || status === 408 || status === 429 || status >= 500;
}

function describe(response: HttpResponse): string {
    const text = response.body.replace(/\s+/g, " ").trim();
    return `HTTP ${response.status}${text ? ` ${text.slice(0, 300)}` : ""}`;
}

/** The `oid` claim of a JWT access token, or undefined when it is not a readable JWT. */
export function tokenObjectId(token: string): string | undefined {
    const payload = token.split(".")[1];
    if (!payload) return undefined;
    try {
        const claims = JSON.parse(Buffer.from(payload.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("utf8")) as { oid?: unknown };
        return typeof claims.oid === "string" ? claims.oid : undefined;
    } catch {
        return undefined;
    }
}

type Outcome = { done: true } | { done: false; why: string };

async function withRetry(step: StepName, retry: RetryPolicy, ports: DeliveryPorts, attempts: Record<StepName, number>, attempt: () => Promise<Outcome>): Promise<void> {
    let waited = 0;
    let delay = retry.initialDelayMs;
    for (;;) {
        attempts[step] += 1;
        let outcome: Outcome;
        try {
            outcome = await attempt();
        } catch (error) {
            if (error instanceof PackageDeliveryError) throw error;
            outcome = { done: false, why: `request failed: ${error instanceof Error ? error.message : String(error)}` };
        }
        if (outcome.done) return;
        if (waited + delay > retry.budgetMs) {
            throw new PackageDeliveryError(
                step,
                `gave up after ${attempts[step]} attempts over ${Math.round(waited / 1000)} s (retry budget ${Math.round(retry.budgetMs / 1000)} s); last: ${outcome.why}. ` +
                    "If a role assignment was just created, run `pulumi up` again once it has propagated; otherwise check the roles named in docs/azure-consumer-hosting.md.",
            );
        }
        ports.log(`${step}: not yet (${outcome.why}); retrying in ${Math.round(delay / 1000)} s`);
        await ports.sleep(delay);
        waited += delay;
        delay = Math.min(retry.maxDelayMs, delay * 2);
    }
}

function armUrl(request: DeliveryRequest, action: string): string {
    return `${request.managementEndpoint.replace(/\/+$/, "")}${request.appResourceId}/${action}?api-version=${WEB_API_VERSION}`;
}

function validate(request: DeliveryRequest): void {
    const url = new URL(request.packageUrl);
    if (!url.pathname.endsWith(`/${FLEX_PACKAGE_NAME}`)) {
        throw new PackageDeliveryError("upload package", `packageUrl ${request.packageUrl} must name ${FLEX_PACKAGE_NAME}, the file Flex Consumption runs`);
    }
    if (!/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Web\/sites\/[^/]+$/i.test(request.appResourceId)) {
        throw new PackageDeliveryError("restart app", `appResourceId ${JSON.stringify(request.appResourceId)} is not the ARM id of a site`);
    }
    if (!/^[0-9a-f]{64}$/.test(request.packageSha256)) {
        throw new PackageDeliveryError("upload package", `packageSha256 ${JSON.stringify(request.packageSha256)} is not a SHA-256 in hex`);
    }
}

export async function deliverPackage(request: DeliveryRequest, ports: DeliveryPorts): Promise<DeliveryResult> {
    validate(request);
    const attempts: Record<StepName, number> = { "upload package": 0, "restart app": 0, "sync triggers": 0, "confirm function loaded": 0 };

    const data = await ports.readPackage(request.packagePath);
    const actual = ports.sha256(data);
    if (actual !== request.packageSha256) {
        throw new PackageDeliveryError(
            "upload package",
            `${request.packagePath} has SHA-256 ${actual}, not the ${request.packageSha256} the program built; it changed after the preview. Run \`pulumi up\` again.`,
        );
    }
    const md5 = ports.md5Base64(data);

    await withRetry("upload package", request.retry, ports, attempts, async () => {
        const token = await ports.token("storage");
        const oid = tokenObjectId(token);
        if (request.deployerObjectId && oid && oid !== request.deployerObjectId) {
            throw new PackageDeliveryError(
                "upload package",
                `the Azure credential of this process is principal ${oid}, but the upload role was granted to ${request.deployerObjectId} ` +
                    "(the principal the azure-native provider signs in as). Sign both in as the same principal (see docs/azure-consumer-hosting.md).",
            );
        }
        const response = await ports.send({
            method: "PUT",
            url: request.packageUrl,
            headers: {
                authorization: `Bearer ${token}`,
                "x-ms-version": BLOB_API_VERSION,
                "x-ms-blob-type": "BlockBlob",
                "content-type": "application/zip",
                "content-md5": md5,
                "x-ms-meta-sha256": request.packageSha256,
            },
            body: data,
        });
        if (response.status === 201) return { done: true };
        if (isRetryable(response.status)) return { done: false, why: describe(response) };
        throw new PackageDeliveryError("upload package", `refused: ${describe(response)}`);
    });
    ports.log(`upload package: ${data.length} bytes to ${request.packageUrl}`);

    const arm = async (step: StepName, method: "POST" | "GET", action: string): Promise<HttpResponse | Outcome> => {
        const token = await ports.token("management");
        const response = await ports.send({ method, url: armUrl(request, action), headers: { authorization: `Bearer ${token}` } });
        if (response.status >= 200 && response.status < 300) return response;
        if (isRetryable(response.status)) return { done: false, why: describe(response) };
        throw new PackageDeliveryError(step, `refused: ${describe(response)}`);
    };
    const restartAndSync = async (): Promise<Outcome> => {
        const restarted = await arm("restart app", "POST", "restart");
        if ("done" in restarted) return restarted;
        const synced = await arm("sync triggers", "POST", "syncfunctiontriggers");
        if ("done" in synced) return synced;
        return { done: true };
    };

    await withRetry("restart app", request.retry, ports, attempts, async () => {
        const restarted = await arm("restart app", "POST", "restart");
        return "done" in restarted ? restarted : { done: true };
    });
    await withRetry("sync triggers", request.retry, ports, attempts, async () => {
        const synced = await arm("sync triggers", "POST", "syncfunctiontriggers");
        return "done" in synced ? synced : { done: true };
    });
    await withRetry("confirm function loaded", request.retry, ports, attempts, async () => {
        const listed = await arm("confirm function loaded", "GET", "functions");
        if ("done" in listed) return listed;
        if (functionListed(listed.body, request.functionName)) return { done: true };
        // Loaded nothing yet: most likely the app started before it could read the package.
        const again = await restartAndSync();
        return { done: false, why: `function ${request.functionName} not listed yet${again.done ? "; app restarted and triggers synced again" : ` (${again.why})`}` };
    });
    ports.log(`confirm function loaded: ${request.functionName} is listed`);
    return { packageSha256: request.packageSha256, attempts };
}

/** Whether a WebApps_ListFunctions answer lists `functionName` (entries are named `<site>/<function>`). */
export function functionListed(body: string, functionName: string): boolean {
    let parsed: unknown;
    try {
        parsed = JSON.parse(body);
    } catch {
        return false;
    }
    const value = (parsed as { value?: unknown }).value;
    if (!Array.isArray(value)) return false;
    return value.some((entry) => {
        const e = entry as { name?: unknown; properties?: { name?: unknown } };
        return e.properties?.name === functionName || (typeof e.name === "string" && e.name.split("/").pop() === functionName);
    });
}
