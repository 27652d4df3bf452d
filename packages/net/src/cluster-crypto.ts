import { createHash, createHmac, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { ConfigError, type Crypto, type NodeId } from "@concord/core";

/** clusterSecretBytesMin is the shortest cluster secret accepted: 256 bits, the strength of the keys derived from it. */
export const clusterSecretBytesMin = 32;

const pkcs8Ed25519Prefix = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

/**
 * ClusterKeys derives every node's Ed25519 key pair and every pairwise MAC key
 * of a real cluster from one secret that the operator hands each node and
 * client out of band (the pre-shared keys PBFT assumes, TOCS §2). Labels are
 * HMAC-SHA256 of the secret, so no key reveals the secret or another key.
 *
 * What it trusts: everyone who holds the secret can derive every key, so it
 * guards against a network that forges or alters frames, not against a
 * Byzantine member (which could sign as another). A deployment that must
 * tolerate Byzantine replicas gives each node its own private key instead;
 * Concord does not ship that key distribution yet (docs/net.md).
 */
export class ClusterKeys {
  private readonly privateKeys = new Map<NodeId, KeyObject>();
  private readonly publicKeys = new Map<NodeId, KeyObject>();
  private readonly macKeys = new Map<string, Uint8Array>();
  private readonly secret: Uint8Array;

  constructor(secret: Uint8Array) {
    if (secret.length < clusterSecretBytesMin) {
      throw new ConfigError("cluster secret", `it has ${secret.length} bytes; it needs at least ${clusterSecretBytesMin} (generate one with \`head -c 32 /dev/urandom > secret\`)`);
    }
    this.secret = new Uint8Array(secret);
  }

  /** privateKey is `node`'s signing key. */
  privateKey(node: NodeId): KeyObject {
    let key = this.privateKeys.get(node);
    if (key === undefined) {
      const der = new Uint8Array(pkcs8Ed25519Prefix.length + 32);
      der.set(pkcs8Ed25519Prefix, 0);
      der.set(this.derive(`ed25519:${node}`), pkcs8Ed25519Prefix.length);
      key = createPrivateKey({ key: Buffer.from(der), format: "der", type: "pkcs8" });
      this.privateKeys.set(node, key);
    }
    return key;
  }

  /** publicKey is `node`'s verification key. */
  publicKey(node: NodeId): KeyObject {
    let key = this.publicKeys.get(node);
    if (key === undefined) {
      key = createPublicKey(this.privateKey(node));
      this.publicKeys.set(node, key);
    }
    return key;
  }

  /** macKey is the key `a` and `b` share, the same whichever asks. */
  macKey(a: NodeId, b: NodeId): Uint8Array {
    const name = `${Math.min(a, b)}-${Math.max(a, b)}`;
    let key = this.macKeys.get(name);
    if (key === undefined) {
      key = this.derive(`mac:${name}`);
      this.macKeys.set(name, key);
    }
    return key;
  }

  private derive(label: string): Uint8Array {
    return new Uint8Array(createHmac("sha256", this.secret).update(`concord-cluster-key:${label}`).digest());
  }
}

/** CryptoCounts tallies one node's cryptographic work, for its metrics. */
export interface CryptoCounts {
  digests: number;
  macs: number;
  signatures: number;
  verifications: number;
}

/** ClusterCrypto is core's {@link Crypto} on node:crypto for one node of a real cluster, counting its work. */
export class ClusterCrypto implements Crypto {
  readonly counts: CryptoCounts = { digests: 0, macs: 0, signatures: 0, verifications: 0 };

  constructor(
    private readonly self: NodeId,
    private readonly keys: ClusterKeys,
  ) {}

  digest(data: Uint8Array): Uint8Array {
    this.counts.digests++;
    return new Uint8Array(createHash("sha256").update(data).digest());
  }

  mac(key: Uint8Array, data: Uint8Array): Uint8Array {
    this.counts.macs++;
    return new Uint8Array(createHmac("sha256", key).update(data).digest());
  }

  sign(data: Uint8Array): Uint8Array {
    this.counts.signatures++;
    return new Uint8Array(sign(null, data, this.keys.privateKey(this.self)));
  }

  verify(signer: number, data: Uint8Array, signature: Uint8Array): boolean {
    this.counts.verifications++;
    try {
      return verify(null, data, this.keys.publicKey(signer), signature);
    } catch {
      // A malformed signature (wrong length) is a failed verification, not a crash.
      return false;
    }
  }

  macKey(peer: number): Uint8Array {
    return this.keys.macKey(this.self, peer);
  }
}
