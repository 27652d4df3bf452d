import { describe, expect, test } from "vitest";
import {
  AssertionError,
  ConfigError,
  ReplicaHost,
  CorruptionError,
  createRng,
  emptyDurableState,
  frameRecord,
  readRecordLog,
  solo,
  soloCodec,
  type DurableState,
  type Outbound,
  type Ready,
  type Replica,
  type SoloMessage,
  type ClientRequestMessage,
  type Storage,
} from "@concord/core";
import { TestKv } from "./test-kv.ts";
import { CountingKv, append, bytes, clientContext, get, noCrypto, put, result } from "./helpers.ts";

const server = 0;
const alice = 1_000_000;
const bob = 1_000_001;

/**
 * MemoryDisk is a Storage that keeps records in the framed on-disk format. A
 * staged snapshot replaces the log at the next sync; appended records are
 * durable at once (these tests crash no replica between a write and its sync).
 */
class MemoryDisk implements Storage {
  snapshot: Uint8Array | undefined;
  log: Uint8Array = new Uint8Array(0);
  private staged: { snapshot: Uint8Array; log: Uint8Array } | undefined;

  append(record: Uint8Array): void {
    const framed = frameRecord(record);
    const target = this.staged ?? this;
    const grown = new Uint8Array(target.log.length + framed.length);
    grown.set(target.log);
    grown.set(framed, target.log.length);
    target.log = grown;
  }

  replaceWithSnapshot(snapshot: Uint8Array): void {
    this.staged = { snapshot, log: new Uint8Array(0) };
  }

  sync(): void {
    if (this.staged === undefined) return;
    this.snapshot = this.staged.snapshot;
    this.log = this.staged.log;
    this.staged = undefined;
  }

  recover(): DurableState {
    return { snapshot: this.snapshot, records: readRecordLog(this.log).records };
  }
}

function soloReplica(
  durable: DurableState = emptyDurableState,
  options: Record<string, unknown> = {},
  stateMachine = new CountingKv(),
): { replica: Replica<SoloMessage>; app: CountingKv } {
  const replica = solo.createReplica({ id: server, replicas: [server], rng: createRng(1), durable, stateMachine, crypto: noCrypto, options });
  return { replica, app: stateMachine };
}

/** request builds a solo request; its session key is its client id unless a test says otherwise. */
function request(clientId: number, sequence: number, command: Uint8Array, readOnly = false, session = clientId): ClientRequestMessage {
  return { type: "clientRequest", clientId, session, sequence, command, readOnly, readLevel: 0 };
}

/** Handled is everything the replica asked for after one input, over all the Readies it took to go quiet. */
interface Handled {
  records: number;
  messages: Outbound<SoloMessage>[];
  snapshots: number;
}

/** settle drives the replica through a ReplicaHost until it has nothing left to do, writing every Ready to `disk`. */
function settle(replica: Replica<SoloMessage>, disk: MemoryDisk): Handled {
  const messages: Outbound<SoloMessage>[] = [];
  const host = new ReplicaHost(replica, disk, (_from, sent) => messages.push(...sent));
  expect(host.drain(), "the replica never goes quiet").toBeLessThan(10);
  const counts = host.counts;
  return { records: counts.recordsPersisted, messages, snapshots: counts.snapshots };
}

/** handle steps one request from its own client, then settles. */
function handle(replica: Replica<SoloMessage>, disk: MemoryDisk, message: ClientRequestMessage): Handled {
  replica.step(message.clientId, message);
  return settle(replica, disk);
}

function replyResult(handled: Handled): unknown {
  expect(handled.messages.length).toBeLessThanOrEqual(1);
  const message = handled.messages[0]?.message;
  return message?.type === "clientReply" ? result(message.result) : undefined;
}

/** workload is a deterministic mix of writes, retries and stale requests from three clients. */
function workload(count: number): ClientRequestMessage[] {
  const rng = createRng(99);
  const sequences = new Map<number, number>();
  const requests: ClientRequestMessage[] = [];
  for (let i = 0; i < count; i++) {
    const clientId = alice + rng.nextInt(3);
    const last = sequences.get(clientId) ?? 0;
    const roll = rng.nextInt(10);
    const sequence = roll === 0 && last > 0 ? last : roll === 1 && last > 1 ? last - 1 : last + 1;
    sequences.set(clientId, Math.max(last, sequence));
    const key = `k${rng.nextInt(4)}`;
    const command = rng.chance(1, 2) ? append(key, String(i)) : put(key, String(i));
    requests.push(request(clientId, sequence, command));
  }
  return requests;
}

describe("SoloReplica", () => {
  test("persists a request first and applies and answers it only after advance reports the record synced", () => {
    const { replica, app } = soloReplica();
    const message = request(alice, 1, put("x", "1"));
    replica.step(alice, message);
    const first = replica.ready();
    expect(first?.snapshot).toBeUndefined();
    expect(first?.persist.map((record) => soloCodec.decode(record))).toEqual([message]);
    expect(first?.messages).toEqual([]);
    expect(app.applies).toBe(0);
    expect(replica.ready()).toBeUndefined(); // nothing more until the runtime advances
    replica.advance(first as Ready<SoloMessage>);
    expect(app.applies).toBe(1);
    const second = replica.ready();
    expect(second?.persist).toEqual([]);
    expect(second?.messages).toHaveLength(1);
    expect(second?.messages[0]?.to).toBe(alice);
    expect(second?.messages[0]?.message).toMatchObject({ type: "clientReply", sequence: 1 });
    const reply = second?.messages[0]?.message;
    expect(reply?.type === "clientReply" && result(reply.result)).toEqual({ type: "put" });
    replica.advance(second as Ready<SoloMessage>);
    expect(replica.ready()).toBeUndefined();
    expect(replica.status()).toMatchObject({ id: server, role: "leader", leader: server, commitIndex: 1, appliedIndex: 1 });
  });

  test("a read never sees a write whose record is not yet synced", () => {
    const { replica } = soloReplica();
    const disk = new MemoryDisk();
    handle(replica, disk, request(alice, 1, put("x", "old")));
    replica.step(alice, request(alice, 2, put("x", "new")));
    replica.step(bob, request(bob, 1, get("x"), true));
    const ready = replica.ready();
    const reply = ready?.messages.find((outbound) => outbound.to === bob)?.message;
    expect(reply?.type === "clientReply" && result(reply.result)).toEqual({ type: "get", value: bytes("old") });
  });

  test("does not re-apply a duplicate: it replies with the cached result", () => {
    const disk = new MemoryDisk();
    const { replica, app } = soloReplica();
    handle(replica, disk, request(alice, 1, append("x", "a")));
    const retry = handle(replica, disk, request(alice, 1, append("x", "a")));
    expect(replyResult(retry)).toEqual({ type: "append" });
    expect(app.applies).toBe(1);
    expect(replyResult(handle(replica, disk, request(bob, 1, get("x"), true)))).toEqual({ type: "get", value: bytes("a") });
  });

  test("a duplicate of a request still waiting for its sync is applied once, and both copies are answered", () => {
    const { replica, app } = soloReplica();
    replica.step(alice, request(alice, 1, append("x", "a")));
    replica.step(alice, request(alice, 1, append("x", "a")));
    const handled = settle(replica, new MemoryDisk());
    expect(app.applies).toBe(1);
    expect(handled.messages.map((outbound) => outbound.message.type === "clientReply" && result(outbound.message.result))).toEqual([
      { type: "append" },
      { type: "append" },
    ]);
    expect(replica.status().appliedIndex).toBe(1);
  });

  test("ignores a stale request: no reply", () => {
    const disk = new MemoryDisk();
    const { replica, app } = soloReplica();
    handle(replica, disk, request(alice, 1, put("x", "1")));
    handle(replica, disk, request(alice, 2, put("x", "2")));
    expect(handle(replica, disk, request(alice, 1, put("x", "1"))).messages).toEqual([]);
    expect(app.applies).toBe(2);
  });

  test("serves a read-only request from the state without logging it", () => {
    const disk = new MemoryDisk();
    const { replica, app } = soloReplica();
    handle(replica, disk, request(alice, 1, put("x", "1")));
    const read = handle(replica, disk, request(bob, 1, get("x"), true));
    expect(read.records).toBe(0);
    expect(replyResult(read)).toEqual({ type: "get", value: bytes("1") });
    expect(app.applies).toBe(1);
  });

  test("ignores a request whose session is not its sender, and replies", () => {
    const { replica } = soloReplica();
    replica.step(bob, request(alice, 1, put("x", "1")));
    replica.step(alice, { type: "clientReply", session: alice, sequence: 1, result: new Uint8Array(0) });
    expect(replica.ready()).toBeUndefined();
  });

  test("recovers from its records alone to the same state, sessions included", () => {
    const disk = new MemoryDisk();
    const { replica, app } = soloReplica(emptyDurableState, { snapshotEveryEntries: 1_000_000 });
    for (const message of workload(200)) handle(replica, disk, message);
    expect(disk.snapshot).toBeUndefined();

    const recovered = soloReplica(disk.recover(), { snapshotEveryEntries: 1_000_000 });
    expect(recovered.app.snapshot()).toEqual(app.snapshot());
    expect(recovered.replica.status()).toEqual(replica.status());
    expect(recovered.replica.ready()).toBeUndefined();
    // Exactly-once across the restart: every client's last request is a duplicate, not re-applied.
    const applies = recovered.app.applies;
    for (const clientId of [alice, alice + 1, alice + 2]) {
      const last = workload(200).filter((each) => each.clientId === clientId).reduce((a, b) => (b.sequence > a.sequence ? b : a));
      expect(replyResult(handle(recovered.replica, new MemoryDisk(), last))).toBeDefined();
    }
    expect(recovered.app.applies).toBe(applies);
  });

  test("compacts into a snapshot every snapshotEveryEntries applied requests, which empties the log", () => {
    const disk = new MemoryDisk();
    const { replica } = soloReplica(emptyDurableState, { snapshotEveryEntries: 3 });
    const handled = [1, 2, 3, 4].map((sequence) => handle(replica, disk, request(alice, sequence, append("x", String(sequence)))));
    expect(handled.map((each) => each.snapshots)).toEqual([0, 0, 1, 0]);
    expect(handled.map((each) => replyResult(each))).toEqual(new Array(4).fill({ type: "append" })); // replies still go out
    expect(disk.recover().records).toHaveLength(1);
    const recovered = soloReplica(disk.recover());
    expect(recovered.replica.status().appliedIndex).toBe(4);
    expect(result(recovered.app.query(get("x")))).toEqual({ type: "get", value: bytes("1234") });
  });

  test("recovers from a snapshot plus later records to the same state as a replica that never crashed", () => {
    const disk = new MemoryDisk();
    const options = { snapshotEveryEntries: 16 };
    const { replica, app } = soloReplica(emptyDurableState, options);
    const requests = workload(300);
    for (const message of requests) handle(replica, disk, message);
    const durable = disk.recover();
    expect(durable.snapshot).toBeDefined();
    expect(durable.records.length).toBeGreaterThan(0);

    const recovered = soloReplica(durable, options);
    expect(recovered.app.snapshot()).toEqual(app.snapshot());
    expect(recovered.replica.status()).toEqual(replica.status());

    // Both go on identically, through their next compactions too.
    const more = workload(340).slice(300);
    const straightDisk = new MemoryDisk();
    const recoveredDisk = new MemoryDisk();
    for (const message of more) {
      const expected = replyResult(handle(replica, straightDisk, message));
      expect(replyResult(handle(recovered.replica, recoveredDisk, message))).toEqual(expected);
    }
    expect(recovered.app.snapshot()).toEqual(app.snapshot());
    expect(recoveredDisk.recover()).toEqual(straightDisk.recover());
  });

  test("a torn last record is lost, and only it", () => {
    const disk = new MemoryDisk();
    const { replica } = soloReplica();
    handle(replica, disk, request(alice, 1, put("x", "1")));
    handle(replica, disk, request(alice, 2, put("x", "2")));
    disk.log = disk.log.subarray(0, disk.log.length - 1);
    const recovered = soloReplica(disk.recover());
    expect(recovered.replica.status().appliedIndex).toBe(1);
    expect(result(recovered.app.query(get("x")))).toEqual({ type: "get", value: bytes("1") });
  });

  test("refuses a corrupted snapshot or record with a CorruptionError", () => {
    expect(() => soloReplica({ snapshot: new Uint8Array(3), records: [] })).toThrow(CorruptionError);
    expect(() => soloReplica({ snapshot: undefined, records: [new Uint8Array([0xff, 0xff])] })).toThrow(CorruptionError);
  });

  test("refuses to run on more than one replica, or on a replica set without itself", () => {
    const context = { id: server, rng: createRng(1), durable: emptyDurableState, stateMachine: new TestKv(), crypto: noCrypto, options: {} };
    expect(() => solo.createReplica({ ...context, replicas: [0, 1] })).toThrow(AssertionError);
    expect(() => solo.createReplica({ ...context, replicas: [1] })).toThrow(AssertionError);
    expect(solo.clusterSizeError(1)).toBeUndefined();
    expect(solo.clusterSizeError(3)).toMatch(/exactly 1/);
    expect(solo.faultsTolerated(1)).toBe(0);
  });

  test("refuses invalid options with a ConfigError naming the field", () => {
    expect(() => soloReplica(emptyDurableState, { snapshotEveryEntries: 0 })).toThrow(ConfigError);
    expect(() => soloReplica(emptyDurableState, { snapshotEvery: 5 })).toThrow(ConfigError);
    expect(() => solo.createClient(clientContext(alice, [server], 1, { clientRetryTicks: 50, clientGiveUpTicks: 10 }))).toThrow(ConfigError);
    expect(() => solo.createClient(clientContext(alice, [server], 1, { clientRetryTicks: 50, clientGiveUpTicks: 10 }))).toThrow(/clientGiveUpTicks/);
  });
});

describe("solo end to end", () => {
  test("clients submit through LeaderClient and every request completes ok exactly once", () => {
    const { replica, app } = soloReplica();
    const clients = [alice, bob].map((id) => solo.createClient(clientContext(id, [server], id)));
    const host = new ReplicaHost(replica, new MemoryDisk(), (_from, messages) => {
      for (const { to, message } of messages) clients.find((client) => client.id === to)?.step(server, message);
    });
    const completions: { clientId: number; result: unknown }[] = [];
    for (let round = 0; round < 5; round++) {
      for (const client of clients) client.submit(append("log", `${client.id}:${round}`), { readOnly: false });
      for (let step = 0; step < 10; step++) {
        for (const client of clients) {
          const ready = client.ready();
          if (ready === undefined) continue;
          for (const { message } of ready.messages) host.step(client.id, message);
          for (const completion of ready.completions) {
            completions.push({ clientId: client.id, result: completion.outcome.kind === "ok" ? result(completion.outcome.result) : completion.outcome });
          }
          client.advance(ready);
        }
        host.drain();
      }
    }
    expect(completions).toHaveLength(10);
    expect(completions.every((completion) => JSON.stringify(completion.result) === JSON.stringify({ type: "append" }))).toBe(true);
    expect(app.applies).toBe(10);
    const log = result(app.query(get("log")));
    expect(log.type === "get" && new TextDecoder().decode(log.value)).toBe(
      [0, 1, 2, 3, 4].map((round) => `${alice}:${round}${bob}:${round}`).join(""),
    );
  });
});
