/**
 * Seeded randomness. Every fault is a pure function of (seed, what, which attempt), drawn by hashing,
 * so a seed injects the same faults into the same events and attempts whatever order the real
 * servers answer in. (The interleaving itself is real concurrency and is not reproduced bit for bit;
 * the faults, the events and the poison are.)
 */
import { createHash } from "crypto";

/** A number in [0, 1) determined by the seed and the key. */
export function draw(seed: number, key: string): number {
  return createHash("sha256").update(`${seed}\u0000${key}`).digest().readUInt32BE(0) / 2 ** 32;
}

/** A lowercase canonical UUID (version 4 layout) determined by the seed and the key. */
export function seededUuid(seed: number, key: string): string {
  const h = createHash("sha256").update(`uuid\u0000${seed}\u0000${key}`).digest("hex");
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
