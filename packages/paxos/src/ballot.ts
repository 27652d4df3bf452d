import type { NodeId } from "@concord/core";

/**
 * PaxosBallot is a ballot number, totally ordered by (round, node) so that no
 * two proposers ever use the same one (Paxos Made Simple §2.5: proposers
 * choose their numbers from disjoint sets).
 */
export interface PaxosBallot {
  /** round is compared first; a proposer picks one above every round it has seen for the key. */
  readonly round: number;
  /** node is the ballot's owner: it breaks ties, so two proposers never share a ballot. */
  readonly node: NodeId;
}

/** BallotFields are the two fields that carry a ballot on the wire. */
export interface BallotFields {
  /** ballotRound is the ballot's round, compared first. */
  readonly ballotRound: number;
  /** ballotNode is the ballot's owner, which breaks ties between rounds. */
  readonly ballotNode: NodeId;
}

/** zeroBallot is below every ballot a proposer uses; an acceptor starts having promised it. */
export const zeroBallot: PaxosBallot = { round: 0, node: 0 };

/** compareBallots orders ballots by round, then node id: negative, zero or positive. */
export function compareBallots(a: PaxosBallot, b: PaxosBallot): number {
  return a.round !== b.round ? a.round - b.round : a.node - b.node;
}

/** ballotEquals tells whether two ballots are the same. */
export function ballotEquals(a: PaxosBallot, b: PaxosBallot): boolean {
  return a.round === b.round && a.node === b.node;
}

/** ballotOf reads the ballot carried by a message or record. */
export function ballotOf(fields: BallotFields): PaxosBallot {
  return { round: fields.ballotRound, node: fields.ballotNode };
}

/** ballotFields turns a ballot into its two wire fields. */
export function ballotFields(ballot: PaxosBallot): BallotFields {
  return { ballotRound: ballot.round, ballotNode: ballot.node };
}

/** formatBallot renders a ballot as `round.node` for messages and logs. */
export function formatBallot(ballot: PaxosBallot): string {
  return `${ballot.round}.${ballot.node}`;
}
