import { assert } from "./errors.ts";

/**
 * Rng is the only source of randomness a replica may use: seeded, injected by
 * the runtime, integers only (so runs replay bit for bit on any platform).
 */
export interface Rng {
  /** nextUint32 returns a uniformly distributed integer in [0, 2^32). */
  nextUint32(): number;
  /** nextInt returns a uniformly distributed integer in [0, boundExclusive). */
  nextInt(boundExclusive: number): number;
  /** nextIntBetween returns a uniformly distributed integer in [low, highInclusive]. */
  nextIntBetween(low: number, highInclusive: number): number;
  /** chance returns true with probability numerator / denominator. */
  chance(numerator: number, denominator: number): boolean;
  /** fork returns an independent generator whose seed derives from this one and `label`. */
  fork(label: string): Rng;
}

/**
 * Xoshiro128Rng is xoshiro128** (Blackman and Vigna), seeded through
 * splitmix32 so that nearby seeds give unrelated streams.
 */
export class Xoshiro128Rng implements Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    assert(Number.isSafeInteger(seed), () => `Rng seed must be a safe integer, got ${seed}`);
    // The low 32 bits seed splitmix32; the high bits are mixed into `c` apart,
    // so that seeds differing only above bit 32 (2^32 and 1, -1 and 0) do not
    // collide. Invariant: seeding is injective over the safe integers (`a` fixes
    // the low word, then `c` fixes the high word), and seeds in [0, 2^32) keep
    // the plain splitmix32 streams (fmix32(0) = 0).
    const high = Math.floor(seed / 0x1_0000_0000) >>> 0;
    let state = seed >>> 0;
    const next = (): number => {
      state = (state + 0x9e3779b9) >>> 0;
      return fmix32(state);
    };
    this.a = next();
    this.b = next();
    this.c = (next() ^ fmix32(high)) >>> 0;
    this.d = next();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  nextUint32(): number {
    const result = Math.imul(rotateLeft(Math.imul(this.b, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.b << 9) >>> 0;
    this.c = (this.c ^ this.a) >>> 0;
    this.d = (this.d ^ this.b) >>> 0;
    this.b = (this.b ^ this.c) >>> 0;
    this.a = (this.a ^ this.d) >>> 0;
    this.c = (this.c ^ t) >>> 0;
    this.d = rotateLeft(this.d, 11);
    return result;
  }

  nextInt(boundExclusive: number): number {
    assert(
      Number.isInteger(boundExclusive) && boundExclusive > 0 && boundExclusive <= 0x1_0000_0000,
      () => `nextInt bound must be an integer in [1, 2^32], got ${boundExclusive}`,
    );
    // Rejection sampling keeps the distribution exactly uniform.
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % boundExclusive);
    for (;;) {
      const value = this.nextUint32();
      if (value < limit) return value % boundExclusive;
    }
  }

  nextIntBetween(low: number, highInclusive: number): number {
    assert(
      Number.isSafeInteger(low) && Number.isSafeInteger(highInclusive) && highInclusive >= low,
      () => `nextIntBetween: need integers low <= highInclusive, got [${low}, ${highInclusive}]`,
    );
    return low + this.nextInt(highInclusive - low + 1);
  }

  chance(numerator: number, denominator: number): boolean {
    // A fractional numerator would be rounded up silently (chance(0.5, 1) is always true).
    assert(
      Number.isInteger(numerator) && Number.isInteger(denominator) && denominator > 0,
      () => `chance: need an integer numerator and a positive integer denominator, got ${numerator}/${denominator}`,
    );
    if (numerator <= 0) return false;
    if (numerator >= denominator) return true;
    return this.nextInt(denominator) < numerator;
  }

  fork(label: string): Rng {
    return new Xoshiro128Rng(deriveSeed(this.nextUint32(), label));
  }
}

/** fmix32 is MurmurHash3's finalizer: a bijection on uint32 that maps 0 to 0. */
function fmix32(value: number): number {
  let z = value >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

function rotateLeft(value: number, shift: number): number {
  return ((value << shift) | (value >>> (32 - shift))) >>> 0;
}

/**
 * deriveSeed mixes a parent seed with a subsystem label (FNV-1a over the
 * label), so one root seed gives every subsystem its own stream.
 */
export function deriveSeed(parent: number, label: string): number {
  let hash = 0x811c9dc5 ^ (parent >>> 0);
  for (let i = 0; i < label.length; i++) {
    hash = Math.imul(hash ^ label.charCodeAt(i), 0x01000193) >>> 0;
  }
  hash = Math.imul(hash ^ Math.floor(parent / 0x1_0000_0000), 0x01000193) >>> 0;
  return hash >>> 0;
}

/** createRng returns the standard {@link Rng} for a seed. */
export function createRng(seed: number): Rng {
  return new Xoshiro128Rng(seed);
}
