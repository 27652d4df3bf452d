// The kit's TestCluster: links and filters, re-encoding on the wire, the Ready
// steps a schedule test stops between, crashes that keep only what the Storage
// rule lets survive, clients, and typed access to the protocol's replica.
import { firstClientId, solo, SoloReplica, type SoloMessage } from "@concord/core";
import { TestCluster, coreClientWire, type Envelope } from "@concord/testkit";
import { describe, expect, it } from "vitest";
import { countingCodec, gossip, GossipReplica, type GossipMessage } from "./gossip.ts";

function gossipCluster(n = 3): TestCluster<GossipMessage, GossipReplica> {
  return new TestCluster({ algorithm: gossip, ids: Array.from({ length: n }, (_, id) => id), createReplica: (context) => new GossipReplica(context) });
}

const soloWire = coreClientWire<SoloMessage>();

function soloCluster(options = {}): TestCluster<SoloMessage, SoloReplica> {
  return new TestCluster({ algorithm: solo, ids: [0], options, clientWire: soloWire, createReplica: (context) => new SoloReplica(context) });
}

const put = (key: string, value: string) => ({ type: "put" as const, key, value: new TextEncoder().encode(value) });

describe("TestCluster's network", () => {
  it("delivers every ping and pong of a tick, and gives typed access to the protocol's replica", () => {
    const cluster = gossipCluster();
    cluster.tickAndDeliver(1);
    for (const id of cluster.ids) expect([...cluster.replica(id).heardFrom].sort()).toEqual(cluster.ids.filter((other) => other !== id).flatMap((other) => [other, other]).sort());
    expect(cluster.delivered.get("ping")).toBe(6);
    expect(cluster.delivered.get("pong")).toBe(6);
    expect(cluster.queue).toEqual([]);
  });

  it("cut drops both directions of one link; isolate drops every link of a replica; heal restores them", () => {
    const cluster = gossipCluster();
    cluster.cut(0, 1);
    cluster.tickAndDeliver(1);
    expect(cluster.replica(0).heardFrom).not.toContain(1);
    expect(cluster.replica(1).heardFrom).not.toContain(0);
    expect(cluster.replica(0).heardFrom).toContain(2);
    cluster.heal();
    cluster.isolate(2);
    cluster.tickAndDeliver(1);
    expect(cluster.replica(2).heardFrom.filter((from) => from !== 0 && from !== 1)).toEqual([]);
    expect(cluster.replica(2).heardFrom).toHaveLength(4); // only the first tick's
    expect(cluster.replica(0).heardFrom).toContain(1);
    cluster.heal();
    cluster.tickAndDeliver(1);
    expect(cluster.replica(2).heardFrom).toHaveLength(8);
  });

  it("drop sees only what the links let through, and discards what it returns true for", () => {
    const cluster = gossipCluster();
    cluster.cut(0, 1);
    const seen: string[] = [];
    cluster.drop = (envelope) => {
      seen.push(`${envelope.from}>${envelope.to}`);
      return envelope.message.type === "pong";
    };
    cluster.tickAndDeliver(1);
    expect(seen).not.toContain("0>1");
    expect(seen).not.toContain("1>0");
    expect(cluster.delivered.get("pong")).toBeUndefined();
    expect(cluster.delivered.get("ping")).toBe(4);
  });

  it("onDelivery hears every message's fate: delivered, dropped by a cut or a filter, or lost to a replica that is down", () => {
    const cluster = gossipCluster();
    const fates: string[] = [];
    cluster.onDelivery = (envelope, fate) => fates.push(`${envelope.from}>${envelope.to} ${envelope.message.type} ${fate}`);
    cluster.cut(0, 1);
    cluster.drop = (envelope) => envelope.to === 2 && envelope.message.type === "pong";
    cluster.tick(0);
    cluster.crash(2);
    cluster.inject(1, 2, { type: "ping", round: 9 });
    cluster.deliverAll();
    expect(fates).toEqual(["0>1 ping dropped", "1>2 ping lost"]);
    fates.length = 0;
    cluster.restart(2);
    cluster.tick(2);
    cluster.deliverAll();
    expect(fates).toEqual(["2>0 ping delivered", "2>1 ping delivered", "0>2 pong dropped", "1>2 pong dropped"]);
  });

  it("a keep filter given to one deliverAll drops the rest for that call only", () => {
    const cluster = gossipCluster();
    cluster.tick();
    cluster.deliverAll((envelope) => envelope.to === 0);
    expect(cluster.queue).toEqual([]);
    expect(cluster.replica(1).heardFrom).toEqual([]);
    expect(cluster.replica(0).heardFrom).toEqual([1, 2]);
  });

  it("a paused replica keeps its memory but is not ticked, and messages to and from it are dropped", () => {
    const cluster = gossipCluster();
    cluster.pause(1);
    cluster.tickAndDeliver(2);
    expect(cluster.replica(1).heardFrom).toEqual([]);
    expect(cluster.replica(0).heardFrom).toEqual([2, 2, 2, 2]);
    cluster.resume(1);
    cluster.tickAndDeliver(1);
    expect(cluster.replica(1).heardFrom).toHaveLength(4);
  });

  it("re-encodes every message through the algorithm's codec as it goes on the wire", () => {
    const cluster = gossipCluster(2);
    const before = { encoded: countingCodec.encoded, decoded: countingCodec.decoded };
    cluster.tick(0);
    expect(countingCodec.encoded - before.encoded).toBe(1);
    expect(countingCodec.decoded - before.decoded).toBe(1);
    // An injected message crosses the wire too.
    cluster.inject(1, 0, { type: "ping", round: 7 });
    expect(countingCodec.encoded - before.encoded).toBe(2);
    expect(cluster.sent.map((envelope) => envelope.message)).toEqual([{ type: "ping", round: 1 }]);
    expect(cluster.queue.map((envelope) => envelope.message)).toEqual([{ type: "ping", round: 1 }, { type: "ping", round: 7 }]);
    expect(cluster.countSent("ping")).toBe(1);
  });

  it("deliver runs the Readies it causes at once, unless asked to leave them to the test", () => {
    const cluster = gossipCluster(2);
    cluster.tick(0);
    const [ping] = cluster.take((envelope) => envelope.to === 1);
    cluster.deliver(ping as Envelope<GossipMessage>, { drain: false });
    expect(cluster.queue).toEqual([]);
    expect(cluster.collect(1)?.messages).toEqual([{ to: 0, message: { type: "pong", round: 1 } }]);
    cluster.deliver(ping as Envelope<GossipMessage>);
    expect(cluster.queue).toHaveLength(2);
  });

  it("tickUntilSent ticks one replica until it sends a message of a type, and takes those off the wire", () => {
    const cluster = gossipCluster(3);
    const pings = cluster.tickUntilSent(1, "ping");
    expect(pings.map((envelope) => envelope.to)).toEqual([0, 2]);
    expect(cluster.queue).toEqual([]);
    expect(() => cluster.tickUntilSent(1, "pong", 3)).toThrow(/sent no pong in 3 ticks/);
  });

  it("take removes the messages in flight that match", () => {
    const cluster = gossipCluster();
    cluster.tick();
    const toTwo = cluster.take((envelope) => envelope.to === 2);
    expect(toTwo.map((envelope) => envelope.from)).toEqual([0, 1]);
    expect(cluster.queue.every((envelope) => envelope.to !== 2)).toBe(true);
  });
});

describe("TestCluster's disks, Ready steps and crashes", () => {
  it("syncs each Ready's records before its messages leave; a restarted replica recovers them", () => {
    const cluster = gossipCluster(2);
    cluster.tickAndDeliver(3);
    expect(cluster.disk(0).recover().records).toHaveLength(3);
    cluster.crash(0);
    expect(cluster.isRunning(0)).toBe(false);
    expect(cluster.restart(0).recovered).toBe(3);
  });

  it("holds a Ready between write and sync when beforeSync says so: delivery stops, sending before the sync is refused, a crash loses it", () => {
    const cluster = gossipCluster(2);
    cluster.beforeSync = (id, ready) => (id === 0 && ready.persist.length > 0 ? "hold" : "sync");
    cluster.tick(0);
    cluster.deliverAll();
    const held = cluster.heldReady(0);
    expect(held?.persist).toHaveLength(1);
    expect(cluster.disk(0).unsynced).toHaveLength(1);
    expect(() => cluster.sendReady(0)).toThrow(/not yet synced/);
    expect(() => cluster.tick(0)).toThrow(/in flight/);
    cluster.crash(0);
    expect(cluster.restart(0).recovered).toBe(0);
  });

  it("finishes a held Ready by hand: sync, then send", () => {
    const cluster = gossipCluster(2);
    cluster.beforeSync = (id, ready) => (id === 0 && ready.persist.length > 0 ? "hold" : "sync");
    cluster.tick(0);
    cluster.deliverAll();
    cluster.syncReady(0);
    expect(cluster.disk(0).recover().records).toHaveLength(1);
    cluster.sendReady(0);
    expect(cluster.heldReady(0)).toBeUndefined();
    cluster.beforeSync = undefined;
    cluster.deliverAll();
    expect(cluster.readies.get(0)?.length).toBeGreaterThanOrEqual(2);
  });

  it("a crash may keep a prefix of the unsynced records, and loses the messages in flight to the replica", () => {
    for (let kept = 0; kept <= 2; kept++) {
      const cluster = gossipCluster(3);
      cluster.tick(1);
      expect(cluster.queue.some((envelope) => envelope.to === 0)).toBe(true);
      // Two pongs stepped in one instant: replica 0's next Ready writes two records.
      cluster.step(0, 1, { type: "pong", round: 1 });
      cluster.step(0, 2, { type: "pong", round: 1 });
      cluster.beforeSync = (id, ready) => (id === 0 && ready.persist.length === 2 ? { crashKeepingUnsyncedRecords: kept } : "sync");
      expect(cluster.collect(0)?.persist).toHaveLength(2);
      expect(cluster.isRunning(0), `${kept} kept`).toBe(false);
      expect(cluster.queue.some((envelope) => envelope.to === 0)).toBe(false);
      expect(cluster.restart(0).recovered, `${kept} kept`).toBe(kept);
    }
  });
});

describe("TestCluster with a real algorithm (solo)", () => {
  it("answers a request once its record is synced, and the reply reaches the client's inbox", () => {
    const cluster = soloCluster();
    const sequence = cluster.request(0, put("k", "v"));
    cluster.deliverAll();
    expect(cluster.replyTo(firstClientId, sequence)).toEqual({ type: "put" });
    expect(cluster.value(0, "k")).toBe("v");
  });

  it("with instant client links, a reply reaches the client's inbox as it is sent, without a delivery", () => {
    const cluster = new TestCluster({ algorithm: solo, ids: [0], clientWire: soloWire, clientLinks: "instant", createReplica: (context) => new SoloReplica(context) });
    const sequence = cluster.request(0, put("k", "v"));
    expect(cluster.replyTo(firstClientId, sequence)).toEqual({ type: "put" });
    expect(cluster.queue).toEqual([]);
    const queued = soloCluster();
    queued.request(0, put("k", "v"));
    expect(queued.clientInbox).toEqual([]);
    expect(queued.queue).toHaveLength(1);
  });

  it("loses a request crashed inside its sync window, and keeps one whose record reached the disk", () => {
    for (const kept of [0, 1]) {
      const cluster = soloCluster();
      cluster.request(0, put("k", "v"), { stepOnly: true });
      const ready = cluster.persistReady(0);
      expect(ready?.persist).toHaveLength(1);
      cluster.crash(0, kept);
      cluster.restart(0);
      expect(cluster.value(0, "k"), `${kept} kept`).toBe(kept === 1 ? "v" : undefined);
      expect(cluster.clientInbox).toEqual([]);
    }
  });

  it("a staged snapshot is lost whole by a crash before its sync: the replica recovers from the previous records", () => {
    const cluster = soloCluster({ snapshotEveryEntries: 2 });
    cluster.request(0, put("a", "1"));
    cluster.deliverAll();
    cluster.beforeSync = (_id, ready) => (ready.snapshot !== undefined ? { crashKeepingUnsyncedRecords: 5 } : "sync");
    cluster.request(0, put("b", "2"));
    cluster.deliverAll();
    expect(cluster.isRunning(0)).toBe(false);
    expect(cluster.disk(0).snapshot).toBeUndefined();
    cluster.beforeSync = undefined;
    cluster.restart(0);
    expect(cluster.value(0, "a")).toBe("1");
    expect(cluster.value(0, "b")).toBe("2");
  });

  it("runs the state machine a test gives it, and ticks client objects on request", () => {
    const applied: string[] = [];
    const echo = { apply: (command: Uint8Array) => (applied.push(new TextDecoder().decode(command)), command), query: (command: Uint8Array) => command, snapshot: () => new Uint8Array(), restore: () => {} };
    const cluster = new TestCluster({ algorithm: solo, ids: [0], clients: 1, stateMachine: () => echo, createReplica: (context) => new SoloReplica(context) });
    expect(cluster.machine(0)).toBe(echo);
    expect(() => cluster.value(0, "k")).toThrow(/KV store/);
    cluster.client(0).submit(new TextEncoder().encode("hello"), { readOnly: false });
    cluster.tick(firstClientId);
    cluster.deliverAll();
    expect(applied).toEqual(["hello"]);
    expect(cluster.completions(0)).toHaveLength(1);
  });

  it("builds any registered algorithm with TestCluster.of, and its clients through the algorithm", () => {
    const cluster = TestCluster.of(solo, 1, { clients: 2 });
    cluster.submit(put("k", "v"), 1);
    cluster.runUntil(() => cluster.idle(), 50);
    expect(cluster.results(1)).toEqual([{ type: "put" }]);
    expect(cluster.leaders()).toEqual([0]);
  });
});
