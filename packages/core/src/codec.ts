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
  /**
   * copy returns, for a message `decode` has just returned, what decoding the same bytes again would give,
   * sharing nothing a receiver may change with it, or undefined when it cannot tell (optional). The
   * simulator gives the other recipients of a broadcast such copies instead of decoding its frame for each.
   */
  copy?(decoded: M): M | undefined;
}

/**
 * protobufjs's generated decoder sets a message's oneof (its virtual `body`
 * property) after reading each member, and the setter it installs deletes
 * every other member from the message, whether the message holds it or not: a
 * `delete` of a property the object does not have is a runtime call, eleven
 * per Raft message: 7.5% of node --cpu-prof's samples of a simulated Raft run
 * (steady, n = 3, encoding on; issue 18). This setter deletes only the members
 * the message holds, which is the same effect (a `delete` of a property that
 * is not the object's own changes nothing), so every decoded message is what
 * it was. It is installed for every protobufjs type of the process: the
 * setter is taken when a type first builds its message constructor, on its
 * first decode, after this module has run (core is imported by every codec).
 */
protobuf.util.oneOfSetter = function setOneOf(fieldNames: string[]) {
  return function (this: Record<string, unknown>, name: string | undefined): void {
    for (let i = 0; i < fieldNames.length; i++) {
      const fieldName = fieldNames[i] as string;
      if (fieldName !== name && Object.prototype.hasOwnProperty.call(this, fieldName)) delete this[fieldName];
    }
  };
};

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
  // Each variant's message type, looked up once rather than on every decode.
  const bodyTypes = new Map<string, protobuf.Type>();
  for (const variant of variants) {
    const body = envelope.fields[variant]?.resolve().resolvedType;
    if (body instanceof protobuf.Type) bodyTypes.set(variant, body);
  }
  const conversion: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true, arrays: true, oneofs: true };
  // The oneof's members in field-number order, each with its plain converter (undefined: toObject's path).
  const members = [...oneof.fieldsArray]
    .sort((a, b) => a.id - b.id)
    .map((field) => {
      const body = bodyTypes.get(field.name);
      return { name: field.name, body, plain: body === undefined ? undefined : plainFields(body) };
    });
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
      // toObject names the last member set, by field number, and converts it: so does the plain path, alone.
      const fields = decoded as unknown as Record<string, unknown>;
      let member: (typeof members)[number] | undefined;
      for (const candidate of members) if (isSet(fields, candidate.name)) member = candidate;
      if (member?.plain !== undefined) {
        const plain: Record<string, unknown> = { type: member.name };
        convertPlain(member.plain, fields[member.name] as Record<string, unknown>, plain);
        const unsafe = unsafeInteger(member.body as protobuf.Type, plain, member.name);
        if (unsafe !== undefined) throw new CorruptionError(`${envelopeName}: ${unsafe}`);
        return plain as unknown as M;
      }
      const object = envelope.toObject(decoded, conversion) as Record<string, unknown>;
      const type = object["body"];
      if (typeof type !== "string" || !variants.has(type)) {
        throw new CorruptionError(`${envelopeName}: frame carries no known message (body=${String(type)})`);
      }
      const body = bodyTypes.get(type);
      if (body !== undefined) {
        const unsafe = unsafeInteger(body, object[type], type);
        if (unsafe !== undefined) throw new CorruptionError(`${envelopeName}: ${unsafe}`);
        return { type, ...(ownBytesOf(body, object[type]) as object) } as unknown as M;
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
  const found = unsafeIn(type, value);
  if (found === undefined) return undefined;
  return `${path}.${found.names.reverse().join(".")} is ${found.value}, beyond the largest safe integer (2^53 - 1)`;
}

/** An UnsafeFound is a 64-bit value beyond 2^53 - 1 and the field names leading to it, innermost first. */
interface UnsafeFound {
  readonly names: string[];
  readonly value: number;
}

/** A LongField is a field of a message type that unsafeIn must look at: a 64-bit one, or a message that holds one. */
interface LongField {
  readonly name: string;
  readonly long: boolean;
  readonly nested: protobuf.Type | undefined;
}

const longFieldsCache = new WeakMap<protobuf.Type, readonly LongField[]>();

/**
 * longFields lists, in declaration order, the fields of a type that
 * unsafeInteger looks at: those of a 64-bit type and those whose message type
 * holds one (the others can carry no unsafe integer). Worked out once a type.
 */
function longFields(type: protobuf.Type): readonly LongField[] {
  let known = longFieldsCache.get(type);
  if (known === undefined) {
    const fields: LongField[] = [];
    if (holdsLongs(type)) {
      for (const field of type.fieldsArray) {
        const resolved = field.resolve().resolvedType;
        const nested = resolved instanceof protobuf.Type && holdsLongs(resolved) ? resolved : undefined;
        const long = longTypes.has(field.type);
        if (long || nested !== undefined) fields.push({ name: field.name, long, nested });
      }
    }
    longFieldsCache.set(type, fields);
    known = fields;
  }
  return known;
}

/** unsafeIn walks a decoded value of a type for unsafeInteger, building no path unless it finds a problem. */
function unsafeIn(type: protobuf.Type, value: unknown): UnsafeFound | undefined {
  if (value === null || typeof value !== "object") return undefined;
  const fields = longFields(type);
  if (fields.length === 0) return undefined;
  const record = value as Record<string, unknown>;
  for (const field of fields) {
    const fieldValue = record[field.name];
    if (fieldValue === undefined || fieldValue === null) continue;
    if (Array.isArray(fieldValue)) {
      for (const item of fieldValue) {
        const found = unsafeItem(field, item);
        if (found !== undefined) return found;
      }
    } else {
      const found = unsafeItem(field, fieldValue);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function unsafeItem(field: LongField, item: unknown): UnsafeFound | undefined {
  if (field.long && typeof item === "number" && !Number.isSafeInteger(item)) return { names: [field.name], value: item };
  if (field.nested !== undefined) {
    const found = unsafeIn(field.nested, item);
    if (found !== undefined) {
      found.names.push(field.name);
      return found;
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

/** A BytesField is a field of a message type that ownBytesOf must look at: a bytes one, or a message that holds one. */
interface BytesField {
  readonly name: string;
  readonly nested: protobuf.Type | undefined;
}

const bytesFieldsCache = new WeakMap<protobuf.Type, readonly BytesField[] | null>();

/**
 * bytesFields lists the fields of a type that can hold a bytes value, itself
 * or nested, or null when the type has a map field (ownBytesOf then walks the
 * object as ownBytes does). Worked out once a type.
 */
function bytesFields(type: protobuf.Type, visiting: Set<protobuf.Type> = new Set()): readonly BytesField[] | null {
  const known = bytesFieldsCache.get(type);
  if (known !== undefined) return known;
  if (visiting.has(type)) return null; // a recursive type: walked generically
  visiting.add(type);
  let fields: BytesField[] | null = [];
  for (const field of type.fieldsArray) {
    if (field instanceof protobuf.MapField) {
      fields = null;
      break;
    }
    if (field.type === "bytes") {
      fields.push({ name: field.name, nested: undefined });
      continue;
    }
    const resolved = field.resolve().resolvedType;
    if (!(resolved instanceof protobuf.Type)) continue;
    const nested = bytesFields(resolved, visiting);
    if (nested === null) {
      fields = null;
      break;
    }
    if (nested.length > 0) fields.push({ name: field.name, nested: resolved });
  }
  visiting.delete(type);
  bytesFieldsCache.set(type, fields);
  return fields;
}

/**
 * ownBytesOf does what {@link ownBytes} does to a decoded value of a known
 * message type, visiting only the fields that can hold bytes.
 */
function ownBytesOf(type: protobuf.Type, value: unknown): unknown {
  if (value === null || typeof value !== "object" || value instanceof Uint8Array || Array.isArray(value)) return ownBytes(value);
  const fields = bytesFields(type);
  if (fields === null) return ownBytes(value);
  const record = value as Record<string, unknown>;
  for (const field of fields) {
    const fieldValue = record[field.name];
    if (fieldValue === undefined) continue;
    if (Array.isArray(fieldValue)) {
      for (let i = 0; i < fieldValue.length; i++) fieldValue[i] = ownField(field, fieldValue[i]);
    } else {
      record[field.name] = ownField(field, fieldValue);
    }
  }
  return value;
}

function ownField(field: BytesField, value: unknown): unknown {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  return field.nested === undefined ? value : ownBytesOf(field.nested, value);
}

/** isSet tells whether a decoded message has a field set, as toObject asks: an own property, not null. */
function isSet(message: Record<string, unknown>, name: string): boolean {
  const value = message[name];
  return value !== undefined && value !== null && Object.prototype.hasOwnProperty.call(message, name);
}

/**
 * A PlainField is how {@link convertPlain} makes one field of a decoded
 * message: `absent` is toObject's default for it (with defaults on), a
 * `nested` field holds messages, a `bytes` one is copied into a plain
 * Uint8Array (as ownBytes then did).
 */
interface PlainField {
  readonly name: string;
  readonly repeated: boolean;
  readonly bytes: boolean;
  readonly nested: readonly PlainField[] | undefined;
  /** long: a 64-bit field, which the decoder hands out as a Long where a Long library is loaded; unsigned: uint64 or fixed64. */
  readonly long: boolean;
  readonly unsigned: boolean;
  readonly absent: unknown;
}

const plainFieldsCache = new WeakMap<protobuf.Type, readonly PlainField[] | null>();

/** plainScalarTypes are the scalar types whose decoded value toObject (longs as Number) hands over as it is, or as a Number for a Long. */
const plainScalarTypes = new Set(["int32", "uint32", "sint32", "fixed32", "sfixed32", "bool", "string", "bytes", ...longTypes]);

/**
 * plainFields lists, once per type, the fields {@link convertPlain} makes, in
 * the order toObject adds their keys (repeated fields, then the others, each
 * by field number), with toObject's own defaults for them (read from its
 * conversion of an empty message). It returns undefined for a type it does
 * not reproduce toObject on (a map, an enum, a oneof, a float or double, a
 * recursive type): such a type keeps toObject's path.
 */
function plainFields(type: protobuf.Type, visiting: Set<protobuf.Type> = new Set()): readonly PlainField[] | undefined {
  const known = plainFieldsCache.get(type);
  if (known !== undefined) return known ?? undefined;
  if (visiting.has(type)) return undefined;
  visiting.add(type);
  const defaults = type.toObject(type.decode(new Uint8Array(0)), { longs: Number, enums: String, defaults: true, arrays: true, oneofs: true }) as Record<string, unknown>;
  const repeated: PlainField[] = [];
  const single: PlainField[] = [];
  let supported = true;
  for (const field of [...type.fieldsArray].sort((a, b) => a.id - b.id)) {
    field.resolve();
    if (field.map || field.partOf !== null || !(field.name in defaults)) {
      supported = false;
      break;
    }
    let nested: readonly PlainField[] | undefined;
    if (field.resolvedType instanceof protobuf.Type) {
      nested = plainFields(field.resolvedType, visiting);
      if (nested === undefined) {
        supported = false;
        break;
      }
    } else if (field.resolvedType !== null || !plainScalarTypes.has(field.type)) {
      supported = false;
      break;
    }
    const plain: PlainField = {
      name: field.name,
      repeated: field.repeated,
      bytes: field.type === "bytes",
      nested,
      long: longTypes.has(field.type),
      unsigned: field.type === "uint64" || field.type === "fixed64",
      absent: field.repeated ? undefined : defaults[field.name],
    };
    (field.repeated ? repeated : single).push(plain);
  }
  visiting.delete(type);
  const fields = supported ? [...repeated, ...single] : null;
  plainFieldsCache.set(type, fields);
  return fields ?? undefined;
}

/**
 * convertPlain writes into `out` what toObject (longs as Number, enums as
 * String, defaults, arrays and oneofs on) followed by ownBytes made of a
 * decoded message, without toObject's intermediate object or its empty
 * Buffer for each absent bytes field: every bytes value is a plain
 * Uint8Array copy, no view of the frame.
 */
function convertPlain(fields: readonly PlainField[], message: Record<string, unknown>, out: Record<string, unknown>): Record<string, unknown> {
  for (const field of fields) {
    const value = message[field.name];
    if (field.repeated) {
      const items = value as readonly unknown[] | undefined | null;
      if (items === undefined || items === null || items.length === 0) {
        out[field.name] = [];
        continue;
      }
      const converted = new Array<unknown>(items.length);
      for (let i = 0; i < items.length; i++) converted[i] = plainValue(field, items[i]);
      out[field.name] = converted;
    } else if (value !== undefined && value !== null && Object.prototype.hasOwnProperty.call(message, field.name)) {
      out[field.name] = plainValue(field, value);
    } else {
      out[field.name] = field.bytes ? new Uint8Array(0) : field.absent;
    }
  }
  return out;
}

function plainValue(field: PlainField, value: unknown): unknown {
  if (field.nested !== undefined) return convertPlain(field.nested, value as Record<string, unknown>, {});
  if (field.bytes) return new Uint8Array(value as Uint8Array);
  if (field.long && typeof value !== "number") return longToNumber(value as { readonly low: number; readonly high: number }, field.unsigned);
  return value;
}

/** longToNumber is toObject's Number of a Long (util.LongBits's toNumber): the nearest Number, as for any 64-bit value. */
function longToNumber(long: { readonly low: number; readonly high: number }, unsigned: boolean): number {
  const low = long.low >>> 0;
  const high = long.high >>> 0;
  if (unsigned) return low + high * 4294967296;
  return new protobuf.util.LongBits(low, high).toNumber(false);
}
