// Quorum arithmetic of Multi-Paxos: majorities of one configuration of
// acceptors (Paxos Made Simple §2.1-2.2; PMMC). A promise quorum (phase 1)
// and an accept quorum (phase 2) are both majorities of the configuration
// that governs the slot, so any two of them share an acceptor. This file
// imports nothing else of the package, so it can be checked on its own (as
// etcd-io/raft's quorum/).

/** majoritySize is the number of acceptors a majority of `memberCount` needs: any two such sets intersect (PMS §2.1). */
export function majoritySize(memberCount: number): number {
  return Math.floor(memberCount / 2) + 1;
}

/**
 * quorumReached tells whether the acceptors in `voters` include `quorum` of
 * `members`. Voters outside the configuration do not count: a promise or an
 * acceptance from a member of another configuration says nothing about this
 * one's majorities.
 */
export function quorumReached(members: readonly number[], quorum: number, voters: ReadonlySet<number>): boolean {
  // Fewer voters than the quorum cannot reach it, whoever they are: the common case costs no walk.
  if (voters.size < quorum) return false;
  let count = 0;
  for (const member of members) if (voters.has(member)) count++;
  return count >= quorum;
}

/**
 * quorumValue returns the highest value that `quorum` of `members` have each
 * reached, given each member's value (for a lease: the latest tick a majority
 * acknowledged), or `absent` when fewer members than the quorum are given.
 */
export function quorumValue(members: readonly number[], quorum: number, valueOf: (member: number) => number, absent: number): number {
  const values = members.map(valueOf).sort((a, b) => b - a);
  return values[quorum - 1] ?? absent;
}
