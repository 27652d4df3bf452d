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
  KvStateMachine,
  type KvCommand,
  type KvResult,
} from "@concord/kv";
import { decodeCommandWithProtobuf, decodeResultWithProtobuf, encodeCommandWithProtobuf, encodeResultWithProtobuf } from "../src/codec.ts";

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

describe("the paths written by hand against protobufjs (issue 18)", () => {
  const rng = createRng(18);
  const randomKey = (): string => {
    const draw = rng.nextInt(8);
    if (draw === 0) return keys[rng.nextInt(keys.length)] as string;
    const length = draw < 6 ? 1 + rng.nextInt(20) : rng.nextInt(140);
    return Array.from({ length }, () => String.fromCharCode(rng.nextInt(8) === 0 ? 32 + rng.nextInt(300) : 32 + rng.nextInt(95))).join("");
  };
  const randomValue = (): Uint8Array => Uint8Array.from({ length: rng.nextInt(3) === 0 ? rng.nextInt(12) : rng.nextInt(4) === 0 ? rng.nextInt(300) : rng.nextInt(130) }, () => rng.nextInt(256));
  const randomCommand = (): KvCommand => {
    const key = randomKey();
    switch (rng.nextInt(5)) {
      case 0:
        return { type: "get", key };
      case 1:
        return { type: "put", key, value: randomValue() };
      case 2:
        return { type: "append", key, value: randomValue() };
      case 3:
        return { type: "cas", key, expected: rng.nextInt(2) === 0 ? undefined : randomValue(), value: randomValue() };
      default:
        return { type: "delete", key };
    }
  };
  const randomResult = (): KvResult => {
    switch (rng.nextInt(7)) {
      case 0:
      case 1:
        return { type: "get", value: rng.nextInt(5) === 0 ? undefined : randomValue() };
      case 2:
        return rng.nextInt(2) === 0 ? { type: "put" } : { type: "put", value: randomValue() };
      case 3:
        return { type: "append" };
      case 4:
        return { type: "cas", ok: rng.nextInt(2) === 0 };
      case 5:
        return { type: "delete", existed: rng.nextInt(2) === 0 };
      default:
        return { type: "invalid", reason: randomKey() };
    }
  };
  const outcome = (run: () => unknown): string => {
    try {
      return `ok ${JSON.stringify(run(), (_key, value: unknown) => (value instanceof Uint8Array ? { [value.constructor.name]: [...value] } : value))}`;
    } catch (error) {
      return `${(error as Error).constructor.name}: ${(error as Error).message}`;
    }
  };
  const damage = (frame: Uint8Array): Uint8Array => {
    const bytes = [...frame];
    switch (rng.nextInt(5)) {
      case 0:
        if (bytes.length > 0) bytes[rng.nextInt(bytes.length)] = rng.nextInt(256);
        return Uint8Array.from(bytes);
      case 1:
        return Uint8Array.from(bytes.slice(0, rng.nextInt(bytes.length + 1)));
      case 2:
        return Uint8Array.from([...bytes, ...Array.from({ length: 1 + rng.nextInt(3) }, () => rng.nextInt(256))]);
      case 3:
        // A second member of the oneof, or a field of the member's, after it.
        return Uint8Array.from(rng.nextInt(2) === 0 ? [...bytes, ((1 + rng.nextInt(6)) << 3) | 2, 0] : [bytes[0] ?? 10, (bytes[1] ?? 0) + 2, ...bytes.slice(2), rng.nextInt(4) << 3, rng.nextInt(3)]);
      default:
        return Uint8Array.from({ length: rng.nextInt(10) }, () => rng.nextInt(256));
    }
  };

  test("commands and results encode to protobufjs's bytes, and decode (whole or damaged) as protobufjs's path decodes them", () => {
    let simpleCommands = 0;
    let simpleResults = 0;
    for (let i = 0; i < 6000; i++) {
      const command = randomCommand();
      const bytes = encodeCommand(command);
      expect([...bytes]).toEqual([...encodeCommandWithProtobuf(command)]);
      if (command.key.length < 100 && /^[\x00-\x7f]+$/.test(command.key)) simpleCommands++;
      expect(decodeCommand(bytes)).toEqual(command);
      for (const input of [bytes, damage(bytes), damage(bytes)]) {
        expect(outcome(() => decodeCommand(input))).toBe(outcome(() => decodeCommandWithProtobuf(input)));
      }
      const result = randomResult();
      const frame = encodeResult(result);
      expect([...frame]).toEqual([...encodeResultWithProtobuf(result)]);
      if (result.type === "get" && (result.value?.length ?? 0) <= 123) simpleResults++;
      for (const input of [frame, damage(frame), damage(frame)]) {
        expect(outcome(() => decodeResult(input))).toBe(outcome(() => decodeResultWithProtobuf(input)));
      }
    }
    expect(simpleCommands).toBeGreaterThan(1500);
    expect(simpleResults).toBeGreaterThan(1000);
  });

  test("a result frame whose length byte would be the first of two is left to protobufjs, which refuses it", () => {
    // 132 bytes laid out as a get of 126 bytes, but 0x82 0x08 is a length of 1,026.
    const frame = Uint8Array.from([0x0a, 0x82, 0x08, 0x01, 0x12, 126, ...new Array<number>(126).fill(7)]);
    expect(() => decodeResult(frame)).toThrow(CorruptionError);
  });

  test("keys that share a slot of the decoder's recent keys each decode as themselves, whatever came before", () => {
    // The same length, first, middle and last byte: one slot of recentKeys. "axb\u00ffc" is not ASCII (protobufjs's path).
    const slotMates = ["axbyc", "azbwc", "axbyd", "axbzc", "axb\u00ffc", "axbyc"];
    for (let round = 0; round < 3; round++) {
      for (const key of slotMates) {
        for (const command of [{ type: "get", key }, { type: "put", key, value: v(key) }, { type: "delete", key }] as const) {
          const bytes = encodeCommand(command);
          expect(decodeCommand(bytes)).toEqual(command);
          expect(outcome(() => decodeCommand(bytes))).toBe(outcome(() => decodeCommandWithProtobuf(bytes)));
        }
      }
    }
    const store = new KvStateMachine();
    for (const key of slotMates) store.apply(encodeCommand({ type: "put", key, value: v(key) }));
    for (const key of slotMates) expect(decodeResult(store.query(encodeCommand({ type: "get", key })))).toEqual({ type: "get", value: v(key) });
    expect(store.store.size).toBe(5);
  });

  test("the answers without fields are one array each, protobufjs's bytes, unchanged by a store's run", () => {
    // Handed to every caller (issue 18): an encoded result is never written after it is made.
    const fieldless: [KvResult, number[]][] = [
      [{ type: "put" }, [0x12, 0]],
      [{ type: "append" }, [0x1a, 0]],
      [{ type: "get", value: undefined }, [...encodeResultWithProtobuf({ type: "get", value: undefined })]],
      [{ type: "cas", ok: false }, [...encodeResultWithProtobuf({ type: "cas", ok: false })]],
      [{ type: "delete", existed: false }, [...encodeResultWithProtobuf({ type: "delete", existed: false })]],
    ];
    for (const [result, bytes] of fieldless) {
      expect(encodeResult(result)).toBe(encodeResult(result));
      expect([...encodeResult(result)]).toEqual(bytes);
      expect(decodeResult(encodeResult(result))).toEqual(result.type === "put" || result.type === "append" ? { type: result.type } : result);
    }
    const store = new KvStateMachine();
    for (let i = 0; i < 2000; i++) {
      const command = randomCommand();
      const answer = store.apply(encodeCommand(command));
      expect(decodeResult(answer).type).toBe(command.type);
    }
    for (const [result, bytes] of fieldless) expect([...encodeResult(result)]).toEqual(bytes);
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
