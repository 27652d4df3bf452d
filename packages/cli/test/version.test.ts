import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runCli } from "@concord/cli";
import { captureIo } from "./helpers.ts";

describe("concord --version", () => {
  it("prints @concord/cli's version from its package.json on one line and exits 0", () => {
    const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
    const io = captureIo();
    expect(runCli(["--version"], io)).toBe(0);
    expect(io.out).toBe(`${version}\n`);
    expect(io.err).toBe("");
  });

  it("is listed in concord --help", () => {
    const io = captureIo();
    expect(runCli(["--help"], io)).toBe(0);
    expect(io.out).toContain("concord --version");
  });
});
