import { describe, expect, it } from "vitest";
import { createRng, type Rng } from "@concord/core";
import { Memo } from "../src/memo.ts";

interface Probe {
  readonly set: Uint32Array;
  readonly size: number;
  readonly high: number;
}

const bits = 200;

// Sets cluster near a prefix, like the search's: most of [0, low) plus a few above.
function randomSet(rng: Rng): Probe {
  const low = rng.nextInt(bits - 8);
  const set = new Uint32Array(Math.ceil(bits / 32));
  const add = (bit: number): void => void (set[bit >>> 5]! |= 1 << (bit & 31));
  for (let bit = 0; bit < low; bit++) if (!rng.chance(1, 40)) add(bit);
  for (let extra = rng.nextInt(4); extra > 0; extra--) add(low + rng.nextInt(8));
  add(rng.nextInt(bits));
  let size = 0;
  let high = 0;
  for (let bit = 0; bit < bits; bit++) {
    if ((set[bit >>> 5]! & (1 << (bit & 31))) === 0) continue;
    size++;
    high = bit + 1;
  }
  return { set, size, high };
}

describe("the search memo", () => {
  it("reports a (set, state) pair as new exactly once, whatever the hash collisions", () => {
    const rng = createRng(42);
    const memo = new Memo<string>((a, b) => a === b);
    const seen = new Set<string>();
    const probes: Probe[] = [];
    let repeats = 0;
    for (let trial = 0; trial < 20_000; trial++) {
      // Half the probes reuse an earlier set (as the search does, reaching one set by different paths).
      const probe = probes.length > 0 && rng.chance(1, 2) ? probes[rng.nextInt(probes.length)]! : randomSet(rng);
      probes.push(probe);
      const state = `s${rng.nextInt(3)}`;
      // A deliberately poor key (eight values) makes every bucket chain long.
      const key = (probe.size * 31 + probe.high) & 7;
      const name = `${Array.from(probe.set).join(",")}|${state}`;
      if (seen.has(name)) repeats++;
      expect(memo.addIfAbsent(key, probe.set, probe.size, probe.high, state), name).toBe(!seen.has(name));
      seen.add(name);
    }
    expect(memo.size).toBe(seen.size);
    expect(repeats).toBeGreaterThan(5_000);
  });
});
