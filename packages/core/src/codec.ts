import protobuf from "protobufjs/light.js";
import { CorruptionError } from "./errors.ts";

/**
 * MessageCodec turns a protocol's messages into wire bytes and back. Runtimes
 * encode every message they carry, so byte counts are real; `typeName` keys
 * the per-type counters.
 */
export interface MessageCodec<M> {
  encode(message: M): Uint8Array;
  /** decode parses wire bytes, throwing a {@link CorruptionError} that says what is wrong. */
  decode(bytes: Uint8Array): M;
  typeName(message: M): string;
  /** typeNames lists every type name `typeName` can return, for runtimes that pick messages by type (optional). */
  readonly typeNames?: readonly string[];
}

/** ProtoDescriptor is a protobufjs JSON descriptor, as generated from a `.proto` file by `scripts/gen-proto.ts`. */
export type ProtoDescriptor = protobuf.INamespace;

/**
 * createProtobufCodec builds a codec for a discriminated union whose `type`
 * names a field of the `oneof body` in the envelope message `envelopeName`.
 * Each variant's other fields must match the fields of that message type.
 */
export function createProtobufCodec<M extends { readonly type: string }>(
  descriptor: ProtoDescriptor,
  envelopeName: string,
): MessageCodec<M> {
  const root = protobuf.Root.fromJSON(descriptor);
  const envelope = root.lookupType(envelopeName);
  const oneof = envelope.oneofs?.["body"];
  if (oneof === undefined) throw new Error(`${envelopeName} has no 'oneof body'`);
  const variants = new Set(oneof.oneof);
  for (const variant of variants) {
    // The union's discriminant is `type`: a field of that name would overwrite it on decode.
    const fields = envelope.fields[variant]?.resolve().resolvedType;
    if (fields instanceof protobuf.Type && fields.fields["type"] !== undefined) {
      throw new Error(`${envelopeName}: ${variant} has a field named 'type', which the codec uses as the discriminant`);
    }
  }
  const conversion: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true, arrays: true, oneofs: true };
  return {
    typeNames: [...variants],
    encode(message: M): Uint8Array {
      return envelope.encode({ [message.type]: message }).finish();
    },
    decode(bytes: Uint8Array): M {
      let decoded: protobuf.Message;
      try {
        decoded = envelope.decode(bytes);
      } catch (error) {
        throw new CorruptionError(`${envelopeName}: undecodable frame of ${bytes.length} bytes: ${(error as Error).message}`);
      }
      const object = envelope.toObject(decoded, conversion) as Record<string, unknown>;
      const type = object["body"];
      if (typeof type !== "string" || !variants.has(type)) {
        throw new CorruptionError(`${envelopeName}: frame carries no known message (body=${String(type)})`);
      }
      const body = envelope.fields[type]?.resolve().resolvedType;
      if (body instanceof protobuf.Type) {
        const unsafe = unsafeInteger(body, object[type], type);
        if (unsafe !== undefined) throw new CorruptionError(`${envelopeName}: ${unsafe}`);
      }
      return { type, ...(ownBytes(object[type]) as object) } as unknown as M;
    },
    typeName(message: M): string {
      return message.type;
    },
  };
}

/** longTypes are the protobuf scalar types that may carry integers above 2^53 - 1. */
const longTypes = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);

/**
 * unsafeInteger finds a 64-bit field of a decoded message whose value is not a
 * safe integer. protobufjs converts such a field to the nearest Number, so two
 * different values above 2^53 - 1 (two client session keys, say) would arrive
 * as one: the frame is refused instead, naming the field. It returns the
 * problem, or undefined.
 */
function unsafeInteger(type: protobuf.Type, value: unknown, path: string): string | undefined {
  if (value === null || typeof value !== "object" || !holdsLongs(type)) return undefined;
  const record = value as Record<string, unknown>;
  for (const field of type.fieldsArray) {
    const fieldValue = record[field.name];
    if (fieldValue === undefined || fieldValue === null) continue;
    const values = Array.isArray(fieldValue) ? fieldValue : [fieldValue];
    const resolved = field.resolve().resolvedType;
    for (const item of values) {
      const where = `${path}.${field.name}`;
      if (longTypes.has(field.type) && typeof item === "number" && !Number.isSafeInteger(item)) {
        return `${where} is ${item}, beyond the largest safe integer (2^53 - 1)`;
      }
      if (resolved instanceof protobuf.Type) {
        const nested = unsafeInteger(resolved, item, where);
        if (nested !== undefined) return nested;
      }
    }
  }
  return undefined;
}

const holdsLongsCache = new WeakMap<protobuf.Type, boolean>();

/** holdsLongs tells whether a message type has a 64-bit field, itself or in a nested message (so decoding skips the others). */
function holdsLongs(type: protobuf.Type, visiting: Set<protobuf.Type> = new Set()): boolean {
  const known = holdsLongsCache.get(type);
  if (known !== undefined) return known;
  if (visiting.has(type)) return false; // a recursive type: its other fields decide
  visiting.add(type);
  const result = type.fieldsArray.some((field) => {
    if (longTypes.has(field.type)) return true;
    const resolved = field.resolve().resolvedType;
    return resolved instanceof protobuf.Type && holdsLongs(resolved, visiting);
  });
  holdsLongsCache.set(type, result);
  return result;
}

/**
 * ownBytes replaces, in place, every bytes field of a decoded object with a
 * plain Uint8Array copy. protobufjs hands out Node Buffers that are views into
 * the frame: a replica that keeps a decoded command would alias (and pin) the
 * runtime's receive buffer, and Buffer's `slice` shares memory where
 * Uint8Array's copies.
 */
function ownBytes(value: unknown): unknown {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = ownBytes(value[i]);
    return value;
  }
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = ownBytes(record[key]);
  }
  return value;
}
