import { generateKvHistory, checkKvHistory } from "./src/index.ts";
for (const clients of [10, 50, 100]) {
  const h = generateKvHistory({ clients, operations: 10000, keys: 10, seed: 1 });
  const t = performance.now();
  const v = checkKvHistory(h);
  console.log(clients, v.kind, (performance.now() - t).toFixed(1), "ms");
  const h2 = generateKvHistory({ clients, operations: 10000, keys: 10, seed: 2, indeterminatePercent: 2, failedPercent: 2 });
  const t2 = performance.now();
  const v2 = checkKvHistory(h2, { budgetMs: 20000 });
  console.log(clients, "info", v2.kind, (performance.now() - t2).toFixed(1), "ms", v2.kind === "unknown" ? v2.reason : "");
}
