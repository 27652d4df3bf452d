// concord sim --read <level> (issue 15): the level the workload's reads ask for, listed in --help, refused in one
// line when unknown, carried into the replay command and the JSON report, with the stale reads it finds named.
import { describe, expect, it } from "vitest";
import { runCli } from "@concord/cli";
import { captureIo } from "./helpers.ts";

function run(args: string[]): { code: number; out: string; err: string } {
  const io = captureIo();
  const code = runCli(args, io);
  if (typeof code !== "number") throw new Error("concord sim must run synchronously");
  return { code, out: io.out, err: io.err };
}

describe("concord sim --read", () => {
  it("is listed in --help with its levels", () => {
    const { code, out } = run(["sim", "--help"]);
    expect(code).toBe(0);
    expect(out).toMatch(/--read <value>/);
    expect(out).toMatch(/one of: linearizable, lease, stale/);
  });

  it("refuses an unknown level in one line naming the flag and the levels", () => {
    const { code, err } = run(["sim", "--algo", "raft", "--read", "eventual"]);
    expect(code).toBe(2);
    expect(err.trim().split("\n")).toHaveLength(1);
    expect(err).toContain('--read: unknown value "eventual"; allowed: linearizable, lease, stale');
  });

  it("reports the level asked and served, names the stale reads, and exits 0: a stale run promises no linearizability", () => {
    const { code, out, err } = run(["sim", "--algo", "raft", "--scenario", "partition", "--clients", "16", "--seed", "12", "--read", "stale", "--json"]);
    expect(err).toBe("");
    expect(code).toBe(0);
    const report = JSON.parse(out);
    expect([report.readLevel, report.readLevelServed]).toEqual(["stale", "stale"]);
    expect(report.linearizable).toBe(false);
    expect(report.promisesLinearizability).toBe(false);
    expect(report.staleReadCount).toBeGreaterThan(0);
    expect(report.staleReads[0]).toHaveProperty("missed");
    const table = run(["sim", "--algo", "raft", "--scenario", "partition", "--clients", "16", "--seed", "12", "--read", "stale"]).out;
    expect(table).toMatch(/reads asked \/ served\s+│?\s*stale \/ stale/);
    expect(table).toContain("stale reads (each read returned a value overwritten before it began):");
  });

  it("says at which level the algorithm served the reads: raft without check-quorum has no lease, and serves a lease read by ReadIndex", () => {
    const { code, out } = run(["sim", "--algo", "raft", "--scenario", "steady", "--read", "lease", "--option", "checkQuorum=false", "--json"]);
    expect(code).toBe(0);
    const report = JSON.parse(out);
    expect([report.readLevel, report.readLevelServed, report.linearizable]).toEqual(["lease", "linearizable", true]);
  });
});

describe("concord swarm --read", () => {
  it("is listed in --help and refuses an unknown level in one line", async () => {
    const help = captureIo();
    expect(await runCli(["swarm", "--help"], help)).toBe(0);
    expect(help.out).toMatch(/--read <value>[\s\S]*one of: linearizable, lease, stale/);
    const bad = captureIo();
    expect(await runCli(["swarm", "--algo", "raft", "--read", "serializable"], bad)).toBe(2);
    expect(bad.err.trim().split("\n")).toHaveLength(1);
    expect(bad.err).toContain('--read: unknown value "serializable"; allowed: linearizable, lease, stale');
  });
});
