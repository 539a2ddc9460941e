/**
 * The logging port every runtime module takes. Structured: a message plus attributes, written as
 * one JSON object per line by the default adapter.
 *
 * The shape is deliberately the subset of Powertools for AWS Lambda's `Logger` (`info(message,
 * ...extra)`) that we use, so a Powertools Logger can be passed as-is where someone wants its
 * Lambda context enrichment, without this package depending on Powertools.
 */
export type LogAttributes = Record<string, unknown>;

export interface Logger {
  debug(message: string, attributes?: LogAttributes): void;
  info(message: string, attributes?: LogAttributes): void;
  warn(message: string, attributes?: LogAttributes): void;
  error(message: string, attributes?: LogAttributes): void;
}

export type LogLevel = "debug" | "info" | "warn" | "error";

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface JsonLoggerOptions {
  /** Goes into every line as `service`. */
  service: string;
  /** Lines below this level are dropped. Default `info`. */
  level?: LogLevel;
  /** Where each JSON line goes. Default: `process.stdout` (Lambda and Functions ship it to their log store). */
  write?: (line: string) => void;
  /** Clock, for deterministic tests. */
  now?: () => Date;
}

/** One JSON object per line: `{ level, message, service, timestamp, ...attributes }`. */
export function createJsonLogger(options: JsonLoggerOptions): Logger {
  const threshold = LEVEL_ORDER[options.level ?? "info"];
  const write = options.write ?? ((line: string) => process.stdout.write(line + "\n"));
  const now = options.now ?? (() => new Date());
  const emit = (level: LogLevel) => (message: string, attributes: LogAttributes = {}) => {
    if (LEVEL_ORDER[level] < threshold) return;
    write(
      safeStringify({
        level: level.toUpperCase(),
        message,
        service: options.service,
        timestamp: now().toISOString(),
        ...serializeErrors(attributes),
      }),
    );
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

/** A logger that keeps nothing. For callers who truly want silence (benchmarks). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function serializeErrors(attributes: LogAttributes): LogAttributes {
  const out: LogAttributes = {};
  for (const [key, value] of Object.entries(attributes)) {
    out[key] = value instanceof Error ? describeError(value) : value;
  }
  return out;
}

/** Errors do not JSON.stringify (their fields are non-enumerable): keep name, message, code. */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const described: Record<string, unknown> = { name: error.name, message: error.message };
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) described.code = code;
  return described;
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return JSON.stringify({ level: "ERROR", message: "log line could not be serialized" });
  }
}
