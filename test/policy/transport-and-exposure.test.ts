import * as assert from "assert";

import { T } from "../../policy/policies";

import { assertFails, assertPasses, messages, resource, UNKNOWN_BOOLEAN, verdictOf } from "./support";


describe("policy: servicebus-namespace-entra-only-tls12", () => {
    const P = "servicebus-namespace-entra-only-tls12";
    const ns = (extra: Record<string, unknown>) => resource(T.serviceBusNamespace, "ns", { namespaceName: "n", disableLocalAuth: true, minimumTlsVersion: "1.2", ...extra });
    it("passes SAS disabled and TLS 1.2", async () => assertPasses(await verdictOf(P, [ns({})])));
    it("fails SAS enabled", async () => assertFails(await verdictOf(P, [ns({ disableLocalAuth: false })]), /disableLocalAuth is false/));
    it("fails a missing disableLocalAuth (Azure's default is SAS on)", async () => assertFails(await verdictOf(P, [ns({ disableLocalAuth: undefined })]), /disableLocalAuth is \(not set\)/));
    it("fails TLS 1.0 and a missing TLS version", async () => {
        assertFails(await verdictOf(P, [ns({ minimumTlsVersion: "1.0" })]), /minimumTlsVersion is "1\.0"/);
        assertFails(await verdictOf(P, [ns({ minimumTlsVersion: undefined })]), /minimumTlsVersion is \(not set\)/);
    });
    it("skips values unknown during preview", async () => assertPasses(await verdictOf(P, [ns({ disableLocalAuth: UNKNOWN_BOOLEAN })])));
});

describe("policy: redis-tls-only", () => {
    const P = "redis-tls-only";
    it("passes a TLS-only cache, cluster and database", async () => {
        assertPasses(await verdictOf(P, [resource(T.redis, "r", { enableNonSslPort: false, minimumTlsVersion: "1.2" })]));
        assertPasses(await verdictOf(P, [resource(T.redisEnterprise, "c", { minimumTlsVersion: "1.2" })]));
        assertPasses(await verdictOf(P, [resource(T.redisEnterpriseDatabase, "d", { clientProtocol: "Encrypted" })]));
    });
    it("fails a non-TLS port, an old or missing TLS version, a plaintext database", async () => {
        assertFails(await verdictOf(P, [resource(T.redis, "r", { enableNonSslPort: true, minimumTlsVersion: "1.2" })]), /enableNonSslPort is true/);
        assertFails(await verdictOf(P, [resource(T.redis, "r", { minimumTlsVersion: "1.1" })]), /minimumTlsVersion is "1\.1"/);
        assertFails(await verdictOf(P, [resource(T.redisEnterprise, "c", {})]), /minimumTlsVersion is \(not set\)/);
        assertFails(await verdictOf(P, [resource(T.redisEnterpriseDatabase, "d", { clientProtocol: "Plaintext" })]), /Plaintext/);
    });
});

describe("policy: function-app-https-no-key-settings", () => {
    const P = "function-app-https-no-key-settings";
    const app = (extra: Record<string, unknown>, settings: { name: string; value: string }[] = []) =>
        resource(T.webApp, "consumer", { kind: "functionapp,linux", httpsOnly: true, siteConfig: { appSettings: settings, ftpsState: "Disabled", minTlsVersion: "1.2" }, ...extra });
    const secret = "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=c2VjcmV0LWtleQ==;EndpointSuffix=core.windows.net";
    it("passes HTTPS only with identity-based and Key Vault settings", async () =>
        assertPasses(await verdictOf(P, [app({}, [{ name: "AzureWebJobsStorage__accountName", value: "st" }, { name: "REDIS", value: "@Microsoft.KeyVault(SecretUri=https://kv/secrets/redis)" }])])));
    it("fails without httpsOnly", async () => assertFails(await verdictOf(P, [app({ httpsOnly: undefined })]), /httpsOnly is \(not set\)/));
    it("fails a key-bearing app setting, without printing the key", async () => {
        const v = await verdictOf(P, [app({}, [{ name: "AzureWebJobsStorage", value: secret }])]);
        assertFails(v, /app setting "AzureWebJobsStorage" holds a key-bearing connection string/);
        assert.ok(!messages(v).some((m) => m.includes("c2VjcmV0")), "the key leaked into the message");
    });
    it("fails SAS keys in a separate settings resource and in connection strings", async () => {
        assertFails(await verdictOf(P, [resource(T.webAppSettings, "s", { properties: { SB: "Endpoint=sb://n.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=abc" } })]), /"SB"/);
        assertFails(await verdictOf(P, [app({ siteConfig: { connectionStrings: [{ name: "redis", connectionString: "r.redis.cache.windows.net:6380,password=abc,ssl=True" }] } })]), /connection string "redis"/);
    });
});

describe("policy: stack-outputs-no-credentials", () => {
    const P = "stack-outputs-no-credentials";
    const password = resource(T.applicationPassword, "secret", { applicationId: "a" }, { outputs: { value: "s3cr3t-value-xyz" } });
    const stack = (outputs: Record<string, unknown>) => resource(T.stack, "stack", {}, { outputs, custom: false });
    it("passes plain outputs, fails a credential exported (even nested), or a key-bearing connection string", async () => {
        assertPasses(await verdictOf(P, [password, stack({ clientId: "abc" })]));
        assertFails(await verdictOf(P, [password, stack({ publisher: { secret: "s3cr3t-value-xyz" } })]), /holds the credential ApplicationPassword "secret"\.value/);
        assertFails(await verdictOf(P, [stack({ sb: "Endpoint=sb://x/;SharedAccessKeyName=k;SharedAccessKey=abc" })]), /key-bearing/);
    });
    it("an output can be allowed by name", async () => assertPasses(await verdictOf(P, [password, stack({ handover: "s3cr3t-value-xyz" })], { [P]: { allowedOutputs: ["handover"] } })));
});
