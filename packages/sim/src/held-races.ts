import type { NodeId, Rng } from "@concord/core";
import type { Cluster, ReplicaNode } from "./cluster.ts";
import { type FaultWindow, type SimContext, msToUs } from "./context.ts";
import type { Network } from "./links.ts";
import type { Fault, HeldRaceKind } from "./scenario.ts";
import type { Wire } from "./wire.ts";

const chaosHeldRaceKinds = ["former-leader-returns", "former-leader-restarts-between-candidates"] as const satisfies readonly HeldRaceKind[];

/** ChaosHeldRace is the held race drawn for a run (none in most runs). */
export interface ChaosHeldRace {
  readonly kind: HeldRaceKind | undefined;
  readonly faults: readonly Fault[];
}

/** drawScaled draws a whole number of milliseconds in [low, high] percent of `scaleMs`, at least `floorMs`. */
function drawScaled(rng: Rng, scaleMs: number, lowPercent: number, highPercent: number, floorMs: number): number {
  return Math.max(floorMs, Math.round((scaleMs * rng.nextIntBetween(lowPercent, highPercent)) / 100));
}

/**
 * drawChaosHeldRaces draws, in one run of two of a cluster of three or more
 * whose algorithm tells chaos its election timeout, a race played by messages
 * held in the network for about an election timeout and let go at an election
 * event (issue 21), which a link fault of fixed length meets almost never.
 * Both kinds begin alike: everything the leader sends its peers is held (its
 * links stall, as a TCP connection does that stops being read), so that they
 * stop hearing it and elect another.
 *
 * - "former-leader-returns": a few milliseconds after the new leader first
 *   leads (once enough replicas follow it: its first round has reached
 *   them), what was held for its side leaves, and it is parted from as many
 *   of its followers as still leave it a majority with the former leader
 *   (the outsiders), its appends lost while its heartbeats flow, so that no
 *   log grows past the outsiders'. An outsider that hears no leader
 *   campaigns and, without pre-vote, climbs to a higher epoch while the new
 *   leader's followers, inside its lease, ignore it. The first time an
 *   outsider campaigns above the new leader's epoch while the former leader
 *   follows it, the former leader's stale messages reach that outsider, what
 *   the outsiders send the former leader of the vote types is held 3 to 10
 *   ms (so that their answers to the stale messages come first), and the new
 *   leader is cut off for two to four election timeouts with half of its
 *   clients (three runs of four) or all of them reaching both sides. The
 *   former leader, now a follower inside the new leader's lease, hears a
 *   higher epoch in those answers: it must not give up its leader for a
 *   reply while the lease may count on it, or it votes at once and the
 *   cut-off leader's lease reads go stale (issue 21, bug 5).
 * - "former-leader-restarts-between-candidates": the former leader's clients
 *   no longer reach it either (so its log grows no longer than its peers').
 *   In the instant a replica campaigns in an epoch above the former leader's,
 *   what was held for its side (it, and as many others as make a majority
 *   with the former leader) leaves, so that its answers carry the new epoch
 *   to the former leader before its vote request does (held 3 to 10 ms):
 *   the former leader enters the epoch, and then votes in an epoch it
 *   already held. The other side hears neither of them, and the candidate's
 *   appends are lost. In the instant a replica of the other side campaigns
 *   (towards the same epoch), the former leader crashes and is back at once;
 *   what its stalled links held is lost with its connections, and it hears
 *   the second candidate. It must have persisted that vote before it
 *   answered, or it votes twice in one epoch (Raft §5.2, Figure 2; the
 *   mutant raft/vote-not-persisted-before-reply).
 *
 * Neither names a message type but the appends it loses and the vote
 * requests it holds (`messageTypes`, `campaignTypes`: the codec's
 * "appendEntries" and "requestVote" where there are such), and each sees
 * leaders and campaigns only through the replicas' reported status. It comes
 * from a stream of its own, so that a seed's other faults and races stay what
 * they were.
 */
export function drawChaosHeldRaces(rng: Rng, phaseMs: number, nodes: number, electionTimeoutMs: number | undefined, messageTypes: readonly string[] = []): ChaosHeldRace {
  if (electionTimeoutMs === undefined || nodes < 3 || !rng.chance(1, 2)) return { kind: undefined, faults: [] };
  const kind = chaosHeldRaceKinds[rng.nextInt(chaosHeldRaceKinds.length)] as HeldRaceKind;
  const timeoutMs = electionTimeoutMs;
  const appendTypes = messageTypes.filter((type) => type === "appendEntries");
  const voteTypes = messageTypes.filter((type) => type === "requestVote");
  const fault: Fault = {
    type: "held-race",
    kind,
    // Early in the phase: each stage waits for an election, and the workload must still run when the cut comes.
    atMs: rng.nextInt(Math.max(1, Math.floor(phaseMs * 0.4))),
    // A follower campaigns within two election timeouts of losing its leader; each stage waits two and a half times that.
    windowMs: Math.max(100, Math.round(timeoutMs * 5)),
    settleMs: rng.nextIntBetween(3, 10),
    outsiders: nodes - (Math.floor(nodes / 2) + 1),
    delayMs: rng.nextIntBetween(3, 10),
    cutMs: Math.max(300, drawScaled(rng, timeoutMs, 200, 400, 0)),
    clients: rng.chance(3, 4) ? "split" : "both",
    ...(appendTypes.length > 0 ? { messageTypes: appendTypes } : {}),
    ...(voteTypes.length > 0 ? { campaignTypes: voteTypes } : {}),
  };
  return { kind, faults: [fault] };
}

/** HeldRaceFault is a "held-race" fault. */
export type HeldRaceFault = Extract<Fault, { type: "held-race" }>;

/** HeldRaceParts is what a held race acts through: the run's network, wire, replicas and clients, and fresh ids for its holds and cuts. */
export interface HeldRaceParts {
  readonly context: SimContext;
  readonly cluster: Cluster;
  readonly network: Network;
  readonly wire: Wire;
  readonly rng: Rng;
  readonly clientIds: () => readonly NodeId[];
  readonly newId: () => number;
}

/**
 * Stage is where a held race is. "former-leader-returns": waiting for a new leader, letting its first round settle,
 * waiting for enough replicas to follow it, waiting for an outsider's campaign, cutting. "former-leader-restarts-
 * between-candidates": waiting for a candidate, waiting for a second one, cutting. Then over.
 */
type Stage = "leader" | "settling" | "followers" | "campaign" | "cut" | "candidate" | "second" | "over";

/** Race is one held race as it runs. */
interface Race {
  readonly fault: HeldRaceFault;
  readonly window: FaultWindow;
  readonly former: NodeId;
  readonly epochAbove: number;
  readonly hold: number;
  stage: Stage;
  deadlineUs: number;
  leader?: NodeId;
  outsiders?: ReadonlySet<NodeId>;
  /** candidate and epoch: the first candidate above the former leader's epoch, and the epoch it campaigns in. */
  candidate?: NodeId;
  epoch?: number;
  /** holds are the further holds the race put in force, lifted (and what they kept released) when it ends. */
  readonly holds: number[];
  /** overrides are the link faults and cuts the race put in force, lifted when it ends. */
  readonly overrides: number[];
  partition?: number;
}

/**
 * HeldRaces plays the "held-race" faults: each in stages, every stage waiting
 * for an election event that the replicas' status shows (a new leader, a
 * campaign), up to the fault's window.
 */
export class HeldRaces {
  private readonly races: Race[] = [];
  /** waiting are the races fired when no replica led, each waiting for a leader to stall. */
  private readonly waiting: { readonly fault: HeldRaceFault; readonly record: { hit: NodeId[] }; readonly deadlineUs: number }[] = [];

  constructor(private readonly parts: HeldRaceParts) {}

  /**
   * fire starts a held race: what the leader of now sends its peers is held from now on. With no leader now (an
   * election under way, every replica down), it waits for one, up to its window.
   */
  fire(fault: HeldRaceFault, record: { hit: NodeId[] }): void {
    const { context, cluster } = this.parts;
    const former = cluster.currentLeader();
    // The first stage's window runs from now, whether the race starts now or waits for a leader.
    const deadlineUs = context.nowUs + msToUs(fault.windowMs);
    if (former !== undefined) {
      this.start(fault, record, former, deadlineUs);
      return;
    }
    const waiting = { fault, record, deadlineUs };
    this.waiting.push(waiting);
    context.logFault(`held-race (${fault.kind}) waits for a leader`, [], "");
    cluster.onStatus = (node, campaigns) => this.observe(node, campaigns);
    context.queue.push(deadlineUs, {
      kind: "race-step",
      step: () => {
        const index = this.waiting.indexOf(waiting);
        if (index < 0) return;
        this.waiting.splice(index, 1);
        context.noEffect(fault, "no leader whose messages it could hold came within its window");
      },
    });
  }

  /** start stalls `former`'s links to its peers and sets the race off. */
  private start(fault: HeldRaceFault, record: { hit: NodeId[] }, former: NodeId, deadlineUs: number): void {
    const { context, cluster, network } = this.parts;
    const hold = this.parts.newId();
    const peers = cluster.allReplicaIds.filter((id) => id !== former);
    network.addHold(hold, { from: new Set([former]), to: new Set(peers) });
    record.hit = [former];
    const race: Race = {
      fault,
      window: context.openFault(fault.type, [former], false),
      former,
      epochAbove: cluster.highestLiveEpoch(),
      hold,
      stage: "leader",
      deadlineUs,
      overrides: [],
      holds: [],
    };
    this.races.push(race);
    cluster.onStatus = (node, campaigns) => this.observe(node, campaigns);
    if (fault.kind === "former-leader-restarts-between-candidates") {
      // Its clients no longer reach it either, so that its log grows no longer than its followers'.
      const clients = this.parts.newId();
      network.addScopedOverride(clients, { link: { dropPercent: 100 }, from: new Set(this.parts.clientIds()), to: new Set([former]) });
      race.overrides.push(clients);
      race.stage = "candidate";
      context.logFault(`held-race (${fault.kind}) holds what leader ${former} sends`, [former], `(its clients cut off; until a replica campaigns above epoch ${race.epochAbove})`);
      this.giveUpAt(race, "candidate", "no replica campaigned in a later epoch within its window");
      return;
    }
    context.logFault(`held-race (${fault.kind}) holds what leader ${former} sends`, [former], `(until a replica leads above epoch ${race.epochAbove})`);
    this.giveUpAt(race, "leader", "no replica led a later epoch within its window");
    this.giveUpAt(race, "followers", "too few replicas followed the new leader within its window");
  }

  /** observe moves every race whose stage waits for what `node`'s new status shows. */
  private observe(node: ReplicaNode, campaigns: boolean): void {
    const status = node.lastStatus;
    if (status === undefined) return;
    if (this.waiting.length > 0) {
      const leader = this.parts.cluster.currentLeader();
      if (leader !== undefined) for (const { fault, record, deadlineUs } of this.waiting.splice(0)) this.start(fault, record, leader, deadlineUs);
    }
    for (const race of this.races) {
      if (race.stage === "leader" && node.id !== race.former && (status.role === "leader" || status.role === "primary") && status.epoch > race.epochAbove) {
        race.stage = "settling";
        race.leader = node.id;
        this.parts.context.logFault(`held-race: node ${node.id} leads epoch ${status.epoch}`, [node.id], `(the next stage in ${race.fault.settleMs} ms)`);
        this.after(race.fault.settleMs, () => {
          if (race.stage !== "settling") return;
          race.stage = "followers";
          // The watcher was let go while the race settled: it waits for followers now, at every replica's event.
          this.parts.cluster.onStatus = (other, campaigns) => this.observe(other, campaigns);
          this.part(race);
        });
      } else if (race.stage === "followers") {
        this.part(race);
      } else if (race.stage === "campaign" && campaigns && race.outsiders?.has(node.id) === true && this.ripe(race, status.epoch)) {
        this.cut(race, node.id);
      } else if (race.stage === "candidate" && node.id !== race.former && status.role === "candidate" && status.epoch > race.epochAbove) {
        this.firstCandidate(race, node.id, status.epoch);
      } else if (race.stage === "second" && campaigns && race.outsiders?.has(node.id) === true && status.epoch <= (race.epoch ?? 0)) {
        this.secondCandidate(race, node.id);
      }
    }
    if (this.waiting.length === 0 && this.races.every((race) => race.stage === "settling" || race.stage === "cut" || race.stage === "over")) this.parts.cluster.onStatus = undefined;
  }

  /**
   * part lets what the hold kept for the new leader's side leave, keeps holding what the former leader sends the
   * outsiders, parts the new leader from them, and loses its appends.
   */
  private part(race: Race): void {
    if (race.stage !== "followers") return;
    const { context, cluster, network, wire, rng } = this.parts;
    const leader = race.leader as NodeId;
    const followers = cluster.allReplicaIds.filter((id) => {
      const node = cluster.node(id);
      return id !== race.former && id !== leader && node.host !== undefined && node.lastStatus?.role === "follower" && node.lastStatus.leader === leader;
    });
    // Until enough replicas follow it (each holds its first round), the race waits, up to the end of its window.
    if (followers.length < race.fault.outsiders) return;
    const outsiders = new Set<NodeId>();
    while (outsiders.size < race.fault.outsiders) {
      const left = followers.filter((id) => !outsiders.has(id));
      outsiders.add(left[rng.nextInt(left.length)] as NodeId);
    }
    race.outsiders = outsiders;
    const leaving = network.release(race.hold, (to) => !outsiders.has(to));
    network.removeHold(race.hold);
    network.addHold(race.hold, { from: new Set([race.former]), to: outsiders });
    wire.sendHeld(leaving);
    const apart = this.parts.newId();
    const back = this.parts.newId();
    network.addScopedOverride(apart, { link: { dropPercent: 100 }, from: new Set([leader]), to: outsiders });
    network.addScopedOverride(back, { link: { dropPercent: 100 }, from: outsiders, to: new Set([leader]) });
    race.overrides.push(apart, back);
    if (race.fault.messageTypes !== undefined) {
      const appends = this.parts.newId();
      network.addScopedOverride(appends, { link: { dropPercent: 100 }, from: new Set([leader]), types: new Set(race.fault.messageTypes) });
      race.overrides.push(appends);
    }
    const ids = [...outsiders].sort((a, b) => a - b);
    context.logFault(
      `held-race: leader ${leader} parted from node${ids.length > 1 ? "s" : ""} ${ids.join(",")}`,
      ids,
      `(${leaving.length} held messages of node ${race.former} leave now${race.fault.messageTypes !== undefined ? `; ${race.fault.messageTypes.join(",")} of node ${leader} lost` : ""})`,
    );
    race.stage = "campaign";
    race.deadlineUs = context.nowUs + msToUs(race.fault.windowMs);
    cluster.onStatus = (node, campaigns) => this.observe(node, campaigns);
    this.giveUpAt(race, "campaign", "no outsider campaigned above the new leader's epoch, while the former leader followed it, within its window");
  }

  /**
   * ripe tells whether an outsider campaigning in `epoch` is the moment of the last stage: it climbed above the new
   * leader's epoch (without pre-vote a replica that hears no leader does), the new leader still leads, and the former
   * leader follows it (so that it is inside its lease).
   */
  private ripe(race: Race, epoch: number): boolean {
    const { cluster } = this.parts;
    const leader = cluster.node(race.leader as NodeId);
    const former = cluster.node(race.former);
    const leads = leader.host !== undefined && (leader.lastStatus?.role === "leader" || leader.lastStatus?.role === "primary");
    const follows = former.host !== undefined && former.lastStatus?.role === "follower" && former.lastStatus.leader === race.leader;
    return leads && follows && epoch > (leader.lastStatus?.epoch ?? 0);
  }

  /**
   * cut acts in the instant outsider `campaigner` campaigns: the former leader's held messages reach the outsiders,
   * what they send it is held delayMs, and the new leader is cut off for cutMs.
   */
  private cut(race: Race, campaigner: NodeId): void {
    const { context, network, wire } = this.parts;
    const outsiders = race.outsiders as ReadonlySet<NodeId>;
    race.stage = "cut";
    network.removeHold(race.hold);
    const stale = network.release(race.hold);
    wire.sendHeld(stale);
    const delay = this.parts.newId();
    const types = race.fault.campaignTypes;
    network.addHold(delay, { from: outsiders, to: new Set([race.former]), ...(types !== undefined ? { types: new Set(types) } : {}) });
    this.after(race.fault.delayMs, () => {
      network.removeHold(delay);
      wire.sendHeld(network.release(delay));
    });
    const leader = race.leader as NodeId;
    const isolated = new Set<NodeId>([leader]);
    const exempt = new Set<NodeId>();
    const clientIds = this.parts.clientIds();
    clientIds.forEach((id, index) => {
      if (race.fault.clients === "isolated" || (race.fault.clients === "split" && index < Math.ceil(clientIds.length / 2))) isolated.add(id);
      if (race.fault.clients === "both") exempt.add(id);
    });
    race.partition = this.parts.newId();
    network.addPartition({ id: race.partition, isolated, oneWay: false, direction: "outbound", exempt });
    context.logFault(
      `held-race: node ${campaigner} campaigns; leader ${leader} cut off`,
      [leader],
      `(${stale.length} held messages of node ${race.former} leave now; what the outsiders send it${race.fault.campaignTypes !== undefined ? ` of ${race.fault.campaignTypes.join(",")}` : ""} is held ${race.fault.delayMs} ms)`,
    );
    this.after(race.fault.cutMs, () => this.end(race, undefined));
  }

  /**
   * firstCandidate acts in the instant `candidate` campaigns in `epoch`, above the former leader's: the former leader's
   * held messages reach the candidate's side (the candidate and as many others as make a majority with the former
   * leader), whose answers carry the new epoch to it; the candidate's vote requests to it are held delayMs, so that
   * those answers come first and it votes in an epoch it already holds; the candidate's appends are lost (the former
   * leader's log grows no longer than the others'); and the other side (the outsiders) hears neither of them.
   */
  private firstCandidate(race: Race, candidate: NodeId, epoch: number): void {
    const { context, cluster, network, wire, rng } = this.parts;
    const majority = Math.floor(cluster.replicaIds.length / 2) + 1;
    const others = cluster.replicaIds.filter((id) => id !== race.former && id !== candidate && cluster.node(id).host !== undefined);
    const side = new Set<NodeId>([race.former, candidate]);
    while (side.size < majority && others.some((id) => !side.has(id))) {
      const left = others.filter((id) => !side.has(id));
      side.add(left[rng.nextInt(left.length)] as NodeId);
    }
    const outsiders = new Set(others.filter((id) => !side.has(id)));
    if (outsiders.size === 0) {
      this.end(race, `no replica was left for a second candidate when node ${candidate} campaigned`);
      return;
    }
    race.stage = "second";
    race.candidate = candidate;
    race.epoch = epoch;
    race.outsiders = outsiders;
    const leaving = network.release(race.hold, (to) => side.has(to));
    network.removeHold(race.hold);
    network.addHold(race.hold, { from: new Set([race.former]), to: outsiders });
    wire.sendHeld(leaving);
    const votes = this.parts.newId();
    const types = race.fault.campaignTypes;
    network.addHold(votes, { from: new Set([candidate]), to: new Set([race.former]), ...(types !== undefined ? { types: new Set(types) } : {}) });
    this.after(race.fault.delayMs, () => {
      network.removeHold(votes);
      wire.sendHeld(network.release(votes));
    });
    const unheard = this.parts.newId();
    network.addHold(unheard, { from: new Set([candidate]), to: outsiders });
    race.holds.push(unheard);
    if (race.fault.messageTypes !== undefined) {
      const appends = this.parts.newId();
      network.addScopedOverride(appends, { link: { dropPercent: 100 }, from: new Set([candidate]), types: new Set(race.fault.messageTypes) });
      race.overrides.push(appends);
    }
    const ids = [...outsiders].sort((a, b) => a - b);
    context.logFault(
      `held-race: node ${candidate} campaigns in epoch ${epoch}`,
      [candidate],
      `(${leaving.length} held messages of node ${race.former} leave now; its${types !== undefined ? ` ${types.join(",")}` : ""} messages to node ${race.former} held ${race.fault.delayMs} ms; nodes ${ids.join(",")} hear neither)`,
    );
    race.deadlineUs = context.nowUs + msToUs(race.fault.windowMs);
    this.giveUpAt(race, "second", "no outsider campaigned in the candidate's epoch within its window");
  }

  /**
   * secondCandidate acts in the instant outsider `candidate` campaigns in (or towards) the first candidate's epoch:
   * the former leader crashes and is back at once; what its stalled links held for the outsiders is lost with its
   * connections, and what it sends them from now on reaches them; after cutMs everything the race holds leaves.
   */
  private secondCandidate(race: Race, candidate: NodeId): void {
    const { context, cluster, network } = this.parts;
    race.stage = "cut";
    const former = race.former;
    if (cluster.node(former).host !== undefined) {
      cluster.crash(former, true);
      context.logFault(`held-race: node ${candidate} campaigns; node ${former} crashes and restarts at once`, [former], "");
      this.after(0, () => cluster.restart(former));
    } else {
      context.logFault(`held-race: node ${candidate} campaigns; node ${former} is down already`, [former], "");
    }
    // Its stalled links to the outsiders die with the crash: what they held is lost, what it sends from now on arrives.
    network.removeHold(race.hold);
    const lost = network.release(race.hold);
    if (lost.length > 0) context.logFault(`held-race: ${lost.length} held messages of node ${former} lost with its connections`, [former], "");
    this.after(race.fault.cutMs, () => this.end(race, undefined));
  }

  /** end lifts what the race put in force; `why`, when given, says why it stopped short. */
  private end(race: Race, why: string | undefined): void {
    if (race.stage === "over") return;
    const { context, network, wire } = this.parts;
    race.stage = "over";
    for (const id of [race.hold, ...race.holds]) {
      network.removeHold(id);
      wire.sendHeld(network.release(id));
    }
    for (const id of race.overrides) network.removeOverride(id);
    if (race.partition !== undefined) network.removePartition(race.partition);
    context.closeFault(race.window);
    if (why !== undefined) context.noEffect(race.fault, why);
    context.logFault(`end held-race${why !== undefined ? ` (${why})` : ""}`, [race.former], "");
  }

  /** healAll ends every race still running: the heal lifts its holds and cuts, and the run releases what they kept. */
  healAll(): void {
    for (const { fault } of this.waiting.splice(0)) this.parts.context.noEffect(fault, "no leader whose messages it could hold came before the heal");
    for (const race of this.races) {
      if (race.stage === "over") continue;
      const why =
        race.stage === "leader"
          ? "no replica led a later epoch before the heal"
          : race.stage === "settling" || race.stage === "followers"
            ? "too few replicas followed the new leader before the heal"
            : race.stage === "campaign"
              ? "no outsider campaigned above the new leader's epoch before the heal"
              : race.stage === "candidate"
                ? "no replica campaigned in a later epoch before the heal"
                : race.stage === "second"
                  ? "no outsider campaigned in the candidate's epoch before the heal"
                  : undefined;
      race.stage = "over";
      this.parts.context.closeFault(race.window);
      if (why !== undefined) this.parts.context.noEffect(race.fault, why);
    }
    this.parts.cluster.onStatus = undefined;
  }

  /** giveUpAt ends the race at its deadline if it is still at `stage` then. */
  private giveUpAt(race: Race, stage: Stage, why: string): void {
    this.parts.context.queue.push(race.deadlineUs, {
      kind: "race-step",
      step: () => {
        if (race.stage === stage) this.end(race, why);
      },
    });
  }

  private after(ms: number, step: () => void): void {
    this.parts.context.queue.push(this.parts.context.nowUs + msToUs(ms), { kind: "race-step", step });
  }
}
