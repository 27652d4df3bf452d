import { type ClientContext, LeaderClient, parseConfig } from "@concord/core";
import type { MultiPaxosMessage } from "./messages.ts";
import { multiPaxosOptionsSchema } from "./options.ts";

/**
 * MultiPaxosClient is Multi-Paxos's client: core's LeaderClient, which speaks
 * core's client wire, sends to the believed leader, follows notLeader hints and
 * retries the same (session, sequence) elsewhere on timeout, with the patience
 * Multi-Paxos's options configure.
 */
export class MultiPaxosClient extends LeaderClient<MultiPaxosMessage> {
  constructor(context: ClientContext) {
    const options = parseConfig(multiPaxosOptionsSchema, context.options, "multipaxos");
    super(context, { retryTicks: options.clientRetryTicks, giveUpTicks: options.clientGiveUpTicks });
  }
}

/** createMultiPaxosClient builds a {@link MultiPaxosClient}. */
export function createMultiPaxosClient(context: ClientContext): MultiPaxosClient {
  return new MultiPaxosClient(context);
}
