import { LeaderClient, parseConfig, type ClientContext } from "@concord/core";
import type { RaftMessage } from "./messages.ts";
import { raftOptionsSchema } from "./options.ts";

/**
 * RaftClient is Raft's client: core's LeaderClient (send to the believed
 * leader, follow notLeader hints, retry the same session request elsewhere,
 * give up as indeterminate: thesis §6), which speaks core's client wire, with
 * the patience Raft's options configure.
 */
export class RaftClient extends LeaderClient<RaftMessage> {
  constructor(context: ClientContext) {
    const options = parseConfig(raftOptionsSchema, context.options, "raft");
    super(context, { retryTicks: options.clientRetryTicks, giveUpTicks: options.clientGiveUpTicks });
  }
}

/** createRaftClient builds a {@link RaftClient}. */
export function createRaftClient(context: ClientContext): RaftClient {
  return new RaftClient(context);
}
