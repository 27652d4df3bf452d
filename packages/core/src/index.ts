// @concord/core: the interfaces every protocol and runtime share. Imports nothing of ours.
export { type NodeId, isNodeId, firstClientId } from "./ids.ts";
export { AssertionError, ConfigError, CorruptionError, assert, unreachable } from "./errors.ts";
export { type Rng, Xoshiro128Rng, createRng, deriveSeed } from "./rng.ts";
export { type Rejection, type Outcome, notLeader, dropped, overloaded, timedOut } from "./results.ts";
export { type Outbound, type Ready, type Replica, type ReplicaRole, type ReplicaStatus } from "./replica.ts";
export {
  ReplicaHost,
  type ReplicaHostCounts,
  type ReplicaHostPhase,
  type SendMessages,
  drainReadiesMax,
} from "./replica-host.ts";
export {
  type Client,
  type ClientReady,
  type Completion,
  type ReadLevel,
  type SubmitOptions,
  type SubmitResult,
  isReadLevel,
  readLevelOf,
  readLevels,
} from "./client.ts";
export { type StateMachine } from "./state-machine.ts";
export { RejectionCounter, type Rejections } from "./rejection-counter.ts";
export { type ClientRequest, type Execution, SessionStateMachine, sessionsMaxDefault } from "./sessions.ts";
export { type QueuedRequest, RequestQueue } from "./request-queue.ts";
export { ClientSession, drawSessionKey, sequenceMax, sessionKeyMax } from "./client-session.ts";
export { ClientOutbox, type OutstandingRequest } from "./client-outbox.ts";
export {
  type DurableState,
  type Storage,
  type RecordLog,
  emptyDurableState,
  frameRecord,
  frameRecordInto,
  readRecordLog,
  recordHeaderBytes,
  recordBytesMax,
} from "./storage.ts";
export { MemoryStorage } from "./memory-storage.ts";
export { crc32 } from "./crc32.ts";
export { type Crypto, bytesEqual } from "./crypto.ts";
export { type MessageCodec, type ProtoDescriptor, createProtobufCodec } from "./codec.ts";
export { type InvariantMonitor, type InvariantViolation, type MonitorEventContext } from "./monitor.ts";
export {
  type ByzantineStrategy,
  type ByzantineStrategyDefinition,
  type ByzantineContext,
  type ByzantineOutbound,
  type ByzantineClient,
} from "./byzantine.ts";
export {
  type AlgorithmDefinition,
  type AnyAlgorithm,
  type ChaosFaultHints,
  type ClientContext,
  type ReplicaContext,
  type ProtocolOptions,
  type FaultModel,
  type KvSemantics,
  type AlgorithmAdmin,
  type AdminResult,
  type Membership,
  type MembershipChange,
} from "./algorithm.ts";
export {
  type OptionValue,
  type OptionRange,
  type OptionSpace,
  type HardPath,
  type PathCounter,
  type LeaseTimingSpace,
  type LeaseTimings,
  drawSwarmInt,
  drawLeaseTimings,
  drawLeaseTicks,
  fixedNumber,
  fixedBoolean,
} from "./option-space.ts";
export { type History, type HistoryOperation, type OperationStatus } from "./history.ts";
export { nodeIdSchema, replicaSetSchema, parseConfig } from "./config.ts";
export { LeaderClient, type LeaderClientTiming } from "./leader-client.ts";
export {
  type ClientRequestMessage,
  type ClientReplyMessage,
  type NotLeaderMessage,
  type ClientAnswer,
  type ClientWireMessage,
  clientAnswerOf,
  readLevelCode,
  readLevelOfCode,
} from "./client-wire.ts";
export { type SoloMessage, soloCodec } from "./solo/messages.ts";
export {
  solo,
  SoloReplica,
  SoloClient,
  createSoloClient,
  createSoloMonitors,
  soloOptionsSchema,
  type SoloOptions,
  type SoloRejectionReason,
} from "./solo/solo.ts";
