/**
 * cloneGraph copies an object graph so that the copy and the original can
 * run on independently: the model checker forks a whole world (replicas,
 * clients, disks, network, monitors) at every state it expands.
 *
 * What it copies, and how:
 * - class instances keep their prototype (`Object.create`) and every own
 *   property, so methods keep working on the copy;
 * - arrays, Maps and Sets keep their order (a protocol may iterate them, so
 *   insertion order is behaviour, not noise); typed arrays are copied;
 * - sharing and cycles are kept: an object reached twice is copied once;
 * - functions are kept by reference: a replica's own state must not live in
 *   a closure (none of Concord's do; a closure field that captured `this`
 *   would still point at the original after the copy);
 * - a WeakMap or WeakSet is copied empty: its entries are keyed by objects
 *   of the original graph, which the copy never sees; Concord's replicas and
 *   monitors use them only as caches or within one Ready, never across the
 *   boundary of an action;
 * - `shared` objects are kept by reference (an algorithm's codec, the
 *   options, the router that takes a host's outgoing messages).
 *
 * Invariant: no object of the copy other than `shared` ones and functions
 * is reachable from the original.
 */
export function cloneGraph<T>(root: T, shared: ReadonlySet<object> = emptySet): T {
  const copies = new Map<object, unknown>();
  return copy(root) as T;

  function copy(value: unknown): unknown {
    if (typeof value !== "object" || value === null) return value;
    if (shared.has(value)) return value;
    const known = copies.get(value);
    if (known !== undefined) return known;
    if (Array.isArray(value)) {
      const out: unknown[] = new Array(value.length);
      copies.set(value, out);
      for (let i = 0; i < value.length; i++) out[i] = copy(value[i]);
      return out;
    }
    if (ArrayBuffer.isView(value)) {
      const out = (value as unknown as { slice(): unknown }).slice();
      copies.set(value, out);
      return out;
    }
    if (value instanceof Map) {
      const out = new Map();
      copies.set(value, out);
      for (const [key, entry] of value) out.set(copy(key), copy(entry));
      return out;
    }
    if (value instanceof Set) {
      const out = new Set();
      copies.set(value, out);
      for (const entry of value) out.add(copy(entry));
      return out;
    }
    if (value instanceof WeakMap) {
      const out = new WeakMap();
      copies.set(value, out);
      return out;
    }
    if (value instanceof WeakSet) {
      const out = new WeakSet();
      copies.set(value, out);
      return out;
    }
    if (value instanceof ArrayBuffer) {
      const out = value.slice(0);
      copies.set(value, out);
      return out;
    }
    const out = Object.create(Object.getPrototypeOf(value) as object | null) as Record<string, unknown>;
    copies.set(value, out);
    for (const key of Object.keys(value)) out[key] = copy((value as Record<string, unknown>)[key]);
    return out;
  }
}

const emptySet: ReadonlySet<object> = new Set();
