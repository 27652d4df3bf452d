import { describe, expect, test } from "vitest";
import { CorruptionError, createRng } from "@concord/core";
import {
  decodeCommand,
  decodeResult,
  decodeSnapshotEntries,
  describeCommand,
  describeResult,
  encodeCommand,
  encodeResult,
  encodeSnapshotEntries,
  type KvCommand,
  type KvResult,
} from "@concord/kv";

const text = new TextEncoder();
const v = (value: string): Uint8Array => text.encode(value);
const empty = new Uint8Array(0);

const keys = ["x", "", "é", "e\u0301", "日本語のキー", "🙂🚀", "key with spaces\tand\nnewlines", "k".repeat(1000)];
const values = [v("1"), empty, new Uint8Array([0]), Uint8Array.from({ length: 256 }, (_, i) => i), v("∀x ∈ ℕ")];

function everyCommand(): KvCommand[] {
  const commands: KvCommand[] = [];
  for (const key of keys) {
    commands.push({ type: "get", key }, { type: "delete", key });
    for (const value of values) {
      commands.push({ type: "put", key, value }, { type: "append", key, value });
      commands.push({ type: "cas", key, expected: undefined, value });
      for (const expected of values) commands.push({ type: "cas", key, expected, value });
    }
  }
  return commands;
}

const everyResult: KvResult[] = [
  { type: "get", value: undefined },
  ...values.map((value): KvResult => ({ type: "get", value })),
  { type: "put" },
  { type: "append" },
  { type: "cas", ok: true },
  { type: "cas", ok: false },
  { type: "delete", existed: true },
  { type: "delete", existed: false },
  { type: "invalid", reason: "kv command: undecodable 2 bytes" },
  { type: "invalid", reason: "" },
  { type: "invalid", reason: "ünïcödé 🙂" },
];

describe("command codec", () => {
  test("round-trips every command, with empty values, empty and unicode keys", () => {
    for (const command of everyCommand()) {
      expect(decodeCommand(encodeCommand(command))).toEqual(command);
    }
  });

  test("keeps cas-expecting-absent apart from cas-expecting-empty", () => {
    const absent = decodeCommand(encodeCommand({ type: "cas", key: "x", expected: undefined, value: v("1") }));
    const emptyValue = decodeCommand(encodeCommand({ type: "cas", key: "x", expected: empty, value: v("1") }));
    expect(absent.type === "cas" && absent.expected).toBeUndefined();
    expect(emptyValue.type === "cas" && emptyValue.expected).toEqual(empty);
  });

  test("decodes values as plain Uint8Arrays that do not alias the frame", () => {
    const frame = encodeCommand({ type: "put", key: "x", value: v("abc") });
    const decoded = decodeCommand(frame);
    expect(decoded.type === "put" && decoded.value.constructor).toBe(Uint8Array);
    frame.fill(0);
    expect(decoded).toEqual({ type: "put", key: "x", value: v("abc") });
  });

  test("every truncation of an encoded command is a CorruptionError", () => {
    const command: KvCommand = { type: "cas", key: "key", expected: v("old"), value: v("new") };
    const frame = encodeCommand(command);
    for (let length = 0; length < frame.length; length++) {
      expect(() => decodeCommand(frame.slice(0, length)), `cut to ${length} bytes`).toThrow(CorruptionError);
    }
  });

  test("garbage either decodes to a command or throws CorruptionError, never anything else", () => {
    const rng = createRng(3);
    const types = new Set(["get", "put", "append", "cas", "delete"]);
    for (let i = 0; i < 3000; i++) {
      const garbage = Uint8Array.from({ length: rng.nextInt(20) }, () => rng.nextInt(256));
      try {
        expect(types.has(decodeCommand(garbage).type)).toBe(true);
      } catch (error) {
        expect(error).toBeInstanceOf(CorruptionError);
      }
    }
  });
});

describe("result codec", () => {
  test("round-trips every result, a get of an empty value apart from a get of nothing", () => {
    for (const result of everyResult) {
      expect(decodeResult(encodeResult(result))).toEqual(result);
    }
  });

  test("an empty frame, or garbage, is a CorruptionError", () => {
    expect(() => decodeResult(empty)).toThrow(CorruptionError);
    expect(() => decodeResult(new Uint8Array([0xff, 0xff, 0xff]))).toThrow(CorruptionError);
  });
});

describe("snapshot entries codec", () => {
  test("round-trips entries, empty values, unicode keys and no entries at all", () => {
    const entries: [string, Uint8Array][] = keys.map((key, i) => [key, values[i % values.length] as Uint8Array]);
    expect(decodeSnapshotEntries(encodeSnapshotEntries(entries))).toEqual(entries);
    expect(decodeSnapshotEntries(encodeSnapshotEntries([]))).toEqual([]);
  });

  test("undecodable bytes are a CorruptionError", () => {
    expect(() => decodeSnapshotEntries(new Uint8Array([0x0a, 0x05, 0x0a]))).toThrow(CorruptionError);
  });
});

describe("describeCommand and describeResult", () => {
  test("render operations for people", () => {
    expect(describeCommand({ type: "put", key: "x", value: v("1") })).toBe('put x "1"');
    expect(describeCommand({ type: "cas", key: "x", expected: undefined, value: v("2") })).toBe('cas x nil->"2"');
    expect(describeCommand({ type: "get", key: "x" })).toBe("get x");
    expect(describeResult({ type: "get", value: undefined })).toBe("nil");
    expect(describeResult({ type: "cas", ok: false })).toBe("mismatch");
    expect(describeResult({ type: "delete", existed: false })).toBe("absent");
    expect(describeResult({ type: "invalid", reason: "bad" })).toBe("invalid: bad");
  });
});
