/**
 * The local mesh: producer → outbox → relay → bus → queue → consumer on this machine, under seeded
 * faults, ending with the count (tools/sim/simulation.ts says what is real and what is a model).
 *
 *   npm run local -- --events 10000 --seed 42 [--stack dev|prod] [--faults none|default|heavy] [--baseline setnx-first]
 *                    [--handler conditional|plain] [--json] [--no-redis-restart] [--redis-aof] [--workers 16] [--wall-limit-minutes 60 | --wall-limit-seconds S]
 *                    [--dynamodb-url http://127.0.0.1:8000] [--redis-url redis://127.0.0.1:6379]
 *                    [--business-redis-url redis://…]
 *
 * Starts DynamoDB Local and two redis-servers (idempotency store, business store) unless given by
 * URL. Progress on stderr when it is a terminal, the report on stdout, exit code 1 when the run
 * fails (anything lost, an effect applied twice, a poison event not dead-lettered).
 */
import Redis from "ioredis";
import { CONSUMER_REDIS_OPTIONS } from "../runtime/idempotency-store";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { startDynamoDbLocal, DynamoDbLocal } from "./local-servers/dynamodb-local";
import { RedisServer, startRedisServer } from "./local-servers/redis-server";
import { connectRedis, restartableRedis, waitForReady } from "./local-servers/redis-client";
import { faultProfile } from "./sim/faults";
import { stackSettings } from "./sim/stack-settings";
import type { HandlerContract } from "./sim/ledger";
import { formatReport } from "./sim/report";
import { ConsumerDesign, IdempotencyRedis, Progress, runSimulation, SimulationReport } from "./sim/simulation";

interface Args {
  events: number;
  seed: number;
  /** Pulumi stack whose settings the run uses; undefined: Pulumi.yaml's defaults. */
  stack?: string;
  faults: string;
  baseline?: "setnx-first";
  handler: HandlerContract;
  json: boolean;
  workers: number;
  wallLimitSeconds: number;
  redisRestart: boolean;
  /** The idempotency redis-server runs with appendonly yes + appendfsync always: its restart loses nothing. */
  redisAof: boolean;
  dynamodbUrl?: string;
  redisUrl?: string;
  businessRedisUrl?: string;
}

const USAGE =
  "usage: npm run local -- [--events N] [--seed S] [--stack dev|prod] [--faults none|default|heavy] [--baseline setnx-first] " +
  "[--handler conditional|plain] [--json] [--no-redis-restart] [--redis-aof] [--workers N] [--wall-limit-minutes M | --wall-limit-seconds S] [--dynamodb-url URL] [--redis-url URL] [--business-redis-url URL]";

export function parseArgs(argv: string[]): Args {
  const args: Args = { events: 10_000, seed: 42, faults: "default", handler: "conditional", json: false, workers: 16, wallLimitSeconds: 3600, redisRestart: true, redisAof: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    const integer = (v: string, min: number) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < min) throw new Error(`${flag} must be an integer ≥ ${min}, got '${v}'`);
      return n;
    };
    switch (flag) {
      case "--events": args.events = integer(value(), 1); break;
      case "--seed": args.seed = integer(value(), 0); break;
      case "--stack": args.stack = value(); stackSettings(args.stack); break;
      case "--faults": args.faults = value(); faultProfile(args.faults); break;
      case "--baseline": {
        const v = value();
        if (v !== "setnx-first") throw new Error(`--baseline must be setnx-first, got '${v}'`);
        args.baseline = v;
        break;
      }
      case "--handler": {
        const v = value();
        if (v !== "conditional" && v !== "plain") throw new Error(`--handler must be conditional or plain, got '${v}'`);
        args.handler = v;
        break;
      }
      case "--json": args.json = true; break;
      case "--no-redis-restart": args.redisRestart = false; break;
      case "--redis-aof": args.redisAof = true; break;
      case "--workers": args.workers = integer(value(), 1); break;
      case "--wall-limit-minutes": args.wallLimitSeconds = 60 * integer(value(), 1); break;
      case "--wall-limit-seconds": args.wallLimitSeconds = integer(value(), 1); break;
      case "--dynamodb-url": args.dynamodbUrl = value(); break;
      case "--redis-url": args.redisUrl = value(); break;
      case "--business-redis-url": args.businessRedisUrl = value(); break;
      case "--help": case "-h": throw new Error(USAGE);
      default: throw new Error(`unknown option '${flag}'\n${USAGE}`);
    }
  }
  return args;
}

function progressBar(label: string): { update: (p: Progress) => void; finish: () => void } | undefined {
  if (!process.stderr.isTTY) return undefined;
  let last = 0;
  let latest: Progress | undefined;
  const render = (p: Progress) => {
    const share = Math.min(1, p.effects / Math.max(1, p.expected));
    const width = 30;
    const filled = Math.round(share * width);
    const hours = Math.floor(p.simulatedMs / 3_600_000);
    const sim = `${hours}:${new Date(p.simulatedMs).toISOString().slice(14, 19)}`;
    process.stderr.write(
      `\r${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(Math.round(share * 100)).padStart(3)}% ` +
        `produced ${p.produced} published ${p.published} delivered ${p.delivered} effects ${p.effects} · simulated ${sim}  `,
    );
  };
  return {
    update: (p) => {
      latest = p;
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      render(p);
    },
    finish: () => {
      if (latest) render(latest);
      process.stderr.write("\n");
    },
  };
}

function redisFromUrl(url: string): Redis {
  const client = new Redis(url, { ...CONSUMER_REDIS_OPTIONS, retryStrategy: (n: number) => Math.min(n * 20, 200) });
  client.on("error", () => {});
  return client;
}

async function main(): Promise<number> {
  // The SDK warns on stderr that Node 22 will be required from 2027; the report does not need it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const args = parseArgs(process.argv.slice(2));
  const profile = faultProfile(args.faults);
  const faults = args.redisRestart ? profile : { ...profile, redisRestartAt: undefined };
  const cleanup: (() => Promise<void> | void)[] = [];
  try {
    let dynamodb: DynamoDBClient;
    let streams: DynamoDBStreamsClient;
    let dynamodbEndpoint: string;
    if (args.dynamodbUrl) {
      const common = { endpoint: args.dynamodbUrl, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } };
      dynamodb = new DynamoDBClient(common);
      dynamodbEndpoint = args.dynamodbUrl;
      streams = new DynamoDBStreamsClient(common);
    } else {
      if (process.stderr.isTTY) process.stderr.write("starting DynamoDB Local…\n");
      const local: DynamoDbLocal = await startDynamoDbLocal();
      cleanup.push(() => local.stop());
      dynamodb = local.client();
      dynamodbEndpoint = local.endpoint;
      streams = local.streamsClient();
    }
    cleanup.push(() => {
      dynamodb.destroy();
      streams.destroy();
    });

    let idempotency: IdempotencyRedis;
    if (args.redisUrl) {
      const client = redisFromUrl(args.redisUrl);
      await waitForReady(client);
      idempotency = { client };
    } else {
      const server: RedisServer = await startRedisServer({ appendFsyncAlways: args.redisAof });
      cleanup.push(() => server.stop());
      const client = await connectRedis(server);
      idempotency = restartableRedis(server, client);
    }
    cleanup.push(() => idempotency.client.disconnect());
    let business: Redis;
    if (args.businessRedisUrl) {
      business = redisFromUrl(args.businessRedisUrl);
      await waitForReady(business);
    } else {
      const server = await startRedisServer();
      cleanup.push(() => server.stop());
      // The ledger is the harness's record, not code under test: no 2 s command timeout (reading a
      // 100 000-field hash on a loaded machine outlasted it and aborted a run).
      business = await connectRedis(server, { enableOfflineQueue: true, maxRetriesPerRequest: 20, commandTimeout: 60_000 });
    }
    cleanup.push(() => business.disconnect());

    const stack = stackSettings(args.stack);
    const command = `npm run local -- --events ${args.events} --seed ${args.seed}${args.stack ? ` --stack ${args.stack}` : ""} --faults ${args.faults} --handler ${args.handler}${args.baseline ? " --baseline setnx-first" : ""}${args.redisRestart ? "" : " --no-redis-restart"}${args.redisAof ? " --redis-aof" : ""}`;
    const runs: SimulationReport[] = [];
    const designs: ConsumerDesign[] = args.baseline ? ["claim-complete", "setnx-first"] : ["claim-complete"];
    for (const consumer of designs) {
      const progress = progressBar(consumer === "claim-complete" ? "ours    " : "baseline");
      runs.push(
        await runSimulation({
          seed: args.seed,
          events: args.events,
          faults,
          stack,
          consumer,
          handlerContract: args.handler,
          dynamodb,
          dynamodbEndpoint,
          streams,
          idempotencyRedis: idempotency,
          businessRedis: business,
          workers: args.workers,
          wallLimitMs: args.wallLimitSeconds * 1000,
          onProgress: progress?.update,
        }),
      );
      progress?.finish();
    }
    process.stdout.write(args.json ? JSON.stringify({ command, runs }, null, 2) + "\n" : formatReport(runs, command) + "\n");
    return runs[0].passed ? 0 : 1;
  } finally {
    for (const step of cleanup.reverse()) {
      try {
        await step();
      } catch {
        /* best effort */
      }
    }
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(2);
    },
  );
}
