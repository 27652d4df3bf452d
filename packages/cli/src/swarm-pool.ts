import { Worker } from "node:worker_threads";
import { type SeedOutcome, type SeedTask, seedFailure } from "./swarm-seed.ts";

/**
 * workerBootstrap is the code a worker thread of this package starts with
 * (`concord swarm`'s swarm-worker, `concord explore --jobs`'s explore-worker).
 * Built, it imports `<module>.js`. From the sources Concord runs its TypeScript
 * through tsx with no build step, and on Node 20 a worker does not inherit the
 * tsx loader of its parent (neither through `execArgv` nor `--import`), so the
 * worker first loads tsx's API and imports `<module>.ts` through it.
 */
export function workerBootstrap(module = "swarm-worker"): string {
  if (!import.meta.url.endsWith(".ts")) return `import(${JSON.stringify(new URL(`./${module}.js`, import.meta.url).href)});`;
  const tsxApi = import.meta.resolve("tsx/esm/api");
  const entry = new URL(`./${module}.ts`, import.meta.url).href;
  return `import(${JSON.stringify(tsxApi)}).then((tsx) => tsx.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(import.meta.url)}));`;
}

/** TimedOutcome is a seed's outcome with the wall-clock time it was started and finished at (performance.now(), ms). */
export interface TimedOutcome {
  readonly outcome: SeedOutcome;
  readonly startedMs: number;
  readonly finishedMs: number;
}

/**
 * runSeedsOnWorkers runs every task on `jobs` worker threads, each taking the
 * next task as soon as it finishes one (seeds differ a lot in cost), and hands
 * each outcome to `onOutcome` as it arrives. A worker that dies (out of
 * memory, say) fails the seed it was running, and a new worker takes over.
 */
export async function runSeedsOnWorkers(tasks: readonly SeedTask[], jobs: number, onOutcome: (timed: TimedOutcome) => void): Promise<void> {
  const bootstrap = workerBootstrap();
  let nextIndex = 0;
  const next = (): SeedTask | undefined => tasks[nextIndex++];
  const drain = async (): Promise<void> => {
    let worker = new Worker(bootstrap, { eval: true });
    try {
      for (let task = next(); task !== undefined; task = next()) {
        const startedMs = performance.now();
        try {
          const outcome = await ask(worker, task);
          onOutcome({ outcome, startedMs, finishedMs: performance.now() });
        } catch (error) {
          const outcome = seedFailure(task, `the worker running this seed died: ${(error as Error).message}`);
          onOutcome({ outcome, startedMs, finishedMs: performance.now() });
          await worker.terminate();
          worker = new Worker(bootstrap, { eval: true });
        }
      }
    } finally {
      await worker.terminate();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, tasks.length)) }, drain));
}

/** ask hands a worker one task and waits for its answer, or for the worker to fail. */
function ask(worker: Worker, task: SeedTask): Promise<SeedOutcome> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      worker.off("message", onMessage);
      worker.off("error", onError);
      worker.off("exit", onExit);
    };
    const onMessage = (outcome: SeedOutcome): void => {
      cleanup();
      resolve(outcome);
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onExit = (code: number): void => {
      cleanup();
      reject(new Error(`the worker exited with code ${code}`));
    };
    worker.on("message", onMessage);
    worker.on("error", onError);
    worker.on("exit", onExit);
    worker.postMessage(task);
  });
}
