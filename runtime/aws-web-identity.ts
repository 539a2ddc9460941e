/**
 * AWS credentials for a workload on Azure, with no secret: the managed identity's Entra ID access
 * token (for an audience the program defines) is exchanged with STS AssumeRoleWithWebIdentity for
 * short-lived credentials of one role. Nothing is stored or rotated; the token itself is never
 * logged (errors carry its issuer, audience and subject, which is what a trust policy checks).
 *
 * The provider caches the credentials and exchanges again `refreshBeforeMs` before they expire;
 * concurrent callers share one exchange in flight. The AWS SDK calls it as `credentials: provider`.
 */
import { AssumeRoleWithWebIdentityCommand, AssumeRoleWithWebIdentityCommandOutput } from "@aws-sdk/client-sts";

/** An Entra ID access token as @azure/identity's `TokenCredential.getToken` returns it. */
export interface EntraAccessToken {
  token: string;
  /** Milliseconds since the epoch. */
  expiresOnTimestamp: number;
}

/**
 * Where Entra tokens come from. In the Function: @azure/identity's ManagedIdentityCredential
 * (with the user-assigned identity's client id), whose `getToken` has this shape.
 */
export interface EntraTokenSource {
  getToken(scope: string): Promise<EntraAccessToken | null>;
}

/** The one STS call made. An `STSClient` satisfies it. */
export interface AssumeRoleWithWebIdentityPort {
  send(command: AssumeRoleWithWebIdentityCommand): Promise<AssumeRoleWithWebIdentityCommandOutput>;
}

/** What the AWS SDK expects from a credentials provider. */
export interface AwsTemporaryCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

export interface WebIdentityCredentialsOptions {
  tokenSource: EntraTokenSource;
  /**
   * The audience the AWS role trusts: the Application ID URI (or client id) of the Entra app
   * registration that stands for "AWS". The token is requested for `<audience>/.default`.
   */
  audience: string;
  roleArn: string;
  /** Shows in CloudTrail as the assumed-role session. 2–64 of `[\w+=,.@-]` (STS API reference). */
  roleSessionName: string;
  sts: AssumeRoleWithWebIdentityPort;
  /** STS DurationSeconds (900 … the role's MaxSessionDuration). Default 3600. */
  durationSeconds?: number;
  /** Exchange again this long before the credentials expire. Default 5 minutes. */
  refreshBeforeMs?: number;
  now?: () => number;
}

export type WebIdentityStep = "entra-token" | "assume-role" | "assume-role-response";

export class WebIdentityCredentialsError extends Error {
  override readonly name = "WebIdentityCredentialsError";
  constructor(
    readonly step: WebIdentityStep,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    // Set again: the closure serializer turns `super(…)` into `Error.call(this, …)` (see event.ts).
    this.message = message;
  }
}

// STS API reference, AssumeRoleWithWebIdentity: RoleSessionName length 2–64, pattern [\w+=,.@-]*;
// DurationSeconds minimum 900.
const ROLE_SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

/** The scope to request for an audience (an app's ID URI or client id). */
export function scopeForAudience(audience: string): string {
  return audience.endsWith("/.default") ? audience : `${audience.replace(/\/+$/, "")}/.default`;
}

/**
 * Issuer, audience, subject and version of a JWT, for error messages and logs; never the token.
 * No signature check: this is diagnostics, STS does the verification.
 */
export function describeJwtClaims(token: string): Record<string, unknown> {
  try {
    const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
    const picked: Record<string, unknown> = {};
    for (const claim of ["iss", "aud", "sub", "oid", "appid", "azp", "ver", "tid", "exp"]) if (payload[claim] !== undefined) picked[claim] = payload[claim];
    return picked;
  } catch {
    return { unreadable: true };
  }
}

export interface WebIdentityCredentialsProvider {
  (): Promise<AwsTemporaryCredentials>;
  /** Forget the cached credentials (e.g. after AWS answered ExpiredToken). */
  invalidate(): void;
}

export function createWebIdentityCredentialsProvider(options: WebIdentityCredentialsOptions): WebIdentityCredentialsProvider {
  const problems: string[] = [];
  if (!options.audience) problems.push("audience is required");
  if (!ROLE_ARN.test(options.roleArn ?? "")) problems.push(`roleArn must be an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>), got ${JSON.stringify(options.roleArn)}`);
  if (!ROLE_SESSION_NAME.test(options.roleSessionName ?? "")) problems.push(`roleSessionName must be 2-64 characters of [A-Za-z0-9_+=,.@-], got ${JSON.stringify(options.roleSessionName)}`);
  const durationSeconds = options.durationSeconds ?? 3600;
  if (!Number.isInteger(durationSeconds) || durationSeconds < 900 || durationSeconds > 43_200) problems.push(`durationSeconds must be an integer in 900..43200, got ${durationSeconds}`);
  if (problems.length > 0) throw new Error(`createWebIdentityCredentialsProvider: ${problems.join("; ")}`);
  const refreshBeforeMs = options.refreshBeforeMs ?? 5 * 60_000;
  const now = options.now ?? Date.now;
  const scope = scopeForAudience(options.audience);
  const where = `role ${options.roleArn}, audience ${options.audience}`;

  // One object for the cache and the steps (closure serializer; runtime/README.md).
  const state = {
    cached: undefined as AwsTemporaryCredentials | undefined,
    inFlight: undefined as Promise<AwsTemporaryCredentials> | undefined,
    async exchange(): Promise<AwsTemporaryCredentials> {
      let token: EntraAccessToken | null;
      try {
        token = await options.tokenSource.getToken(scope);
      } catch (error) {
        throw new WebIdentityCredentialsError(
          "entra-token",
          `step entra-token: the managed identity could not get an Entra token for scope ${scope} (${where}): ${(error as Error)?.message ?? String(error)}`,
          { cause: error },
        );
      }
      if (!token || !token.token) {
        throw new WebIdentityCredentialsError("entra-token", `step entra-token: no Entra token returned for scope ${scope} (${where})`);
      }
      let output: AssumeRoleWithWebIdentityCommandOutput;
      try {
        output = await options.sts.send(
          new AssumeRoleWithWebIdentityCommand({
            RoleArn: options.roleArn,
            RoleSessionName: options.roleSessionName,
            WebIdentityToken: token.token,
            DurationSeconds: durationSeconds,
          }),
        );
      } catch (error) {
        const name = (error as { name?: string })?.name ?? "Error";
        throw new WebIdentityCredentialsError(
          "assume-role",
          `step assume-role: STS AssumeRoleWithWebIdentity refused the Entra token for ${where} (${name}: ${(error as Error)?.message ?? String(error)}); ` +
            `token claims ${JSON.stringify(describeJwtClaims(token.token))}: the role's trust must name this issuer, aud and sub`,
          { cause: error },
        );
      }
      const c = output.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !(c.Expiration instanceof Date) || Number.isNaN(c.Expiration.getTime())) {
        throw new WebIdentityCredentialsError("assume-role-response", `step assume-role-response: STS answered without complete credentials for ${where}`);
      }
      return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
    },
    async get(): Promise<AwsTemporaryCredentials> {
      const current = state.cached;
      if (current && current.expiration.getTime() - refreshBeforeMs > now()) return current;
      if (!state.inFlight) {
        state.inFlight = state.exchange().then(
          (fresh) => {
            state.cached = fresh;
            state.inFlight = undefined;
            return fresh;
          },
          (error: unknown) => {
            state.inFlight = undefined;
            throw error;
          },
        );
      }
      return state.inFlight;
    },
  };

  const provider = (() => state.get()) as WebIdentityCredentialsProvider;
  provider.invalidate = () => {
    state.cached = undefined;
  };
  return provider;
}
