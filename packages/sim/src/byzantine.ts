import { type AnyAlgorithm, type ByzantineStrategyDefinition, ConfigError, type Outbound } from "@concord/core";

/**
 * genericByzantineStrategies work on any protocol, since they never look
 * inside a message: they can be played against Raft and Multi-Paxos too, to
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
