// The durable record formats: the hand-written encoders must match raft.proto.
import { createProtobufCodec, createRng } from "@concord/core";
import { describe, expect, it } from "vitest";
import type { Entry } from "@concord/raft";
import { descriptor } from "../src/raft-proto.generated.ts";
import { decodeRecord, encodeEntryRecord, encodeHardState } from "../src/records.ts";

const generic = createProtobufCodec<{ type: string }>(descriptor, "concord.raft.RaftRecord");

const entries: Entry[] = [
  { term: 0, index: 0, kind: 0, clientId: 0, session: 0, sequence: 0, command: new Uint8Array(0), voters: [], outgoing: [], learners: [] },
  { term: 7, index: 123456789, kind: 0, clientId: 1_000_003, session: Number.MAX_SAFE_INTEGER, sequence: 2 ** 40, command: new Uint8Array([1, 2, 3]), voters: [], outgoing: [], learners: [] },
  { term: 2, index: 9, kind: 2, clientId: 0, session: 0, sequence: 0, command: new Uint8Array(0), voters: [1, 2, 300], outgoing: [1, 2, 3], learners: [9] },
];

describe("durable records", () => {
  it.each(entries.map((e) => [e.index, e] as const))("entry record at index %i round-trips and matches the generic protobuf encoding", (_index, entry) => {
    const bytes = encodeEntryRecord(entry);
    expect(decodeRecord(bytes)).toEqual({ type: "entry", entry });
    expect([...bytes]).toEqual([...generic.encode({ type: "entry", ...entry })]);
  });

  it.each([
    { term: 0, vote: undefined, commit: 0 },
    { term: 5, vote: 0, commit: 0 },
    { term: 2 ** 33, vote: 4, commit: 99 },
  ])("hard state %j round-trips and matches the generic protobuf encoding", (hardState) => {
    const bytes = encodeHardState(hardState);
    expect(decodeRecord(bytes)).toEqual({ type: "hardState", hardState });
    const wire = { type: "hardState", term: hardState.term, vote: hardState.vote ?? 0, hasVote: hardState.vote !== undefined, commit: hardState.commit };
    expect([...bytes]).toEqual([...generic.encode(wire)]);
  });
  it("entry and hard-state records match the generic protobuf encoding over random values of every width", () => {
    // The hand-written encoders write varints past 2^31 from two 32-bit halves (issue 18): every width from 0 to
    // 53 bits, the edges of each byte count, and commands of every size around the copy loop's limit.
    const rng = createRng(18);
    const edges = [0, 1, 127, 128, 2 ** 14, 2 ** 21, 2 ** 28 - 1, 2 ** 28, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 35, 2 ** 42, 2 ** 49, 2 ** 52 + 7, 2 ** 53 - 1];
    const value = (): number => {
      if (rng.nextInt(4) === 0) return edges[rng.nextInt(edges.length)] as number;
      const bits = rng.nextInt(54);
      return Math.floor(((rng.nextUint32() & 0x1f_ffff) * 2 ** 32 + rng.nextUint32()) / 2 ** (53 - bits));
    };
    const ids = (): number[] => Array.from({ length: rng.nextInt(3) === 0 ? rng.nextInt(5) : 0 }, () => rng.nextUint32());
    // The entry encoder writes into a scratch buffer it grows for a longer record (issue 18): now and then a command
    // longer than it, and every record is compared again at the end, after the encodes that followed it.
    const written: [Entry, Uint8Array][] = [];
    for (let i = 0; i < 5000; i++) {
      const command = new Uint8Array(rng.nextInt(500) === 0 ? 4000 + rng.nextInt(20_000) : rng.nextInt(4) === 0 ? rng.nextInt(300) : rng.nextInt(70));
      for (let k = 0; k < command.length; k++) command[k] = rng.nextInt(256);
      const entry: Entry = { term: value(), index: value(), kind: rng.nextInt(3), clientId: rng.nextUint32(), session: value(), sequence: value(), command, voters: ids(), outgoing: ids(), learners: ids() };
      const record = encodeEntryRecord(entry);
      expect([...record]).toEqual([...generic.encode({ type: "entry", ...entry })]);
      written.push([entry, record]);
      const hardState = { term: value(), vote: rng.nextInt(3) === 0 ? undefined : rng.nextUint32(), commit: value() };
      const wire = { type: "hardState", term: hardState.term, vote: hardState.vote ?? 0, hasVote: hardState.vote !== undefined, commit: hardState.commit };
      expect([...encodeHardState(hardState)]).toEqual([...generic.encode(wire)]);
    }
    expect(written.filter(([entry]) => entry.command.length >= 4000).length).toBeGreaterThan(3);
    for (const [entry, record] of written) expect(Buffer.from(record).equals(Buffer.from(generic.encode({ type: "entry", ...entry })))).toBe(true);
  });
});
