import * as pulumi from "@pulumi/pulumi";
import * as pulumiservice from "@pulumi/pulumiservice";

/** The GitHub repository Pulumi Deployments takes the program from (through the Pulumi GitHub App). */
export interface StackDeploymentsSourceArgs {
    /** GitHub repository, `owner/name`. */
    repository: string;
    /** Branch that is deployed, e.g. `main` (written to Pulumi Cloud as `refs/heads/main`). */
    branch: string;
    /** Folder of Pulumi.yaml inside the repository; the repository root when undefined. */
    repoDir?: string;
    /** Only pushes and pull requests that touch these paths (glob patterns) trigger a deployment; all when undefined. */
    paths?: string[];
    /** Run `pulumi up` on every push to `branch` (default true). */
    deployCommits?: boolean;
    /** Run `pulumi preview` on every pull request against `branch` (default true). */
    previewPullRequests?: boolean;
}

/** AWS credentials through OIDC: Pulumi Cloud's token is exchanged for a session of this role. */
export interface StackDeploymentsAwsOidcArgs {
    /** ARN of the IAM role that trusts Pulumi Cloud's OIDC provider for this stack. */
    roleArn: pulumi.Input<string>;
    /** Name of the assume-role session (default `pulumi-deployments-<stack>`). */
    sessionName?: string;
    /** Session length in Go duration form (`1h0m0s`, the default; at most the role's maximum session duration). */
    duration?: string;
}

/** Azure credentials through OIDC: Pulumi Cloud's token is exchanged through a federated credential of this app. */
export interface StackDeploymentsAzureOidcArgs {
    /** Client (application) id of the Entra ID app with federated credentials for this stack. */
    clientId: pulumi.Input<string>;
    /** Entra ID tenant of that app. */
    tenantId: pulumi.Input<string>;
    /** Subscription the deployment works in. */
    subscriptionId: pulumi.Input<string>;
}

export interface StackDeploymentsArgs {
    /** Pulumi Cloud organization of the stack. */
    organization: string;
    /** Pulumi project of the stack (`pulumi.getProject()`). */
    project: string;
    /** Stack name (`pulumi.getStack()`). */
    stack: string;
    /** Where the program comes from and which GitHub events deploy it. */
    source: StackDeploymentsSourceArgs;
    /** AWS credentials through OIDC; no AWS key is stored anywhere. */
    aws: StackDeploymentsAwsOidcArgs;
    /** Azure / Entra ID credentials through OIDC; no client secret is stored anywhere. */
    azure: StackDeploymentsAzureOidcArgs;
    /**
     * Cron (5 fields, UTC) of a scheduled `pulumi up`, so time-based rotation happens even when
     * nobody pushes; `false` for no schedule. Default: `0 4 * * 1` (Mondays 04:00 UTC).
     */
    scheduleCron?: string | false;
    /**
     * Refresh before every operation (`PULUMI_OPTION_REFRESH=true`, Pulumi CLI ≥ 3.208) so that
     * time-based resources notice that their time has come (default true). Turning it off stops
     * scheduled rotation.
     */
    refreshBeforeOperations?: boolean;
    /** More environment variables for every deployment. Cloud keys are refused: credentials come from OIDC. */
    environmentVariables?: Record<string, pulumi.Input<string>>;
    /** Shell commands run before the Pulumi operation (each in its own shell), after the policy pack's install. */
    preRunCommands?: string[];
    /**
     * Folder of the CrossGuard pack every deployment runs (push, pull request preview, schedule),
     * relative to the program's folder: its dependencies are installed from its lockfile before the
     * operation, and `pulumi preview|up` runs with `--policy-pack <folder>`, so a mandatory violation
     * fails the deployment. Default `policy`. `false` runs no pack from the repository (enforce
     * through a Pulumi Cloud policy group instead: docs/policies.md).
     */
    policyPack?: string | false;
}

/** The Pulumi CLI's environment form of `--refresh` (every flag is `PULUMI_OPTION_<FLAG>` since 3.208). */
export const REFRESH_ENVIRONMENT_VARIABLE = "PULUMI_OPTION_REFRESH";
/**
 * The environment form of `--policy-pack` (same rule: `PULUMI_OPTION_` + the flag's name in upper
 * case, dashes as underscores; pulumi/docs "Controlling the CLI through environment variables",
 * pulumi/pulumi 3.208). Deployment settings have no policy-pack field of their own.
 */
export const POLICY_PACK_ENVIRONMENT_VARIABLE = "PULUMI_OPTION_POLICY_PACK";
export const DEFAULT_POLICY_PACK = "policy";

/** The pre-run command that installs the pack's dependencies exactly as its lockfile pins them. */
export function policyPackInstallCommand(folder: string): string {
    return `npm ci --prefix ${folder} --no-audit --no-fund`;
}
export const DEFAULT_SCHEDULE_CRON = "0 4 * * 1";

/** Environment variables that would carry long-lived cloud keys; OIDC replaces them. */
const CREDENTIAL_VARIABLES = /^(AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|ARM_CLIENT_SECRET|ARM_CLIENT_CERTIFICATE_PASSWORD|AZURE_CLIENT_SECRET|AZURE_CLIENT_CERTIFICATE_PASSWORD|ARM_ACCESS_KEY)$/;
const CRON_FIELD = /^(\*|\d+(-\d+)?)(\/\d+)?(,(\*|\d+(-\d+)?)(\/\d+)?)*$/;
const CRON_RANGES: Array<[string, number, number]> = [
    ["minute", 0, 59],
    ["hour", 0, 23],
    ["day of month", 1, 31],
    ["month", 1, 12],
    ["day of week", 0, 7],
];

/** Checks a 5-field cron expression; returns a reason when it is not one. */
export function cronProblem(cron: string): string | undefined {
    const fields = cron.trim().split(/\s+/);
    if (fields.length !== 5) return `needs 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`;
    for (let i = 0; i < 5; i++) {
        const [what, min, max] = CRON_RANGES[i];
        if (!CRON_FIELD.test(fields[i])) return `the ${what} field ${JSON.stringify(fields[i])} is not a number, range, list, step or *`;
        for (const n of fields[i].split(/[,\-/]/).filter((p) => p !== "*")) {
            const value = Number(n);
            const isStep = fields[i].includes(`/${n}`);
            if (!isStep && (value < min || value > max)) return `the ${what} field ${JSON.stringify(fields[i])} has ${value}, outside ${min}..${max}`;
        }
    }
    return undefined;
}

/** The OIDC subject Pulumi Cloud puts in a deployment's token, which the cloud trust must match. */
export function deploymentOidcSubject(organization: string, project: string, stack: string, operation: string): string {
    return `pulumi:deploy:org:${organization}:project:${project}:stack:${stack}:operation:${operation}:scope:write`;
}

/**
 * Pulumi Deployments for one stack: deployment settings (GitHub source, push-to-deploy, pull
 * request previews, OIDC to AWS and Azure, refresh before every operation) and, unless turned off,
 * a schedule that runs `pulumi up` so time-based secret rotation happens without a push.
 * Give it a `pulumiservice` provider (or PULUMI_ACCESS_TOKEN in the environment).
 */
export class StackDeployments extends pulumi.ComponentResource {
    public readonly settings: pulumiservice.DeploymentSettings;
    /** The schedule; undefined when `scheduleCron` is false. */
    public readonly schedule?: pulumiservice.DeploymentSchedule;
    /** `org/project/stack`. */
    public readonly stackName: string;
    /** OIDC subjects of the operations Deployments runs for this stack (update, preview, refresh), for the cloud trust. */
    public readonly oidcSubjects: string[];

    constructor(name: string, args: StackDeploymentsArgs, opts?: pulumi.ComponentResourceOptions) {
        validate(args);
        super("multicloud-mesh:pulumicloud:StackDeployments", name, {}, opts);

        const stackName = `${args.organization}/${args.project}/${args.stack}`;
        const environmentVariables: Record<string, pulumi.Input<string>> = { ...(args.environmentVariables ?? {}) };
        if (args.refreshBeforeOperations !== false) environmentVariables[REFRESH_ENVIRONMENT_VARIABLE] = "true";
        const policyPack = args.policyPack === undefined ? DEFAULT_POLICY_PACK : args.policyPack;
        const preRunCommands = [...(policyPack === false ? [] : [policyPackInstallCommand(policyPack)]), ...(args.preRunCommands ?? [])];
        if (policyPack !== false) environmentVariables[POLICY_PACK_ENVIRONMENT_VARIABLE] = policyPack;

        this.settings = new pulumiservice.DeploymentSettings(
            `${name}-settings`,
            {
                organization: args.organization,
                project: args.project,
                stack: args.stack,
                sourceContext: {
                    git: {
                        branch: args.source.branch.startsWith("refs/") ? args.source.branch : `refs/heads/${args.source.branch}`,
                        ...(args.source.repoDir ? { repoDir: args.source.repoDir } : {}),
                    },
                },
                // `github` is marked deprecated in favour of `vcs` in @pulumi/pulumiservice 1.3.0,
                // but `vcs.provider`'s accepted values are not in the SDK's typings; `github` is the
                // documented, typed form of the same settings.
                github: {
                    repository: args.source.repository,
                    deployCommits: args.source.deployCommits ?? true,
                    previewPullRequests: args.source.previewPullRequests ?? true,
                    ...(args.source.paths ? { paths: args.source.paths } : {}),
                },
                operationContext: {
                    oidc: {
                        aws: {
                            roleARN: args.aws.roleArn,
                            sessionName: args.aws.sessionName ?? `pulumi-deployments-${args.stack}`,
                            duration: args.aws.duration ?? "1h0m0s",
                        },
                        azure: {
                            clientId: args.azure.clientId,
                            tenantId: args.azure.tenantId,
                            subscriptionId: args.azure.subscriptionId,
                        },
                    },
                    environmentVariables,
                    ...(preRunCommands.length > 0 ? { preRunCommands } : {}),
                    // Consolidates queued pushes into one deployment instead of running each.
                    options: { skipIntermediateDeployments: true },
                },
            },
            { parent: this },
        );

        const cron = args.scheduleCron === undefined ? DEFAULT_SCHEDULE_CRON : args.scheduleCron;
        if (cron !== false) {
            this.schedule = new pulumiservice.DeploymentSchedule(
                `${name}-schedule`,
                {
                    organization: args.organization,
                    project: args.project,
                    stack: args.stack,
                    scheduleCron: cron,
                    pulumiOperation: pulumiservice.PulumiOperation.Update,
                },
                // A schedule runs with the stack's deployment settings, so they must exist first.
                { parent: this, dependsOn: [this.settings] },
            );
        }

        this.stackName = stackName;
        this.oidcSubjects = ["update", "preview", "refresh"].map((op) => deploymentOidcSubject(args.organization, args.project, args.stack, op));
        this.registerOutputs({
            stackName: this.stackName,
            scheduleCron: cron === false ? undefined : cron,
            policyPack: policyPack === false ? undefined : policyPack,
            oidcSubjects: this.oidcSubjects,
        });
    }
}

function validate(args: StackDeploymentsArgs): void {
    const fail = (field: string, message: string): never => {
        throw new Error(`StackDeployments: args.${field} ${message}`);
    };
    if (!args || typeof args !== "object") fail("", "are required");
    for (const field of ["organization", "project", "stack"] as const) {
        if (typeof args[field] !== "string" || args[field] === "") fail(field, "is required");
    }
    for (const field of ["organization", "project", "stack"] as const) {
        if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(args[field])) {
            fail(field, `must be 1 to 100 letters, digits, "-", "_" or "." (starting with a letter or digit), got ${JSON.stringify(args[field])}`);
        }
    }
    if (!args.source) fail("source", "is required (repository, branch)");
    if (!/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/.test(args.source.repository ?? "")) fail("source.repository", `must be a GitHub repository "owner/name", got ${JSON.stringify(args.source.repository)}`);
    if (typeof args.source.branch !== "string" || args.source.branch.trim() === "" || /\s/.test(args.source.branch)) fail("source.branch", `must be a branch name such as "main", got ${JSON.stringify(args.source.branch)}`);
    if (args.source.repoDir !== undefined && (args.source.repoDir.startsWith("/") || args.source.repoDir.split("/").includes(".."))) {
        fail("source.repoDir", `must be a folder inside the repository (relative, no ".."), got ${JSON.stringify(args.source.repoDir)}`);
    }
    if (args.source.paths !== undefined && (!Array.isArray(args.source.paths) || args.source.paths.length === 0 || args.source.paths.some((p) => typeof p !== "string" || p === ""))) {
        fail("source.paths", "must be a non-empty list of non-empty path patterns when given (leave it out to deploy on any change)");
    }
    if (!args.aws || args.aws.roleArn === undefined || args.aws.roleArn === "") fail("aws.roleArn", "is required: the IAM role Pulumi Cloud's OIDC token may assume");
    if (typeof args.aws.roleArn === "string" && !/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(args.aws.roleArn)) fail("aws.roleArn", `must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), got ${JSON.stringify(args.aws.roleArn)}`);
    if (args.aws.sessionName !== undefined && !/^[\w+=,.@-]{2,64}$/.test(args.aws.sessionName)) fail("aws.sessionName", `must be 2 to 64 of letters, digits and +=,.@_-, got ${JSON.stringify(args.aws.sessionName)}`);
    if (args.aws.duration !== undefined) {
        const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(args.aws.duration);
        const seconds = m && args.aws.duration !== "" ? Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0) : NaN;
        if (!(seconds >= 900 && seconds <= 43200)) fail("aws.duration", `must be a duration such as "1h0m0s" from 15 minutes to 12 hours, got ${JSON.stringify(args.aws.duration)}`);
    }
    if (!args.azure) fail("azure", "is required (clientId, tenantId, subscriptionId)");
    const uuid = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
    for (const field of ["clientId", "tenantId", "subscriptionId"] as const) {
        const value = args.azure[field];
        if (value === undefined || value === "") fail(`azure.${field}`, "is required");
        if (typeof value === "string" && !uuid.test(value)) fail(`azure.${field}`, `must be a GUID, got ${JSON.stringify(value)}`);
    }
    if (args.scheduleCron !== undefined && args.scheduleCron !== false) {
        const problem = typeof args.scheduleCron === "string" ? cronProblem(args.scheduleCron) : "must be a cron string or false";
        if (problem) fail("scheduleCron", `${JSON.stringify(args.scheduleCron)}: ${problem}`);
    }
    for (const key of Object.keys(args.environmentVariables ?? {})) {
        if (CREDENTIAL_VARIABLES.test(key)) fail(`environmentVariables.${key}`, "would store a long-lived cloud credential; Deployments get AWS and Azure credentials through OIDC (args.aws, args.azure)");
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) fail(`environmentVariables.${key}`, "is not a valid environment variable name");
    }
    if (args.refreshBeforeOperations !== false && args.environmentVariables && REFRESH_ENVIRONMENT_VARIABLE in args.environmentVariables) {
        fail(`environmentVariables.${REFRESH_ENVIRONMENT_VARIABLE}`, "is set by args.refreshBeforeOperations; set that instead");
    }
    if (args.policyPack !== undefined && args.policyPack !== false) {
        const folder = args.policyPack;
        if (typeof folder !== "string" || !/^[A-Za-z0-9._][A-Za-z0-9._/-]*$/.test(folder) || folder.startsWith("/") || folder.split("/").includes("..")) {
            fail("policyPack", `must be a folder inside the program's folder (relative, no "..", no spaces) or false, got ${JSON.stringify(folder)}`);
        }
    }
    if (args.environmentVariables && POLICY_PACK_ENVIRONMENT_VARIABLE in args.environmentVariables) {
        fail(`environmentVariables.${POLICY_PACK_ENVIRONMENT_VARIABLE}`, "is set by args.policyPack; set that instead");
    }
    if (args.preRunCommands !== undefined && (!Array.isArray(args.preRunCommands) || args.preRunCommands.some((c) => typeof c !== "string" || c.trim() === ""))) {
        fail("preRunCommands", "must be a list of non-empty shell commands");
    }
}
