import * as pulumi from "@pulumi/pulumi";
import * as delivery from "./package-delivery";

/** What the deployment resource stores; the inputs of every create/update. */
export interface PackageDeploymentState {
    packageUrl: string;
    appResourceId: string;
    managementEndpoint: string;
    functionName: string;
    packagePath: string;
    packageSha256: string;
    deployerObjectId: string;
    retryInitialDelayMs: number;
    retryMaxDelayMs: number;
    retryBudgetMs: number;
}

export interface PackageDeploymentArgs {
    /** `https://<account>.blob.core.windows.net/<deployment container>/released-package.zip`. */
    packageUrl: pulumi.Input<string>;
    /** ARM id of the Flex Consumption function app. */
    appResourceId: pulumi.Input<string>;
    /** ARM endpoint of the cloud (default https://management.azure.com). */
    managementEndpoint?: pulumi.Input<string>;
    /** The function the package registers; the deployment waits until the app lists it. */
    functionName: pulumi.Input<string>;
    /** Local path of the ZIP the program built (content-addressed). */
    packagePath: pulumi.Input<string>;
    /** SHA-256 of that ZIP: a new value is a new package and triggers an update. */
    packageSha256: pulumi.Input<string>;
    /** Entra object id of the deployer, who was granted the upload role. */
    deployerObjectId: pulumi.Input<string>;
    /** Retry of each step while roles propagate: first wait, longest wait, total per step (ms). */
    retry?: { initialDelayMs: number; maxDelayMs: number; budgetMs: number };
}

/** A token source: the deployer's Entra access token for an audience. */
export type TokenSource = (audience: "storage" | "management", managementEndpoint: string) => Promise<string>;

/** Which credential the deployer's environment selects (see deployerTokenSource). */
export function credentialKind(env: Record<string, string | undefined>): "client-secret" | "default-chain" {
    return env.ARM_CLIENT_ID && env.ARM_CLIENT_SECRET && env.ARM_TENANT_ID ? "client-secret" : "default-chain";
}

/**
 * The deployer's credential, as the azure-native provider would find it: a service principal from
 * ARM_CLIENT_ID / ARM_CLIENT_SECRET / ARM_TENANT_ID when set, otherwise @azure/identity's
 * DefaultAzureCredential (AZURE_* environment, workload identity, managed identity, Azure CLI,
 * Azure Developer CLI, Azure PowerShell). The environment is read in the provider process, when a
 * token is needed: nothing of the program's environment is captured into the serialized provider.
 */
export function deployerTokenSource(): TokenSource {
    let credential: { getToken(scope: string): Promise<{ token: string } | null> } | undefined;
    return async (audience, managementEndpoint) => {
        if (!credential) {
            const identity = require("@azure/identity");
            const env = process.env;
            credential =
                credentialKind(env) === "client-secret"
                    ? new identity.ClientSecretCredential(env.ARM_TENANT_ID, env.ARM_CLIENT_ID, env.ARM_CLIENT_SECRET)
                    : new identity.DefaultAzureCredential();
        }
        const scope = audience === "storage" ? "https://storage.azure.com/.default" : `${managementEndpoint.replace(/\/+$/, "")}/.default`;
        const token = await credential!.getToken(scope);
        if (!token) throw new Error(`no Entra ID token for ${scope} from the deployer's credential`);
        return token.token;
    };
}

/** The ports of the delivery in a provider process: fetch, the token source, the file system. */
export function providerPorts(tokens: TokenSource, managementEndpoint: string): delivery.DeliveryPorts {
    const crypto = require("crypto");
    const fs = require("fs");
    return {
        send: async (request) => {
            const response = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body });
            return { status: response.status, body: await response.text() };
        },
        token: (audience) => tokens(audience, managementEndpoint),
        readPackage: async (path) => fs.readFileSync(path),
        sha256: (data) => crypto.createHash("sha256").update(data).digest("hex"),
        md5Base64: (data) => crypto.createHash("md5").update(data).digest("base64"),
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        // The provider's stderr reaches the engine's diagnostics.
        log: (line) => process.stderr.write(`[consumer package] ${line}\n`),
    };
}

function requestOf(state: PackageDeploymentState): delivery.DeliveryRequest {
    return {
        packageUrl: state.packageUrl,
        appResourceId: state.appResourceId,
        managementEndpoint: state.managementEndpoint,
        functionName: state.functionName,
        packagePath: state.packagePath,
        packageSha256: state.packageSha256,
        deployerObjectId: state.deployerObjectId || undefined,
        retry: { initialDelayMs: state.retryInitialDelayMs, maxDelayMs: state.retryMaxDelayMs, budgetMs: state.retryBudgetMs },
    };
}

/**
 * The dynamic provider. Pulumi serializes it (and what it captures) into the state and runs it in a
 * separate process, so it captures only this module's functions and `tokens`; Node built-ins and
 * @azure/identity are required inside the functions.
 */
export function packageDeploymentProvider(tokens: TokenSource): pulumi.dynamic.ResourceProvider {
    // Inputs whose change means "deliver again"; the local path differs per machine and is not one.
    // Kept inside the factory: an exported constant would be read through `exports`, which the
    // serialized provider does not have.
    const deliveryKeys = ["packageSha256", "packageUrl", "appResourceId", "functionName"] as const;
    const deliverTo = async (state: PackageDeploymentState): Promise<PackageDeploymentState> => {
        await delivery.deliverPackage(requestOf(state), providerPorts(tokens, state.managementEndpoint));
        return state;
    };
    // The serializer leaves out free variables whose name is also a global (mocha defines `run`),
    // so these names are distinct; the serialized-provider test proves what is captured.
    return {
        create: async (inputs: PackageDeploymentState) => {
            const outs = await deliverTo(inputs);
            return { id: `${inputs.appResourceId}/package`, outs };
        },
        diff: async (_id: string, olds: PackageDeploymentState, news: PackageDeploymentState) => {
            const changed = deliveryKeys.filter((k) => olds[k] !== news[k]);
            return { changes: changed.length > 0, replaces: [], deleteBeforeReplace: false };
        },
        update: async (_id: string, _olds: PackageDeploymentState, news: PackageDeploymentState) => ({ outs: await deliverTo(news) }),
        // Nothing to delete: the package goes with its storage account, and removing it from a
        // running app would stop the consumer.
        delete: async () => {},
    };
}

/**
 * Uploads the consumer package to the Flex Consumption app's deployment container with the
 * deployer's Entra credential, restarts the app, syncs its triggers and waits until the app lists
 * the consumer function; again on every new package (see package-delivery.ts for the documents).
 */
export class PackageDeployment extends pulumi.dynamic.Resource {
    declare public readonly packageSha256: pulumi.Output<string>;
    declare public readonly packageUrl: pulumi.Output<string>;

    constructor(name: string, args: PackageDeploymentArgs, opts?: pulumi.CustomResourceOptions, tokens: TokenSource = deployerTokenSource()) {
        const retry = args.retry ?? { initialDelayMs: 5_000, maxDelayMs: 60_000, budgetMs: 15 * 60_000 };
        super(
            packageDeploymentProvider(tokens),
            name,
            {
                packageUrl: args.packageUrl,
                appResourceId: args.appResourceId,
                managementEndpoint: args.managementEndpoint ?? "https://management.azure.com",
                functionName: args.functionName,
                packagePath: args.packagePath,
                packageSha256: args.packageSha256,
                deployerObjectId: args.deployerObjectId,
                retryInitialDelayMs: retry.initialDelayMs,
                retryMaxDelayMs: retry.maxDelayMs,
                retryBudgetMs: retry.budgetMs,
            },
            opts,
            "multicloud-mesh",
            "PackageDeployment",
        );
    }
}
