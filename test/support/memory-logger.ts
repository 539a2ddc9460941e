import type { LogAttributes, Logger } from "../../runtime/logger";

export interface LogLine {
  level: "debug" | "info" | "warn" | "error";
  message: string;
  attributes: LogAttributes;
}

/** A Logger that records lines so tests can assert what was reported (it is the port, not a fake server). */
export function memoryLogger(): Logger & { lines: LogLine[]; at(level: LogLine["level"]): LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: LogLine["level"]) => (message: string, attributes: LogAttributes = {}) => {
    lines.push({ level, message, attributes });
  };
  return {
    lines,
    at: (level) => lines.filter((l) => l.level === level),
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
  };
}
