import { describe, expect, test } from "vitest";
import {
  AssertionError,
  ConfigError,
  assert,
  bytesEqual,
  dropped,
  emptyDurableState,
  firstClientId,
  isNodeId,
  notLeader,
  overloaded,
  timedOut,
  unreachable,
} from "@concord/core";

describe("errors", () => {
  test("assert throws an AssertionError with the message, built lazily only on failure", () => {
    let built = 0;
    const message = (): string => {
      built++;
      return "broken invariant";
    };
    assert(true, message);
    expect(built).toBe(0);
    expect(() => assert(false, message)).toThrow(new AssertionError("broken invariant"));
    expect(built).toBe(1);
  });

  test("unreachable throws an AssertionError showing the value", () => {
    expect(() => unreachable({ type: "mystery" } as never)).toThrow(/mystery/);
    expect(() => unreachable(1 as never)).toThrow(AssertionError);
  });

  test("ConfigError keeps the field apart and puts it first in the message", () => {
    const error = new ConfigError("raft.electionTimeoutTicks", "must be positive");
    expect(error.field).toBe("raft.electionTimeoutTicks");
    expect(error.message).toBe("raft.electionTimeoutTicks: must be positive");
    expect(error.name).toBe("ConfigError");
    expect(new ConfigError("", "whole input").message).toBe("whole input");
  });
});

describe("ids", () => {
  test("isNodeId accepts non-negative safe integers only", () => {
    for (const id of [0, 1, firstClientId, Number.MAX_SAFE_INTEGER]) expect(isNodeId(id)).toBe(true);
    for (const id of [-1, 1.5, Number.NaN, "1", undefined, 2 ** 53]) expect(isNodeId(id)).toBe(false);
  });
});

describe("results", () => {
  test("the rejection builders give the typed results", () => {
    expect(notLeader(2)).toEqual({ kind: "notLeader", leaderHint: 2 });
    expect(notLeader(undefined)).toEqual({ kind: "notLeader", leaderHint: undefined });
    expect(dropped("leader changed")).toEqual({ kind: "dropped", reason: "leader changed" });
    expect(overloaded(64)).toEqual({ kind: "overloaded", limit: 64 });
    expect(timedOut(200)).toEqual({ kind: "timedOut", afterTicks: 200 });
  });
});

describe("replica and storage helpers", () => {
  test("emptyDurableState has no snapshot and no records", () => {
    expect(emptyDurableState).toEqual({ snapshot: undefined, records: [] });
  });

  test("bytesEqual compares length and every byte", () => {
    expect(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 0]))).toBe(false);
    expect(bytesEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });
});
