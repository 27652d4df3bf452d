// Runs the sweeps' points on a pool of worker threads (tinypool, as the
// matrix does): each point is a pure function of its spec, so the section is
// the same whatever the pool's size and the order the points finish in.
import { fileURLToPath } from "node:url";
import Tinypool from "tinypool";
import { type SweepOptions, type Sweeps, runSweeps } from "./index.ts";
import type { SweepPointResult, SweepPointSpec } from "./point.ts";

const workerFile = fileURLToPath(new URL("./sweep-worker.mjs", import.meta.url));

/**
 * runSweepsOnPool runs the sweeps with their points spread over `workers`
 * worker threads; `progress` hears one line per finished point.
 */
export async function runSweepsOnPool(options: SweepOptions, workers: number, progress: (line: string) => void = () => {}): Promise<Sweeps> {
  const pool = new Tinypool({ filename: workerFile, minThreads: workers, maxThreads: workers });
  try {
    return await runSweeps(options, progress, async (spec: SweepPointSpec) => {
      try {
        return (await pool.run(spec)) as SweepPointResult;
      } catch (error) {
        throw new Error(`sweep point ${spec.algo} n=${spec.nodes} at ${spec.ratePerSec} ops/s seed ${spec.seed} threw: ${(error as Error).message}; replay: runSweepPoint(${JSON.stringify(spec)})`, { cause: error });
      }
    });
  } finally {
    await pool.destroy();
  }
}
