import { describe, expect, test } from "vitest";
import { ClientOutbox, ClientSession, RejectionCounter } from "@concord/core";
import { clientContext } from "./helpers.ts";

const clientId = 1_000_000;

function outbox(giveUpTicks: number, firstSequence = 1): ClientOutbox<string, { label: string }> {
  return new ClientOutbox(new ClientSession(clientContext(clientId, [0, 1, 2], 1, {}, { session: 9, firstSequence })), giveUpTicks);
}

describe("ClientOutbox: the outstanding request, its clocks and the Ready every client shares", () => {
  test("one request at a time: a second submit is refused as overloaded until the first completes", () => {
    const box = outbox(10);
    expect(box.open((sequence) => ({ label: `first ${sequence}` }))).toEqual({ kind: "accepted", sequence: 1 });
    expect(box.open(() => ({ label: "second" }))).toEqual({ kind: "rejected", rejection: { kind: "overloaded", limit: 1 } });
    expect(box.request()?.state.label).toBe("first 1");
    box.complete(new Uint8Array([7]));
    expect(box.outstanding()).toBe(false);
    expect(box.open((sequence) => ({ label: `next ${sequence}` }))).toEqual({ kind: "accepted", sequence: 2 });
  });

  test("a session that used its last sequence refuses, and opens nothing", () => {
    const box = outbox(10, Number.MAX_SAFE_INTEGER);
    expect(box.open(() => ({ label: "last" })).kind).toBe("accepted");
    box.complete(new Uint8Array());
    const refused = box.open(() => ({ label: "past the end" }));
    expect(refused.kind === "rejected" && refused.rejection.kind).toBe("dropped");
    expect(box.outstanding()).toBe(false);
  });

  test("a send restarts the send clock only; after giveUpTicks the request is reported indeterminate (timed out)", () => {
    const box = outbox(3);
    box.open(() => ({ label: "r" }));
    expect(box.tick()?.ticksSinceSend).toBe(1);
    box.send(0, "again");
    const waiting = box.tick();
    expect([waiting?.ticksSinceSend, waiting?.ticksSinceSubmit]).toEqual([1, 2]);
    expect(box.tick()).toBeUndefined();
    expect(box.outstanding()).toBe(false);
    expect(box.ready()?.completions).toEqual([{ sequence: 1, outcome: { kind: "indeterminate", rejection: { kind: "timedOut", afterTicks: 3 } } }]);
  });

  test("advance drops what the Ready handed out, and a stale Ready drops nothing newer", () => {
    const box = outbox(10);
    expect(box.ready()).toBeUndefined();
    box.open(() => ({ label: "r" }));
    box.send(1, "a");
    const first = box.ready();
    if (first === undefined) throw new Error("expected a Ready");
    box.advance(first);
    expect(box.ready()).toBeUndefined();
    box.complete(new Uint8Array([1]));
    box.advance(first);
    expect(box.ready()?.completions.map((completion) => completion.sequence)).toEqual([1]);
  });
});

describe("RejectionCounter: dropped inputs by a fixed set of reasons", () => {
  test("counts by reason, in first-seen order, with a total; an unseen reason reads 0", () => {
    const counter = new RejectionCounter<"badDigest" | "staleView" | "spoofedSender">();
    counter.count("staleView");
    counter.count("badDigest");
    counter.count("staleView");
    expect([...counter.byReason()]).toEqual([
      ["staleView", 2],
      ["badDigest", 1],
    ]);
    expect(counter.get("spoofedSender")).toBe(0);
    expect(counter.total()).toBe(3);
  });
});
