// Issue 21, "a verdict that does not depend on the machine": concord check budgets its search in
// steps (--steps-max) and keeps the wall clock (--budget-seconds) as a separate safety net, each
// named in the verdict it cuts short.
import { describe, expect, it } from "vitest";
import { generateKvHistory, kvHistoryToJsonl } from "@concord/check";
import { runCheckCommand } from "../src/commands/check.ts";
import { captureIo } from "./helpers.ts";

// Ambiguous values and indeterminate operations: thousands of search steps.
const history = kvHistoryToJsonl(generateKvHistory({ clients: 10, operations: 300, keys: 1, seed: 7, valueCount: 3, indeterminatePercent: 30 }));

function check(args: readonly string[]): { code: number; out: string; err: string } {
  const io = captureIo({ "h.jsonl": history });
  const code = runCheckCommand([...args, "h.jsonl"], io);
  return { code, out: io.out, err: io.err };
}

describe("concord check's budget", () => {
  it("decides the history within the default step budget", () => {
    expect(check(["--model", "kv"])).toMatchObject({ code: 0, out: "linearizable\n" });
  });

  it("says 'unknown' once --steps-max are spent, naming the step budget, word for word the same every time", () => {
    const first = check(["--model", "kv", "--steps-max", "100"]);
    expect(first.code).toBe(3);
    expect(first.out).toMatch(/^unknown: the step budget of 100 steps ran out on key "k0" \(\d+ operations, 100 search steps\)\n$/);
    expect(check(["--model", "kv", "--steps-max", "100", "--budget-seconds", "600"])).toEqual(first);
  });

  it("names the wall-clock safety net apart when that stops the search", () => {
    const { code, out } = check(["--model", "kv", "--budget-seconds", "0.000001"]);
    expect(code).toBe(3);
    expect(out).toMatch(/^unknown: the wall-clock safety net of [0-9.e-]+ s ran out \(this verdict depends on the machine\)/);
  });

  it.each(["-1", "1.5", "many"])("refuses --steps-max %s with exit 2, naming the flag", (value) => {
    const { code, err } = check(["--model", "kv", "--steps-max", value]);
    expect(code).toBe(2);
    expect(err).toContain(`--steps-max must be a whole number of steps (got "${value}")`);
  });
});
