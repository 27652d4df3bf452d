import { createHash, createHmac, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import type { Crypto, NodeId } from "@concord/core";
import { deriveSeed } from "@concord/core";

/** CryptoCounters tallies the cryptographic work of one node, which the CPU cost model charges. */
export interface CryptoCounters {
  digests: number;
  macs: number;
  signatures: number;
  verifications: number;
}

const pkcs8Ed25519Prefix = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

/**
 * KeyRing derives every node's Ed25519 key pair and every pairwise MAC key
 * from the run's seed, so that runs (signatures included) replay byte for byte.
 */
export class KeyRing {
  private readonly privateKeys = new Map<NodeId, KeyObject>();
  private readonly publicKeys = new Map<NodeId, KeyObject>();
  private readonly macKeys = new Map<string, Uint8Array>();

  constructor(private readonly seed: number) {}

  privateKey(node: NodeId): KeyObject {
    let key = this.privateKeys.get(node);
    if (key === undefined) {
      const secret = this.secret(`ed25519:${node}`);
      const der = new Uint8Array(pkcs8Ed25519Prefix.length + 32);
      der.set(pkcs8Ed25519Prefix, 0);
      der.set(secret, pkcs8Ed25519Prefix.length);
      key = createPrivateKey({ key: Buffer.from(der), format: "der", type: "pkcs8" });
      this.privateKeys.set(node, key);
    }
    return key;
  }

  publicKey(node: NodeId): KeyObject {
    let key = this.publicKeys.get(node);
    if (key === undefined) {
      key = createPublicKey(this.privateKey(node));
      this.publicKeys.set(node, key);
    }
    return key;
  }

  macKey(a: NodeId, b: NodeId): Uint8Array {
    const low = Math.min(a, b);
    const high = Math.max(a, b);
    const name = `${low}-${high}`;
    let key = this.macKeys.get(name);
    if (key === undefined) {
      key = this.secret(`mac:${name}`);
      this.macKeys.set(name, key);
    }
    return key;
  }

  private secret(label: string): Uint8Array {
    return new Uint8Array(createHash("sha256").update(`concord-sim:${deriveSeed(this.seed, label)}:${label}`).digest());
  }
}

/** NodeCrypto is core's {@link Crypto} on node:crypto for one node, counting its work for the CPU cost model. */
export class NodeCrypto implements Crypto {
  readonly counters: CryptoCounters = { digests: 0, macs: 0, signatures: 0, verifications: 0 };

  constructor(
    private readonly self: NodeId,
    private readonly keys: KeyRing,
  ) {}

  digest(data: Uint8Array): Uint8Array {
    this.counters.digests++;
    return new Uint8Array(createHash("sha256").update(data).digest());
  }

  mac(key: Uint8Array, data: Uint8Array): Uint8Array {
    this.counters.macs++;
    return new Uint8Array(createHmac("sha256", key).update(data).digest());
  }

  sign(data: Uint8Array): Uint8Array {
    this.counters.signatures++;
    return new Uint8Array(sign(null, data, this.keys.privateKey(this.self)));
  }

  verify(signer: number, data: Uint8Array, signature: Uint8Array): boolean {
    this.counters.verifications++;
    try {
      return verify(null, data, this.keys.publicKey(signer), signature);
    } catch {
      return false;
    }
  }

  macKey(peer: number): Uint8Array {
    return this.keys.macKey(this.self, peer);
  }
}
