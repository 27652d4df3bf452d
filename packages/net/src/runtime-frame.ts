import { CorruptionError, type NodeId } from "@concord/core";

/**
 * The runtimes put one byte before every payload they hand the transport, so
 * that one connection carries both the protocol's messages and the operator's
 * requests (`concord kv status`, `concord member`), which every node answers
 * on the address its peers use. The protocol's own bytes follow unchanged.
 */
export const frameKind = { protocol: 1, adminRequest: 2, adminResponse: 3 } as const;

/** AdminRequest is an operator's question or order to one node. */
export type AdminRequest =
  | { readonly op: "status" }
  | { readonly op: "peers"; readonly peers: Readonly<Record<string, string>> }
  | {
      readonly op: "reconfigure";
      readonly changes: readonly { readonly type: "addVoter" | "removeVoter" | "addLearner" | "removeLearner"; readonly node: NodeId }[];
      readonly joint: boolean;
    }
  | { readonly op: "transfer"; readonly target: NodeId }
  /** clock runs the node's tick timer at `rate` times real time (0.25: a clock four times slow; 2: twice fast), a fault for tests of leases; 1 restores it. */
  | { readonly op: "clock"; readonly rate: number };

/** NodeStatusReport is what a node says of itself to `status`. */
export interface NodeStatusReport {
  readonly id: NodeId;
  readonly algorithm: string;
  readonly role: string;
  readonly epoch: number;
  readonly leader: NodeId | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly membership: { readonly voters: readonly NodeId[]; readonly learners: readonly NodeId[] } | null;
  readonly uptimeMs: number;
  /** diskFull: the node's disk refused a sync, and it holds that Ready, taking no input, until a retry succeeds. */
  readonly diskFull?: boolean;
}

/** AdminResponse answers one AdminRequest: `ok` with what the node did or knows, or an error in words. */
export type AdminResponse =
  | { readonly ok: true; readonly status?: NodeStatusReport; readonly detail?: string }
  | { readonly ok: false; readonly error: string; readonly leader?: NodeId | null };

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** wrapFrame puts the kind byte before a payload. */
export function wrapFrame(kind: number, body: Uint8Array): Uint8Array {
  const framed = new Uint8Array(body.length + 1);
  framed[0] = kind;
  framed.set(body, 1);
  return framed;
}

/** encodeAdmin wraps an admin request or response (tagged with the request's number) as JSON. */
export function encodeAdmin(kind: typeof frameKind.adminRequest | typeof frameKind.adminResponse, requestId: number, body: AdminRequest | AdminResponse): Uint8Array {
  return wrapFrame(kind, encoder.encode(JSON.stringify({ requestId, body })));
}

/** decodeAdmin reads an admin frame's body (after the kind byte); a frame that is not one throws a CorruptionError saying why. */
export function decodeAdmin<T>(body: Uint8Array): { readonly requestId: number; readonly body: T } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(body));
  } catch (error) {
    throw new CorruptionError(`admin frame is not UTF-8 JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null) throw new CorruptionError("admin frame is not a JSON object");
  const { requestId, body: inner } = parsed as { requestId?: unknown; body?: unknown };
  if (typeof requestId !== "number" || !Number.isSafeInteger(requestId)) throw new CorruptionError("admin frame has no integer requestId");
  if (typeof inner !== "object" || inner === null) throw new CorruptionError("admin frame has no body object");
  return { requestId, body: inner as T };
}
