// PBFT on the shared test kit (@concord/testkit): how to build a cluster of
// PbftReplicas and PbftClients, and the test cryptography that makes their
// authenticators checkable. The Ready loop, disks, network, Byzantine wrapping
// and crashes are the kit's.
import { createHash, createHmac } from "node:crypto";
import { createRng, firstClientId, type Crypto, type NodeId, type ProtocolOptions } from "@concord/core";
import { PbftReplica, pbft, type PbftMessage } from "@concord/pbft";
import { PbftAgreementMonitor } from "@concord/pbft/internals";
import { TestCluster, type Envelope as KitEnvelope } from "@concord/testkit";

/** FakeCrypto is node:crypto's SHA-256 and HMAC-SHA256, with "signatures" that are HMACs under a per-node secret (deterministic, checkable by every node of the test). */
export class FakeCrypto implements Crypto {
  macCount = 0;
  verifyCount = 0;
  constructor(private readonly self: NodeId) {}
  digest(data: Uint8Array): Uint8Array {
    return new Uint8Array(createHash("sha256").update(data).digest());
  }
  mac(key: Uint8Array, data: Uint8Array): Uint8Array {
    this.macCount++;
    return new Uint8Array(createHmac("sha256", key).update(data).digest());
  }
  sign(data: Uint8Array): Uint8Array {
    return signatureOf(this.self, data);
  }
  verify(signer: number, data: Uint8Array, signature: Uint8Array): boolean {
    this.verifyCount++;
    return Buffer.from(signatureOf(signer, data)).equals(Buffer.from(signature));
  }
  macKey(peer: number): Uint8Array {
    const [low, high] = this.self < peer ? [this.self, peer] : [peer, this.self];
    return new TextEncoder().encode(`pairwise:${low}:${high}`);
  }
}

function signatureOf(signer: number, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac("sha256", `signing-key:${signer}`).update(data).digest());
}

/** Envelope is one PBFT message in flight. */
export type Envelope = KitEnvelope<PbftMessage>;

/** PbftCluster is a kit cluster of PbftReplicas. */
export type PbftCluster = TestCluster<PbftMessage, PbftReplica>;

/** firstTestClient is the id of the first client: core's firstClientId, as in the simulator (ids at or above it are clients). */
export const firstTestClient: NodeId = firstClientId;

/** pbftCluster builds `n` PBFT replicas (ids 0..n-1) and `clients` PbftClients, watched by the agreement monitor. */
export function pbftCluster(n: number, options: ProtocolOptions = {}, clients = 1): PbftCluster {
  return new TestCluster({
    algorithm: pbft,
    ids: Array.from({ length: n }, (_, id) => id),
    options,
    rng: (id) => createRng(id),
    crypto: (id) => new FakeCrypto(id),
    monitors: [new PbftAgreementMonitor()],
    clients,
    createReplica: (context) => new PbftReplica(context),
  });
}

/** replicasOf lists the cluster's running replicas, in id order. */
export function replicasOf(cluster: PbftCluster): PbftReplica[] {
  return cluster.running().map((id) => cluster.replica(id));
}

/** cryptoOf returns the FakeCrypto the current incarnation of replica `id` was built with (to count its work). */
export function cryptoOf(cluster: PbftCluster, id: NodeId): FakeCrypto {
  return cluster.crypto(id) as FakeCrypto;
}
