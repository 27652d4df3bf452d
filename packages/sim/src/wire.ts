import type { MessageCodec, NodeId } from "@concord/core";
import { type SimContext, usPerMs } from "./context.ts";
import type { HeldMessage, Network } from "./links.ts";
import type { MessageRecorder, TracedMessage } from "./message-trace.ts";
import type { Metrics } from "./metrics.ts";

/** arrivalsPerMessageMax is how many copies of one message a link can deliver: the message and one duplicate. */
const arrivalsPerMessageMax = 2;

/**
 * Wire carries messages between nodes, as TigerBeetle's packet simulator
 * does: it counts each message, encodes it (so that byte counts are real and
 * codec bugs surface), and queues its arrivals as the links decide (latency,
 * loss, duplication, partitions).
 */
export class Wire {
  private readonly arrivalsOut = new Float64Array(arrivalsPerMessageMax);
  /** The message transmit encoded last, with its encoding, for the next copies of a broadcast. */
  private lastMessage: unknown = undefined;
  private lastEncoded: Uint8Array | undefined = undefined;
  /** What the last call's recipient got from decoding lastEncoded, which the codec may copy for the next. */
  private lastDecoded: unknown = undefined;

  constructor(
    private readonly context: SimContext,
    private readonly codec: MessageCodec<unknown>,
    private readonly network: Network,
    private readonly metrics: Metrics,
    /** encode: really encode and decode every message (else it travels as the object). */
    private readonly encode: boolean,
    /** warmupUs is when the workload starts: traffic before it is counted apart. */
    private readonly warmupUs: number,
    /** recorder: records the messages of a window when the run asks for a trace; undefined (and free) otherwise. */
    private readonly recorder: MessageRecorder | undefined = undefined,
  ) {}

  /**
   * transmit counts, encodes and hands one message to the network, leaving `from` at `departUs`. `again` says
   * that the caller sends the same batch of messages as its last call did (the next recipient of a broadcast):
   * the very message object of that call is not encoded a second time, since nothing could change it in between
   * (each recipient still gets a copy of its own: decoded from the frame, or the codec's copy of what the last
   * recipient decoded, which is the same message).
   */
  transmit(from: NodeId, to: NodeId, message: unknown, departUs: number, again = false): void {
    const codec = this.codec;
    const measured = this.context.nowUs >= this.warmupUs;
    const network = this.network;
    const type = measured || network.scopedOverrides() > 0 || network.activeHolds() > 0 ? codec.typeName(message) : "";
    this.metrics.countMessage(measured, type);
    let delivered = message;
    let bytes = 0;
    let encoded: Uint8Array | undefined;
    if (this.encode) {
      if (again && message === this.lastMessage && this.lastEncoded !== undefined) {
        // The next recipient of a broadcast: a copy of what the last one decoded (untouched: nothing has run since)
        // is what decoding the frame again would give, where the codec can make one.
        encoded = this.lastEncoded;
        const copy = codec.copy === undefined ? undefined : codec.copy(this.lastDecoded);
        delivered = copy ?? codec.decode(encoded);
        if (copy === undefined) this.lastDecoded = delivered;
      } else {
        encoded = codec.encode(message);
        delivered = codec.decode(encoded);
        this.lastMessage = message;
        this.lastEncoded = encoded;
        this.lastDecoded = delivered;
      }
      bytes = encoded.length;
    }
    this.metrics.countBytes(measured, bytes);
    if (network.activeHolds() > 0) {
      const hold = network.holdFor(from, to, type);
      if (hold !== undefined) {
        network.keep({ hold, from, to, message: delivered, encoded, bytes, type });
        return;
      }
    }
    if (this.recorder !== undefined && this.recorder.wants(this.context.nowUs)) {
      this.transmitTraced(this.recorder, from, to, delivered, encoded, bytes, departUs, type, type === "" ? codec.typeName(message) : type);
      return;
    }
    this.send(from, to, delivered, encoded, bytes, departUs, type);
  }

  /**
   * sendHeld sends on, leaving now through the links as they are now, messages a hold kept: counted and encoded
   * when they were first sent, they are traced (when the trace wants this moment) as they leave the hold.
   */
  sendHeld(messages: readonly HeldMessage[]): void {
    const nowUs = this.context.nowUs;
    for (const { from, to, message, encoded, bytes, type } of messages) {
      if (this.recorder !== undefined && this.recorder.wants(nowUs)) this.transmitTraced(this.recorder, from, to, message, encoded, bytes, nowUs, type, type === "" ? this.codec.typeName(message) : type);
      else this.send(from, to, message, encoded, bytes, nowUs, type);
    }
  }

  /** send queues the arrivals the network decides for one message. */
  private send(from: NodeId, to: NodeId, delivered: unknown, encoded: Uint8Array | undefined, bytes: number, departUs: number, type: string): void {
    const codec = this.codec;
    const count = this.network.arrivals(from, to, departUs, bytes, this.arrivalsOut, type);
    for (let i = 0; i < count; i++) {
      // A duplicate is a second copy on the wire: decode it apart, so that a replica that keeps or changes one copy cannot touch the other.
      const copy = i > 0 && encoded !== undefined ? codec.decode(encoded) : delivered;
      this.context.queue.push(this.arrivalsOut[i] as number, { kind: "deliver", to, from, message: copy, bytes });
    }
  }

  /**
   * transmitTraced is transmit's second half for a message the trace records: the network decides its fate
   * with the same draws as for any other, and each arrival carries the record it marks received.
   */
  private transmitTraced(
    recorder: MessageRecorder,
    from: NodeId,
    to: NodeId,
    delivered: unknown,
    encoded: Uint8Array | undefined,
    bytes: number,
    departUs: number,
    networkType: string,
    traceType: string,
  ): void {
    // blocked only reads the partitions: asking it draws nothing, so the run stays the same.
    const partitioned = this.network.activePartitions() > 0 && this.network.blocked(from, to);
    const count = this.network.arrivals(from, to, departUs, bytes, this.arrivalsOut, networkType);
    const record: TracedMessage = {
      sentMs: departUs / usPerMs,
      from,
      to,
      type: traceType,
      bytes,
      arrivals: [],
      ...(count === 0 ? { dropped: partitioned ? "partition" : "loss" } : {}),
    };
    recorder.record(record);
    for (let i = 0; i < count; i++) {
      const copy = i > 0 && encoded !== undefined ? this.codec.decode(encoded) : delivered;
      const atUs = this.arrivalsOut[i] as number;
      const arrival = { atMs: atUs / usPerMs, received: false };
      record.arrivals.push(arrival);
      this.context.queue.push(atUs, { kind: "deliver", to, from, message: copy, bytes, arrival });
    }
  }
}
