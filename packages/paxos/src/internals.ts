/** @module @concord/paxos/internals */
// @concord/paxos/internals: the pieces of single-decree Paxos that tests, benchmarks and people studying
// the protocol reach for, behind their own export path so that the package's public face stays the one
// every protocol shares. Nothing here is needed to run Paxos: the definition `paxos` wires it all.
export { paxosMessagesPerOp } from "./algorithm.ts";
export { type AcceptedValue } from "./replica.ts";
export { type PaxosBallot, type BallotFields, compareBallots, ballotEquals, formatBallot, zeroBallot } from "./ballot.ts";
export { OneValuePerKeyMonitor, LearnedValueMonitor } from "./monitor.ts";
export { validateMessage, type PaxosMessageRejection } from "./validate.ts";
export { paxosRecordCodec, type PaxosRecord, type PromiseRecord, type AcceptanceRecord } from "./messages.ts";
export { paxosOptionSpace, paxosHardPaths, createPaxosPathCounter } from "./swarm.ts";
