import type { NodeId, Rng } from "@concord/core";
import type { LinkModel } from "./scenario.ts";

/**
 * NetworkPartition is one active cut: `isolated` nodes cannot talk to the rest. When
 * oneWay, only one direction is cut: what the isolated nodes send
 * ("outbound", the default) or what they receive ("inbound"). Nodes in
 * `exempt` (clients a partition leaves alone) reach both sides.
 */
export interface NetworkPartition {
  readonly id: number;
  readonly isolated: ReadonlySet<NodeId>;
  readonly oneWay: boolean;
  readonly direction?: "outbound" | "inbound";
  readonly exempt?: ReadonlySet<NodeId>;
}

/** LinkOverride changes some link properties for a while, for every message or only some types, senders or receivers. */
export interface LinkOverride {
  readonly link: { readonly [K in keyof LinkModel]?: LinkModel[K] | undefined };
  /** types: only messages of these type names; every message when absent. */
  readonly types?: ReadonlySet<string>;
  /** from: only messages these nodes send; every sender when absent. */
  readonly from?: ReadonlySet<NodeId>;
  /** to: only messages sent to these nodes; every receiver when absent. */
  readonly to?: ReadonlySet<NodeId>;
}

/** HoldScope selects the messages a hold keeps in the network: from these senders, to these receivers, of these types (each: any when absent). */
export interface HoldScope {
  readonly from?: ReadonlySet<NodeId>;
  readonly to?: ReadonlySet<NodeId>;
  readonly types?: ReadonlySet<string>;
}

/** HeldMessage is a message a hold keeps in the network: it has left its sender and not reached its receiver. */
export interface HeldMessage {
  readonly hold: number;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly message: unknown;
  readonly encoded: Uint8Array | undefined;
  readonly bytes: number;
  readonly type: string;
}

/**
 * Network holds the link model and the active partitions, and decides for
 * each message whether it arrives, when, and how many times. All randomness
 * comes from its own seeded stream.
 */
export class Network {
  private base: LinkModel;
  private effective: LinkModel;
  private readonly overrides: { id: number; link: { readonly [K in keyof LinkModel]?: LinkModel[K] | undefined } }[] = [];
  /** scoped holds the overrides that act on some message types or senders only. */
  private readonly scoped: { id: number; override: LinkOverride }[] = [];
  private readonly partitions: NetworkPartition[] = [];
  /** holds are the holds in force: each keeps the messages it selects until it is released (see HeldMessage). */
  private readonly holds: { id: number; scope: HoldScope }[] = [];
  /** held are the messages the holds keep, in the order they were sent (a released hold's messages may stay until their part is released). */
  private held: HeldMessage[] = [];
  private readonly linkFreeAtUs = new Map<number, number>();
  private readonly extraLatencyUs = new Map<NodeId, number>();
  /** dropped counts messages lost to drops and partitions. */
  dropped = 0;
  duplicated = 0;

  constructor(
    link: LinkModel,
    private readonly rng: Rng,
  ) {
    this.base = link;
    this.effective = link;
  }

  /** link returns the link model in force now. */
  link(): LinkModel {
    return this.effective;
  }

  addOverride(id: number, link: { readonly [K in keyof LinkModel]?: LinkModel[K] | undefined }): void {
    this.overrides.push({ id, link });
    this.recompute();
  }

  /** addScopedOverride puts an override in force for some message types, senders or receivers only. */
  addScopedOverride(id: number, override: LinkOverride): void {
    this.scoped.push({ id, override });
  }

  /** scopedOverrides counts the overrides in force that select messages by type, sender or receiver. */
  scopedOverrides(): number {
    return this.scoped.length;
  }

  removeOverride(id: number): void {
    const index = this.overrides.findIndex((override) => override.id === id);
    if (index >= 0) this.overrides.splice(index, 1);
    const scopedIndex = this.scoped.findIndex((entry) => entry.id === id);
    if (scopedIndex >= 0) this.scoped.splice(scopedIndex, 1);
    this.recompute();
  }

  addPartition(partition: NetworkPartition): void {
    this.partitions.push(partition);
  }

  removePartition(id: number): void {
    const index = this.partitions.findIndex((partition) => partition.id === id);
    if (index >= 0) this.partitions.splice(index, 1);
  }

  /** addHold starts keeping the messages `scope` selects in the network instead of delivering them (a stalled link that delivers its backlog later). */
  addHold(id: number, scope: HoldScope): void {
    this.holds.push({ id, scope });
  }

  /** removeHold stops hold `id` from keeping more messages; those it holds stay until released. */
  removeHold(id: number): void {
    const index = this.holds.findIndex((hold) => hold.id === id);
    if (index >= 0) this.holds.splice(index, 1);
  }

  /** activeHolds counts the holds in force. */
  activeHolds(): number {
    return this.holds.length;
  }

  /**
   * holdFor names the hold that keeps a message from `from` to `to` of `type`, if one does. A message whose link a
   * partition cuts is lost, not held: the partition acts first, as it does on every other message.
   */
  holdFor(from: NodeId, to: NodeId, type: string): number | undefined {
    if (this.holds.length === 0 || (this.partitions.length > 0 && this.blocked(from, to))) return undefined;
    for (const { id, scope } of this.holds) {
      if ((scope.from === undefined || scope.from.has(from)) && (scope.to === undefined || scope.to.has(to)) && (scope.types === undefined || scope.types.has(type))) return id;
    }
    return undefined;
  }

  /** keep adds a message to what its hold keeps. */
  keep(message: HeldMessage): void {
    this.held.push(message);
  }

  /**
   * release takes out, in the order they were sent, the messages hold `id` keeps (only those to receivers `to`
   * accepts, when given): the caller sends them on through the links as they are now. Every hold's messages when
   * `id` is undefined.
   */
  release(id: number | undefined, to: (receiver: NodeId) => boolean = () => true): HeldMessage[] {
    const out: HeldMessage[] = [];
    const kept: HeldMessage[] = [];
    for (const message of this.held) ((id === undefined || message.hold === id) && to(message.to) ? out : kept).push(message);
    this.held = kept;
    return out;
  }

  setExtraLatency(node: NodeId, extraUs: number): void {
    if (extraUs > 0) this.extraLatencyUs.set(node, extraUs);
    else this.extraLatencyUs.delete(node);
  }

  /** healAll lifts every partition, link fault, hold and slow link; what the holds kept stays for the caller to release. */
  healAll(): void {
    this.partitions.length = 0;
    this.holds.length = 0;
    this.overrides.length = 0;
    this.scoped.length = 0;
    this.extraLatencyUs.clear();
    this.recompute();
  }

  /** activePartitions counts the partitions in force. */
  activePartitions(): number {
    return this.partitions.length;
  }

  /** blocked tells whether a partition cuts the link from `from` to `to`. */
  blocked(from: NodeId, to: NodeId): boolean {
    for (let i = 0; i < this.partitions.length; i++) {
      const partition = this.partitions[i] as NetworkPartition;
      if (partition.exempt !== undefined && (partition.exempt.has(from) || partition.exempt.has(to))) continue;
      const fromInside = partition.isolated.has(from);
      const toInside = partition.isolated.has(to);
      if (!partition.oneWay) {
        if (fromInside !== toInside) return true;
      } else if (partition.direction === "inbound" ? toInside && !fromInside : fromInside && !toInside) {
        return true;
      }
    }
    return false;
  }

  /**
   * arrivals decides the fate of one message leaving at `departUs`: an empty
   * result when it is lost, else one arrival time (two when duplicated).
   * Writes into `out` and returns how many arrivals there are. `type` is the
   * message's type name, for overrides that select types.
   */
  arrivals(from: NodeId, to: NodeId, departUs: number, bytes: number, out: Float64Array, type = ""): number {
    if (this.partitions.length > 0 && this.blocked(from, to)) {
      this.dropped++;
      return 0;
    }
    const link = this.scoped.length > 0 ? this.linkFor(from, to, type) : this.effective;
    if (link.dropPercent > 0 && this.rng.nextInt(1_000_000) < link.dropPercent * 10_000) {
      this.dropped++;
      return 0;
    }
    let startUs = departUs;
    if (link.bandwidthBytesPerSec > 0) {
      const key = from * 4_194_304 + to;
      const freeAt = this.linkFreeAtUs.get(key) ?? 0;
      if (freeAt > startUs) startUs = freeAt;
      const transmitUs = Math.ceil((bytes * 1_000_000) / link.bandwidthBytesPerSec);
      this.linkFreeAtUs.set(key, startUs + transmitUs);
      startUs += transmitUs;
    }
    out[0] = startUs + this.delayUs(link, from, to);
    if (link.duplicatePercent > 0 && this.rng.nextInt(1_000_000) < link.duplicatePercent * 10_000) {
      this.duplicated++;
      out[1] = startUs + this.delayUs(link, from, to);
      return 2;
    }
    return 1;
  }

  private delayUs(link: LinkModel, from: NodeId, to: NodeId): number {
    let delay: number;
    const latency = link.latency;
    switch (latency.kind) {
      case "constant":
        delay = Math.round(latency.ms * 1000);
        break;
      case "uniform": {
        const low = Math.round(Math.min(latency.msMin, latency.msMax) * 1000);
        const high = Math.round(Math.max(latency.msMin, latency.msMax) * 1000);
        delay = this.rng.nextIntBetween(low, high);
        break;
      }
      case "exponential": {
        const u = (this.rng.nextUint32() + 1) / 0x1_0000_0001;
        delay = Math.round(latency.msMin * 1000 - Math.log(u) * latency.msExtraMean * 1000);
        break;
      }
    }
    if (link.jitterMs > 0) delay += this.rng.nextInt(Math.round(link.jitterMs * 1000) + 1);
    if (link.reorderPercent > 0 && this.rng.nextInt(1_000_000) < link.reorderPercent * 10_000) {
      delay += this.rng.nextInt(Math.round(link.reorderDelayMs * 1000) + 1);
    }
    if (this.extraLatencyUs.size > 0) delay += (this.extraLatencyUs.get(from) ?? 0) + (this.extraLatencyUs.get(to) ?? 0);
    return delay;
  }

  /** linkFor is the link model for one message: the one in force, with the scoped overrides that select it on top. */
  private linkFor(from: NodeId, to: NodeId, type: string): LinkModel {
    let link = this.effective;
    for (const { override } of this.scoped) {
      if (override.types !== undefined && !override.types.has(type)) continue;
      if (override.from !== undefined && !override.from.has(from)) continue;
      if (override.to !== undefined && !override.to.has(to)) continue;
      link = { ...link, ...(definedOnly(override.link) as Partial<LinkModel>) };
    }
    return link;
  }

  private recompute(): void {
    let link = this.base;
    for (const override of this.overrides) link = { ...link, ...(definedOnly(override.link) as Partial<LinkModel>) };
    this.effective = link;
  }
}

function definedOnly(value: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(value)) if (entry !== undefined) out[key] = entry;
  return out;
}
