// Issue 13: the concord command as people expect a command-line tool to behave. Each user error is one
// line on stderr and exit code 2 (1 means a guarantee broke); --help lists what every enumerated flag
// takes and every protocol option with its default, in aligned columns. Most cases run the commands
// in-process; two spawn the real entry point, to see that nothing between it and the commands turns a
// usage error into a stack trace.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { soloOptionsSchema } from "@concord/core";
import { pbftOptionsSchema } from "@concord/pbft";
import { raftOptionsSchema } from "@concord/raft";
import { byzantineStrategyNames, scenarioNames } from "@concord/sim";
import { algorithmNames, algorithms } from "@concord/lab";
import { type CommandIo, runCli } from "@concord/cli";
import { protocolOptionDefaults } from "../src/protocol-options.ts";

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "concord-cli-errors-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** realIo runs a command in-process against the real file system, keeping what it prints. */
function realIo(): CommandIo & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    stdout: (text: string) => void (io.out += text),
    stderr: (text: string) => void (io.err += text),
    readFile: (path: string) => readFileSync(path, "utf8"),
    writeFile: (path: string, data: string) => writeFileSync(path, data),
  };
  return io;
}

/** run runs one `concord` invocation in-process and returns its exit code with its output. */
async function run(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  const io = realIo();
  const code = await runCli(args, io);
  return { code, out: io.out, err: io.err };
}

/** expectUsageError checks the shape every user error has: exit 2, nothing on stdout, one line on stderr matching `message`. */
function expectUsageError(result: { code: number; out: string; err: string }, message: RegExp): void {
  expect(result.code, result.err).toBe(2);
  expect(result.out).toBe("");
  expect(result.err.endsWith("\n")).toBe(true);
  expect(result.err.trimEnd().split("\n"), result.err).toHaveLength(1);
  expect(result.err).toMatch(message);
}

const unwritable = "/nonexistent-concord-dir/out";

describe("an output file that cannot be written", () => {
  it("is one line and exit 2 for concord sim --history", async () => {
    expectUsageError(await run(["sim", "--algo", "solo", "--ops", "5", "--history", `${unwritable}.jsonl`]), /^concord: --history: cannot write \/nonexistent-concord-dir\/out\.jsonl: ENOENT/);
  });

  it("is one line and exit 2 for concord node --data and concord cluster --data", async () => {
    // A file where the directory should be: mkdir fails with ENOTDIR even for root.
    const file = join(dir, "a-file");
    writeFileSync(file, "");
    expectUsageError(await run(["node", "--id", "1", "--algo", "raft", "--listen", "127.0.0.1:0", "--peers", "1=127.0.0.1:7999", "--data", `${file}/node`]), /^concord: --data: ENOTDIR: not a directory, mkdir '.*a-file\/node'$/m);
    expectUsageError(await run(["cluster", "--algo", "raft", "--data", `${file}/cluster`]), /^concord: ENOTDIR: not a directory, mkdir '.*a-file\/cluster'$/m);
    // A file system that refuses every new name with ENOENT: Node's recursive mkdir never returned for /proc/<new>.
    expectUsageError(await run(["node", "--id", "1", "--algo", "raft", "--listen", "127.0.0.1:0", "--peers", "1=127.0.0.1:7999", "--data", "/proc/concord-test/node"]), /^concord: --data: ENOENT: no such file or directory, mkdir '\/proc\/concord-test'$/m);
  });

  it("is one line and exit 2 for concord check --html", async () => {
    const history = join(dir, "one.jsonl");
    writeFileSync(history, oneOpKv);
    expectUsageError(await run(["check", "--html", `${unwritable}.html`, history]), /^concord check: --html: cannot write \/nonexistent-concord-dir\/out\.html: ENOENT/);
  });
});

const oneOpKv = '{"process":0,"type":"invoke","f":"put","key":"x","value":"1"}\n{"process":0,"type":"ok","f":"put","key":"x","value":"1"}\n';
const staleRegister =
  '{"process":0,"type":"invoke","f":"write","value":1}\n{"process":0,"type":"ok","f":"write","value":1}\n' +
  '{"process":0,"type":"invoke","f":"write","value":2}\n{"process":0,"type":"ok","f":"write","value":2}\n' +
  '{"process":1,"type":"invoke","f":"read","value":null}\n{"process":1,"type":"ok","f":"read","value":1}\n';

describe("concord check", () => {
  const file = (name: string, content: string): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  it("refuses an empty history, saying so, with exit 2", async () => {
    expectUsageError(await run(["check", "--model", "kv", file("empty.jsonl", "\n")]), /empty\.jsonl holds no operations: nothing to check/);
    expectUsageError(await run(["check", "--model", "register", file("empty.edn", "[]\n")]), /empty\.edn holds no operations/);
  });

  it("infers the model from a JSON-lines history: kv when its events name keys, register when they are reads and writes", async () => {
    const kv = await run(["check", "--json", file("kv.jsonl", oneOpKv)]);
    expect(kv.code, kv.err).toBe(0);
    expect(JSON.parse(kv.out)).toMatchObject({ model: "kv", format: "jsonl", operations: 1, verdict: "linearizable" });
    const register = await run(["check", "--json", file("register.jsonl", staleRegister)]);
    expect(register.code).toBe(1);
    expect(JSON.parse(register.out)).toMatchObject({ model: "register", verdict: "not-linearizable" });
  });

  it("asks for --model where the file does not say: Jepsen EDN, or JSON lines mixing keyed and unkeyed events", async () => {
    expectUsageError(await run(["check", file("one.edn", "{:process 0, :type :invoke, :f :write, :value 1}\n{:process 0, :type :ok, :f :write, :value 1}\n")]), /--model is required for a Jepsen EDN history/);
    const mixed = oneOpKv + '{"process":1,"type":"invoke","f":"read","value":null}\n{"process":1,"type":"ok","f":"read","value":null}\n';
    expectUsageError(await run(["check", file("mixed.jsonl", mixed)]), /--model is required: the history's events do not say which model/);
  });

  it("prints the verdict and its evidence as one JSON object with --json", async () => {
    const result = await run(["check", "--model", "register", "--json", file("stale.jsonl", staleRegister)]);
    expect(result.code).toBe(1);
    expect(result.out.trimEnd().split("\n")).toHaveLength(1);
    const report = JSON.parse(result.out) as { verdict: string; steps: number; evidence: { blocking: { description: string }; text: string } };
    expect(report.verdict).toBe("not-linearizable");
    expect(report.steps).toBeGreaterThan(0);
    expect(report.evidence.blocking.description).toContain("read");
    expect(report.evidence.text).toContain("read -> 1");
  });

  it("prints a flag error as one line, not the whole usage", async () => {
    const history = file("flags.jsonl", oneOpKv);
    expectUsageError(await run(["check", "--verbose", history]), /^concord check: unknown flag --verbose \(allowed flags: --model, .*--json, --help\)$/m);
    expectUsageError(await run(["check", "--model", "queue", history]), /^concord check: --model must be "register" or "kv" \(got "queue"\)$/m);
    expectUsageError(await run(["check", "--model", "kv", "--model", "register", history]), /^concord check: --model is given twice; give it once$/m);
  });
});

describe("flags", () => {
  it("refuses a flag given twice rather than keeping the last", async () => {
    expectUsageError(await run(["sim", "--algo", "solo", "--seed", "1", "--seed", "2"]), /^concord: --seed is given twice; give it once$/m);
    expectUsageError(await run(["explore", "--algo", "paxos", "--depth", "3", "--depth=4"]), /--depth is given twice/);
  });

  it("keeps --option repeatable", async () => {
    const result = await run(["sim", "--algo", "raft", "--ops", "5", "--option", "preVote=false", "--option", "checkQuorum=false", "--json"]);
    expect(result.code, result.err).toBe(0);
    expect(JSON.parse(result.out).options).toMatchObject({ preVote: false, checkQuorum: false });
  });

  it("refuses --ops 0: a run with no operation measures and checks nothing", async () => {
    expectUsageError(await run(["sim", "--algo", "raft", "--ops", "0"]), /^concord: --ops: expected an integer from 1 to 10000000, got 0$/m);
    expectUsageError(await run(["swarm", "--algo", "raft", "--ops", "0"]), /--ops: expected an integer from 1/);
  });

  it("runs a cluster that tolerates no fault, with a one-line warning saying so", async () => {
    const result = await run(["sim", "--algo", "raft", "--nodes", "2", "--ops", "5", "--json"]);
    expect(result.code).toBe(0);
    expect(result.err).toBe("concord: warning: raft on 2 nodes tolerates no fault (3 tolerate one)\n");
    expect(JSON.parse(result.out).nodes).toBe(2);
    // Three nodes tolerate one: no warning; nor for solo, the baseline, which never tolerates one.
    expect((await run(["sim", "--algo", "raft", "--nodes", "3", "--ops", "5", "--json"])).err).toBe("");
    expect((await run(["sim", "--algo", "solo", "--ops", "5", "--json"])).err).toBe("");
  });
});

describe("the faults in concord sim --json", () => {
  it("are objects with their time, kind, replicas and end; the text output keeps the fault log's lines", async () => {
    const json = await run(["sim", "--algo", "raft", "--scenario", "leader-crash", "--ops", "40", "--json"]);
    expect(json.code, json.err).toBe(0);
    const report = JSON.parse(json.out) as { faults: { atMs: number; kind: string; nodes: number[]; untilMs: number }[]; faultLog: string[] };
    expect(report.faults.length).toBeGreaterThan(0);
    for (const fault of report.faults) {
      expect(typeof fault.atMs).toBe("number");
      expect(typeof fault.kind).toBe("string");
      expect(Array.isArray(fault.nodes)).toBe(true);
      expect(fault.untilMs).toBeGreaterThanOrEqual(fault.atMs);
    }
    const text = await run(["sim", "--algo", "raft", "--scenario", "leader-crash", "--ops", "40"]);
    expect(text.out).toContain(`faults:\n${report.faultLog.map((line) => `  ${line}`).join("\n")}\n`);
  });
});

/** flagColumns returns, for each line of a help's flags section, the column its description starts in. */
function flagColumns(help: string): number[] {
  const section = help.split("\nflags:\n")[1]?.split("\n\n")[0] ?? "";
  return section.split("\n").filter((line) => line !== "").map((line) => {
    const flag = /^ {2}--\S+(?: <value>)? +/.exec(line);
    return flag !== null ? flag[0].length : (/^ +/.exec(line)?.[0].length ?? 0);
  });
}

describe("--help", () => {
  const commands = ["sim", "swarm", "explore", "node", "kv", "member", "load", "cluster"];

  it.each(commands)("concord %s --help aligns its columns and lists the algorithms --algo takes", async (command) => {
    const help = await run([command, "--help"]);
    expect(help.code).toBe(0);
    const columns = flagColumns(help.out);
    expect(columns.length).toBeGreaterThan(3);
    expect(new Set(columns).size, help.out).toBe(1);
    const flat = help.out.replace(/\s+/g, " ");
    expect(flat).toContain(command === "member" ? "; one of: raft, multipaxos, vr --learner" : `one of: ${algorithmNames.join(", ")}${command === "swarm" ? ", all" : ""}`);
  });

  it("lists the scenarios, the Byzantine strategies of each algorithm and the search strategies", async () => {
    const sim = (await run(["sim", "--help"])).out.replace(/\s+/g, " ");
    expect(sim).toContain(`one of: ${scenarioNames.join(", ")}`);
    for (const algorithm of algorithms) expect(sim).toContain(`${algorithm.name}: ${byzantineStrategyNames(algorithm).join(", ")}`);
    expect((await run(["swarm", "--help"])).out.replace(/\s+/g, " ")).toContain(`one of: ${scenarioNames.join(", ")}`);
    expect((await run(["explore", "--help"])).out.replace(/\s+/g, " ")).toMatch(/--strategy <value> [^-]*one of: bfs, dfs/);
  });

  it("lists every protocol option with the default the protocol applies", async () => {
    const help = (await run(["sim", "--help"])).out;
    const block = (name: string): string => help.split(`\n  ${name}:\n`)[1]?.split(/\n {2}\S/)[0] ?? "";
    const cases = [
      ["raft", raftOptionsSchema.parse({})],
      ["pbft", pbftOptionsSchema.parse({})],
      ["solo", soloOptionsSchema.parse({})],
    ] as const;
    for (const [algorithm, defaults] of cases) {
      for (const [name, value] of Object.entries(defaults)) expect(block(algorithm), `${algorithm} ${name}`).toMatch(new RegExp(`\\n? {4}${name}=<[^>]+> +default: ${String(value)}(\\n|$)`));
    }
    expect(block("raft")).toMatch(/transferTimeoutTicks=<integer> +default: unset/);
    // Every registered algorithm's options are listed: a new one needs its schema in src/protocol-options.ts.
    for (const algorithm of algorithmNames) expect(protocolOptionDefaults(algorithm), `${algorithm}'s options schema is not in packages/cli/src/protocol-options.ts`).toBeDefined();
    expect(block("pbft")).toMatch(/authentication=<macs\|signatures> +default: macs/);
  });
});

describe("colour", () => {
  it("is never written: the output of a run and a check holds no escape sequence", async () => {
    const sim = await run(["sim", "--algo", "raft", "--nodes", "2", "--ops", "5"]);
    const history = join(dir, "colour.jsonl");
    writeFileSync(history, staleRegister);
    const check = await run(["check", history]);
    for (const text of [sim.out, sim.err, check.out, check.err]) expect(text).not.toContain("\u001b");
  });
});

describe("the concord entry point", () => {
  const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
  const spawnConcord = (args: readonly string[]) => spawnSync(process.execPath, ["--import", "tsx", main, ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });

  it("turns an unwritable --history into one line and exit 2, no stack trace", () => {
    const result = spawnConcord(["sim", "--algo", "solo", "--ops", "5", "--history", `${unwritable}.jsonl`]);
    expect(result.stderr).toMatch(/^concord: --history: cannot write \/nonexistent-concord-dir\/out\.jsonl: ENOENT[^\n]*\n$/);
    expect(result.status).toBe(2);
  });

  it("runs check on its own path with the same one-line errors", () => {
    const result = spawnConcord(["check", "--model", "kv", "--steps-max", "many", join(dir, "absent.jsonl")]);
    expect(result.stderr).toBe('concord check: --steps-max must be a whole number of steps (got "many")\n');
    expect(result.status).toBe(2);
  });
});
