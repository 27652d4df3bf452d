import { type ClientContext, LeaderClient, parseConfig } from "@concord/core";
import type { MultiPaxosMessage } from "./messages.ts";
import { multiPaxosOptionsSchema } from "./options.ts";

/**
 * createMultiPaxosClient builds the Multi-Paxos client: core's LeaderClient,
 * which speaks core's client wire, sends to the believed leader, follows
 * notLeader hints and retries the same (session, sequence) elsewhere on
 * timeout, with the patience Multi-Paxos's options configure.
 */
export function createMultiPaxosClient(context: ClientContext): LeaderClient<MultiPaxosMessage> {
  const options = parseConfig(multiPaxosOptionsSchema, context.options, "multipaxos");
  return new LeaderClient<MultiPaxosMessage>(context, { retryTicks: options.clientRetryTicks, giveUpTicks: options.clientGiveUpTicks });
}
