/**
 * StateMachine is the application a consensus protocol replicates. It must be
 * deterministic: the same commands in the same order give the same results and
 * the same snapshots on every replica.
 */
export interface StateMachine {
  /** apply executes one committed command and returns its result. */
  apply(command: Uint8Array): Uint8Array;
  /** query executes a read-only command without changing state. */
  query(command: Uint8Array): Uint8Array;
  /** snapshot returns the whole state as bytes. */
  snapshot(): Uint8Array;
  /** restore replaces the whole state with a snapshot taken by `snapshot()`. */
  restore(snapshot: Uint8Array): void;
}
