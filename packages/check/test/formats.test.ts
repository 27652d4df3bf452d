import { describe, expect, it } from "vitest";
import {
  EdnKeyword,
  EdnMap,
  EdnSymbol,
  EdnTagged,
  HistoryParseError,
  checkHistory,
  checkKvHistory,
  detectFormat,
  generateKvHistory,
  kvHistoryToJsonl,
  parseKvHistory,
  parseRegisterHistory,
  readEdn,
  registerModel,
  stringKvModel,
  kvModel,
} from "@concord/check";

function parseError(run: () => unknown): HistoryParseError {
  try {
    run();
  } catch (error) {
    if (error instanceof HistoryParseError) return error;
    throw error;
  }
  throw new Error("expected a HistoryParseError");
}

describe("EDN reader", () => {
  it("reads scalars, collections, comments, discards and tags", () => {
    const forms = readEdn(`; a comment
      nil true false 42 -7 3.5 1e3 12345678901234567890N "a\\"b\\n" \\c \\newline :ns/kw sym
      [1 2] (3 4) #{5} {:a 1, :b [nil]} #_ ignored #inst "2024-01-01" #jepsen.history.Op{:x 1}`);
    const values = forms.map((form) => form.value);
    expect(values.slice(0, 9)).toEqual([null, true, false, 42, -7, 3.5, 1000, 12345678901234567890n, 'a"b\n']);
    expect(values[9]).toBe("c");
    expect(values[10]).toBe("\n");
    expect(values[11]).toEqual(new EdnKeyword("ns/kw"));
    expect(values[12]).toEqual(new EdnSymbol("sym"));
    expect(values[13]).toEqual([1, 2]);
    expect(values[14]).toEqual([3, 4]);
    expect(values[15]).toEqual([5]);
    const map = values[16] as EdnMap;
    expect(map.get("a")).toBe(1);
    expect(map.get("b")).toEqual([null]);
    expect(values[17]).toEqual(new EdnTagged("inst", "2024-01-01"));
    expect(((values[18] as EdnTagged).value as EdnMap).get("x")).toBe(1);
    expect(values).toHaveLength(19);
  });

  it("reads metadata, ratios, unicode escapes, named characters and sets, and skips nested discards", () => {
    const values = readEdn('^{:doc "x"} [1/2 "\\u0041" \\u0042 \\space #{:a} #_ #_ 1 2 3] #uuid "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"').map((form) => form.value);
    expect(values[0]).toEqual([0.5, "A", "B", " ", [new EdnKeyword("a")], 3]);
    expect(values[1]).toEqual(new EdnTagged("uuid", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"));
  });

  it("records the line each form and map starts on", () => {
    const forms = readEdn("\n\n{:a 1}\n[\n{:b 2}]");
    expect(forms.map((form) => form.line)).toEqual([3, 4]);
    expect(((forms[1]!.value as unknown[])[0] as EdnMap).line).toBe(5);
  });

  it("names the line of an unclosed vector, a map with an odd number of forms, and an unterminated string", () => {
    expect(() => readEdn("[1 2\n3")).toThrow(/line 2: unclosed \[ opened on line 1/);
    expect(() => readEdn("\n{:a}")).toThrow(/line 2: a map needs an even number of forms/);
    expect(() => readEdn('\n\n"abc')).toThrow(/line 3: unterminated string starting on line 3/);
    expect(() => readEdn("1 ]")).toThrow(/line 1: unexpected \]/);
  });
});

const casRegisterLines = `{:process 0, :type :invoke, :f :write, :value 1, :time 10}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 0, :type :ok, :f :write, :value 1}
{:process :nemesis, :type :info, :f :start, :value nil}
{:process 1, :type :ok, :f :read, :value 1}
; a comment line
{:process 2, :type :invoke, :f :cas, :value [1 2]}
{:process 2, :type :ok, :f :cas, :value [1 2], :extra "ignored"}
{:process 3, :type :invoke, :f :cas, :value [1 3]}
{:process 3, :type :fail, :f :cas, :value [1 3]}
{:process 0, :type :invoke, :f :write, :value 5}
{:process 0, :type :info, :f :write, :value 5, :error :timeout}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value 2}
{:process 4, :type :invoke, :f :write, :value 7}
`;

describe("Jepsen EDN histories", () => {
  it("reads one op map per line: pairs invocations, skips the nemesis, comments and unknown fields", () => {
    const history = parseRegisterHistory(casRegisterLines);
    expect(history.map((operation) => [operation.clientId, operation.input.type, operation.status])).toEqual([
      [0, "write", "ok"],
      [1, "read", "ok"],
      [2, "cas", "ok"],
      [3, "cas", "fail"],
      [0, "write", "info"],
      [1, "read", "ok"],
      [4, "write", "info"],
    ]);
    expect(history[1]!.output).toEqual({ type: "read", value: 1 });
    expect(history[6]!.completeUs).toBeUndefined();
    expect(checkHistory(registerModel, history).kind).toBe("linearizable");
  });

  it("reads a vector of op maps the same way", () => {
    const vector = `[${casRegisterLines.split("\n").filter((line) => line.startsWith("{")).join("\n")}]`;
    expect(parseRegisterHistory(vector, "edn")).toEqual(parseRegisterHistory(casRegisterLines));
  });

  it("finds a stale read in an EDN history", () => {
    const history = parseRegisterHistory(`[{:process 0 :type :invoke :f :write :value 1}
      {:process 0 :type :ok :f :write :value 1}
      {:process 0 :type :invoke :f :write :value 2}
      {:process 0 :type :ok :f :write :value 2}
      {:process 1 :type :invoke :f :read :value nil}
      {:process 1 :type :ok :f :read :value 1}]`);
    expect(checkHistory(registerModel, history).kind).toBe("not-linearizable");
  });

  it("splits Jepsen independent [key value] tuples into keys", () => {
    const history = parseRegisterHistory(`{:process 0, :type :invoke, :f :write, :value [:x 1]}
{:process 0, :type :ok, :f :write, :value [:x 1]}
{:process 1, :type :invoke, :f :cas, :value [:y [nil 2]]}
{:process 1, :type :ok, :f :cas, :value [:y [nil 2]]}
{:process 2, :type :invoke, :f :read, :value [:y nil]}
{:process 2, :type :ok, :f :read, :value [:y 2]}`);
    expect(history.map((operation) => operation.input)).toEqual([
      { type: "write", key: ":x", value: 1 },
      { type: "cas", key: ":y", expected: null, value: 2 },
      { type: "read", key: ":y" },
    ]);
    expect(checkHistory(registerModel, history).kind).toBe("linearizable");
  });

  it("reads porcupine's KV format (:key, :get, :put, :append) for the kv model", () => {
    const history = parseKvHistory(`{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}
{:process 1, :type :invoke, :f :get, :key "0", :value nil}
{:process 0, :type :ok, :f :append, :key "0", :value "x 0 0 y"}
{:process 1, :type :ok, :f :get, :key "0", :value "x 0 0 y"}
{:process 1, :type :invoke, :f :put, :key "1", :value "z"}
{:process 1, :type :ok, :f :put, :key "1", :value "z"}`);
    expect(history).toHaveLength(3);
    expect(checkKvHistory(history).kind).toBe("linearizable");
  });

  it("reads porcupine's KV histories, where a missing key reads as \"\", with the string KV model", () => {
    // The shape of porcupine's test_data/kv files: one client, get/put/append, "" for a missing key.
    const line = (f: string, key: string, invoke: string, ok: string): string =>
      `{:process 0, :type :invoke, :f :${f}, :key "${key}", :value ${invoke}}\n{:process 0, :type :ok, :f :${f}, :key "${key}", :value ${ok}}`;
    const good = [
      line("append", "0", '"x 0 0 y"', '"x 0 0 y"'),
      line("get", "5", "nil", '""'),
      line("get", "0", "nil", '"x 0 0 y"'),
      line("append", "0", '"x 0 1 y"', '"x 0 1 y"'),
      line("get", "0", "nil", '"x 0 0 yx 0 1 y"'),
      line("put", "5", '"x 0 2 y"', '"x 0 2 y"'),
      line("get", "5", "nil", '"x 0 2 y"'),
    ].join("\n");
    const history = parseKvHistory(good);
    expect(checkHistory(stringKvModel, history).kind).toBe("linearizable");
    // Concord's own model keeps a missing key apart from "": the read of key 5 fails it.
    const strict = checkHistory(kvModel, history);
    expect(strict.kind).toBe("not-linearizable");
    if (strict.kind === "not-linearizable") expect(strict.evidence.partition).toBe('key "5"');
    // A stale read (porcupine's c01-bad kind): key 0 read without its second append.
    const bad = `${good}\n${line("get", "0", "nil", '"x 0 0 y"')}`;
    const verdict = checkHistory(stringKvModel, parseKvHistory(bad));
    expect(verdict.kind).toBe("not-linearizable");
    if (verdict.kind === "not-linearizable") expect(verdict.evidence.text).toContain('get 0 -> "x 0 0 y"  <- returned first');
  });

  it("names the line and reason of a bad op", () => {
    const error = parseError(() => parseRegisterHistory("{:process 0, :type :invoke, :f :read, :value nil}\n{:process 0, :type :done, :f :read, :value 1}"));
    expect(error.line).toBe(2);
    expect(error.message).toMatch(/line 2: :type must be one of :invoke, :ok, :fail, :info \(got ":done"\)/);
    expect(parseError(() => parseRegisterHistory("{:process 0, :type :ok, :f :read, :value 1}")).message).toMatch(/line 1: process 0 completes an operation it never invoked/);
    expect(parseError(() => parseRegisterHistory("{:process 0, :type :invoke, :f :read}\n\n{:process 0, :type :invoke, :f :read}")).message).toMatch(
      /line 3: process 0 invokes again before its operation from line 1 completed/,
    );
    expect(parseError(() => parseRegisterHistory("{:process 0, :type :invoke, :f :read}\n{:process 0, :type :ok, :f :write, :value 1}")).message).toMatch(/line 2: completion :f write does not match/);
    expect(parseError(() => parseRegisterHistory("{:process 0, :type :invoke, :f :incr, :value 1}")).message).toMatch(/line 1: the register model has no operation :incr/);
    expect(parseError(() => parseRegisterHistory("{:process 0, :type :invoke, :f :cas, :value 1}")).message).toMatch(/line 1: a cas value must be \[expected new\]/);
    expect(parseError(() => parseRegisterHistory("{:process 0 :type :invoke :f :read}\n[1 2")).message).toMatch(/line 2: unclosed \[/);
    expect(parseError(() => parseRegisterHistory("{:type :invoke, :f :read}")).message).toMatch(/line 1: :process must be a non-negative integer or :nemesis \(missing\)/);
    expect(parseError(() => parseRegisterHistory("[1]")).message).toMatch(/line 1: expected an op map/);
  });
});

describe("JSON-lines histories", () => {
  it("reads events with keys, cas and delete fields, and times", () => {
    const history = parseKvHistory(
      [
        '{"process": 1, "type": "invoke", "f": "put", "key": "x", "value": "a", "time": 0}',
        '{"process": 2, "type": "invoke", "f": "cas", "key": "x", "expected": null, "value": "b", "time": 1}',
        '{"process": 1, "type": "ok", "f": "put", "key": "x", "time": 5}',
        "",
        '{"process": 2, "type": "ok", "f": "cas", "key": "x", "ok": false, "time": 6, "note": "ignored"}',
        '{"process": "nemesis", "type": "info", "f": "partition"}',
        '{"process": 3, "type": "invoke", "f": "delete", "key": "x", "time": 7}',
        '{"process": 3, "type": "ok", "f": "delete", "key": "x", "existed": true, "time": 8}',
      ].join("\n"),
    );
    expect(history.map((operation) => [operation.input.type, operation.invokeUs, operation.completeUs, operation.output])).toEqual([
      ["put", 0, 5, { type: "put" }],
      ["cas", 1, 6, { type: "cas", ok: false }],
      ["delete", 7, 8, { type: "delete", existed: true }],
    ]);
    expect(checkKvHistory(history).kind).toBe("linearizable");
  });

  it("keeps an invalid result through kvHistoryToJsonl and back", () => {
    const history = [
      { id: 0, clientId: 7, input: { type: "get" as const, key: "x" }, invokeUs: 1, completeUs: 2, status: "ok" as const, output: { type: "invalid" as const, reason: "garbled" } },
    ];
    const text = kvHistoryToJsonl(history);
    expect(text).toContain('"invalid":"garbled"');
    expect(parseKvHistory(text)[0]!.output).toEqual({ type: "invalid", reason: "garbled" });
  });

  it("round-trips a generated history through kvHistoryToJsonl", () => {
    const original = generateKvHistory({ clients: 5, operations: 300, keys: 3, seed: 9, indeterminatePercent: 5, failedPercent: 5 });
    const text = kvHistoryToJsonl(original);
    expect(detectFormat(text)).toBe("jsonl");
    const parsed = parseKvHistory(text);
    expect(parsed).toHaveLength(original.length);
    const byInvocation = [...original].sort((a, b) => a.invokeUs - b.invokeUs || a.id - b.id);
    expect(parsed.map((operation) => [operation.clientId, operation.input, operation.status, operation.invokeUs])).toEqual(
      byInvocation.map((operation) => [operation.clientId, operation.input, operation.status, operation.invokeUs]),
    );
    expect(checkKvHistory(parsed).kind).toBe("linearizable");
  });

  it("names the line and reason of bad JSON, a bad field and a time that goes back", () => {
    expect(parseError(() => parseKvHistory('{"process": 1, "type": "invoke", "f": "get", "key": "x"}\n{oops', "jsonl")).message).toMatch(/^line 2: not valid JSON/);
    expect(parseError(() => parseKvHistory('\n{"process": -1, "type": "invoke", "f": "get"}', "jsonl")).message).toMatch(/^line 2: "process" must be a non-negative integer/);
    expect(parseError(() => parseKvHistory('{"process": 1, "f": "get"}', "jsonl")).message).toMatch(/^line 1: "type" .* \(missing\)/);
    expect(
      parseError(() => parseKvHistory('{"process": 1, "type": "invoke", "f": "get", "time": 5}\n{"process": 1, "type": "ok", "f": "get", "time": 4}', "jsonl")).message,
    ).toMatch(/^line 2: time 4 is earlier/);
    expect(parseError(() => parseKvHistory('{"process": 1, "type": "invoke", "f": "put", "key": "x", "value": [1]}', "jsonl")).message).toMatch(/^line 1: a put value must be a string or a number/);
    expect(parseError(() => parseKvHistory('{"process": 1, "type": "invoke", "f": "incr", "key": "x"}', "jsonl")).message).toMatch(/^line 1: the kv model has no operation incr/);
  });

  it("detects the format from the file name, else from the first line", () => {
    expect(detectFormat("{}", "h.edn")).toBe("edn");
    expect(detectFormat("{:a 1}", "h.jsonl")).toBe("jsonl");
    expect(detectFormat('{"process": 1}')).toBe("jsonl");
    expect(detectFormat("{:process 1}")).toBe("edn");
    expect(detectFormat("[{:process 1}]")).toBe("edn");
  });
});
