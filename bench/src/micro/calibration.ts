// Micro-benchmarks that calibrate the simulator's CPU cost model
// (cost-model-calibrate.ts): the simulator's own node:crypto primitives on a
// message-sized input, and the wire codec's cost per kilobyte. The step
// functions' cost per message comes from the raft, multipaxos and pbft suites.
import { firstClientId } from "@concord/core";
import { encodeCommand } from "@concord/kv";
import { type RaftMessage, raftCodec } from "@concord/raft";
import { KeyRing, NodeCrypto } from "@concord/sim";
import type { Bench } from "tinybench";

/** calibrationInputBytes is the size of the input each crypto task covers: about one PBFT protocol message (150 to 250 bytes on the wire). */
export const calibrationInputBytes = 256;

/** codecLargeEntries x codecLargeValueBytes is the payload of the large codec task; the small one carries one 8-byte value. */
export const codecLargeEntries = 16;
export const codecLargeValueBytes = 1024;

/** calibrationTaskNames are the task names cost-model-calibrate.ts reads; a renamed task must be renamed there too. */
export const calibrationTaskNames = {
  digest: `calibration: sha256 digest of ${calibrationInputBytes} bytes (the simulator's NodeCrypto)`,
  mac: `calibration: hmac-sha256 of ${calibrationInputBytes} bytes (the simulator's NodeCrypto)`,
  sign: `calibration: ed25519 signature of ${calibrationInputBytes} bytes (the simulator's NodeCrypto)`,
  verify: `calibration: ed25519 verification of ${calibrationInputBytes} bytes (the simulator's NodeCrypto)`,
  codecSmall: "calibration: raft AppendEntries codec round trip, 1 entry of 8 bytes",
  codecLarge: `calibration: raft AppendEntries codec round trip, ${codecLargeEntries} entries of ${codecLargeValueBytes} bytes`,
} as const;

function append(entries: number, valueBytes: number): RaftMessage {
  const command = encodeCommand({ type: "put", key: "key", value: new Uint8Array(valueBytes) });
  return {
    type: "appendEntries",
    term: 3,
    prevLogIndex: 12344,
    prevLogTerm: 3,
    entries: Array.from({ length: entries }, (_, k) => ({ term: 3, index: 12345 + k, kind: 0, clientId: firstClientId, session: 2 ** 52 + 1, sequence: 42 + k, command, voters: [], outgoing: [], learners: [] })),
    commit: 12343,
    readContext: 7,
  };
}

/** largeAppendKilobytes is the encoded size of the large codec task's message less the small one's, in KiB: the slope's denominator. */
export function largeAppendKilobytes(): number {
  return (raftCodec.encode(append(codecLargeEntries, codecLargeValueBytes)).length - raftCodec.encode(append(1, 8)).length) / 1024;
}

/** register adds the calibration tasks to `bench`. */
export function register(bench: Bench): void {
  // Without the memo: it would time a lookup of the one input measured again and again, not the computation a node pays for.
  const keys = new KeyRing(1, { memo: false });
  const crypto = new NodeCrypto(1, keys);
  const input = new Uint8Array(calibrationInputBytes).map((_, i) => i & 0xff);
  const macKey = crypto.macKey(2);
  const signature = crypto.sign(input);
  bench.add(calibrationTaskNames.digest, () => {
    crypto.digest(input);
  });
  bench.add(calibrationTaskNames.mac, () => {
    crypto.mac(macKey, input);
  });
  bench.add(calibrationTaskNames.sign, () => {
    crypto.sign(input);
  });
  bench.add(calibrationTaskNames.verify, () => {
    if (!crypto.verify(1, input, signature)) throw new Error("a valid signature did not verify");
  });
  const small = append(1, 8);
  const large = append(codecLargeEntries, codecLargeValueBytes);
  bench.add(calibrationTaskNames.codecSmall, () => {
    raftCodec.decode(raftCodec.encode(small));
  });
  bench.add(calibrationTaskNames.codecLarge, () => {
    raftCodec.decode(raftCodec.encode(large));
  });
}
