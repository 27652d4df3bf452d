import { checkKvHistory } from "@concord/check";
import type { HistoryChecker } from "./simulate.ts";

/** checkRunBudgetMs bounds the linearizability check of one simulated run. */
export const checkRunBudgetMs = 60_000;

/**
 * checkRun is the checker every `concord sim` run and benchmark row goes
 * through: the run's KV history against the KV model, key by key.
 */
export const checkRun: HistoryChecker = (result) => {
  const verdict = checkKvHistory(result.history, { budgetMs: checkRunBudgetMs });
  switch (verdict.kind) {
    case "linearizable":
      return { linearizable: true, summary: "linearizable" };
    case "not-linearizable":
      return { linearizable: false, summary: `not linearizable: ${verdict.evidence.text.split("\n")[0] ?? ""}` };
    case "unknown":
      return { linearizable: null, summary: `unknown: ${verdict.reason}` };
  }
};
