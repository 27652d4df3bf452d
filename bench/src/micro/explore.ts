// Micro-benchmarks of the model checker (packages/explore). Each task explores a
// fixed model breadth-first, so that unique states per second is the task's ops/s
// times the count in its name.
//
// Speed: single-decree Paxos with one client's put and get is explored to the
// end; the others stop at their state count.
//
// Reduction: each protocol's model is explored to the end twice, without and
// with the partial-order reduction (--por: sleep sets, with the monitors' memory
// read as sets and the history as its real-time precedence; docs/explore.md).
// The reduced task's name gives the share of unique states and of actions it
// removed (counted when the tasks are registered); the two tasks' ops/s give the
// time saved. Sleep sets alone visit every state: the states removed are those
// that differ only in the order of events no verdict reads.
//
// Eventually: one model searched without and with the bounded "eventually"
// check (--eventually 300), so that the two tasks' ops/s give its cost.
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
  { algorithm: paxos, nodes: 3, ops: 2, states: 2_568, outcome: "exhausted" },
  { algorithm: raft, nodes: 3, ops: 1, states: 2_000, outcome: "stopped", options: { preVote: false, checkQuorum: false } },
  { algorithm: multipaxos, nodes: 3, ops: 1, states: 2_000, outcome: "stopped" },
  { algorithm: pbft, nodes: 4, ops: 1, states: 1_000, outcome: "stopped" },
];

/** ReductionTask is one model explored to the end with and without the partial-order reduction. */
interface ReductionTask {
  readonly name: string;
  readonly algorithm: AnyAlgorithm;
  readonly nodes: number;
  readonly clients: number;
  readonly options?: Record<string, unknown>;
  readonly bounds: ExploreBounds;
}

const raftOptions = { preVote: false, checkQuorum: false };
const reductionTasks: readonly ReductionTask[] = [
  { name: "paxos n=3, 2 clients x 1 put, depth <= 10", algorithm: paxos, nodes: 3, clients: 2, bounds: { ...defaultBounds, timeoutsPerNodeMax: 0, inflightMessagesMax: 20, depthMax: 10 } },
  { name: "raft n=3, 1 put, 1 crash, 1 timeout per node, depth <= 5", algorithm: raft, nodes: 3, clients: 1, options: raftOptions, bounds: { ...defaultBounds, timeoutsPerNodeMax: 1, crashesMax: 1, depthMax: 5 } },
  { name: "multipaxos n=3, 1 put, 1 crash, 1 timeout per node, depth <= 5", algorithm: multipaxos, nodes: 3, clients: 1, bounds: { ...defaultBounds, timeoutsPerNodeMax: 1, crashesMax: 1, depthMax: 5 } },
  { name: "pbft n=4, 1 put, depth <= 8", algorithm: pbft, nodes: 4, clients: 1, bounds: { ...defaultBounds, timeoutsPerNodeMax: 0, depthMax: 8 } },
];

/**
 * eventuallyTask is one model searched without and with the bounded
 * "eventually" check (--eventually 300: in every state, the fault-free
 * continuation must complete every operation within 300 steps), with the
 * partial-order reduction on as concord explore runs by default: the two
 * tasks' ops/s give what the check costs.
 */
const eventuallyTask = {
  name: "paxos n=3, 2 clients x 1 put, 1 crash, depth <= 8",
  algorithm: paxos,
  nodes: 3,
  clients: 2,
  bounds: { ...defaultBounds, timeoutsPerNodeMax: 0, crashesMax: 1, depthMax: 8 },
  eventually: 300,
} as const;

const count = (value: number): string => value.toLocaleString("en-US");
const removed = (kept: number, of: number): string => `${Math.round((100 * (of - kept)) / of)}% removed`;

/** registerEventually adds the pair of eventuallyTask (counted first, to name the continuation steps the check runs). */
function registerEventually(bench: Bench): void {
  const task = eventuallyTask;
  const setup = worldSetup(task.algorithm, { nodes: task.nodes, clients: task.clients, ops: 1 });
  const counted = explore(setup, { bounds: task.bounds, strategy: "bfs", por: true, eventually: task.eventually });
  const steps = counted.eventually?.steps ?? 0;
  for (const eventually of [undefined, task.eventually]) {
    const name =
      eventually === undefined
        ? `explore --por: ${task.name}: ${count(counted.uniqueStates)} unique states, no eventually check`
        : `explore --por --eventually ${eventually}: ${task.name}: ${count(counted.uniqueStates)} unique states, ${count(steps)} continuation steps (${(steps / counted.uniqueStates).toFixed(1)} a state)`;
    bench.add(name, () => {
      const result = explore(setup, { bounds: task.bounds, strategy: "bfs", por: true, ...(eventually === undefined ? {} : { eventually }) });
      if (result.outcome !== "exhausted" || result.uniqueStates !== counted.uniqueStates || (eventually !== undefined && result.eventually?.steps !== steps)) {
        throw new Error(`${name}: got ${result.outcome} after ${result.uniqueStates} states`);
      }
    });
  }
}

/** register adds one speed task per protocol and one pair of reduction tasks per protocol (counted first, to name the share removed); each checks that the search counted exactly what its name says. */
export function register(bench: Bench): void {
  for (const task of tasks) {
    const setup = worldSetup(task.algorithm, { nodes: task.nodes, clients: 1, ops: task.ops, options: task.options ?? {} });
    const timeouts = task.algorithm === paxos ? 0 : 1;
    const bounds: ExploreBounds = { ...defaultBounds, timeoutsPerNodeMax: timeouts, inflightMessagesMax: 20, statesMax: task.outcome === "stopped" ? task.states : defaultBounds.statesMax };
    const name = `explore: ${task.algorithm.name} n=${task.nodes}, ${count(task.states)} unique states (${task.outcome === "exhausted" ? "the whole model" : "the first, breadth-first"})`;
    bench.add(name, () => {
      const result = explore(setup, { bounds, strategy: "bfs" });
      if (result.outcome !== task.outcome || result.uniqueStates !== task.states) throw new Error(`${name}: got ${result.outcome} after ${result.uniqueStates} states`);
    });
  }
  for (const task of reductionTasks) {
    const setup = worldSetup(task.algorithm, { nodes: task.nodes, clients: task.clients, ops: 1, options: task.options ?? {} });
    // Counted once here, so that the names say what each search visits on this code; every timed run must count the same.
    const counts = [false, true].map((por) => {
      const result = explore(setup, { bounds: task.bounds, strategy: "bfs", por });
      return { states: result.uniqueStates, actions: result.transitions };
    });
    const [full, reduced] = counts as [{ states: number; actions: number }, { states: number; actions: number }];
    for (const por of [false, true]) {
      const expected = por ? reduced : full;
      const name = por
        ? `explore --por: ${task.name}: ${count(reduced.states)} of ${count(full.states)} unique states (${removed(reduced.states, full.states)}), ${count(reduced.actions)} of ${count(full.actions)} actions (${removed(reduced.actions, full.actions)})`
        : `explore: ${task.name}: ${count(full.states)} unique states, ${count(full.actions)} actions (the whole model)`;
      bench.add(name, () => {
        const result = explore(setup, { bounds: task.bounds, strategy: "bfs", por });
        if (result.outcome !== "exhausted" || result.uniqueStates !== expected.states || result.transitions !== expected.actions) {
          throw new Error(`${name}: got ${result.outcome} after ${result.uniqueStates} states and ${result.transitions} actions`);
        }
      });
    }
  }
  registerEventually(bench);
}
