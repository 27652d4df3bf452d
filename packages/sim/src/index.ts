/** @module @concord/sim */
// @concord/sim: the deterministic discrete-event simulator. Its event queue is in @concord/sim/internals.
export { runSimulation, Simulation } from "./simulation.ts";
export { runRestartedClient, type RestartSetup, type RestartRun } from "./restarted-client.ts";
export type { SimulationOptions, SimulationResult, LatencySummary, OperationCounts, FinalReadCounts, CrashCounts } from "./result.ts";
export type { FaultWindow } from "./context.ts";
export type { MessageTrace, MessageTraceWindow, TracedMessage, MessageArrival } from "./message-trace.ts";
export {
  scenarioSchema,
  linkSchema,
  linkOverrideSchema,
  latencySchema,
  cpuSchema,
  cpuChoiceSchema,
  diskSchema,
  workloadSchema,
  faultSchema,
  targetSchema,
  mixSchema,
  crashTimingSchema,
  clientPlacementSchema,
  reconfigureChangeSchema,
  clientTargetSchema,
  type CrashTiming,
  type ReconfigureChange,
  type Scenario,
  type ScenarioInput,
  type Fault,
  type FaultInput,
  type Target,
  type LinkModel,
  type CpuModel,
  type CpuModelInput,
  type CpuChoice,
  type Workload,
} from "./scenario.ts";
export {
  scriptSchema,
  scriptStepSchema,
  scriptCrashSchema,
  scriptCommandSchema,
  endpointSchema,
  type Script,
  type ScriptInput,
  type ScriptStep,
  type ScriptCrash,
  type ScriptCommand,
} from "./script.ts";
export { type ScriptedRunRefusal, runScriptedSimulation, scriptedRunRefusal } from "./scripted-run.ts";
export { drawChaosLeaseRaces, type ChaosLeaseRace, type ChaosLeaseRaceKind } from "./lease-races.ts";
export { drawChaosHeldRaces, type ChaosHeldRace } from "./held-races.ts";
export { cpuCalibration } from "./calibrated-cpu.ts";
export { noCpu, calibrationSource, sameCpu, type CpuCalibration, type CpuCalibrationMachine, type CpuCalibrationTerm } from "./cpu-calibration.ts";
export {
  builtInScenarios,
  scenarioNames,
  resolveScenario,
  drawChaosFaults,
  drawChaosRaces,
  drawChaosMembershipRaces,
  drawChaosOperationRaces,
  drawChaosSuccessionRaces,
  drawChaosSetup,
  drawChaosByzantine,
  drawChaosByzantineClient,
  drawChaosLossWindows,
  drawSyncMs,
  faultEndMs,
  type ChaosContext,
  type ChaosSetup,
  type ChaosRaceKind,
  type ChaosRace,
  type ChaosByzantine,
  type ChaosByzantineClient,
  type ChaosMembershipRaceKind,
  type ChaosMembershipRace,
  type ChaosOperationRace,
  type ChaosOperationRaceKind,
  type ChaosSuccessionRace,
  type ChaosSuccessionRaceKind,
} from "./scenarios.ts";
export { drawChaosAdversary } from "./chaos-adversary.ts";
export { checkLastingCrashes, drawChaosSplitStarvation } from "./chaos-split-starvation.ts";
export { drawChaosClientLoop } from "./chaos-client-loop.ts";
export { PathWalks, drawChaosPathCrash, type PathCrashFault } from "./path-crashes.ts";
export { drawChaosElectionRaces, drawElectionRaceOptions, type ChaosElectionRace, type ChaosElectionRaceKind } from "./election-races.ts";
export { genericByzantineStrategies, byzantineStrategyNames, findByzantineStrategy, corruptFields } from "./byzantine.ts";
export { swarmOptions, type SwarmOptions } from "./swarm-options.ts";
export { SimStorage, type CrashReport } from "./sim-storage.ts";
export { Network, type NetworkPartition, type LinkOverride, type HoldScope, type HeldMessage } from "./links.ts";
export { KeyRing, NodeCrypto, type CryptoCounters } from "./sim-crypto.ts";
export { AppliedLogOracle, RecordingStateMachine } from "./applied-log.ts";
export { KeyChooser, OperationGenerator, keyName, writeOnceMix, registersMix, semanticsWorkload } from "./workload.ts";
