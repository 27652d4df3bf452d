// The worker thread of `concord swarm`: it runs the seeds it is handed, one at a time, and answers each with its outcome.
import { parentPort } from "node:worker_threads";
import { type SeedTask, runSeedTask } from "./swarm-seed.ts";

if (parentPort === null) throw new Error("swarm-worker.ts runs only as a worker thread of concord swarm");
const port = parentPort;
port.on("message", (task: SeedTask) => port.postMessage(runSeedTask(task)));
