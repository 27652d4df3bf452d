// A client restarted with its old id (thesis §6.3 RegisterClient; issue 21, bug 7).
import { describe, expect, it } from "vitest";
import { raft } from "@concord/raft";
import { runRestartedClient } from "@concord/sim";

describe("a client restarted with its old id (thesis §6.3)", () => {
  // Near 2^32 and 2^53 too: every width on the wire and in the log must hold the sequence exactly.
  for (const firstSequence of [1, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER]) {
    it(`its write is applied and answered with its own result, never the old client's cached one; the old client's late retry applies nothing (first sequence ${firstSequence})`, () => {
      const run = runRestartedClient(raft, { replicas: [1, 2, 3], options: {}, firstSequence });
      expect(run.first).toEqual({ type: "put" });
      expect(run.second).toEqual({ type: "cas", ok: true });
      expect(run.sequences).toEqual([firstSequence, firstSequence]);
      expect(run.values).toEqual(["b", "b", "b"]);
    });
  }
});
