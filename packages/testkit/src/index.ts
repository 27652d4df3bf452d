// @concord/testkit (private, for tests only): an in-memory test cluster for any
// algorithm, its disks, and one judge for simulated runs (issue 11).
// MemoryDisk is core's MemoryStorage under the name the tests know it by.
export { MemoryStorage as MemoryDisk } from "@concord/core";
export {
  TestCluster,
  type TestClusterConfig,
  type Envelope,
  type EnvelopeFilter,
  type DeliveryFate,
  type SyncDecision,
  type BeforeSync,
  type KvClientWire,
  coreClientWire,
  type KvRequestFields,
  type KvReply,
  type RequestOptions,
  deliverMessagesMax,
  runUntilTicksMax,
  tickUntilSentTicksMax,
  zeroCrypto,
} from "./test-cluster.ts";
export { goldenText, goldenUpdateVariable } from "./golden.ts";
export { judgeRun, failuresOf, reportedProblemsMax, type JudgeOptions, type RunVerdict } from "./judge-run.ts";
export { launchBrowser, findChromium, chromiumInstallHint, CdpSession, type Browser, type CdpEvent } from "./browser.ts";
