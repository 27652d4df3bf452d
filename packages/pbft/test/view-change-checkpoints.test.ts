// What a VIEW-CHANGE says about the sender's checkpoints (TOCS §4.4-§4.5,
// Castro's thesis §2.3.5 and §5.3): hand-built schedules of issue 21, bugs 3
// and 8, through the test harness.
import { describe, expect, it } from "vitest";
import { type PbftMessage, type PbftNewView, type PbftViewChange } from "@concord/pbft";
import { Authenticator } from "@concord/pbft/internals";
import type { ByzantineStrategyDefinition, NodeId } from "@concord/core";
import { pbftCluster, type Envelope, type PbftCluster } from "./kit.ts";

const value = (text: string): Uint8Array => new TextEncoder().encode(text);
const small = { checkpointIntervalSeqs: 2, watermarkWindowSeqs: 4 };

/**
 * omitAbove is a faulty replica that builds its VIEW-CHANGEs honestly and then
 * drops every claim above `seq` and reports its stable checkpoint as 0, as
 * if it had never seen a later NEW-VIEW.
 */
function omitAbove(seq: number, checkpointZero: { seq: number; stateDigest: Uint8Array }): ByzantineStrategyDefinition<PbftMessage> {
  return {
    name: `omit-above-${seq}`,
    description: `reports its stable checkpoint as 0 and no claims above ${seq} in its VIEW-CHANGEs`,
    create: () => ({
      name: `omit-above-${seq}`,
      outbound: (messages, context) =>
        messages.map(({ to, message }) => {
          if (message.type !== "viewChange") return { to, message };
          const lie: PbftViewChange = {
            ...message,
            stableSeq: 0,
            checkpoints: [checkpointZero],
            prepared: message.prepared.filter((c) => c.seq <= seq),
            prePrepared: message.prePrepared.filter((c) => c.seq <= seq),
          };
          return { to, message: new Authenticator(context.crypto, context.self, context.replicas, "signatures").sealBroadcast(lie) };
        }),
    }),
  };
}

/**
 * runPreparedAboveUnfetchedCheckpoint plays the schedule of issue 21, bug 3
 * (n = 4, K = 2, L = 4): replicas 0 and 3 prepare 1..4 but never see a view-0
 * commit, a checkpoint or a state transfer; view 1 starts from checkpoint 4,
 * which they adopt without its state, and commits X at 5 on 0, 1 and 3
 * (replica 2 never enters view 1); replica 1 is cut off after asking for
 * view 2, which replica 2 leads. Returns the cluster once
 * a NEW-VIEW for view 2 was sent, or after 400 ticks without one.
 */
function runPreparedAboveUnfetchedCheckpoint(options: { faulty?: NodeId; restartLaggards?: boolean } = {}): { cluster: PbftCluster; x: string } {
  const { faulty, restartLaggards = false } = options;
  const cluster = pbftCluster(4, small, 2);
  const lagging = (to: NodeId): boolean => to === 0 || to === 3;
  const neverToLagging = (e: Envelope): boolean => lagging(e.to) && (e.message.type === "checkpoint" || e.message.type === "stateTransfer");
  cluster.drop = (e) => neverToLagging(e) || (lagging(e.to) && e.message.type === "commit" && e.message.view === 0);
  for (let i = 1; i <= 4; i++) {
    cluster.submit({ type: "put", key: "k", value: value(`${i}`) });
    cluster.deliverAll();
  }
  expect(cluster.results()).toEqual(Array(4).fill({ type: "put" }));
  for (const id of [0, 3]) expect(cluster.replica(id).status().appliedIndex).toBe(0);

  // View 1: replica 2 hears VIEW-CHANGEs only, so it joins the view change to view 1 but never enters view 1; replica
  // 3's VIEW-CHANGE does not reach the new primary, whose NEW-VIEW then rests on those of 0, 1 and 2 and starts from
  // checkpoint 4, which 1 and 2 hold.
  const toTwo = (e: Envelope): boolean => e.to !== 2 || e.message.type === "viewChange";
  const threeToOne = (e: Envelope): boolean => e.from === 3 && e.to === 1 && e.message.type === "viewChange";
  cluster.drop = (e) => neverToLagging(e) || (lagging(e.to) && e.message.type === "commit" && e.message.view === 0) || !toTwo(e) || threeToOne(e);
  cluster.submit({ type: "put", key: "x", value: value("X") }, 0);
  cluster.runUntil(() => [0, 1, 3].every((id) => cluster.replica(id).committedDigestAt(5) !== undefined), 500);
  const newView1 = cluster.sent.find((e) => e.message.type === "newView")?.message as PbftNewView;
  expect(newView1).toMatchObject({ view: 1, checkpointSeq: 4 });
  for (const id of [0, 3]) expect(cluster.replica(id).status()).toMatchObject({ epoch: 1, appliedIndex: 0 });
  expect(cluster.replica(2).isViewActive()).toBe(false);
  const x = cluster.replica(1).committedDigestAt(5) as string;
  if (restartLaggards) {
    // The adopted checkpoint is durable: restarted, 0 and 3 still report it as their low watermark.
    for (const id of [0, 3]) {
      cluster.crash(id);
      cluster.restart(id);
      expect(cluster.replica(id).watermarks().low).toBe(4);
    }
  }

  // View 2: replica 1 is cut off but for client 1's request Y (relayed by replica 0) and its own VIEW-CHANGE, which
  // leaves first: 1 executed X and times out on Y, while 0 and 3 time out later on X (a longer, backed-off timer).
  // Replica 2 hears everything again but view 1's NEW-VIEW, and leads view 2.
  if (faulty !== undefined) {
    const initial = cluster.sent.find((e) => e.message.type === "viewChange" && e.message.newView === 1)?.message as PbftViewChange;
    cluster.makeByzantine(faulty, omitAbove(4, initial.checkpoints[0] as { seq: number; stateDigest: Uint8Array }));
  }
  const cutOff = (e: Envelope): boolean => (e.to === 1 && e.message.type !== "request") || (e.from === 1 && e.message.type !== "viewChange");
  const newView1ToTwo = (e: Envelope): boolean => e.to === 2 && e.message.type === "newView" && e.message.view === 1;
  cluster.drop = (e) => neverToLagging(e) || cutOff(e) || newView1ToTwo(e);
  cluster.submit({ type: "put", key: "y", value: value("Y") }, 1);
  const newView2Sent = (): boolean => cluster.sent.some((e) => e.message.type === "newView" && e.message.view === 2);
  for (let tick = 0; tick < 400 && !newView2Sent(); tick++) cluster.tickAndDeliver();
  cluster.tickAndDeliver(5);
  return { cluster, x };
}

/** expectOneBatchAt5 checks that every correct replica that committed seq 5 committed the batch view 1 committed there. */
function expectOneBatchAt5(cluster: PbftCluster, x: string, correct: readonly NodeId[]): void {
  for (const id of correct) expect([undefined, x]).toContain(cluster.replica(id).committedDigestAt(5));
  expect(cluster.violations()).toEqual([]);
}

describe("PBFT VIEW-CHANGE above a checkpoint adopted from a NEW-VIEW (issue 21, bug 3)", () => {
  it("keeps the batch committed at 5 in view 1 when a replica that adopted checkpoint 4 without its state reports the view change", () => {
    const { cluster, x } = runPreparedAboveUnfetchedCheckpoint();
    expectOneBatchAt5(cluster, x, [0, 1, 2, 3]);
    // Replicas 0 and 3 reported checkpoint 4 and their claim at 5, so the NEW-VIEW re-issues X there.
    const newView2 = cluster.sent.find((e) => e.message.type === "newView" && e.message.view === 2)?.message as PbftNewView;
    expect(newView2.checkpointSeq).toBe(4);
    expect(newView2.entries.map((e) => e.seq)).toEqual([5]);
    expect(cluster.replica(2).committedDigestAt(5)).toBe(x);
    // Healed, the lagging replicas fetch checkpoint 4 and execute X and Y (replica 1, idle, learns of view 2 later).
    cluster.drop = undefined;
    cluster.runUntil(() => cluster.idle() && [0, 2, 3].every((id) => cluster.replica(id).status().appliedIndex >= 6), 2000);
    expect(cluster.results(0)).toEqual([...Array(4).fill({ type: "put" }), { type: "put" }]);
    expect(cluster.results(1)).toEqual([{ type: "put" }]);
    cluster.submit({ type: "get", key: "x" }, 0);
    cluster.runUntil(() => cluster.idle(), 500);
    expect(cluster.results(0).at(-1)).toEqual({ type: "get", value: new Uint8Array(value("X")) });
    expect(cluster.violations()).toEqual([]);
  });

  it("keeps it too when the replicas that adopted checkpoint 4 restart before the view change (the adopted checkpoint is persisted)", () => {
    const { cluster, x } = runPreparedAboveUnfetchedCheckpoint({ restartLaggards: true });
    expectOneBatchAt5(cluster, x, [0, 1, 2, 3]);
    const newView2 = cluster.sent.find((e) => e.message.type === "newView" && e.message.view === 2)?.message as PbftNewView;
    expect(newView2).toMatchObject({ checkpointSeq: 4 });
    expect(newView2.entries.map((e) => e.seq)).toEqual([5]);
  });

  for (const faulty of [0, 3]) {
    it(`stays safe, and trips no correct replica's assertion, when replica ${faulty} is Byzantine and omits its claims above 4`, () => {
      const { cluster, x } = runPreparedAboveUnfetchedCheckpoint({ faulty });
      const correct = [0, 1, 2, 3].filter((id) => id !== faulty);
      expectOneBatchAt5(cluster, x, correct);
      // The faulty replica's omission leaves X at 5 with the claims of replica 1 and one correct laggard: still f+1
      // pre-prepared it, so the NEW-VIEW keeps it; healed, the cluster moves on.
      cluster.drop = undefined;
      cluster.runUntil(() => cluster.idle() && correct.every((id) => cluster.replica(id).status().appliedIndex >= 6), 3000);
      expect(cluster.results(1)).toEqual([{ type: "put" }]);
      expectOneBatchAt5(cluster, x, correct);
    });
  }
});

describe("PBFT checkpoints are stable only on a 2f+1 certificate (issue 21, bug 8)", () => {
  it("lets a view change decide, at n = 7 with f = 2 crashed, after a replica installed a state that only f+1 replicas vouched for", () => {
    const cluster = pbftCluster(7, small);
    // Replicas 1, 2 and 4 prepare 1..4 but hear no commit or checkpoint; replica 3 hears only checkpoints and state
    // transfers, and installs the state at 4 on the CHECKPOINTs of 0, 5 and 6 (f + 1 = 3 vouchers).
    const blind = (e: Envelope): boolean => [1, 2, 4].includes(e.to) && (e.message.type === "commit" || e.message.type === "checkpoint");
    const deaf = (e: Envelope): boolean => e.to === 3 && e.message.type !== "checkpoint" && e.message.type !== "stateTransfer";
    cluster.drop = (e) => blind(e) || deaf(e);
    for (let i = 1; i <= 4; i++) {
      cluster.submit({ type: "put", key: "k", value: value(`${i}`) });
      cluster.deliverAll();
    }
    expect(cluster.results()).toEqual(Array(4).fill({ type: "put" }));
    expect(cluster.replica(3).status().appliedIndex).toBe(4);
    expect(cluster.countSent("stateTransfer")).toBeGreaterThan(0);
    // Four CHECKPOINT messages at 4 (0, 3, 5, 6) are fewer than 2f + 1 = 5: nobody's checkpoint 4 is stable.
    for (const id of cluster.ids) expect(cluster.replica(id).stableCheckpoint()).toBe(0);

    // Healed, with replicas 5 and 6 crashed (f = 2): the primary's window is full, so the next write needs a view change.
    cluster.drop = undefined;
    cluster.crash(5);
    cluster.crash(6);
    cluster.submit({ type: "put", key: "k", value: value("5") });
    cluster.runUntil(() => cluster.idle(), 1500);
    expect(cluster.results().at(-1)).toEqual({ type: "put" });
    for (const id of [0, 1, 2, 3, 4]) expect(cluster.replica(id).status().epoch).toBeGreaterThanOrEqual(1);
    cluster.submit({ type: "get", key: "k" });
    cluster.runUntil(() => cluster.idle(), 500);
    expect(cluster.results().at(-1)).toEqual({ type: "get", value: new Uint8Array(value("5")) });
    expect(cluster.violations()).toEqual([]);
  });
});
