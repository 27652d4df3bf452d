// @concord/bench's entry point: what other code may read of the benchmark
// suite's output. The schema of results.json is the contract between the
// matrix that writes it and every reader (report.html, notebooks, CI).
export * from "./results-schema.ts";
