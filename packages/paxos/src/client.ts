import { type ClientContext, LeaderClient, parseConfig } from "@concord/core";
import type { PaxosMessage } from "./messages.ts";
import { paxosOptionsSchema } from "./options.ts";

/**
 * PaxosClient is single-decree Paxos's client: core's LeaderClient, which
 * speaks core's client wire. Paxos has no leader, and any replica proposes
 * for the requests it receives, so the client's "leader" is only the replica
 * it sends to: the one that answered it last (which has learned the keys it
 * asked about), and on a timeout the next replica, with the same (session,
 * sequence). A retried put cannot take effect twice: its answer is the key's
 * one chosen value.
 */
export class PaxosClient extends LeaderClient<PaxosMessage> {
  constructor(context: ClientContext) {
    const options = parseConfig(paxosOptionsSchema, context.options, "paxos");
    super(context, { retryTicks: options.clientRetryTicks, giveUpTicks: options.clientGiveUpTicks });
  }
}

/** createPaxosClient builds a {@link PaxosClient}. */
export function createPaxosClient(context: ClientContext): PaxosClient {
  return new PaxosClient(context);
}
