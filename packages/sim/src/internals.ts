/** @module @concord/sim/internals */
// @concord/sim/internals: the simulator's pieces that only its own tests and the micro-benchmarks
// reach for, behind their own export path: runSimulation and Simulation build and drive them.
export { EventQueue } from "./event-queue.ts";
