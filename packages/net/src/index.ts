// @concord/net: the real-time runtime. Real TCP between processes and machines (length-delimited protobuf
// envelopes, bounded per-peer queues, reconnection, optional mutual TLS), durable file storage (CRC-checked
// segment files, group commit, atomic snapshots), real crypto, and the runtime that hosts one replica or a
// set of clients on a tick timer. It imports core (and node's own modules), never a protocol.
export { type FrameSink, type FrameTransport, type PeerBook } from "./frame-transport.ts";
export {
  frameKind,
  type AdminRequest,
  type AdminResponse,
  type NodeStatusReport,
  wrapFrame,
  encodeAdmin,
  decodeAdmin,
} from "./runtime-frame.ts";
export { ClusterKeys, ClusterCrypto, clusterSecretBytesMin, type CryptoCounts } from "./cluster-crypto.ts";
export { NodeRuntime, tickMsDefault, parseAddress, diskFullCode, diskFullExitCode, type NodeRuntimeSetup, type NodeRuntimeCounts, type TypeTally } from "./node-runtime.ts";
export { ClientHost, clientIdMax, type ClientHostSetup, type ClientHostCounts } from "./client-host.ts";
export {
  FileStorage,
  StorageFailedError,
  fsyncLatencyBucketBoundsMicros,
  segmentBytesMaxDefault,
  type FileStorageCounters,
  type TornTail,
  type FileStorageOptions,
} from "./file-storage.ts";
export { type FileStorageIdentity } from "./file-storage-identity.ts";
export { makeDirectories } from "./make-directories.ts";
export { damageFileStorage, type StorageDamage } from "./file-storage-damage.ts";
export {
  TcpTransport,
  defaultTransportLimits,
  type PeerAddress,
  type TlsFiles,
  type FrameHandler,
  type TransportLimits,
  type TransportCounters,
  type ListenOptions,
  type DialerOptions,
} from "./transport.ts";
export { nodeCertificateName, clientCertificateName } from "./transport-tls.ts";
