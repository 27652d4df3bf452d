import {
  type AnyAlgorithm,
  type ByzantineContext,
  type ByzantineOutbound,
  type ByzantineStrategy,
  type DurableState,
  type InvariantMonitor,
  type NodeId,
  type Outbound,
  type PathCounter,
  type ProtocolOptions,
  type Ready,
  type Replica,
  ReplicaHost,
  type ReplicaStatus,
  type Rng,
  assert,
} from "@concord/core";
import { KvStateMachine } from "@concord/kv";
import { type AppliedLogOracle, RecordingStateMachine } from "./applied-log.ts";
import type { SimContext } from "./context.ts";
import type { Delivery } from "./events.ts";
import type { Metrics } from "./metrics.ts";
import type { Target } from "./scenario.ts";
import type { NodeCrypto } from "./sim-crypto.ts";
import { SimStorage } from "./sim-storage.ts";
import type { Wire } from "./wire.ts";

/**
 * inboxMessagesMax bounds the messages waiting for one node (paused, busy
 * with a Ready, or its CPU busy). They came out of the event queue, so the
 * same scale bounds them: past it the run is looping, and it stops loudly.
 */
export const inboxMessagesMax = 1_000_000;

/** bytesPerKilobyte scales the CPU model's per-kilobyte cost. */
const bytesPerKilobyte = 1024;

/** SlowDown is one slow fault in force on a node. */
export interface SlowDown {
  readonly extraLatencyUs: number;
  readonly cpuFactor: number;
}

/** ReplicaNode is one replica's process in the simulated cluster: its host (while up), disk, CPU and the faults on it. */
export interface ReplicaNode {
  readonly id: NodeId;
  /** host drives the live replica through the Ready contract; undefined while the node is down. */
  host: ReplicaHost<unknown> | undefined;
  readonly storage: SimStorage;
  readonly crypto: NodeCrypto;
  readonly rng: Rng;
  incarnation: number;
  paused: boolean;
  /**
   * inbox holds, in arrival order, messages that wait for the node: while it is
   * paused, busy with a Ready (the replica's contract) or its CPU is busy. The
   * node takes all of them at once when it is free, as an event loop drains its
   * sockets, so that they share one Ready. Invariant: at most {@link inboxMessagesMax}.
   */
  inbox: Delivery[];
  /** cpuWakePending: a cpu-free event is queued for this node. */
  cpuWakePending: boolean;
  busyUntilUs: number;
  /** drainPending: a drain event is queued to carry out what this instant's messages produced. */
  drainPending: boolean;
  /** stopped is set once the replica threw: it is never restarted. */
  stopped: boolean;
  /** downForGood is set by a crash that outlasts the heal (`outlastsHeal`): the replica is never restarted. */
  downForGood: boolean;
  /** lastStatus is the replica's status after its latest event, for readers that may not call it during a Ready. */
  lastStatus: ReplicaStatus | undefined;
  /**
   * syncedEpoch is the highest epoch (term, ballot round, view) the replica
   * reported once a Ready was synced: every protocol persists its epoch
   * before acting in it, so a restart must recover at least this one.
   */
  syncedEpoch: number;
  /**
   * syncedDurableIndex is the highest snapshot or stable checkpoint
   * (`ReplicaStatus.durableIndex`) the replica reported once a Ready was
   * synced: a restart must recover at least that far.
   */
  syncedDurableIndex: number;
  missedTicks: number;
  /** strategy is the replica's Byzantine strategy, if it lies (a scripted run may make it lie mid-run: Cluster.turnLiar). */
  strategy: ByzantineStrategy<unknown> | undefined;
  /** strategyRng is the stream the strategy draws from, when it is not the node's own (a scripted run draws it as the model checker does). */
  readonly strategyRng: Rng | undefined;
  /** pauses holds the ids of the pause faults in force on this node; it runs again when the last one ends. */
  readonly pauses: Set<number>;
  /** slows holds the slow faults in force on this node, by fault id; the slowest of them applies. */
  readonly slows: Map<number, SlowDown>;
  cpuFactor: number;
  /** tickEvent is this node's tick, queued again on every tick (one object for the whole run). */
  readonly tickEvent: { readonly kind: "tick"; readonly node: NodeId };
}

/**
 * ReadyMoments is where the crash schedule watches the Ready contract: a
 * crash timed "while-unsynced", "after-sync", "while-sending" or
 * "after-answering" strikes at the moment it names.
 */
export interface ReadyMoments {
  /** armed tells whether any timed crash waits (else the cluster skips the other calls). */
  armed(): boolean;
  /** noteUnsynced: `node` has just written records it has not synced. */
  noteUnsynced(node: ReplicaNode): void;
  /** strikeAfterSync crashes `node` between its sync and its send if a crash waits for that; tells whether it did. */
  strikeAfterSync(node: ReplicaNode): boolean;
  /** strikeWhileSending crashes `node` part-way through sending its synced Ready if a crash waits for that; tells whether it did. */
  strikeWhileSending(node: ReplicaNode, host: ReplicaHost<unknown>): boolean;
  /** noteStepped: `node` has just stepped a message of type `type`. */
  noteStepped(node: ReplicaNode, type: string): void;
  /** strikeAfterAnswering crashes `node` right after it sent messages, if a crash waits for the answer to a message it stepped; tells whether it did. */
  strikeAfterAnswering(node: ReplicaNode): boolean;
  /** strikeAfterCommit crashes `node` before its next Ready, if a crash waits for its commit point to advance and it did; tells whether it did. */
  strikeAfterCommit(node: ReplicaNode): boolean;
}

/** ClusterSetup is what the cluster needs to boot and run its replicas. */
export interface ClusterSetup {
  readonly algorithm: AnyAlgorithm;
  readonly protocolOptions: ProtocolOptions;
  /** replicaIds are the replicas of the initial configuration. */
  readonly replicaIds: readonly NodeId[];
  /** spareIds are replicas booted outside the initial configuration, for membership changes to add. */
  readonly spareIds: readonly NodeId[];
  readonly monitors: readonly InvariantMonitor<unknown>[];
  readonly pathCounter: PathCounter<unknown> | undefined;
  readonly oracle: AppliedLogOracle;
  /** syncUs is the disk's sync latency: a Ready that wrote records waits for it. */
  readonly syncUs: number;
  /** nodeParts gives each replica its Rng, its crypto and its Byzantine strategy (if it is faulty). */
  readonly nodeParts: (id: NodeId) => { readonly rng: Rng; readonly crypto: NodeCrypto; readonly strategy: ByzantineStrategy<unknown> | undefined; readonly strategyRng?: Rng };
}

/**
 * Cluster is the simulated replicas (TigerBeetle's `testing/cluster.zig`):
 * each a process with a disk and a CPU, driven through core's ReplicaHost.
 * It boots and crashes them, hands them ticks and messages when they can
 * take them, charges their CPU, lets the monitors look, and carries out
 * their Readies with the disk's sync latency in virtual time.
 */
export class Cluster {
  readonly replicaIds: readonly NodeId[];
  readonly spareIds: readonly NodeId[];
  /** allReplicaIds are the initial replicas and then the spares. */
  readonly allReplicaIds: readonly NodeId[];
  private readonly nodes = new Map<NodeId, ReplicaNode>();
  /** activeNode is the replica whose code is running, so that an exception can be pinned on it. */
  activeNode: ReplicaNode | undefined;
  /** moments is the crash schedule's hook into the Ready contract. */
  moments: ReadyMoments | undefined;
  /** onLeading is called after every event of a replica that leads, before its Ready is taken (cuts that wait for the next leader). */
  onLeading: ((node: ReplicaNode, epoch: number) => void) | undefined;
  /** onCampaigning is called after the event in which a replica starts a campaign, before its Ready is taken (faults timed by an election). */
  onCampaigning: ((node: ReplicaNode) => void) | undefined;
  /**
   * onStatus is called after every event of every replica, with its new status, before its Ready is taken (the held
   * races of held-races.ts, whose stages each wait for an election event); `campaigns`: the event started a campaign.
   */
  onStatus: ((node: ReplicaNode, campaigns: boolean) => void) | undefined;

  constructor(
    private readonly context: SimContext,
    private readonly setup: ClusterSetup,
    private readonly metrics: Metrics,
    private readonly wire: Wire,
  ) {
    this.replicaIds = setup.replicaIds;
    this.spareIds = setup.spareIds;
    this.allReplicaIds = [...setup.replicaIds, ...setup.spareIds];
    for (const id of this.allReplicaIds) {
      const parts = setup.nodeParts(id);
      this.nodes.set(id, {
        id,
        host: undefined,
        storage: new SimStorage(),
        crypto: parts.crypto,
        rng: parts.rng,
        incarnation: 0,
        paused: false,
        inbox: [],
        cpuWakePending: false,
        busyUntilUs: 0,
        stopped: false,
        downForGood: false,
        drainPending: false,
        lastStatus: undefined,
        syncedEpoch: 0,
        syncedDurableIndex: 0,
        missedTicks: 0,
        strategy: parts.strategy,
        strategyRng: parts.strategyRng,
        pauses: new Set(),
        slows: new Map(),
        cpuFactor: 1,
        tickEvent: { kind: "tick", node: id },
      });
    }
  }

  /** node returns the replica node `id`; there must be one. */
  node(id: NodeId): ReplicaNode {
    const node = this.nodes.get(id);
    assert(node !== undefined, `no replica ${id}`);
    return node;
  }

  /** has tells whether `id` is a replica of this cluster. */
  has(id: NodeId): boolean {
    return this.nodes.has(id);
  }

  /** all lists the replica nodes, the initial ones first. */
  all(): IterableIterator<ReplicaNode> {
    return this.nodes.values();
  }

  private armed(): boolean {
    return this.moments?.armed() ?? false;
  }

  // ----- life and death ---------------------------------------------------

  /**
   * stopThrowingReplica handles an exception out of replica code: the replica
   * found itself in an impossible state (or refused its durable state), so it
   * stops for good, as a real process would, and the run goes on without it.
   * For a correct replica that is a violation; an exception anywhere else is a
   * bug of the simulator or a client, and is rethrown.
   */
  stopThrowingReplica(error: unknown): void {
    const node = this.activeNode;
    this.activeNode = undefined;
    if (node === undefined) throw error;
    const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.crash(node.id);
    node.stopped = true;
    if (node.strategy === undefined) this.context.violation("replica-stopped", `replica ${node.id} stopped on ${what}`);
    this.context.logFault(`stopped (${what})`, [node.id], "");
  }

  /** boot starts a replica from what its disk recovers, behind a new host, and carries out its first Readies. */
  boot(node: ReplicaNode): void {
    if (node.stopped) return;
    this.activeNode = node;
    const setup = this.setup;
    const create = (durable: DurableState): Replica<unknown> =>
      setup.algorithm.createReplica({
        id: node.id,
        // A spare boots knowing the initial configuration, outside it, until a membership change adds it.
        replicas: this.replicaIds,
        rng: node.rng.fork(`incarnation:${node.incarnation}`),
        durable,
        // Byzantine replicas are left out of the applied-prefix check: their claims prove nothing.
        stateMachine: new RecordingStateMachine(node.id, new KvStateMachine(), node.strategy === undefined ? setup.oracle : undefined),
        crypto: node.crypto,
        options: setup.protocolOptions,
      }) as Replica<unknown>;
    // What a Ready sends leaves once the node's CPU is free: the crypto that built it, and earlier work, delay it.
    const send = (_from: NodeId, messages: readonly Outbound<unknown>[]): void => this.sendAll(node, messages, Math.max(this.context.nowUs, node.busyUntilUs));
    node.host = ReplicaHost.boot(node.storage, create, send);
    this.checkRecoveredEpoch(node, node.host);
    this.afterReplicaEvent(node, 0);
    this.activeNode = undefined;
  }

  /** restart boots a crashed replica again (a stopped one, or one down for good, stays down). */
  restart(id: NodeId): void {
    const node = this.node(id);
    if (node.host !== undefined || node.stopped || node.downForGood) return;
    this.boot(node);
  }

  /**
   * crash stops a replica's process: its disk loses what was not synced (and
   * may tear a record), its host is dropped with any Ready in flight, and
   * what waited for it is gone. `counted` crashes are the scenario's, for the
   * report's crash counts.
   */
  crash(id: NodeId, counted = false): void {
    const node = this.node(id);
    if (node.host === undefined) return;
    const report = node.storage.crash(node.rng, this.context.scenario.disk.tearPercent);
    node.host = undefined;
    node.incarnation++;
    node.drainPending = false;
    node.lastStatus = undefined;
    node.missedTicks = 0;
    node.paused = false;
    node.pauses.clear();
    node.inbox = [];
    node.busyUntilUs = 0;
    if (counted) this.metrics.countCrash(report);
    if (report.lostRecords > 0 || report.tornBytes > 0 || report.lostSnapshot) {
      const snapshot = report.lostSnapshot ? " and an unsynced snapshot" : "";
      const kept = report.keptRecords > 0 ? `, kept ${report.keptRecords} written whole` : "";
      this.context.logLine(`node ${id} lost ${report.lostRecords} unsynced record(s)${snapshot}${kept}${report.tornBytes > 0 ? `, ${report.tornBytes} torn byte(s) left` : ""}`);
    }
  }

  /** resume runs a paused replica again: a sync that completed meanwhile sends now, then what waited is taken. */
  resume(id: NodeId): void {
    const node = this.node(id);
    if (!node.paused) return;
    node.paused = false;
    // A sync that completed during the pause: its messages leave now.
    if (node.host?.phase === "synced") {
      this.finishReady(node);
      return;
    }
    if (node.host === undefined || node.host.busy) return;
    // The time that passed while paused is seen first, before any message that waited (a clock jump).
    this.replayMissedTicks(node);
    this.takeInbox(node);
    this.drainReplica(node);
    this.activeNode = undefined;
  }

  /**
   * noteSyncedEpoch records the epoch and the durable index of a replica whose
   * Ready is synced. It runs between ready() and advance(), when the replica
   * may not be called: its status from just before ready() stands for the
   * state that Ready holds.
   */
  private noteSyncedEpoch(node: ReplicaNode): void {
    if (node.lastStatus === undefined) return;
    node.syncedEpoch = Math.max(node.syncedEpoch, node.lastStatus.epoch);
    node.syncedDurableIndex = Math.max(node.syncedDurableIndex, node.lastStatus.durableIndex ?? 0);
  }

  /**
   * checkRecoveredEpoch flags a restarted replica that recovered an epoch, or
   * a snapshot or stable checkpoint, below one it had synced: its storage lost
   * a synced write. The second catches a lost write that no single crash can
   * show in the history, such as a PBFT replica's, which is within f.
   */
  private checkRecoveredEpoch(node: ReplicaNode, host: ReplicaHost<unknown>): void {
    if (node.strategy !== undefined) return; // a Byzantine replica's claims prove nothing
    const { epoch, durableIndex = 0 } = host.status();
    if (epoch < node.syncedEpoch) {
      this.context.violation("durable-epoch", `replica ${node.id} restarted in epoch ${epoch}, below epoch ${node.syncedEpoch}, which it had synced before the crash: a synced write was lost`);
    }
    if (durableIndex < node.syncedDurableIndex) {
      this.context.violation(
        "durable-snapshot",
        `replica ${node.id} restarted with its snapshot or stable checkpoint at ${durableIndex}, below ${node.syncedDurableIndex}, which it had synced before the crash: a synced write was lost`,
      );
    }
  }

  // ----- inputs -----------------------------------------------------------

  /** deliver hands a message to a replica, now if it is free, else into its inbox. */
  deliver(to: NodeId, delivery: Delivery): void {
    const node = this.nodes.get(to);
    if (node === undefined || node.host === undefined) return;
    this.activeNode = node;
    const nowUs = this.context.nowUs;
    if (node.inbox.length === 0 && !node.paused && !node.host.busy && node.busyUntilUs <= nowUs) {
      // Every message that arrives in this same instant is stepped before the node does its I/O,
      // as a real event loop handles what is already in its socket buffers: they share one Ready.
      this.stepMessage(node, delivery);
      if (!node.drainPending) {
        node.drainPending = true;
        this.context.queue.push(nowUs, { kind: "drain", node: node.id, incarnation: node.incarnation });
      }
    } else {
      // Paused, busy with a Ready, or its CPU is busy: the message waits in the node's socket buffer, in order.
      assert(node.inbox.length < inboxMessagesMax, () => `replica ${node.id} has ${inboxMessagesMax} messages waiting: the run is looping`);
      node.inbox.push(delivery);
      if (this.takeInbox(node)) this.drainReplica(node);
    }
    this.activeNode = undefined;
  }

  /** drainEvent carries out what the messages of one instant produced, unless the node crashed since. */
  drainEvent(id: NodeId, incarnation: number): void {
    const node = this.node(id);
    if (node.incarnation !== incarnation) return;
    node.drainPending = false;
    this.drainReplica(node);
  }

  /** cpuFree takes the messages that waited for the node's CPU. */
  cpuFree(id: NodeId): void {
    const node = this.node(id);
    node.cpuWakePending = false;
    if (this.takeInbox(node)) this.drainReplica(node);
  }

  /**
   * takeInbox steps every waiting message into the replica if it can take them
   * now (else, if only its CPU is busy, wakes it when the CPU frees up), and
   * tells whether it stepped any. The caller drains the replica's Ready.
   */
  private takeInbox(node: ReplicaNode): boolean {
    if (node.inbox.length === 0 || node.host === undefined || node.paused || node.host.busy) return false;
    if (node.busyUntilUs > this.context.nowUs) {
      if (!node.cpuWakePending) {
        node.cpuWakePending = true;
        this.context.queue.push(node.busyUntilUs, { kind: "cpu-free", node: node.id });
      }
      return false;
    }
    const inbox = node.inbox;
    node.inbox = [];
    for (const delivery of inbox) this.stepMessage(node, delivery);
    return true;
  }

  /** stepMessage steps one message into a free replica, charges its CPU cost and lets monitors look. */
  private stepMessage(node: ReplicaNode, delivery: Delivery): void {
    this.activeNode = node;
    const host = node.host as ReplicaHost<unknown>;
    let message: unknown = delivery.message;
    if (node.strategy?.inbound !== undefined) {
      message = node.strategy.inbound(delivery.from, message, this.byzantineContext(node));
      if (message === undefined) return;
    }
    this.setup.pathCounter?.observeDeliver?.(host.replica, delivery.from, message, { timeUs: this.context.nowUs, faulty: node.strategy !== undefined });
    host.step(delivery.from, message);
    if (this.armed()) this.moments?.noteStepped(node, this.setup.algorithm.codec.typeName(message));
    const cpu = this.context.scenario.cpu;
    this.account(node, host, cpu.perMessageUs + (delivery.bytes / bytesPerKilobyte) * cpu.perKilobyteUs);
  }

  /** turnLiar makes replica `id` play `strategy` over its honest code from now on (a replica compromised mid-run, as the model checker's turn-liar action). */
  turnLiar(id: NodeId, strategy: ByzantineStrategy<unknown>): void {
    this.node(id).strategy = strategy;
  }

  /** tick hands a replica one tick, or counts it missed while the node is paused or busy with a Ready. */
  tick(id: NodeId): void {
    const node = this.node(id);
    if (node.host === undefined) return;
    // A paused process's monotonic clock keeps running (issue 10): the ticks it misses are seen on resume.
    if (node.paused || node.host.busy) {
      node.missedTicks++;
      return;
    }
    this.activeNode = node;
    node.host.tick();
    this.afterReplicaEvent(node, 0);
    this.activeNode = undefined;
  }

  /** afterReplicaEvent charges the CPU, lets monitors look, and carries out the replica's Ready. */
  afterReplicaEvent(node: ReplicaNode, baseCostUs: number): void {
    const host = node.host;
    if (host === undefined) return;
    this.account(node, host, baseCostUs);
    this.drainReplica(node);
  }

  /** replayMissedTicks hands a replica the ticks it missed while busy with a Ready or paused, in one instant. */
  private replayMissedTicks(node: ReplicaNode): void {
    const host = node.host;
    if (host === undefined) return;
    this.activeNode = node;
    for (; node.missedTicks > 0; node.missedTicks--) {
      host.tick();
      this.account(node, host, 0);
    }
  }

  // ----- CPU and monitors -------------------------------------------------

  /** account charges the CPU for one replica event (and its crypto work) and lets monitors look. */
  private account(node: ReplicaNode, host: ReplicaHost<unknown>, baseCostUs: number): void {
    const costUs = Math.round((baseCostUs + this.cryptoCostUs(node)) * node.cpuFactor);
    if (costUs > 0) node.busyUntilUs = Math.max(node.busyUntilUs, this.context.nowUs) + costUs;
    this.observe(node, host);
  }

  /** cryptoCostUs charges, once, the crypto work a node did since the last charge. */
  private cryptoCostUs(node: ReplicaNode): number {
    const counters = node.crypto.counters;
    if (counters.digests + counters.macs + counters.signatures + counters.verifications === 0) return 0;
    const cpu = this.context.scenario.cpu;
    const cost =
      counters.digests * cpu.perDigestUs + counters.macs * cpu.perMacUs + counters.signatures * cpu.perSignatureUs + counters.verifications * cpu.perVerifyUs;
    counters.digests = 0;
    counters.macs = 0;
    counters.signatures = 0;
    counters.verifications = 0;
    return cost;
  }

  private observe(node: ReplicaNode, host: ReplicaHost<unknown>): void {
    const faulty = node.strategy !== undefined;
    const status = host.status();
    const replica = host.replica;
    const campaigns = status.role === "candidate" && node.lastStatus?.role !== "candidate";
    node.lastStatus = status;
    if (campaigns) this.onCampaigning?.(node);
    this.onStatus?.(node, campaigns);
    // A faulty leader counts too: a view that a silent primary led and lost is a change of view all the same.
    if (status.role === "leader" || status.role === "primary") {
      this.metrics.leaderEpochs.add(status.epoch);
      this.onLeading?.(node, status.epoch);
    }
    const { monitors, pathCounter } = this.setup;
    if (monitors.length === 0 && pathCounter === undefined) return;
    const context = { timeUs: this.context.nowUs, faulty };
    pathCounter?.observeReplica?.(replica, context);
    for (const monitor of monitors) monitor.observeReplica?.(replica, context);
  }

  // ----- Readies ----------------------------------------------------------

  /**
   * drainReplica carries out the replica's Readies through its host. A Ready
   * that wrote records waits for the disk's sync (virtual time) in flight;
   * one that wrote nothing, or any Ready on an instant disk, is finished now,
   * and the next one is taken.
   */
  private drainReplica(node: ReplicaNode): void {
    this.activeNode = node;
    const host = node.host;
    if (host === undefined) return;
    const syncUs = this.setup.syncUs;
    while (!host.busy) {
      // A crash right after the commit point advanced: the Ready that would tell the others never begins.
      if (this.armed() && this.moments?.strikeAfterCommit(node) === true) return;
      const ready = host.begin();
      if (ready === undefined) return;
      // Crypto work done while building this Ready (or in the last advance) delays what it sends.
      const cryptoUs = this.cryptoCostUs(node);
      const nowUs = this.context.nowUs;
      if (cryptoUs > 0) node.busyUntilUs = Math.max(node.busyUntilUs, nowUs) + Math.round(cryptoUs * node.cpuFactor);
      if (host.unsynced && syncUs > 0) {
        // Messages wait for the sync (Ready's rule); a crash before it completes loses the records and the snapshot.
        this.context.queue.push(Math.max(nowUs, node.busyUntilUs) + syncUs, { kind: "sync-done", node: node.id, incarnation: node.incarnation });
        if (this.armed()) this.moments?.noteUnsynced(node);
        return;
      }
      host.synced();
      this.noteSyncedEpoch(node);
      if (!this.sendAndAdvance(node, host)) return;
    }
  }

  /**
   * sendAndAdvance releases the messages of the host's synced Ready and
   * advances it, unless a crash waits for the moment part-way through the
   * send; it tells whether the node is still up.
   */
  private sendAndAdvance(node: ReplicaNode, host: ReplicaHost<unknown>): boolean {
    if (this.armed() && this.moments?.strikeWhileSending(node, host) === true) return false;
    const sending = (host.inflight as Ready<unknown>).messages.length;
    host.release();
    if (sending > 0 && this.armed() && this.moments?.strikeAfterAnswering(node) === true) return false;
    host.advance();
    return true;
  }

  /** syncDone: the disk finished the sync a replica's Ready waited for (a later incarnation ignores it). */
  syncDone(id: NodeId, incarnation: number): void {
    const node = this.node(id);
    const host = node.host;
    if (host === undefined || node.incarnation !== incarnation || !host.busy) return;
    host.synced();
    this.noteSyncedEpoch(node);
    // A crash between the sync and the send: the records are durable, the messages that waited for them never leave.
    if (this.armed() && this.moments?.strikeAfterSync(node) === true) return;
    // A paused process cannot act on its finished sync: it sends and advances when it resumes.
    if (!node.paused) this.finishReady(node);
  }

  /** finishReady sends the messages of a synced Ready, advances the replica, then catches up on what waited. */
  private finishReady(node: ReplicaNode): void {
    this.activeNode = node;
    const host = node.host;
    assert(host !== undefined && host.phase === "synced", () => `node ${node.id} has no synced Ready in flight`);
    if (!this.sendAndAdvance(node, host)) {
      this.activeNode = undefined;
      return;
    }
    // Ticks and messages that arrived during the sync are handled now, in order, and share the next Ready.
    this.replayMissedTicks(node);
    this.takeInbox(node);
    this.drainReplica(node);
    this.activeNode = undefined;
  }

  /** sendAll hands a replica's messages to the wire (through its Byzantine strategy, if it is faulty) and lets monitors see them. */
  private sendAll(node: ReplicaNode, messages: readonly Outbound<unknown>[], departUs: number): void {
    if (messages.length === 0) return;
    let outgoing: readonly ByzantineOutbound<unknown>[] = messages;
    if (node.strategy !== undefined) outgoing = node.strategy.outbound(messages, this.byzantineContext(node));
    const faulty = node.strategy !== undefined;
    const { monitors, pathCounter } = this.setup;
    // One context for the whole batch: every message of it leaves in this instant, from this node.
    const context = monitors.length > 0 || pathCounter !== undefined ? { timeUs: this.context.nowUs, faulty } : undefined;
    let again = false;
    for (const outbound of outgoing) {
      if (context !== undefined) {
        pathCounter?.observeSend?.(node.id, outbound.to, outbound.message, context);
        for (const monitor of monitors) monitor.observeSend?.(node.id, outbound.to, outbound.message, context);
      }
      const delayUs = outbound.delayUs ?? 0;
      if (delayUs > 0) {
        this.context.queue.push(departUs + Math.round(delayUs), { kind: "byzantine-send", from: node.id, to: outbound.to, message: outbound.message });
      } else {
        this.wire.transmit(node.id, outbound.to, outbound.message, departUs, again);
        again = true;
      }
    }
  }

  private byzantineContext(node: ReplicaNode): ByzantineContext<unknown> {
    return {
      self: node.id,
      replicas: this.replicaIds,
      rng: node.strategyRng ?? node.rng,
      crypto: node.crypto,
      replica: (node.host as ReplicaHost<unknown>).replica,
      timeUs: this.context.nowUs,
    };
  }

  // ----- queries ----------------------------------------------------------

  /** highestLiveEpoch is the highest epoch (term, ballot round, view) a live replica last reported. */
  highestLiveEpoch(): number {
    let highest = 0;
    for (const node of this.nodes.values()) {
      if (node.host !== undefined && node.lastStatus !== undefined) highest = Math.max(highest, node.lastStatus.epoch);
    }
    return highest;
  }

  /** currentLeader is the live, correct replica that claims leadership in the highest epoch. */
  currentLeader(): NodeId | undefined {
    let best: NodeId | undefined;
    let bestEpoch = -1;
    for (const node of this.nodes.values()) {
      if (node.strategy !== undefined) continue;
      const status = liveStatus(node);
      if (status === undefined) continue;
      if ((status.role === "leader" || status.role === "primary") && status.epoch > bestEpoch) {
        best = node.id;
        bestEpoch = status.epoch;
      }
    }
    return best;
  }

  /**
   * followersOf lists, in id order, the live correct replicas that follow `leader` in its own epoch: the members of
   * its configuration that hear it. A spare outside the configuration, or a replica removed from it, may still name
   * the leader it last knew (Multi-Paxos's spares name the initial leader from boot), but holds an older epoch.
   */
  followersOf(leader: NodeId): NodeId[] {
    const epoch = liveStatus(this.node(leader))?.epoch;
    const followers: NodeId[] = [];
    for (const node of this.nodes.values()) {
      if (node.id === leader || node.strategy !== undefined) continue;
      const status = liveStatus(node);
      if (status !== undefined && status.leader === leader && status.epoch === epoch) followers.push(node.id);
    }
    return followers.sort((a, b) => a - b);
  }

  /**
   * select resolves a fault target to replica ids at the moment the fault
   * fires, among the replicas it can act on (`can`): a crash is drawn among
   * live replicas, a pause among running ones, so that every drawn fault acts.
   */
  select(target: Target, rng: Rng, can: (node: ReplicaNode) => boolean = () => true, exclude: ReadonlySet<NodeId> = new Set()): NodeId[] {
    const candidates = this.allReplicaIds.filter((id) => !exclude.has(id) && can(this.node(id)));
    if (candidates.length === 0) return [];
    if (target === "all") return candidates;
    if (typeof target === "object") {
      const id = this.allReplicaIds[target.index % this.allReplicaIds.length] as NodeId;
      return candidates.includes(id) ? [id] : [];
    }
    const leader = this.currentLeader();
    if (target === "leader" && leader !== undefined && candidates.includes(leader)) return [leader];
    if (target === "follower") {
      const followers = candidates.filter((id) => id !== leader);
      if (followers.length > 0) return [followers[rng.nextInt(followers.length)] as NodeId];
    }
    return [candidates[rng.nextInt(candidates.length)] as NodeId];
  }
}

/** liveStatus is a live replica's status, undefined for one that is down. The replica's contract forbids calls between ready() and advance(): its last status is read then. */
function liveStatus(node: ReplicaNode): ReplicaStatus | undefined {
  if (node.host === undefined) return undefined;
  return node.host.busy ? node.lastStatus : node.host.status();
}
