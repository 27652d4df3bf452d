import { type AnyAlgorithm, type ProtocolOptions, createRng, deriveSeed } from "@concord/core";

/** SwarmOptions are the options one run's replicas and clients use, and the part of them the seed drew. */
export interface SwarmOptions {
  /** options are what the run uses: the explicit options over the drawn ones (explicit wins). */
  readonly options: ProtocolOptions;
  /** drawn are the options the seed drew, each left out where an explicit option fixed it; empty outside `chaos`. */
  readonly drawn: ProtocolOptions;
}

/**
 * swarmOptions draws a run's protocol options from its seed, as swarm testing
 * does (Groce et al., ISSTA 2012; TigerBeetle's VOPR): in a `chaos` run every
 * option of the algorithm's option space that `explicit` leaves open is drawn
 * from its legal range, from a stream of its own (`options`), so that the
 * fault draws of a seed do not move; in some runs a corner of the space that
 * independent draws almost never meet replaces a few of them
 * (`OptionSpace.corner`, from a stream of its own too). The draw is a function of the seed and
 * the explicit options alone, so a replay that passes every drawn option
 * explicitly draws nothing and runs the same options: both replay routes agree.
 * Outside `chaos`, or for an algorithm without an option space, the run uses
 * `explicit` as given.
 */
export function swarmOptions(algorithm: AnyAlgorithm, seed: number, chaos: boolean, explicit: ProtocolOptions): SwarmOptions {
  const space = algorithm.optionSpace;
  if (!chaos || space === undefined) return { options: explicit, drawn: {} };
  // A corner of the space (OptionSpace.corner) comes from a stream of its own, so that the other seeds' options stay what they were.
  const drawn = sorted({ ...space.draw(createRng(deriveSeed(seed, "options")), explicit), ...space.corner?.(createRng(deriveSeed(seed, "options-corner")), explicit) });
  return { options: { ...drawn, ...explicit }, drawn };
}

/** sorted copies options in name order, so that reports and replay commands list them the same way every time. */
function sorted(options: ProtocolOptions): ProtocolOptions {
  return Object.fromEntries(Object.entries(options).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** withRaceOptions adds to a run's swarm options those a race drew for it (drawn too; an explicit option still wins, and a race draws none it fixes). */
export function withRaceOptions(swarm: SwarmOptions, raceOptions: ProtocolOptions): SwarmOptions {
  if (Object.keys(raceOptions).length === 0) return swarm;
  return { options: sorted({ ...swarm.options, ...raceOptions }), drawn: sorted({ ...swarm.drawn, ...raceOptions }) };
}
