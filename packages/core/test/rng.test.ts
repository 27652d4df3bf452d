import { describe, expect, test } from "vitest";
import { AssertionError, Xoshiro128Rng, createRng, deriveSeed, type Rng } from "@concord/core";

function draw(rng: Rng, count: number): number[] {
  return Array.from({ length: count }, () => rng.nextUint32());
}

/** chiSquare returns Pearson's statistic for observed counts against a uniform expectation. */
function chiSquare(counts: readonly number[], total: number): number {
  const expected = total / counts.length;
  return counts.reduce((sum, observed) => sum + (observed - expected) ** 2 / expected, 0);
}

describe("Xoshiro128Rng", () => {
  test("implements xoshiro128** exactly: from state (1, 2, 3, 4) it gives the reference outputs", () => {
    // Reference vector from rand_xoshiro's Xoshiro128StarStar test (state s = [1, 2, 3, 4]).
    const rng = new Xoshiro128Rng(0);
    Object.assign(rng as unknown as Record<string, number>, { a: 1, b: 2, c: 3, d: 4 });
    expect(draw(rng, 10)).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597, 4258142804]);
  });

  test("keeps its published streams: seed 1 starts 2442144158, 3238099751 (replays of recorded seeds depend on it)", () => {
    expect(draw(createRng(1), 2)).toEqual([2442144158, 3238099751]);
  });

  test("the same seed gives the same stream", () => {
    for (const seed of [0, 1, 7, 123_456_789, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
      expect(draw(createRng(seed), 64)).toEqual(draw(createRng(seed), 64));
    }
  });

  test("different seeds give different streams (seeds 0..999 and some large ones)", () => {
    const large = [2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER];
    const negative = [-1, -2, -(2 ** 32), Number.MIN_SAFE_INTEGER];
    const seeds = [...Array.from({ length: 1000 }, (_, i) => i), ...large, ...negative];
    const firstOutputs = new Set(seeds.map((seed) => draw(createRng(seed), 2).join(",")));
    expect(firstOutputs.size).toBe(seeds.length);
  });

  test("nearby seeds give unrelated first outputs (splitmix seeding): no shared high bits pattern", () => {
    const firsts = Array.from({ length: 256 }, (_, seed) => createRng(seed).nextUint32());
    // With unrelated streams the top byte of the first output is spread over many values.
    expect(new Set(firsts.map((value) => value >>> 24)).size).toBeGreaterThan(128);
  });

  test("nextUint32 stays in [0, 2^32) and is an integer", () => {
    const rng = createRng(99);
    expect(draw(rng, 10_000).filter((value) => !Number.isInteger(value) || value < 0 || value >= 2 ** 32)).toEqual([]);
  });

  test("nextInt is uniform over a small bound (chi-square, 9 degrees of freedom, p = 0.001)", () => {
    for (const seed of [1, 2, 3]) {
      const rng = createRng(seed);
      const counts = new Array<number>(10).fill(0);
      const total = 100_000;
      for (let i = 0; i < total; i++) counts[rng.nextInt(10)]!++;
      expect(chiSquare(counts, total)).toBeLessThan(27.88);
    }
  });

  test("nextInt has no modulo bias for a bound near 2^32 (3 * 2^30 split into thirds)", () => {
    // Naive `value % bound` would put half of all draws in the first third.
    const rng = createRng(5);
    const bound = 3 * 2 ** 30;
    const counts = [0, 0, 0];
    const total = 60_000;
    for (let i = 0; i < total; i++) counts[Math.floor(rng.nextInt(bound) / 2 ** 30)]!++;
    // 2 degrees of freedom, p = 0.001.
    expect(chiSquare(counts, total)).toBeLessThan(13.82);
  });

  test("nextInt stays within [0, bound) and reaches both ends", () => {
    const rng = createRng(11);
    for (const bound of [1, 2, 3, 7, 1000, 2 ** 31 + 1, 2 ** 32]) {
      const values = Array.from({ length: 2000 }, () => rng.nextInt(bound));
      expect(values.filter((value) => !Number.isInteger(value) || value < 0 || value >= bound)).toEqual([]);
    }
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(rng.nextInt(5));
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4]);
  });

  test("nextInt refuses bounds that are not integers in [1, 2^32]", () => {
    const rng = createRng(1);
    for (const bound of [0, -1, 1.5, Number.NaN, 2 ** 32 + 1, Number.POSITIVE_INFINITY]) {
      expect(() => rng.nextInt(bound)).toThrow(AssertionError);
    }
  });

  test("nextIntBetween is inclusive of both ends and refuses an empty range", () => {
    const rng = createRng(3);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const value = rng.nextIntBetween(-2, 2);
      expect(value >= -2 && value <= 2).toBe(true);
      seen.add(value);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual([-2, -1, 0, 1, 2]);
    expect(rng.nextIntBetween(4, 4)).toBe(4);
    expect(() => rng.nextIntBetween(5, 4)).toThrow(AssertionError);
    expect(() => rng.nextIntBetween(0.5, 3.5)).toThrow(AssertionError);
  });

  test("chance is never for 0, always for numerator >= denominator, and near the ratio otherwise", () => {
    const rng = createRng(8);
    let hits = 0;
    let wrong = 0;
    const total = 40_000;
    for (let i = 0; i < total; i++) {
      if (rng.chance(0, 10) || !rng.chance(10, 10) || !rng.chance(11, 10)) wrong++;
      if (rng.chance(1, 4)) hits++;
    }
    expect(wrong).toBe(0);
    // Binomial(40000, 1/4): standard deviation ~87; allow 5 sigma.
    expect(Math.abs(hits - total / 4)).toBeLessThan(450);
  });

  test("chance refuses a fractional numerator (which would round up silently) and a non-positive denominator", () => {
    const rng = createRng(1);
    expect(() => rng.chance(0.5, 1)).toThrow(AssertionError);
    expect(() => rng.chance(1, 2.5)).toThrow(AssertionError);
    expect(() => rng.chance(1, 0)).toThrow(AssertionError);
    expect(() => rng.chance(0, 0)).toThrow(AssertionError);
  });

  test("the seed must be a safe integer", () => {
    for (const seed of [1.5, Number.NaN, 2 ** 53]) {
      expect(() => new Xoshiro128Rng(seed)).toThrow(AssertionError);
    }
  });
});

describe("fork", () => {
  test("is deterministic: the same parent seed and labels give the same child streams", () => {
    const left = createRng(42);
    const right = createRng(42);
    expect(draw(left.fork("network"), 16)).toEqual(draw(right.fork("network"), 16));
    expect(draw(left.fork("disk"), 16)).toEqual(draw(right.fork("disk"), 16));
  });

  test("children with different labels, and the parent after forking, give different streams", () => {
    const parent = createRng(42);
    const network = draw(parent.fork("network"), 16);
    const disk = draw(createRng(42).fork("disk"), 16);
    const parentAfter = draw(parent, 16);
    expect(network).not.toEqual(disk);
    expect(network).not.toEqual(parentAfter);
  });

  test("drawing from a child does not move the parent or a sibling", () => {
    const reference = createRng(9);
    const referenceNetwork = reference.fork("network");
    const referenceDisk = reference.fork("disk");
    const expectedDisk = draw(referenceDisk, 8);
    const expectedParent = draw(reference, 8);

    const parent = createRng(9);
    const network = parent.fork("network");
    const disk = parent.fork("disk");
    draw(network, 1000); // a busy sibling
    expect(draw(disk, 8)).toEqual(expectedDisk);
    expect(draw(parent, 8)).toEqual(expectedParent);
    draw(referenceNetwork, 1000);
    expect(draw(network, 8)).toEqual(draw(referenceNetwork, 8));
  });

  test("forking the same label twice gives two different streams", () => {
    const parent = createRng(5);
    expect(draw(parent.fork("client"), 8)).not.toEqual(draw(parent.fork("client"), 8));
  });
});

describe("deriveSeed", () => {
  test("is a pure function of parent and label, returning a uint32", () => {
    expect(deriveSeed(7, "network")).toBe(deriveSeed(7, "network"));
    for (const parent of [0, 1, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      const seed = deriveSeed(parent, "x");
      expect(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32).toBe(true);
    }
  });

  test("different labels and different parents give different seeds", () => {
    const labels = ["network", "disk", "clients", "faults", "node-0", "node-1", "node-10", "", "a", "b"];
    expect(new Set(labels.map((label) => deriveSeed(1, label))).size).toBe(labels.length);
    const parents = Array.from({ length: 1000 }, (_, i) => i);
    expect(new Set(parents.map((parent) => deriveSeed(parent, "network"))).size).toBe(parents.length);
  });

  test("parents that differ only above bit 32 give different seeds", () => {
    expect(deriveSeed(5, "x")).not.toBe(deriveSeed(5 + 2 ** 32, "x"));
  });
});
