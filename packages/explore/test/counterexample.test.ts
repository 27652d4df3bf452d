import { describe, expect, it } from "vitest";
import { type AnyAlgorithm, ConfigError, type Replica } from "@concord/core";
import { paxos, type PaxosMessage } from "@concord/paxos";
import { pbft } from "@concord/pbft";
import { raft } from "@concord/raft";
import { type ScenarioInput, type ScriptInput, runSimulation } from "@concord/sim";
import { type Action, type ExploreBounds, type InFlight, type Step, World, cloneGraph, counterexampleScenario, defaultBounds, describeAction, explore, worldSetup } from "../src/index.ts";

/** withStep plants a bug in an algorithm's replicas (as explore.test.ts does): each message passes through `rewrite` first. */
function withStep<M>(algorithm: AnyAlgorithm, rewrite: (message: M) => M): AnyAlgorithm {
  return {
    ...algorithm,
    createReplica(context) {
      const replica = algorithm.createReplica(context) as Replica<M>;
      const own = Object.getPrototypeOf(replica) as Replica<M>;
      replica.step = function (this: Replica<M>, from, message) {
        own.step.call(this, from, rewrite(message));
      };
      return replica as Replica<unknown>;
    },
  };
}

/** forgetsPromises is a Paxos whose proposer is told that no promise carried an accepted value (PMS §2.2 broken). */
const forgetsPromises = withStep<PaxosMessage>(paxos, (message) => (message.type === "promise" ? Object.assign(cloneGraph(message), { hasAccepted: false }) : message));
const bounds: ExploreBounds = { ...defaultBounds, timeoutsPerNodeMax: 0, inflightMessagesMax: 20, depthMax: 10 };

function scriptOf(scenario: ScenarioInput): ScriptInput {
  if (scenario.script === undefined) throw new Error("the scenario has no script");
  return scenario.script;
}

/** Path is a path built one action at a time in the model, each step with its description, as a counterexample's steps are. */
interface Path {
  readonly steps: Step[];
  readonly world: World;
  take(action: Action): void;
  /** deliverAll delivers, oldest first, every message in flight that no standing partition holds, and what they cause. */
  deliverAll(): void;
}

function pathFrom(setup: ReturnType<typeof worldSetup>): Path {
  const steps: Step[] = [];
  let world = World.initial(setup);
  const next = (): InFlight | undefined => world.inFlight().find((held) => !world.crosses(held.from, held.to));
  const path: Path = {
    steps,
    get world() {
      return world;
    },
    take(action) {
      steps.push({ action, description: describeAction(world, action) });
      world = world.fork();
      world.apply(action);
    },
    deliverAll() {
      for (let envelope = next(); envelope !== undefined; envelope = next()) path.take({ kind: "deliver", key: envelope.key });
    },
  };
  return path;
}

describe("a counterexample written as a simulator script", () => {
  const setup = worldSetup(forgetsPromises, { nodes: 3, clients: 2, ops: 1 });
  const found = explore(setup, { bounds, strategy: "bfs" });
  const violation = found.violation;
  if (violation === undefined) throw new Error("the planted bug was not found");
  const scenario = counterexampleScenario(setup, violation.steps, violation);

  it("names each of the explorer's steps, and replays in the simulator to the same monitor's violation", () => {
    const script = scriptOf(scenario);
    expect(script.steps).toHaveLength(violation.steps.length);
    expect(script.steps.map((step) => step.note)).toEqual(violation.steps.map((step) => step.description));
    expect(script.expected?.property).toBe("paxos-one-value-per-key");
    const result = runSimulation({ algorithm: forgetsPromises, nodes: 3, scenario, seed: 1 });
    expect(result.invariantViolations.map((found) => found.invariant)).toContain("paxos-one-value-per-key");
    // Each message the script named was delivered, byte for byte the one the explorer delivered (else the run stops on the step).
    expect(result.history.map((operation) => operation.clientId)).toHaveLength(2);
  });

  it("keeps every invariant on the correct protocol, which sends other messages: the replay says where it left the path", () => {
    expect(() => runSimulation({ algorithm: paxos, nodes: 3, scenario, seed: 1 })).toThrow(/scenario\.script\.steps\.\d+: .*(bytes differ|is in flight)/);
  });

  it("refuses a run that cannot be the script's, naming what is wrong", () => {
    const expectError = (run: () => unknown, pattern: RegExp): void => {
      let error: unknown;
      try {
        run();
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(pattern);
    };
    expectError(() => runSimulation({ algorithm: forgetsPromises, nodes: 3, scenario, seed: 2 }), /derive from seed 1: run it with that seed \(got 2\)/);
    expectError(() => runSimulation({ algorithm: forgetsPromises, nodes: 5, scenario, seed: 1 }), /written for 3 replicas: run it on 3 \(got 5\)/);
    // A run option the script would override is refused, not ignored.
    expectError(() => runSimulation({ algorithm: forgetsPromises, nodes: 3, scenario, seed: 1, ops: 50 }), /^ops: a scripted run cannot honour this option: the script's clients invoke exactly the commands it lists$/);
    expectError(() => runSimulation({ algorithm: forgetsPromises, nodes: 3, scenario, seed: 1, readLevel: "stale" }), /^readLevel: .*the level of every read/);
    expect(runSimulation({ algorithm: forgetsPromises, nodes: 3, scenario, seed: 1, readLevel: "linearizable", encode: true }).history).toHaveLength(2);
    const script = scriptOf(scenario);
    const first = script.steps[0];
    const wrongMessage = { ...scenario, script: { ...script, steps: [{ step: "deliver", from: 0, to: 1, type: "accept" }] } } as ScenarioInput;
    expectError(() => runSimulation({ algorithm: forgetsPromises, nodes: 3, scenario: wrongMessage, seed: 1 }), /steps\.0: no accept 0→1 number 0 is in flight \(0 such; in flight: nothing\)/);
    const crashDown = { ...scenario, script: { ...script, steps: [{ step: "crash", node: 1 }, { step: "crash", node: 1 }] } } as ScenarioInput;
    expectError(() => runSimulation({ algorithm: forgetsPromises, nodes: 3, scenario: crashDown, seed: 1 }), /steps\.1: replica 1 is already down/);
    const badShape = { ...scenario, script: { ...script, steps: [{ step: "deliver", from: "x1", to: 0, type: "prepare" }] } } as ScenarioInput;
    expectError(() => runSimulation({ algorithm: forgetsPromises, nodes: 3, scenario: badShape, seed: 1 }), /scenario\.script\.steps\.0\.from/);
    expect(first?.step).toBe("invoke");
  });
});

describe("a path whose reads ask the lease level", () => {
  it("replays byte for byte, each read asked at the script's level and recorded at the level served", () => {
    const options = { preVote: false, checkQuorum: true, leaseReads: true };
    const setup = worldSetup(raft, { nodes: 3, clients: 1, ops: 2, options, readLevel: "lease" });
    const path = pathFrom(setup);
    path.take({ kind: "timeout", node: 0 });
    path.deliverAll();
    for (let op = 0; op < 2; op++) {
      path.take({ kind: "invoke", client: path.world.clientIds()[0] ?? 0 });
      path.deliverAll();
    }
    const { steps, world } = path;
    const modelLevels = world.history().map((operation) => operation.readLevel);
    expect(modelLevels).toEqual([undefined, "lease"]);
    const scenario = counterexampleScenario(setup, steps);
    expect(scriptOf(scenario).readLevel).toBe("lease");
    const result = runSimulation({ algorithm: raft, nodes: 3, scenario, seed: 1 });
    expect(result.invariantViolations).toEqual([]);
    expect(result.history.map((operation) => operation.status)).toEqual(["ok", "ok"]);
    expect(result.history.map((operation) => operation.readLevel)).toEqual(modelLevels);
    expect(result.readLevel).toBe("lease");
  });
});

describe("a path through crash points inside writes", () => {
  const options = { preVote: false, checkQuorum: false };
  const setup = worldSetup(raft, { nodes: 3, clients: 1, ops: 1, options });
  /** steps is a path built one action at a time in the model, each with its description, as a counterexample's steps are. */
  const steps: Step[] = [];
  let world = World.initial(setup);
  const take = (action: Action): void => {
    steps.push({ action, description: describeAction(world, action) });
    world = world.fork();
    world.apply(action);
  };
  const deliverAll = (): void => {
    for (let envelope = world.inFlight()[0]; envelope !== undefined; envelope = world.inFlight()[0]) take({ kind: "deliver", key: envelope.key });
  };
  // Node 0 campaigns and crashes before syncing its new term (keeping none of the record), restarts, campaigns and crashes after the sync, restarts and wins.
  take({ kind: "timeout", node: 0, crash: { ready: 0, keep: 0 } });
  take({ kind: "restart", node: 0 });
  take({ kind: "timeout", node: 0, crash: { ready: 0, keep: "after-sync" } });
  take({ kind: "restart", node: 0 });
  take({ kind: "timeout", node: 0 });
  deliverAll();
  take({ kind: "invoke", client: world.clientIds()[0] ?? 0 });
  deliverAll();

  it("replays in the simulator byte for byte: each message it delivers is the one the model sent", () => {
    expect(world.status(0)?.role).toBe("leader");
    expect(world.history()[0]?.status).toBe("ok");
    const result = runSimulation({ algorithm: raft, nodes: 3, scenario: counterexampleScenario(setup, steps), seed: 1 });
    expect(result.invariantViolations).toEqual([]);
    expect(result.crashes.crashes).toBe(2);
    expect(result.history.map((operation) => operation.status)).toEqual(["ok"]);
    expect(result.faultLog.filter((line) => line.includes("crash node 0"))).toHaveLength(2);
  });

  it("leaves the path, and says at which step, when a crash point keeps what the model lost", () => {
    const scenario = counterexampleScenario(setup, steps);
    const script = scriptOf(scenario);
    const first = script.steps[0];
    if (first?.step !== "timeout") throw new Error("the path begins with a timeout");
    const kept = { ...scenario, script: { ...script, steps: [{ ...first, crash: { write: 0, keep: "after-sync" as const } }, ...script.steps.slice(1)] } };
    expect(() => runSimulation({ algorithm: raft, nodes: 3, scenario: kept, seed: 1 })).toThrow(/scenario\.script\.steps\.\d+: .*bytes differ/);
  });
});

describe("a counterexample with Byzantine replicas", () => {
  it("replays two liars answering wrong results to the same violation: the client accepts a result no state machine produced", () => {
    const setup = worldSetup(pbft, { nodes: 4, clients: 1, ops: 1, ordered: true, byzantine: { nodes: [1, 2], strategy: "corrupt-results" } });
    const found = explore(setup, { bounds: { ...defaultBounds, depthMax: 60, timeoutsPerNodeMax: 0, reorderingsMax: 0, inflightMessagesMax: 60 }, strategy: "bfs", por: true });
    const violation = found.violation;
    if (violation === undefined) throw new Error("two liars of four were not found out");
    expect(violation.property).toBe("linearizable");
    expect(violation.message).toMatch(/accepted a result no state machine produced/);
    const scenario = counterexampleScenario(setup, violation.steps, violation);
    expect(scriptOf(scenario).byzantine).toEqual({ nodes: [1, 2], strategy: "corrupt-results" });
    const result = runSimulation({ algorithm: pbft, nodes: 4, scenario, seed: 1 });
    expect(result.byzantineNodes).toEqual([1, 2]);
    expect(result.byzantineStrategy).toBe("corrupt-results");
    // The simulator records the forged result as the timed run does (an invalid result), and its checker finds the history broken.
    expect(result.history.map((operation) => [operation.status, operation.output?.type])).toEqual([["ok", "invalid"]]);
    expect(setup.checkHistory(result.history).kind).toBe("not-linearizable");
    // Without the liars the same script leaves the path where the first forged reply was named.
    const honest = { ...scenario, script: { ...scriptOf(scenario), byzantine: undefined } };
    expect(() => runSimulation({ algorithm: pbft, nodes: 4, scenario: honest, seed: 1 })).toThrow(/bytes differ/);
  });

  it("replays replicas that turn liar mid-path: honest up to their turn-liar step, lying after it, to the same violation", () => {
    const setup = worldSetup(pbft, { nodes: 4, clients: 1, ops: 1, ordered: true, byzantine: { nodes: [1, 2], strategy: "corrupt-results", midPath: true } });
    const found = explore(setup, { bounds: { ...defaultBounds, depthMax: 60, timeoutsPerNodeMax: 0, reorderingsMax: 0, inflightMessagesMax: 60 }, strategy: "bfs", por: true });
    const violation = found.violation;
    if (violation === undefined) throw new Error("two replicas turning liar were not found out");
    const scenario = counterexampleScenario(setup, violation.steps, violation);
    const script = scriptOf(scenario);
    expect(script.byzantine).toEqual({ nodes: [1, 2], strategy: "corrupt-results", midPath: true });
    expect(script.steps.filter((step) => step.step === "turn-liar").map((step) => (step.step === "turn-liar" ? step.node : -1))).toEqual([1, 2]);
    const result = runSimulation({ algorithm: pbft, nodes: 4, scenario, seed: 1 });
    expect(result.history.map((operation) => operation.output?.type)).toEqual(["invalid"]);
    expect(setup.checkHistory(result.history).kind).toBe("not-linearizable");
    expect(result.faultLog.filter((line) => line.includes("turn liar"))).toHaveLength(2);
    // Without replica 2's turn, its reply is honest and the script leaves the path where it names the forged one.
    const honestTwo = { ...scenario, script: { ...script, steps: script.steps.filter((step) => !(step.step === "turn-liar" && step.node === 2)) } } as ScenarioInput;
    expect(() => runSimulation({ algorithm: pbft, nodes: 4, scenario: honestTwo, seed: 1 })).toThrow(/bytes differ/);
  });

  it("replays a liar's random draws byte for byte: a primary moving requests to sessions drawn from the model's stream for it", () => {
    const setup = worldSetup(pbft, { nodes: 4, clients: 1, ops: 1, ordered: true, byzantine: { nodes: [0], strategy: "move-sessions" } });
    const path = pathFrom(setup);
    path.take({ kind: "invoke", client: path.world.clientIds()[0] ?? 0 });
    path.deliverAll();
    const { steps, world } = path;
    // The liar orders the request twice, once in a session it drew; the backups refuse the batch (the authenticator covers the session key).
    expect(steps.filter((step) => step.description.startsWith("deliver prePrepare 0→"))).toHaveLength(3);
    expect(world.violation).toBeUndefined();
    const scenario = counterexampleScenario(setup, steps);
    // Every step names its message's hash: the moved sessions in the pre-prepares are the model's draws, else the run stops at the first (tried: with the replica's own stream it does).
    const result = runSimulation({ algorithm: pbft, nodes: 4, scenario, seed: 1 });
    expect(result.invariantViolations).toEqual([]);
    expect(result.history.map((operation) => operation.status)).toEqual(["info"]);
  });

  it("refuses a script whose liars the run cannot have, naming the field", () => {
    const setup = worldSetup(pbft, { nodes: 4, clients: 1, ops: 1, ordered: true, byzantine: { nodes: [1], strategy: "corrupt-results" } });
    const path = pathFrom(setup);
    path.take({ kind: "invoke", client: path.world.clientIds()[0] ?? 0 });
    const { steps } = path;
    const scenario = counterexampleScenario(setup, steps);
    const script = scriptOf(scenario);
    expect(() => runSimulation({ algorithm: pbft, nodes: 4, scenario: { ...scenario, script: { ...script, byzantine: { nodes: [4], strategy: "silent" } } }, seed: 1 })).toThrow(/^scenario\.script\.byzantine\.nodes: there is no replica 4 \(replicas are 0 to 3\)$/);
    expect(() => runSimulation({ algorithm: pbft, nodes: 4, scenario: { ...scenario, script: { ...script, byzantine: { nodes: [1], strategy: "lie-a-lot" } } }, seed: 1 })).toThrow(/^scenario\.script\.byzantine\.strategy: unknown strategy "lie-a-lot" for pbft/);
  });
});

describe("a path through a lasting partition", () => {
  it("replays the cut and its heal: what crossed it waits and is delivered after, and a script that delivers across the cut stops there", () => {
    const setup = worldSetup(pbft, { nodes: 4, clients: 1, ops: 1, ordered: true });
    const path = pathFrom(setup);
    path.take({ kind: "partition", side: [3] });
    path.take({ kind: "invoke", client: path.world.clientIds()[0] ?? 0 });
    path.deliverAll();
    // Replica 3 heard nothing; the client's put completed with the other three.
    expect(path.world.inFlight().filter((envelope) => envelope.to === 3).length).toBeGreaterThan(0);
    expect(path.world.history()[0]?.status).toBe("ok");
    path.take({ kind: "heal" });
    path.deliverAll();
    expect(path.world.inFlight()).toHaveLength(0);
    const scenario = counterexampleScenario(setup, path.steps);
    const result = runSimulation({ algorithm: pbft, nodes: 4, scenario, seed: 1 });
    expect(result.invariantViolations).toEqual([]);
    expect(result.history.map((operation) => operation.status)).toEqual(["ok"]);
    expect(result.faults.filter((fault) => fault.kind === "partition").map((fault) => fault.nodes)).toEqual([[3]]);
    // The heal moved to the end: the first delivery to replica 3 now crosses the standing cut.
    const script = scriptOf(scenario);
    const heal = script.steps.findIndex((step) => step.step === "heal");
    const late = { ...scenario, script: { ...script, steps: [...script.steps.slice(0, heal), ...script.steps.slice(heal + 1), script.steps[heal]] } } as ScenarioInput;
    expect(() => runSimulation({ algorithm: pbft, nodes: 4, scenario: late, seed: 1 })).toThrow(new RegExp(`scenario\\.script\\.steps\\.${heal}: the .* crosses the standing partition`));
  });
});
