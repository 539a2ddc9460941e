import * as http from "http";
import { createPublicKey, generateKeyPairSync, KeyObject, randomBytes, randomUUID, sign, verify } from "crypto";
import { AddressInfo } from "net";

/**
 * A local MODEL of STS AssumeRoleWithWebIdentity, speaking the AWS query protocol as the SDK sends
 * it (POST /, form-encoded Action=AssumeRoleWithWebIdentity&Version=2011-06-15&…; XML answers in
 * the 2011-06-15 namespace). It is not AWS: it checks what the STS API reference and the IAM OIDC
 * docs say STS checks, in that order, and answers with the documented error codes:
 *   - token is a JWT signed (RS256) by a key of a registered OIDC provider whose URL is its `iss`
 *     (else InvalidIdentityToken),
 *   - `aud` is one of that provider's client ids (else InvalidIdentityToken),
 *   - not expired (else ExpiredTokenException),
 *   - parameters: RoleSessionName 2–64 of [\w+=,.@-], DurationSeconds 900..role max (ValidationError),
 *   - the role exists and its trust names the provider with `StringEquals` conditions on
 *     `<provider>:aud` / `<provider>:sub` that the token meets (else AccessDenied).
 * What it cannot model: Entra's real keys and JWKS discovery, thumbprints, IAM propagation delays.
 */

export interface OidcProviderModel {
  /** The `iss` value exactly (e.g. https://sts.windows.net/<tenant>/). */
  issuer: string;
  clientIds: string[];
  publicKey: KeyObject;
}

export interface RoleModel {
  roleArn: string;
  /** Provider issuer the trust names as Federated principal. */
  issuer: string;
  /** StringEquals conditions: claim name (aud, sub, …) → required value. */
  conditions: Record<string, string>;
  maxSessionDurationSeconds?: number;
}

export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  roleArn: string;
  roleSessionName: string;
  subject: string;
  audience: string;
}

export interface StsCall {
  params: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  outcome: "issued" | string;
}

export interface StsEndpoint {
  readonly endpoint: string;
  readonly calls: StsCall[];
  readonly issued: IssuedCredentials[];
  addProvider(provider: OidcProviderModel): void;
  addRole(role: RoleModel): void;
  /** Makes the next `count` calls fail with HTTP `status` and this error code (service-side trouble). */
  failNext(count: number, status: number, code: string): void;
  stop(): Promise<void>;
}

/** A local token issuer standing in for Entra ID: signs RS256 JWTs with claims the test chooses. */
export interface TokenIssuerModel {
  readonly issuer: string;
  readonly publicKey: KeyObject;
  sign(claims: Record<string, unknown>, options?: { lifetimeSeconds?: number; nowSeconds?: number }): string;
}

export function createTokenIssuerModel(issuer: string): TokenIssuerModel {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = randomBytes(8).toString("hex");
  return {
    issuer,
    publicKey: createPublicKey(publicKey.export({ type: "spki", format: "pem" })),
    sign(claims, options = {}) {
      const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
      const header = { typ: "JWT", alg: "RS256", kid };
      const payload = { iss: issuer, iat: now, nbf: now, exp: now + (options.lifetimeSeconds ?? 3600), ...claims };
      const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
      const input = `${part(header)}.${part(payload)}`;
      return `${input}.${sign("RSA-SHA256", Buffer.from(input), privateKey).toString("base64url")}`;
    },
  };
}

const NS = "https://sts.amazonaws.com/doc/2011-06-15/";
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

function xmlEscape(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

class StsFault extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startStsEndpoint(): Promise<StsEndpoint> {
  const providers: OidcProviderModel[] = [];
  const roles: RoleModel[] = [];
  const calls: StsCall[] = [];
  const issued: IssuedCredentials[] = [];
  let failures = { count: 0, status: 500, code: "InternalFailure" };

  const assume = (params: Record<string, string>): IssuedCredentials & { provider: string } => {
    const token = params.WebIdentityToken ?? "";
    const parts = token.split(".");
    if (parts.length !== 3) throw new StsFault(400, "InvalidIdentityToken", "Couldn't parse the web identity token: not a JWT");
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8"));
      claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
    } catch {
      throw new StsFault(400, "InvalidIdentityToken", "Couldn't parse the web identity token");
    }
    const provider = providers.find((p) => p.issuer === claims.iss);
    if (!provider) throw new StsFault(400, "InvalidIdentityToken", `No OpenIDConnect provider found in your account for ${String(claims.iss)}`);
    if (header.alg !== "RS256" || !verify("RSA-SHA256", Buffer.from(`${parts[0]}.${parts[1]}`), provider.publicKey, Buffer.from(parts[2], "base64url"))) {
      throw new StsFault(400, "InvalidIdentityToken", "The web identity token's signature could not be verified");
    }
    const audiences = Array.isArray(claims.aud) ? (claims.aud as string[]) : [String(claims.aud)];
    if (!audiences.some((a) => provider.clientIds.includes(a))) throw new StsFault(400, "InvalidIdentityToken", "Incorrect token audience");
    if (typeof claims.exp !== "number" || claims.exp * 1000 <= Date.now()) throw new StsFault(400, "ExpiredTokenException", "Token expired");
    const sessionName = params.RoleSessionName ?? "";
    if (!SESSION_NAME.test(sessionName)) throw new StsFault(400, "ValidationError", "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint");
    const role = roles.find((r) => r.roleArn === params.RoleArn);
    const duration = params.DurationSeconds ? Number(params.DurationSeconds) : 3600;
    const maxDuration = role?.maxSessionDurationSeconds ?? 3600;
    if (!Number.isInteger(duration) || duration < 900 || (role && duration > maxDuration)) {
      throw new StsFault(400, "ValidationError", `The requested DurationSeconds exceeds the MaxSessionDuration set for this role (or is below 900)`);
    }
    const key = provider.issuer.replace(/^https:\/\//, "");
    const trusted =
      role !== undefined &&
      role.issuer === provider.issuer &&
      Object.entries(role.conditions).every(([claim, expected]) => (claim === "aud" ? audiences.includes(expected) : claims[claim] === expected));
    if (!trusted) throw new StsFault(403, "AccessDenied", `Not authorized to perform sts:AssumeRoleWithWebIdentity (trust on ${key}:aud/${key}:sub)`);
    const credentials: IssuedCredentials = {
      accessKeyId: `ASIA${randomBytes(8).toString("hex").toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString("base64"),
      sessionToken: randomBytes(48).toString("base64"),
      expiration: new Date(Math.floor(Date.now() / 1000) * 1000 + duration * 1000),
      roleArn: role.roleArn,
      roleSessionName: sessionName,
      subject: String(claims.sub),
      audience: audiences.find((a) => provider.clientIds.includes(a))!,
    };
    return { ...credentials, provider: provider.issuer };
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString("utf8")));
      const call: StsCall = { params, headers: req.headers, outcome: "issued" };
      calls.push(call);
      const requestId = randomUUID();
      try {
        if (failures.count > 0) {
          failures.count--;
          throw new StsFault(failures.status, failures.code, "injected failure");
        }
        if (req.method !== "POST" || params.Action !== "AssumeRoleWithWebIdentity" || params.Version !== "2011-06-15") {
          throw new StsFault(400, "InvalidAction", `unsupported ${req.method} Action=${params.Action} Version=${params.Version}`);
        }
        const c = assume(params);
        issued.push(c);
        const roleName = c.roleArn.split("/").pop()!;
        const account = c.roleArn.split(":")[4];
        res.writeHead(200, { "content-type": "text/xml", "x-amzn-requestid": requestId });
        res.end(
          `<AssumeRoleWithWebIdentityResponse xmlns="${NS}"><AssumeRoleWithWebIdentityResult>` +
            `<SubjectFromWebIdentityToken>${xmlEscape(c.subject)}</SubjectFromWebIdentityToken>` +
            `<Audience>${xmlEscape(c.audience)}</Audience>` +
            `<AssumedRoleUser><Arn>arn:aws:sts::${account}:assumed-role/${xmlEscape(roleName)}/${xmlEscape(c.roleSessionName)}</Arn>` +
            `<AssumedRoleId>AROA${randomBytes(8).toString("hex").toUpperCase()}:${xmlEscape(c.roleSessionName)}</AssumedRoleId></AssumedRoleUser>` +
            `<Credentials><SessionToken>${xmlEscape(c.sessionToken)}</SessionToken><SecretAccessKey>${xmlEscape(c.secretAccessKey)}</SecretAccessKey>` +
            `<Expiration>${c.expiration.toISOString()}</Expiration><AccessKeyId>${c.accessKeyId}</AccessKeyId></Credentials>` +
            `<Provider>${xmlEscape(c.provider)}</Provider>` +
            `</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`,
        );
      } catch (error) {
        const fault = error instanceof StsFault ? error : new StsFault(500, "InternalFailure", String(error));
        call.outcome = fault.code;
        res.writeHead(fault.status, { "content-type": "text/xml", "x-amzn-requestid": requestId });
        res.end(
          `<ErrorResponse xmlns="${NS}"><Error><Type>${fault.status >= 500 ? "Receiver" : "Sender"}</Type><Code>${fault.code}</Code>` +
            `<Message>${xmlEscape(fault.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    calls,
    issued,
    addProvider: (p) => void providers.push(p),
    addRole: (r) => void roles.push(r),
    failNext: (count, status, code) => (failures = { count, status, code }),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
