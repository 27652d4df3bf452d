/** KvCommand is one operation on the key-value store. Keys are strings; values are bytes. */
export type KvCommand =
  | { readonly type: "get"; readonly key: string }
  | { readonly type: "put"; readonly key: string; readonly value: Uint8Array }
  | { readonly type: "append"; readonly key: string; readonly value: Uint8Array }
  /** cas writes `value` if the key holds `expected`, or is absent when `expected` is undefined. */
  | { readonly type: "cas"; readonly key: string; readonly expected: Uint8Array | undefined; readonly value: Uint8Array }
  | { readonly type: "delete"; readonly key: string };

/** KvResult is what a {@link KvCommand} returned. */
export type KvResult =
  | { readonly type: "get"; readonly value: Uint8Array | undefined }
  /** put's `value`, when present, is the value the key holds after the put: a write-once register (paxos) reports it, since it may be an earlier put's. */
  | { readonly type: "put"; readonly value?: Uint8Array }
  | { readonly type: "append" }
  | { readonly type: "cas"; readonly ok: boolean }
  | { readonly type: "delete"; readonly existed: boolean }
  | { readonly type: "invalid"; readonly reason: string };

/** KvOperationType names the five operations. */
export type KvOperationType = KvCommand["type"];

/** kvOperationTypes lists the operations in a fixed order (for workloads and reports). */
export const kvOperationTypes: readonly KvOperationType[] = ["get", "put", "append", "cas", "delete"];

/** isReadOnly tells whether a command leaves the store unchanged, so that protocols may serve it as a read. */
export function isReadOnly(command: KvCommand): boolean {
  return command.type === "get";
}
