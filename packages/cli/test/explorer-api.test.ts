import type { Verdict } from "@concord/check";
import { firstClientId } from "@concord/core";
import { runCli } from "@concord/cli";
import { type Action, type ExploreBounds, defaultBounds, replay, worldSetup } from "@concord/explore";
import { findAlgorithm } from "@concord/lab";
import { describe, expect, it } from "vitest";
import { type ExplorerModel, type StateResponse, explorerState } from "../src/explorer/api.ts";
import { runExplorerUi, startExplorerServer } from "../src/explorer/server.ts";
import { decodePath, encodePath, toViewJson } from "../src/explorer/view.ts";
import { captureIo } from "./helpers.ts";

const raft = findAlgorithm("raft");
if (raft === undefined) throw new Error("raft is not registered");
const setup = worldSetup(raft, { nodes: 3, clients: 1, ops: 1, options: { preVote: false, checkQuorum: false } });

function model(bounds: Partial<ExploreBounds> = {}, counterexample?: ExplorerModel["counterexample"]): ExplorerModel {
  return { algo: "raft", setup, bounds: { ...defaultBounds, ...bounds }, counterexample };
}

function state(from: ExplorerModel, path: string): StateResponse {
  const result = explorerState(from, path);
  if (result.status !== 200) throw new Error(`path ${path}: ${JSON.stringify(result.body)}`);
  return result.body as StateResponse;
}

function follow(response: StateResponse, description: string): string {
  const found = response.actions.find((action) => action.description === description && !action.crash);
  if (found === undefined) throw new Error(`no action "${description}" among: ${response.actions.map((action) => action.description).join("; ")}`);
  return found.path;
}

describe("the Explorer's API", () => {
  it("shows the initial state: every replica's status and fields, no messages, no history, nothing spent", () => {
    const initial = state(model(), "");
    expect(initial.state.depth).toBe(0);
    expect(initial.state.epochName).toBe("term");
    expect(initial.state.replicas.map((replica) => [replica.up, replica.role, replica.epoch, replica.commitIndex])).toEqual([
      [true, "follower", 0, 0],
      [true, "follower", 0, 0],
      [true, "follower", 0, 0],
    ]);
    expect(typeof initial.state.replicas[0]?.fields).toBe("object");
    expect(initial.state.inFlight).toEqual([]);
    expect(initial.state.history).toEqual([]);
    expect(initial.state.spent).toEqual({ crashes: 0, reorderings: 0, drops: 0, duplicates: 0, timeouts: {} });
    expect(initial.state.violation).toBeNull();
    expect(initial.actions.map((action) => action.description)).toEqual(["timeout at 0", "timeout at 1", "timeout at 2", "client c0 invokes its next operation"]);
    // The whole answer is JSON: the page gets exactly this.
    expect(JSON.parse(JSON.stringify(initial))).toEqual(initial);
  });

  it("leads each action link to the state that replaying its actions reaches, with the same fingerprint", () => {
    const explorer = model();
    const campaign = state(explorer, follow(state(explorer, ""), "timeout at 0"));
    expect(campaign.state.replicas[0]).toMatchObject({ role: "candidate", epoch: 1 });
    expect(campaign.state.inFlight.map((message) => `${message.type} ${message.from}→${message.to}`)).toEqual(["requestVote 0→1", "requestVote 0→2"]);
    expect(campaign.state.spent.timeouts).toEqual({ "0": 1 });
    expect(campaign.steps.map((step) => step.description)).toEqual(["timeout at 0"]);
    for (const link of campaign.actions) {
      const actions = decodePath(link.path);
      const worlds = replay(setup, actions);
      expect(state(explorer, link.path).state.key, link.description).toBe(worlds[worlds.length - 1]?.key());
      expect(encodePath(actions)).toBe(link.path);
    }
  });

  it("offers the crash points inside an action only while the crash bound allows one", () => {
    const withoutCrashes = state(model(), "");
    expect(withoutCrashes.actions.some((action) => action.crash)).toBe(false);
    const oneCrash = model({ crashesMax: 1 });
    const initial = state(oneCrash, "");
    const crashes = initial.actions.filter((action) => action.crash && action.description.startsWith("timeout at 0"));
    // The campaign writes one Ready (term and vote): crash before its sync keeping none of it, or after the sync.
    expect(crashes.map((action) => action.description)).toEqual([
      "timeout at 0, then crash at its first write, before the sync, keeping 0 of its records",
      "timeout at 0, then crash at its first write, after the sync and before sending",
    ]);
    const afterSync = state(oneCrash, crashes[1]?.path ?? "");
    expect(afterSync.state.replicas[0]).toMatchObject({ up: false, role: null, fields: null });
    expect(afterSync.state.spent.crashes).toBe(1);
    expect(afterSync.actions.some((action) => action.crash || action.kind === "crash")).toBe(false);
    expect(afterSync.actions.some((action) => action.description === "restart 0")).toBe(true);
  });

  it("follows a lasting partition and its heal (and the other actions beyond the network) through their links", () => {
    const explorer = model({ partitionsMax: 1, clientRestartsMax: 1 });
    const initial = state(explorer, "");
    expect(initial.actions.map((action) => action.description)).toContain("client c0 restarts: a new session under its old id");
    const cut = state(explorer, follow(initial, "partition: 0, c0 cut off from the rest until healed"));
    expect(cut.steps.map((step) => step.description)).toEqual(["partition: 0, c0 cut off from the rest until healed"]);
    const heal = cut.actions.filter((action) => action.kind === "heal");
    expect(heal.map((action) => action.description)).toEqual(["heal the partition of 0, c0: what it held can be delivered"]);
    const healed = state(explorer, heal[0]?.path ?? "");
    expect(decodePath(heal[0]?.path ?? "")).toEqual([{ kind: "partition", side: [0, firstClientId] }, { kind: "heal" }]);
    expect(healed.actions.some((action) => action.kind === "partition")).toBe(false);
  });

  it("answers a path that does not decode or replay with 400 and a message naming what is wrong", () => {
    const explorer = model();
    const bad = (path: string): string => {
      const result = explorerState(explorer, path);
      expect(result.status, path).toBe(400);
      return (result.body as { error: string }).error;
    };
    expect(bad("not base64!")).toMatch(/not base64url/);
    expect(bad(Buffer.from("{oops").toString("base64url"))).toMatch(/does not decode to JSON/);
    expect(bad(encodePathUnchecked([{ kind: "fly", node: 0 }]))).toMatch(/not a list of actions: at action 0/);
    expect(bad(encodePath([{ kind: "deliver", key: "0>1:nothing" }]))).toMatch(/step 1 .* is not enabled/);
    expect(bad(encodePath([{ kind: "crash", node: 0 }]))).toMatch(/step 1 .* is not enabled/);
    expect(bad(encodePath([{ kind: "timeout", node: 0, crash: { ready: 0, keep: "after-sync" } }]))).toMatch(/crash bound \(0\) is spent/);
    const crashable = model({ crashesMax: 1 });
    const result = explorerState(crashable, encodePath([{ kind: "timeout", node: 0, crash: { ready: 3, keep: 0 } }]));
    expect(result.status).toBe(400);
    expect((result.body as { error: string }).error).toMatch(/offers no such crash point/);
  });

  it("walks a counterexample: its first step links the next one, and a path off it says so", () => {
    const timeout: Action = { kind: "timeout", node: 0 };
    const second = decodePath(follow(state(model(), encodePath([timeout])), "timeout at 1"));
    const explorer = model({}, { property: "planted", message: "a test's counterexample", actions: second });
    const first = state(explorer, "");
    expect(first.counterexample).toMatchObject({ property: "planted", steps: 2, at: 0, next: { description: "timeout at 0", path: encodePath([timeout]) } });
    const middle = state(explorer, encodePath([timeout]));
    expect(middle.counterexample).toMatchObject({ at: 1, next: { description: "timeout at 1", path: encodePath(second) } });
    expect(state(explorer, encodePath(second)).counterexample).toMatchObject({ at: 2, next: null });
    expect(state(explorer, encodePath([{ kind: "timeout", node: 2 }])).counterexample).toMatchObject({ at: null, next: null });
  });

  it("serves the page and the API over HTTP, with clear errors for bad requests", async () => {
    const server = await startExplorerServer(model(), 0);
    try {
      const page = await fetch(server.url);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toMatch(/text\/html/);
      expect(await page.text()).toContain("Concord Explorer");
      const initial = await fetch(`${server.url}api/state?path=`);
      expect(((await initial.json()) as StateResponse).state.depth).toBe(0);
      const bad = await fetch(`${server.url}api/state?path=zzz`);
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toMatch(/^path: /);
      expect((await fetch(`${server.url}nowhere`)).status).toBe(404);
      expect((await fetch(`${server.url}api/state`, { method: "POST" })).status).toBe(405);
    } finally {
      await server.close();
    }
  });

  it("refuses a bad port as a usage error, and a port in use with a message", async () => {
    const io = captureIo();
    expect(await runCli(["explore", "--ui", "--algo", "raft", "--nodes", "3", "--port", "70000"], io)).toBe(2);
    expect(io.err).toMatch(/--port: expected an integer from 0 to 65535, got 70000/);
    const busy = await startExplorerServer(model(), 0);
    try {
      const second = captureIo();
      expect(await runCli(["explore", "--ui", "--algo", "raft", "--nodes", "3", "--port", String(busy.port)], second)).toBe(2);
      expect(second.err).toMatch(new RegExp(`cannot listen on 127.0.0.1:${busy.port}: port ${busy.port} is in use`));
    } finally {
      await busy.close();
    }
  });

  it("with --find and no violation says so and opens at the initial state", async () => {
    const io = captureIo();
    const served = new Promise<string>((resolve) => {
      void runExplorerUi({ algo: "raft", setup, bounds: { ...defaultBounds, depthMax: 2 }, strategy: "bfs", find: true, port: 0 }, io, (server) => {
        void server.close().then(() => resolve(server.url));
      });
    });
    const url = await served;
    expect(io.err).toMatch(/unique states, no violation \(exhausted\); the page opens at the initial state/);
    expect(io.out).toContain(`Explorer for raft with 3 replicas: ${url}`);
  });

  it("with --find and a violation opens at the counterexample's first step", async () => {
    const solo = findAlgorithm("solo");
    if (solo === undefined) throw new Error("solo is not registered");
    const honest = worldSetup(solo, { nodes: 1, clients: 1, ops: 1 });
    // A planted bug in the judge, not the replica: the first completed operation makes the history "wrong", so the search must find the path to it.
    const planted: Verdict = { kind: "unknown", limit: "step budget", reason: "planted: any completed operation", steps: 0 };
    const buggy = { ...honest, checkHistory: (history: Parameters<typeof honest.checkHistory>[0]) => (history.some((operation) => operation.status === "ok") ? planted : honest.checkHistory(history)) };
    const io = captureIo();
    const answer = await new Promise<StateResponse>((resolve, reject) => {
      void runExplorerUi({ algo: "solo", setup: buggy, bounds: defaultBounds, strategy: "bfs", find: true, port: 0 }, io, (server) => {
        fetch(`${server.url}api/state?path=`)
          .then((response) => response.json() as Promise<StateResponse>)
          .then(resolve, reject)
          .finally(() => void server.close());
      });
    });
    expect(io.err).toMatch(/VIOLATION of linearizable after \d+ steps; the page opens at the counterexample's first step/);
    expect(answer.counterexample).toMatchObject({ property: "linearizable", at: 0, next: { description: "client c0 invokes its next operation" } });
    const end = state({ algo: "solo", setup: buggy, bounds: defaultBounds }, answer.counterexample?.end ?? "");
    expect(end.state.violation?.property).toBe("linearizable");
  });
});

describe("toViewJson", () => {
  it("shows bytes as lengths, Maps, Sets and bigints as JSON, and marks cycles instead of following them", () => {
    const node: Record<string, unknown> = { name: "n", bytes: new Uint8Array(5), big: 12n, entries: new Map<unknown, unknown>([["a", new Set([1, 2])]]), odd: new Map([[{ x: 1 }, "y"]]) };
    node["self"] = node;
    expect(toViewJson(node)).toEqual({ name: "n", bytes: "<5 bytes>", big: "12n", entries: { a: [1, 2] }, odd: [[{ x: 1 }, "y"]], self: "<cycle>" });
    expect(toViewJson({ f: function named() {}, n: Number.POSITIVE_INFINITY, u: undefined })).toEqual({ f: "<function named>", n: "Infinity", u: null });
    const long = toViewJson(Array.from({ length: 150 }, (_, index) => index)) as unknown[];
    expect(long).toHaveLength(101);
    expect(long[100]).toBe("… 50 more");
  });
});

/** encodePathUnchecked writes any JSON as a path token, to send the API what encodePath's types would refuse. */
function encodePathUnchecked(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}
