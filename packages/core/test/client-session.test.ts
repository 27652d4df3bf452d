import { describe, expect, test } from "vitest";
import { ClientSession, ConfigError, LeaderClient, createRng, drawSessionKey, sequenceMax, sessionKeyMax, type ClientReplyMessage } from "@concord/core";
import { bytes, clientContext, type SessionStart } from "./helpers.ts";

const clientId = 1_000_000;

function session(start: SessionStart = {}, seed = 1): ClientSession {
  return new ClientSession(clientContext(clientId, [0], seed, {}, start));
}

describe("ClientSession (thesis §6.3; issue 21, bugs 6 and 7)", () => {
  test("draws a key in [1, 2^53 - 1] from the client's Rng: a new client object under the same id gets a different one", () => {
    const keys = Array.from({ length: 200 }, (_, seed) => session({}, seed).key);
    for (const key of keys) expect(Number.isSafeInteger(key) && key >= 1 && key <= sessionKeyMax).toBe(true);
    expect(new Set(keys).size).toBe(keys.length);
    // Keys use the whole width: some lie above 2^32.
    expect(keys.some((key) => key > 2 ** 32)).toBe(true);
    expect(session({}, 7).key).toBe(session({}, 7).key); // deterministic for a seed
  });

  test("drawSessionKey never returns 0", () => {
    const rng = createRng(3);
    for (let i = 0; i < 1000; i++) expect(drawSessionKey(rng)).toBeGreaterThan(0);
  });

  test("a pinned key and a first sequence are honoured", () => {
    const pinned = session({ session: 42, firstSequence: 2 ** 32 + 1 });
    expect(pinned.key).toBe(42);
    expect(pinned.next()).toEqual({ sequence: 2 ** 32 + 1 });
    expect(pinned.next()).toEqual({ sequence: 2 ** 32 + 2 });
    expect(session().next()).toEqual({ sequence: 1 });
  });

  test("after 2^53 - 1 the session refuses further requests, and never wraps", () => {
    const last = session({ firstSequence: sequenceMax - 1 });
    expect(last.next()).toEqual({ sequence: sequenceMax - 1 });
    expect(last.next()).toEqual({ sequence: sequenceMax });
    for (let i = 0; i < 3; i++) {
      const refused = last.next();
      expect("rejection" in refused && refused.rejection.kind).toBe("dropped");
      expect("rejection" in refused && JSON.stringify(refused.rejection)).toMatch(/open a new client/);
    }
  });

  test.each([
    [{ session: 0 }, "session"],
    [{ session: 2 ** 53 }, "session"],
    [{ session: 1.5 }, "session"],
    [{ firstSequence: 0 }, "firstSequence"],
    [{ firstSequence: 2 ** 53 }, "firstSequence"],
  ] as [SessionStart, string][])("%j is a ConfigError naming %s", (start, field) => {
    expect(() => session(start)).toThrow(ConfigError);
    expect(() => session(start)).toThrow(field);
  });
});

/** reply is a replica's answer "r" to request `sequence` of `session`. */
function reply(session: number, sequence: number): ClientReplyMessage {
  return { type: "clientReply", session, sequence, result: bytes("r") };
}

describe("LeaderClient sessions", () => {
  const timing = { retryTicks: 5, giveUpTicks: 20 };

  test("sends its session key and numbers from firstSequence", () => {
    const client = new LeaderClient(clientContext(clientId, [0], 1, {}, { session: 9, firstSequence: 2 ** 53 - 2 }), timing);
    expect(client.sessionKey).toBe(9);
    expect(client.submit(bytes("c"), { readOnly: false })).toEqual({ kind: "accepted", sequence: 2 ** 53 - 2 });
    const sent = client.ready()?.messages[0]?.message;
    expect(sent).toMatchObject({ type: "clientRequest", clientId, session: 9, sequence: 2 ** 53 - 2 });
  });

  test("ignores a result for its id and sequence that names another session: an earlier client object's answer", () => {
    const client = new LeaderClient(clientContext(clientId, [0], 1, {}, { session: 9 }), timing);
    client.submit(bytes("c"), { readOnly: false });
    client.advance(client.ready()!);
    client.step(0, reply(8, 1));
    expect(client.ready()).toBeUndefined();
    expect(client.outstanding()).toBe(true);
    client.step(0, reply(9, 1));
    expect(client.ready()?.completions).toEqual([{ sequence: 1, outcome: { kind: "ok", result: bytes("r") } }]);
  });

  test("refuses to submit past 2^53 - 1 instead of wrapping", () => {
    const client = new LeaderClient(clientContext(clientId, [0], 1, {}, { session: 9, firstSequence: sequenceMax }), timing);
    expect(client.submit(bytes("c"), { readOnly: false })).toEqual({ kind: "accepted", sequence: sequenceMax });
    client.advance(client.ready()!);
    client.step(0, reply(9, sequenceMax));
    client.advance(client.ready()!);
    const refused = client.submit(bytes("d"), { readOnly: false });
    expect(refused.kind).toBe("rejected");
    expect(refused.kind === "rejected" && refused.rejection.kind).toBe("dropped");
    expect(client.outstanding()).toBe(false);
  });
});
