// A client restarted with its old id (issue 21, bug 7): PBFT's session key is
// inside the bytes the client's authenticator covers and the batch digest.
import { describe, expect, it } from "vitest";
import { pbft } from "@concord/pbft";
import { runRestartedClient } from "@concord/sim";
import { FakeCrypto } from "./kit.ts";

describe("a client restarted with its old id (PBFT §4.1 with Raft thesis §6.3 sessions)", () => {
  // Near 2^32 and 2^53 too: every width on the wire and in the log must hold the sequence exactly.
  for (const firstSequence of [1, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER]) {
    it(`its write is applied and answered with its own result, never the old client's cached one; the old client's late retry applies nothing (first sequence ${firstSequence})`, () => {
      const run = runRestartedClient(pbft, { replicas: [0, 1, 2, 3], options: {}, firstSequence, crypto: (id) => new FakeCrypto(id) });
      expect(run.first).toEqual({ type: "put" });
      expect(run.second).toEqual({ type: "cas", ok: true });
      expect(run.sequences).toEqual([firstSequence, firstSequence]);
      expect(run.values).toEqual(["b", "b", "b", "b"]);
    });
  }
});
