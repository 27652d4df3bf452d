// A client restarted with its old id (Raft thesis §6.3; issue 21, bug 7), on
// solo; each protocol package runs the same schedule in its own tests.
import { describe, expect, test } from "vitest";
import { solo } from "@concord/core";
import { runRestartedClient } from "../src/index.ts";

describe("a client restarted with its old id (thesis §6.3; issue 21, bug 7)", () => {
  test("solo: the new client object's write is applied and answered with its own result, the old one's late retry not again", () => {
    const run = runRestartedClient(solo, { replicas: [0], options: {} });
    expect(run.first).toEqual({ type: "put" });
    expect(run.second).toEqual({ type: "cas", ok: true });
    expect(run.sequences).toEqual([1, 1]);
    expect(run.values).toEqual(["b"]);
  });
});
