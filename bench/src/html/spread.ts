/** Spread is a figure across seeds: its median with the smallest and largest value. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly count: number;
}

/** spreadOf summarises the values of one figure across seeds; it throws on none, since a chart of nothing would mislead. */
export function spreadOf(values: readonly number[]): Spread {
  if (values.length === 0) throw new Error("spreadOf: no values");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  // An even count takes the mean of the middle two, as every statistics package does.
  const median = sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number, count: sorted.length };
}

/**
 * groupBy collects items under a key, keeping the order in which keys first
 * appear (so charts list series in the order the results give them).
 */
export function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const name = key(item);
    const group = groups.get(name);
    if (group === undefined) groups.set(name, [item]);
    else group.push(item);
  }
  return groups;
}
