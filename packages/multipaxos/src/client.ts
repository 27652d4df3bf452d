import { type ClientContext, LeaderClient, parseConfig } from "@concord/core";
import type { MultiPaxosMessage } from "./messages.ts";
import { multiPaxosOptionsSchema } from "./options.ts";

/**
 * createMultiPaxosClient builds the Multi-Paxos client: core's LeaderClient,
 * which sends to the believed leader, follows notLeader hints and retries the
 * same (session, sequence) elsewhere on timeout.
 */
export function createMultiPaxosClient(context: ClientContext): LeaderClient<MultiPaxosMessage> {
  const options = parseConfig(multiPaxosOptionsSchema, context.options, "multipaxos");
  return new LeaderClient<MultiPaxosMessage>(
    context,
    {
      request: (request) => ({ type: "request", ...request }),
      reply: (message) => {
        if (message.type === "reply") return { kind: "result", session: message.session, sequence: message.sequence, result: message.result };
        if (message.type === "notLeader") {
          return { kind: "notLeader", sequence: message.sequence, leaderHint: message.hasLeaderHint ? message.leaderHint : undefined };
        }
        return undefined;
      },
    },
    { retryTicks: options.clientRetryTicks, giveUpTicks: options.clientGiveUpTicks },
  );
}
