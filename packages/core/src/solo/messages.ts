import { createProtobufCodec } from "../codec.ts";
import { descriptor } from "./solo-proto.generated.ts";

/** SoloRequest is a client request to the solo server, also its durable log record. */
export interface SoloRequest {
  readonly type: "request";
  /** clientId is where the reply goes. */
  readonly clientId: number;
  /** session is the client object's session key, the session table's key. */
  readonly session: number;
  readonly sequence: number;
  readonly command: Uint8Array;
  readonly readOnly: boolean;
}

/** SoloReply is the solo server's answer to the request with `sequence`. */
export interface SoloReply {
  readonly type: "reply";
  readonly session: number;
  readonly sequence: number;
  readonly result: Uint8Array;
}

/** SoloMessage is every message solo sends, defined once in `solo.proto`. */
export type SoloMessage = SoloRequest | SoloReply;

/** soloCodec encodes solo messages with protobufjs. */
export const soloCodec = createProtobufCodec<SoloMessage>(descriptor, "concord.solo.SoloMessage");
