import type { NodeId } from "@concord/core";
import type { StampFields } from "./messages.ts";

/** Stamp is a write's place in the total order of a key's writes: a hybrid logical clock reading and a tie-breaking node id. */
export interface Stamp {
  readonly wall: number;
  readonly logical: number;
  readonly node: NodeId;
}

/** compareStamps orders stamps by wall, then logical, then node id: negative when `a` is older, 0 when equal. */
export function compareStamps(a: StampFields, b: StampFields): number {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1;
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1;
  return a.node === b.node ? 0 : a.node < b.node ? -1 : 1;
}

/** stampOf copies the stamp fields out of an entry or a stamp message. */
export function stampOf(fields: StampFields): Stamp {
  return { wall: fields.wall, logical: fields.logical, node: fields.node };
}

/**
 * HybridClock is a hybrid logical clock (Kulkarni, Demirbas et al., "Logical Physical Clocks and Consistent
 * Snapshots in Globally Distributed Databases", 2014, Figure 5): its readings never go back, stay close to the
 * physical clock, and exceed every reading heard of in a message, so that a write stamped after a replica learned
 * of another write orders after it (a causal successor never loses last-writer-wins to its cause). The physical
 * clock is the replica's tick count, the only clock a deterministic replica has.
 */
export class HybridClock {
  private wall = 0;
  private logical = 0;

  constructor(private readonly node: NodeId) {}

  /** now reads the clock for a local event (a write taken) at physical time `physical`. */
  now(physical: number): Stamp {
    if (physical > this.wall) {
      this.wall = physical;
      this.logical = 0;
    } else {
      this.logical++;
    }
    return { wall: this.wall, logical: this.logical, node: this.node };
  }

  /** observe moves the clock past a reading heard of in a message, at physical time `physical`. */
  observe(heard: StampFields, physical: number): void {
    const wall = Math.max(this.wall, heard.wall, physical);
    if (wall === this.wall && wall === heard.wall) this.logical = Math.max(this.logical, heard.logical) + 1;
    else if (wall === this.wall) this.logical++;
    else if (wall === heard.wall) this.logical = heard.logical + 1;
    else this.logical = 0;
    this.wall = wall;
  }
}
