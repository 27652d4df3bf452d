import type { NodeId } from "./ids.ts";

/**
 * Rejection is an expected reason why a request was not (or may not have
 * been) executed. These are results, never exceptions.
 */
export type Rejection =
  | { readonly kind: "notLeader"; readonly leaderHint: NodeId | undefined }
  | { readonly kind: "dropped"; readonly reason: string }
  | { readonly kind: "overloaded"; readonly limit: number }
  | { readonly kind: "timedOut"; readonly afterTicks: number };

/** notLeader builds the rejection a follower gives, with its best guess of the leader. */
export function notLeader(leaderHint: NodeId | undefined): Rejection {
  return { kind: "notLeader", leaderHint };
}

/** dropped builds the rejection for a proposal the replica discarded. */
export function dropped(reason: string): Rejection {
  return { kind: "dropped", reason };
}

/** overloaded builds the rejection for a request refused because a limit is full. */
export function overloaded(limit: number): Rejection {
  return { kind: "overloaded", limit };
}

/** timedOut builds the rejection for a request that got no answer in time. */
export function timedOut(afterTicks: number): Rejection {
  return { kind: "timedOut", afterTicks };
}

/**
 * Outcome is how a client request ended, in the three kinds a linearizability
 * checker distinguishes:
 * - `ok`: it took effect exactly once and returned `result`;
 * - `failed`: it certainly did not take effect (Jepsen's `:fail`);
 * - `indeterminate`: it may or may not have taken effect (Jepsen's `:info`).
 */
export type Outcome =
  | { readonly kind: "ok"; readonly result: Uint8Array }
  | { readonly kind: "failed"; readonly rejection: Rejection }
  | { readonly kind: "indeterminate"; readonly rejection: Rejection };
