import type { NodeId } from "@concord/core";
import type { Cluster, ReplicaNode } from "./cluster.ts";
import { type SimContext, msToUs } from "./context.ts";
import type { FaultRecord } from "./faults.ts";
import type { Fault } from "./scenario.ts";
import { nextLeaderWindowMsDefault } from "./scenarios.ts";

/** CampaignFault is a fault that waits for a campaign: a crash or a partition with `atCampaign`. */
export type CampaignFault = Extract<Fault, { type: "crash" } | { type: "partition" }>;

/** ArmedCampaignFault is a campaign fault waiting for its moment, until its deadline. */
interface ArmedCampaignFault {
  readonly record: FaultRecord;
  readonly fault: CampaignFault;
  readonly deadlineUs: number;
}

/**
 * CampaignTrigger holds the faults timed by an election (issue 21): each
 * waits, up to its window, for a replica to start campaigning (its reported
 * role turns to candidate: a Raft pre-candidate or candidate), and fires in
 * that instant, before the campaigner's requests leave, with the campaigner
 * and the leader of that moment handed to it. A simulator cannot see an
 * election timer about to fire; this is the moment it can see, and a fault
 * that acts in it acts as if it had come just before the timer fired.
 */
export class CampaignTrigger {
  private readonly armed: ArmedCampaignFault[] = [];

  constructor(
    private readonly context: SimContext,
    private readonly cluster: Cluster,
    /** fire acts a campaign fault now, `campaigner` having just started a campaign while `leader` led. */
    private readonly fire: (record: FaultRecord, fault: CampaignFault, campaigner: NodeId, leader: NodeId | undefined) => void,
  ) {}

  /** arm makes `fault` wait for the next campaign. */
  arm(record: FaultRecord, fault: CampaignFault): void {
    this.armed.push({ record, fault, deadlineUs: this.context.nowUs + msToUs(fault.windowMs ?? nextLeaderWindowMsDefault) });
    this.context.logFault(`${fault.type} armed (at the next campaign)`, [], "");
    this.cluster.onCampaigning = (node) => this.campaigning(node);
  }

  /** campaigning fires, in arming order, every armed fault whose window is still open. */
  private campaigning(node: ReplicaNode): void {
    const leader = this.cluster.currentLeader();
    const due = this.armed.filter((armed) => this.context.nowUs <= armed.deadlineUs);
    for (const { fault, deadlineUs } of this.armed) if (this.context.nowUs > deadlineUs) this.context.noEffect(fault, "no replica started a campaign within its window");
    this.armed.length = 0;
    this.cluster.onCampaigning = undefined;
    if (due.length === 0) return;
    this.context.logFault(`node ${node.id} campaigns (epoch ${node.lastStatus?.epoch ?? 0}${leader !== undefined ? `, leader ${leader}` : ""})`, [node.id], "");
    for (const { record, fault } of due) this.fire(record, fault, node.id, leader);
  }

  /** healAll reports the faults still waiting as without effect: no campaign came within their windows. */
  healAll(): void {
    for (const { fault } of this.armed) this.context.noEffect(fault, "no replica started a campaign within its window");
    this.armed.length = 0;
    this.cluster.onCampaigning = undefined;
  }
}
