import { LeaderClient, parseConfig, type ClientContext, type LeaderClientAdapter } from "@concord/core";
import type { RaftMessage } from "./messages.ts";
import { raftOptionsSchema } from "./options.ts";

/** raftClientAdapter maps Raft's client messages to the shared leader-based client (thesis §6). */
export const raftClientAdapter: LeaderClientAdapter<RaftMessage> = {
  request: (request) => ({
    type: "clientRequest",
    clientId: request.clientId,
    session: request.session,
    sequence: request.sequence,
    command: request.command,
    readOnly: request.readOnly,
  }),
  reply: (message) => {
    switch (message.type) {
      case "clientReply":
        return { kind: "result", session: message.session, sequence: message.sequence, result: message.result };
      case "notLeader":
        return { kind: "notLeader", sequence: message.sequence, leaderHint: message.hasLeaderHint ? message.leaderHint : undefined };
      default:
        return undefined;
    }
  },
};

/**
 * RaftClient is Raft's client: core's LeaderClient (send to the believed
 * leader, follow NotLeader hints, retry the same session request elsewhere,
 * give up as indeterminate) with Raft's messages and the configured patience.
 */
export class RaftClient extends LeaderClient<RaftMessage> {
  constructor(context: ClientContext) {
    const options = parseConfig(raftOptionsSchema, context.options, "raft");
    super(context, raftClientAdapter, { retryTicks: options.clientRetryTicks, giveUpTicks: options.clientGiveUpTicks });
  }
}

/** createRaftClient builds a {@link RaftClient}. */
export function createRaftClient(context: ClientContext): RaftClient {
  return new RaftClient(context);
}
