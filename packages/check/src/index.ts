// @concord/check: linearizability checker, history formats and models.
export { type Model, type StepResult, type Partition } from "./model.ts";
export {
  type Verdict,
  type UnknownLimit,
  type Evidence,
  type EvidenceOperation,
  type CheckOptions,
  stepsMaxDefault,
  wallClockLimitMsDefault,
  defaultBudgetMs,
} from "./verdict.ts";
export { checkHistory } from "./checker.ts";
export { checkKvHistory, kvModelFor } from "./kv-check.ts";
export {
  runProblems,
  runThrew,
  summarizeKvHistory,
  type JudgedRun,
  type HistorySummary,
  type Liveness,
  type RunJudgementOptions,
  type RunOperationCounts,
} from "./run-judgement.ts";
export { renderEvidence, renderOperation, findStaleReads, staleReadsShownMax, type StaleRead } from "./evidence.ts";
export {
  registerModel,
  type RegisterValue,
  type RegisterInput,
  type RegisterOutput,
  showRegisterValue,
  describeRegisterOperation,
} from "./models/register.ts";
export { kvModel, stringKvModel, type KvKeyState, binaryString } from "./models/kv.ts";
export { writeOnceKvModel } from "./models/write-once.ts";
export { partitionByKey } from "./models/partition.ts";
export { generateKvHistory, type KvWorkload } from "./generate.ts";
export { readEdn, EdnKeyword, EdnSymbol, EdnMap, EdnTagged, EdnSyntaxError, type EdnValue, type EdnForm } from "./formats/edn.ts";
export { readEdnEvents, ednToPlain } from "./formats/edn-history.ts";
export { readJsonlEvents, kvHistoryToJsonl } from "./formats/jsonl-history.ts";
export { kvHistoryToEdn, type NemesisEvent } from "./formats/edn-writer.ts";
export { HistoryParseError, pairEvents, type HistoryEvent, type RawOperation, type EventType } from "./formats/events.ts";
export { registerOperation, kvOperation, independentKeys, toHistory } from "./formats/adapters.ts";
export { type HistoryFormat, detectFormat, readHistoryEvents, parseRegisterHistory, parseKvHistory } from "./formats/parse.ts";
export { renderTimeline, escapeHtml, type TimelineOptions, type TimelineWindow } from "./timeline.ts";
