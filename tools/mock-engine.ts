/**
 * Runs a Pulumi program without the Pulumi CLI or any cloud: `pulumi.runtime.setMocks` stands in
 * for the engine, and every resource registration is recorded with its parent, provider and inputs.
 * The offline preview and the tests use it. It proves that the program evaluates, what it would ask
 * the providers to create and how the resources refer to each other; it does not prove that a cloud
 * accepts those inputs. Outputs that only a provider computes (ARNs, ids, endpoints) are invented
 * here, deterministically, in the providers' formats.
 */
import * as fs from "fs";
import * as path from "path";
import * as crypto from "crypto";
import * as yaml from "js-yaml";
import * as pulumi from "@pulumi/pulumi";
import { containsArchive, measureArchive, writeArchive } from "./archives";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { deserializeProperties, deserializeProperty, specialSigKey, specialSecretSig } from "@pulumi/pulumi/runtime/rpc";
// `waitForRPCs` is marked internal in the SDK's typings; the language host uses it the same way.
const settings = require("@pulumi/pulumi/runtime/settings") as { getMonitor(): unknown; waitForRPCs(): Promise<void> };

export const FAKE_AWS_ACCOUNT = "123456789012";
export const FAKE_SUBSCRIPTION = "00000000-0000-4000-8000-000000000001";
export const FAKE_TENANT = "00000000-0000-4000-8000-000000000002";
export const FAKE_DEPLOYER_OBJECT_ID = "00000000-0000-4000-8000-000000000003";
export const FAKE_DEPLOYER_CLIENT_ID = "00000000-0000-4000-8000-000000000004";
/** The clock of time-provider resources under the mocks, so outputs are reproducible. */
export const FAKE_NOW = "2026-01-01T00:00:00Z";

/**
 * Time as the time provider sees it. `rotations` carries each time.Rotating's state from one run
 * to the next, so a test can deploy the same program at later instants: a Rotating is kept until
 * `now` passes its rotation time, then created again (what a `pulumi up --refresh` does).
 */
export interface MockClock {
    now: string;
    rotations: Record<string, { rfc3339: string; rotationRfc3339: string; input?: string }>;
}

const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(".000", "");

export interface RecordedResource {
    urn: string;
    type: string;
    name: string;
    /** URN of the parent resource; undefined for the stack itself. */
    parent?: string;
    /** Provider reference (`<provider urn>::<id>`) when one was given or inherited. */
    provider?: string;
    custom: boolean;
    /** Inputs as the provider would receive them; secrets are unwrapped here and listed in `secretInputs`. */
    inputs: Record<string, unknown>;
    /** Top-level input names whose value was a secret. */
    secretInputs: string[];
    /** Resource options that matter to a reader. */
    protect: boolean;
    dependsOn: string[];
    /** `replaceOnChanges` of the registration: the cloud-constraints check needs it for create-only properties. */
    replaceOnChanges?: string[];
    /** `deleteBeforeReplace` of the registration (a fixed-name resource cannot be created before its old self is gone). */
    deleteBeforeReplace?: boolean;
    /** Outputs: for custom resources the mocked state (with `id`), for components what they registered. */
    outputs: Record<string, unknown>;
    /** Top-level output names whose value is a secret. */
    secretOutputs: string[];
}

export interface ProgramRun {
    resources: RecordedResource[];
    outputs: Record<string, unknown>;
    /** Stack output names whose value is a secret. */
    secretOutputs: string[];
}

export interface StackConfig {
    /** Fully qualified keys (`project:key`, `aws:region`) to raw string values, as the CLI hands them to a program. */
    values: Record<string, string>;
    secretKeys: string[];
}

/**
 * Reads a stack's configuration the way the Pulumi CLI does: project-level defaults from
 * Pulumi.yaml's `config:` schema, overridden by Pulumi.<stack>.yaml. Secure values cannot be
 * decrypted without the CLI; they are replaced by a placeholder and marked secret.
 */
export function loadStackConfig(projectDir: string, stack: string): StackConfig {
    const project = yaml.load(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8")) as {
        name: string;
        config?: Record<string, { default?: unknown } | unknown>;
    };
    const stackFile = path.join(projectDir, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(stackFile)) {
        const known = fs.readdirSync(projectDir).filter((f) => /^Pulumi\..+\.yaml$/.test(f)).map((f) => f.slice(7, -5));
        throw new Error(`no stack "${stack}": ${stackFile} does not exist (stacks here: ${known.join(", ") || "none"})`);
    }
    const stackDoc = (yaml.load(fs.readFileSync(stackFile, "utf8")) ?? {}) as { config?: Record<string, unknown> };

    const values: Record<string, string> = {};
    const secretKeys: string[] = [];
    const qualify = (key: string) => (key.includes(":") ? key : `${project.name}:${key}`);
    const put = (key: string, value: unknown) => {
        const full = qualify(key);
        if (value !== null && typeof value === "object" && !Array.isArray(value) && "secure" in (value as object)) {
            values[full] = "[secret: encrypted in the stack file, not decrypted offline]";
            secretKeys.push(full);
            return;
        }
        values[full] = typeof value === "string" ? value : JSON.stringify(value);
    };
    for (const [key, schema] of Object.entries(project.config ?? {})) {
        const declared = schema !== null && typeof schema === "object" && !Array.isArray(schema) ? (schema as { default?: unknown; value?: unknown }) : { value: schema };
        const value = "value" in declared ? declared.value : declared.default;
        if (value !== undefined) put(key, value);
    }
    for (const [key, value] of Object.entries(stackDoc.config ?? {})) {
        put(key, value);
    }
    return { values, secretKeys };
}

/** Invented outputs for a resource, in the formats the real providers return. */
export function mockOutputs(
    type: string,
    name: string,
    inputs: Record<string, any>,
    region = "us-east-1",
    clock: MockClock = { now: FAKE_NOW, rotations: {} },
    ignoreChanges: readonly string[] = [],
): { id: string; state: Record<string, unknown> } {
    const digest = crypto.createHash("sha256").update(`${type}/${name}`).digest("hex");
    const uuid = `${digest.slice(0, 8)}-${digest.slice(8, 12)}-4${digest.slice(13, 16)}-8${digest.slice(17, 20)}-${digest.slice(20, 32)}`;
    const physical = inputs.name ?? `${name}-${digest.slice(0, 7)}`;
    const arn = (service: string, resource: string) => `arn:aws:${service}:${region}:${FAKE_AWS_ACCOUNT}:${resource}`;
    const rg = (group: unknown) => `/subscriptions/${FAKE_SUBSCRIPTION}/resourceGroups/${group}`;
    const state: Record<string, unknown> = { ...inputs };

    switch (type) {
        case "aws:dynamodb/table:Table":
            Object.assign(state, {
                name: physical,
                arn: arn("dynamodb", `table/${physical}`),
                streamArn: inputs.streamEnabled ? arn("dynamodb", `table/${physical}/stream/2026-01-01T00:00:00.000`) : undefined,
            });
            return { id: physical, state };
        case "aws:cloudwatch/eventBus:EventBus":
            Object.assign(state, { name: physical, arn: arn("events", `event-bus/${physical}`) });
            return { id: physical, state };
        case "aws:cloudwatch/eventArchive:EventArchive":
            Object.assign(state, { name: physical, arn: arn("events", `archive/${physical}`) });
            return { id: physical, state };
        case "aws:cloudwatch/eventRule:EventRule": {
            const bus = inputs.eventBusName ?? "default";
            Object.assign(state, { name: physical, arn: arn("events", `rule/${bus}/${physical}`) });
            return { id: `${bus}/${physical}`, state };
        }
        case "aws:cloudwatch/eventConnection:EventConnection":
            Object.assign(state, {
                name: physical,
                arn: arn("events", `connection/${physical}/${uuid}`),
                secretArn: arn("secretsmanager", `secret:events!connection/${physical}/${uuid}`),
            });
            return { id: physical, state };
        case "aws:cloudwatch/eventApiDestination:EventApiDestination":
            Object.assign(state, { name: physical, arn: arn("events", `api-destination/${physical}/${uuid}`) });
            return { id: physical, state };
        case "aws:sqs/queue:Queue":
            Object.assign(state, {
                name: physical,
                arn: arn("sqs", physical),
                url: `https://sqs.${region}.amazonaws.com/${FAKE_AWS_ACCOUNT}/${physical}`,
            });
            return { id: `https://sqs.${region}.amazonaws.com/${FAKE_AWS_ACCOUNT}/${physical}`, state };
        case "aws:sns/topic:Topic":
            Object.assign(state, { name: physical, arn: arn("sns", physical) });
            return { id: arn("sns", physical), state };
        case "aws:kms/key:Key":
            Object.assign(state, { keyId: uuid, arn: arn("kms", `key/${uuid}`) });
            return { id: uuid, state };
        case "aws:lambda/function:Function":
            Object.assign(state, {
                name: physical,
                arn: arn("lambda", `function:${physical}`),
                invokeArn: `arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/${arn("lambda", `function:${physical}`)}/invocations`,
            });
            return { id: physical, state };
        case "aws:cloudwatch/logGroup:LogGroup":
            Object.assign(state, { name: physical, arn: arn("logs", `log-group:${physical}`) });
            return { id: physical, state };
        case "aws:lambda/eventSourceMapping:EventSourceMapping":
            Object.assign(state, { uuid, arn: arn("lambda", `event-source-mapping:${uuid}`) });
            return { id: uuid, state };
        case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            // IAM names the provider by its URL without the scheme (CreateOpenIDConnectProvider response).
            Object.assign(state, { arn: `arn:aws:iam::${FAKE_AWS_ACCOUNT}:oidc-provider/${String(inputs.url).replace(/^https:\/\//, "")}` });
            return { id: `arn:aws:iam::${FAKE_AWS_ACCOUNT}:oidc-provider/${String(inputs.url).replace(/^https:\/\//, "")}`, state };
        case "aws:iam/role:Role":
            Object.assign(state, { name: physical, arn: `arn:aws:iam::${FAKE_AWS_ACCOUNT}:role/${physical}` });
            return { id: physical, state };
        case "azure-native:resources:ResourceGroup": {
            const group = inputs.resourceGroupName ?? `${name}${digest.slice(0, 8)}`;
            Object.assign(state, { name: group, id: rg(group) });
            return { id: rg(group), state };
        }
        case "azure-native:servicebus:Namespace": {
            const id = `${rg(inputs.resourceGroupName)}/providers/Microsoft.ServiceBus/namespaces/${inputs.namespaceName}`;
            Object.assign(state, { name: inputs.namespaceName, serviceBusEndpoint: `https://${inputs.namespaceName}.servicebus.windows.net:443/` });
            return { id, state };
        }
        case "azure-native:servicebus:Queue": {
            const id = `${rg(inputs.resourceGroupName)}/providers/Microsoft.ServiceBus/namespaces/${inputs.namespaceName}/queues/${inputs.queueName}`;
            Object.assign(state, { name: inputs.queueName });
            return { id, state };
        }
        case "azure-native:monitor:ActionGroup":
            return { id: `${rg(inputs.resourceGroupName)}/providers/microsoft.insights/actionGroups/${name}`, state: { ...state, name } };
        case "azure-native:monitor:MetricAlert":
            return { id: `${rg(inputs.resourceGroupName)}/providers/microsoft.insights/metricAlerts/${name}`, state: { ...state, name } };
        case "azure-native:authorization:RoleAssignment":
            return { id: `${inputs.scope}/providers/Microsoft.Authorization/roleAssignments/${uuid}`, state: { ...state, name: uuid } };
        case "azure-native:authorization:ManagementLockByScope":
            return { id: `${inputs.scope}/providers/Microsoft.Authorization/locks/${name}`, state: { ...state, name } };
        case "azure-native:managedidentity:UserAssignedIdentity": {
            const id = `${rg(inputs.resourceGroupName)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${physical}`;
            return { id, state: { ...state, name: physical, principalId: `${uuid.slice(0, -4)}9a1d`, clientId: `${uuid.slice(0, -4)}c11d`, tenantId: FAKE_TENANT } };
        }
        case "azure-native:storage:StorageAccount": {
            const account = inputs.accountName ?? physical;
            const id = `${rg(inputs.resourceGroupName)}/providers/Microsoft.Storage/storageAccounts/${account}`;
            return { id, state: { ...state, name: account, primaryEndpoints: { blob: `https://${account}.blob.core.windows.net/` } } };
        }
        case "azure-native:storage:BlobContainer": {
            const container = inputs.containerName ?? physical;
            return { id: `${rg(inputs.resourceGroupName)}/providers/Microsoft.Storage/storageAccounts/${inputs.accountName}/blobServices/default/containers/${container}`, state: { ...state, name: container } };
        }
        case "azure-native:storage:Blob": {
            const blob = inputs.blobName ?? physical;
            const url = `https://${inputs.accountName}.blob.core.windows.net/${inputs.containerName}/${blob}`;
            return { id: url, state: { ...state, name: blob, url } };
        }
        case "azure-native:redisenterprise:RedisEnterprise": {
            const cluster = inputs.clusterName ?? physical;
            const id = `${rg(inputs.resourceGroupName)}/providers/Microsoft.Cache/redisEnterprise/${cluster}`;
            return { id, state: { ...state, name: cluster, hostName: `${cluster}.${inputs.location}.redis.azure.net` } };
        }
        case "azure-native:redisenterprise:Database": {
            const db = inputs.databaseName ?? "default";
            return { id: `${rg(inputs.resourceGroupName)}/providers/Microsoft.Cache/redisEnterprise/${inputs.clusterName}/databases/${db}`, state: { ...state, name: db } };
        }
        case "azure-native:dbforpostgresql:Server": {
            const server = inputs.serverName ?? physical;
            const id = `${rg(inputs.resourceGroupName)}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${server}`;
            return { id, state: { ...state, name: server, fullyQualifiedDomainName: `${server}.postgres.database.azure.com` } };
        }
        case "azure-native:dbforpostgresql:Database": {
            const db = inputs.databaseName ?? physical;
            return { id: `${rg(inputs.resourceGroupName)}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${inputs.serverName}/databases/${db}`, state: { ...state, name: db } };
        }
        case "azure-native:web:WebApp":
        case "azure-native:web:AppServicePlan": {
            const kind = type.endsWith("WebApp") ? "sites" : "serverfarms";
            const site = inputs.name ?? physical;
            return { id: `${rg(inputs.resourceGroupName)}/providers/Microsoft.Web/${kind}/${site}`, state: { ...state, name: site, defaultHostName: `${site}.azurewebsites.net` } };
        }
        case "azure-native:applicationinsights:Component": {
            const id = `${rg(inputs.resourceGroupName)}/providers/Microsoft.Insights/components/${physical}`;
            // Not a secret: an instrumentation key identifies the resource; with local auth off it cannot send.
            return { id, state: { ...state, name: physical, connectionString: `InstrumentationKey=${uuid};IngestionEndpoint=https://${inputs.location}.in.applicationinsights.azure.com/` } };
        }
        case "azure-native:operationalinsights:Workspace":
            return { id: `${rg(inputs.resourceGroupName)}/providers/Microsoft.OperationalInsights/workspaces/${physical}`, state: { ...state, name: physical, customerId: uuid } };
        case "azuread:index/application:Application":
            Object.assign(state, { clientId: uuid, objectId: `${uuid.slice(0, -4)}0b30` });
            return { id: `/applications/${uuid.slice(0, -4)}0b30`, state };
        case "azuread:index/servicePrincipal:ServicePrincipal":
            Object.assign(state, { objectId: `${uuid.slice(0, -4)}5b00` });
            return { id: `/servicePrincipals/${uuid.slice(0, -4)}5b00`, state };
        case "azuread:index/applicationPassword:ApplicationPassword":
            // The provider returns the password as a secret; so do the mocks.
            // A new rotateWhenChanged means a new password: new key id, new value.
            const generation = crypto.createHash("sha256").update(`${name}/${JSON.stringify(inputs.rotateWhenChanged ?? {})}`).digest("hex");
            Object.assign(state, {
                keyId: `${generation.slice(0, 8)}-${generation.slice(8, 12)}-4${generation.slice(13, 16)}-8${generation.slice(17, 20)}-${generation.slice(20, 32)}`,
                value: secretValue(`mock-secret-${generation.slice(0, 16)}`),
                startDate: clock.now,
            });
            return { id: `${inputs.applicationId}/password/${uuid}`, state };
        case "random:index/randomString:RandomString": {
            const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
            const result = Array.from(Buffer.from(digest, "hex").subarray(0, inputs.length ?? 8), (b) => alphabet[b % alphabet.length]).join("");
            Object.assign(state, { result });
            return { id: result, state };
        }
        case "time:index/rotating:Rotating": {
            const kept = clock.rotations[name];
            // A changed base replaces the resource, unless the program ignores changes to it.
            const baseChanged = kept !== undefined && kept.input !== inputs.rfc3339 && !ignoreChanges.includes("rfc3339");
            if (kept && !baseChanged && Date.parse(clock.now) < Date.parse(kept.rotationRfc3339)) {
                const { input: _input, ...outputs } = kept;
                return { id: kept.rfc3339, state: { ...state, ...outputs } };
            }
            const base = Date.parse(inputs.rfc3339 ?? clock.now);
            const period = ((inputs.rotationDays ?? 0) * 86400 + (inputs.rotationHours ?? 0) * 3600 + (inputs.rotationMinutes ?? 0) * 60) * 1000;
            const rotation = { rfc3339: rfc3339(base), rotationRfc3339: inputs.rotationRfc3339 ?? rfc3339(base + period) };
            clock.rotations[name] = { ...rotation, input: inputs.rfc3339 };
            return { id: rotation.rfc3339, state: { ...state, ...rotation } };
        }
        case "time:index/static:Static":
            return { id: clock.now, state: { ...state, rfc3339: clock.now, unix: Math.floor(Date.parse(clock.now) / 1000) } };
        case "time:index/sleep:Sleep":
            return { id: crypto.createHash("sha256").update(JSON.stringify(inputs.triggers ?? {})).digest("hex").slice(0, 16), state };
        case "random:index/randomId:RandomId": {
            const hex = crypto.createHash("sha256").update(`${name}/${JSON.stringify(inputs.keepers ?? {})}`).digest("hex").slice(0, 2 * (inputs.byteLength ?? 8));
            return { id: hex, state: { ...state, hex, dec: BigInt(`0x${hex}`).toString(), b64Url: Buffer.from(hex, "hex").toString("base64url") } };
        }
        case "time:index/offset:Offset": {
            const base = new Date(inputs.baseRfc3339 ?? clock.now);
            const seconds = (inputs.offsetDays ?? 0) * 86400 + (inputs.offsetHours ?? 0) * 3600 + (inputs.offsetMinutes ?? 0) * 60 + (inputs.offsetSeconds ?? 0);
            const at = new Date(base.getTime() + seconds * 1000);
            Object.assign(state, { baseRfc3339: base.toISOString().replace(".000", ""), rfc3339: at.toISOString().replace(".000", ""), unix: Math.floor(at.getTime() / 1000) });
            return { id: base.toISOString(), state };
        }
        default:
            if (type.startsWith("azure-native:")) {
                const id = `${rg(inputs.resourceGroupName ?? "scope")}/providers/${type.split(":")[1]}/${name}`;
                return { id, state: { ...state, name: physical } };
            }
            if (type.startsWith("aws:")) {
                // Some resources take an `arn` input (an EventBridge target's destination): keep it.
                return { id: physical, state: { ...state, name: physical, arn: inputs.arn ?? arn(type.split(":")[1].split("/")[0], physical) } };
            }
            return { id: `${name}-id`, state };
    }
}

/** Results of provider functions (invokes) the program calls. */
export function mockCall(token: string): Record<string, unknown> {
    switch (token) {
        case "aws:index/getCallerIdentity:getCallerIdentity":
            return { accountId: FAKE_AWS_ACCOUNT, arn: `arn:aws:iam::${FAKE_AWS_ACCOUNT}:user/preview`, userId: "PREVIEW" };
        case "aws:index/getPartition:getPartition":
            return { partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" };
        case "aws:index/getRegion:getRegion":
            return { name: "us-east-1", region: "us-east-1" };
        case "azure-native:authorization:getClientConfig":
            return { subscriptionId: FAKE_SUBSCRIPTION, tenantId: FAKE_TENANT, clientId: FAKE_DEPLOYER_CLIENT_ID, objectId: FAKE_DEPLOYER_OBJECT_ID };
        case "azuread:index/getUser:getUser":
            return { objectId: FAKE_DEPLOYER_OBJECT_ID, userPrincipalName: "deployer@contoso.example", displayName: "Preview Deployer" };
        case "azuread:index/getServicePrincipal:getServicePrincipal":
            return { objectId: FAKE_DEPLOYER_OBJECT_ID, clientId: FAKE_DEPLOYER_CLIENT_ID, displayName: "preview-deployer" };
        case "azuread:index/getClientConfig:getClientConfig":
            return { tenantId: FAKE_TENANT, clientId: FAKE_DEPLOYER_CLIENT_ID, objectId: FAKE_DEPLOYER_OBJECT_ID };
        default:
            throw new Error(`the offline engine has no mock for provider function ${token}; add one to tools/mock-engine.ts`);
    }
}

function secretValue(value: unknown): Record<string, unknown> {
    return { [specialSigKey]: specialSecretSig, value };
}

function isSecretValue(value: unknown): value is { value: unknown } {
    return value !== null && typeof value === "object" && (value as Record<string, unknown>)[specialSigKey] === specialSecretSig;
}

/** Removes secret wrappers anywhere in a value; returns whether any was found. */
function unwrapSecrets(value: unknown): [unknown, boolean] {
    if (isSecretValue(value)) {
        return [unwrapSecrets(value.value)[0], true];
    }
    if (Array.isArray(value)) {
        let found = false;
        const items = value.map((v) => {
            const [u, s] = unwrapSecrets(v);
            found ||= s;
            return u;
        });
        return [items, found];
    }
    if (value !== null && typeof value === "object" && !(value instanceof pulumi.asset.Asset) && !(value instanceof pulumi.asset.Archive)) {
        let found = false;
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) {
            const [u, s] = unwrapSecrets(v);
            found ||= s;
            out[k] = u;
        }
        return [out, found];
    }
    return [value, false];
}

let used = false;

/**
 * Evaluates `program` as the Pulumi language host would (inside a root stack resource) against
 * mocks, and returns every resource registered and the stack outputs. The Pulumi SDK keeps its
 * engine state per process, so call this once per process.
 */
export async function runProgram(options: {
    project: string;
    stack: string;
    config: StackConfig;
    program: () => unknown;
    /** Write every code archive a resource receives under `<dir>/<resource name>/` (else only measure it). */
    writeArchivesTo?: string;
    /** The clock of time-provider resources (default FAKE_NOW, no earlier state). Updated in place. */
    clock?: MockClock;
}): Promise<ProgramRun> {
    if (used) {
        throw new Error("runProgram: the Pulumi SDK holds one program per process; start a new process for another run");
    }
    used = true;

    const recorded = new Map<string, RecordedResource>();
    const clock = options.clock ?? { now: FAKE_NOW, rotations: {} };
    // ignoreChanges of each registration, which the mocks' newResource callback does not receive.
    const ignored = new Map<string, string[]>();
    // ARNs carry the region of the aws provider that manages the resource.
    const awsRegions = new Map<string, string>();
    const mocks: pulumi.runtime.Mocks = {
        newResource: (args) => {
            const inputs = unwrapSecrets(args.inputs)[0] as Record<string, any>;
            if (args.type === "pulumi:providers:aws" && typeof inputs.region === "string") {
                awsRegions.set(args.name, inputs.region);
            }
            // A provider reference is "<urn>::<id>" and a URN ends in "::<name>".
            const providerName = args.provider?.split("::").slice(-2, -1)[0];
            const region = (providerName && awsRegions.get(providerName)) || undefined;
            return args.custom === false ? { id: undefined, state: {} } : mockOutputs(args.type, args.name, inputs, region, clock, ignored.get(`${args.type}::${args.name}`) ?? []);
        },
        call: (args) => mockCall(args.token),
    };

    // The Pulumi Cloud organization is what the CLI would pass; offline there is none.
    await pulumi.runtime.setMocks(mocks, options.project, options.stack, false, "offline-preview-org");
    // Wrap the SDK's own mock monitor so each registration is recorded with its parent, provider
    // and options, which the mocks' newResource callback does not see.
    const monitor = settings.getMonitor() as MockMonitor;
    const registerResource = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: (err: any, response: any) => void) => {
        ignored.set(`${req.getType()}::${req.getName()}`, req.getIgnorechangesList());
        return registerResource(req, (err: any, response: any) => {
            if (!err) {
                const urn: string = response.getUrn();
                const raw = deserializeProperties(req.getObject()) as Record<string, unknown>;
                const stored = monitor.resources.get(urn);
                // Per key: deserializing the whole map would lift any nested secret to the top.
                const state: Record<string, unknown> = Object.fromEntries(
                    Object.entries((stored?.state ?? {}) as Record<string, unknown>).map(([k, v]) => [k, deserializeProperty(v)]),
                );
                recorded.set(urn, {
                    urn,
                    type: req.getType(),
                    name: req.getName(),
                    parent: req.getParent() || undefined,
                    provider: req.getProvider() || undefined,
                    custom: req.getCustom(),
                    inputs: unwrapSecrets(raw)[0] as Record<string, unknown>,
                    secretInputs: Object.entries(raw).filter(([, v]) => unwrapSecrets(v)[1]).map(([k]) => k),
                    protect: Boolean(req.getProtect()),
                    dependsOn: req.getDependenciesList(),
                    replaceOnChanges: req.getReplaceonchangesList(),
                    deleteBeforeReplace: Boolean(req.getDeletebeforereplace()),
                    outputs: { ...(unwrapSecrets(state)[0] as Record<string, unknown>), ...(stored?.id ? { id: stored.id } : {}) },
                    secretOutputs: Object.entries(state).filter(([, v]) => unwrapSecrets(v)[1]).map(([k]) => k),
                });
            }
            callback(err, response);
        });
    };
    const registerResourceOutputs = monitor.registerResourceOutputs.bind(monitor);
    monitor.registerResourceOutputs = (req: any, callback: (err: any, response: any) => void) =>
        registerResourceOutputs(req, (err: any, response: any) => {
            const entry = recorded.get(req.getUrn());
            if (!err && entry && !entry.custom) {
                const outputs = deserializeProperties(req.getOutputs()) as Record<string, unknown>;
                entry.outputs = unwrapSecrets(outputs)[0] as Record<string, unknown>;
                entry.secretOutputs = Object.entries(outputs).filter(([, v]) => unwrapSecrets(v)[1]).map(([k]) => k);
            }
            callback(err, response);
        });
    pulumi.runtime.setAllConfig(options.config.values, options.config.secretKeys);

    let exported: Record<string, unknown> = {};
    await pulumi.runtime.runInPulumiStack(async () => {
        exported = ((await options.program()) ?? {}) as Record<string, unknown>;
        return exported;
    });
    await settings.waitForRPCs();

    const resolved: Record<string, unknown> = {};
    const secretOutputs: string[] = [];
    for (const [key, value] of Object.entries(exported)) {
        const output = pulumi.output(value) as pulumi.Output<unknown>;
        if (await pulumi.isSecret(output)) secretOutputs.push(key);
        resolved[key] = await new Promise((resolve) => output.apply((v) => { resolve(v); return v; }));
    }
    await settings.waitForRPCs();

    // Code packages (a Lambda's closure archive, a Functions app package) are reported by size, and
    // written out on request, instead of as the asset objects the SDK holds.
    for (const resource of recorded.values()) {
        for (const [key, value] of Object.entries(resource.inputs)) {
            if (!containsArchive(value)) continue;
            const archive = value as pulumi.asset.Archive;
            const dir = options.writeArchivesTo ? path.join(options.writeArchivesTo, resource.name) : undefined;
            const size = dir ? await writeArchive(archive, dir) : await measureArchive(archive);
            resource.inputs[key] = { archive: { ...size, ...(dir ? { writtenTo: dir } : {}) } };
        }
    }
    return { resources: [...recorded.values()], outputs: resolved, secretOutputs };
}
