// `pnpm run docs` (after `pnpm build`; plain `pnpm docs` is pnpm's own command): the documentation site, the
// guides in docs/*.md and the API reference of every public package, in one typedoc run (typedoc.json holds the
// options). Run through typedoc's API rather than its command line for three things its options cannot say:
// - the guides come first in the navigation, in reading order (guideOrder), each titled by its first heading (a
//   guide without a `title:` front matter would otherwise be called by its file name); a guide not listed (a new
//   one) follows the listed ones, so that none is left out of the site;
// - every page refers to the icon sprite in its own document (`#icon-...`) instead of `assets/icons.svg#icon-...`:
//   typedoc's icons.js puts the sprite into each page, and Chromium refuses an SVG <use> of another file opened
//   from disk with a console error on every icon, before icons.js rewrites them;
// - any warning fails the run (treatWarningsAsErrors, as the typedoc command does), with the exit code saying so.
// `--out <dir>` writes the site elsewhere than docs/api (the site test builds into a temporary directory).
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { Application, PageEvent, type ProjectReflection, TSConfigReader, TypeDocReader } from "typedoc";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/** guideOrder is the guides' reading order: start, choose, the algorithms, then the tools and the internals. */
export const guideOrder = [
  "getting-started",
  "choosing",
  "cap",
  "comparing",
  "paxos",
  "raft",
  "multipaxos",
  "vr",
  "pbft",
  "leaderless",
  "testing",
  "checker",
  "explore",
  "explorer",
  "benchmarks",
  "net",
  "deploy",
  "architecture",
] as const;

/** orderedGuides lists docs/*.md in guideOrder, then any guide the order does not name, alphabetically. */
export function orderedGuides(docsDir: string): string[] {
  const present = readdirSync(docsDir)
    .filter((name) => name.endsWith(".md"))
    .map((name) => name.slice(0, -".md".length))
    .sort();
  const listed = guideOrder.filter((name) => present.includes(name));
  const unlisted = present.filter((name) => !(guideOrder as readonly string[]).includes(name));
  return [...listed, ...unlisted].map((name) => `docs/${name}.md`);
}

/** firstHeading is a Markdown document's first `# ` line, without the mark and code ticks. */
export function firstHeading(markdown: string): string | undefined {
  const line = markdown.split("\n").find((candidate) => candidate.startsWith("# "));
  return line?.slice(2).replaceAll("`", "").trim();
}

/** titleGuides names each guide that has no title of its own after its first heading. */
function titleGuides(project: ProjectReflection): void {
  for (const document of project.documents ?? []) {
    if (!/^[a-z-]+$/.test(document.name)) continue;
    const text = document.content.map((part) => part.text).join("");
    const heading = firstHeading(text);
    if (heading !== undefined) document.name = heading;
  }
}

/** localIconReferences points every icon of a page at the sprite icons.js inserts into that page. */
export function localIconReferences(html: string): string {
  return html.replace(/href="(?:\.\.\/)*assets\/icons\.svg#icon-/g, 'href="#icon-');
}

async function main(): Promise<number> {
  const outIndex = process.argv.indexOf("--out");
  const out = outIndex >= 0 ? process.argv[outIndex + 1] : undefined;
  if (outIndex >= 0 && (out === undefined || out.startsWith("--"))) {
    console.error("docs: --out needs a directory");
    return 2;
  }
  process.chdir(repoRoot);
  const app = await Application.bootstrapWithPlugins({ projectDocuments: orderedGuides(join(repoRoot, "docs")), ...(out === undefined ? {} : { out }) }, [new TypeDocReader(), new TSConfigReader()]);
  app.renderer.on(PageEvent.END, (page) => {
    if (page.contents !== undefined) page.contents = localIconReferences(page.contents);
  });
  const failed = (): boolean => app.logger.hasErrors() || app.logger.hasWarnings();
  if (failed()) return 1;
  const project = await app.convert();
  if (project === undefined || failed()) return 3;
  titleGuides(project);
  app.validate(project);
  if (failed() || app.logger.validationWarningCount > 0) return 4;
  await app.generateOutputs(project);
  if (failed()) return 5;
  const site = app.options.getValue("out");
  const index = join(site, "index.html");
  console.log(`docs: open ${index.startsWith(repoRoot) ? relative(repoRoot, index) : index} in a browser, from disk (no server, no network)`);
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main();
}
