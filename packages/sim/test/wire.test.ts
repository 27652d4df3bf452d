import { createRng, type MessageCodec } from "@concord/core";
import { describe, expect, it } from "vitest";
import { SimContext } from "../src/context.ts";
import type { SimEvent } from "../src/events.ts";
import { Network } from "../src/links.ts";
import { Metrics } from "../src/metrics.ts";
import { resolveScenario } from "../src/scenarios.ts";
import { Wire } from "../src/wire.ts";

type Note = { type: string; values: number[] };

/** countingCodec encodes notes as JSON and counts its calls. */
function countingCodec(): MessageCodec<Note> & { encodes: number } {
  const codec = {
    encodes: 0,
    encode(message: Note): Uint8Array {
      codec.encodes++;
      return new TextEncoder().encode(JSON.stringify(message));
    },
    decode: (bytes: Uint8Array): Note => JSON.parse(new TextDecoder().decode(bytes)) as Note,
    typeName: (message: Note): string => message.type,
  };
  return codec;
}

function deliveries(context: SimContext): Extract<SimEvent, { kind: "deliver" }>[] {
  const out: Extract<SimEvent, { kind: "deliver" }>[] = [];
  for (let event = context.queue.pop(); event !== undefined; event = context.queue.pop()) if (event.kind === "deliver") out.push(event);
  return out.sort((a, b) => a.to - b.to);
}

describe("Wire", () => {
  it("encodes a broadcast's one message once, and hands every recipient a copy of its own", () => {
    const scenario = resolveScenario("steady");
    const context = new SimContext(scenario);
    const codec = countingCodec();
    const wire = new Wire(context, codec as MessageCodec<unknown>, new Network(scenario.link, createRng(1)), new Metrics(), true, 0);
    const broadcast: Note = { type: "prepare", values: [1, 2] };
    wire.transmit(1, 2, broadcast, 0);
    wire.transmit(1, 3, broadcast, 0, true);
    wire.transmit(1, 4, broadcast, 0, true);
    expect(codec.encodes).toBe(1);
    // Another message of the same batch, and the same message in a later batch (it may have changed since), are encoded.
    wire.transmit(1, 5, { type: "commit", values: [3] }, 0, true);
    broadcast.values.push(9);
    wire.transmit(1, 6, broadcast, 0);
    expect(codec.encodes).toBe(3);
    const arrived = deliveries(context);
    expect(arrived.map((event) => event.to)).toEqual([2, 3, 4, 5, 6]);
    const [two, three, four] = arrived.map((event) => event.message as Note);
    expect(new Set([two, three, four, broadcast]).size).toBe(4);
    two?.values.push(7);
    expect(three).toEqual({ type: "prepare", values: [1, 2] });
    expect(four).toEqual({ type: "prepare", values: [1, 2] });
    expect(arrived[4]?.message).toEqual({ type: "prepare", values: [1, 2, 9] });
  });
});

describe("Wire with a codec that copies what it decoded", () => {
  it("gives the next recipients of a broadcast copies of the first one's message, decoding the frame where the codec cannot copy", () => {
    const scenario = resolveScenario("steady");
    const context = new SimContext(scenario);
    let decodes = 0;
    let copies = 0;
    const codec: MessageCodec<Note> = {
      ...countingCodec(),
      decode(bytes: Uint8Array): Note {
        decodes++;
        return JSON.parse(new TextDecoder().decode(bytes)) as Note;
      },
      // Copies only messages whose first value is odd; the others are decoded again.
      copy(decoded: Note): Note | undefined {
        if ((decoded.values[0] ?? 0) % 2 === 0) return undefined;
        copies++;
        return { type: decoded.type, values: [...decoded.values] };
      },
    };
    const wire = new Wire(context, codec as MessageCodec<unknown>, new Network(scenario.link, createRng(1)), new Metrics(), true, 0);
    const copied: Note = { type: "prepare", values: [1, 2] };
    for (const to of [2, 3, 4]) wire.transmit(1, to, copied, 0, to > 2);
    expect([decodes, copies]).toEqual([1, 2]);
    const decoded: Note = { type: "commit", values: [2, 4] };
    for (const to of [2, 3, 4]) wire.transmit(1, to, decoded, 0, to > 2);
    expect([decodes, copies]).toEqual([4, 2]);
    const arrived = deliveries(context).map((event) => event.message as Note);
    expect(arrived.filter((note) => note.type === "prepare")).toEqual([copied, copied, copied]);
    expect(arrived.filter((note) => note.type === "commit")).toEqual([decoded, decoded, decoded]);
    expect(new Set(arrived).size).toBe(6);
  });
});
