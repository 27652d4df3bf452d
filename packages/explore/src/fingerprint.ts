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
export function encodeCanonical(root: unknown, opaque: ReadonlySet<object> = emptySet, unordered = false): string {
  const parts: string[] = [];
  const seen = new Map<object, number>();
  write(root);
  return parts.join("");

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
      const entries = [...object].map((entry) => encodeCanonical(entry, opaque, true)).sort();
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
      write((object as Record<string, unknown>)[key]);
    }
    parts.push("}");
  }
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
