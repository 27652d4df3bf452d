import { bytesEqual, type Crypto, type NodeId } from "@concord/core";
import { pbftCodec, type PbftMessage, type PbftReply, type PbftReplicaMessage, type PbftRequest } from "./messages.ts";
import { encodeCanonical, sealedBytes, sealless } from "./sealed-bytes.ts";

/**
 * AuthenticationMode says how replica-to-replica messages are authenticated:
 * `macs` with an authenticator (a vector of HMAC-SHA256, one per receiver;
 * TOCS §3.2), `signatures` with one Ed25519 signature (OSDI §4's BFT-PK).
 * VIEW-CHANGE and NEW-VIEW are signed in both modes, since a NEW-VIEW carries
 * them as proof to third parties.
 */
export type AuthenticationMode = "macs" | "signatures";

const noBytes = new Uint8Array(0);

/** authenticatedBytes returns the bytes a message's MACs or signature cover: its encoding with those fields emptied. */
export function authenticatedBytes(message: PbftMessage): Uint8Array {
  const known = sealedBytes.get(message);
  if (known !== undefined) return known;
  // Known for a message sealed here or decoded from a canonical frame (sealed-bytes.ts). A received message is
  // checked more than once (a retransmitted VIEW-CHANGE against the held one, the view changes nested in a
  // NEW-VIEW); messages are immutable, so its bytes are computed once.
  const bytes = encodeWithoutSeal(message);
  sealedBytes.set(message, bytes);
  return bytes;
}

function remember<T extends object>(sealed: T, bytes: Uint8Array): T {
  sealedBytes.set(sealed, bytes);
  return sealed;
}

function encodeWithoutSeal(message: PbftMessage): Uint8Array {
  return encodeCanonical(message, true) ?? pbftCodec.encode(sealless(message));
}

/**
 * requestBytes returns the bytes a client's authenticator covers. Requests
 * nested in a pre-prepare decode without their `type` tag, which the
 * encoding of a request alone needs.
 */
function requestBytes(request: PbftRequest): Uint8Array {
  return encodeWithoutSeal({ ...request, type: "request" });
}

/** alwaysSigned tells whether a message type is signed in every authentication mode. */
export function alwaysSigned(message: PbftMessage): message is Extract<PbftMessage, { type: "viewChange" | "newView" }> {
  return message.type === "viewChange" || message.type === "newView";
}

/**
 * Authenticator computes and checks the authentication of one node's messages.
 * It holds the sorted replica list, so that MAC vectors are indexed the same
 * way by every node.
 */
export class Authenticator {
  constructor(
    private readonly crypto: Crypto,
    private readonly self: NodeId,
    private readonly replicas: readonly NodeId[],
    readonly mode: AuthenticationMode,
  ) {}

  /** macVector returns one MAC of `bytes` for every replica (the authenticator); this node's own entry is empty. */
  macVector(bytes: Uint8Array): Uint8Array[] {
    const replicas = this.replicas;
    const macs: Uint8Array[] = [];
    for (let i = 0; i < replicas.length; i++) {
      const replica = replicas[i] as NodeId;
      macs.push(replica === this.self ? noBytes : this.crypto.mac(this.crypto.macKey(replica), bytes));
    }
    return macs;
  }

  /** sealBroadcast authenticates a replica message for every replica. */
  sealBroadcast<T extends PbftReplicaMessage>(message: T): T {
    const bytes = authenticatedBytes(message);
    if (alwaysSigned(message) || this.mode === "signatures") return remember({ ...message, signature: this.crypto.sign(bytes) }, bytes);
    return remember({ ...message, macs: this.macVector(bytes) }, bytes);
  }

  /** sealUnicast authenticates a replica message for one receiving replica. */
  sealUnicast<T extends PbftReplicaMessage>(message: T, to: NodeId): T {
    const bytes = authenticatedBytes(message);
    if (alwaysSigned(message) || this.mode === "signatures") return remember({ ...message, signature: this.crypto.sign(bytes) }, bytes);
    return remember({ ...message, macs: [this.crypto.mac(this.crypto.macKey(to), bytes)] }, bytes);
  }

  /** sealRequest authenticates a client request for every replica. */
  sealRequest(request: PbftRequest): PbftRequest {
    const bytes = requestBytes(request);
    return remember({ ...request, macs: this.macVector(bytes) }, bytes);
  }

  /** sealReply authenticates a reply for its client. */
  sealReply(reply: PbftReply): PbftReply {
    const bytes = authenticatedBytes(reply);
    return remember({ ...reply, mac: this.crypto.mac(this.crypto.macKey(reply.clientId), bytes) }, bytes);
  }

  /** verifyReplicaMessage checks that `sender` authenticated `message` for this node. */
  verifyReplicaMessage(sender: NodeId, message: PbftReplicaMessage): boolean {
    if (alwaysSigned(message) || this.mode === "signatures") return this.verifySignature(sender, message);
    return this.replicas.includes(sender) && this.checkMac(sender, authenticatedBytes(message), message.macs);
  }

  /** verifySignature checks `signer`'s signature on a signed message, also one relayed by another replica (a NEW-VIEW, or a VIEW-CHANGE inside one). */
  verifySignature(signer: NodeId, message: PbftReplicaMessage): boolean {
    if (!this.replicas.includes(signer) || message.signature.length === 0) return false;
    return this.crypto.verify(signer, authenticatedBytes(message), message.signature);
  }

  /** verifyRequest checks this replica's entry of a client request's authenticator. */
  verifyRequest(request: PbftRequest): boolean {
    return this.checkMac(request.clientId, sealedBytes.get(request) ?? requestBytes(request), request.macs);
  }

  /** verifyReply checks the MAC of a reply sent to this client by `replica`. */
  verifyReply(replica: NodeId, reply: PbftReply): boolean {
    if (!this.replicas.includes(replica)) return false;
    return this.macMatches(this.crypto.macKey(replica), authenticatedBytes(reply), reply.mac);
  }

  private checkMac(sender: NodeId, bytes: Uint8Array, macs: readonly Uint8Array[]): boolean {
    // A broadcast carries one MAC per replica; a point-to-point message carries just the receiver's.
    const index = macs.length === 1 ? 0 : this.replicas.indexOf(this.self);
    const mac = macs[index];
    if (mac === undefined || macs.length !== 1 && macs.length !== this.replicas.length) return false;
    return this.macMatches(this.crypto.macKey(sender), bytes, mac);
  }

  /** macMatches checks a received MAC, without making one where the runtime can (Crypto.macMatches). */
  private macMatches(key: Uint8Array, bytes: Uint8Array, mac: Uint8Array): boolean {
    const crypto = this.crypto;
    return crypto.macMatches === undefined ? bytesEqual(crypto.mac(key, bytes), mac) : crypto.macMatches(key, bytes, mac);
  }
}
