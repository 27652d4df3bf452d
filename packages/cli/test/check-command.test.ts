import { describe, expect, it } from "vitest";
import { generateKvHistory, kvHistoryToJsonl } from "@concord/check";
import { runCheckCommand, type CheckCommandIo } from "../src/commands/check.ts";

function fakeIo(files: Record<string, string>): CheckCommandIo & { out: string; err: string; files: Record<string, string> } {
  const io = {
    out: "",
    err: "",
    files,
    stdout: (text: string) => void (io.out += text),
    stderr: (text: string) => void (io.err += text),
    readFile: (path: string) => {
      const content = files[path];
      if (content === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
      return content;
    },
    writeFile: (path: string, data: string) => void (files[path] = data),
  };
  return io;
}

const linearizableEdn = `{:process 0, :type :invoke, :f :write, :value 1}
{:process 0, :type :ok, :f :write, :value 1}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value 1}
`;
const staleReadEdn = `{:process 0, :type :invoke, :f :write, :value 1}
{:process 0, :type :ok, :f :write, :value 1}
{:process 0, :type :invoke, :f :write, :value 2}
{:process 0, :type :ok, :f :write, :value 2}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value 1}
`;

describe("concord check", () => {
  it("exits 0 and prints linearizable for a linearizable register history", () => {
    const io = fakeIo({ "h.edn": linearizableEdn });
    expect(runCheckCommand(["--model", "register", "h.edn"], io)).toBe(0);
    expect(io.out).toBe("linearizable\n");
  });

  it("exits 1 and prints the evidence for a stale read", () => {
    const io = fakeIo({ "h.edn": staleReadEdn });
    expect(runCheckCommand(["--model=register", "h.edn"], io)).toBe(1);
    expect(io.out).toMatch(/^not linearizable\n/);
    expect(io.out).toContain("read -> 1");
    expect(io.out).toContain("leaves the state 2");
  });

  it("checks a JSON-lines KV history with the kv model", () => {
    const history = generateKvHistory({ clients: 4, operations: 200, keys: 2, seed: 3 });
    const io = fakeIo({ "run.jsonl": kvHistoryToJsonl(history) });
    expect(runCheckCommand(["--model", "kv", "run.jsonl"], io)).toBe(0);
  });

  it("checks porcupine's EDN KV format, where a missing key reads as \"\", and keeps absent apart from \"\" in JSON lines", () => {
    const edn = `{:process 0, :type :invoke, :f :get, :key "7", :value nil}
{:process 0, :type :ok, :f :get, :key "7", :value ""}
{:process 1, :type :invoke, :f :append, :key "7", :value "x 1 0 y"}
{:process 1, :type :ok, :f :append, :key "7", :value "x 1 0 y"}
{:process 0, :type :invoke, :f :get, :key "7", :value nil}
{:process 0, :type :ok, :f :get, :key "7", :value "x 1 0 y"}
`;
    const io = fakeIo({ "c.txt": edn });
    expect(runCheckCommand(["--model", "kv", "c.txt"], io), io.out).toBe(0);
    expect(io.out).toBe("linearizable\n");
    const jsonl = fakeIo({
      "h.jsonl": '{"process": 0, "type": "invoke", "f": "get", "key": "7"}\n{"process": 0, "type": "ok", "f": "get", "key": "7", "value": ""}\n',
    });
    expect(runCheckCommand(["--model", "kv", "h.jsonl"], jsonl)).toBe(1);
  });

  it("writes a self-contained HTML timeline with the failing region marked", () => {
    const io = fakeIo({ "h.edn": staleReadEdn });
    expect(runCheckCommand(["--model", "register", "--html", "out.html", "h.edn"], io)).toBe(1);
    const html = io.files["out.html"] ?? "";
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('class="region"');
    expect(html).toContain("op ok evidence");
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\//);
  });

  it("exits 3 with unknown when the budget runs out", () => {
    // Many indeterminate writes that never show make the search space explode.
    const lines: string[] = [];
    for (let process = 0; process < 40; process++) lines.push(`{:process ${process}, :type :invoke, :f :write, :value ${process}}`);
    for (let read = 0; read < 2000; read++) {
      lines.push(`{:process ${100 + read}, :type :invoke, :f :cas, :value [${read % 40} ${(read * 7) % 40}]}`);
      lines.push(`{:process ${100 + read}, :type :ok, :f :cas, :value [${read % 40} ${(read * 7) % 40}]}`);
    }
    lines.push("{:process 99, :type :invoke, :f :read, :value nil}", "{:process 99, :type :ok, :f :read, :value 41}");
    const io = fakeIo({ "h.edn": lines.join("\n") });
    expect(runCheckCommand(["--model", "register", "--budget-seconds", "0.05", "h.edn"], io)).toBe(3);
    expect(io.out).toMatch(/^unknown: the wall-clock safety net of 0.05 s ran out/);
  });

  it("exits 2 naming the line and reason of an unparsable file", () => {
    const io = fakeIo({ "h.edn": "{:process 0, :type :invoke, :f :read, :value nil}\n{:process 0, :type :ok, :f :read, :value [1" });
    expect(runCheckCommand(["--model", "register", "h.edn"], io)).toBe(2);
    expect(io.err).toMatch(/h\.edn:2: unclosed \[ opened on line 2/);
    const jsonl = fakeIo({ "h.jsonl": '{"process": 1, "type": "invoke", "f": "get", "key": "x"}\n\n{"process": 1, "type": "done"}' });
    expect(runCheckCommand(["--model", "kv", "h.jsonl"], jsonl)).toBe(2);
    expect(jsonl.err).toMatch(/h\.jsonl:3: "type" must be one of/);
  });

  it("exits 2 for bad flags, a missing file argument and a file it cannot read", () => {
    const cases: [string[], RegExp][] = [
      [["h.edn"], /--model is required/],
      [["--model", "queue", "h.edn"], /--model must be "register" or "kv" \(got "queue"\)/],
      [["--model", "kv"], /FILE is missing/],
      [["--model", "kv", "--budget-seconds", "-1", "h.edn"], /--budget-seconds must be a positive number/],
      [["--model", "kv", "--budget-seconds", "soon", "h.edn"], /--budget-seconds must be a number/],
      [["--model", "kv", "--verbose", "h.edn"], /unknown flag --verbose/],
      [["--model", "kv", "a.edn", "b.edn"], /one history file at a time/],
      [["--model", "kv", "--html"], /--html needs a value/],
      [["--model", "kv", "missing.edn"], /cannot read missing\.edn: ENOENT/],
    ];
    for (const [args, message] of cases) {
      const io = fakeIo({ "h.edn": linearizableEdn });
      expect(runCheckCommand(args, io), args.join(" ")).toBe(2);
      expect(io.err, args.join(" ")).toMatch(message);
      expect(io.out).toBe("");
    }
  });

  it("prints its usage with --help and exits 0", () => {
    const io = fakeIo({});
    expect(runCheckCommand(["--help"], io)).toBe(0);
    expect(io.out).toMatch(/^usage: concord check \[--model <register\|kv>\]/);
  });
});
