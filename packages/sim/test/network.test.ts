import { describe, expect, test } from "vitest";
import { createRng } from "@concord/core";
import { Network, linkSchema, type LinkModel } from "@concord/sim";
import { mean } from "./helpers.ts";

const out = new Float64Array(2);

function network(link: Partial<LinkModel>, seed = 1): Network {
  return new Network(linkSchema.parse(link), createRng(seed));
}

/** send pushes `count` messages through the network at time 0 and tallies their fates. */
function send(net: Network, count: number, from = 1, to = 2, bytes = 100): { lost: number; duplicated: number; delaysUs: number[] } {
  let lost = 0;
  let duplicated = 0;
  const delaysUs: number[] = [];
  for (let i = 0; i < count; i++) {
    const arrivals = net.arrivals(from, to, 0, bytes, out);
    if (arrivals === 0) lost++;
    if (arrivals === 2) duplicated++;
    for (let k = 0; k < arrivals; k++) delaysUs.push(out[k] as number);
  }
  return { lost, duplicated, delaysUs };
}

// Over n = 200,000 messages a p = 5% rate has a standard deviation of sqrt(p(1-p)/n) = 0.049 percentage
// points; the tolerance of 0.25 points is about 5 standard deviations, so a correct model fails ~1 in 2 million.
const messages = 200_000;
const tolerancePoints = 0.25;

describe("Network: loss and duplication", () => {
  test.each([1, 2])("a 5%% drop rate drops 5%% of 200,000 messages, within 0.25 percentage points (seed %i)", (seed) => {
    const net = network({ dropPercent: 5 }, seed);
    const { lost } = send(net, messages);
    expect(Math.abs((100 * lost) / messages - 5)).toBeLessThan(tolerancePoints);
    expect(net.dropped).toBe(lost);
  });

  test("a 10% duplication rate duplicates 10% of 200,000 messages, within 0.35 percentage points (5 standard deviations)", () => {
    const net = network({ duplicatePercent: 10 }, 3);
    const { lost, duplicated } = send(net, messages);
    expect(lost).toBe(0);
    expect(Math.abs((100 * duplicated) / messages - 10)).toBeLessThan(0.35);
    expect(net.duplicated).toBe(duplicated);
  });

  test("no drop and no duplication configured means every message arrives exactly once", () => {
    const { lost, duplicated, delaysUs } = send(network({}), 10_000);
    expect([lost, duplicated, delaysUs.length]).toEqual([0, 0, 10_000]);
  });

  test("a 100% drop rate loses everything", () => {
    expect(send(network({ dropPercent: 100 }), 1000).lost).toBe(1000);
  });
});

describe("Network: latency models", () => {
  test("constant latency delays every message by exactly its value", () => {
    const { delaysUs } = send(network({ latency: { kind: "constant", ms: 1.5 } }), 1000);
    expect(new Set(delaysUs)).toEqual(new Set([1500]));
  });

  test("uniform latency stays in [min, max] and averages their midpoint (within 20 us, ~6 standard errors)", () => {
    const { delaysUs } = send(network({ latency: { kind: "uniform", msMin: 1, msMax: 3 } }), 100_000);
    expect(Math.min(...delaysUs)).toBe(1000);
    expect(Math.max(...delaysUs)).toBe(3000);
    // Standard deviation 2000 / sqrt(12) = 577 us; standard error over 100,000 draws: 1.8 us.
    expect(Math.abs(mean(delaysUs) - 2000)).toBeLessThan(20);
  });

  test("exponential latency never goes below its minimum and averages minimum + mean extra (within 35 us, ~5 standard errors)", () => {
    const { delaysUs } = send(network({ latency: { kind: "exponential", msMin: 1, msExtraMean: 2 } }), 100_000);
    expect(Math.min(...delaysUs)).toBeGreaterThanOrEqual(1000);
    // An exponential's standard deviation equals its mean (2000 us): standard error 6.3 us.
    expect(Math.abs(mean(delaysUs) - 3000)).toBeLessThan(35);
    // The tail is exponential: P(extra > 2 * mean) = e^-2 = 13.5%.
    const tail = delaysUs.filter((delay) => delay - 1000 > 4000).length / delaysUs.length;
    expect(Math.abs(tail - Math.exp(-2))).toBeLessThan(0.006);
  });

  test("jitter adds a uniform [0, jitterMs] on top of the latency", () => {
    const { delaysUs } = send(network({ latency: { kind: "constant", ms: 1 }, jitterMs: 0.5 }), 50_000);
    expect(Math.min(...delaysUs)).toBe(1000);
    expect(Math.max(...delaysUs)).toBe(1500);
    expect(Math.abs(mean(delaysUs) - 1250)).toBeLessThan(5);
  });

  test("reordering delays the configured share of messages by up to reorderDelayMs, so later ones overtake them", () => {
    const { delaysUs } = send(network({ latency: { kind: "constant", ms: 1 }, reorderPercent: 20, reorderDelayMs: 5 }), 100_000);
    expect(Math.max(...delaysUs)).toBeLessThanOrEqual(6000);
    // 20% are picked, and a picked message draws its extra delay from [0, 5000] us: 1 in 5001 draws 0.
    const delayed = delaysUs.filter((delay) => delay > 1000).length / delaysUs.length;
    expect(Math.abs(delayed - 0.2 * (5000 / 5001))).toBeLessThan(0.007);
  });

  test("a slow node's extra latency applies to its links in both directions and to no other link", () => {
    const net = network({ latency: { kind: "constant", ms: 1 } });
    net.setExtraLatency(2, 20_000);
    const delay = (from: number, to: number): number => (net.arrivals(from, to, 0, 10, out), out[0] as number);
    expect([delay(1, 2), delay(2, 1), delay(1, 3), delay(3, 1)]).toEqual([21_000, 21_000, 1000, 1000]);
    net.setExtraLatency(2, 0);
    expect(delay(1, 2)).toBe(1000);
  });
});

describe("Network: bandwidth", () => {
  test("bandwidth serialises one link's messages, each taking bytes / bandwidth to transmit, and leaves other links alone", () => {
    // 1,000 bytes at 1,000,000 bytes/s take 1 ms on the wire; latency adds 1 ms after that.
    const net = network({ latency: { kind: "constant", ms: 1 }, bandwidthBytesPerSec: 1_000_000 });
    const arrivals: number[] = [];
    for (let i = 0; i < 5; i++) {
      net.arrivals(1, 2, 0, 1000, out);
      arrivals.push(out[0] as number);
    }
    expect(arrivals).toEqual([2000, 3000, 4000, 5000, 6000]);
    net.arrivals(2, 1, 0, 1000, out);
    expect(out[0]).toBe(2000); // the reverse direction is a link of its own
    net.arrivals(1, 3, 0, 1000, out);
    expect(out[0]).toBe(2000);
    // Once the link is idle again, a message departs at once.
    net.arrivals(1, 2, 100_000, 500, out);
    expect(out[0]).toBe(100_000 + 500 + 1000);
  });

  test("throughput over a saturated link equals its bandwidth", () => {
    const net = network({ latency: { kind: "constant", ms: 0 }, bandwidthBytesPerSec: 125_000 });
    let last = 0;
    for (let i = 0; i < 1000; i++) {
      net.arrivals(1, 2, 0, 125, out);
      last = out[0] as number;
    }
    // 1000 x 125 bytes = 125,000 bytes: one second.
    expect(last).toBe(1_000_000);
  });
});

describe("Network: partitions", () => {
  const nodes = [1, 2, 3, 4, 5, 1_000_000];

  function blockedLinks(net: Network): string[] {
    const blocked: string[] = [];
    for (const from of nodes) for (const to of nodes) if (from !== to && net.blocked(from, to)) blocked.push(`${from}>${to}`);
    return blocked;
  }

  test("a partition blocks exactly the links that cross it, both ways, and drops what they carry", () => {
    const net = network({});
    net.addPartition({ id: 1, isolated: new Set([1, 2]), oneWay: false });
    const crossing = ["1>3", "1>4", "1>5", "1>1000000", "2>3", "2>4", "2>5", "2>1000000", "3>1", "3>2", "4>1", "4>2", "5>1", "5>2", "1000000>1", "1000000>2"];
    expect(blockedLinks(net).sort()).toEqual(crossing.sort());
    expect(net.arrivals(1, 3, 0, 10, out)).toBe(0);
    expect(net.arrivals(3, 1, 0, 10, out)).toBe(0);
    expect(net.arrivals(1, 2, 0, 10, out)).toBe(1);
    expect(net.arrivals(3, 4, 0, 10, out)).toBe(1);
    expect(net.dropped).toBe(2);
  });

  test("a one-way partition blocks only what the isolated nodes send", () => {
    const net = network({});
    net.addPartition({ id: 1, isolated: new Set([3]), oneWay: true });
    expect(blockedLinks(net).sort()).toEqual(["3>1", "3>1000000", "3>2", "3>4", "3>5"]);
  });

  test("partitions combine, and removing one heals only its own links", () => {
    const net = network({});
    net.addPartition({ id: 1, isolated: new Set([1]), oneWay: false });
    net.addPartition({ id: 2, isolated: new Set([5]), oneWay: true });
    expect(net.activePartitions()).toBe(2);
    net.removePartition(1);
    expect(blockedLinks(net).sort()).toEqual(["5>1", "5>1000000", "5>2", "5>3", "5>4"]);
    net.healAll();
    expect(blockedLinks(net)).toEqual([]);
    expect(net.activePartitions()).toBe(0);
  });

  test("a link override changes only the fields it names and is lifted by its id", () => {
    const net = network({ latency: { kind: "constant", ms: 2 }, jitterMs: 0 });
    net.addOverride(7, { dropPercent: 100 });
    expect(net.link().latency).toEqual({ kind: "constant", ms: 2 });
    expect(net.arrivals(1, 2, 0, 10, out)).toBe(0);
    net.removeOverride(7);
    expect(net.arrivals(1, 2, 0, 10, out)).toBe(1);
    expect(out[0]).toBe(2000);
  });
});
