import { describe, expect, it } from "vitest";
import { pbft } from "@concord/pbft";
import { type ReplayRun, replayCommand, replayRunOf, shellQuote } from "@concord/lab";

/** flagsOf lists the flags of a command in order, `--option` by the option it sets. */
function flagsOf(command: string): string[] {
  const words = command.split(" # ")[0]?.split(" ") ?? [];
  return words.flatMap((word, i) => (word === "--option" ? [`--option ${(words[i + 1] ?? "").split("=")[0]}`] : word.startsWith("--") ? [word] : []));
}

const everything: ReplayRun = {
  algo: "pbft",
  nodes: 7,
  scenario: "byzantine",
  seed: 42,
  ops: 300,
  clients: 4,
  byzantineStrategy: "equivocate",
  byzantineNodes: [2, 5],
  protocolOptions: { checkpointInterval: 16, authentication: "macs" },
  encode: false,
};

describe("replayCommand", () => {
  it("writes every choice of a run as a concord sim flag", () => {
    expect(replayCommand(everything)).toBe(
      "pnpm concord sim --algo pbft --nodes 7 --scenario byzantine --seed 42 --ops 300 --clients 4 --byzantine-strategy equivocate --byzantine-nodes 2,5 --no-encode --option authentication=macs --option checkpointInterval=16",
    );
  });

  it("carries each flag once, --option once per option (PBFT's commands said --no-encode twice)", () => {
    const flags = flagsOf(replayCommand(everything));
    expect(flags.filter((flag) => flag === "--no-encode")).toHaveLength(1);
    expect(new Set(flags).size).toBe(flags.length);
  });

  it("writes --no-encode once for a PBFT run built from the simulator's options, as the PBFT tests build theirs", () => {
    const run = replayRunOf({ algorithm: pbft, nodes: 4, scenario: "byzantine", seed: 3, byzantineStrategy: "equivocate", encode: false, protocolOptions: { checkpointInterval: 8 } });
    const command = replayCommand(run);
    expect(command.match(/--no-encode/g)).toHaveLength(1);
    expect(command).toBe("pnpm concord sim --algo pbft --nodes 4 --scenario byzantine --seed 3 --byzantine-strategy equivocate --no-encode --option checkpointInterval=8");
  });

  it("leaves out what the run left to its defaults, encoding included", () => {
    expect(replayCommand({ algo: "raft", nodes: 3, scenario: "steady", seed: 1, encode: true })).toBe("pnpm concord sim --algo raft --nodes 3 --scenario steady --seed 1");
  });

  it("names a scenario from a file by --scenario-file, quoted for the shell", () => {
    const scenario = { name: "solo-down", description: "", byzantine: 1 };
    expect(replayCommand({ algo: "solo", nodes: 1, scenario, seed: 3 }, { scenarioFile: "my scenarios/solo down.json" })).toBe(
      "pnpm concord sim --algo solo --nodes 1 --scenario-file 'my scenarios/solo down.json' --seed 3",
    );
  });

  it("says that a scenario defined in code has no flag to carry it, after a shell comment", () => {
    const command = replayCommand({ algo: "raft", nodes: 3, scenario: { name: "two-pauses", description: "" }, seed: 9 });
    expect(command).toMatch(/^pnpm concord sim --algo raft --nodes 3 --scenario two-pauses --seed 9 # the scenario "two-pauses" is an object defined in code/);
  });

  it("quotes an option value the shell would split, and writes non-string values as JSON", () => {
    const command = replayCommand({ algo: "raft", nodes: 3, scenario: "steady", seed: 1, protocolOptions: { note: "a b", preVote: false } });
    expect(command).toContain("--option 'note=a b' --option preVote=false");
  });
});

describe("replayCommand's --cpu", () => {
  it("carries a CPU cost model that replaced the scenario's, as name=microseconds pairs the shell leaves whole", () => {
    const run = replayRunOf({ algorithm: pbft, nodes: 4, scenario: "steady", seed: 2, cpu: { perMessageUs: 5.949, perMacUs: 2.174 } });
    expect(replayCommand(run)).toBe("pnpm concord sim --algo pbft --nodes 4 --scenario steady --seed 2 --cpu perMessageUs=5.949,perMacUs=2.174");
  });
});

describe("shellQuote", () => {
  it("leaves a safe word alone and quotes anything else, single quotes included", () => {
    expect(shellQuote("runs/a-1.json")).toBe("runs/a-1.json");
    expect(shellQuote("it's here")).toBe("'it'\\''s here'");
  });
});
