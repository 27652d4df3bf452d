import { expect, it } from "vitest";
import type { Outcome } from "@concord/core";
import { type LoadTarget, runLoad } from "@concord/lab";

// A target that refuses every operation at once (a closed client, a cluster
// with no leader answering in the same turn) must not spin the closed loop:
// without a pause after a refusal the loop never yields, the timers that end
// the load never fire, and the history grows without bound.
it("runLoad backs off after a refusal: a target that refuses at once leaves a bounded history and a finished load", async () => {
  let submitted = 0;
  let nextId = 1_000_000;
  const refusing: LoadTarget = {
    newClient: () => nextId++,
    submit: (): Promise<Outcome> => {
      submitted++;
      return Promise.resolve({ kind: "failed", rejection: { kind: "dropped", reason: "closed" } });
    },
  };
  const startMs = Date.now();
  const report = await runLoad(refusing, { clients: 4, seconds: 1, semantics: "kv", finalReadTimeoutMs: 500 });
  expect(Date.now() - startMs).toBeLessThan(10_000);
  expect(report.ops.completed).toBe(0);
  expect(report.ops.failed).toBeGreaterThan(0);
  // Four clients pausing 10 ms after each refusal for about a second: a few hundred each at most, not millions.
  expect(submitted).toBeLessThan(4 * 200 + 200);
});
