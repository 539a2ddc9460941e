import * as path from "path";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { freePort, spawnManaged, waitUntilReady } from "./processes";

/**
 * DynamoDB Local (the jar shipped in amplify-dynamodb-simulator) on a free port, in memory.
 * Dummy credentials: DynamoDB Local accepts any, and the tests must never reach a real account.
 */
export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  client(overrides?: Partial<ConstructorParameters<typeof DynamoDBClient>[0]>): DynamoDBClient;
  streamsClient(): DynamoDBStreamsClient;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 45_000;

export function dynamoDbLocalDirectory(): string {
  return path.join(path.dirname(require.resolve("amplify-dynamodb-simulator/package.json")), "emulator");
}

export async function startDynamoDbLocal(): Promise<DynamoDbLocal> {
  const port = await freePort();
  const emulator = dynamoDbLocalDirectory();
  const proc = await spawnManaged({
    command: "java",
    args: [
      // The client JIT only: DynamoDB Local starts in about half the time and is fast from its first
      // request (measured: docs/simulation.md "Speed"); runs here are too short for C2 to pay off.
      "-XX:TieredStopAtLevel=1",
      `-Djava.library.path=${path.join(emulator, "DynamoDBLocal_lib")}`,
      "-jar",
      path.join(emulator, "DynamoDBLocal.jar"),
      "-inMemory",
      "-port",
      String(port),
      // No network here, and a test run must not phone home anyway.
      "-disableTelemetry",
    ],
    cwd: emulator,
    label: "DynamoDB Local",
    installHint: "Install a Java runtime (e.g. `apt-get install -y default-jre-headless`).",
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const region = "us-east-1";
  const credentials = { accessKeyId: "local", secretAccessKey: "local" };
  const client = (overrides: Partial<ConstructorParameters<typeof DynamoDBClient>[0]> = {}) =>
    new DynamoDBClient({ endpoint, region, credentials, ...overrides });

  const probe = client({ maxAttempts: 1 });
  try {
    await waitUntilReady(
      proc,
      `DynamoDB Local on port ${port}`,
      async () => {
        await probe.send(new ListTablesCommand({}));
        return true;
      },
      READY_TIMEOUT_MS,
    );
  } finally {
    probe.destroy();
  }

  return {
    endpoint,
    region,
    credentials,
    client,
    streamsClient: () => new DynamoDBStreamsClient({ endpoint, region, credentials }),
    stop: () => proc.stop(),
  };
}
