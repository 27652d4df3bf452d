// Golden files, after etcd-io/raft's testdata/*.txt: a scenario's trace as
// text, kept in the repository, so that a change of behaviour shows up as a
// readable diff.
import { readFileSync, writeFileSync } from "node:fs";

/** goldenUpdateVariable names the environment variable that rewrites golden files on purpose. */
export const goldenUpdateVariable = "CONCORD_UPDATE_GOLDEN";

/**
 * goldenText returns what the golden file at `path` holds, for a test to
 * compare with `text` (the trace's lines, one per line). With
 * CONCORD_UPDATE_GOLDEN set it first rewrites the file with `text`.
 */
export function goldenText(path: string, lines: readonly string[]): { readonly actual: string; readonly golden: string } {
  const actual = `${lines.join("\n")}\n`;
  if (process.env[goldenUpdateVariable] !== undefined) writeFileSync(path, actual);
  return { actual, golden: readFileSync(path, "utf8") };
}
