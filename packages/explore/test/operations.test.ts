import { findAlgorithm } from "@concord/lab";
import { pbft } from "@concord/pbft";
import { raft } from "@concord/raft";
import { describe, expect, it } from "vitest";
import { World, defaultBounds, defaultSometimes, enabledActions, explore, noCuts, worldSetup } from "../src/index.ts";
import { membershipChanges } from "../src/operations.ts";

// VR through the registry: @concord/explore does not depend on the vr package itself.
const vr = findAlgorithm("vr") ?? raft;

describe("the model's operator and client-restart actions", () => {
  it("runs VR (the registry has it)", () => {
    expect(vr.name).toBe("vr");
  });

  it("lists every one-step membership change of a leader: removals, demotions, additions, promotions and one-for-one replacements", () => {
    const changes = membershipChanges({ voters: [0, 1, 2], learners: [4] }, [0, 1, 2, 3, 4], 0).map((set) => set.map((change) => `${change.type} ${change.node}`).join(" + "));
    expect(changes).toEqual([
      "removeVoter 1",
      "removeVoter 1 + addLearner 1",
      "removeVoter 2",
      "removeVoter 2 + addLearner 2",
      "addVoter 3",
      "addLearner 3",
      "addVoter 4",
      "removeVoter 1 + addVoter 3",
      "removeVoter 2 + addVoter 3",
    ]);
  });

  it("replaces a majority of the voters or more in one change, the leader among them or not, when enough nodes are outside", () => {
    const replacements = (outside: number): string[] =>
      membershipChanges({ voters: [0, 1, 2], learners: [] }, Array.from({ length: 3 + outside }, (_, id) => id), 0)
        .filter((set) => set.filter((change) => change.type === "removeVoter").length >= 2)
        .map((set) => set.map((change) => `${change.type} ${change.node}`).join(" + "));
    expect(replacements(1)).toEqual([]);
    expect(replacements(2)).toEqual(["removeVoter 0 + removeVoter 1 + addVoter 3 + addVoter 4", "removeVoter 0 + removeVoter 2 + addVoter 3 + addVoter 4", "removeVoter 1 + removeVoter 2 + addVoter 3 + addVoter 4"]);
    expect(replacements(3)).toContain("removeVoter 0 + removeVoter 1 + removeVoter 2 + addVoter 3 + addVoter 4 + addVoter 5");
    expect(replacements(3)).toHaveLength(4);
  });

  it("offers none of them without a bound, and transfers only to an algorithm that has them", () => {
    const world = World.initial(worldSetup(vr, { nodes: 3, clients: 1, ops: 1, spares: 1 }));
    const kinds = (bounds: typeof defaultBounds): string[] => [...new Set(enabledActions(world, bounds, noCuts()).map((action) => action.kind))].sort();
    expect(kinds(defaultBounds)).not.toContain("reconfigure");
    expect(kinds(defaultBounds)).not.toContain("client-restart");
    // VR's primary of view 0 leads from the start; VR has membership changes but no leadership transfer.
    expect(kinds({ ...defaultBounds, reconfigurationsMax: 1, transfersMax: 1, clientRestartsMax: 1 })).toEqual(expect.arrayContaining(["client-restart", "reconfigure"]));
    expect(kinds({ ...defaultBounds, reconfigurationsMax: 1, transfersMax: 1 })).not.toContain("transfer");
    expect(world.nodeCount()).toBe(4);
  });

  it("a client restart gives up the outstanding operation and starts a new session; VR keeps every guarantee within the bounds", () => {
    const setup = worldSetup(vr, { nodes: 3, clients: 1, ops: 2 });
    let gaveUp = 0;
    const result = explore(setup, {
      bounds: { ...defaultBounds, depthMax: 8, timeoutsPerNodeMax: 0, clientRestartsMax: 1 },
      strategy: "bfs",
      por: true,
      sometimes: defaultSometimes(),
      onState: (world) => {
        if (world.gaveUp().length > 0) gaveUp++;
      },
    });
    expect(result.outcome).toBe("exhausted");
    expect(result.cutBy.clientRestartsMax).toBeGreaterThan(0);
    expect(gaveUp).toBeGreaterThan(0);
    expect(result.sometimes.every((property) => property.reached)).toBe(true);
  });

  it("Raft refuses a demotion in one change (no state), accepts a removal, and keeps every guarantee with one change and one transfer", () => {
    const setup = worldSetup(raft, { nodes: 3, clients: 0, options: { preVote: false, checkQuorum: false } });
    let changed = 0;
    let transferred = 0;
    let leading: World | undefined;
    const result = explore(setup, {
      bounds: { ...defaultBounds, depthMax: 6, timeoutsPerNodeMax: 1, reconfigurationsMax: 1, transfersMax: 1 },
      strategy: "bfs",
      por: true,
      onState: (world) => {
        if (world.spent().reconfigurations > 0) changed++;
        if (world.spent().transfers > 0) transferred++;
        if (leading === undefined && world.status(0)?.role === "leader" && (world.status(0)?.commitIndex ?? 0) > 0) leading = world;
      },
    });
    expect(result.outcome).toBe("exhausted");
    expect(changed).toBeGreaterThan(0);
    expect(transferred).toBeGreaterThan(0);
    if (leading === undefined) throw new Error("no state with node 0 leading after a commit");
    for (const joint of [false, true]) {
      const demoted = leading.fork();
      const outcome = demoted.apply({ kind: "reconfigure", node: 0, changes: [{ type: "removeVoter", node: 1 }, { type: "addLearner", node: 1 }], joint });
      expect(outcome.effect, `a demotion (joint: ${joint}) is refused`).toBe(false);
      expect(demoted.spent().reconfigurations).toBe(0);
    }
    const removed = leading.fork();
    expect(removed.apply({ kind: "reconfigure", node: 0, changes: [{ type: "removeVoter", node: 1 }], joint: false }).effect).toBe(true);
    expect(removed.spent().reconfigurations).toBe(1);
  });
});

describe("read levels", () => {
  it("a read asked stale is served by a backup and left out of the linearizability check; the history would fail without leaving it out", () => {
    const encoder = new TextEncoder();
    // c1 writes, c0 reads: c0 asks backup 1 first (its first guess at this seed), which answers from what it executed, nothing yet.
    const setup = worldSetup(vr, { nodes: 3, workload: [[{ type: "get", key: "x" }], [{ type: "put", key: "x", value: encoder.encode("a") }]], readLevel: "stale" });
    let staleAfterWrite = 0;
    const result = explore(setup, {
      bounds: { ...defaultBounds, depthMax: 11, timeoutsPerNodeMax: 0 },
      strategy: "bfs",
      por: true,
      onState: (world) => {
        const history = world.history();
        const read = history.find((operation) => operation.input.type === "get" && operation.status === "ok");
        if (read === undefined) return;
        expect(read.readLevel).toBe("stale");
        if (setup.checkHistory(history).kind === "not-linearizable") staleAfterWrite++;
      },
    });
    expect(result.outcome).toBe("exhausted");
    expect(staleAfterWrite).toBeGreaterThan(0);
  });
});

describe("Byzantine replicas", () => {
  const liars = (nodes: number[], strategy = "corrupt-results") => worldSetup(pbft, { nodes: 4, clients: 1, ops: 1, ordered: true, byzantine: { nodes, strategy } });
  const bounds = { ...defaultBounds, depthMax: 60, timeoutsPerNodeMax: 0, reorderingsMax: 0, inflightMessagesMax: 60 };

  it("PBFT keeps every guarantee with f = 1 liar answering wrong results, and loses linearizability with f + 1", () => {
    const one = explore(liars([1]), { bounds, strategy: "bfs", por: true, sometimes: defaultSometimes() });
    expect(one.outcome).toBe("exhausted");
    expect(one.sometimes.every((property) => property.reached)).toBe(true);
    const two = explore(liars([1, 2]), { bounds, strategy: "bfs", por: true });
    expect(two.outcome).toBe("violation");
    expect(two.violation?.property).toBe("linearizable");
  });

  it("turns a named replica liar at any step of a path, once, with --byzantine-mid-path: f = 1 keeps every guarantee, f + 1 loses linearizability", () => {
    const midPath = (nodes: number[]) => worldSetup(pbft, { nodes: 4, clients: 1, ops: 1, ordered: true, byzantine: { nodes, strategy: "corrupt-results", midPath: true } });
    const world = World.initial(midPath([1, 2]));
    const turns = (from: World): string[] => enabledActions(from, bounds, noCuts()).flatMap((action) => (action.kind === "turn-liar" ? [String(action.node)] : []));
    expect(turns(world)).toEqual(["1", "2"]);
    const turned = world.fork();
    turned.apply({ kind: "turn-liar", node: 1 });
    expect(turns(turned)).toEqual(["2"]);
    expect(turned.key()).not.toBe(world.key());
    const one = explore(midPath([1]), { bounds, strategy: "bfs", por: true, sometimes: defaultSometimes() });
    expect(one.outcome).toBe("exhausted");
    expect(one.sometimes.every((property) => property.reached)).toBe(true);
    const two = explore(midPath([1, 2]), { bounds, strategy: "bfs", por: true });
    expect(two.outcome).toBe("violation");
    expect(two.violation?.property).toBe("linearizable");
    expect(two.violation?.steps.filter((step) => step.action.kind === "turn-liar")).toHaveLength(2);
  });

  it("refuses a strategy that keeps state the model cannot copy", () => {
    expect(() => World.initial(liars([1], "replay"))).toThrow(/keeps state the model cannot copy/);
    // Raft has no equivocate of its own: the simulator's generic one draws once, in a closure, whom it lies to.
    expect(() => World.initial(worldSetup(raft, { nodes: 3, byzantine: { nodes: [1], strategy: "equivocate" } }))).toThrow(/"equivocate" of raft keeps state the model cannot copy/);
    expect(World.initial(worldSetup(raft, { nodes: 3, byzantine: { nodes: [1], strategy: "silent" } })).inFlight()).toEqual([]);
    expect(() => World.initial(liars([1], "equivocate"))).not.toThrow();
  });
});

describe("lasting partitions", () => {
  const setup = worldSetup(pbft, { nodes: 4, clients: 1, ops: 2, ordered: true, readLevel: "stale" });
  const bounds = { ...defaultBounds, depthMax: 40, timeoutsPerNodeMax: 0, reorderingsMax: 0, inflightMessagesMax: 60, partitionsMax: 1 };

  it("cuts one replica, alone or with clients, off until a heal; what crosses the cut waits, and is delivered after the heal", () => {
    let world = World.initial(setup);
    const kinds = (): string[] => enabledActions(world, bounds, noCuts()).map((action) => (action.kind === "partition" ? `partition ${action.side.join(",")}` : action.kind));
    expect(kinds().filter((kind) => kind.startsWith("partition"))).toEqual(["partition 0", `partition 0,${world.clientIds()[0]}`, "partition 1", `partition 1,${world.clientIds()[0]}`, "partition 2", `partition 2,${world.clientIds()[0]}`, "partition 3", `partition 3,${world.clientIds()[0]}`]);
    const step = (action: Parameters<World["apply"]>[0]): void => {
      world = world.fork();
      world.apply(action);
    };
    step({ kind: "partition", side: [0] });
    step({ kind: "invoke", client: world.clientIds()[0] ?? 0 });
    // The client's request to the primary (replica 0) crosses the cut: it stays in flight, not deliverable; only the heal is offered of the partition actions.
    const request = world.inFlight()[0];
    expect(request?.to).toBe(0);
    expect(world.crosses(request?.from ?? 0, 0)).toBe(true);
    expect(kinds()).not.toContain("deliver");
    expect(kinds()).toContain("heal");
    expect(kinds().some((kind) => kind.startsWith("partition"))).toBe(false);
    expect(() => world.fork().apply({ kind: "deliver", key: request?.key ?? "" })).toThrow(/crosses the standing partition/);
    step({ kind: "heal" });
    expect(world.partitioned()).toBeUndefined();
    expect(kinds()).toContain("deliver");
    // One cut on the path, spent: no more partition actions, and the bound says it cut.
    const cut = noCuts();
    expect(enabledActions(world, bounds, cut).some((action) => action.kind === "partition")).toBe(false);
    expect(cut.partitionsMax).toBe(1);
  });

  it("PBFT serves a stale read to a client cut off with one replica: the bounded eventually check holds through the cut", () => {
    const result = explore(setup, { bounds, strategy: "bfs", por: true, eventually: 300, sometimes: defaultSometimes() });
    expect(result.outcome).toBe("exhausted");
    expect(result.cutBy.partitionsMax).toBeGreaterThan(0);
    expect(result.sometimes.every((property) => property.reached)).toBe(true);
    expect(result.eventually?.checked).toBe(result.uniqueStates);
  });
});
