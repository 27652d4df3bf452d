import type { NodeId } from "@concord/core";
import type { BallotFields } from "./messages.ts";

/**
 * Ballot is a Paxos ballot number, totally ordered by (round, node) so that no
 * two proposers ever use the same one (Paxos Made Simple §2.5: proposers
 * choose their numbers from disjoint sets).
 */
export interface Ballot {
  /** round is compared first; a proposer picks one above every round it has seen. */
  readonly round: number;
  /** node is the ballot's owner: it breaks ties, so two proposers never share a ballot. */
  readonly node: NodeId;
}

/** zeroBallot is below every ballot a proposer uses; an acceptor starts having promised it. */
export const zeroBallot: Ballot = { round: 0, node: 0 };

/** compareBallots orders ballots by round, then node id: negative, zero or positive. */
export function compareBallots(a: Ballot, b: Ballot): number {
  return a.round !== b.round ? a.round - b.round : a.node - b.node;
}

/** ballotEquals tells whether two ballots are the same. */
export function ballotEquals(a: Ballot, b: Ballot): boolean {
  return a.round === b.round && a.node === b.node;
}

/** ballotOf reads the ballot carried by a message or record. */
export function ballotOf(fields: BallotFields): Ballot {
  return { round: fields.ballotRound, node: fields.ballotNode };
}

/** ballotFields turns a ballot into the two wire fields. */
export function ballotFields(ballot: Ballot): BallotFields {
  return { ballotRound: ballot.round, ballotNode: ballot.node };
}

/** formatBallot renders a ballot as `round.node` for messages and logs. */
export function formatBallot(ballot: Ballot): string {
  return `${ballot.round}.${ballot.node}`;
}
