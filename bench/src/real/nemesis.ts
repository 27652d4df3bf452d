// pnpm bench --real --nemesis: after the clean runs, each system (etcd among
// them) once more under `concord test`'s nemesis, in network namespaces, with
// the same fault schedule drawn from one seed, so that the report sets their
// behaviour under the same faults side by side.
import { join } from "node:path";
import { escapeHtml } from "@concord/check";
import { type NemesisKind, NemesisTest, type NemesisTestResult, type NodeLauncher, findAlgorithm, isBaseline, namespaceSupport, nemesisKinds, renderTable } from "@concord/lab";
import { etcdSystem, nodesFor } from "./run-real.ts";

/** NemesisBenchSetup says which systems to put under which faults. */
export interface NemesisBenchSetup {
  readonly systems: readonly string[];
  readonly faults: readonly NemesisKind[];
  readonly seconds: number;
  readonly seed: number;
  readonly clients: number;
  readonly keys: number;
  /** outDir receives one `concord test` results directory per system, nemesis/<system>/. */
  readonly outDir: string;
  readonly etcdPath: string | undefined;
  readonly launcher: NodeLauncher;
  readonly progress: (line: string) => void;
}

/** NemesisBenchRun is one system's test: its results (without the schedule, the same for all), or why it did not run. */
export interface NemesisBenchRun {
  readonly system: string;
  readonly nodes: number;
  readonly result: Omit<NemesisTestResult, "schedule"> | undefined;
  readonly error: string | undefined;
}

/** NemesisBench is what results.json's `nemesis` holds. */
export interface NemesisBench {
  readonly faults: readonly NemesisKind[];
  readonly seconds: number;
  readonly seed: number;
  readonly runs: readonly NemesisBenchRun[];
  /** skipped says why the nemesis did not run at all (no namespaces here), or is absent. */
  readonly skipped?: string | undefined;
}

/** nemesisFaultsFlag reads --faults: a comma-separated list of the nemesis's kinds, or throws naming the unknown one. */
export function nemesisFaultsFlag(text: string | undefined): NemesisKind[] {
  if (text === undefined) return ["partition", "kill"];
  const kinds = text.split(",").map((item) => item.trim());
  const unknown = kinds.find((kind) => !(nemesisKinds as readonly string[]).includes(kind));
  if (unknown !== undefined || kinds.length === 0) throw new Error(`--faults: unknown fault "${unknown ?? ""}"; allowed: ${nemesisKinds.join(", ")}`);
  return [...new Set(kinds)] as NemesisKind[];
}

/** nemesisSystems are the systems the nemesis runs: every one given but the one-node baseline, which tolerates no fault. */
export function nemesisSystems(systems: readonly string[]): string[] {
  return systems.filter((system) => {
    const algorithm = findAlgorithm(system);
    return system === etcdSystem || (algorithm !== undefined && !isBaseline(algorithm));
  });
}

/** runNemesisBench runs `concord test` on each system in turn, with one seed, and returns what each saw. */
export async function runNemesisBench(setup: NemesisBenchSetup): Promise<NemesisBench> {
  const base = { faults: setup.faults, seconds: setup.seconds, seed: setup.seed };
  const unsupported = await namespaceSupport({ nft: true });
  if (unsupported !== undefined) return { ...base, runs: [], skipped: `this machine cannot make network namespaces: ${unsupported}` };
  const runs: NemesisBenchRun[] = [];
  for (const system of nemesisSystems(setup.systems)) {
    const nodes = nodesFor(system);
    if (system === etcdSystem && setup.etcdPath === undefined) {
      runs.push({ system, nodes, result: undefined, error: "etcd is not on the PATH" });
      continue;
    }
    setup.progress(`nemesis: ${system}, ${nodes} nodes, ${setup.faults.join(",")} for ${setup.seconds} s, seed ${setup.seed}`);
    try {
      const { schedule: _schedule, ...result } = await new NemesisTest({
        system,
        nodes,
        nemesis: setup.faults,
        seconds: setup.seconds,
        seed: setup.seed,
        clients: setup.clients,
        keys: setup.keys,
        outDir: join(setup.outDir, "nemesis", system),
        launcher: setup.launcher,
        etcdPath: setup.etcdPath,
        replay: `pnpm concord test --algo ${system} --nodes ${nodes} --nemesis ${setup.faults.join(",")} --seconds ${setup.seconds} --seed ${setup.seed} --clients ${setup.clients} --keys ${setup.keys}`,
        progress: (line) => setup.progress(`  ${line}`),
      }).run();
      runs.push({ system, nodes, result, error: undefined });
    } catch (error) {
      runs.push({ system, nodes, result: undefined, error: (error as Error).message.split("\n")[0] });
    }
  }
  return { ...base, runs };
}

/**
 * nemesisTable renders one row per system: its operations, throughput and
 * p99 over the whole run, the worst fault window (the fewest operations back
 * per second, and the share of those invoked in it that came back), the final
 * reads and the verdict.
 */
export function nemesisTable(bench: NemesisBench): string {
  const rows = bench.runs.map((run) => {
    const result = run.result;
    if (result === undefined) return [run.system, String(run.nodes), "-", "-", "-", "-", "-", "-", "-", "-", "-", `did not run: ${run.error?.slice(0, 60) ?? ""}`];
    const faultWindows = result.windows.filter((window) => window.kind !== "calm");
    const worst = faultWindows.reduce<(typeof faultWindows)[number] | undefined>((low, window) => (low === undefined || window.okPerSecond < low.okPerSecond ? window : low), undefined);
    return [
      run.system,
      String(run.nodes),
      String(result.faults.length),
      String(result.ops.completed),
      String(result.ops.failed),
      String(result.ops.indeterminate),
      String(result.throughputOpsPerSec),
      result.latencyMs.p99.toFixed(1),
      worst === undefined ? "-" : `${worst.okPerSecond} (${worst.kind})`,
      worst?.availability === null || worst === undefined ? "-" : worst.availability.toFixed(2),
      `${result.finalReads.answered}/${result.finalReads.keys}`,
      result.verdict.linearizable === null ? "unknown" : result.verdict.linearizable ? "yes" : "NO",
    ];
  });
  return renderTable([["system", "n", "faults", "ok", "failed", "indet", "ops/s", "p99 ms", "worst fault ok/s", "its ok/inv", "keys read", "linearizable"], ...rows]);
}

/** nemesisMarkdown is report.md's section for the nemesis runs. */
export function nemesisMarkdown(bench: NemesisBench): string {
  if (bench.skipped !== undefined) return `## Real clusters under a nemesis\n\nNot run: ${bench.skipped}.\n`;
  return [
    "## Real clusters under a nemesis",
    "",
    `Each system once more, every node in a network namespace of its own, under \`concord test\`'s nemesis: ${bench.faults.join(", ")}, the same schedule for all (seed ${bench.seed}, ${bench.seconds} s; docs/testing.md says what each fault does), under \`concord test\`'s load (5 closed-loop clients on 5 keys, 40% get, 40% put, 15% cas, 5% delete) rather than the clean runs' above. Which node a leader-targeted fault hits, and the timing, are each system's own. Each system's history, timeline and logs are in nemesis/<system>/.`,
    "",
    "```",
    nemesisTable(bench).trimEnd(),
    "```",
    "",
    "How to read it: `faults` counts those applied; `worst fault ok/s` is the fault window in which the fewest operations came back per second, and `its ok/inv` the share of the operations invoked in it that came back (closed-loop clients stuck on a dead node invoke few); `keys read` counts the keys read back after the heal, which with a linearizable history means no acknowledged write was lost.",
    "",
  ].join("\n");
}

/** nemesisHtml is report.html's section for the nemesis runs. */
export function nemesisHtml(bench: NemesisBench): string {
  return `<h2>Real clusters under a nemesis</h2><pre>${escapeHtml(bench.skipped === undefined ? `${bench.faults.join(", ")}, seed ${bench.seed}, ${bench.seconds} s\n\n${nemesisTable(bench)}` : `Not run: ${bench.skipped}.`)}</pre>`;
}
