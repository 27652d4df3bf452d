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
// Symmetry: models explored to the end with the partial-order reduction, without
// and with symmetry reduction (--symmetry: one state per orbit of the permutations
// of the replicas' ids that map the model onto itself), both in the model whose
// replicas' streams are seeded by incarnation (the reduction's own model; its
// counts equal the default model's on these four). The reduced task's name gives
// the share of unique states it removed. Raft and Paxos at the reduction tasks'
// bounds, where it removes nothing (an active Raft client moves to the next
// replica in id order, leaving only rotations, which map no reachable state onto
// another; Paxos's two clients ask two replicas, both ballot owners, and the
// third has no partner), and two models where it acts. Multi-Paxos and PBFT have
// no symmetry (docs/explore.md: ballots ordered by id and a catch-up peer drawn
// in id order; the primary is v mod n): --symmetry keys their states as --por does.
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
  /** ops is each client's operations (1 when absent). */
  readonly ops?: number;
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

/** symmetryTasks are explored to the end without and with symmetry reduction (both with the partial-order reduction). */
const symmetryTasks: readonly ReductionTask[] = [
  ...reductionTasks.filter((task) => task.algorithm === paxos || task.algorithm === raft),
  { name: "paxos n=3, 1 client's put and get", algorithm: paxos, nodes: 3, clients: 1, ops: 2, bounds: { ...defaultBounds, timeoutsPerNodeMax: 0, inflightMessagesMax: 20 } },
  { name: "raft n=3, no clients, 1 crash, 1 timeout per node, depth <= 5", algorithm: raft, nodes: 3, clients: 0, options: raftOptions, bounds: { ...defaultBounds, timeoutsPerNodeMax: 1, crashesMax: 1, depthMax: 5 } },
];

/** registerSymmetry adds one pair per symmetry task (counted first, to name the share of states removed); each timed run must count the same. */
function registerSymmetry(bench: Bench): void {
  for (const task of symmetryTasks) {
    const setup = { ...worldSetup(task.algorithm, { nodes: task.nodes, clients: task.clients, ops: task.ops ?? 1, options: task.options ?? {} }), symmetricStreams: true };
    const counts = [false, true].map((symmetry) => explore(setup, { bounds: task.bounds, strategy: "bfs", por: true, symmetry }).uniqueStates);
    const [full, reduced] = counts as [number, number];
    for (const symmetry of [false, true]) {
      const expected = symmetry ? reduced : full;
      const name = symmetry
        ? `explore --por --symmetry: ${task.name}: ${count(reduced)} of ${count(full)} unique states (${removed(reduced, full)})`
        : `explore --por, streams seeded by incarnation: ${task.name}: ${count(full)} unique states`;
      bench.add(name, () => {
        const result = explore(setup, { bounds: task.bounds, strategy: "bfs", por: true, symmetry });
        if (result.outcome !== "exhausted" || result.uniqueStates !== expected) throw new Error(`${name}: got ${result.outcome} after ${result.uniqueStates} states`);
      });
    }
  }
}

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
  registerSymmetry(bench);
  registerEventually(bench);
}
