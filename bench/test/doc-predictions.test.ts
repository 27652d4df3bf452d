// Each algorithm's guide (docs/paxos.md, raft.md, multipaxos.md, pbft.md) sets its measured messages per operation
// and p50 beside this package's analytic prediction, in a table headed "| figure | predicted (bench/src/predict.ts)
// | measured |", from `concord sim --algo <algo> --nodes <n> --scenario steady --seed 271828`. This test reruns
// those runs, predicts them as the benchmark does (predictRun: the batch inferred from the run) and compares every
// figure the table prints, so that a guide's numbers move with the protocol and the model, or the test names the row.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { findAlgorithm } from "@concord/lab";
import { runSimulation } from "@concord/sim";
import { chargedCpuOf, predictRun } from "../src/predict.ts";

const seed = 271828;
const guides = [
  { file: "paxos.md", algo: "paxos" },
  { file: "raft.md", algo: "raft" },
  { file: "multipaxos.md", algo: "multipaxos" },
  { file: "pbft.md", algo: "pbft" },
] as const;

/** predictionRows reads the body rows of a guide's table of predicted and measured figures. */
function predictionRows(file: string): string[][] {
  const lines = readFileSync(fileURLToPath(new URL(`../../docs/${file}`, import.meta.url)), "utf8").split("\n");
  const start = lines.indexOf("| figure | predicted (bench/src/predict.ts) | measured |");
  if (start < 0) throw new Error(`docs/${file} has no table of predicted and measured figures`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(line.slice(1, -1).split("|").map((cell) => cell.trim()));
  }
  return rows;
}

function steady(algo: string, nodes: number) {
  const algorithm = findAlgorithm(algo);
  if (algorithm === undefined) throw new Error(`no algorithm ${algo}`);
  const result = runSimulation({ algorithm, nodes, scenario: "steady", seed });
  // As the bench predicts a cell: with the CPU the run charged (the simulator's calibrated default) on the critical path.
  const comparison = predictRun({ ...result, algo, nodes }, { cpu: chargedCpuOf(result) });
  if (comparison === undefined) throw new Error(`${algo} has no prediction`);
  return comparison;
}

describe("the guides' measured figures beside the predictions", () => {
  for (const { file, algo } of guides) {
    const rows = predictionRows(file);
    const defaultNodes = algo === "pbft" ? 4 : 3;
    it(`docs/${file}: messages per operation and p50 in steady runs, predicted and measured`, () => {
      const messageRows = rows.filter((row) => (row[0] as string).startsWith("messages per operation, steady, n = "));
      const latencyRow = rows.find((row) => (row[0] as string).startsWith("p50 latency, steady"));
      expect(messageRows.length).toBeGreaterThan(0);
      if (latencyRow === undefined) throw new Error(`docs/${file} has no p50 row`);
      for (const row of messageRows) {
        const nodes = Number(/n = (\d+)/.exec(row[0] as string)?.[1]);
        const comparison = steady(algo, nodes);
        const where = `docs/${file}, "${row[0]}" (concord sim --algo ${algo} --nodes ${nodes} --scenario steady --seed ${seed})`;
        expect(row[1], where).toContain(`= ${comparison.messagesPerOp.predicted.toFixed(2)}`);
        const batch = /at (?:the run's batch )?b = ([\d.]+)/.exec(row[1] as string)?.[1];
        if (batch !== undefined) expect(Number(batch), where).toBe(Math.round(comparison.prediction.workload.batchOps * 100) / 100);
        expect((row[2] as string).split(" ")[0], where).toBe(comparison.messagesPerOp.measured.toFixed(2));
      }
      const comparison = steady(algo, defaultNodes);
      expect(latencyRow[1], `docs/${file}, p50`).toContain(`= ${comparison.latencyP50Ms.predicted} ms`);
      expect(latencyRow[2], `docs/${file}, p50`).toBe(`${comparison.latencyP50Ms.measured} ms`);
    });
  }
});
