// Chaos's split starvation (issue 21, bug 8; sim's chaos-split-starvation.ts):
// f+1 replicas kept up, one replica that hears only checkpoints and state
// transfer, the rest starved of commits, checkpoints and state transfer, and
// then f - liars of the correct replicas kept up crashed for good. The draw is
// pinned, and a drawn split starvation, played alone, is shown acting: each
// test fails if the fault stops being drawn or stops doing what it says.
import { describe, expect, it } from "vitest";
import { createRng, deriveSeed } from "@concord/core";
import { pbft } from "@concord/pbft";
import { type Fault, type SimulationOptions, type TracedMessage, drawChaosSplitStarvation, runSimulation } from "@concord/sim";
import { judgeRun } from "@concord/testkit";

const hints = pbft.chaosFaults;
const types = pbft.codec.typeNames ?? [];
const phaseMs = 3000;
const ids = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

function draw(seed: number, n: number, liars: readonly number[] = []): Fault[] {
  return drawChaosSplitStarvation(createRng(deriveSeed(seed, "chaos-split-starvation")), phaseMs, ids(n), liars, Math.floor((n - 1) / 3), hints, types);
}

/** Split is a drawn split starvation read back: who lags, who fetches, who crashes for good, and its window. */
interface Split {
  readonly lagging: number[];
  readonly fetcher: number;
  readonly crashed: { readonly id: number; readonly atMs: number }[];
  readonly atMs: number;
  readonly endMs: number;
}

/** replicaOf is the one replica a drawn link fault or crash is aimed at. */
function replicaOf(fault: Fault, n: number): number {
  const to = fault.type === "link" ? fault.to : fault.type === "crash" ? fault.target : undefined;
  if (typeof to !== "object" || to === null) throw new Error(`fault aimed at no single replica: ${JSON.stringify(fault)}`);
  return ids(n)[to.index] as number;
}

function read(faults: readonly Fault[], n: number): Split {
  const links = faults.filter((fault) => fault.type === "link");
  const replica = (fault: Fault): number => replicaOf(fault, n);
  const fetchers = links.filter((fault) => fault.messageTypes?.includes("prePrepare") === true);
  expect(fetchers).toHaveLength(1);
  const first = links[0];
  if (first === undefined || first.type !== "link") throw new Error("no window");
  return {
    lagging: links.filter((fault) => !fetchers.includes(fault)).map(replica),
    fetcher: replica(fetchers[0] as Fault),
    crashed: faults.filter((fault) => fault.type === "crash").map((fault) => ({ id: replica(fault), atMs: fault.atMs })),
    atMs: first.atMs,
    endMs: first.atMs + first.durationMs,
  };
}

describe("chaos's split starvation against PBFT (issue 21, bug 8)", () => {
  it("in about half the runs: f+1 kept up (the liars among them), one fetcher that hears only checkpoints and state transfer, the rest starved of both and of commits, then f - liars of the correct kept-up replicas crashed for good near the window's end", () => {
    const lost = ["checkpoint", "fetchState", "stateTransfer", "commit"];
    for (const [n, liarSets] of [
      [7, [[], [3]]],
      [4, [[]]],
      [10, [[], [1, 4]]],
    ] as const) {
      const f = Math.floor((n - 1) / 3);
      for (const liars of liarSets) {
        let drawn = 0;
        for (let seed = 1; seed <= 200; seed++) {
          const faults = draw(seed, n, liars);
          if (faults.length === 0) continue;
          drawn++;
          const split = read(faults, n);
          const keptUp = ids(n).filter((id) => id !== split.fetcher && !split.lagging.includes(id));
          expect(keptUp).toHaveLength(f + 1);
          for (const liar of liars) expect(keptUp).toContain(liar);
          expect(split.lagging.length).toBe(n - f - 2);
          for (const fault of faults) {
            if (fault.type === "link") {
              expect([fault.atMs, fault.atMs + fault.durationMs]).toEqual([split.atMs, split.endMs]);
              expect(fault.link).toEqual({ dropPercent: 100 });
              expect(fault.from).toBeUndefined();
              const expected = split.lagging.includes(replicaOf(fault, n)) ? lost : types.filter((type) => !["checkpoint", "fetchState", "stateTransfer"].includes(type));
              expect([...(fault.messageTypes ?? [])].sort()).toEqual([...expected].sort());
            } else {
              expect(fault).toMatchObject({ type: "crash", timing: "at-once", outlastsHeal: true });
              expect(fault.type === "crash" ? fault.restartAfterMs : 0).toBeUndefined();
            }
          }
          expect(split.atMs).toBeLessThan(phaseMs / 2);
          expect(split.endMs - split.atMs).toBeGreaterThanOrEqual(phaseMs / 4);
          expect(split.endMs - split.atMs).toBeLessThanOrEqual((phaseMs * 3) / 4);
          expect(split.crashed).toHaveLength(f - liars.length);
          expect(new Set(split.crashed.map((crash) => crash.id)).size).toBe(split.crashed.length);
          for (const crash of split.crashed) {
            expect(keptUp).toContain(crash.id);
            expect(liars).not.toContain(crash.id);
            expect(crash.atMs).toBeLessThanOrEqual(split.endMs);
            expect(crash.atMs).toBeGreaterThan(split.endMs - (split.endMs - split.atMs) / 10 - 1);
          }
        }
        expect(drawn, `n = ${n}, liars ${liars.join(",")}`).toBeGreaterThan(70);
        expect(drawn, `n = ${n}, liars ${liars.join(",")}`).toBeLessThan(130);
      }
    }
    // Nothing for an algorithm whose hints name no state-transfer types, at sizes with no room for a lagging replica,
    // or where the liars number f (no crash left to draw).
    for (let seed = 1; seed <= 50; seed++) {
      expect(drawChaosSplitStarvation(createRng(seed), phaseMs, ids(7), [], 2, { ...hints, stateTransferTypes: [] }, types)).toEqual([]);
      expect(drawChaosSplitStarvation(createRng(seed), phaseMs, ids(3), [], 1, hints, types)).toEqual([]);
      expect(draw(seed, 7, [1, 5])).toEqual([]);
      expect(draw(seed, 4, [2])).toEqual([]);
    }
  });

  it("acts, played alone at n = 7: the fetcher hears only checkpoints and state transfer and installs a state its peers vouch for, the lagging replicas hear no commit or checkpoint, two vouchers stay down from their crash to the end, and the run keeps every guarantee", () => {
    const seed = splitStarvationSeed;
    const faults = draw(seed, 7);
    const split = read(faults, 7);
    const warmupMs = 200;
    const options: SimulationOptions = {
      algorithm: pbft,
      nodes: 7,
      seed,
      ops: 120,
      clients: 4,
      protocolOptions: { checkpointIntervalSeqs: 2, watermarkWindowSeqs: 4 },
      scenario: { name: "split-starvation", description: "chaos's split starvation, alone", warmupMs, workload: { spreadMs: phaseMs }, faults },
      recordMessages: {},
    };
    const result = runSimulation(options);
    const verdict = judgeRun(result, { liveness: "completed", undecidedIsBroken: true, replay: () => `split starvation of seed ${seed}, played alone` });
    const problems = verdict.ok ? [] : [verdict.report];
    expect(problems).toEqual([]);
    const trace = result.messageTrace?.messages ?? [];
    const inWindow = (message: TracedMessage): boolean => message.sentMs >= warmupMs + split.atMs && message.sentMs < warmupMs + split.endMs;
    const received = (message: TracedMessage): boolean => message.arrivals.some((arrival) => arrival.received);
    const toFetcher = trace.filter((message) => message.to === split.fetcher && inWindow(message));
    // The fetcher heard only checkpoints and state transfer, and lost the rest (pre-prepares among them).
    expect(new Set(toFetcher.filter(received).map((message) => message.type))).toEqual(new Set(["checkpoint", "stateTransfer"]));
    expect(toFetcher.some((message) => message.type === "prePrepare" && message.dropped === "loss")).toBe(true);
    // Ordering nothing, it sends a checkpoint only for a state it fetched and installed.
    expect(trace.some((message) => message.from === split.fetcher && message.type === "checkpoint" && inWindow(message))).toBe(true);
    for (const id of split.lagging) {
      const toLagging = trace.filter((message) => message.to === id && inWindow(message));
      expect(toLagging.filter((message) => ["commit", "checkpoint", "stateTransfer"].includes(message.type) && received(message))).toEqual([]);
      expect(toLagging.some((message) => message.type === "commit" && message.dropped === "loss")).toBe(true);
    }
    // The vouchers crashed for good send nothing from their crash to the end, well past the heal.
    expect(split.crashed).toHaveLength(2);
    for (const crash of split.crashed) {
      expect(trace.filter((message) => message.from === crash.id && message.sentMs > warmupMs + crash.atMs)).toEqual([]);
      expect(trace.some((message) => message.from === crash.id && message.type === "checkpoint")).toBe(true);
    }
    expect(result.faultLog.some((line) => line.endsWith(`still down (crashed for good) nodes ${split.crashed.map((crash) => crash.id).sort((a, b) => a - b).join(",")}`))).toBe(true);
    expect(result.virtualSeconds * 1000).toBeGreaterThan(warmupMs + split.endMs + 500);
    expect(result.ops.completed).toBe(result.ops.invoked);
  });
});

/** splitStarvationSeed is a seed whose split starvation, played alone with the tight windows, breaks PBFT at n = 7 with bug 8 planted. */
const splitStarvationSeed = 1;
