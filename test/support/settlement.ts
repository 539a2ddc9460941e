import type { Settlement } from "../../runtime/consumer";

export type SettleRecord = { action: "complete" } | { action: "abandon" } | { action: "deadLetter"; reason: string; description: string };

/** A Settlement that records what the consumer decided for one delivery. */
export function recordingSettlement(): Settlement & { records: SettleRecord[] } {
  const records: SettleRecord[] = [];
  return {
    records,
    complete: async () => {
      records.push({ action: "complete" });
    },
    abandon: async () => {
      records.push({ action: "abandon" });
    },
    deadLetter: async (reason, description) => {
      records.push({ action: "deadLetter", reason, description });
    },
  };
}
