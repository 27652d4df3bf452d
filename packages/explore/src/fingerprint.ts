import { createHash } from "node:crypto";

/**
 * encodeCanonical writes an object graph as a string that two graphs share
 * exactly when they hold the same state: the model checker's state identity.
 *
 * How: a walk in a fixed order. Primitives are written with their type;
 * class instances with their constructor's name and every own property in
 * the order the class declares it (the same class always declares the same
 * order); arrays, Maps and Sets in their order (insertion order is
 * observable behaviour: a protocol that iterates a Map may act differently
 * on two orders, so two orders are two states); typed arrays as hex; an
 * object reached a second time as a back-reference to its first visit (so
 * sharing and cycles are part of the state, and the walk ends). Functions
 * and `opaque` objects (codecs, options, routers: the same in every state)
 * are written as a mark. WeakMaps and WeakSets cannot be read and are
 * written as a mark: cloneGraph empties them, so no state depends on them
 * across actions.
 *
 * Plain objects (no class) have their keys sorted, since their order comes
 * from whoever built them (a decoded message, an options bag), not from a
 * class.
 *
 * `unordered` writes every Map and Set as the sorted list of its entries'
 * own encodings (each entry walked on its own, so sharing between entries
 * is not recorded): for objects whose collections are sets in meaning,
 * where the order of insertion tells only the order of events that did not
 * depend on each other (the monitors, under the partial-order reduction).
 */
export function encodeCanonical(root: unknown, opaque: ReadonlySet<object> = emptySet, unordered = false, rename?: Renaming): string {
  const parts: string[] = [];
  const seen = new Map<object, number>();
  write(root);
  return parts.join("");

  /** writeField writes the value of a property that `rename` says holds node ids (see Renaming). */
  function writeField(renaming: Renaming, kind: IdField, field: string, value: unknown): void {
    switch (kind) {
      case "id": {
        if (value === undefined || value === null) return write(value);
        if (typeof value === "number") return write(renaming.node(value));
        if (value instanceof Map) return writeField(renaming, "keys", field, value);
        const list = Array.isArray(value) ? value : value instanceof Set ? [...(value as Set<unknown>)] : undefined;
        if (list === undefined || list.some((entry) => typeof entry !== "number")) throw new Error(`symmetry: field "${field}" was to hold node ids, and holds ${describe(value)}`);
        parts.push(Array.isArray(value) ? "I" : "J");
        for (const id of (list as number[]).map(renaming.node).sort((a, b) => a - b)) write(id);
        parts.push("]");
        return;
      }
      case "text": {
        if (typeof value === "string") return write(renaming.text(field, value));
        const list = Array.isArray(value) ? value : value instanceof Set ? [...(value as Set<unknown>)] : undefined;
        if (list === undefined || list.some((entry) => typeof entry !== "string")) throw new Error(`symmetry: field "${field}" was to hold text naming node ids, and holds ${describe(value)}`);
        parts.push("K");
        for (const text of (list as string[]).map((entry) => renaming.text(field, entry)).sort()) write(text);
        parts.push("]");
        return;
      }
      case "keys":
      case "values": {
        if (value === undefined || value === null) return write(value);
        if (!(value instanceof Map)) throw new Error(`symmetry: field "${field}" was to hold a Map of node ids, and holds ${describe(value)}`);
        const entries = [...(value as Map<unknown, unknown>)];
        if (kind === "keys") {
          if (entries.some(([key]) => typeof key !== "number")) throw new Error(`symmetry: Map "${field}" was to be keyed by node ids`);
          const renamed = entries.map(([key, entry]) => [renaming.node(key as number), entry] as const).sort((a, b) => a[0] - b[0]);
          parts.push("P");
          for (const [key, entry] of renamed) {
            write(key);
            write(entry);
          }
        } else {
          parts.push("Q");
          for (const [key, entry] of entries) {
            write(key);
            writeField(renaming, "id", field, entry);
          }
        }
        parts.push("]");
        return;
      }
    }
  }

  function write(value: unknown): void {
    switch (typeof value) {
      case "undefined":
        parts.push("u");
        return;
      case "boolean":
        parts.push(value ? "T" : "F");
        return;
      case "number":
        parts.push("n", String(value), ";");
        return;
      case "bigint":
        parts.push("b", value.toString(), ";");
        return;
      case "string":
        parts.push("s", String(value.length), ":", value);
        return;
      case "function":
        parts.push("f");
        return;
      case "symbol":
        parts.push("y");
        return;
    }
    if (value === null) {
      parts.push("N");
      return;
    }
    const object = value as object;
    if (opaque.has(object)) {
      parts.push("o");
      return;
    }
    const at = seen.get(object);
    if (at !== undefined) {
      parts.push("@", String(at), ";");
      return;
    }
    seen.set(object, seen.size);
    if (Array.isArray(object)) {
      parts.push("[");
      for (const entry of object) write(entry);
      parts.push("]");
      return;
    }
    if (ArrayBuffer.isView(object)) {
      const bytes = new Uint8Array(object.buffer, object.byteOffset, object.byteLength);
      parts.push("x", object.constructor.name, ":", Buffer.from(bytes).toString("hex"), ";");
      return;
    }
    if (unordered && (object instanceof Map || object instanceof Set)) {
      const entries = [...object].map((entry) => encodeCanonical(entry, opaque, true, rename)).sort();
      parts.push(object instanceof Map ? "m" : "s", String(entries.length), ":", ...entries, "]");
      return;
    }
    if (object instanceof Map) {
      parts.push("M");
      for (const [key, entry] of object) {
        write(key);
        write(entry);
      }
      parts.push("]");
      return;
    }
    if (object instanceof Set) {
      parts.push("S");
      for (const entry of object) write(entry);
      parts.push("]");
      return;
    }
    if (object instanceof WeakMap || object instanceof WeakSet) {
      parts.push("w");
      return;
    }
    const prototype = Object.getPrototypeOf(object) as object | null;
    const plain = prototype === Object.prototype || prototype === null;
    const keys = Object.keys(object);
    if (plain) keys.sort();
    parts.push("{", plain ? "" : (object.constructor?.name ?? "?"), ":");
    for (const key of keys) {
      parts.push(key, "=");
      const kind = rename?.fields.get(key);
      if (kind === undefined || rename?.placeholder?.(key, object) === true) write((object as Record<string, unknown>)[key]);
      else writeField(rename as Renaming, kind, key, (object as Record<string, unknown>)[key]);
    }
    parts.push("}");
  }
}

/**
 * IdField says how a property's value holds node ids, for a Renaming: `id` a
 * node id, or an array or Set of them (written sorted: the protocols keep
 * them as sets, in id order), or a Map keyed by them (as `keys`); `keys` a Map keyed by node id (written in the
 * renamed keys' order); `values` a Map whose values are node ids; `text` a
 * string, or an array or Set of strings, that names node ids (renamed by
 * `Renaming.text`, a Set or array written sorted).
 */
export type IdField = "id" | "keys" | "values" | "text";

/**
 * Renaming makes encodeCanonical write a state as it would be with its
 * replicas' ids permuted (symmetry.ts): each property named in `fields`
 * holds node ids as its IdField says, and `node` maps one (numbers that are
 * no replica's id, a client's, pass unchanged). Every other property is
 * written as it is. A property named here that holds anything else throws;
 * a property that holds node ids and is not named here is written
 * unrenamed, which can merge two states that are not renamings of each
 * other (unsound): the orbit test of symmetry.test.ts compares the reduced
 * search with the full one state class for state class to find that.
 */
export interface Renaming {
  readonly node: (id: number) => number;
  readonly fields: ReadonlyMap<string, IdField>;
  readonly text: (field: string, value: string) => string;
  /** placeholder tells whether `holder`'s field, named in `fields`, holds no node's id here (a zero ballot's owner): it is written as it is. */
  readonly placeholder?: (field: string, holder: object) => boolean;
}

function describe(value: unknown): string {
  if (value === null || typeof value !== "object") return typeof value;
  return (value as object).constructor?.name ?? "an object";
}

/**
 * fingerprint hashes a canonical encoding to 128 bits (SHA-256, truncated),
 * the key of the checker's visited set. Two different states share a
 * fingerprint with probability about 2^-128 per pair: at 10^8 states, about
 * 10^-23 for the whole search.
 */
export function fingerprint(encoding: string): string {
  return createHash("sha256").update(encoding).digest("base64").slice(0, 22);
}

const emptySet: ReadonlySet<object> = new Set();
