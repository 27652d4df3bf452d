// Micro-benchmarks of the model checker (packages/explore): each task explores a
// fixed number of unique states, breadth-first, so that unique states per second
// is the task's ops/s times the count in its name. Single-decree Paxos with one
// client's put and get is explored to the end (every state of that model); the
// others stop at their state count. No reduction beyond the multiset network
// (two orders of one set of messages in flight are one state) is implemented yet,
// so there is no share of states removed to report.
import type { AnyAlgorithm } from "@concord/core";
import { type ExploreBounds, defaultBounds, explore, worldSetup } from "@concord/explore";
import { multipaxos } from "@concord/multipaxos";
import { paxos } from "@concord/paxos";
import { pbft } from "@concord/pbft";
import { raft } from "@concord/raft";
import type { Bench } from "tinybench";

interface Task {
  readonly algorithm: AnyAlgorithm;
  readonly nodes: number;
  readonly ops: number;
  readonly states: number;
  readonly outcome: "exhausted" | "stopped";
  readonly options?: Record<string, unknown>;
}

const tasks: readonly Task[] = [
  { algorithm: paxos, nodes: 3, ops: 2, states: 2_628, outcome: "exhausted" },
  { algorithm: raft, nodes: 3, ops: 1, states: 2_000, outcome: "stopped", options: { preVote: false, checkQuorum: false } },
  { algorithm: multipaxos, nodes: 3, ops: 1, states: 2_000, outcome: "stopped" },
  { algorithm: pbft, nodes: 4, ops: 1, states: 1_000, outcome: "stopped" },
];

/** register adds one task per protocol; each checks that the search visited exactly the states its name says. */
export function register(bench: Bench): void {
  for (const task of tasks) {
    const setup = worldSetup(task.algorithm, { nodes: task.nodes, clients: 1, ops: task.ops, options: task.options ?? {} });
    const timeouts = task.algorithm === paxos ? 0 : 1;
    const bounds: ExploreBounds = { ...defaultBounds, timeoutsPerNodeMax: timeouts, inflightMessagesMax: 20, statesMax: task.outcome === "stopped" ? task.states : defaultBounds.statesMax };
    const name = `explore: ${task.algorithm.name} n=${task.nodes}, ${task.states.toLocaleString("en-US")} unique states (${task.outcome === "exhausted" ? "the whole model" : "the first, breadth-first"})`;
    bench.add(name, () => {
      const result = explore(setup, { bounds, strategy: "bfs" });
      if (result.outcome !== task.outcome || result.uniqueStates !== task.states) throw new Error(`${name}: got ${result.outcome} after ${result.uniqueStates} states`);
    });
  }
}
