// Micro-benchmarks of the linearizability checker: generated KV histories of
// 10,000 operations over 10 keys (the shape of porcupine's KV test histories)
// with 10, 50 and 100 closed-loop clients, and one with indeterminate and
// failed operations. `pnpm bench:anchors` runs porcupine beside the checker on
// these histories and on porcupine's own, in one run.
import { checkKvHistory, generateKvHistory } from "@concord/check";
import type { Bench } from "tinybench";

const operations = 10_000;
const keys = 10;

/** register adds the checker's tasks; every task checks that its verdict is "linearizable". */
export function register(bench: Bench): void {
  const workloads = [
    { name: "10 clients", clients: 10 },
    { name: "50 clients", clients: 50 },
    { name: "100 clients", clients: 100 },
    { name: "50 clients, 2% info, 2% fail", clients: 50, indeterminatePercent: 2, failedPercent: 2 },
  ];
  for (const workload of workloads) {
    const history = generateKvHistory({ operations, keys, seed: 1, ...workload });
    bench.add(`check: kv history, ${workload.name}, ${operations.toLocaleString("en-US")} ops`, () => {
      const verdict = checkKvHistory(history, { budgetMs: 120_000 });
      if (verdict.kind !== "linearizable") throw new Error(`expected linearizable, got ${verdict.kind}`);
    });
  }
}
