/** Public surface of the runtime: what the closures in components/ and producer services import. */
export * from "./outbox-schema";
export * from "./event";
export * from "./logger";
export * from "./outbox-writer";
export * from "./relay";
export * from "./relay-lambda";
export * from "./idempotency-store";
export * from "./consumer";
export * from "./functions-host";
export * from "./handlers";
