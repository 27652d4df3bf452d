import type { InvariantViolation, NodeId, StateMachine } from "@concord/core";
import { CorruptionError } from "@concord/core";

/**
 * AppliedLogOracle checks that every replica's applied sequence of commands is
 * a prefix of every other's. Each replica's state machine is wrapped in a
 * {@link RecordingStateMachine} that keeps a rolling hash of what it applied;
 * the oracle remembers the first hash seen at each position and flags any
 * replica that reaches the same position with a different one.
 */
export class AppliedLogOracle {
  private readonly hashAt: number[] = [0];
  private readonly found: InvariantViolation[] = [];
  /** timeUs is the current virtual time, set by the simulator before each event. */
  timeUs = 0;

  /** record checks that `node` reached `position` with `hash`. */
  record(node: NodeId, position: number, hash: number): void {
    const known = this.hashAt[position];
    if (known === undefined) {
      if (position === this.hashAt.length) this.hashAt.push(hash);
      else this.hashAt[position] = hash;
      return;
    }
    if (known !== hash && this.found.length < 100) {
      this.found.push({
        invariant: "applied-prefix",
        timeUs: this.timeUs,
        message: `replica ${node} applied a different command sequence: its first ${position} commands differ from another replica's`,
      });
    }
  }

  /** longest is the length of the longest applied sequence seen. */
  longest(): number {
    return this.hashAt.length - 1;
  }

  violations(): readonly InvariantViolation[] {
    return this.found;
  }
}

function mix(hash: number, value: number): number {
  let h = Math.imul(hash ^ value, 0x01000193) >>> 0;
  h ^= h >>> 15;
  return Math.imul(h, 0x85ebca6b) >>> 0;
}

function hashBytes(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ (bytes[i] as number), 0x01000193) >>> 0;
  return h;
}

/**
 * RecordingStateMachine wraps the application state machine of one replica and
 * reports each applied command to the {@link AppliedLogOracle}. Its snapshots
 * carry the position and rolling hash, so a replica restored from a snapshot
 * continues the check where the snapshot left off.
 */
export class RecordingStateMachine implements StateMachine {
  private position = 0;
  private hash = 0;

  constructor(
    private readonly node: NodeId,
    private readonly inner: StateMachine,
    private readonly oracle: AppliedLogOracle | undefined,
  ) {}

  /** applied counts the commands this replica has applied (through snapshots too). */
  get applied(): number {
    return this.position;
  }

  apply(command: Uint8Array): Uint8Array {
    this.position++;
    this.hash = mix(mix(this.hash, hashBytes(command)), command.length);
    this.oracle?.record(this.node, this.position, this.hash);
    return this.inner.apply(command);
  }

  query(command: Uint8Array): Uint8Array {
    return this.inner.query(command);
  }

  snapshot(): Uint8Array {
    const inner = this.inner.snapshot();
    const bytes = new Uint8Array(12 + inner.length);
    const view = new DataView(bytes.buffer);
    view.setFloat64(0, this.position, true);
    view.setUint32(8, this.hash, true);
    bytes.set(inner, 12);
    return bytes;
  }

  restore(snapshot: Uint8Array): void {
    if (snapshot.length < 12) throw new CorruptionError(`recorded snapshot of ${snapshot.length} bytes is too short`);
    const view = new DataView(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
    const position = view.getFloat64(0, true);
    const hash = view.getUint32(8, true);
    this.inner.restore(snapshot.subarray(12));
    this.position = position;
    this.hash = hash;
    this.oracle?.record(this.node, position, hash);
  }
}
