import { type NodeId, assert } from "@concord/core";
import type { Configuration } from "./messages.ts";
import { majoritySize } from "./quorum.ts";

/** EffectiveConfiguration is one configuration of acceptors with its quorum size, in effect from its slot on (core's Membership is what an operator reads). */
export interface EffectiveConfiguration {
  /** effectiveSlot is the first slot the configuration governs. */
  readonly effectiveSlot: number;
  /** members are the acceptors, in increasing id order. */
  readonly members: readonly NodeId[];
  /** memberSet holds the same acceptors, for membership tests. */
  readonly memberSet: ReadonlySet<NodeId>;
  /** quorum is a majority of the members. */
  readonly quorum: number;
}

function membership(configuration: Configuration): EffectiveConfiguration {
  const members = [...new Set(configuration.members)].sort((a, b) => a - b);
  assert(members.length > 0, "a configuration needs at least one member");
  return { effectiveSlot: configuration.effectiveSlot, members, memberSet: new Set(members), quorum: majoritySize(members.length) };
}

/**
 * ConfigurationHistory holds the configurations of acceptors that govern the
 * slots a replica still cares about. A configuration chosen in slot i governs
 * slots from i + α on (PMS §3, last paragraphs: the state after executing
 * instance i determines the servers of instance i + α), so the
 * configuration of every slot up to the chosen watermark + α is known.
 *
 * Invariant: effective slots strictly increase and the first is at most the
 * first slot not yet applied.
 */
export class ConfigurationHistory {
  private entries: EffectiveConfiguration[];
  private known: ReadonlySet<NodeId>;
  /** version changes whenever the history does, so that callers can cache what they derive from it. */
  version = 0;

  constructor(configurations: readonly Configuration[]) {
    assert(configurations.length > 0, "a configuration history needs a configuration");
    this.entries = configurations.map(membership);
    this.known = this.computeKnown();
    this.checkOrder();
  }

  /** at returns the configuration that governs `slot`. */
  at(slot: number): EffectiveConfiguration {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const entry = this.entries[i] as EffectiveConfiguration;
      if (entry.effectiveSlot <= slot) return entry;
    }
    return this.entries[0] as EffectiveConfiguration;
  }

  /** add records a newly chosen configuration that governs from `effectiveSlot` on. */
  add(effectiveSlot: number, members: readonly NodeId[]): void {
    const last = this.entries[this.entries.length - 1] as EffectiveConfiguration;
    assert(effectiveSlot > last.effectiveSlot, () => `configuration at ${effectiveSlot} is not after ${last.effectiveSlot}`);
    this.entries.push(membership({ effectiveSlot, members }));
    this.changed();
  }

  /** replace installs the configurations a snapshot carries. */
  replace(configurations: readonly Configuration[]): void {
    assert(configurations.length > 0, "a snapshot carries at least one configuration");
    this.entries = configurations.map(membership);
    this.checkOrder();
    this.changed();
  }

  /** prune forgets configurations that govern no slot from `firstSlot` on. */
  prune(firstSlot: number): void {
    let drop = 0;
    while (drop + 1 < this.entries.length && (this.entries[drop + 1] as EffectiveConfiguration).effectiveSlot <= firstSlot) drop++;
    if (drop === 0) return;
    this.entries = this.entries.slice(drop);
    this.changed();
  }

  /** membersBetween lists every member of a configuration governing a slot in [fromSlot, toSlot]. */
  membersBetween(fromSlot: number, toSlot: number): NodeId[] {
    const found = new Set<NodeId>();
    for (let i = 0; i < this.entries.length; i++) {
      const entry = this.entries[i] as EffectiveConfiguration;
      const next = this.entries[i + 1];
      const governsFrom = entry.effectiveSlot;
      const governsTo = next === undefined ? Number.POSITIVE_INFINITY : next.effectiveSlot - 1;
      if (governsTo < fromSlot || governsFrom > toSlot) continue;
      for (const member of entry.members) found.add(member);
    }
    return [...found].sort((a, b) => a - b);
  }

  /** pendingAfter tells whether a configuration takes effect after `slot`. */
  pendingAfter(slot: number): boolean {
    return (this.entries[this.entries.length - 1] as EffectiveConfiguration).effectiveSlot > slot;
  }

  /** knownMembers is every node of every configuration held: the nodes whose messages are accepted. */
  knownMembers(): ReadonlySet<NodeId> {
    return this.known;
  }

  /** list returns the configurations for a snapshot. */
  list(): Configuration[] {
    return this.entries.map((entry) => ({ effectiveSlot: entry.effectiveSlot, members: entry.members }));
  }

  private changed(): void {
    this.known = this.computeKnown();
    this.version++;
  }

  private computeKnown(): ReadonlySet<NodeId> {
    const known = new Set<NodeId>();
    for (const entry of this.entries) for (const member of entry.members) known.add(member);
    return known;
  }

  private checkOrder(): void {
    for (let i = 1; i < this.entries.length; i++) {
      assert((this.entries[i] as EffectiveConfiguration).effectiveSlot > (this.entries[i - 1] as EffectiveConfiguration).effectiveSlot, "configurations out of order");
    }
  }
}
