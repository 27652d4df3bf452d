// sim-speed: the simulator's speed in simulated operations per CPU second, of one or more source trees
// side by side (issue 18). On a shared machine wall time says little and one process's figure drifts
// with the load, so each tree's runs are timed in CPU time, in processes of their own taken in turn
// (A B A B ..., each round in the other order), and compared by medians and by the ratio of each
// round's pair:
//
//   pnpm tsx scripts/sim-speed.ts --algo pbft --nodes 4 --ops 4000 TREE_A TREE_B
//
// A tree is a checkout of this repository with its dependencies installed (a git worktree of an older
// commit, say). With no tree the current one is timed alone. Each process runs `runSimulation` of the
// `steady` scenario at seed 1 `--runs` times and times all but the first (its warm-up); the result's
// SHA-256 shows whether the trees simulate the same run.
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { parseArgs } from "node:util";

const usage = "usage: pnpm tsx scripts/sim-speed.ts [--algo raft|pbft|...] [--nodes n] [--ops n] [--runs n] [--rounds n] [TREE...]";

function positiveInteger(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer (got ${JSON.stringify(text)})\n${usage}`);
  return value;
}

/** child runs in a tree's own process: its runs, timed in CPU seconds, and the hash of the last result. */
const child = `
import { createHash } from "node:crypto";
const [tree, algo, nodes, ops, runs] = process.argv.slice(1);
const { runSimulation } = await import(tree + "/packages/sim/src/index.ts");
const { findAlgorithm } = await import(tree + "/packages/lab/src/algorithms.ts");
const algorithm = findAlgorithm(algo);
if (algorithm === undefined) throw new Error("no algorithm named " + algo + " in " + tree);
const seconds = [];
let hash = "";
for (let i = 0; i < Number(runs); i++) {
  const before = process.cpuUsage();
  const result = runSimulation({ algorithm, nodes: Number(nodes), seed: 1, scenario: "steady", ops: Number(ops) });
  const used = process.cpuUsage(before);
  if (result.ops.completed !== Number(ops)) throw new Error(algo + " completed " + result.ops.completed + " of " + ops + " operations");
  if (i > 0) seconds.push((used.user + used.system) / 1e6);
  hash = createHash("sha256").update(JSON.stringify(result)).digest("hex").slice(0, 12);
}
console.log(JSON.stringify({ seconds, hash }));
`;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function main(): void {
  const { values, positionals } = parseArgs({
    options: {
      algo: { type: "string", default: "pbft" },
      nodes: { type: "string", default: "4" },
      ops: { type: "string", default: "4000" },
      runs: { type: "string", default: "5" },
      rounds: { type: "string", default: "5" },
      help: { type: "boolean", default: false },
    },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const nodes = positiveInteger("nodes", values.nodes);
  const ops = positiveInteger("ops", values.ops);
  const runs = positiveInteger("runs", values.runs);
  const rounds = positiveInteger("rounds", values.rounds);
  if (runs < 2) throw new Error(`--runs must be at least 2: the first run of each process is its warm-up\n${usage}`);
  const trees = (positionals.length === 0 ? ["."] : positionals).map((tree) => resolve(tree));
  const perTree = trees.map(() => ({ seconds: [] as number[], medians: [] as number[], hashes: new Set<string>() }));
  for (let round = 0; round < rounds; round++) {
    const order = trees.map((_, i) => (round % 2 === 0 ? i : trees.length - 1 - i));
    for (const i of order) {
      const tree = trees[i] as string;
      const output = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", child, tree, values.algo, String(nodes), String(ops), String(runs)], {
        cwd: tree,
        encoding: "utf8",
        maxBuffer: 16 << 20,
      });
      const { seconds, hash } = JSON.parse(output.trim().split("\n").at(-1) as string) as { seconds: number[]; hash: string };
      const side = perTree[i] as (typeof perTree)[number];
      side.seconds.push(...seconds);
      side.medians.push(median(seconds));
      side.hashes.add(hash);
      console.log(`round ${round + 1} ${tree}: ${seconds.map((s) => s.toFixed(3)).join(" ")} CPU s (result ${hash})`);
    }
  }
  console.log(`${values.algo} n = ${nodes} steady, ${ops.toLocaleString("en-US")} operations, seed 1; ${rounds} processes a tree, each timing ${runs - 1} runs after a warm-up`);
  perTree.forEach((side, i) => {
    const seconds = median(side.medians);
    console.log(`${trees[i]}: median ${seconds.toFixed(3)} CPU s, ${Math.round(ops / seconds).toLocaleString("en-US")} operations per CPU second (process medians ${side.medians.map((s) => s.toFixed(3)).join(" ")}; result ${[...side.hashes].join(", ")})`);
  });
  const first = perTree[0];
  for (let i = 1; i < trees.length; i++) {
    const ratios = (perTree[i] as (typeof perTree)[number]).medians.map((s, round) => s / (first?.medians[round] as number));
    console.log(`${trees[i]} / ${trees[0]}: CPU time ratio, median of the rounds' ${median(ratios).toFixed(3)} (${ratios.map((r) => r.toFixed(2)).join(" ")})`);
  }
}

try {
  main();
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}
