import { describe, expect, it } from "vitest";
import { type PbftViewChange, type PrePreparedClaim, type PreparedClaim } from "@concord/pbft";
import { Quorums, decideNewView } from "@concord/pbft/internals";

const quorums = new Quorums([0, 1, 2, 3]);
const window = 64;
const nullDigest = Uint8Array.of(0);
const state = Uint8Array.of(9);
const digest = (label: number): Uint8Array => Uint8Array.of(label);

function viewChange(
  replica: number,
  claims: { prepared?: PreparedClaim[]; prePrepared?: PrePreparedClaim[]; stableSeq?: number; checkpoints?: { seq: number; stateDigest: Uint8Array }[] } = {},
): PbftViewChange {
  const stableSeq = claims.stableSeq ?? 0;
  return {
    type: "viewChange",
    newView: 5,
    replica,
    stableSeq,
    checkpoints: claims.checkpoints ?? [{ seq: stableSeq, stateDigest: state }],
    prepared: claims.prepared ?? [],
    prePrepared: claims.prePrepared ?? [],
    signature: new Uint8Array(0),
  };
}

const prepared = (seq: number, view: number, label: number): PreparedClaim => ({ seq, view, digest: digest(label), requests: [] });
const prePrepared = (seq: number, view: number, label: number): PrePreparedClaim => ({ seq, view, digest: digest(label) });

describe("NEW-VIEW decision procedure (TOCS §4.4)", () => {
  it("re-issues a batch prepared by 2f+1 and fills the gap before it with the null request", () => {
    const claims = { prepared: [prepared(2, 3, 7)], prePrepared: [prePrepared(2, 3, 7)] };
    const decision = decideNewView([viewChange(0, claims), viewChange(1, claims), viewChange(2, claims)], quorums, window, nullDigest);
    expect(decision?.checkpointSeq).toBe(0);
    expect(decision?.entries.map((e) => [e.seq, e.digest[0]])).toEqual([
      [1, 0],
      [2, 7],
    ]);
  });

  it("ignores a prepared claim with no f+1 pre-prepare support, however high its view (a faulty replica's invention)", () => {
    const honest = { prepared: [prepared(1, 2, 7)], prePrepared: [prePrepared(1, 2, 7)] };
    const liar = viewChange(3, { prepared: [prepared(1, 4, 8)], prePrepared: [prePrepared(1, 4, 8)] });
    const decision = decideNewView([viewChange(0, honest), viewChange(1, honest), viewChange(2, {}), liar], quorums, window, nullDigest);
    expect(decision?.entries.map((e) => e.digest[0])).toEqual([7]);
  });

  it("waits for more view changes when 2f+1 messages decide nothing at a sequence number", () => {
    // One replica prepared 7 at seq 1 with support from one other; the liar's claim blocks the null request.
    const decision = decideNewView(
      [viewChange(0, { prepared: [prepared(1, 2, 7)], prePrepared: [prePrepared(1, 2, 7)] }), viewChange(1, {}), viewChange(3, { prepared: [prepared(1, 3, 8)] })],
      quorums,
      window,
      nullDigest,
    );
    expect(decision).toBeUndefined();
  });

  it("does not fill a sequence number with the null request on f+1 view changes that prepared nothing there (one may hide a commit)", () => {
    // Replica 0 prepared 7 at 1, with too little pre-prepare support in this set to re-issue it; 7 may have committed
    // (prepared by 0, 1 and 2, with 2 a liar that now claims nothing). f+1 = 2 empty claims must not make it null.
    const decision = decideNewView(
      [viewChange(0, { prepared: [prepared(1, 2, 7)], prePrepared: [prePrepared(1, 2, 7)] }), viewChange(2, {}), viewChange(3, {})],
      quorums,
      window,
      nullDigest,
    );
    expect(decision).toBeUndefined();
    // With a third empty claim, 2f+1 prepared nothing there: 7 cannot have committed, and the null request fills 1.
    const withFourth = decideNewView(
      [viewChange(0, { prepared: [prepared(1, 2, 7)], prePrepared: [prePrepared(1, 2, 7)] }), viewChange(1, {}), viewChange(2, {}), viewChange(3, {})],
      quorums,
      window,
      nullDigest,
    );
    expect(withFourth?.entries.map((e) => [e.seq, e.digest[0]])).toEqual([[1, 0]]);
  });

  it("prefers the certificate of the later view when two honest ones disagree", () => {
    const early = { prepared: [prepared(1, 1, 7)], prePrepared: [prePrepared(1, 1, 7)] };
    const late = { prepared: [prepared(1, 3, 8)], prePrepared: [prePrepared(1, 1, 7), prePrepared(1, 3, 8)] };
    const decision = decideNewView([viewChange(0, early), viewChange(1, late), viewChange(2, late)], quorums, window, nullDigest);
    expect(decision?.entries.map((e) => e.digest[0])).toEqual([8]);
  });

  it("starts from the highest checkpoint that f+1 hold and 2f+1 have not passed", () => {
    const at4 = [
      { seq: 0, stateDigest: state },
      { seq: 4, stateDigest: Uint8Array.of(44) },
    ];
    const decision = decideNewView(
      [
        viewChange(0, { checkpoints: at4 }),
        viewChange(1, { checkpoints: at4 }),
        viewChange(2, {}),
        viewChange(3, { checkpoints: [...at4, { seq: 8, stateDigest: Uint8Array.of(88) }] }),
      ],
      quorums,
      window,
      nullDigest,
    );
    expect(decision?.checkpointSeq).toBe(4);
    expect(decision?.checkpointDigest[0]).toBe(44);
    expect(decision?.entries).toEqual([]);
  });
});
