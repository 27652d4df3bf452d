import { type AnyAlgorithm, type ByzantineStrategyDefinition, ConfigError, type Outbound, type Rng } from "@concord/core";

/**
 * corruptFields returns a copy of a decoded message with one field changed at
 * random: a number nudged (often upward, which forges higher terms, ballots
 * and indices), a boolean flipped, or bytes garbled. It knows nothing of the
 * protocol; the `type` discriminant is left alone so the message still parses.
 */
export function corruptFields(message: unknown, rng: Rng): unknown {
  const copy = structuredClone(message) as Record<string, unknown>;
  const fields: string[] = [];
  for (const key of Object.keys(copy).sort()) {
    if (key === "type") continue;
    const value = copy[key];
    if (typeof value === "number" || typeof value === "boolean" || value instanceof Uint8Array) fields.push(key);
  }
  if (fields.length === 0) return copy;
  const field = fields[rng.nextInt(fields.length)] as string;
  const value = copy[field];
  if (typeof value === "number") {
    const delta = rng.chance(3, 4) ? 1 + rng.nextInt(3) : -1;
    copy[field] = Math.max(0, value + delta);
  } else if (typeof value === "boolean") {
    copy[field] = !value;
  } else if (value instanceof Uint8Array && value.length > 0) {
    const garbled = value.slice();
    garbled[rng.nextInt(garbled.length)] = rng.nextInt(256);
    copy[field] = garbled;
  }
  return copy;
}

/**
 * genericByzantineStrategies work on any protocol, since they know nothing
 * of its messages: they can be played against Raft and Multi-Paxos too, to
 * show what a crash-fault-tolerant protocol does when a replica lies.
 */
export const genericByzantineStrategies: readonly ByzantineStrategyDefinition<unknown>[] = [
  {
    name: "silent",
    description: "Sends nothing at all (a crash that still receives).",
    create: () => ({ name: "silent", outbound: () => [] }),
  },
  {
    name: "replay",
    description: "Sends what the honest code sends, plus an old message replayed to a random peer.",
    create: () => {
      const seen: Outbound<unknown>[] = [];
      return {
        name: "replay",
        outbound: (messages, context) => {
          const out = [...messages];
          for (const message of messages) {
            if (seen.length < 256) seen.push(message);
            else seen[context.rng.nextInt(seen.length)] = message;
          }
          if (seen.length > 0) {
            const old = seen[context.rng.nextInt(seen.length)] as Outbound<unknown>;
            const to = context.replicas[context.rng.nextInt(context.replicas.length)] as number;
            if (to !== context.self) out.push({ to, message: old.message });
          }
          return out;
        },
      };
    },
  },
  {
    name: "corrupt",
    description: "Sends what the honest code sends, but half the messages have one field changed (terms, indices, flags, payload bytes), differently for each peer.",
    create: () => ({
      name: "corrupt",
      outbound: (messages, context) => messages.map((outbound) => (context.rng.chance(1, 2) ? { to: outbound.to, message: corruptFields(outbound.message, context.rng) } : outbound)),
    }),
  },
  {
    name: "equivocate",
    description:
      "Tells different peers different things: half of the other replicas (drawn once) get every message with a field changed, the rest get the honest ones, so the two halves see two different stories.",
    create: (self) => {
      let liedTo: ReadonlySet<number> | undefined;
      return {
        name: "equivocate",
        outbound: (messages, context) => {
          if (liedTo === undefined) {
            const peers = context.replicas.filter((id) => id !== self);
            const chosen = new Set<number>();
            while (chosen.size < Math.max(1, Math.floor(peers.length / 2))) chosen.add(peers[context.rng.nextInt(peers.length)] as number);
            liedTo = chosen;
          }
          const lied = liedTo;
          return messages.map((outbound) => (lied.has(outbound.to) ? { to: outbound.to, message: corruptFields(outbound.message, context.rng) } : outbound));
        },
      };
    },
  },
  {
    name: "delay",
    description: "Holds every message back by 40 to 90 ms: a slow node that stays just alive.",
    create: () => ({
      name: "delay",
      outbound: (messages, context) => messages.map((message) => ({ ...message, delayUs: 40_000 + context.rng.nextInt(50_000) })),
    }),
  },
];

/** byzantineStrategyNames lists the strategies an algorithm offers: its own, then the generic ones. */
export function byzantineStrategyNames(algorithm: AnyAlgorithm): string[] {
  const own = (algorithm.byzantineStrategies as readonly ByzantineStrategyDefinition<unknown>[]).map((strategy) => strategy.name);
  return [...own, ...genericByzantineStrategies.map((strategy) => strategy.name).filter((name) => !own.includes(name))];
}

/** findByzantineStrategy looks a strategy up by name (default: the algorithm's first, else "silent"). */
export function findByzantineStrategy(algorithm: AnyAlgorithm, name: string | undefined): ByzantineStrategyDefinition<unknown> {
  const all = [...(algorithm.byzantineStrategies as readonly ByzantineStrategyDefinition<unknown>[]), ...genericByzantineStrategies];
  if (name === undefined) return all[0] as ByzantineStrategyDefinition<unknown>;
  const found = all.find((strategy) => strategy.name === name);
  if (found === undefined) {
    throw new ConfigError("byzantineStrategy", `unknown strategy "${name}" for ${algorithm.name}; allowed: ${byzantineStrategyNames(algorithm).join(", ")}`);
  }
  return found;
}
