import { describe, expect, test } from "vitest";
import { CorruptionError, SessionStateMachine, createRng, sessionsMaxDefault, type ClientRequest } from "@concord/core";
import { CountingKv, append, bytes, get, put, result } from "./helpers.ts";

const alice = 1_000_000;
const bob = 1_000_001;

/** request builds a request whose session key is its client id, as one client object per id would have. */
function request(clientId: number, sequence: number, command: Uint8Array): ClientRequest {
  return { clientId, session: clientId, sequence, command };
}

function sessionMachine(sessionsMax?: number): { app: CountingKv; sessions: SessionStateMachine } {
  const app = new CountingKv();
  return { app, sessions: new SessionStateMachine(app, sessionsMax) };
}

describe("SessionStateMachine.execute", () => {
  test("applies a new request once and returns its result", () => {
    const { app, sessions } = sessionMachine();
    const execution = sessions.execute(request(alice, 1, put("x", "1")));
    expect(execution.kind).toBe("applied");
    expect(app.applies).toBe(1);
    expect(result(sessions.query(get("x")))).toEqual({ type: "get", value: bytes("1") });
  });

  test("returns the cached result of a duplicate without applying it again (Raft thesis §6.3)", () => {
    const { app, sessions } = sessionMachine();
    const first = sessions.execute(request(alice, 1, append("x", "a")));
    const retry = sessions.execute(request(alice, 1, append("x", "a")));
    expect(retry).toEqual({ kind: "duplicate", result: first.kind === "stale" ? undefined : first.result });
    expect(app.applies).toBe(1);
    expect(result(sessions.query(get("x")))).toEqual({ type: "get", value: bytes("a") });
  });

  test("the duplicate's result is the original one even after other clients changed the state", () => {
    const { sessions } = sessionMachine();
    sessions.execute(request(alice, 1, put("x", "1")));
    const read = sessions.execute(request(alice, 2, get("x")));
    sessions.execute(request(bob, 1, put("x", "2")));
    const retry = sessions.execute(request(alice, 2, get("x")));
    expect(retry.kind).toBe("duplicate");
    expect(retry.kind !== "stale" && result(retry.result)).toEqual({ type: "get", value: bytes("1") });
    expect(read.kind !== "stale" && result(read.result)).toEqual({ type: "get", value: bytes("1") });
  });

  test("ignores a stale request (older than the session's last) without applying it", () => {
    const { app, sessions } = sessionMachine();
    sessions.execute(request(alice, 1, append("x", "a")));
    sessions.execute(request(alice, 2, append("x", "b")));
    expect(sessions.execute(request(alice, 1, append("x", "a")))).toEqual({ kind: "stale" });
    expect(app.applies).toBe(2);
    expect(result(sessions.query(get("x")))).toEqual({ type: "get", value: bytes("ab") });
  });

  test("keeps one session per client: clients do not see each other's sequences", () => {
    const { app, sessions } = sessionMachine();
    expect(sessions.execute(request(alice, 1, append("x", "a"))).kind).toBe("applied");
    expect(sessions.execute(request(bob, 1, append("x", "b"))).kind).toBe("applied");
    expect(app.applies).toBe(2);
    expect(sessions.lastSequence(alice)).toBe(1);
    expect(sessions.lastSequence(bob)).toBe(1);
    expect(sessions.lastSequence(42)).toBe(0);
  });

  test("cachedResult answers only for the session's latest sequence", () => {
    const { sessions } = sessionMachine();
    const first = sessions.execute(request(alice, 1, put("x", "1")));
    expect(sessions.cachedResult({ clientId: alice, session: alice, sequence: 1 })).toEqual(first.kind === "stale" ? undefined : first.result);
    sessions.execute(request(alice, 2, put("x", "2")));
    expect(sessions.cachedResult({ clientId: alice, session: alice, sequence: 1 })).toBeUndefined();
    expect(sessions.cachedResult({ clientId: alice, session: alice, sequence: 2 })).toBeDefined();
    expect(sessions.cachedResult({ clientId: bob, session: bob, sequence: 1 })).toBeUndefined();
  });

  test("query reads the application without touching sessions", () => {
    const { app, sessions } = sessionMachine();
    sessions.execute(request(alice, 1, put("x", "1")));
    const before = sessions.snapshot();
    expect(result(sessions.query(get("x")))).toEqual({ type: "get", value: bytes("1") });
    expect(app.applies).toBe(1);
    expect(sessions.snapshot()).toEqual(before);
  });

  test("refuses a non-positive session bound", () => {
    expect(() => new SessionStateMachine(new CountingKv(), 0)).toThrow();
    expect(sessionsMaxDefault).toBeGreaterThan(0);
  });
});

describe("SessionStateMachine eviction", () => {
  test("holds at most sessionsMax sessions, evicting the least recently used", () => {
    const { sessions } = sessionMachine(3);
    sessions.execute(request(1, 1, put("a", "1")));
    sessions.execute(request(2, 1, put("b", "1")));
    sessions.execute(request(3, 1, put("c", "1")));
    sessions.execute(request(1, 1, put("a", "1"))); // a duplicate refreshes client 1
    sessions.execute(request(4, 1, put("d", "1")));
    expect([1, 2, 3, 4].map((id) => sessions.hasSession(id))).toEqual([true, false, true, true]);
    sessions.execute(request(5, 1, put("e", "1")));
    expect([1, 2, 3, 4, 5].map((id) => sessions.hasSession(id))).toEqual([true, false, false, true, true]);
    // An evicted client's last sequence is still known.
    expect([2, 3].map((id) => sessions.lastSequence(id))).toEqual([1, 1]);
    expect(sessions.retiredCount()).toBe(2);
  });

  test("a late retry from an evicted session is refused as stale, never applied twice", () => {
    const { app, sessions } = sessionMachine(2);
    sessions.execute(request(1, 1, append("x", "a")));
    sessions.execute(request(2, 1, append("y", "b")));
    sessions.execute(request(3, 1, append("z", "c"))); // evicts client 1's session
    expect(sessions.hasSession(1)).toBe(false);
    const appliedBefore = app.applies;
    expect(sessions.execute(request(1, 1, append("x", "a")))).toEqual({ kind: "stale" });
    expect(app.applies).toBe(appliedBefore);
    // A new request from that client opens a fresh session and is applied.
    expect(sessions.execute(request(1, 2, append("x", "d"))).kind).toBe("applied");
    expect(sessions.hasSession(1)).toBe(true);
    expect(sessions.execute(request(1, 2, append("x", "d"))).kind).toBe("duplicate");
  });

  test("remembers at most 100 retired clients per session slot, forgetting the oldest first", () => {
    const { sessions } = sessionMachine(1);
    for (let client = 0; client < 250; client++) sessions.execute(request(client, 1, put("k", "v")));
    expect(sessions.retiredCount()).toBe(100);
    expect(sessions.lastSequence(0)).toBe(0); // forgotten
    expect(sessions.lastSequence(248)).toBe(1); // retired, remembered
  });

  test("retired sessions survive a snapshot, so a restored replica refuses the same late retries", () => {
    const { sessions } = sessionMachine(1);
    sessions.execute(request(1, 4, put("x", "1")));
    sessions.execute(request(2, 1, put("y", "1"))); // retires client 1 at sequence 4
    const restored = sessionMachine(1).sessions;
    restored.restore(sessions.snapshot());
    expect(restored.retiredCount()).toBe(1);
    expect(restored.execute(request(1, 4, put("x", "1")))).toEqual({ kind: "stale" });
    expect(restored.snapshot()).toEqual(sessionMachineAfter(sessions, request(1, 4, put("x", "1"))).snapshot());
  });

  test("the table never grows beyond its bound over many clients", () => {
    const { sessions } = sessionMachine(10);
    for (let client = 0; client < 500; client++) sessions.execute(request(client, 1, put("k", String(client))));
    const live = Array.from({ length: 500 }, (_, client) => sessions.hasSession(client)).filter(Boolean);
    expect(live.length).toBe(10);
    // The ten most recent clients survive; the others are remembered only by their last sequence.
    expect(Array.from({ length: 10 }, (_, i) => sessions.hasSession(490 + i))).toEqual(new Array(10).fill(true));
    expect(sessions.retiredCount()).toBe(490);
  });

  test("replicas that execute the same requests, one of them restored from a snapshot midway, hold identical tables", () => {
    const workload: ClientRequest[] = [];
    for (let i = 0; i < 60; i++) workload.push(request(i % 7, Math.floor(i / 7) + 1, append(`k${i % 3}`, String(i))));
    for (let i = 0; i < 20; i++) workload.push(request(i % 5, 1 + Math.floor((i + 35) / 7), get("k0"))); // duplicates and stale ones
    for (let i = 0; i < 40; i++) workload.push(request(10 + (i % 9), 1 + Math.floor(i / 9), put(`k${i % 4}`, String(i))));

    const straight = sessionMachine(5).sessions;
    for (const each of workload) straight.execute(each);

    const restarted = sessionMachine(5).sessions;
    const cut = 70;
    for (const each of workload.slice(0, cut)) restarted.execute(each);
    const rebuilt = sessionMachine(5).sessions;
    rebuilt.restore(restarted.snapshot());
    for (const each of workload.slice(cut)) rebuilt.execute(each);

    expect(rebuilt.snapshot()).toEqual(straight.snapshot());
  });
  // j * (2^32 + 1) has j both as its low 32 bits and above them: the table's buckets (issue 18) put all twelve in one.
  const oneBucket = Array.from({ length: 12 }, (_, j) => (j + 1) * (2 ** 32 + 1));
  test.each([
    ["keys 1 to 12", Array.from({ length: 12 }, (_, j) => j + 1)],
    ["twelve 53-bit keys that share one bucket", oneBucket],
  ])("evicts in the order of a reference LRU list over random turns of many clients, through snapshots (%s)", (_name, keys) => {
    // The table keeps recency in a linked list of its own (issue 18); the reference keeps it in an array.
    for (let seed = 1; seed <= 40; seed++) {
      const rng = createRng(seed);
      const sessionsMax = 1 + rng.nextInt(8);
      let sessions = new SessionStateMachine(new CountingKv(), sessionsMax);
      const recency: number[] = []; // live session keys, least recently used first
      const lastSequence = new Map<number, number>();
      for (let i = 0; i < 300; i++) {
        const key = keys[rng.nextInt(12)] as number;
        const sequence = Math.max(1, (lastSequence.get(key) ?? 0) + rng.nextInt(3));
        const execution = sessions.execute(request(key, sequence, append("k", String(i))));
        const live = recency.indexOf(key);
        if (live >= 0 && execution.kind !== "stale") recency.splice(live, 1);
        if (execution.kind !== "stale" && (live >= 0 || execution.kind === "applied")) recency.push(key);
        if (recency.length > sessionsMax) recency.shift();
        if (execution.kind === "applied") lastSequence.set(key, sequence);
        for (const other of keys) {
          expect(sessions.hasSession(other)).toBe(recency.includes(other));
          expect(sessions.lastSequence(other)).toBe(lastSequence.get(other) ?? 0);
        }
        if (rng.nextInt(25) === 0) {
          const restored = new SessionStateMachine(new CountingKv(), sessionsMax);
          restored.restore(sessions.snapshot());
          sessions = restored;
        }
      }
    }
  });
});

describe("SessionStateMachine snapshots", () => {
  test("restore brings back the application state and every session", () => {
    const { sessions } = sessionMachine();
    sessions.execute(request(alice, 1, put("x", "1")));
    sessions.execute(request(alice, 2, append("x", "2")));
    sessions.execute(request(bob, 5, put("y", "")));
    const snapshot = sessions.snapshot();

    const { app, sessions: restored } = sessionMachine();
    restored.restore(snapshot);
    expect(restored.snapshot()).toEqual(snapshot);
    expect(result(restored.query(get("x")))).toEqual({ type: "get", value: bytes("12") });
    expect(result(restored.query(get("y")))).toEqual({ type: "get", value: new Uint8Array(0) });
    expect(restored.lastSequence(alice)).toBe(2);
    expect(restored.lastSequence(bob)).toBe(5);
    // Exactly-once survives the restore: the retry is a duplicate, the older one stale.
    expect(restored.execute(request(alice, 2, append("x", "2"))).kind).toBe("duplicate");
    expect(restored.execute(request(alice, 1, put("x", "1")))).toEqual({ kind: "stale" });
    expect(app.applies).toBe(0);
    expect(result(restored.query(get("x")))).toEqual({ type: "get", value: bytes("12") });
  });

  test("restored cached results own their memory: reusing the snapshot buffer changes no reply", () => {
    const source = sessionMachine().sessions;
    source.execute(request(alice, 1, get("missing")));
    source.execute(request(bob, 1, put("x", "1")));
    source.execute(request(bob, 2, get("x")));
    const snapshot = new Uint8Array(source.snapshot());
    const restored = sessionMachine().sessions;
    restored.restore(snapshot);
    snapshot.fill(0);
    expect(result(restored.cachedResult({ clientId: bob, session: bob, sequence: 2 }) ?? new Uint8Array(0))).toEqual({ type: "get", value: bytes("1") });
    expect(restored.cachedResult({ clientId: bob, session: bob, sequence: 2 })?.constructor).toBe(Uint8Array);
    expect(restored.snapshot()).toEqual(source.snapshot());
  });

  test("restore replaces whatever state was there before", () => {
    const source = sessionMachine().sessions;
    source.execute(request(alice, 1, put("x", "1")));
    const target = sessionMachine().sessions;
    target.execute(request(bob, 3, put("y", "2")));
    target.restore(source.snapshot());
    expect(target.snapshot()).toEqual(source.snapshot());
    expect(target.lastSequence(bob)).toBe(0);
    expect(result(target.query(get("y")))).toEqual({ type: "get", value: undefined });
  });

  test("an empty table round-trips", () => {
    const empty = sessionMachine().sessions.snapshot();
    const restored = sessionMachine().sessions;
    restored.restore(empty);
    expect(restored.snapshot()).toEqual(empty);
  });

  test("every truncation of a snapshot is a CorruptionError and changes nothing", () => {
    const source = sessionMachine().sessions;
    source.execute(request(alice, 1, put("x", "1")));
    source.execute(request(bob, 2, put("y", "2")));
    const snapshot = source.snapshot();

    const target = sessionMachine().sessions;
    target.execute(request(7, 1, put("z", "9")));
    const before = target.snapshot();
    for (let length = 0; length < snapshot.length; length++) {
      expect(() => target.restore(snapshot.slice(0, length)), `truncated to ${length} bytes`).toThrow(CorruptionError);
      expect(target.snapshot()).toEqual(before);
    }
  });

  test("trailing bytes after a snapshot are a CorruptionError, not silently ignored", () => {
    const source = sessionMachine().sessions;
    source.execute(request(alice, 1, put("x", "1")));
    const snapshot = source.snapshot();
    const padded = new Uint8Array(snapshot.length + 1);
    padded.set(snapshot);
    padded[snapshot.length] = 1;
    const target = sessionMachine().sessions;
    const before = target.snapshot();
    expect(() => target.restore(padded)).toThrow(CorruptionError);
    expect(target.snapshot()).toEqual(before);
  });

  test("an unknown snapshot version is a CorruptionError naming the version", () => {
    const snapshot = sessionMachine().sessions.snapshot().slice();
    snapshot[0] = 9;
    expect(() => sessionMachine().sessions.restore(snapshot)).toThrow(/version 9/);
    expect(() => sessionMachine().sessions.restore(snapshot)).toThrow(CorruptionError);
  });

  test("a corrupted application snapshot inside is a CorruptionError and changes nothing", () => {
    // version 3, no sessions, no retired ones, then 3 bytes of application snapshot that are not a KV snapshot.
    const corrupted = new Uint8Array([3, 0, 0, 3, 0xff, 0xff, 0xff]);
    const target = sessionMachine().sessions;
    target.execute(request(alice, 1, put("x", "1")));
    const before = target.snapshot();
    expect(() => target.restore(corrupted)).toThrow(CorruptionError);
    expect(target.snapshot()).toEqual(before);
  });
});

describe("SessionStateMachine session keys (issue 21, bug 7)", () => {
  const oldKey = 2 ** 52 + 7;
  const newKey = 12_345;

  test("a client restarted with its old id opens a fresh session: its request 1 is applied, not answered from the old cache", () => {
    const { app, sessions } = sessionMachine();
    const old = sessions.execute({ clientId: alice, session: oldKey, sequence: 1, command: put("x", "a") });
    const fresh = sessions.execute({ clientId: alice, session: newKey, sequence: 1, command: append("x", "b") });
    expect(old.kind).toBe("applied");
    expect(fresh.kind).toBe("applied");
    expect(fresh.kind !== "stale" && result(fresh.result)).toEqual({ type: "append" });
    expect(app.applies).toBe(2);
    expect(result(sessions.query(get("x")))).toEqual({ type: "get", value: bytes("ab") });
  });

  test("the old incarnation's late retry stays in its own session: answered from its cache, never applied again", () => {
    const { app, sessions } = sessionMachine();
    sessions.execute({ clientId: alice, session: oldKey, sequence: 1, command: append("x", "a") });
    sessions.execute({ clientId: alice, session: newKey, sequence: 1, command: append("x", "b") });
    sessions.execute({ clientId: alice, session: newKey, sequence: 2, command: append("x", "c") });
    const late = sessions.execute({ clientId: alice, session: oldKey, sequence: 1, command: append("x", "a") });
    expect(late).toEqual({ kind: "duplicate", result: sessions.cachedResult({ clientId: alice, session: oldKey, sequence: 1 }) });
    expect(app.applies).toBe(3);
    expect(sessions.lastSequence(oldKey)).toBe(1);
    expect(sessions.lastSequence(newKey)).toBe(2);
    expect(sessions.lastSequence(alice)).toBe(0); // the client id is not a session key
    expect(result(sessions.query(get("x")))).toEqual({ type: "get", value: bytes("abc") });
  });

  test("a session belongs to the client id that opened it: another id naming its key is refused and answered from nothing", () => {
    const { app, sessions } = sessionMachine();
    sessions.execute({ clientId: alice, session: oldKey, sequence: 1, command: put("x", "a") });
    // A faulty client that learned alice's key can neither spend her sequences nor read her cache.
    expect(sessions.execute({ clientId: bob, session: oldKey, sequence: 2, command: put("x", "evil") })).toEqual({ kind: "stale" });
    expect(sessions.execute({ clientId: bob, session: oldKey, sequence: 1, command: put("x", "evil") })).toEqual({ kind: "stale" });
    expect(sessions.cachedResult({ clientId: bob, session: oldKey, sequence: 1 })).toBeUndefined();
    expect(sessions.lastSequence(oldKey)).toBe(1);
    expect(sessions.execute({ clientId: alice, session: oldKey, sequence: 2, command: append("x", "b") }).kind).toBe("applied");
    expect(app.applies).toBe(2);
    expect(result(sessions.query(get("x")))).toEqual({ type: "get", value: bytes("ab") });
  });

  test("a retired session still belongs to its client, also after a snapshot", () => {
    const { sessions } = sessionMachine(1);
    sessions.execute({ clientId: alice, session: oldKey, sequence: 3, command: put("x", "a") });
    sessions.execute({ clientId: bob, session: newKey, sequence: 1, command: put("y", "b") }); // retires alice's session
    const restored = sessionMachine(1).sessions;
    restored.restore(sessions.snapshot());
    expect(restored.execute({ clientId: bob, session: oldKey, sequence: 9, command: put("x", "evil") })).toEqual({ kind: "stale" });
    expect(restored.execute({ clientId: alice, session: oldKey, sequence: 4, command: put("x", "c") }).kind).toBe("applied");
  });

  test("a session may start at any first sequence, near 2^32 or 2^53 (the simulator starts clients there)", () => {
    const { sessions } = sessionMachine();
    for (const first of [2 ** 32 - 1, Number.MAX_SAFE_INTEGER - 1]) {
      const key = first % 1000;
      expect(sessions.execute({ clientId: bob, session: key, sequence: first, command: append("y", "1") }).kind).toBe("applied");
      expect(sessions.execute({ clientId: bob, session: key, sequence: first + 1, command: append("y", "2") }).kind).toBe("applied");
      expect(sessions.execute({ clientId: bob, session: key, sequence: first, command: append("y", "1") })).toEqual({ kind: "stale" });
    }
  });

  test("53-bit session keys survive a snapshot exactly, live and retired", () => {
    const { sessions } = sessionMachine(1);
    sessions.execute({ clientId: alice, session: Number.MAX_SAFE_INTEGER, sequence: 3, command: put("x", "1") });
    sessions.execute({ clientId: alice, session: Number.MAX_SAFE_INTEGER - 1, sequence: 4, command: put("x", "2") });
    const restored = sessionMachine(1).sessions;
    restored.restore(sessions.snapshot());
    expect(restored.lastSequence(Number.MAX_SAFE_INTEGER)).toBe(3);
    expect(restored.hasSession(Number.MAX_SAFE_INTEGER - 1)).toBe(true);
    expect(restored.lastSequence(Number.MAX_SAFE_INTEGER - 1)).toBe(4);
    expect(restored.snapshot()).toEqual(sessions.snapshot());
  });
});

describe("SessionStateMachine sequence widths (issue 21, bug 6)", () => {
  const wide = [2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER];

  test("a snapshot keeps every sequence up to 2^53 - 1 exactly, live or retired", () => {
    for (const sequence of wide) {
      const { sessions } = sessionMachine(1);
      sessions.execute(request(alice, sequence, append("x", "a")));
      sessions.execute(request(bob, sequence - 1, append("y", "b"))); // retires alice's session
      sessions.execute(request(bob, sequence, append("y", "c")));
      const { app, sessions: restored } = sessionMachine(1);
      restored.restore(sessions.snapshot());
      expect(restored.lastSequence(alice), `retired at ${sequence}`).toBe(sequence);
      expect(restored.lastSequence(bob), `live at ${sequence}`).toBe(sequence);
      // A retry is never applied again: a duplicate for the live session, stale for the retired one.
      expect(restored.execute(request(bob, sequence, append("y", "c"))).kind).toBe("duplicate");
      expect(restored.execute(request(alice, sequence, append("x", "a")))).toEqual({ kind: "stale" });
      expect(app.applies).toBe(0);
      expect(restored.snapshot()).toEqual(sessions.snapshot());
    }
  });

  test("a snapshot holding a sequence past 2^53 - 1 is a CorruptionError naming it, and changes nothing", () => {
    const { sessions } = sessionMachine();
    sessions.execute(request(alice, Number.MAX_SAFE_INTEGER, put("x", "1")));
    const snapshot = sessions.snapshot();
    // MAX_SAFE_INTEGER is the varint ff ff ff ff ff ff ff 0f; 1f makes it 2^54 - 1.
    const at = snapshot.findIndex((_, i) => snapshot.subarray(i, i + 8).every((b, k) => b === (k < 7 ? 0xff : 0x0f)));
    expect(at).toBeGreaterThan(0);
    const past = snapshot.slice();
    past[at + 7] = 0x1f;
    const target = sessionMachine().sessions;
    target.execute(request(bob, 1, put("y", "2")));
    const before = target.snapshot();
    expect(() => target.restore(past)).toThrow(CorruptionError);
    expect(() => target.restore(past)).toThrow(/past 2\^53 - 1/);
    expect(target.snapshot()).toEqual(before);
  });
});

/** sessionMachineAfter executes one more request on a machine and returns it (for comparing snapshots). */
function sessionMachineAfter(machine: SessionStateMachine, next: ClientRequest): SessionStateMachine {
  machine.execute(next);
  return machine;
}
