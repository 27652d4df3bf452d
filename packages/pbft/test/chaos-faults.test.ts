// The faults chaos draws against PBFT's own checks (issue 21): liars playing
// strategies aimed at one check each, a faulty client that borrows other
// clients' sessions, and windows in which only checkpoints and state transfer,
// or only commits, are lost on their way to a few replicas. Each test fails if
// chaos stops drawing a fault, or if the fault stops acting.
import { describe, expect, it } from "vitest";
import { type AnyAlgorithm, type NodeId, createRng, deriveSeed, firstClientId } from "@concord/core";
import { type PbftMessage, PbftByzantineClient, PbftReplica, type PbftRequest, pbft } from "@concord/pbft";
import { Authenticator } from "@concord/pbft/internals";
import { drawChaosAdversary, drawChaosByzantine, drawChaosClientLoop, drawChaosByzantineClient, drawChaosLossWindows, runSimulation, swarmOptions } from "@concord/sim";
import { FakeCrypto } from "./kit.ts";
import { problemsOf } from "./simulated.ts";

const hints = pbft.chaosFaults;

/** chaosSeedDrawing returns the first seed from 1 whose chaos run draws liars playing `strategy` (at n = 4). */
function chaosSeedDrawing(strategy: string): number {
  for (let seed = 1; seed <= 1000; seed++) {
    if (drawChaosByzantine(createRng(deriveSeed(seed, "chaos-byzantine")), [1, 2, 3, 4], 1, hints).strategy === strategy) return seed;
  }
  throw new Error(`no seed of 1000 draws ${strategy}`);
}

/** Stepped records, per correct replica, every message it was handed, with its sender. */
class Stepped {
  readonly requests: { readonly from: NodeId; readonly request: PbftRequest }[] = [];
  readonly prePrepares: { readonly from: NodeId; readonly requests: readonly PbftRequest[] }[] = [];
  readonly viewChanges: { readonly from: NodeId; readonly claims: number }[] = [];
  /** written holds the VIEW-CHANGEs each replica's own code put in its Ready, before any strategy touched them. */
  readonly written: { readonly from: NodeId; readonly claims: number }[] = [];
  readonly replicas: PbftReplica[] = [];

  /** algorithm is PBFT with each replica's step recorded here. */
  algorithm(): AnyAlgorithm {
    const algorithm = {
      ...pbft,
      createReplica: (context: Parameters<typeof pbft.createReplica>[0]) => {
        const replica = pbft.createReplica(context) as PbftReplica;
        this.replicas.push(replica);
        const ready = replica.ready.bind(replica);
        replica.ready = () => {
          const out = ready();
          for (const { message } of out?.messages ?? []) {
            if (message.type === "viewChange") this.written.push({ from: replica.id, claims: message.prepared.length + message.prePrepared.length });
          }
          return out;
        };
        const step = replica.step.bind(replica);
        replica.step = (from: NodeId, message: PbftMessage) => {
          if (message.type === "request") this.requests.push({ from, request: message });
          if (message.type === "prePrepare") this.prePrepares.push({ from, requests: message.requests });
          if (message.type === "viewChange") this.viewChanges.push({ from, claims: message.prepared.length + message.prePrepared.length });
          step(from, message);
        };
        return replica;
      },
    };
    return algorithm as AnyAlgorithm;
  }
}

describe("what chaos draws against PBFT", () => {
  it("liars in about half the runs, at most f of them, each strategy aimed at a check, the first primary among those that act as primary", () => {
    for (const nodes of [4, 7]) {
      const f = pbft.faultsTolerated(nodes);
      const ids = Array.from({ length: nodes }, (_, index) => index + 1);
      const strategies = new Map<string, number>();
      let runs = 0;
      for (let seed = 1; seed <= 300; seed++) {
        const drawn = drawChaosByzantine(createRng(deriveSeed(seed, "chaos-byzantine")), ids, f, hints);
        if (drawn.strategy === undefined) {
          expect(drawn.nodes).toEqual([]);
          continue;
        }
        runs++;
        strategies.set(drawn.strategy, (strategies.get(drawn.strategy) ?? 0) + 1);
        expect(drawn.nodes.length).toBeGreaterThanOrEqual(1);
        expect(drawn.nodes.length).toBeLessThanOrEqual(f);
        for (const node of drawn.nodes) expect(ids).toContain(node);
        if (hints?.leaderStrategies?.includes(drawn.strategy) === true) expect(drawn.nodes).toContain(1);
      }
      expect(runs).toBeGreaterThan(100);
      expect(runs).toBeLessThan(200);
      expect([...strategies.keys()].sort()).toEqual([...(hints?.byzantineStrategies ?? [])].sort());
      for (const name of strategies.keys()) expect(pbft.byzantineStrategies.map((strategy) => strategy.name)).toContain(name);
    }
    // A crash-fault algorithm names none: chaos draws no liar for it.
    expect(drawChaosByzantine(createRng(1), [1, 2, 3], 1, undefined)).toEqual({ nodes: [], strategy: undefined });
  });

  it("a faulty client in about half the runs of two clients or more, never of one", () => {
    let drawn = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const client = drawChaosByzantineClient(createRng(deriveSeed(seed, "chaos-byzantine-client")), 4, hints);
      expect(drawChaosByzantineClient(createRng(deriveSeed(seed, "chaos-byzantine-client")), 1, hints)).toBeUndefined();
      if (client === undefined) continue;
      drawn++;
      expect(client.index).toBeLessThan(4);
      expect(hints?.byzantineClientStrategies).toContain(client.strategy);
    }
    expect(drawn).toBeGreaterThan(60);
    expect(drawn).toBeLessThan(140);
  });

  it("windows that drop only checkpoints and state transfer, or only commits, to one to f+1 replicas, all of one window alike", () => {
    for (const nodes of [4, 7]) {
      const f = pbft.faultsTolerated(nodes);
      const groups = new Set<string>();
      const starved = new Set<number>();
      for (let seed = 1; seed <= 200; seed++) {
        const faults = drawChaosLossWindows(createRng(deriveSeed(seed, "chaos-loss-windows")), 3000, nodes, f, hints);
        const windows = new Map<string, number[]>();
        for (const fault of faults) {
          if (fault.type !== "link" || fault.to === undefined || typeof fault.to !== "object") throw new Error(`a loss window is a link fault to one replica (got ${JSON.stringify(fault)})`);
          expect(fault.link).toEqual({ dropPercent: 100 });
          expect(fault.from).toBeUndefined();
          expect(fault.durationMs).toBeGreaterThanOrEqual(750);
          groups.add(fault.messageTypes?.join("+") ?? "");
          const window = `${fault.atMs}/${fault.durationMs}/${fault.messageTypes?.join("+")}`;
          windows.set(window, [...(windows.get(window) ?? []), fault.to.index]);
        }
        for (const victims of windows.values()) {
          expect(victims.length).toBeLessThanOrEqual(f + 1);
          expect(victims.length).toBeLessThan(nodes);
          for (const victim of victims) starved.add(victim);
        }
      }
      expect([...groups].sort()).toEqual(["checkpoint+fetchState+stateTransfer", "commit"]);
      expect(starved.size).toBe(nodes);
    }
  });

  it("the liars' ally in the network: in about half the runs with liars, one window starving every correct replica but the f+1 - liars kept up, never a liar", () => {
    for (const nodes of [4, 7]) {
      const f = pbft.faultsTolerated(nodes);
      const ids = Array.from({ length: nodes }, (_, index) => index + 1);
      const groups = new Set<string>();
      let withLiars = 0;
      let drawn = 0;
      for (let seed = 1; seed <= 300; seed++) {
        const liars = drawChaosByzantine(createRng(deriveSeed(seed, "chaos-byzantine")), ids, f, hints).nodes;
        const faults = drawChaosAdversary(createRng(deriveSeed(seed, "chaos-adversary")), 3000, ids, liars, f, hints);
        if (liars.length === 0) {
          expect(faults).toEqual([]);
          continue;
        }
        withLiars++;
        if (faults.length === 0) continue;
        drawn++;
        const starved = new Set<NodeId>();
        for (const fault of faults) {
          if (fault.type !== "link" || fault.to === undefined || typeof fault.to !== "object") throw new Error(`the adversary's window is a link fault to one replica (got ${JSON.stringify(fault)})`);
          expect(fault.link).toEqual({ dropPercent: 100 });
          expect(fault.from).toBeUndefined();
          expect(fault.durationMs).toBeGreaterThanOrEqual(750);
          const first = faults[0];
          if (first?.type !== "link") throw new Error("the adversary's window is link faults");
          expect(`${fault.atMs}/${fault.durationMs}/${fault.messageTypes?.join("+")}`).toBe(`${first.atMs}/${first.durationMs}/${first.messageTypes?.join("+")}`);
          groups.add(fault.messageTypes?.join("+") ?? "");
          starved.add(ids[fault.to.index] as NodeId);
        }
        for (const liar of liars) expect(starved.has(liar)).toBe(false);
        // Exactly f+1 replicas hear what the others lose: the liars and the correct replicas kept up.
        expect(nodes - starved.size).toBe(f + 1);
      }
      expect(drawn).toBeGreaterThan(withLiars / 4);
      expect(drawn).toBeLessThan((withLiars * 3) / 4);
      expect([...groups].sort()).toEqual(["checkpoint+fetchState+stateTransfer", "checkpoint+fetchState+stateTransfer+commit", "commit"]);
    }
    expect(drawChaosAdversary(createRng(1), 3000, [1, 2, 3, 4], [], 1, hints)).toEqual([]);
    expect(drawChaosAdversary(createRng(1), 3000, [1, 2, 3], [1], 1, undefined)).toEqual([]);
  });

  it("a client in a crash loop in about half the runs: one client restarted three to six times, 100 to 400 ms apart, within the fault phase", () => {
    let drawn = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const faults = drawChaosClientLoop(createRng(deriveSeed(seed, "chaos-client-loop")), 3000, 4, hints);
      if (faults.length === 0) continue;
      drawn++;
      const clients = new Set<number>();
      let previous: number | undefined;
      for (const fault of faults) {
        if (fault.type !== "restart-client" || typeof fault.client !== "object") throw new Error(`a crash loop restarts one client (got ${JSON.stringify(fault)})`);
        clients.add(fault.client.index);
        expect(fault.atMs).toBeLessThan(3000);
        if (previous !== undefined) {
          expect(fault.atMs - previous).toBeGreaterThanOrEqual(100);
          expect(fault.atMs - previous).toBeLessThanOrEqual(400);
        }
        previous = fault.atMs;
      }
      expect(clients.size).toBe(1);
      expect([...clients][0]).toBeLessThan(4);
      expect(faults.length).toBeGreaterThanOrEqual(3);
      expect(faults.length).toBeLessThanOrEqual(6);
    }
    expect(drawn).toBeGreaterThan(60);
    expect(drawn).toBeLessThan(140);
    // Only an algorithm whose hints ask for it.
    expect(drawChaosClientLoop(createRng(1), 3000, 4, undefined)).toEqual([]);
  });

  it("a chaos run plays what was drawn for it: its liars and their strategy, its faulty client", () => {
    const seed = chaosSeedDrawing("omit-prepared");
    const result = runSimulation({ algorithm: pbft, nodes: 4, seed, scenario: "chaos", ops: 20, encode: false });
    const drawn = drawChaosByzantine(createRng(deriveSeed(seed, "chaos-byzantine")), [1, 2, 3, 4], 1, hints);
    expect(result.byzantineStrategy).toBe("omit-prepared");
    expect(result.byzantineNodes).toEqual(drawn.nodes);
    const client = drawChaosByzantineClient(createRng(deriveSeed(seed, "chaos-byzantine-client")), 4, hints);
    expect(result.byzantineClient).toEqual(client === undefined ? undefined : { id: firstClientId + client.index, strategy: client.strategy });
  });
});

describe("the faults act", () => {
  it("move-sessions: the primary's batches carry requests moved to another session, and the backups refuse them by the client's authenticator", () => {
    const stepped = new Stepped();
    const { problems } = problemsOf({ nodes: 4, scenario: "byzantine", seed: 1, ops: 8, clients: 2, byzantineStrategy: "move-sessions", algorithm: stepped.algorithm() });
    expect(problems).toEqual([]);
    const fromLiar = stepped.prePrepares.filter((message) => message.from === 1);
    expect(fromLiar.length).toBeGreaterThan(0);
    // Each request is there twice, once in a session its client never opened.
    for (const message of fromLiar) {
      const bySequence = new Map<string, Set<number>>();
      for (const request of message.requests) {
        const key = `${request.clientId}:${request.sequence}`;
        bySequence.set(key, (bySequence.get(key) ?? new Set()).add(request.session));
      }
      for (const sessions of bySequence.values()) expect(sessions.size).toBe(2);
    }
    const badRequests = stepped.replicas.filter((replica) => replica.id !== 1).map((replica) => replica.rejections().byReason().get("badRequest") ?? 0);
    for (const count of badRequests) expect(count).toBeGreaterThan(0);
  });

  it("replay-requests: the primary's batches carry requests its clients sent earlier, and every run stays safe, linearizable and live", () => {
    const stepped = new Stepped();
    const { problems } = problemsOf({ nodes: 4, scenario: "byzantine", seed: 1, ops: 24, clients: 2, byzantineStrategy: "replay-requests", algorithm: stepped.algorithm() });
    expect(problems).toEqual([]);
    const ordered = new Set<string>();
    let replays = 0;
    for (const message of stepped.prePrepares.filter((prePrepare) => prePrepare.from === 1)) {
      for (const request of message.requests) {
        const key = `${request.clientId}:${request.session}:${request.sequence}`;
        if (ordered.has(key)) replays++;
        ordered.add(key);
      }
    }
    expect(replays).toBeGreaterThan(0);
  });

  it("omit-prepared: the VIEW-CHANGEs a liar's own code writes carry claims, and those the others receive from it carry none", () => {
    const stepped = new Stepped();
    const algorithm = stepped.algorithm();
    // The primary crashes with batches prepared, so the backups change view; replica 3 lies in its VIEW-CHANGEs.
    const scenario = {
      name: "primary-crash",
      description: "the first primary crashes as the workload starts, for 1.5 s",
      warmupMs: 500,
      workload: { spreadMs: 2000 },
      byzantine: 1,
      faults: [{ type: "crash" as const, atMs: 30, target: { index: 0 }, restartAfterMs: 1500 }],
    };
    for (let seed = 1; seed <= 5 && !stepped.written.some((message) => message.from === 3 && message.claims > 0); seed++) {
      const { problems } = problemsOf({ nodes: 4, scenario, seed, ops: 30, clients: 4, byzantineStrategy: "omit-prepared", byzantineNodes: [3], algorithm });
      expect(problems).toEqual([]);
    }
    expect(stepped.written.some((message) => message.from === 3 && message.claims > 0)).toBe(true);
    const received = stepped.viewChanges.filter((message) => message.from === 3);
    expect(received.length).toBeGreaterThan(0);
    for (const message of received) expect(message.claims).toBe(0);
    expect(stepped.viewChanges.some((message) => message.from !== 3 && message.claims > 0)).toBe(true);
  });

  it("the liars' ally: a stale-reads liar's correct peers, starved of commits, hold batches the kept-up replicas executed while reads reach them, and the run keeps every guarantee", () => {
    const ids = [1, 2, 3, 4];
    let seed = 1;
    let starved: NodeId[] = [];
    for (; seed <= 1000; seed++) {
      const liars = drawChaosByzantine(createRng(deriveSeed(seed, "chaos-byzantine")), ids, 1, hints);
      if (liars.strategy !== "stale-reads") continue;
      const faults = drawChaosAdversary(createRng(deriveSeed(seed, "chaos-adversary")), 2000, ids, liars.nodes, 1, hints);
      if (faults.length === 0 || faults[0]?.type !== "link" || faults[0].messageTypes?.join("+") !== "commit") continue;
      starved = faults.map((fault) => (fault.type === "link" && typeof fault.to === "object" ? (ids[fault.to.index] as NodeId) : 0));
      break;
    }
    expect(starved.length).toBe(2);
    const replicas = new Map<NodeId, PbftReplica>();
    let lagging = 0;
    const algorithm = {
      ...pbft,
      createReplica: (context: Parameters<typeof pbft.createReplica>[0]) => {
        const replica = pbft.createReplica(context) as PbftReplica;
        replicas.set(replica.id, replica);
        const step = replica.step.bind(replica);
        replica.step = (from: NodeId, message: PbftMessage) => {
          // A read reaches a starved replica while every starved replica is behind a batch that a replica kept up executed.
          if (message.type === "request" && message.readOnly && starved.includes(replica.id)) {
            const ahead = Math.max(...[...replicas.values()].filter((other) => !starved.includes(other.id)).map((other) => other.status().appliedIndex));
            if (starved.every((id) => (replicas.get(id)?.status().appliedIndex ?? ahead) < ahead)) lagging++;
          }
          step(from, message);
        };
        return replica;
      },
    } as AnyAlgorithm;
    const { problems } = problemsOf({ nodes: 4, scenario: "chaos", seed, ops: 200, clients: 4, algorithm, protocolOptions: { readOnlyOptimization: true } });
    expect(problems).toEqual([]);
    expect(lagging).toBeGreaterThan(0);
  });

  it("a client in a crash loop: its sessions number their requests from the same first sequence, so a session's successor reaches its last request's number, and the run keeps every guarantee", () => {
    let seed = 1;
    while (drawChaosClientLoop(createRng(deriveSeed(seed, "chaos-client-loop")), 2000, 4, hints).length < 4) seed++;
    const loop = drawChaosClientLoop(createRng(deriveSeed(seed, "chaos-client-loop")), 2000, 4, hints)[0];
    const looping = firstClientId + (loop?.type === "restart-client" && typeof loop.client === "object" ? loop.client.index : 0);
    const stepped = new Stepped();
    const { problems, result } = problemsOf({ nodes: 4, scenario: "chaos", seed, ops: 40, clients: 4, algorithm: stepped.algorithm() });
    expect(problems).toEqual([]);
    expect(result.faultLog.filter((line) => line.includes(`restart client ${looping}`)).length).toBeGreaterThanOrEqual(3);
    // Each session's last sequence number, and whether a later session of the same client sent a request with it.
    const lastOf = new Map<number, number>();
    const order: number[] = [];
    for (const { from, request } of stepped.requests) {
      if (from !== looping || request.clientId !== looping) continue;
      if (!lastOf.has(request.session)) order.push(request.session);
      lastOf.set(request.session, Math.max(lastOf.get(request.session) ?? 0, request.sequence));
    }
    expect(order.length).toBeGreaterThanOrEqual(3);
    const reached = order.slice(0, -1).some((session, index) => order.slice(index + 1).some((later) => (lastOf.get(later) ?? 0) >= (lastOf.get(session) ?? 0)));
    expect(reached).toBe(true);
  });

  it("borrow-session: a faulty client sends, in its own name and authentically, requests in another client's session at its next sequence number", () => {
    const replicas = [0, 1, 2, 3];
    const spyId = firstClientId + 1;
    const spy = new PbftByzantineClient({ id: spyId, replicas, rng: createRng(1), crypto: new FakeCrypto(spyId), options: {} }, "borrow-session");
    const victim = (sequence: number, command: number): PbftRequest =>
      new Authenticator(new FakeCrypto(firstClientId), firstClientId, replicas, "macs").sealRequest({
        type: "request",
        clientId: firstClientId,
        session: 77,
        sequence,
        command: new Uint8Array([command]),
        readOnly: false,
        readLevel: 0,
        macs: [],
      });
    spy.overhear(firstClientId, victim(1, 5));
    expect(spy.ready()).toBeUndefined();
    spy.overhear(firstClientId, victim(2, 6));
    const ready = spy.ready();
    expect(ready?.messages.map((outbound) => outbound.to)).toEqual(replicas);
    const borrowed = ready?.messages[0]?.message as PbftRequest;
    expect(borrowed).toMatchObject({ clientId: spyId, session: 77, sequence: 3 });
    for (const replica of replicas) expect(new Authenticator(new FakeCrypto(replica), replica, replicas, "macs").verifyRequest(borrowed)).toBe(true);
    spy.advance(ready!);
    expect(spy.ready()).toBeUndefined();
  });

  it("borrow-session in chaos: the faulty client's requests reach the replicas in other clients' sessions, and the run keeps every guarantee", () => {
    let seed = 1;
    while (drawChaosByzantineClient(createRng(deriveSeed(seed, "chaos-byzantine-client")), 4, hints) === undefined) seed++;
    const stepped = new Stepped();
    const result = runSimulation({ algorithm: stepped.algorithm(), nodes: 4, seed, scenario: "chaos", ops: 40, encode: false });
    expect(result.invariantViolations).toEqual([]);
    const spy = result.byzantineClient?.id;
    expect(spy).toBeDefined();
    const owners = new Map<number, NodeId>();
    let borrowed = 0;
    for (const { from, request } of stepped.requests) {
      if (from !== request.clientId) continue;
      const owner = owners.get(request.session);
      if (owner === undefined) owners.set(request.session, from);
      else if (owner !== from && from === spy) borrowed++;
    }
    expect(borrowed).toBeGreaterThan(0);
  });
});

/** pastWindowClaims runs PBFT with, per correct replica, the VIEW-CHANGEs it wrote that claim sequence numbers above its stable checkpoint plus the window. */
function pastWindowClaims(): { algorithm: AnyAlgorithm; found: { from: NodeId; newView: number; claims: number }[] } {
  const found: { from: NodeId; newView: number; claims: number }[] = [];
  const algorithm = {
    ...pbft,
    createReplica: (context: Parameters<typeof pbft.createReplica>[0]) => {
      const replica = pbft.createReplica(context) as PbftReplica;
      const ready = replica.ready.bind(replica);
      replica.ready = () => {
        const out = ready();
        const { low, high } = replica.watermarks();
        const beyond = replica.stableCheckpoint() + (high - low);
        for (const { message } of out?.messages ?? []) {
          if (message.type !== "viewChange") continue;
          // Claims above the old window exist only above a checkpoint adopted from a NEW-VIEW (the low watermark).
          const claims = message.prepared.filter((claim) => claim.seq > beyond).length;
          if (claims > 0) found.push({ from: replica.id, newView: message.newView, claims });
        }
        return out;
      };
      return replica;
    },
  };
  return { algorithm: algorithm as AnyAlgorithm, found };
}

describe("the option corner chaos draws for PBFT (issue 21, bug 3)", () => {
  const space = pbft.optionSpace!;

  it("in about half the runs, a checkpoint interval of 2 to 4 and a window of twice it, from a stream of its own, over the ordinary draw of every other option", () => {
    let corners = 0;
    const intervals = new Set<number>();
    for (let seed = 1; seed <= 400; seed++) {
      const ordinary = space.draw(createRng(deriveSeed(seed, "options")), {});
      const corner = space.corner!(createRng(deriveSeed(seed, "options-corner")), {});
      const { options, drawn } = swarmOptions(pbft, seed, true, {});
      expect(drawn).toEqual(options);
      if (Object.keys(corner).length === 0) {
        expect(options).toEqual(ordinary);
        continue;
      }
      corners++;
      const interval = corner["checkpointIntervalSeqs"] as number;
      intervals.add(interval);
      expect(corner).toEqual({ checkpointIntervalSeqs: interval, watermarkWindowSeqs: 2 * interval });
      expect(options).toEqual({ ...ordinary, ...corner });
    }
    expect(corners).toBeGreaterThan(160);
    expect(corners).toBeLessThan(240);
    expect([...intervals].sort()).toEqual([2, 3, 4]);
    // Never over an option the run fixes: the corner moves both together or neither.
    for (let seed = 1; seed <= 40; seed++) {
      expect(space.corner!(createRng(deriveSeed(seed, "options-corner")), { checkpointIntervalSeqs: 8 })).toEqual({});
      expect(space.corner!(createRng(deriveSeed(seed, "options-corner")), { watermarkWindowSeqs: 100 })).toEqual({});
      expect(swarmOptions(pbft, seed, true, { checkpointIntervalSeqs: 8 }).options["checkpointIntervalSeqs"]).toBe(8);
    }
  });

  it("acts: with the liars' ally starving two correct replicas, both adopt a NEW-VIEW's checkpoint without its state and claim past their old window in a later VIEW-CHANGE, which the same seed with the ordinary options never does, and the run keeps every guarantee", () => {
    // Seed 239 at n = 4: a forge-requests liar (replica 1, the first primary), the ally losing commits, checkpoints
    // and state transfer on their way to replicas 2 and 4 (3 kept up), and the corner's interval of 4. With a
    // VIEW-CHANGE that leaves out the claims above the old window (the planted bug
    // view-change-omits-claims-above-adopted-checkpoint), a later NEW-VIEW re-issues 35, which replica 3 committed,
    // as the null request: one of the two seeds of 1..1000 that catch that bug (the other, 123, draws no corner).
    const seed = 239;
    const liars = drawChaosByzantine(createRng(deriveSeed(seed, "chaos-byzantine")), [1, 2, 3, 4], 1, hints);
    expect(liars).toEqual({ nodes: [1], strategy: "forge-requests" });
    const ally = drawChaosAdversary(createRng(deriveSeed(seed, "chaos-adversary")), 3000, [1, 2, 3, 4], liars.nodes, 1, hints);
    expect(ally.map((fault) => (fault.type === "link" ? [fault.to, fault.messageTypes] : undefined))).toEqual([
      [{ index: 1 }, ["checkpoint", "fetchState", "stateTransfer", "commit"]],
      [{ index: 3 }, ["checkpoint", "fetchState", "stateTransfer", "commit"]],
    ]);
    expect(space.corner!(createRng(deriveSeed(seed, "options-corner")), {})).toEqual({ checkpointIntervalSeqs: 4, watermarkWindowSeqs: 8 });

    const withCorner = pastWindowClaims();
    const { problems } = problemsOf({ nodes: 4, scenario: "chaos", seed, ops: 200, clients: 4, encode: false, algorithm: withCorner.algorithm });
    expect(problems).toEqual([]);
    const views = new Map<number, Set<NodeId>>();
    for (const { from, newView } of withCorner.found) views.set(newView, new Set([...(views.get(newView) ?? []), from]));
    expect([...views.values()].some((senders) => senders.has(2) && senders.has(4))).toBe(true);

    const ordinary = pastWindowClaims();
    const options = space.draw(createRng(deriveSeed(seed, "options")), {});
    expect(problemsOf({ nodes: 4, scenario: "chaos", seed, ops: 200, clients: 4, encode: false, algorithm: ordinary.algorithm, protocolOptions: options }).problems).toEqual([]);
    expect(ordinary.found).toEqual([]);
  });
});
