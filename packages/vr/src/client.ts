import { type ClientContext, LeaderClient, parseConfig } from "@concord/core";
import type { VrMessage } from "./messages.ts";
import { vrOptionsSchema } from "./options.ts";

/**
 * VrClient is VR's client (§4: the client sends to the primary it believes in,
 * and on timeout to the others): core's LeaderClient, which speaks core's client
 * wire, follows notLeader hints to the primary of the view and retries the same
 * (session, request-number) elsewhere, with the patience VR's options configure.
 */
export class VrClient extends LeaderClient<VrMessage> {
  constructor(context: ClientContext) {
    const options = parseConfig(vrOptionsSchema, context.options, "vr");
    super(context, { retryTicks: options.clientRetryTicks, giveUpTicks: options.clientGiveUpTicks });
  }
}

/** createVrClient builds a {@link VrClient}. */
export function createVrClient(context: ClientContext): VrClient {
  return new VrClient(context);
}
