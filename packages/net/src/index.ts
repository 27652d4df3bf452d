// @concord/net: the real-time runtime. Real TCP between processes and machines (length-delimited protobuf
// envelopes, bounded per-peer queues, reconnection, optional mutual TLS), durable file storage (CRC-checked
// segment files, group commit, atomic snapshots), real crypto, and the runtime that hosts one replica or a
// set of clients on a tick timer. It imports core (and node's own modules), never a protocol.
export {};
