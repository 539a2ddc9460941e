import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_POLICY_PACK, StackDeployments, StackDeploymentsArgs, cronProblem, deploymentOidcSubject } from "../../components/deployments";

interface Registered {
    type: string;
    name: string;
    inputs: Record<string, any>;
    urn?: string;
}

const ROLE = "arn:aws:iam::123456789012:role/pulumi-deployments-multicloud-mesh-prod";
const AZURE = {
    clientId: "11111111-2222-4333-8444-555555555555",
    tenantId: "00000000-0000-4000-8000-000000000002",
    subscriptionId: "00000000-0000-4000-8000-000000000001",
};
const base: StackDeploymentsArgs = {
    organization: "acme",
    project: "multicloud-mesh",
    stack: "prod",
    source: { repository: "acme/multicloud-mesh", branch: "main", paths: ["index.ts", "components/**", "runtime/**", "Pulumi*.yaml", "package*.json"] },
    aws: { roleArn: ROLE },
    azure: AZURE,
};

// `getMonitor` is internal in the SDK's typings; tools/mock-engine.ts reads it the same way.
const settingsModule = require("@pulumi/pulumi/runtime/settings") as { getMonitor(): unknown };

/** Resolves an output under the mocks. */
const settle = <T>(o: pulumi.Output<T>) => (o as unknown as { promise(): Promise<T> }).promise();

describe("StackDeployments (Pulumi Deployments settings and schedule)", () => {
    const registered: Registered[] = [];
    const dependencies = new Map<string, string[]>();
    const byName = (name: string) => {
        const found = registered.filter((r) => r.name === name);
        assert.equal(found.length, 1, `exactly one resource named ${name}: ${registered.map((r) => r.name).join(", ")}`);
        return found[0];
    };

    before(async () => {
        await pulumi.runtime.setMocks(
            {
                newResource: (args) => {
                    registered.push({ type: args.type, name: args.name, inputs: args.inputs });
                    return { id: `${args.inputs.organization}/${args.inputs.project}/${args.inputs.stack}/${args.name}`, state: { ...args.inputs, scheduleId: args.type.endsWith("DeploymentSchedule") ? "sched-1" : undefined } };
                },
                call: () => ({}),
            },
            "multicloud-mesh",
            "deployments",
        );
        // The mocks' newResource does not see dependsOn; the monitor's registration request does.
        const monitor = settingsModule.getMonitor() as { registerResource: (req: any, cb: (e: any, r: any) => void) => void };
        const register = monitor.registerResource.bind(monitor);
        monitor.registerResource = (req, cb) => {
            dependencies.set(req.getName(), req.getDependenciesList());
            register(req, cb);
        };
    });

    it("creates the settings: GitHub source, push-to-deploy, PR previews, OIDC to AWS and Azure, refresh before every operation", async () => {
        const deployments = new StackDeployments("deploy-prod", base);
        await settle(deployments.settings.urn);
        const settings = byName("deploy-prod-settings");
        assert.equal(settings.type, "pulumiservice:index:DeploymentSettings");
        assert.equal(settings.inputs.organization, "acme");
        assert.equal(settings.inputs.project, "multicloud-mesh");
        assert.equal(settings.inputs.stack, "prod");
        assert.deepEqual(settings.inputs.sourceContext, { git: { branch: "refs/heads/main" } });
        assert.deepEqual(settings.inputs.github, {
            repository: "acme/multicloud-mesh",
            deployCommits: true,
            previewPullRequests: true,
            pullRequestTemplate: false,
            paths: ["index.ts", "components/**", "runtime/**", "Pulumi*.yaml", "package*.json"],
        });
        const ctx = settings.inputs.operationContext;
        assert.deepEqual(ctx.oidc, {
            aws: { roleARN: ROLE, sessionName: "pulumi-deployments-prod", duration: "1h0m0s" },
            azure: AZURE,
        });
        assert.deepEqual(ctx.environmentVariables, { PULUMI_OPTION_REFRESH: "true", PULUMI_OPTION_POLICY_PACK: "policy" });
        assert.deepEqual(ctx.options, { skipIntermediateDeployments: true });
        // Every deployment installs the pack from its lockfile and runs it: a mandatory violation fails the deployment.
        assert.deepEqual(ctx.preRunCommands, ["npm ci --prefix policy --no-audit --no-fund"]);
        // No long-lived cloud key anywhere in the settings.
        assert.doesNotMatch(JSON.stringify(settings.inputs), /SECRET|ACCESS_KEY|password/i);
    });

    it("schedules a weekly pulumi up of the same stack, after the settings exist", async () => {
        const deployments = new StackDeployments("deploy-sched", base);
        await settle(deployments.schedule!.urn);
        const schedule = byName("deploy-sched-schedule");
        const settings = byName("deploy-sched-settings");
        assert.equal(schedule.type, "pulumiservice:index:DeploymentSchedule");
        assert.deepEqual(
            { organization: schedule.inputs.organization, project: schedule.inputs.project, stack: schedule.inputs.stack },
            { organization: settings.inputs.organization, project: settings.inputs.project, stack: settings.inputs.stack },
            "the schedule is for the stack the settings configure",
        );
        assert.equal(schedule.inputs.scheduleCron, "0 4 * * 1");
        assert.equal(schedule.inputs.pulumiOperation, "update");
        assert.equal(schedule.inputs.timestamp, undefined);
        // The scheduled update refreshes first, because the refresh setting is on the stack's settings.
        assert.equal(settings.inputs.operationContext.environmentVariables.PULUMI_OPTION_REFRESH, "true");
        // Relations: children of the component, schedule depends on the settings.
        const [componentUrn, settingsUrn] = await Promise.all([settle(deployments.urn), settle(deployments.settings.urn)]);
        assert.ok(dependencies.get("deploy-sched-schedule")?.includes(settingsUrn), "the schedule depends on the settings");
        assert.match(settingsUrn, /multicloud-mesh:pulumicloud:StackDeployments\$pulumiservice:index:DeploymentSettings::deploy-sched-settings$/);
        assert.match(await settle(deployments.schedule!.urn), /multicloud-mesh:pulumicloud:StackDeployments\$pulumiservice:index:DeploymentSchedule::deploy-sched-schedule$/);
        assert.match(componentUrn, /::deploy-sched$/);
    });

    it("takes a custom schedule, branch ref, repo folder, session, and extra environment; refresh can be turned off", async () => {
        const deployments = new StackDeployments("deploy-custom", {
            ...base,
            stack: "dev",
            source: { repository: "acme/platform", branch: "refs/heads/release", repoDir: "infra/mesh", deployCommits: false, previewPullRequests: false },
            aws: { roleArn: ROLE, sessionName: "mesh-dev", duration: "2h0m0s" },
            scheduleCron: "30 2 * * *",
            refreshBeforeOperations: false,
            environmentVariables: { PULUMI_OPTION_PARALLEL: "8" },
            preRunCommands: ["npm run build"],
        });
        await settle(deployments.schedule!.urn);
        const settings = byName("deploy-custom-settings");
        assert.deepEqual(settings.inputs.sourceContext, { git: { branch: "refs/heads/release", repoDir: "infra/mesh" } });
        assert.deepEqual(settings.inputs.github, { repository: "acme/platform", deployCommits: false, previewPullRequests: false, pullRequestTemplate: false });
        assert.deepEqual(settings.inputs.operationContext.oidc.aws, { roleARN: ROLE, sessionName: "mesh-dev", duration: "2h0m0s" });
        assert.deepEqual(settings.inputs.operationContext.environmentVariables, { PULUMI_OPTION_PARALLEL: "8", PULUMI_OPTION_POLICY_PACK: "policy" });
        assert.deepEqual(settings.inputs.operationContext.preRunCommands, ["npm ci --prefix policy --no-audit --no-fund", "npm run build"]);
        assert.equal(byName("deploy-custom-schedule").inputs.scheduleCron, "30 2 * * *");
    });

    it("runs the policy pack of another folder, or none when policyPack is false (a policy group enforces it instead)", async () => {
        new StackDeployments("deploy-pack", { ...base, policyPack: "guardrails/mesh" });
        const none = new StackDeployments("deploy-nopack", { ...base, policyPack: false });
        await settle(none.settings.urn);
        const pack = byName("deploy-pack-settings").inputs.operationContext;
        assert.equal(pack.environmentVariables.PULUMI_OPTION_POLICY_PACK, "guardrails/mesh");
        assert.deepEqual(pack.preRunCommands, ["npm ci --prefix guardrails/mesh --no-audit --no-fund"]);
        const off = byName("deploy-nopack-settings").inputs.operationContext;
        assert.equal(off.environmentVariables.PULUMI_OPTION_POLICY_PACK, undefined);
        assert.equal(off.preRunCommands, undefined);
    });

    it("the default pack folder is this repository's policy/, installable by npm ci (it has its lockfile)", () => {
        const root = require("path").resolve(__dirname, "..", "..");
        const fs = require("fs") as typeof import("fs");
        assert.ok(fs.existsSync(require("path").join(root, DEFAULT_POLICY_PACK, "package-lock.json")));
        assert.ok(fs.existsSync(require("path").join(root, DEFAULT_POLICY_PACK, "PulumiPolicy.yaml")));
    });

    it("creates no schedule when scheduleCron is false", async () => {
        const deployments = new StackDeployments("deploy-nosched", { ...base, scheduleCron: false });
        await settle(deployments.settings.urn);
        assert.equal(deployments.schedule, undefined);
        assert.equal(registered.filter((r) => r.name === "deploy-nosched-schedule").length, 0);
    });

    it("takes the OIDC role and app from other resources' outputs", async () => {
        const roleArn = pulumi.output(ROLE);
        const deployments = new StackDeployments("deploy-outputs", { ...base, aws: { roleArn }, azure: { ...AZURE, clientId: pulumi.output(AZURE.clientId) } });
        await settle(deployments.settings.urn);
        const settings = byName("deploy-outputs-settings");
        assert.equal(settings.inputs.operationContext.oidc.aws.roleARN, ROLE);
        assert.equal(settings.inputs.operationContext.oidc.azure.clientId, AZURE.clientId);
    });

    it("lists the OIDC subjects the cloud trusts must accept", () => {
        const deployments = new StackDeployments("deploy-subjects", { ...base, scheduleCron: false });
        assert.deepEqual(deployments.oidcSubjects, [
            "pulumi:deploy:org:acme:project:multicloud-mesh:stack:prod:operation:update:scope:write",
            "pulumi:deploy:org:acme:project:multicloud-mesh:stack:prod:operation:preview:scope:write",
            "pulumi:deploy:org:acme:project:multicloud-mesh:stack:prod:operation:refresh:scope:write",
        ]);
        assert.equal(deploymentOidcSubject("o", "p", "s", "update"), "pulumi:deploy:org:o:project:p:stack:s:operation:update:scope:write");
        assert.equal(deployments.stackName, "acme/multicloud-mesh/prod");
    });

    describe("validation names the bad field", () => {
        const cases: Array<[string, Partial<StackDeploymentsArgs> | ((a: StackDeploymentsArgs) => StackDeploymentsArgs), RegExp]> = [
            ["no organization", { organization: "" }, /^StackDeployments: args\.organization is required$/],
            ["organization with a space", { organization: "ac me" }, /^StackDeployments: args\.organization must be 1 to 100 letters/],
            ["project with a slash", { project: "a/b" }, /^StackDeployments: args\.project must be 1 to 100 letters, .* got "a\/b"$/],
            ["repository without owner", (a) => ({ ...a, source: { ...a.source, repository: "multicloud-mesh" } }), /^StackDeployments: args\.source\.repository must be a GitHub repository "owner\/name", got "multicloud-mesh"$/],
            ["repository as a URL", (a) => ({ ...a, source: { ...a.source, repository: "https://github.com/acme/mesh" } }), /^StackDeployments: args\.source\.repository/],
            ["empty branch", (a) => ({ ...a, source: { ...a.source, branch: "" } }), /^StackDeployments: args\.source\.branch must be a branch name/],
            ["absolute repoDir", (a) => ({ ...a, source: { ...a.source, repoDir: "/infra" } }), /^StackDeployments: args\.source\.repoDir must be a folder inside the repository/],
            ["repoDir escaping", (a) => ({ ...a, source: { ...a.source, repoDir: "infra/../.." } }), /^StackDeployments: args\.source\.repoDir/],
            ["empty paths", (a) => ({ ...a, source: { ...a.source, paths: [] } }), /^StackDeployments: args\.source\.paths must be a non-empty list/],
            ["role that is not an IAM role ARN", { aws: { roleArn: "arn:aws:iam::123456789012:user/bob" } }, /^StackDeployments: args\.aws\.roleArn must be an IAM role ARN .* got "arn:aws:iam::123456789012:user\/bob"$/],
            ["no role", { aws: { roleArn: "" } }, /^StackDeployments: args\.aws\.roleArn is required/],
            ["13-hour session", { aws: { roleArn: ROLE, duration: "13h" } }, /^StackDeployments: args\.aws\.duration must be a duration .* got "13h"$/],
            ["5-minute session", { aws: { roleArn: ROLE, duration: "5m" } }, /^StackDeployments: args\.aws\.duration/],
            ["session name with a space", { aws: { roleArn: ROLE, sessionName: "a b" } }, /^StackDeployments: args\.aws\.sessionName/],
            ["tenant that is not a GUID", { azure: { ...AZURE, tenantId: "contoso.onmicrosoft.com" } }, /^StackDeployments: args\.azure\.tenantId must be a GUID, got "contoso\.onmicrosoft\.com"$/],
            ["no subscription", { azure: { ...AZURE, subscriptionId: "" } }, /^StackDeployments: args\.azure\.subscriptionId is required$/],
            ["cron with 6 fields", { scheduleCron: "0 0 4 * * 1" }, /^StackDeployments: args\.scheduleCron "0 0 4 \* \* 1": needs 5 fields/],
            ["cron hour 24", { scheduleCron: "0 24 * * *" }, /^StackDeployments: args\.scheduleCron "0 24 \* \* \*": the hour field "24" has 24, outside 0\.\.23$/],
            ["cron with names", { scheduleCron: "0 4 * * MON" }, /^StackDeployments: args\.scheduleCron .*day of week field "MON" is not a number/],
            ["an AWS key in the environment", { environmentVariables: { AWS_SECRET_ACCESS_KEY: "x" } }, /^StackDeployments: args\.environmentVariables\.AWS_SECRET_ACCESS_KEY would store a long-lived cloud credential/],
            ["an Azure secret in the environment", { environmentVariables: { ARM_CLIENT_SECRET: "x" } }, /^StackDeployments: args\.environmentVariables\.ARM_CLIENT_SECRET would store/],
            ["refresh set twice", { environmentVariables: { PULUMI_OPTION_REFRESH: "false" } }, /^StackDeployments: args\.environmentVariables\.PULUMI_OPTION_REFRESH is set by args\.refreshBeforeOperations/],
            ["an empty pre-run command", { preRunCommands: [" "] }, /^StackDeployments: args\.preRunCommands must be a list of non-empty shell commands$/],
            ["a policy pack outside the program", { policyPack: "../policy" }, /^StackDeployments: args\.policyPack must be a folder inside the program's folder/],
            ["a policy pack folder with a shell metacharacter", { policyPack: "policy; curl x" }, /^StackDeployments: args\.policyPack must be a folder/],
            ["the policy pack set twice", { environmentVariables: { PULUMI_OPTION_POLICY_PACK: "p" } }, /^StackDeployments: args\.environmentVariables\.PULUMI_OPTION_POLICY_PACK is set by args\.policyPack/],
        ];
        cases.forEach(([what, change, message], i) => {
            it(`refuses ${what}`, () => {
                const before = registered.length;
                const args = typeof change === "function" ? change(base) : { ...base, ...change };
                assert.throws(() => new StackDeployments(`bad-${i}`, args as StackDeploymentsArgs), (err: Error) => {
                    assert.match(err.message, message);
                    return true;
                });
                assert.equal(registered.length, before, "nothing registered, not even the component");
                assert.equal(dependencies.has(`bad-${i}`), false);
            });
        });

        it("accepts the cron forms Pulumi Cloud documents (lists, ranges, steps)", () => {
            for (const cron of ["0 4 * * 1", "*/15 * * * *", "0 0-6/2 1,15 * 1-5", "0 4 * * 7"]) assert.equal(cronProblem(cron), undefined, cron);
        });
    });
});
