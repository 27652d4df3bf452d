import { runSimulation } from "@concord/sim";
import { raft } from "@concord/raft";
import { kvModel, preparePartitions } from "../check/src/index.ts";
import { searchLinearization } from "../check/src/search.ts";
for (const scenario of ["steady", "chaos", "partition"]) {
  for (const clients of [10, 50]) {
    const r = runSimulation({ algorithm: raft, nodes: 3, scenario, seed: 3, ops: 3000, clients, encode: false });
    let steps = 0;
    let t = performance.now();
    let kinds = new Set<string>();
    for (const p of preparePartitions(kvModel, r.history)) {
      const o = searchLinearization(kvModel, p.history, Infinity, () => performance.now());
      steps += o.steps; kinds.add(o.kind);
    }
    const info = r.history.filter((o) => o.status === "info").length;
    console.log(scenario, clients, r.history.length, "info", info, [...kinds], steps, (performance.now() - t).toFixed(1), "ms");
  }
}
