// The worker thread's entry point for running sweep points on a pool
// (tinypool). Plain JavaScript, because a worker thread does not inherit the
// parent's tsx loader: it registers tsx itself, then loads the TypeScript.
import { register } from "tsx/esm/api";

register();
const { runSweepPoint } = await import("./point.ts");

/** The pool calls the default export with one SweepPointSpec per point. */
export default runSweepPoint;
