// Quorum arithmetic (Raft §5.2, §5.4.2; thesis §4.3 for joint consensus). This
// file imports nothing else of ours, so it can be checked on its own.

/** VoteResult is the outcome of counting votes: won, lost, or still open. */
export type VoteResult = "won" | "lost" | "pending";

/** majoritySize is the number of voters a majority of `voterCount` needs. */
export function majoritySize(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * majorityIndex returns the highest index that a majority of `voters` have
 * reached, given each voter's index. An empty voter set agrees to anything
 * (so that a joint configuration with no outgoing half reduces to its
 * incoming half).
 */
export function majorityIndex(voters: readonly number[], indexOf: (voter: number) => number): number {
  if (voters.length === 0) return Number.POSITIVE_INFINITY;
  const indexes = voters.map(indexOf).sort((a, b) => b - a);
  return indexes[majoritySize(voters.length) - 1] as number;
}

/** jointIndex is the index both halves of a joint configuration have reached by majority (thesis §4.3). */
export function jointIndex(incoming: readonly number[], outgoing: readonly number[], indexOf: (voter: number) => number): number {
  return Math.min(majorityIndex(incoming, indexOf), majorityIndex(outgoing, indexOf));
}

/** majorityVote counts the votes of `voters` (true granted, false rejected, absent not yet heard). */
export function majorityVote(voters: readonly number[], votes: ReadonlyMap<number, boolean>): VoteResult {
  if (voters.length === 0) return "won";
  let granted = 0;
  let missing = 0;
  for (const voter of voters) {
    const vote = votes.get(voter);
    if (vote === undefined) missing++;
    else if (vote) granted++;
  }
  const needed = majoritySize(voters.length);
  if (granted >= needed) return "won";
  if (granted + missing >= needed) return "pending";
  return "lost";
}

/** jointVote wins when both halves win and is lost as soon as either half is lost. */
export function jointVote(incoming: readonly number[], outgoing: readonly number[], votes: ReadonlyMap<number, boolean>): VoteResult {
  const a = majorityVote(incoming, votes);
  const b = majorityVote(outgoing, votes);
  if (a === "won" && b === "won") return "won";
  if (a === "lost" || b === "lost") return "lost";
  return "pending";
}
