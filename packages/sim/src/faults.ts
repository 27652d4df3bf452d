import { type NodeId, type Rng, unreachable } from "@concord/core";
import type { ClientDriver } from "./clients.ts";
import type { Cluster, ReplicaNode } from "./cluster.ts";
import { type FaultWindow, type SimContext, msToUs } from "./context.ts";
import { type CampaignFault, CampaignTrigger } from "./campaign-trigger.ts";
import type { CrashSchedule } from "./crashes.ts";
import type { HoldScope, Network, NetworkPartition } from "./links.ts";
import type { ClusterOperations } from "./operations.ts";
import type { Fault, Target } from "./scenario.ts";
import { nextLeaderWindowMsDefault } from "./scenarios.ts";
import type { Wire } from "./wire.ts";
import { HeldRaces } from "./held-races.ts";
import { PathCrashes } from "./path-crashes.ts";

/** FaultRecord is one fault as it fired: its id (for faults in force at once) and the replicas it hit. */
export interface FaultRecord {
  readonly fault: Fault;
  readonly id: number;
  hit: NodeId[];
  /** window is the fault's entry in the run's fault windows, once it acted. */
  window?: FaultWindow;
  /** cut is a partition's cut, once it struck. */
  cut?: NetworkPartition;
  /** heldFrom is the former leader whose messages a cut for the next leader held. */
  heldFrom?: NodeId;
  /** healedFirst: the cut has healed towards heldFrom, and heals for the rest at its next end. */
  healedFirst?: boolean;
}

/** WaitingCut is a partition waiting for the next leader: the epoch it must lead above, its deadline, and the leader of when it fired (whose messages it may hold). */
export interface WaitingCut {
  readonly record: FaultRecord;
  readonly fault: Extract<Fault, { type: "partition" }>;
  readonly epochAbove: number;
  readonly deadlineUs: number;
  readonly formerLeader: NodeId | undefined;
  /** followers are the replicas that followed the former leader in its epoch when the cut was armed: its configuration's members. */
  readonly followers: readonly NodeId[];
}

/**
 * FaultSchedule fires the scenario's faults at their times and lifts those
 * with a duration: crashes (through the crash schedule) and restarts,
 * pauses, partitions, link faults, slow nodes, client restarts, and the
 * operations on the cluster (through the admin hook); then heals them all.
 */
export class FaultSchedule {
  private nextFaultId = 1;
  /** campaigns holds the faults timed by an election (`atCampaign`) until a replica starts campaigning. */
  private readonly campaigns: CampaignTrigger;
  /** waitingCuts are the partitions that wait for the next leader, with the epoch it must lead above and their deadline. */
  private readonly waitingCuts: WaitingCut[] = [];
  /** heldRaces plays the races of messages held in the network (held-races.ts). */
  private readonly heldRaces: HeldRaces;
  /** pathCrashes plays the crashes timed by a replica's walk of a hard path (path-crashes.ts). */
  private readonly pathCrashes: PathCrashes;

  constructor(
    private readonly context: SimContext,
    private readonly cluster: Cluster,
    private readonly crashes: CrashSchedule,
    private readonly operations: ClusterOperations,
    private readonly clients: ClientDriver,
    private readonly network: Network,
    private readonly faultRng: Rng,
    private readonly wire: Wire,
  ) {
    this.campaigns = new CampaignTrigger(context, cluster, (record, fault, campaigner) => this.fireAtCampaign(record, fault, campaigner));
    this.heldRaces = new HeldRaces({ context, cluster, network, wire, rng: faultRng, clientIds: () => clients.ids(), newId: () => this.nextFaultId++ });
    this.pathCrashes = new PathCrashes({ context, cluster, crashes, rng: faultRng, newId: () => this.nextFaultId++ });
  }

  /** pathWalked is told that replica `id` walked the hard path `path` in the event being handled (path crashes wait for it). */
  pathWalked(path: string, id: NodeId): void {
    this.pathCrashes.walked(path, id);
  }

  /** fireAtCampaign acts a fault timed by an election in the instant a campaign began (the campaigner is the trigger's). */
  private fireAtCampaign(record: FaultRecord, fault: CampaignFault, campaigner: NodeId): void {
    if (fault.type === "crash") {
      this.crashes.fireAtCampaign(record, fault, campaigner);
      return;
    }
    const clientsWithIsolated = this.firePartition(record, fault);
    record.window = this.context.openFault(fault.type, record.hit, false, clientsWithIsolated);
    this.context.logFault(`${describeFault(fault)} (at a campaign)`, record.hit, "");
    if (record.hit.length === 0) this.context.noEffect(fault, "no replica it can act on");
  }

  /** fire fires the scenario's fault at `index`. */
  fire(index: number): void {
    const context = this.context;
    const fault = context.scenario.faults[index] as Fault;
    const record: FaultRecord = { fault, id: this.nextFaultId++, hit: [] };
    const rng = this.faultRng;
    let clientsWithIsolated: NodeId[] | undefined;
    switch (fault.type) {
      case "crash":
        if (fault.atCampaign === true) {
          this.campaigns.arm(record, fault);
          return;
        }
        this.crashes.fire(record, fault);
        return;
      case "restart":
        record.hit = this.cluster.select(fault.target, rng, (node) => node.host === undefined && !node.stopped);
        for (const id of record.hit) this.cluster.restart(id);
        // A crash that had no restart of its own is lifted by this one, once all its replicas are up again.
        for (const window of context.faultWindows) {
          if (window.kind === "crash" && window.nodes.every((id) => this.cluster.node(id).host !== undefined)) context.closeFault(window);
        }
        break;
      case "pause":
        // Only a running replica can be paused: a pause drawn for one already down or paused would do nothing. A pause
        // aimed at one replica by index may overlap another and so lengthen it.
        record.hit = this.cluster.select(fault.target, rng, (node) => node.host !== undefined && (!node.paused || typeof fault.target === "object"));
        for (const id of record.hit) {
          const node = this.cluster.node(id);
          node.pauses.add(record.id);
          node.paused = true;
        }
        this.endAfter(fault.durationMs, record);
        break;
      case "partition":
        if (fault.nextLeader === true) {
          this.waitForNextLeader(record, fault);
          return;
        }
        if (fault.atCampaign === true) {
          this.campaigns.arm(record, fault);
          return;
        }
        clientsWithIsolated = this.firePartition(record, fault);
        break;
      case "link": {
        // The replicas a scoped fault names: its senders, else its receivers (a fault names one or the other in chaos).
        const from = fault.from !== undefined ? this.cluster.select(fault.from, rng) : undefined;
        const to = fault.to !== undefined ? this.cluster.select(fault.to, rng) : undefined;
        if (fault.messageTypes === undefined && from === undefined && to === undefined) {
          this.network.addOverride(record.id, fault.link);
        } else {
          record.hit = [...(from ?? []), ...(to ?? [])];
          this.network.addScopedOverride(record.id, { link: fault.link, ...holdScope(fault.messageTypes, from, to) });
        }
        if (fault.hold === true) this.network.addHold(record.id, holdScope(fault.messageTypes, from, to));
        this.endAfter(fault.durationMs, record);
        break;
      }
      case "slow":
        record.hit = this.cluster.select(fault.target, rng, (node) => node.host !== undefined);
        for (const id of record.hit) {
          const node = this.cluster.node(id);
          node.slows.set(record.id, { extraLatencyUs: msToUs(fault.extraLatencyMs), cpuFactor: fault.cpuFactor });
          this.applySlow(node);
        }
        this.endAfter(fault.durationMs, record);
        break;
      case "transfer":
      case "reconfigure":
        // A busy leader: the operation tries again later as the same fault, under the same id.
        if (this.operations.fire(index, fault) === "retry") this.nextFaultId--;
        return;
      case "held-race":
        this.heldRaces.fire(fault, record);
        return;
      case "path-crash":
        this.pathCrashes.fire(fault);
        return;
      case "restart-client":
        this.clients.restartClient(fault.client === "random" ? this.clients.clientAt(rng.nextInt(this.clients.count)) : this.clients.clientAt(fault.client.index % this.clients.count));
        return;
      default:
        unreachable(fault);
    }
    record.window = context.openFault(fault.type, record.hit, fault.type === "restart", clientsWithIsolated);
    context.logFault(describeFault(fault), record.hit, fault.type === "link" ? JSON.stringify(fault.link) + (fault.messageTypes !== undefined ? ` on ${fault.messageTypes.join(",")}` : "") + (fault.to !== undefined ? " (to the replicas hit)" : "") : "");
    const acts = fault.type === "link" ? (fault.from === undefined && fault.to === undefined) || record.hit.length > 0 : record.hit.length > 0;
    if (!acts) context.noEffect(fault, "no replica it can act on");
  }

  /**
   * waitForNextLeader arms a cut for the next replica to lead an epoch above any a live replica holds now; with
   * holdLeader, what the leader of now sends to the other replicas is held in the network from now on.
   */
  private waitForNextLeader(record: FaultRecord, fault: Extract<Fault, { type: "partition" }>): void {
    const epochAbove = this.cluster.highestLiveEpoch();
    const formerLeader = this.cluster.currentLeader();
    const followers = formerLeader !== undefined ? this.cluster.followersOf(formerLeader) : [];
    this.waitingCuts.push({ record, fault, epochAbove, deadlineUs: this.context.nowUs + msToUs(fault.windowMs ?? nextLeaderWindowMsDefault), formerLeader, followers });
    const held = fault.holdLeader !== undefined && formerLeader !== undefined ? this.heldReplicas(fault.holdLeader, formerLeader, followers) : [];
    if (formerLeader !== undefined && held.length > 0) {
      record.heldFrom = formerLeader;
      this.network.addHold(record.id, { from: new Set([formerLeader]), to: new Set(held) });
    }
    const holding = held.length > 0 ? `, holding what leader ${formerLeader} sends to node${held.length > 1 ? "s" : ""} ${held.join(",")}` : "";
    this.context.logFault(`partition armed (next leader above epoch ${epochAbove}${holding})`, [], "");
    this.cluster.onLeading = (node, epoch) => this.cutNextLeader(node, epoch);
  }

  /**
   * heldReplicas resolves a cut's holdLeader: a "follower" is drawn among the former leader's followers (a spare
   * outside its configuration, which select might draw, never runs for leader, so its stalled link would start no
   * election), with the one draw select makes; any other target, or none following, as select resolves it.
   */
  private heldReplicas(target: Target, formerLeader: NodeId, followers: readonly NodeId[]): NodeId[] {
    if (target !== "follower" || followers.length === 0) return this.cluster.select(target, this.faultRng, () => true, new Set([formerLeader]));
    return [followers[this.faultRng.nextInt(followers.length)] as NodeId];
  }

  /** cutNextLeader cuts `node` off, in the instant it leads (or afterLeadsMs later), for every waiting cut whose epoch it leads above. */
  private cutNextLeader(node: ReplicaNode, epoch: number): void {
    for (let i = 0; i < this.waitingCuts.length; i++) {
      const waiting = this.waitingCuts[i] as WaitingCut;
      if (this.context.nowUs > waiting.deadlineUs || epoch <= waiting.epochAbove) continue;
      this.waitingCuts.splice(i--, 1);
      const afterUs = msToUs(waiting.fault.afterLeadsMs ?? 0);
      if (afterUs > 0) this.context.queue.push(this.context.nowUs + afterUs, { kind: "next-leader-cut", cut: waiting, node: node.id, epoch });
      else this.strikeNextLeaderCut(waiting, node.id, epoch);
    }
    if (this.waitingCuts.length === 0) this.cluster.onLeading = undefined;
  }

  /**
   * strikeNextLeaderCut cuts the new leader `leader` off, with the cut's companions (drawn among the former leader's
   * followers that are up, the members of its configuration, else among the replicas up; never the former leader: a
   * spare outside the configuration would hold none of the new leader's acceptances), and lets what the cut held of
   * the former leader's messages leave for the replicas outside it; what it held for those cut off leaves when the
   * cut ends.
   */
  strikeNextLeaderCut(waiting: WaitingCut, leader: NodeId, epoch: number): void {
    const { record, fault, formerLeader } = waiting;
    const isolated = [leader];
    const exclude = new Set<NodeId>([leader, ...(formerLeader !== undefined ? [formerLeader] : [])]);
    for (let i = 0; i < (fault.companions ?? 0); i++) {
      const members = waiting.followers.filter((id) => !exclude.has(id) && this.cluster.node(id).host !== undefined);
      const [companion] = members.length > 0 ? [members[this.faultRng.nextInt(members.length)] as NodeId] : this.cluster.select("random", this.faultRng, (node) => node.host !== undefined, exclude);
      if (companion === undefined) break;
      isolated.push(companion);
      exclude.add(companion);
    }
    const clientsWithIsolated = this.firePartition(record, fault, isolated);
    record.window = this.context.openFault(fault.type, record.hit, false, clientsWithIsolated);
    let detail = "";
    if (record.heldFrom !== undefined) {
      this.network.removeHold(record.id);
      const cutOff = new Set(record.hit);
      const leaving = this.network.release(record.id, (to) => !cutOff.has(to));
      this.wire.sendHeld(leaving);
      detail = `(${leaving.length} held messages of node ${record.heldFrom} leave now, the rest when the cut ends)`;
    }
    this.context.logFault(`${describeFault(fault)} (the next leader, epoch ${epoch})`, record.hit, detail);
  }

  private endAfter(durationMs: number, record: FaultRecord): void {
    this.context.queue.push(this.context.nowUs + msToUs(durationMs), { kind: "fault-end", record });
  }

  /** firePartition cuts the partition (off `replicas` when given, else its targets') and returns the clients cut off with the isolated replicas. */
  private firePartition(record: FaultRecord, fault: Extract<Fault, { type: "partition" }>, replicas?: readonly NodeId[]): NodeId[] {
    const isolated = new Set<NodeId>(replicas ?? []);
    if (replicas === undefined) for (const target of fault.isolate) for (const id of this.cluster.select(target, this.faultRng, () => true, isolated)) isolated.add(id);
    record.hit = [...isolated].sort((a, b) => a - b);
    // Clients: with the rest (outside the isolated set), with the isolated replicas, split, or left out of the cut.
    const exempt = new Set<NodeId>();
    const clientIds = this.clients.ids();
    clientIds.forEach((id, index) => {
      const inside = fault.clients === "isolated" || (fault.clients === "split" && index < Math.ceil(clientIds.length / 2));
      if (inside) isolated.add(id);
      if (fault.clients === "both") exempt.add(id);
    });
    record.cut = { id: record.id, isolated, oneWay: fault.oneWay, direction: fault.direction, exempt };
    this.network.addPartition(record.cut);
    this.endAfter(fault.durationMs, record);
    return clientIds.filter((id) => isolated.has(id));
    this.endAfter(fault.durationMs, record);
  }

  /** end lifts a fault with a duration (a crash's end is its restart). */
  end(record: FaultRecord): void {
    const fault = record.fault;
    switch (fault.type) {
      case "crash":
        for (const id of record.hit) this.cluster.restart(id);
        break;
      case "pause":
        for (const id of record.hit) {
          const node = this.cluster.node(id);
          // Overlapping pauses: the node runs again when the last of them ends.
          if (node.pauses.delete(record.id) && node.pauses.size === 0) this.cluster.resume(id);
        }
        break;
      case "partition":
        this.network.removePartition(record.id);
        if (this.healTowardsFormerLeader(record)) return;
        // A cut that held an older leader's messages lets the rest of them leave now that it heals.
        if (record.heldFrom !== undefined) this.wire.sendHeld(this.network.release(record.id));
        break;
      case "link":
        this.network.removeOverride(record.id);
        if (fault.hold === true) {
          this.network.removeHold(record.id);
          this.wire.sendHeld(this.network.release(record.id));
        }
        break;
      case "slow":
        for (const id of record.hit) {
          const node = this.cluster.node(id);
          node.slows.delete(record.id);
          this.applySlow(node);
        }
        break;
      case "restart":
      case "transfer":
      case "reconfigure":
      case "restart-client":
      case "held-race":
      case "path-crash":
        break;
      default:
        unreachable(fault);
    }
    this.context.closeFault(record.window);
    this.context.logFault(`end ${fault.type}`, record.hit, "");
  }

  /**
   * healTowardsFormerLeader takes the first step of a cut that heals towards the former leader whose messages it held
   * formerLeaderHealsFirstMs before it heals for the rest: that leader reaches both sides, and what the cut held of
   * its messages leaves now. It tells whether it took that step (the cut then ends again later).
   */
  private healTowardsFormerLeader(record: FaultRecord): boolean {
    const { fault, cut, heldFrom } = record;
    const firstMs = fault.type === "partition" ? (fault.formerLeaderHealsFirstMs ?? 0) : 0;
    if (cut === undefined || heldFrom === undefined || firstMs <= 0 || record.healedFirst === true) return false;
    record.healedFirst = true;
    this.network.addPartition({ ...cut, exempt: new Set([...(cut.exempt ?? []), heldFrom]) });
    this.wire.sendHeld(this.network.release(record.id));
    this.context.logFault(`partition heals towards node ${heldFrom} first`, record.hit, `(for the rest in ${firstMs} ms)`);
    this.endAfter(firstMs, record);
    return true;
  }

  /** healAll lifts every fault: timed crashes still waiting are called off, links heal, every replica is up, running and at full speed. */
  healAll(): void {
    this.crashes.callOffAll();
    this.campaigns.healAll();
    this.heldRaces.healAll();
    this.pathCrashes.healAll();
    for (const { fault } of this.waitingCuts) this.context.noEffect(fault, "no new leader came within its window");
    this.waitingCuts.length = 0;
    this.cluster.onLeading = undefined;
    this.network.healAll();
    // What the holds kept leaves now, through the healed links.
    this.wire.sendHeld(this.network.release(undefined));
    for (const node of this.cluster.all()) {
      if (node.host === undefined) this.cluster.restart(node.id);
      node.pauses.clear();
      if (node.paused) this.cluster.resume(node.id);
      node.slows.clear();
      this.applySlow(node);
    }
    // A crash for good is not lifted by the heal: its window stays open to the end of the run.
    this.context.closeAllFaults((window) => window.kind === "crash" && window.nodes.every((id) => this.cluster.node(id).downForGood));
    this.context.logFault("heal all", [], "");
    // Crashes that outlast the heal leave their replicas down to the end of the run.
    const downForGood = [...this.cluster.all()].filter((node) => node.downForGood).map((node) => node.id);
    if (downForGood.length > 0) this.context.logFault("still down (crashed for good)", downForGood, "");
  }

  /** applySlow puts the slowest of a node's slow faults in force (none: full speed). */
  private applySlow(node: ReplicaNode): void {
    let extraLatencyUs = 0;
    let cpuFactor = 1;
    for (const slow of node.slows.values()) {
      extraLatencyUs = Math.max(extraLatencyUs, slow.extraLatencyUs);
      cpuFactor = Math.max(cpuFactor, slow.cpuFactor);
    }
    this.network.setExtraLatency(node.id, extraLatencyUs);
    node.cpuFactor = cpuFactor;
  }
}

/** holdScope selects messages by type, sender and receiver (each: any when absent). */
function holdScope(types: readonly string[] | undefined, from: readonly NodeId[] | undefined, to: readonly NodeId[] | undefined): HoldScope {
  return {
    ...(types !== undefined ? { types: new Set(types) } : {}),
    ...(from !== undefined ? { from: new Set(from) } : {}),
    ...(to !== undefined ? { to: new Set(to) } : {}),
  };
}

function describeFault(fault: Fault): string {
  if (fault.type !== "partition") return fault.type;
  const oneWay = fault.oneWay ? ` (one-way, ${fault.direction})` : "";
  return `partition${oneWay}${fault.clients === "rest" ? "" : ` (clients: ${fault.clients})`}`;
}
