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
  const count = voters.length;
  if (count === 0) return Number.POSITIVE_INFINITY;
  // The majority's index is the (count - majority + 1)-th from the top of the indexes sorted ascending. A leader
  // asks after every acknowledgement (issue 18): a handful of voters are sorted by insertion in an array kept
  // for the purpose, which costs less than allocating a Float64Array a call to sort. A NaN (never an index)
  // takes the typed array's sort, which puts it last.
  if (count <= sortedScratch.length) {
    const indexes = sortedScratch;
    for (let i = 0; i < count; i++) {
      const value = indexOf(voters[i] as number);
      if (value !== value) return sortedIndex(voters, indexOf, count);
      let at = i;
      for (; at > 0 && (indexes[at - 1] as number) > value; at--) indexes[at] = indexes[at - 1] as number;
      indexes[at] = value;
    }
    return indexes[count - majoritySize(count)] as number;
  }
  return sortedIndex(voters, indexOf, count);
}

/** sortedScratch holds majorityIndex's indexes of up to 16 voters while it sorts them. */
const sortedScratch = new Float64Array(16);

/** sortedIndex is majorityIndex by a Float64Array's sort (numeric, ascending, NaN last) of a fresh array. */
function sortedIndex(voters: readonly number[], indexOf: (voter: number) => number, count: number): number {
  const indexes = new Float64Array(count);
  for (let i = 0; i < count; i++) indexes[i] = indexOf(voters[i] as number);
  indexes.sort();
  return indexes[count - majoritySize(count)] as number;
}

/** jointIndex is the index both halves of a joint configuration have reached by majority (thesis §4.3). */
export function jointIndex(incoming: readonly number[], outgoing: readonly number[], indexOf: (voter: number) => number): number {
  const index = majorityIndex(incoming, indexOf);
  return outgoing.length === 0 ? index : Math.min(index, majorityIndex(outgoing, indexOf));
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
