/**
 * Crypto is the cryptography a protocol may use, injected by the runtime so
 * that protocol packages stay free of `node:*` imports. The simulator's
 * implementation also charges each operation to the node's CPU cost model.
 */
export interface Crypto {
  /** digest returns the SHA-256 of `data`. */
  digest(data: Uint8Array): Uint8Array;
  /** mac returns HMAC-SHA256(key, data). */
  mac(key: Uint8Array, data: Uint8Array): Uint8Array;
  /**
   * macMatches tells whether `mac` is HMAC-SHA256(key, data), the same answer as comparing {@link Crypto.mac}'s result
   * with it, and costs as much as one MAC (optional: a runtime that can check without making the MAC gives it).
   */
  macMatches?(key: Uint8Array, data: Uint8Array, mac: Uint8Array): boolean;
  /** sign returns an Ed25519 signature of `data` under this node's private key. */
  sign(data: Uint8Array): Uint8Array;
  /** verify checks an Ed25519 signature by `signer` over `data`. */
  verify(signer: number, data: Uint8Array, signature: Uint8Array): boolean;
  /** macKey returns the pairwise secret this node shares with `peer` (the same on both sides). */
  macKey(peer: number): Uint8Array;
}

/** bytesEqual compares two byte arrays in full (not constant-time: these are simulations, not secrets at rest). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
