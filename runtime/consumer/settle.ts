import { describeError, Logger } from "../logger";
import type { ConsumerOutcome, Settlement } from "../consumer";

/**
 * Stage 5, settle: carry out the action the earlier stages decided (`outcome.settled`). Rule: a
 * failed settle call (the lock was lost, the host went away) is recorded on the outcome and logged,
 * never thrown: the message simply comes back, and the idempotency record decides what happens then.
 */
export async function settleStage<T extends ConsumerOutcome>(outcome: T, settlement: Settlement, log: Logger): Promise<T> {
  try {
    switch (outcome.settled) {
      case "complete":
        await settlement.complete();
        break;
      case "abandon":
        await settlement.abandon();
        break;
      case "deadLetter":
        if (outcome.kind !== "poison") throw new Error(`only a poison message is dead-lettered, not outcome ${outcome.kind}`);
        await settlement.deadLetter(outcome.reason, outcome.description);
        break;
      case "none":
        break;
    }
  } catch (error) {
    outcome.settleError = error;
    log.warn("Settling the message failed; it will be delivered again", {
      eventId: outcome.eventId,
      messageId: outcome.messageId,
      kind: outcome.kind,
      settled: outcome.settled,
      error: describeError(error),
    });
  }
  return outcome;
}
