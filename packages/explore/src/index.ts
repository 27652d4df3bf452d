// @concord/explore: a bounded model checker over any registered algorithm's replicas.
export { World, modelledStrategies, type Action, type CrashPoint, type InFlight, type WorldSetup, type ActionOutcome } from "./world.ts";
export {
  explore,
  noCuts,
  replay,
  enabledActions,
  crashPoints,
  describeAction,
  nodeName,
  summarize,
  type ExploreBounds,
  type BoundName,
  type Strategy,
  type SometimesProperty,
  type Step,
  type ExploreProgress,
  type ExploreOptions,
  type ExploreResult,
} from "./search.ts";
export { worldSetup, defaultWorkload, defaultBounds, defaultSometimes, ticksPerTimeoutMaxDefault, type ExploreSetupOptions } from "./setup.ts";
export { checkEventually, eventuallyProperty, type EventuallyFailure, type EventuallyOutcome } from "./eventually.ts";
export { cloneGraph } from "./clone.ts";
export { encodeCanonical, fingerprint, type IdField, type Renaming } from "./fingerprint.ts";
export { protocolSymmetries, symmetricKey, symmetryGroup, type ProtocolSymmetry, type SymmetricKey, type SymmetryGroup } from "./symmetry.ts";
export { counterexampleScenario } from "./counterexample.ts";
export { expansion, type ExpandRequest, type ExpansionTally, type Successor } from "./expand.ts";
export { emptySleepSet, intersectSleep, sleepIncludes, type SleepSet, type Sleeper } from "./reduction.ts";
