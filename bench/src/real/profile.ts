// Where a node process spends its time under the bench's load: the V8 CPU
// profiles that `node --cpu-prof` writes when a node exits, folded into the
// functions with the most self time. Issue 12 asks what limits Raft; this is
// the measurement that answers it, run for run beside the figures.
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { z } from "zod";

/** ProfileSummary is one node process's profile: its busy time and the functions that took most of it. */
export interface ProfileSummary {
  readonly file: string;
  /** busyMs is the sampled time not idle, after start-up: JavaScript, garbage collection, and the runtime's own work (a synchronous system call, fdatasync say, counts as busy: the thread waits in it). */
  readonly busyMs: number;
  readonly wallMs: number;
  /** top are the functions with the most self time, as shares of busyMs. */
  readonly top: readonly { readonly function: string; readonly where: string; readonly percent: number }[];
  /** byArea folds self time by package or Node module (garbage collection, node:net, @concord/raft, ...), as shares of busyMs. */
  readonly byArea: readonly { readonly area: string; readonly percent: number }[];
}

const cpuProfileSchema = z.object({
  nodes: z.array(z.object({ id: z.number(), callFrame: z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() }) })),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});

/** areaOf names where a function lives: a workspace package, an npm package, a Node module, or one of V8's pseudo-frames. */
export function areaOf(url: string, functionName: string): string {
  if (url === "") return `(${functionName || "native"})`;
  const npm = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (npm !== null) return npm[1] as string;
  const workspace = /\/packages\/([^/]+)\/src\//.exec(url);
  if (workspace !== null) return `@concord/${workspace[1] as string}`;
  if (url.startsWith("node:")) return url;
  return url.split("/").slice(-2).join("/");
}

/** ProfileFolding says which samples to keep and how to name files. */
export interface ProfileFolding {
  /** skipMs leaves out the samples of the process's first milliseconds: its start-up (tsx compiling the sources), which is not the load. */
  readonly skipMs: number;
  /** fileRoot shortens the profile file's path; sourceRoot the source paths of the functions. */
  readonly fileRoot: string;
  readonly sourceRoot: string;
  readonly topCount?: number | undefined;
}

/** summarizeProfile folds one .cpuprofile file. */
export function summarizeProfile(file: string, folding: ProfileFolding): ProfileSummary {
  const profile = cpuProfileSchema.parse(JSON.parse(readFileSync(file, "utf8")));
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const selfUs = new Map<number, number>();
  let elapsedUs = 0;
  profile.samples.forEach((id, index) => {
    // A sample stands for the interval before it (its time delta), kept when that interval begins after the start-up.
    const deltaUs = profile.timeDeltas[index] ?? 0;
    if (elapsedUs >= folding.skipMs * 1000) selfUs.set(id, (selfUs.get(id) ?? 0) + deltaUs);
    elapsedUs += deltaUs;
  });
  const root = folding.sourceRoot;
  const topCount = folding.topCount ?? 12;
  const byFunction = new Map<string, { function: string; where: string; us: number }>();
  const byArea = new Map<string, number>();
  let wallUs = 0;
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const frame = frames.get(id);
    if (frame === undefined) continue;
    wallUs += us;
    if (frame.functionName === "(idle)") continue;
    busyUs += us;
    const where = frame.url === "" ? "" : `${frame.url.startsWith("file://") ? relative(root, frame.url.slice("file://".length)) : frame.url}:${frame.lineNumber + 1}`;
    const key = `${frame.functionName}@${where}`;
    const entry = byFunction.get(key) ?? { function: frame.functionName || "(anonymous)", where, us: 0 };
    entry.us += us;
    byFunction.set(key, entry);
    const area = areaOf(frame.url, frame.functionName);
    byArea.set(area, (byArea.get(area) ?? 0) + us);
  }
  const percent = (us: number): number => Math.round((1000 * us) / Math.max(1, busyUs)) / 10;
  return {
    file: relative(folding.fileRoot, file),
    busyMs: Math.round(busyUs / 1000),
    wallMs: Math.round(wallUs / 1000),
    top: [...byFunction.values()].sort((a, b) => b.us - a.us).slice(0, topCount).map((entry) => ({ function: entry.function, where: entry.where, percent: percent(entry.us) })),
    byArea: [...byArea].sort((a, b) => b[1] - a[1]).slice(0, topCount).map(([area, us]) => ({ area, percent: percent(us) })),
  };
}

/** busiestProfile summarizes the profiles in `dir` and returns the busiest one's (a cluster's leader does most of the work), or undefined when there is none. */
export function busiestProfile(dir: string, folding: ProfileFolding): ProfileSummary | undefined {
  let files: string[];
  try {
    files = readdirSync(dir).filter((name) => name.endsWith(".cpuprofile"));
  } catch {
    return undefined;
  }
  const summaries = files.map((name) => summarizeProfile(join(dir, name), folding));
  return summaries.sort((a, b) => b.busyMs - a.busyMs)[0];
}
