import { describe, expect, it } from "vitest";
import { MemoryStorage, type NodeId } from "@concord/core";
import { KvStateMachine } from "@concord/kv";
import { raft } from "@concord/raft";
import { ClusterCrypto, ClusterKeys } from "../src/cluster-crypto.ts";
import { NodeRuntime } from "../src/node-runtime.ts";
import { TickClock } from "../src/tick-clock.ts";
import { LoopbackHub } from "./loopback-hub.ts";

describe("TickClock", () => {
  it("owes one tick per tickMs of real time, whole ticks only", () => {
    let now = 1_000;
    const clock = new TickClock(10, () => now);
    expect(clock.due()).toBe(0);
    now += 9.9;
    expect(clock.due()).toBe(0);
    now += 0.1;
    expect(clock.due()).toBe(1);
    now += 25;
    expect(clock.due()).toBe(3);
  });

  it("owes every tick of a pause at once: a process stopped for 60 s is owed 6,000 ticks of 10 ms when it resumes", () => {
    let now = 0;
    const clock = new TickClock(10, () => now);
    now = 60_000;
    expect(clock.due()).toBe(6_000);
  });

  it("runs at a new rate from the moment it is set, keeping the ticks owed until then", () => {
    let now = 0;
    const clock = new TickClock(10, () => now);
    now = 105; // 10.5 ticks at rate 1
    clock.setRate(4);
    expect(clock.periodMs).toBe(2.5);
    expect(clock.due()).toBe(10);
    now = 106.25; // 10.5 + 1.25 * 4 / 10 = 11
    expect(clock.due()).toBe(11);
    clock.setRate(0.5);
    now = 126.25; // 11 + 20 * 0.5 / 10 = 12
    expect(clock.due()).toBe(12);
  });

  it("takes no tick back if the clock it reads goes back, and refuses a rate or tick length that is not positive", () => {
    let now = 50;
    const clock = new TickClock(10, () => now);
    now = 40;
    expect(clock.due()).toBe(0);
    expect(() => clock.setRate(0)).toThrow(/rate must be positive, got 0/);
    expect(() => new TickClock(0, () => 0)).toThrow(/tickMs must be positive, got 0/);
  });
});

describe("NodeRuntime's ticks follow real time", () => {
  it("hands the replica every tick it missed while its process was paused, on the next firing of its timer", async () => {
    const hub = new LoopbackHub();
    const keys = new ClusterKeys(new Uint8Array(32).fill(3));
    const id: NodeId = 0;
    let now = 0;
    const node = await NodeRuntime.start({
      algorithm: raft,
      id,
      replicas: [0, 1, 2],
      storage: new MemoryStorage(),
      stateMachine: new KvStateMachine(),
      crypto: new ClusterCrypto(id, keys),
      options: {},
      seed: 1,
      tickMs: 5,
      monotonicNow: () => now,
      connect: async (sink) => hub.transport([id], sink),
    });
    try {
      // The timer fires, but no real time has passed on the clock the ticks are counted from: no tick is owed.
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(node.counts.ticks).toBe(0);
      // A pause of 2 s (SIGSTOP, a GC pause): the timer fires once after it, and the replica sees all 400 ticks.
      now += 2_000;
      const deadline = Date.now() + 5_000;
      // The status is the replica's as of the runtime's last turn, which follows the ticks' turn: wait for both.
      while ((node.counts.ticks < 400 || node.status.role === "follower") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(node.counts.ticks).toBe(400);
      // A lone candidate of three: 2 s is many election timeouts, so it has stood for election (pre-vote first).
      expect(node.status.role).not.toBe("follower");
    } finally {
      await node.stop();
    }
  });
});
