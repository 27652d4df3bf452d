import { describe, expect, test } from "vitest";
import { type SimulationOptions, type SimulationResult, type TracedMessage, runSimulation } from "@concord/sim";
import { createProbeAlgorithm } from "./probe-algorithm.ts";
import { replayOf } from "./helpers.ts";

/** withoutTrace is a result with its trace left out, to compare a traced run with the same run untraced. */
function withoutTrace(result: SimulationResult): string {
  const { messageTrace: _trace, ...rest } = result;
  return JSON.stringify(rest);
}

function countByType(messages: readonly TracedMessage[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of [...new Set(messages.map((message) => message.type))].sort()) counts[type] = messages.filter((message) => message.type === type).length;
  return counts;
}

// The message diagrams draw what the trace records: it must hold exactly the messages the run counted, and
// recording must not change the run (it draws from no random stream).
describe("message trace", () => {
  test.each([1, 2, 3, 4, 5, 6])("records every message the run counts, and changes nothing, under chaos (seed %i)", (seed) => {
    const { algorithm } = createProbeAlgorithm({ pingEveryTicks: 3 });
    const options: SimulationOptions = { algorithm, nodes: 3, seed, scenario: "chaos", ops: 60 };
    const plain = runSimulation(options);
    const warmupMs = plain.warmup.seconds * 1000;
    const traced = runSimulation({ ...options, recordMessages: { fromMs: warmupMs } });
    const trace = traced.messageTrace;
    expect(trace, replayOf(options)).toBeDefined();
    if (trace === undefined) return;
    expect(withoutTrace(traced), replayOf(options)).toBe(withoutTrace(plain));
    expect(trace.truncated).toBe(false);
    expect(countByType(trace.messages), replayOf(options)).toEqual(plain.messages.byType);
    expect(plain.messageTrace).toBeUndefined();
  });

  test("a window records only the sends within it, each with its fate", () => {
    const { algorithm } = createProbeAlgorithm({ pingEveryTicks: 2 });
    const options: SimulationOptions = {
      algorithm,
      nodes: 3,
      seed: 7,
      recordMessages: { fromMs: 150, toMs: 400 },
      scenario: {
        name: "trace",
        description: "A partition, a crash and a lossy link, each inside the traced window.",
        workload: { ops: 20, clients: 2 },
        warmupMs: 100,
        healAtMs: 600,
        faults: [
          { type: "partition", atMs: 100, isolate: [{ index: 2 }], durationMs: 100 },
          { type: "crash", atMs: 220, target: { index: 1 }, restartAfterMs: 50 },
          { type: "link", atMs: 280, durationMs: 50, link: { dropPercent: 50 } },
        ],
      },
    };
    const trace = runSimulation(options).messageTrace;
    if (trace === undefined) throw new Error(`no trace: ${replayOf(options)}`);
    const messages = trace.messages;
    expect(messages.length).toBeGreaterThan(0);
    for (const message of messages) {
      expect(message.sentMs).toBeGreaterThanOrEqual(150);
      expect(message.sentMs).toBeLessThanOrEqual(400 + 50);
      expect(message.dropped === undefined).toBe(message.arrivals.length > 0);
      for (const arrival of message.arrivals) expect(arrival.atMs).toBeGreaterThanOrEqual(message.sentMs);
    }
    // Node 3 is cut off from 200 to 300 ms: what crosses the cut in that time is lost to the partition.
    const cut = messages.filter((message) => message.sentMs >= 200 && message.sentMs < 300 && (message.from === 3) !== (message.to === 3) && message.from < 1_000_000 && message.to < 1_000_000);
    expect(cut.length).toBeGreaterThan(0);
    for (const message of cut) expect(message.dropped, JSON.stringify(message)).toBe("partition");
    // Node 2 is down from 320 to 370 ms: a copy that reaches it then is not received.
    const toDown = messages.filter((message) => message.to === 2 && message.arrivals.some((arrival) => arrival.atMs > 320 && arrival.atMs < 370));
    expect(toDown.length).toBeGreaterThan(0);
    for (const message of toDown) for (const arrival of message.arrivals) if (arrival.atMs > 320 && arrival.atMs < 370) expect(arrival.received).toBe(false);
    expect(messages.some((message) => message.dropped === "loss")).toBe(true);
  });

  test("a trace stops at its bound and says it was cut", () => {
    const { algorithm } = createProbeAlgorithm({ pingEveryTicks: 1 });
    const trace = runSimulation({ algorithm, nodes: 3, seed: 1, scenario: "steady", ops: 20, recordMessages: { messagesMax: 10 } }).messageTrace;
    expect(trace?.messages.length).toBe(10);
    expect(trace?.truncated).toBe(true);
  });
});
