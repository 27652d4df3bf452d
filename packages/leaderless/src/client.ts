import { type ClientContext, LeaderClient, parseConfig } from "@concord/core";
import type { LeaderlessMessage } from "./messages.ts";
import { eventualOptionsSchema } from "./options.ts";

/**
 * EventualClient is `eventual`'s client: core's LeaderClient. There is no leader: every replica answers, so the
 * client's "leader" is only the replica it sends to, drawn at random at first (which spreads the clients over the
 * replicas), the one that answered it last after that, and on a timeout the next one, with the same (session,
 * sequence).
 */
export class EventualClient extends LeaderClient<LeaderlessMessage> {
  constructor(context: ClientContext) {
    const options = parseConfig(eventualOptionsSchema, context.options, "eventual");
    super(context, { retryTicks: options.clientRetryTicks, giveUpTicks: options.clientGiveUpTicks });
  }
}
