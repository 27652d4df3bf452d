import type { ByzantineContext, ByzantineOutbound, ByzantineStrategy, ByzantineStrategyDefinition, NodeId, Outbound } from "@concord/core";
import { alwaysSigned, Authenticator, type AuthenticationMode } from "./authenticator.ts";
import { encodeBatch, type PbftMessage, type PbftNewView, type PbftPrePrepare, type PbftRequest, type PbftViewChange } from "./messages.ts";
import { pbftOptionsSchema } from "./options.ts";

type Context = ByzantineContext<PbftMessage>;

/**
 * reseal re-authenticates a message the faulty replica altered, with its own
 * keys, so that the lie is authentic: receivers must catch it by the protocol's
 * checks, not by a bad MAC. Client requests are left alone (a replica does not
 * hold the client's keys).
 */
function reseal(message: PbftMessage, to: NodeId, context: Context): PbftMessage {
  switch (message.type) {
    case "request":
      return message;
    case "reply":
      return authenticator(context, "macs").sealReply(message);
    default: {
      if (alwaysSigned(message) || message.signature.length > 0) return authenticator(context, "signatures").sealBroadcast(message);
      const macs = authenticator(context, "macs");
      return message.macs.length === 1 ? macs.sealUnicast(message, to) : macs.sealBroadcast(message);
    }
  }
}

/** authenticator seals as the faulty replica does when honest, with its own keys. */
function authenticator(context: Context, mode: AuthenticationMode): Authenticator {
  return new Authenticator(context.crypto, context.self, context.replicas, mode);
}

function flipped(bytes: Uint8Array): Uint8Array {
  const copy = Uint8Array.from(bytes.length > 0 ? bytes : [0]);
  copy[0] = (copy[0] as number) ^ 0xff;
  return copy;
}

function isReplica(to: NodeId, context: Context): boolean {
  return context.replicas.includes(to);
}

function currentView(context: Context): number {
  return context.replica.status().epoch;
}

function mapEach(messages: readonly Outbound<PbftMessage>[], change: (message: PbftMessage, to: NodeId) => PbftMessage | undefined): ByzantineOutbound<PbftMessage>[] {
  const out: ByzantineOutbound<PbftMessage>[] = [];
  for (const { to, message } of messages) {
    const changed = change(message, to);
    if (changed !== undefined) out.push({ to, message: changed });
  }
  return out;
}

function define(name: string, description: string, create: (self: NodeId) => ByzantineStrategy<PbftMessage>): ByzantineStrategyDefinition<PbftMessage> {
  return { name, description, create };
}

/** silentStrategy drops everything the faulty replica would send: a crashed primary or backup, from the others' view. */
export const silentStrategy = define("silent", "sends nothing at all (a crash that never restarts)", () => ({
  name: "silent",
  outbound: () => [],
}));

/** equivocateStrategy tells different replicas different things: half get another batch in a pre-prepare, or another digest in a vote. */
export const equivocateStrategy = define("equivocate", "sends different pre-prepares, prepares and commits to different replicas", () => ({
  name: "equivocate",
  outbound: (messages, context) =>
    mapEach(messages, (message, to) => {
      const odd = context.replicas.indexOf(to) % 2 === 1;
      if (!odd || !isReplica(to, context)) return message;
      switch (message.type) {
        case "prePrepare": {
          // Another batch for the odd half: drop the last request (the null request for a batch of one).
          const requests = message.requests.slice(0, -1);
          return reseal({ ...message, requests, digest: context.crypto.digest(encodeBatch(requests)) }, to, context);
        }
        case "prepare":
        case "commit":
        case "checkpoint":
          return reseal(message.type === "checkpoint" ? { ...message, stateDigest: flipped(message.stateDigest) } : { ...message, digest: flipped(message.digest) }, to, context);
        default:
          return message;
      }
    }),
}));

/** corruptDigestsStrategy sends authentic messages whose digests match nothing: pre-prepares that disagree with their batch, votes and checkpoints for no batch. */
export const corruptDigestsStrategy = define("corrupt-digests", "flips the digest of every pre-prepare, prepare, commit and checkpoint", () => ({
  name: "corrupt-digests",
  outbound: (messages, context) =>
    mapEach(messages, (message, to) => {
      switch (message.type) {
        case "prePrepare":
        case "prepare":
        case "commit":
          return reseal({ ...message, digest: flipped(message.digest) }, to, context);
        case "checkpoint":
          return reseal({ ...message, stateDigest: flipped(message.stateDigest) }, to, context);
        default:
          return message;
      }
    }),
}));

/** corruptResultsStrategy answers clients with authentic but wrong results. */
export const corruptResultsStrategy = define("corrupt-results", "replies to clients with wrong results (correctly MACed)", () => ({
  name: "corrupt-results",
  outbound: (messages, context) =>
    mapEach(messages, (message, to) => (message.type === "reply" ? reseal({ ...message, result: flipped(message.result) }, to, context) : message)),
}));

/** corruptMacsStrategy breaks the MAC or signature of everything it sends. */
export const corruptMacsStrategy = define("corrupt-macs", "sends every message with broken MACs or signatures", () => ({
  name: "corrupt-macs",
  outbound: (messages) =>
    mapEach(messages, (message) => {
      switch (message.type) {
        case "request":
          return message;
        case "reply":
          return { ...message, mac: flipped(message.mac) };
        default:
          if (alwaysSigned(message) || message.signature.length > 0) return { ...message, signature: flipped(message.signature) };
          return { ...message, macs: message.macs.map(flipped) };
      }
    }),
}));

/** replayStrategy behaves, but also re-sends old messages (its own, still authentic) to random peers. */
export const replayStrategy = define("replay", "also re-sends a few of its old messages to random peers", () => {
  const history: Outbound<PbftMessage>[] = [];
  return {
    name: "replay",
    outbound: (messages, context) => {
      const out: ByzantineOutbound<PbftMessage>[] = [...messages];
      for (const message of messages) {
        if (history.length < 256) history.push(message);
        else history[context.rng.nextInt(history.length)] = message;
      }
      if (history.length > 8 && messages.length > 0) {
        for (let i = 0; i < 2; i++) {
          const old = history[context.rng.nextInt(history.length)] as Outbound<PbftMessage>;
          const to = old.message.type === "reply" ? old.to : (context.replicas[context.rng.nextInt(context.replicas.length)] as NodeId);
          if (to !== context.self) out.push({ to, message: old.message });
        }
      }
      return out;
    },
  };
});

function fakeRequest(context: Context): PbftRequest {
  const command = new Uint8Array(8);
  for (let i = 0; i < command.length; i++) command[i] = context.rng.nextInt(256);
  return { type: "request", clientId: 999_999_999, session: 999_999_999, sequence: 1 + context.rng.nextInt(1000), command, readOnly: false, readLevel: 0, macs: [] };
}

function forgedViewChange(newView: number, context: Context): PbftViewChange {
  const requests = [fakeRequest(context)];
  const seq = 1 + context.rng.nextInt(8);
  const digest = context.crypto.digest(encodeBatch(requests));
  const base: PbftViewChange = {
    type: "viewChange",
    newView,
    replica: context.self,
    stableSeq: 0,
    checkpoints: [{ seq: 0, stateDigest: new Uint8Array(32) }],
    prepared: [{ seq, view: Math.max(0, newView - 1), digest, requests }],
    prePrepared: [{ seq, view: Math.max(0, newView - 1), digest }],
    signature: new Uint8Array(0),
  };
  return base;
}

/** forgeViewChangeStrategy behaves, but keeps asking for view changes with fabricated prepared certificates, also in other replicas' names. */
export const forgeViewChangeStrategy = define("forge-view-change", "sends VIEW-CHANGEs with fabricated prepared certificates, its own and forged in others' names", () => ({
  name: "forge-view-change",
  outbound: (messages, context) => {
    const out: ByzantineOutbound<PbftMessage>[] = [...messages];
    if (messages.length === 0 || !context.rng.chance(1, 8)) return out;
    const view = currentView(context) + 1;
    const own = forgedViewChange(view, context);
    const victim = context.replicas[context.rng.nextInt(context.replicas.length)] as NodeId;
    const inOthersName: PbftViewChange = { ...forgedViewChange(view, context), replica: victim };
    for (const to of context.replicas) {
      if (to === context.self) continue;
      out.push({ to, message: reseal(own, to, context) });
      out.push({ to, message: reseal(inOthersName, to, context) });
    }
    return out;
  },
}));

/** forgeNewViewStrategy tampers with the NEW-VIEWs it sends as primary (dropping or replacing re-issued requests) and forges NEW-VIEWs for views it does not lead. */
export const forgeNewViewStrategy = define("forge-new-view", "sends tampered NEW-VIEWs as primary and forged NEW-VIEWs otherwise", () => {
  const seenViewChanges = new Map<number, Map<NodeId, PbftViewChange>>();
  return {
    name: "forge-new-view",
    inbound: (_from, message) => {
      if (message.type === "viewChange") {
        let byView = seenViewChanges.get(message.newView);
        if (byView === undefined) {
          byView = new Map();
          seenViewChanges.set(message.newView, byView);
        }
        byView.set(message.replica, message);
      }
      return message;
    },
    outbound: (messages, context) => {
      const out: ByzantineOutbound<PbftMessage>[] = [];
      for (const { to, message } of messages) {
        if (message.type === "newView") out.push({ to, message: reseal(tamper(message, context), to, context) });
        else out.push({ to, message });
      }
      if (messages.length > 0 && context.rng.chance(1, 8)) {
        const view = currentView(context) + 1;
        const set = [...(seenViewChanges.get(view)?.values() ?? [])];
        const forged: PbftNewView = {
          type: "newView",
          view,
          replica: context.replicas[view % context.replicas.length] as NodeId,
          viewChanges: set,
          checkpointSeq: 0,
          checkpointDigest: new Uint8Array(32),
          entries: [{ seq: 1, digest: new Uint8Array(32), requests: [] }],
          signature: new Uint8Array(0),
        };
        for (const to of context.replicas) if (to !== context.self) out.push({ to, message: reseal(forged, to, context) });
      }
      return out;
    },
  };
});

function tamper(message: PbftNewView, context: Context): PbftNewView {
  if (message.entries.length === 0) {
    const requests = [fakeRequest(context)];
    return { ...message, entries: [{ seq: message.checkpointSeq + 1, digest: context.crypto.digest(encodeBatch(requests)), requests }] };
  }
  // Replace every re-issued request with the null request: the classic attempt to undo committed work.
  const nullDigest = context.crypto.digest(encodeBatch([]));
  return { ...message, entries: message.entries.map((e) => ({ seq: e.seq, digest: nullDigest, requests: [] })) };
}

const defaults = pbftOptionsSchema.parse({});
/** tickUsDefault is the runtime tick the slow primary assumes (the simulator's default 10 ms). */
const tickUsDefault = 10_000;

/** slowPrimaryDelayUs is how long the slow primary holds its messages: just below the backups' default view-change timeout. */
const slowPrimaryDelayUs = (defaults.viewChangeTimeoutTicks - 4) * tickUsDefault;

/** slowPrimaryStrategy holds what it sends other replicas as primary (not its replies) just below the view-change timeout (the performance attack of Aardvark, NSDI 2009). */
export const slowPrimaryStrategy = define("slow-primary", `as primary, delays every message to other replicas (not its replies) by ${slowPrimaryDelayUs / 1000} ms, just below the default view-change timeout`, () => ({
  name: "slow-primary",
  outbound: (messages, context) => {
    const primary = context.replica.status().role === "primary";
    return messages.map(({ to, message }) => (primary && message.type !== "reply" ? { to, message, delayUs: slowPrimaryDelayUs } : { to, message }));
  },
}));

/** historyMax bounds what the strategies below remember of requests and results. */
const historyMax = 256;

function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  if (!map.has(key) && map.size >= historyMax) map.delete(map.keys().next().value as K);
  map.set(key, value);
}

function bytesKey(bytes: Uint8Array): string {
  let key = "";
  for (const byte of bytes) key += byte.toString(16).padStart(2, "0");
  return key;
}

/**
 * forgeRequestsStrategy, as primary, alters the client requests inside its
 * pre-prepares: each request keeps its client, sequence number and the
 * client's authenticator but carries another command this replica has seen
 * (the first request, which has none to borrow, goes unaltered). The batch
 * digest is recomputed and the pre-prepare resealed, so only the backups'
 * check of each request's client authenticator can catch it (PBFT §4.2).
 */
export const forgeRequestsStrategy = define("forge-requests", "as primary, swaps the command of each client request in its pre-prepares for another it has seen, keeping the client's authenticator", () => ({
  name: "forge-requests",
  // Its memory is a field, not a closure, so that a copy of the strategy (the model checker copies a replica's state with its liar) copies what it saw.
  seen: new Map<string, Uint8Array>(),
  inbound(this: { readonly seen: Map<string, Uint8Array> }, _from: NodeId, message: PbftMessage) {
    if (message.type === "request" && !message.readOnly) remember(this.seen, bytesKey(message.command), message.command);
    return message;
  },
  outbound(this: { readonly seen: Map<string, Uint8Array> }, messages: readonly Outbound<PbftMessage>[], context: Context) {
    const forge = (request: PbftRequest): PbftRequest => {
      const original = bytesKey(request.command);
      for (const [key, command] of this.seen) if (key !== original) return { ...request, command };
      return request;
    };
    return mapEach(messages, (message, to) => {
      if (message.type !== "prePrepare" || !isReplica(to, context)) return message;
      const requests = message.requests.map(forge);
      return reseal({ ...message, requests, digest: context.crypto.digest(encodeBatch(requests)) }, to, context);
    });
  },
}));

/**
 * staleReadsStrategy answers each read-only request with the result it gave
 * the previous time that command was read (the first time, honestly): a
 * replica that serves reads from a state it never lets move. Liars that read
 * the same command answer alike, and a correct replica that lags agrees with
 * them, so only 2f+1 matching replies keep a read linearizable (Castro's
 * thesis §5.1.3).
 */
export const staleReadsStrategy = define("stale-reads", "answers each read-only request with the result it gave the previous read of that command", () => {
  const commandOf = new Map<string, string>();
  const lastResult = new Map<string, Uint8Array>();
  return {
    name: "stale-reads",
    inbound: (_from, message) => {
      if (message.type === "request" && message.readOnly) remember(commandOf, `${message.clientId}:${message.sequence}`, bytesKey(message.command));
      return message;
    },
    outbound: (messages, context) =>
      mapEach(messages, (message, to) => {
        if (message.type !== "reply" || !message.readOnly) return message;
        const command = commandOf.get(`${message.clientId}:${message.sequence}`);
        if (command === undefined) return message;
        const previous = lastResult.get(command);
        remember(lastResult, command, message.result);
        return previous === undefined ? message : reseal({ ...message, result: previous }, to, context);
      }),
  };
});

/** inventReadsStrategy answers read-only requests with an invented result, the same one at every liar (the honest result with its first byte flipped); ordered replies stay honest. */
export const inventReadsStrategy = define("invent-reads", "answers read-only requests with an invented result that every liar agrees on", () => ({
  name: "invent-reads",
  outbound: (messages, context) =>
    mapEach(messages, (message, to) => (message.type === "reply" && message.readOnly ? reseal({ ...message, result: flipped(message.result) }, to, context) : message)),
}));

/**
 * alterBatches returns an outbound filter that, as primary, changes the batch of each pre-prepare once (every backup
 * sees the same altered batch, so that it can prepare) and reseals it for each receiver with a digest that matches.
 */
function alterBatches(alter: (requests: readonly PbftRequest[], context: Context) => PbftRequest[]) {
  const altered = new WeakMap<PbftPrePrepare, PbftPrePrepare>();
  return (messages: readonly Outbound<PbftMessage>[], context: Context): ByzantineOutbound<PbftMessage>[] =>
    mapEach(messages, (message, to) => {
      if (message.type !== "prePrepare" || !isReplica(to, context)) return message;
      let changed = altered.get(message);
      if (changed === undefined) {
        const requests = alter(message.requests, context);
        changed = { ...message, requests, digest: context.crypto.digest(encodeBatch(requests)) };
        altered.set(message, changed);
      }
      return reseal(changed, to, context);
    });
}

/** requestKey names a client request by its client and sequence number, whatever its session. */
function requestKey(request: PbftRequest): string {
  return `${request.clientId}:${request.sequence}`;
}

/**
 * replayRequestsStrategy, as primary, puts old client requests back into its
 * pre-prepares, authentic and in their own sessions (a replay attack): when a
 * batch holds a request whose client and sequence number match one it saw
 * earlier in another session (a restarted client numbers its new session
 * from the same first sequence), that earlier request goes first in the
 * batch; otherwise, in one batch of four, any earlier request does. The
 * session table must answer a replay from its cache (to the old session) or
 * drop it, and a client must count only replies that name its own session
 * (thesis §6.3; issue 21, bug 7).
 */
export const replayRequestsStrategy = define("replay-requests", "as primary, puts old client requests back into its pre-prepares, first those of another session of the same client and sequence number", () => {
  const bySequence = new Map<string, PbftRequest[]>();
  const seen: PbftRequest[] = [];
  const note = (request: PbftRequest): void => {
    if (request.readOnly) return;
    const key = requestKey(request);
    const known = bySequence.get(key) ?? [];
    if (known.some((other) => other.session === request.session)) return;
    remember(bySequence, key, [...known, request]);
    if (seen.length < historyMax) seen.push(request);
    else seen[seen.length % historyMax] = request;
  };
  return {
    name: "replay-requests",
    inbound: (_from, message) => {
      if (message.type === "request") note(message);
      else if (message.type === "prePrepare") message.requests.forEach(note);
      return message;
    },
    outbound: alterBatches((requests, context) => {
      for (const request of requests) {
        const other = bySequence.get(requestKey(request))?.find((earlier) => earlier.session !== request.session);
        if (other !== undefined) return [other, ...requests];
      }
      if (seen.length === 0 || !context.rng.chance(1, 4)) return [...requests];
      return [seen[context.rng.nextInt(seen.length)] as PbftRequest, ...requests];
    }),
  };
});

/**
 * moveSessionsStrategy, as primary, moves each client request in its
 * pre-prepares to a fresh session key of its own drawing, keeping the
 * client's authenticator, and also orders it unmoved: a request executed
 * twice, once in a session its client never opened, unless the backups'
 * check of the authenticator (which covers the session key) refuses the
 * batch (PBFT §4.2; issue 21, bug 7).
 */
export const moveSessionsStrategy = define("move-sessions", "as primary, orders each client request twice, once moved to a fresh session key with the client's authenticator kept", () => ({
  name: "move-sessions",
  outbound: alterBatches((requests, context) => [...requests, ...requests.map((request) => ({ ...request, session: 1 + context.rng.nextInt(0x7fff_ffff) }))]),
}));

/**
 * omitPreparedStrategy sends VIEW-CHANGEs that claim nothing prepared or
 * pre-prepared above its stable checkpoint (signed, so authentic): a liar
 * trying to have committed work replaced by null requests. Only a decision
 * that needs 2f+1 VIEW-CHANGEs without a claim before it chooses the null
 * request, and that counts every claim above the reported checkpoint, keeps
 * a committed batch in the new view (PBFT §4.4; issue 21, bug 3).
 */
export const omitPreparedStrategy = define("omit-prepared", "sends VIEW-CHANGEs that claim nothing prepared or pre-prepared above its stable checkpoint", () => ({
  name: "omit-prepared",
  outbound: (messages, context) =>
    mapEach(messages, (message, to) =>
      message.type === "viewChange" && message.replica === context.self && (message.prepared.length > 0 || message.prePrepared.length > 0)
        ? reseal({ ...message, prepared: [], prePrepared: [] }, to, context)
        : message,
    ),
}));

/**
 * pbftChaosStrategies are the strategies `chaos` draws for a faulty PBFT
 * replica: each plays against one check that issue 21's planted bugs remove
 * (the client authenticator of a request in a pre-prepare and the session key
 * it covers, a client's count of replies for its own session, the 2f+1
 * matching replies of a read and a replica's refusal to read over a prepared
 * batch, the decision's 2f+1 VIEW-CHANGEs before a null request).
 */
export const pbftChaosStrategies: readonly string[] = ["forge-requests", "move-sessions", "replay-requests", "stale-reads", "omit-prepared"];

/** pbftLeaderStrategies are those of pbftChaosStrategies that act only as primary. */
export const pbftLeaderStrategies: readonly string[] = ["forge-requests", "move-sessions", "replay-requests"];

/** pbftByzantineStrategies lists every way a faulty PBFT replica lies in the simulator's `byzantine` scenario. */
export const pbftByzantineStrategies: readonly ByzantineStrategyDefinition<PbftMessage>[] = [
  silentStrategy,
  equivocateStrategy,
  corruptDigestsStrategy,
  corruptResultsStrategy,
  corruptMacsStrategy,
  replayStrategy,
  forgeViewChangeStrategy,
  forgeNewViewStrategy,
  slowPrimaryStrategy,
  forgeRequestsStrategy,
  staleReadsStrategy,
  inventReadsStrategy,
  replayRequestsStrategy,
  moveSessionsStrategy,
  omitPreparedStrategy,
];
