import { strict as assert } from "assert";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { STSClient } from "@aws-sdk/client-sts";
import { createWebIdentityCredentialsProvider, EntraTokenSource, scopeForAudience, WebIdentityCredentialsError } from "../../runtime/aws-web-identity";
import { startPutEventsEndpoint, PutEventsEndpoint } from "../../tools/local-servers/put-events-endpoint";
import { createTokenIssuerModel, startStsEndpoint, StsEndpoint, TokenIssuerModel } from "../../tools/local-servers/sts-endpoint";

/**
 * The web-identity exchange against the local STS model (query protocol, XML), with tokens from a
 * local issuer standing in for Entra ID (v1.0 app-only token claims: iss sts.windows.net/<tenant>/,
 * aud = the audience's App ID URI, sub = oid = the managed identity's principal id).
 */
describe("AWS credentials from an Entra token (AssumeRoleWithWebIdentity)", function () {
  this.timeout(20_000);
  const tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
  const audience = "api://multicloud-mesh-aws";
  const principalId = "0b5a6f2e-1c7d-4a8e-9f00-3c2b1a0d9e8f";
  const clientId = "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b";
  const roleArn = "arn:aws:iam::123456789012:role/mesh-azure-relay";
  let sts: StsEndpoint;
  let issuer: TokenIssuerModel;
  let scopes: string[];
  let tokens: string[];

  const tokenSource = (claims: Record<string, unknown> = {}): EntraTokenSource => ({
    async getToken(scope) {
      scopes.push(scope);
      const token = issuer.sign({ aud: audience, sub: principalId, oid: principalId, appid: clientId, tid: tenant, ver: "1.0", ...claims });
      tokens.push(token);
      return { token, expiresOnTimestamp: Date.now() + 3600_000 };
    },
  });
  const stsClient = () => new STSClient({ region: "eu-west-1", endpoint: sts.endpoint, maxAttempts: 1 });

  before(async () => {
    sts = await startStsEndpoint();
    issuer = createTokenIssuerModel(`https://sts.windows.net/${tenant}/`);
    sts.addProvider({ issuer: issuer.issuer, clientIds: [audience], publicKey: issuer.publicKey });
    sts.addRole({ roleArn, issuer: issuer.issuer, conditions: { aud: audience, sub: principalId } });
  });
  after(() => sts.stop());
  beforeEach(() => {
    sts.calls.length = 0;
    sts.issued.length = 0;
    scopes = [];
    tokens = [];
  });

  it("requests <audience>/.default and exchanges that token, unsigned, for the role's credentials", async () => {
    const provider = createWebIdentityCredentialsProvider({ tokenSource: tokenSource(), audience, roleArn, roleSessionName: "mesh-outbox-relay", sts: stsClient() });
    const credentials = await provider();
    assert.deepEqual(scopes, [`${audience}/.default`]);
    assert.equal(sts.calls.length, 1);
    const call = sts.calls[0];
    assert.equal(call.params.Action, "AssumeRoleWithWebIdentity");
    assert.equal(call.params.RoleArn, roleArn);
    assert.equal(call.params.RoleSessionName, "mesh-outbox-relay");
    assert.equal(call.params.WebIdentityToken, tokens[0]);
    assert.equal(call.params.DurationSeconds, "3600");
    assert.equal(call.headers.authorization, undefined, "AssumeRoleWithWebIdentity needs no AWS signature: no secret is involved");
    assert.equal(credentials.accessKeyId, sts.issued[0].accessKeyId);
    assert.equal(credentials.sessionToken, sts.issued[0].sessionToken);
    assert.equal(credentials.expiration.getTime(), sts.issued[0].expiration.getTime());
    assert.equal(scopeForAudience("api://x/"), "api://x/.default");
    assert.equal(scopeForAudience("api://x/.default"), "api://x/.default");
  });

  it("caches until refreshBeforeMs before expiry, then exchanges a fresh token; concurrent callers share one exchange", async () => {
    let clock = Date.now();
    const provider = createWebIdentityCredentialsProvider({
      tokenSource: tokenSource(),
      audience,
      roleArn,
      roleSessionName: "mesh-outbox-relay",
      sts: stsClient(),
      refreshBeforeMs: 5 * 60_000,
      now: () => clock,
    });
    const first = await Promise.all([provider(), provider(), provider(), provider()]);
    assert.equal(sts.calls.length, 1, "four concurrent callers, one exchange");
    assert.ok(first.every((c) => c.accessKeyId === first[0].accessKeyId));
    clock = first[0].expiration.getTime() - 6 * 60_000;
    assert.equal((await provider()).accessKeyId, first[0].accessKeyId, "still outside the refresh window: cached");
    assert.equal(sts.calls.length, 1);
    clock = first[0].expiration.getTime() - 4 * 60_000;
    const second = await provider();
    assert.equal(sts.calls.length, 2, "inside the refresh window: exchanged again");
    assert.equal(scopes.length, 2, "with a fresh Entra token");
    assert.notEqual(second.accessKeyId, first[0].accessKeyId);
    provider.invalidate();
    await provider();
    assert.equal(sts.calls.length, 3, "invalidate forgets the cached credentials");
  });

  it("signs EventBridge requests with the exchanged credentials", async () => {
    const events: PutEventsEndpoint = await startPutEventsEndpoint();
    try {
      const provider = createWebIdentityCredentialsProvider({ tokenSource: tokenSource(), audience, roleArn, roleSessionName: "mesh-outbox-relay", sts: stsClient() });
      const client = new EventBridgeClient({ region: "eu-west-1", endpoint: events.endpoint, credentials: provider, maxAttempts: 1 });
      await client.send(new PutEventsCommand({ Entries: [{ Source: "azure.orders", DetailType: "OrderPlaced", Detail: "{}", EventBusName: "mesh" }] }));
      const headers = events.requests[0].headers;
      assert.match(String(headers.authorization), new RegExp(`Credential=${sts.issued[0].accessKeyId}/\\d{8}/eu-west-1/events/aws4_request`));
      assert.equal(headers["x-amz-security-token"], sts.issued[0].sessionToken);
    } finally {
      await events.stop();
    }
  });

  it("errors name the step: the Entra token, then STS with the claims the trust checks (never the token)", async () => {
    const failing: EntraTokenSource = {
      getToken: async () => {
        throw new Error("ManagedIdentityCredential: no managed identity endpoint");
      },
    };
    const noToken = createWebIdentityCredentialsProvider({ tokenSource: failing, audience, roleArn, roleSessionName: "mesh-outbox-relay", sts: stsClient() });
    await assert.rejects(noToken(), (e: WebIdentityCredentialsError) => e.step === "entra-token" && /step entra-token/.test(e.message) && e.message.includes(`${audience}/.default`));
    assert.equal(sts.calls.length, 0);

    const otherIdentity = createWebIdentityCredentialsProvider({
      tokenSource: tokenSource({ sub: "11111111-2222-3333-4444-555555555555", oid: "11111111-2222-3333-4444-555555555555" }),
      audience,
      roleArn,
      roleSessionName: "mesh-outbox-relay",
      sts: stsClient(),
    });
    await assert.rejects(otherIdentity(), (e: WebIdentityCredentialsError) => {
      assert.equal(e.step, "assume-role");
      assert.match(e.message, /AccessDenied/);
      assert.match(e.message, /"sub":"11111111-2222-3333-4444-555555555555"/);
      assert.match(e.message, new RegExp(`"iss":"https://sts.windows.net/${tenant}/"`));
      assert.ok(!e.message.includes(tokens[tokens.length - 1]), "the token itself never appears in an error");
      return true;
    });

    const wrongAudience = createWebIdentityCredentialsProvider({ tokenSource: tokenSource({ aud: "api://something-else" }), audience, roleArn, roleSessionName: "mesh-outbox-relay", sts: stsClient() });
    await assert.rejects(wrongAudience(), /InvalidIdentityToken.*Incorrect token audience/);

    const expired: EntraTokenSource = {
      getToken: async () => ({ token: issuer.sign({ aud: audience, sub: principalId }, { nowSeconds: Math.floor(Date.now() / 1000) - 7200 }), expiresOnTimestamp: 0 }),
    };
    const stale = createWebIdentityCredentialsProvider({ tokenSource: expired, audience, roleArn, roleSessionName: "mesh-outbox-relay", sts: stsClient() });
    await assert.rejects(stale(), /ExpiredTokenException/);
  });

  it("a failed exchange is not cached: the next call tries again", async () => {
    const provider = createWebIdentityCredentialsProvider({ tokenSource: tokenSource(), audience, roleArn, roleSessionName: "mesh-outbox-relay", sts: stsClient() });
    sts.failNext(1, 500, "InternalFailure");
    await assert.rejects(provider(), (e: WebIdentityCredentialsError) => e.step === "assume-role");
    const credentials = await provider();
    assert.equal(credentials.accessKeyId, sts.issued[0].accessKeyId);
    assert.equal(sts.calls.length, 2);
  });

  it("refuses bad options up front, naming them", () => {
    const base = { tokenSource: tokenSource(), audience, roleArn, roleSessionName: "mesh-outbox-relay", sts: stsClient() };
    assert.throws(() => createWebIdentityCredentialsProvider({ ...base, roleArn: "arn:aws:iam::123:role/x" }), /roleArn/);
    assert.throws(() => createWebIdentityCredentialsProvider({ ...base, roleSessionName: "has space" }), /roleSessionName/);
    assert.throws(() => createWebIdentityCredentialsProvider({ ...base, durationSeconds: 600 }), /durationSeconds/);
    assert.throws(() => createWebIdentityCredentialsProvider({ ...base, audience: "" }), /audience/);
  });
});
