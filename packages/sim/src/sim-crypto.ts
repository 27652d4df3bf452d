import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import type { Crypto, NodeId } from "@concord/core";
import { assert, bytesEqual, deriveSeed } from "@concord/core";

/** CryptoCounters tallies the cryptographic work of one node, which the CPU cost model charges. */
export interface CryptoCounters {
  digests: number;
  macs: number;
  signatures: number;
  verifications: number;
}

/** macPairRadix spaces the pairs of node ids apart in one number: node ids are below it (2^26; a pair stays a safe integer). */
const macPairRadix = 2 ** 26;

const pkcs8Ed25519Prefix = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

/**
 * KeyRing derives every node's Ed25519 key pair and every pairwise MAC key
 * from the run's seed, so that runs (signatures included) replay byte for byte.
 */
export class KeyRing {
  private readonly privateKeys = new Map<NodeId, KeyObject>();
  private readonly publicKeys = new Map<NodeId, KeyObject>();
  /** macKeys holds each pair's key by low * macPairRadix + high. */
  private readonly macKeys = new Map<number, Uint8Array>();
  /** hmac computes the run's MACs. */
  readonly hmac: HmacSha256;
  /** digests remembers the run's recent SHA-256 digests (undefined: every digest is computed). */
  readonly digests: ByteMemo | undefined;

  /**
   * A KeyRing with `memo` (the default) remembers recent digests and MACs for every node of the run: the
   * receivers of a message compute again what its sender computed (a MAC over the same bytes, the digest of
   * the same batch), and both are pure functions of their inputs, so the run is the same byte for byte. The
   * CPU cost model still charges each one (NodeCrypto counts calls, not computations). The calibration of
   * that model turns it off, to time the computation itself.
   */
  constructor(
    private readonly seed: number,
    { memo = true }: { readonly memo?: boolean } = {},
  ) {
    this.hmac = new HmacSha256(memo ? new ByteMemo() : undefined);
    this.digests = memo ? new ByteMemo() : undefined;
  }

  privateKey(node: NodeId): KeyObject {
    let key = this.privateKeys.get(node);
    if (key === undefined) {
      const secret = this.secret(`ed25519:${node}`);
      const der = new Uint8Array(pkcs8Ed25519Prefix.length + 32);
      der.set(pkcs8Ed25519Prefix, 0);
      der.set(secret, pkcs8Ed25519Prefix.length);
      key = createPrivateKey({ key: Buffer.from(der), format: "der", type: "pkcs8" });
      this.privateKeys.set(node, key);
    }
    return key;
  }

  publicKey(node: NodeId): KeyObject {
    let key = this.publicKeys.get(node);
    if (key === undefined) {
      key = createPublicKey(this.privateKey(node));
      this.publicKeys.set(node, key);
    }
    return key;
  }

  macKey(a: NodeId, b: NodeId): Uint8Array {
    const low = Math.min(a, b);
    const high = Math.max(a, b);
    // Looked up by a number (every MAC asks for its key); the label that derives the key is built once per pair.
    assert(low >= 0 && high < macPairRadix, () => `node ids for MAC keys must be in [0, ${macPairRadix}) (got ${low} and ${high})`);
    const pair = low * macPairRadix + high;
    let key = this.macKeys.get(pair);
    if (key === undefined) {
      key = this.secret(`mac:${low}-${high}`);
      this.macKeys.set(pair, key);
    }
    return key;
  }

  private secret(label: string): Uint8Array {
    return new Uint8Array(createHash("sha256").update(`concord-sim:${deriveSeed(this.seed, label)}:${label}`).digest());
  }
}

/** NodeCrypto is core's {@link Crypto} on node:crypto for one node, counting its work for the CPU cost model. */
export class NodeCrypto implements Crypto {
  readonly counters: CryptoCounters = { digests: 0, macs: 0, signatures: 0, verifications: 0 };
  private readonly macKeys = new Map<number, Uint8Array>();

  constructor(
    private readonly self: NodeId,
    private readonly keys: KeyRing,
  ) {}

  digest(data: Uint8Array): Uint8Array {
    this.counters.digests++;
    const memo = this.keys.digests;
    const known = memo?.get(0, data);
    if (known !== undefined) return known;
    const digest = new Uint8Array(createHash("sha256").update(data).digest());
    memo?.set(0, data, digest);
    return digest;
  }

  mac(key: Uint8Array, data: Uint8Array): Uint8Array {
    this.counters.macs++;
    return this.keys.hmac.mac(key, data);
  }

  macMatches(key: Uint8Array, data: Uint8Array, mac: Uint8Array): boolean {
    // Counted as the MAC it checks: the CPU cost model charges a check as it charged making the MAC to compare.
    this.counters.macs++;
    return this.keys.hmac.matches(key, data, mac);
  }

  sign(data: Uint8Array): Uint8Array {
    this.counters.signatures++;
    return new Uint8Array(sign(null, data, this.keys.privateKey(this.self)));
  }

  verify(signer: number, data: Uint8Array, signature: Uint8Array): boolean {
    this.counters.verifications++;
    try {
      return verify(null, data, this.keys.publicKey(signer), signature);
    } catch {
      return false;
    }
  }

  macKey(peer: number): Uint8Array {
    // Every MAC asks for its key: this node's keys are kept by peer (the ring hands out one object per pair).
    let key = this.macKeys.get(peer);
    if (key === undefined) {
      key = this.keys.macKey(this.self, peer);
      this.macKeys.set(peer, key);
    }
    return key;
  }
}

/** sha256RoundConstants are SHA-256's K (FIPS 180-4 §4.2.2). */
const sha256RoundConstants = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** sha256InitialState is SHA-256's initial hash value (FIPS 180-4 §5.3.3). */
const sha256InitialState = Int32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

const sha256BlockBytes = 64;

/**
 * schedule is SHA-256's message schedule W: a block's sixteen big-endian words go in its first sixteen entries,
 * from the message's bytes or straight from a digest's words (HMAC's outer hash), and {@link compress} extends it.
 */
const schedule = new Int32Array(64);

/** loadBlock puts the 64-byte block at `offset` of `bytes` into the schedule's first sixteen words. */
function loadBlock(bytes: Uint8Array, offset: number): void {
  const w = schedule;
  for (let i = 0; i < 16; i++) {
    const j = offset + 4 * i;
    w[i] = ((bytes[j] as number) << 24) | ((bytes[j + 1] as number) << 16) | ((bytes[j + 2] as number) << 8) | (bytes[j + 3] as number);
  }
}

/** bigSigma0 is SHA-256's Σ0 (FIPS 180-4 §4.1.2). */
function bigSigma0(x: number): number {
  return ((x >>> 2) | (x << 30)) ^ ((x >>> 13) | (x << 19)) ^ ((x >>> 22) | (x << 10));
}

/** bigSigma1 is SHA-256's Σ1 (FIPS 180-4 §4.1.2). */
function bigSigma1(x: number): number {
  return ((x >>> 6) | (x << 26)) ^ ((x >>> 11) | (x << 21)) ^ ((x >>> 25) | (x << 7));
}

/** compress runs SHA-256's compression function (FIPS 180-4 §6.2.2) on the block in the schedule's first sixteen words, into `state`. */
function compress(state: Int32Array): void {
  const w = schedule;
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15] as number;
    const y = w[i - 2] as number;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = ((w[i - 16] as number) + s0 + (w[i - 7] as number) + s1) | 0;
  }
  let a = state[0] as number;
  let b = state[1] as number;
  let c = state[2] as number;
  let d = state[3] as number;
  let e = state[4] as number;
  let f = state[5] as number;
  let g = state[6] as number;
  let h = state[7] as number;
  const k = sha256RoundConstants;
  // Eight rounds a turn, each in place (d += T1, h = T1 + T2) with the roles of the eight words moved on by one
  // round, so that no word is copied between rounds: after eight the roles are where they started.
  for (let i = 0; i < 64; i += 8) {
    let t = (h + bigSigma1(e) + ((e & f) ^ (~e & g)) + (k[i] as number) + (w[i] as number)) | 0;
    d = (d + t) | 0;
    h = (t + bigSigma0(a) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    t = (g + bigSigma1(d) + ((d & e) ^ (~d & f)) + (k[i + 1] as number) + (w[i + 1] as number)) | 0;
    c = (c + t) | 0;
    g = (t + bigSigma0(h) + ((h & a) ^ (h & b) ^ (a & b))) | 0;
    t = (f + bigSigma1(c) + ((c & d) ^ (~c & e)) + (k[i + 2] as number) + (w[i + 2] as number)) | 0;
    b = (b + t) | 0;
    f = (t + bigSigma0(g) + ((g & h) ^ (g & a) ^ (h & a))) | 0;
    t = (e + bigSigma1(b) + ((b & c) ^ (~b & d)) + (k[i + 3] as number) + (w[i + 3] as number)) | 0;
    a = (a + t) | 0;
    e = (t + bigSigma0(f) + ((f & g) ^ (f & h) ^ (g & h))) | 0;
    t = (d + bigSigma1(a) + ((a & b) ^ (~a & c)) + (k[i + 4] as number) + (w[i + 4] as number)) | 0;
    h = (h + t) | 0;
    d = (t + bigSigma0(e) + ((e & f) ^ (e & g) ^ (f & g))) | 0;
    t = (c + bigSigma1(h) + ((h & a) ^ (~h & b)) + (k[i + 5] as number) + (w[i + 5] as number)) | 0;
    g = (g + t) | 0;
    c = (t + bigSigma0(d) + ((d & e) ^ (d & f) ^ (e & f))) | 0;
    t = (b + bigSigma1(g) + ((g & h) ^ (~g & a)) + (k[i + 6] as number) + (w[i + 6] as number)) | 0;
    f = (f + t) | 0;
    b = (t + bigSigma0(c) + ((c & d) ^ (c & e) ^ (d & e))) | 0;
    t = (a + bigSigma1(f) + ((f & g) ^ (~f & h)) + (k[i + 7] as number) + (w[i + 7] as number)) | 0;
    e = (e + t) | 0;
    a = (t + bigSigma0(b) + ((b & c) ^ (b & d) ^ (c & d))) | 0;
  }
  state[0] = ((state[0] as number) + a) | 0;
  state[1] = ((state[1] as number) + b) | 0;
  state[2] = ((state[2] as number) + c) | 0;
  state[3] = ((state[3] as number) + d) | 0;
  state[4] = ((state[4] as number) + e) | 0;
  state[5] = ((state[5] as number) + f) | 0;
  state[6] = ((state[6] as number) + g) | 0;
  state[7] = ((state[7] as number) + h) | 0;
}

/**
 * sha256Absorb hashes `data` into `state`, which has absorbed `absorbed` bytes already (a multiple of 64), and
 * pads the message (FIPS 180-4 §5.1.1): the state is then the digest's eight words. The last block is built
 * in the schedule word by word, with no buffer to copy the message's tail into.
 */
function sha256Absorb(state: Int32Array, absorbed: number, data: Uint8Array): void {
  const length = data.length;
  let offset = 0;
  for (; offset + sha256BlockBytes <= length; offset += sha256BlockBytes) {
    loadBlock(data, offset);
    compress(state);
  }
  const w = schedule;
  w.fill(0, 0, 16);
  const rest = length - offset;
  // The tail's whole words at once, then its last bytes and the padding's 1 bit into the word after them.
  const words = rest >>> 2;
  for (let i = 0; i < words; i++) {
    const j = offset + 4 * i;
    w[i] = ((data[j] as number) << 24) | ((data[j + 1] as number) << 16) | ((data[j + 2] as number) << 8) | (data[j + 3] as number);
  }
  let last = 0;
  for (let i = 4 * words; i < rest; i++) last |= (data[offset + i] as number) << (24 - 8 * (i & 3));
  w[words] = last | (0x80 << (24 - 8 * (rest & 3)));
  if (rest + 9 > sha256BlockBytes) {
    // The length does not fit after the 0x80: it goes in a block of its own.
    compress(state);
    w.fill(0, 0, 16);
  }
  const bits = (absorbed + length) * 8;
  w[14] = Math.floor(bits / 0x1_0000_0000) | 0;
  w[15] = bits | 0;
  compress(state);
}

/** writeDigest writes a state's eight words, big-endian, to `out` at `outOffset`. */
function writeDigest(state: Int32Array, out: Uint8Array, outOffset: number): void {
  for (let i = 0; i < 8; i++) {
    const word = state[i] as number;
    out[outOffset + 4 * i] = word >>> 24;
    out[outOffset + 4 * i + 1] = (word >>> 16) & 0xff;
    out[outOffset + 4 * i + 2] = (word >>> 8) & 0xff;
    out[outOffset + 4 * i + 3] = word & 0xff;
  }
}

/** hmacOuterBits is the length in bits of HMAC's outer message: the outer pad's block and the inner digest. */
const hmacOuterBits = (sha256BlockBytes + 32) * 8;

/** HmacKey is a key's HMAC pads, each already through SHA-256's compression (RFC 2104), with the key they came from. */
/** recentKeysMax is how many keys' pads HmacSha256 finds by identity before its WeakMap. */
const recentKeysMax = 8;

interface HmacKey {
  readonly key: Uint8Array;
  readonly inner: Int32Array;
  readonly outer: Int32Array;
  /** id tells this key's entries apart from other keys' in the MAC memo. */
  readonly id: number;
}

/** memoSlots is the size of one memo generation's open-addressed table (a power of two), which it fills at most half. */
const memoSlots = 1024;

/** memoEntriesPerGeneration bounds the memo: it holds this generation's entries and the last generation's. */
const memoEntriesPerGeneration = memoSlots / 2;

/** memoArenaBytes is the room one generation has for the inputs and outputs it keeps. */
const memoArenaBytes = 64 * 1024;

/** memoInputBytesMax: longer inputs (whole checkpointed states) are not remembered, to bound the memo's memory. */
const memoInputBytesMax = 1024;

/**
 * MemoGeneration is one generation of a {@link ByteMemo}: a table of entries, each a (salt, input) with its
 * output, whose bytes are copied into an arena, so that remembering allocates nothing (a typed array costs
 * more to allocate than a short MAC's hash). Invariant: at most {@link memoEntriesPerGeneration} entries, so
 * a probe always meets an empty slot.
 */
class MemoGeneration {
  private readonly hashes = new Int32Array(memoSlots);
  private readonly salts = new Int32Array(memoSlots);
  /** starts holds each entry's input offset in the arena plus one (its output follows the input); 0 is an empty slot. */
  private readonly starts = new Int32Array(memoSlots);
  private readonly inputLengths = new Int32Array(memoSlots);
  private readonly outputLengths = new Int32Array(memoSlots);
  private readonly arena = new Uint8Array(memoArenaBytes);
  private entries = 0;
  private used = 0;

  /** find returns a copy of the output remembered for `salt` and `input`, whose hash is `hash`. */
  find(hash: number, salt: number, input: Uint8Array): Uint8Array | undefined {
    for (let slot = hash & (memoSlots - 1); ; slot = (slot + 1) & (memoSlots - 1)) {
      const start = this.starts[slot] as number;
      if (start === 0) return undefined;
      if (this.hashes[slot] === hash && this.salts[slot] === salt && this.inputLengths[slot] === input.length && this.holds(start - 1, input)) {
        const outputStart = start - 1 + input.length;
        return this.arena.slice(outputStart, outputStart + (this.outputLengths[slot] as number));
      }
    }
  }

  /** matches compares `output` with the output remembered for `salt` and `input`: 1 equal, 0 not, -1 none remembered. */
  matches(hash: number, salt: number, input: Uint8Array, output: Uint8Array): number {
    for (let slot = hash & (memoSlots - 1); ; slot = (slot + 1) & (memoSlots - 1)) {
      const start = this.starts[slot] as number;
      if (start === 0) return -1;
      if (this.hashes[slot] === hash && this.salts[slot] === salt && this.inputLengths[slot] === input.length && this.holds(start - 1, input)) {
        if (this.outputLengths[slot] !== output.length) return 0;
        return this.holds(start - 1 + input.length, output) ? 1 : 0;
      }
    }
  }

  /** fits tells whether the generation has room for one more entry of these sizes. */
  fits(inputBytes: number, outputBytes: number): boolean {
    return this.entries < memoEntriesPerGeneration && this.used + inputBytes + outputBytes <= memoArenaBytes;
  }

  /** add remembers `output` for `salt` and `input`; the caller checked that it fits. */
  add(hash: number, salt: number, input: Uint8Array, output: Uint8Array): void {
    let slot = hash & (memoSlots - 1);
    while (this.starts[slot] !== 0) slot = (slot + 1) & (memoSlots - 1);
    this.hashes[slot] = hash;
    this.salts[slot] = salt;
    this.starts[slot] = this.used + 1;
    this.inputLengths[slot] = input.length;
    this.outputLengths[slot] = output.length;
    this.arena.set(input, this.used);
    this.arena.set(output, this.used + input.length);
    this.used += input.length + output.length;
    this.entries++;
  }

  /** clear forgets every entry. */
  clear(): void {
    this.starts.fill(0);
    this.entries = 0;
    this.used = 0;
  }

  private holds(start: number, input: Uint8Array): boolean {
    const arena = this.arena;
    for (let i = 0; i < input.length; i++) if (arena[start + i] !== input[i]) return false;
    return true;
  }
}

/**
 * ByteMemo remembers the outputs of a pure function of (salt, bytes) for recent inputs, in two generations
 * (the current one and the last), looked up by an FNV-1a hash and confirmed byte for byte. It keeps copies:
 * what it hands out and what its callers later change are never shared.
 */
class ByteMemo {
  private current: MemoGeneration | undefined;
  private previous: MemoGeneration | undefined;
  /** The last lookup's input, salt and hash: a miss is followed by a set of the same input, which need not hash it again. */
  private lastInput: Uint8Array | undefined;
  private lastSalt = 0;
  private lastHash = 0;

  /** get returns the output remembered for `salt` and `input`, a copy of its own. */
  get(salt: number, input: Uint8Array): Uint8Array | undefined {
    if (input.length > memoInputBytesMax) return undefined;
    const hash = memoHash(salt, input);
    this.lastInput = input;
    this.lastSalt = salt;
    this.lastHash = hash;
    return this.current?.find(hash, salt, input) ?? this.previous?.find(hash, salt, input);
  }

  /**
   * matches compares `output` with the output remembered for `salt` and `input`, where it lies: 1 when they are
   * equal, 0 when not, -1 when nothing is remembered (a following set need not hash the input again).
   */
  matches(salt: number, input: Uint8Array, output: Uint8Array): number {
    if (input.length > memoInputBytesMax) return -1;
    const hash = memoHash(salt, input);
    this.lastInput = input;
    this.lastSalt = salt;
    this.lastHash = hash;
    const current = this.current?.matches(hash, salt, input, output) ?? -1;
    return current >= 0 ? current : (this.previous?.matches(hash, salt, input, output) ?? -1);
  }

  /** set remembers `output` for `salt` and `input` (copies of both). */
  set(salt: number, input: Uint8Array, output: Uint8Array): void {
    if (input.length > memoInputBytesMax) return;
    let current = (this.current ??= new MemoGeneration());
    if (!current.fits(input.length, output.length)) {
      // The last generation is forgotten, and its room serves the next one.
      const next = this.previous ?? new MemoGeneration();
      next.clear();
      this.previous = current;
      this.current = current = next;
    }
    // The input cannot have changed since the lookup that missed: the function computed from it in between is pure.
    const hash = input === this.lastInput && salt === this.lastSalt ? this.lastHash : memoHash(salt, input);
    this.lastInput = undefined;
    current.add(hash, salt, input, output);
  }
}

/** memoHash is FNV-1a over `input` taken four bytes at a time (a quarter of the multiplications), seeded by `salt` and the length. */
function memoHash(salt: number, input: Uint8Array): number {
  let hash = Math.imul((0x811c9dc5 ^ salt) | 0, 0x01000193) ^ input.length;
  const words = input.length & ~3;
  let i = 0;
  for (; i < words; i += 4) {
    const word = (input[i] as number) | ((input[i + 1] as number) << 8) | ((input[i + 2] as number) << 16) | ((input[i + 3] as number) << 24);
    hash = Math.imul(hash ^ word, 0x01000193);
  }
  for (; i < input.length; i++) hash = Math.imul(hash ^ (input[i] as number), 0x01000193);
  return hash ^ (hash >>> 15);
}

/**
 * HmacSha256 computes HMAC-SHA256 (RFC 2104) in JavaScript, with each key's
 * padded blocks compressed once. PBFT's authenticators cost a run some 40
 * MACs per operation over a few dozen bytes each; node:crypto's createHmac
 * spends about 2 µs setting up each one (issue 18), where the two SHA-256
 * blocks a short message needs here cost far less. The digests are the same
 * byte for byte (the tests check them against node:crypto).
 */
export class HmacSha256 {
  /** keys: each key's pads, by the key object (a KeyRing hands out one per pair), checked against its bytes on use. */
  private readonly keys = new WeakMap<Uint8Array, HmacKey>();
  private readonly state = new Int32Array(8);
  private nextKeyId = 1;
  /** The key of the last MAC and its pads: a node's MACs in a row often share a key (a reply's, a point-to-point message's). */
  private lastKey: Uint8Array | undefined = undefined;
  private lastPads: HmacKey = { key: new Uint8Array(0), inner: new Int32Array(8), outer: new Int32Array(8), id: 0 };
  /** The last recentKeysMax keys whose pads were looked up, each beside its pads, replaced in turn. */
  private readonly recentKeys: Uint8Array[] = [];
  private readonly recentPads: HmacKey[] = [];
  private recentNext = 0;

  /** memo, when given, remembers recent MACs by key and data (a receiver checks the MAC its sender computed). */
  constructor(private readonly memo: ByteMemo | undefined = undefined) {}

  mac(key: Uint8Array, data: Uint8Array): Uint8Array {
    const pads = this.padsOf(key);
    const memo = this.memo;
    const known = memo?.get(pads.id, data);
    if (known !== undefined) return known;
    const mac = this.compute(pads, data);
    memo?.set(pads.id, data, mac);
    return mac;
  }

  /** matches tells whether `mac` is the MAC of `data` under `key`: a remembered MAC is compared where it lies, not copied out. */
  matches(key: Uint8Array, data: Uint8Array, mac: Uint8Array): boolean {
    const pads = this.padsOf(key);
    const memo = this.memo;
    const known = memo === undefined ? -1 : memo.matches(pads.id, data, mac);
    if (known >= 0) return known === 1;
    const computed = this.compute(pads, data);
    memo?.set(pads.id, data, computed);
    return bytesEqual(computed, mac);
  }

  private compute(pads: HmacKey, data: Uint8Array): Uint8Array {
    const state = this.state;
    state.set(pads.inner);
    sha256Absorb(state, sha256BlockBytes, data);
    // The outer hash's one block is the inner digest's eight words, the padding's 1 bit and the length: built
    // in the schedule from the inner state, never written out as bytes.
    const w = schedule;
    for (let i = 0; i < 8; i++) w[i] = state[i] as number;
    w[8] = 0x80000000 | 0;
    w.fill(0, 9, 15);
    w[15] = hmacOuterBits;
    state.set(pads.outer);
    compress(state);
    const mac = new Uint8Array(32);
    writeDigest(state, mac, 0);
    return mac;
  }

  private padsOf(key: Uint8Array): HmacKey {
    let pads: HmacKey | undefined;
    if (this.lastKey === key) pads = this.lastPads;
    else {
      // A broadcast's MACs and their checks take turns among a few keys: the recent ones are found by identity
      // before the WeakMap is asked (issue 18).
      const recent = this.recentKeys;
      for (let i = 0; i < recent.length; i++) {
        if (recent[i] === key) {
          pads = this.recentPads[i];
          break;
        }
      }
    }
    if (pads === undefined || !bytesEqual(pads.key, key)) {
      pads = this.pads(key);
      this.recentKeys[this.recentNext] = key;
      this.recentPads[this.recentNext] = pads;
      this.recentNext = (this.recentNext + 1) % recentKeysMax;
    }
    this.lastKey = key;
    this.lastPads = pads;
    return pads;
  }

  private pads(key: Uint8Array): HmacKey {
    const known = this.keys.get(key);
    if (known !== undefined && bytesEqual(known.key, key)) return known;
    // A key longer than a block is hashed first; a shorter one is padded with zeros.
    const block = new Uint8Array(sha256BlockBytes);
    if (key.length > sha256BlockBytes) {
      const state = Int32Array.from(sha256InitialState);
      sha256Absorb(state, 0, key);
      writeDigest(state, block, 0);
    } else {
      block.set(key);
    }
    const padded = (xor: number): Int32Array => {
      const state = Int32Array.from(sha256InitialState);
      loadBlock(block.map((byte) => byte ^ xor), 0);
      compress(state);
      return state;
    };
    const pads = { key: new Uint8Array(key), inner: padded(0x36), outer: padded(0x5c), id: this.nextKeyId++ };
    this.keys.set(key, pads);
    return pads;
  }
}
