// The durable record formats: the hand-written encoders must match raft.proto.
import { createProtobufCodec } from "@concord/core";
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
});
