// pnpm bench:micro — tinybench micro-benchmarks of the hot paths. Every module in
// ./micro registers its tasks; results print as a table of operations per second.
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Bench } from "tinybench";

interface MicroModule {
  register(bench: Bench): void;
}

const filter = process.argv[2];
const here = dirname(fileURLToPath(import.meta.url));
const modules = readdirSync(join(here, "micro"))
  .filter((file) => file.endsWith(".ts"))
  .sort();

// Few minimum iterations: some tasks (checking a 100-client history) take most of a second each.
const bench = new Bench({ time: Number(process.env["CONCORD_BENCH_MS"] ?? 1000), iterations: 5, warmupTime: 200, warmupIterations: 2 });
for (const file of modules) {
  if (filter !== undefined && !file.includes(filter)) continue;
  const module = (await import(join(here, "micro", file))) as MicroModule;
  module.register(bench);
}
if (bench.tasks.length === 0) {
  console.error(`no micro-benchmark matches "${filter ?? ""}"; modules: ${modules.join(", ")}`);
  process.exit(2);
}
console.error(`running ${bench.tasks.length} micro-benchmarks from ${modules.length} modules...`);
await bench.run();
console.table(
  bench.tasks.map((task) => {
    const result = task.result;
    const ok = result !== undefined && "throughput" in result;
    return {
      task: task.name,
      // Tasks slower than ten a second (a whole model checked) keep two decimals, so that their rate is still readable.
      "ops/s": ok ? result.throughput.mean.toLocaleString("en-US", { maximumFractionDigits: result.throughput.mean < 10 ? 2 : 0 }) : "error",
      "mean (us)": ok ? (result.latency.mean * 1000).toFixed(2) : "",
      "rme (%)": ok ? result.latency.rme.toFixed(2) : "",
      samples: ok ? result.latency.samplesCount : 0,
    };
  }),
);
