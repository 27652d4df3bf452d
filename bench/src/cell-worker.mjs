// The worker thread's entry point for the matrix pool (tinypool). Plain
// JavaScript, because a worker thread does not inherit the parent's tsx
// loader: it registers tsx itself, then loads the TypeScript that runs a seed.
import { register } from "tsx/esm/api";

register();
const { runSeed } = await import("./seed-run.ts");

/** The pool calls the default export with one SeedTask per run. */
export default runSeed;
