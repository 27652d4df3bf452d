import { type ClientContext, LeaderClient, parseConfig } from "@concord/core";
import type { LeaderlessMessage } from "./messages.ts";
import { eventualOptionsSchema, quorumOptionsSchema } from "./options.ts";

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

/**
 * QuorumClient is `quorum`'s client: core's LeaderClient, as `eventual`'s; the replica it reaches coordinates its
 * operation. With `atomic` it does not resend to another replica before it gives up (unless clientRetryTicks is
 * set): a write retried at a second coordinator would be stamped twice, which ABD does not allow.
 */
export class QuorumClient extends LeaderClient<LeaderlessMessage> {
  constructor(context: ClientContext) {
    const options = parseConfig(quorumOptionsSchema, context.options, "quorum");
    const retryTicks = options.clientRetryTicks ?? (options.atomic ? options.clientGiveUpTicks : Math.min(20, options.clientGiveUpTicks));
    super(context, { retryTicks, giveUpTicks: options.clientGiveUpTicks });
  }
}

/** createEventualClient builds an {@link EventualClient}. */
export function createEventualClient(context: ClientContext): EventualClient {
  return new EventualClient(context);
}

/** createQuorumClient builds a {@link QuorumClient}. */
export function createQuorumClient(context: ClientContext): QuorumClient {
  return new QuorumClient(context);
}
