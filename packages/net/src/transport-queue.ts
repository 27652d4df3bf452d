import type { OutgoingEnvelope } from "./transport-codec.ts";

/**
 * SendQueue holds the frames waiting for one connection: to a peer (it
 * outlives the connections to that peer, so frames queued while the peer is
 * down go out when it is back) or to the clients behind one inbound
 * connection. It is bounded in frames and in payload bytes: a frame that would
 * exceed either bound is refused, never buffered.
 *
 * Invariant: `bytes` is the sum of the payload lengths of frames[head..].
 */
export class SendQueue<Outlet> {
  private frames: OutgoingEnvelope[] = [];
  private head = 0;
  private bytes = 0;
  /** outlet is where the frames go now (a connection ready for them), undefined while there is none. */
  outlet: Outlet | undefined = undefined;

  constructor(
    private readonly framesMax: number,
    private readonly bytesMax: number,
  ) {}

  get length(): number {
    return this.frames.length - this.head;
  }

  /** push queues one frame; false when that would exceed a bound (the caller counts the drop). */
  push(envelope: OutgoingEnvelope): boolean {
    if (this.length >= this.framesMax || this.bytes + envelope.payload.length > this.bytesMax) return false;
    this.frames.push(envelope);
    this.bytes += envelope.payload.length;
    return true;
  }

  /**
   * take removes and returns the oldest frames whose payloads add up to at most
   * `bytesMax` (at least one frame, so that a large frame still goes), as the
   * array and range to encode from.
   */
  take(bytesMax: number): { frames: readonly OutgoingEnvelope[]; first: number; end: number } {
    const frames = this.frames;
    const first = this.head;
    let end = first;
    let bytes = 0;
    while (end < frames.length && (end === first || bytes + frames[end]!.payload.length <= bytesMax)) {
      bytes += frames[end]!.payload.length;
      end += 1;
    }
    this.bytes -= bytes;
    if (end === frames.length) {
      this.frames = [];
      this.head = 0;
    } else {
      // Keep the array: the taken range stays readable until the caller has encoded it.
      this.head = end;
      if (this.head > 1024 && this.head * 2 > frames.length) {
        this.frames = frames.slice(this.head);
        this.head = 0;
      }
    }
    return { frames, first, end };
  }

  /** clear drops every queued frame and returns how many there were. */
  clear(): number {
    const dropped = this.length;
    this.frames = [];
    this.head = 0;
    this.bytes = 0;
    return dropped;
  }
}
