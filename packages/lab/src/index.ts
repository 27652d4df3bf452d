// @concord/lab: what the front ends (the concord command and the benchmarks) share, below both of them:
// the algorithm registry, running and judging one simulated run, whether a run's faults are ones the
// algorithm promises to tolerate, and the command that replays a run.
export { algorithms, algorithmNames, findAlgorithm, isBaseline, clusterSizes } from "./algorithms.ts";
export { simulate, type SimulationReport, type SimulateOptions, type HistoryChecker, type HistoryVerdict } from "./simulate.ts";
export { partitionAvailability, type PartitionAvailability, type SideAvailability } from "./availability.ts";
export { brokenGuarantees, type JudgeReportOptions } from "./broken-guarantees.ts";
export { checkRun, checkRunStepsMax, checkRunWallClockLimitMs } from "./check-run.ts";
export { applicability, crashLikeStrategies, type Applicability, type ApplicabilityQuestion } from "./applicability.ts";
export { cpuFlagValue, replayCommand, replayRunOf, shellQuote, type ReplayRun, type ReplayWhere } from "./replay-command.ts";
export { renderTable } from "./table.ts";
export { startRealNode, clusterKeysFor, publicClusterSecret, type RealNode, type RealNodeConfig } from "./real/node.ts";
export { connectCluster, parseCluster, type ClusterClientConfig } from "./real/client.ts";
export { runLoad, latencySummaryMs, type LoadTarget, type LoadSetup, type LoadReport, type LoadProgress } from "./real/load.ts";
export { NodeMetrics, serveMetrics } from "./real/metrics.ts";
export { LocalCluster, freePorts, type LocalClusterSetup, type NodeLauncher } from "./real/local-cluster.ts";
export { NamespaceNetwork, namespaceSupport, reorderWireSupport, removeStaleNetworks, netemArguments, netnsNamespacePrefix, netnsLinkPrefix, type NamespaceHost, type NamespaceNetworkSetup, type NetemSetup, type LinkShaping, type WireStats } from "./real/netns.ts";
export { EtcdCluster, etcdVersion, findOnPath, type EtcdClusterSetup } from "./real/etcd-cluster.ts";
export { damageEtcdWal, parseWalFrames, type EtcdWalDamage, type WalRecord } from "./real/etcd-wal-damage.ts";
export { EtcdTarget, type EtcdTargetSetup } from "./real/etcd-target.ts";
export { nemesisKinds, partitionShapes, diskShapes, planNemesis, runNemesis, netemSupport, type NemesisKind, type PartitionShape, type DiskShape, type PlannedFault, type NemesisPlanSetup, type NemesisTarget, type NamedStorageDamage, type FaultRecord, type FaultMeasurement } from "./real/nemesis.ts";
export { DelayRelay, serveDelayRelay, sumRelayStats, relayPortOffset, type LinkDelay, type RelayStats, type DelayRelaySetup, type RelayOrder } from "./real/delay-relay.ts";
export { NemesisTest, etcdSystemName, windowFigures, type NemesisTestSetup, type NemesisTestResult, type WindowFigures } from "./real/nemesis-test.ts";
