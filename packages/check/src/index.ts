// @concord/check: linearizability checker, history formats and models.
export { type Model, type StepResult, type Partition } from "./model.ts";
export { type Verdict, type Evidence, type EvidenceOperation, type CheckOptions, defaultBudgetMs } from "./verdict.ts";
export { checkHistory, preparePartitions } from "./checker.ts";
export { checkKvHistory } from "./kv-check.ts";
export { renderEvidence, renderOperation } from "./evidence.ts";
export {
  registerModel,
  type RegisterValue,
  type RegisterInput,
  type RegisterOutput,
  showRegisterValue,
  describeRegisterOperation,
} from "./models/register.ts";
export { kvModel, type KvKeyState, binaryString } from "./models/kv.ts";
export { partitionByKey } from "./models/partition.ts";
export { generateKvHistory, type KvWorkload } from "./generate.ts";
