import { createHash, createHmac } from "node:crypto";
import { createRng } from "@concord/core";
import { describe, expect, it } from "vitest";
import { HmacSha256, KeyRing, NodeCrypto } from "../src/sim-crypto.ts";

function nodeHmac(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac("sha256", key).update(data).digest());
}

describe("HmacSha256", () => {
  it("gives node:crypto's HMAC-SHA256 for keys and data of every length around SHA-256's block and padding edges", () => {
    const rng = createRng(7);
    const bytes = (length: number): Uint8Array => Uint8Array.from({ length }, () => rng.nextInt(256));
    const hmac = new HmacSha256();
    for (const keyLength of [0, 1, 32, 63, 64, 65, 100, 200]) {
      const key = bytes(keyLength);
      for (const dataLength of [0, 1, 52, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 5000]) {
        const data = bytes(dataLength);
        // Twice: the second time the key's pads are known.
        expect(hmac.mac(key, data), `key ${keyLength} bytes, data ${dataLength} bytes`).toEqual(nodeHmac(key, data));
        expect(hmac.mac(key, data), `key ${keyLength} bytes, data ${dataLength} bytes, again`).toEqual(nodeHmac(key, data));
      }
    }
  });

  it("gives node:crypto's HMAC-SHA256 for 2,000 random keys and inputs of every length up to 300 bytes, each word of the last block built in place", () => {
    const rng = createRng(18);
    const bytes = (length: number): Uint8Array => Uint8Array.from({ length }, () => rng.nextInt(256));
    const hmac = new HmacSha256();
    const keys = [0, 16, 32, 64, 65, 150].map(bytes);
    for (let i = 0; i < 2000; i++) {
      const key = keys[i % keys.length] as Uint8Array;
      const data = bytes(i < 301 ? i : rng.nextInt(301));
      expect(hmac.mac(key, data), `key ${key.length} bytes, data ${data.length} bytes`).toEqual(nodeHmac(key, data));
    }
  });

  it("sees a key changed in place after use, and hands out a MAC its caller may change", () => {
    const hmac = new HmacSha256();
    const key = new Uint8Array(32).fill(1);
    const data = Uint8Array.from([1, 2, 3]);
    hmac.mac(key, data).fill(0);
    key[0] = 2;
    expect(hmac.mac(key, data)).toEqual(nodeHmac(key, data));
    expect(hmac.mac(key, data)).toEqual(nodeHmac(key, data));
    // Keys taking turns (found among the recent keys, not as the last one, and past the recent ones), each changed in place after use.
    const keys = Array.from({ length: 12 }, (_, i) => new Uint8Array(32).fill(10 + i));
    for (let round = 0; round < 3; round++) {
      for (const [i, turn] of keys.entries()) {
        if (i >= 3 && round === 0) continue;
        expect(hmac.mac(turn, data)).toEqual(nodeHmac(turn, data));
        expect(hmac.matches(turn, data, nodeHmac(turn, data))).toBe(true);
        turn[round] = (turn[round] as number) ^ 0x5a;
      }
      expect(hmac.mac(key, data)).toEqual(nodeHmac(key, data));
      key[round + 1] = 7;
    }
  });
});

describe("NodeCrypto.mac", () => {
  it("counts every MAC (the CPU cost model charges each) and both ends of a pair compute the same one", () => {
    const ring = new KeyRing(1);
    const sender = new NodeCrypto(1, ring);
    const receiver = new NodeCrypto(2, ring);
    const data = Uint8Array.from([1, 2, 3]);
    const sent = sender.mac(sender.macKey(2), data);
    expect(sent).toEqual(nodeHmac(sender.macKey(2), data));
    expect(receiver.mac(receiver.macKey(1), data)).toEqual(sent);
    expect(sender.counters.macs).toBe(1);
    expect(receiver.counters.macs).toBe(1);
  });
});

describe("KeyRing's memo of digests and MACs", () => {
  it("gives node:crypto's MACs and digests for inputs seen again across many generations, counting every call", () => {
    const rng = createRng(11);
    const inputs = Array.from({ length: 120 }, () => Uint8Array.from({ length: rng.nextInt(1200) }, () => rng.nextInt(256)));
    const ring = new KeyRing(1);
    const nodes = [1, 2, 3].map((id) => new NodeCrypto(id, ring));
    let calls = 0;
    // Each input many times, from every node and every key, far enough apart to outlive the memo's generations.
    for (let round = 0; round < 2; round++) {
      for (const data of inputs) {
        for (const node of nodes) {
          for (const peer of [1, 2, 3]) {
            if (peer === 1 && node === nodes[0]) continue;
            const key = node.macKey(peer);
            expect(node.mac(key, data)).toEqual(nodeHmac(key, data));
            calls++;
          }
          expect(node.digest(data)).toEqual(new Uint8Array(createHash("sha256").update(data).digest()));
        }
      }
    }
    expect(nodes.reduce((sum, node) => sum + node.counters.macs, 0)).toBe(calls);
    expect(nodes.reduce((sum, node) => sum + node.counters.digests, 0)).toBe(2 * inputs.length * nodes.length);
  });

  it("checks a MAC as comparing node:crypto's would, remembered or not, from the memo's every generation, counting each check as a MAC", () => {
    const rng = createRng(12);
    const inputs = Array.from({ length: 700 }, () => Uint8Array.from({ length: rng.nextInt(1100) }, () => rng.nextInt(256)));
    const ring = new KeyRing(1);
    const sender = new NodeCrypto(1, ring);
    const receiver = new NodeCrypto(2, ring);
    const fresh = new NodeCrypto(2, new KeyRing(1, { memo: false }));
    let checks = 0;
    inputs.forEach((data, i) => {
      const key = receiver.macKey(1);
      const right = nodeHmac(key, data);
      // Most inputs were MACed by the sender first (a hit, some from the last generation); the others are not remembered.
      if (i % 4 !== 0) sender.mac(sender.macKey(2), data);
      const flipped = right.map((byte, j) => (j === i % 32 ? byte ^ 1 : byte));
      for (const [mac, expected] of [[right, true], [flipped, false], [right.subarray(0, 31), false], [new Uint8Array(0), false]] as const) {
        expect(receiver.macMatches(key, data, mac), `input ${i} (${data.length} bytes), ${mac.length}-byte MAC`).toBe(expected);
        expect(fresh.macMatches(fresh.macKey(1), data, mac)).toBe(expected);
        checks++;
      }
    });
    expect(receiver.counters.macs).toBe(checks);
    expect(fresh.counters.macs).toBe(checks);
  });

  it("hands out a copy each time: a caller that changes its MAC, digest or input changes nothing remembered", () => {
    const ring = new KeyRing(1);
    const crypto = new NodeCrypto(1, ring);
    const key = crypto.macKey(2);
    const data = Uint8Array.from([1, 2, 3, 4, 5]);
    crypto.mac(key, data).fill(0);
    crypto.digest(data).fill(0);
    expect(crypto.mac(key, data)).toEqual(nodeHmac(key, data));
    expect(crypto.digest(data)).toEqual(new Uint8Array(createHash("sha256").update(data).digest()));
    data[0] = 9;
    expect(crypto.mac(key, data)).toEqual(nodeHmac(key, data));
    expect(crypto.digest(data)).toEqual(new Uint8Array(createHash("sha256").update(data).digest()));
  });
});
