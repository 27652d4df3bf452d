import { describe, expect, it } from "vitest";
import { nemesisFaultsFlag, nemesisMarkdown, nemesisSystems, nemesisTable } from "../src/real/nemesis.ts";

// pnpm bench --real --nemesis: the pieces that need no cluster (a run is `concord test`'s, tested in
// packages/cli/test/real-nemesis.test.ts; the whole command was run by hand, see docs/testing.md).
describe("the real bench's nemesis runs", () => {
  it("put every system but the one-node baseline under the nemesis, etcd included", () => {
    expect(nemesisSystems(["raft", "etcd", "solo", "pbft"])).toEqual(["raft", "etcd", "pbft"]);
  });

  it("read --faults as concord test's --nemesis, partition and kill by default, naming an unknown fault", () => {
    expect(nemesisFaultsFlag(undefined)).toEqual(["partition", "kill"]);
    expect(nemesisFaultsFlag("kill,pause,kill")).toEqual(["kill", "pause"]);
    expect(() => nemesisFaultsFlag("kill,flood")).toThrow('--faults: unknown fault "flood"');
  });

  it("report a system that did not run, and say why the nemesis was skipped", () => {
    const bench = { faults: ["kill" as const], seconds: 6, seed: 1, runs: [{ system: "etcd", nodes: 3, result: undefined, error: "etcd is not on the PATH" }] };
    expect(nemesisTable(bench)).toContain("did not run: etcd is not on the PATH");
    expect(nemesisMarkdown({ ...bench, runs: [], skipped: "no namespaces" })).toContain("Not run: no namespaces.");
  });
});
