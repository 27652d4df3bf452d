// @concord/kv: the replicated key-value state machine and its operation codec.
export { type KvCommand, type KvResult, type KvOperationType, kvOperationTypes, isReadOnly } from "./operations.ts";
export { encodeCommand, decodeCommand, encodeResult, decodeResult, encodeSnapshotEntries, decodeSnapshotEntries } from "./codec.ts";
export { KvStore, KvStateMachine } from "./state-machine.ts";
export { describeCommand, describeResult } from "./describe.ts";
