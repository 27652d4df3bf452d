import type { ClientReplyMessage, ClientRequestMessage } from "../client-wire.ts";
import { createProtobufCodec } from "../codec.ts";
import { descriptor } from "./solo-proto.generated.ts";

/**
 * SoloMessage is every message solo sends: core's client wire without
 * `notLeader` (the one server always leads), defined in `solo.proto`. A
 * request doubles as solo's durable log record.
 */
export type SoloMessage = ClientRequestMessage | ClientReplyMessage;

/** soloCodec encodes solo messages with protobufjs. */
export const soloCodec = createProtobufCodec<SoloMessage>(descriptor, "concord.solo.SoloMessage");
