import { describe, expect, test } from "vitest";
import {
  AssertionError,
  ReplicaHost,
  createRng,
  drainReadiesMax,
  solo,
  type DurableState,
  type NodeId,
  type Outbound,
  type Ready,
  type Replica,
  type ReplicaStatus,
  type SoloMessage,
  type ClientRequestMessage,
  type Storage,
} from "@concord/core";
import { CountingKv, append, noCrypto } from "./helpers.ts";

/** Journal is one ordered list of what the replica, the storage and the network were asked to do, to check their order. */
type Journal = string[];

/**
 * JournalStorage is an in-memory Storage that keeps written records apart
 * from synced ones, as the contract asks, and journals every call. `crash`
 * drops what was not synced (a staged snapshot with its followers).
 */
class JournalStorage implements Storage {
  private snapshot: Uint8Array | undefined;
  private records: Uint8Array[] = [];
  private syncedCount = 0;
  private staged: { snapshot: Uint8Array; records: Uint8Array[] } | undefined;

  constructor(private readonly journal: Journal = []) {}

  append(record: Uint8Array): void {
    this.journal.push(`append ${decode(record)}`);
    if (this.staged !== undefined) this.staged.records.push(record);
    else this.records.push(record);
  }

  sync(): void {
    this.journal.push("sync");
    if (this.staged !== undefined) {
      this.snapshot = this.staged.snapshot;
      this.records = this.staged.records;
      this.staged = undefined;
    }
    this.syncedCount = this.records.length;
  }

  replaceWithSnapshot(snapshot: Uint8Array): void {
    this.journal.push(`snapshot ${decode(snapshot)}`);
    this.staged = { snapshot, records: [] };
  }

  recover(): DurableState {
    return { snapshot: this.snapshot, records: this.records.slice(0, this.syncedCount) };
  }

  crash(): void {
    this.staged = undefined;
    this.records.length = this.syncedCount;
  }
}

const text = new TextEncoder();
function encode(value: string): Uint8Array {
  return text.encode(value);
}
function decode(value: Uint8Array): string {
  return new TextDecoder().decode(value);
}

/**
 * ScriptedReplica hands out the Readies of its script, one per ready() call,
 * and enforces the replica's side of the contract: any call between ready()
 * and advance() throws, as does an advance() of another Ready. `afterAdvance`
 * lets a test give it new work when a Ready is advanced, as Raft's leader
 * commits once its own entries are synced.
 */
class ScriptedReplica implements Replica<string> {
  readonly id: NodeId = 1;
  private inflight: Ready<string> | undefined;
  ticks = 0;
  steps: string[] = [];
  afterAdvance: ((done: Ready<string>) => Ready<string> | undefined) | undefined;

  constructor(
    private readonly journal: Journal,
    private readonly script: Ready<string>[],
  ) {}

  tick(): void {
    this.refuseMidReady("tick");
    this.ticks++;
  }

  step(from: NodeId, message: string): void {
    this.refuseMidReady("step");
    this.steps.push(`${from}:${message}`);
  }

  ready(): Ready<string> | undefined {
    this.refuseMidReady("ready");
    this.journal.push("ready");
    this.inflight = this.script.shift();
    return this.inflight;
  }

  advance(done: Ready<string>): void {
    if (done !== this.inflight) throw new Error("advance of a Ready that is not the one in flight");
    this.journal.push("advance");
    this.inflight = undefined;
    const next = this.afterAdvance?.(done);
    if (next !== undefined) this.script.push(next);
  }

  status(): ReplicaStatus {
    this.refuseMidReady("status");
    return { id: this.id, role: "follower", epoch: 0, leader: undefined, commitIndex: 0, appliedIndex: 0 };
  }

  private refuseMidReady(what: string): void {
    if (this.inflight !== undefined) throw new Error(`the replica was called (${what}) between ready() and advance()`);
  }
}

function readyOf(persist: string[], messages: Outbound<string>[], snapshot?: string): Ready<string> {
  return { snapshot: snapshot === undefined ? undefined : encode(snapshot), persist: persist.map(encode), messages };
}

/** scripted builds a host over a ScriptedReplica whose storage and network write to one journal. */
function scripted(script: Ready<string>[]): { host: ReplicaHost<string>; replica: ScriptedReplica; journal: Journal; sent: Outbound<string>[] } {
  const journal: Journal = [];
  const replica = new ScriptedReplica(journal, script);
  const sent: Outbound<string>[] = [];
  const host = new ReplicaHost(replica, new JournalStorage(journal), (from, messages) => {
    expect(from).toBe(replica.id);
    for (const outbound of messages) journal.push(`send ${outbound.to}:${outbound.message}`);
    sent.push(...messages);
  });
  return { host, replica, journal, sent };
}

describe("ReplicaHost.drain", () => {
  test("writes the snapshot, then the records, syncs, then sends, then advances, Ready by Ready", () => {
    const { host, journal } = scripted([
      readyOf(["r1", "r2"], [{ to: 2, message: "vote" }, { to: 3, message: "vote" }], "s1"),
      readyOf(["r3"], [{ to: 2, message: "append" }]),
    ]);
    expect(host.drain()).toBe(2);
    expect(journal).toEqual([
      "ready",
      "snapshot s1",
      "append r1",
      "append r2",
      "sync",
      "send 2:vote",
      "send 3:vote",
      "advance",
      "ready",
      "append r3",
      "sync",
      "send 2:append",
      "advance",
      "ready",
    ]);
    expect(host.phase).toBe("idle");
  });

  test("sends a Ready's messagesBeforeSync once its records are written, before the sync and before its other messages", () => {
    const early: Ready<string> = { ...readyOf(["entry"], [{ to: 1_000_000, message: "vote" }]), messagesBeforeSync: [{ to: 2, message: "append" }, { to: 3, message: "append" }] };
    const { host, journal } = scripted([early]);
    const seenBeforeSync: string[] = [];
    expect(host.drain((ready) => seenBeforeSync.push(`${ready.messagesBeforeSync?.length} early, journal ${journal.length}`))).toBe(1);
    expect(journal).toEqual(["ready", "append entry", "send 2:append", "send 3:append", "sync", "send 1000000:vote", "advance", "ready"]);
    // The hook runs after the early messages were handed over and before the sync.
    expect(seenBeforeSync).toEqual(["2 early, journal 4"]);
    expect(host.counts.messagesSent).toBe(3);
  });

  test("asks the replica again after every advance, because advancing may give it new work", () => {
    const { host, replica, journal } = scripted([readyOf(["entry"], [])]);
    // As a Raft leader does: once its own entry is synced, it commits and replies.
    replica.afterAdvance = (done) => (done.persist.length > 0 ? readyOf([], [{ to: 1_000_000, message: "reply" }]) : undefined);
    expect(host.drain()).toBe(2);
    expect(journal).toEqual(["ready", "append entry", "sync", "advance", "ready", "send 1000000:reply", "advance", "ready"]);
  });

  test("syncs only a Ready that wrote something, and never calls send with nothing to send", () => {
    const { host, journal } = scripted([readyOf([], [{ to: 2, message: "heartbeat" }]), readyOf([], [])]);
    host.drain();
    expect(journal).toEqual(["ready", "send 2:heartbeat", "advance", "ready", "advance", "ready"]);
    expect(host.counts.syncs).toBe(0);
  });

  test("counts the Readies, records, bytes, syncs, snapshots and messages it handled", () => {
    const { host } = scripted([
      readyOf(["abc", "de"], [{ to: 2, message: "x" }], "snap"),
      readyOf([], [{ to: 2, message: "y" }, { to: 3, message: "y" }]),
      readyOf(["f"], []),
    ]);
    expect(host.counts).toEqual({ readies: 0, recordsPersisted: 0, bytesPersisted: 0, syncs: 0, snapshots: 0, messagesSent: 0 });
    host.drain();
    expect(host.counts).toEqual({ readies: 3, recordsPersisted: 3, bytesPersisted: 6, syncs: 2, snapshots: 1, messagesSent: 3 });
  });

  test("refuses to spin on a replica that never goes quiet", () => {
    const { host, replica } = scripted([readyOf([], [])]);
    replica.afterAdvance = () => readyOf([], []);
    expect(() => host.drain()).toThrow(new RegExp(`after ${drainReadiesMax} Readies`));
  });

  test("passes tick and step through while idle", () => {
    const { host, replica } = scripted([]);
    host.tick();
    host.step(7, "hello");
    expect(replica.ticks).toBe(1);
    expect(replica.steps).toEqual(["7:hello"]);
    expect(host.status().role).toBe("follower");
    expect(host.drain()).toBe(0);
  });
});

describe("ReplicaHost with a sync that takes time", () => {
  test("begin writes the Ready unsynced; its messages leave only after synced()", () => {
    const { host, journal, sent } = scripted([readyOf(["r1"], [{ to: 2, message: "ack" }])]);
    const ready = host.begin();
    expect(ready?.persist.map(decode)).toEqual(["r1"]);
    expect(host.phase).toBe("written");
    expect(host.unsynced).toBe(true);
    expect(host.busy).toBe(true);
    expect(journal).toEqual(["ready", "append r1"]);
    expect(() => host.release()).toThrow(AssertionError);
    expect(() => host.release()).toThrow(/refusing to send the messages of a Ready whose records are not yet synced/);
    expect(sent).toEqual([]);
    host.synced();
    expect(host.unsynced).toBe(false);
    expect(host.phase).toBe("synced");
    host.release();
    expect(sent).toEqual([{ to: 2, message: "ack" }]);
    host.advance();
    expect(host.busy).toBe(false);
    expect(journal).toEqual(["ready", "append r1", "sync", "send 2:ack", "advance"]);
  });

  test("a Ready that wrote nothing is not unsynced, but still goes through synced() before its messages leave", () => {
    const { host, journal } = scripted([readyOf([], [{ to: 2, message: "ping" }])]);
    host.begin();
    expect(host.unsynced).toBe(false);
    expect(() => host.release()).toThrow(/not yet synced/);
    host.synced();
    host.release();
    host.advance();
    expect(journal).toEqual(["ready", "send 2:ping", "advance"]);
  });

  test.each(["written", "synced", "released"] as const)("refuses tick, step, status and a second begin while a Ready is %s, without calling the replica", (phase) => {
    const { host, replica, journal } = scripted([readyOf(["r"], [{ to: 2, message: "m" }])]);
    host.begin();
    if (phase !== "written") host.synced();
    if (phase === "released") host.release();
    expect(host.phase).toBe(phase);
    const before = [...journal];
    expect(() => host.tick()).toThrow(/tick\(\) refused while a Ready is in flight/);
    expect(() => host.step(2, "late")).toThrow(/step\(\) refused while a Ready is in flight/);
    expect(() => host.status()).toThrow(/status\(\) refused/);
    expect(() => host.begin()).toThrow(/begin\(\) refused/);
    expect(() => host.drain()).toThrow(/begin\(\) refused/);
    expect(replica.ticks).toBe(0);
    expect(replica.steps).toEqual([]);
    expect(journal).toEqual(before);
  });

  test("refuses the steps of a Ready out of order", () => {
    const { host } = scripted([readyOf(["r"], [{ to: 2, message: "m" }])]);
    expect(() => host.synced()).toThrow(/synced\(\) with no Ready in flight/);
    expect(() => host.release()).toThrow(/release\(\) with no Ready in flight/);
    expect(() => host.advance()).toThrow(/advance\(\) with no Ready in flight/);
    host.begin();
    expect(() => host.advance()).toThrow(/advance\(\) with the Ready in flight written/);
    host.synced();
    expect(() => host.synced()).toThrow(/synced\(\) with the Ready in flight synced/);
    expect(() => host.advance()).toThrow(/advance\(\) with the Ready in flight synced/);
    host.release();
    expect(() => host.release()).toThrow(/release\(\) with the Ready in flight released/);
    host.advance();
    expect(host.counts.messagesSent).toBe(1);
  });

  test("releases only the chosen messages, in the order given, and refuses a message that is not the Ready's", () => {
    const messages: Outbound<string>[] = [
      { to: 2, message: "a1" },
      { to: 2, message: "a2" },
      { to: 3, message: "b1" },
    ];
    const { host, sent } = scripted([readyOf(["r"], messages)]);
    host.begin();
    host.synced();
    expect(() => host.release([{ to: 2, message: "a1" }])).toThrow(/not the Ready's/);
    expect(sent).toEqual([]);
    host.release([messages[2] as Outbound<string>, messages[0] as Outbound<string>]);
    expect(sent).toEqual([messages[2], messages[0]]);
    expect(host.counts.messagesSent).toBe(2);
  });
});

// Crashes with the real solo replica: its first Ready persists a request, and
// only once that is advanced (synced) does it apply the request and reply.
const server: NodeId = 0;
const alice: NodeId = 1_000_000;

function request(sequence: number, value: string): ClientRequestMessage {
  return { type: "clientRequest", clientId: alice, session: alice, sequence, command: append("log", value), readOnly: false, readLevel: 0 };
}

/** bootSolo boots a solo replica from what `storage` recovers, its replies collected in `replies`. */
function bootSolo(storage: Storage, replies: Outbound<SoloMessage>[], options: Record<string, unknown> = {}): { host: ReplicaHost<SoloMessage>; app: CountingKv } {
  const app = new CountingKv();
  const host = ReplicaHost.boot(
    storage,
    (durable) => solo.createReplica({ id: server, replicas: [server], rng: createRng(1), durable, stateMachine: app, crypto: noCrypto, options }),
    (_from, messages) => replies.push(...messages),
  );
  return { host, app };
}

describe("ReplicaHost across crashes (drop the host, boot a new one from the storage)", () => {
  test("a request whose record was synced survives a crash; one still unsynced is lost and was never answered", () => {
    const storage = new JournalStorage();
    const replies: Outbound<SoloMessage>[] = [];
    let { host } = bootSolo(storage, replies);
    host.step(alice, request(1, "a"));
    expect(host.drain()).toBe(2); // persist the request; then, advanced, reply to it
    expect(replies).toHaveLength(1);

    host.step(alice, request(2, "b"));
    host.begin();
    expect(host.unsynced).toBe(true);
    storage.crash(); // a crash inside the sync window: the host is dropped with its Ready
    ({ host } = bootSolo(storage, replies));
    expect(host.status().appliedIndex).toBe(1);
    expect(replies).toHaveLength(1);
    expect(host.drain()).toBe(0);
  });

  test("a crash after the sync but before the send keeps the record, and the recovered replica applies it", () => {
    const storage = new JournalStorage();
    const replies: Outbound<SoloMessage>[] = [];
    let { host } = bootSolo(storage, replies);
    host.step(alice, request(1, "a"));
    host.begin();
    host.synced();
    storage.crash(); // durable already: nothing to lose
    ({ host } = bootSolo(storage, replies));
    expect(host.status().appliedIndex).toBe(1);
    expect(replies).toEqual([]); // the reply was never produced by the crashed incarnation
  });

  test("a snapshot staged but not synced is lost with a crash, and the earlier durable state is recovered whole", () => {
    const storage = new JournalStorage();
    const replies: Outbound<SoloMessage>[] = [];
    const options = { snapshotEveryEntries: 2 };
    let { host } = bootSolo(storage, replies, options);
    host.step(alice, request(1, "a"));
    host.drain();
    host.step(alice, request(2, "b"));
    // The second request is persisted, then, once advanced, applied: the replica asks for a snapshot.
    host.begin();
    host.synced();
    host.release();
    host.advance();
    const withSnapshot = host.begin();
    expect(withSnapshot?.snapshot).toBeDefined();
    expect(host.unsynced).toBe(true);
    storage.crash();
    ({ host } = bootSolo(storage, replies, options));
    expect(storage.recover().snapshot).toBeUndefined();
    expect(host.status().appliedIndex).toBe(2);

    // Drained whole, the snapshot becomes the durable base.
    host.step(alice, request(3, "c"));
    host.step(alice, request(4, "d"));
    const readies = host.drain();
    expect(readies).toBeGreaterThan(1);
    expect(host.counts.snapshots).toBe(1);
    expect(storage.recover().snapshot).toBeDefined();
    ({ host } = bootSolo(storage, replies, options));
    expect(host.status().appliedIndex).toBe(4);
  });
});
