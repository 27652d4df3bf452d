import { describe, expect, it } from "vitest";
import { runCli } from "@concord/cli";
import { captureIo } from "./helpers.ts";

// Single-decree Paxos, 3 acceptors, one client's put and get, no timeouts: the client's replica owns every ballot, and the other two acceptors are interchangeable.
const small = ["explore", "--algo", "paxos", "--clients", "1", "--ops", "2", "--timeouts", "0", "--inflight-max", "20", "--progress-every", "0"];

describe("concord explore --symmetry", () => {
  it("keeps the verdict and the sometimes properties with fewer states, says so, and records it in the run", async () => {
    type Report = { outcome: string; uniqueStates: number; sometimes: unknown[]; symmetry?: boolean; symmetric?: number; run: { symmetry?: boolean } };
    const plain = captureIo();
    expect(await runCli([...small, "--json"], plain)).toBe(0);
    const reduced = captureIo();
    expect(await runCli([...small, "--json", "--symmetry"], reduced)).toBe(0);
    const [before, after] = [JSON.parse(plain.out) as Report, JSON.parse(reduced.out) as Report];
    expect(before.symmetry).toBeUndefined();
    expect(after).toMatchObject({ outcome: before.outcome, sometimes: before.sometimes, symmetry: true, run: { symmetry: true } });
    expect(after.uniqueStates).toBeLessThan(before.uniqueStates);
    expect(after.symmetric).toBeGreaterThan(0);
    const text = captureIo();
    expect(await runCli([...small, "--symmetry"], text)).toBe(0);
    expect(text.out).toMatch(/symmetry reduction on: one state per orbit .*; [\d,]+ of the states had more than the identity/);
  });

  it("refuses what it excludes with exit 2: --jobs, --eventually, --ui, and the simulator's replays", async () => {
    for (const [extra, message] of [
      [["--jobs", "2"], "--jobs and --symmetry exclude each other"],
      [["--eventually", "50"], "--symmetry and --eventually exclude each other"],
      [["--ui"], "--symmetry belongs to the search"],
      [["--counterexample-out", "x.json"], "--counterexample-out and --symmetry exclude each other"],
      [["--diagram", "x.svg"], "--diagram and --symmetry exclude each other"],
    ] as const) {
      const io = captureIo();
      expect(await runCli([...small, "--symmetry", ...extra], io)).toBe(2);
      expect(io.err).toContain(message);
    }
  });
});
