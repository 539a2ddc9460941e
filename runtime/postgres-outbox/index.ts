/** The PostgreSQL outbox (Azure → AWS): schema, producer library, relay core. */
export * from "./schema";
export * from "./limits";
export * from "./writer";
export * from "./relay";
