import type { KvSemantics, Rng } from "@concord/core";
import type { KvCommand, KvOperationType } from "@concord/kv";
import type { Workload } from "./scenario.ts";

/**
 * KeyChooser draws keys uniformly or from a Zipfian distribution (Gray et
 * al.'s method, as YCSB uses), from the workload's own seeded stream.
 */
export class KeyChooser {
  private readonly cumulative: Float64Array | undefined;

  constructor(
    private readonly keys: number,
    distribution: Workload["distribution"],
    exponent: number,
  ) {
    if (distribution === "zipfian") {
      this.cumulative = new Float64Array(keys);
      let total = 0;
      for (let rank = 1; rank <= keys; rank++) {
        total += 1 / Math.pow(rank, exponent);
        this.cumulative[rank - 1] = total;
      }
      for (let i = 0; i < keys; i++) this.cumulative[i] = (this.cumulative[i] as number) / total;
    }
  }

  /** next returns a key index in [0, keys). */
  next(rng: Rng): number {
    if (this.cumulative === undefined) return rng.nextInt(this.keys);
    const u = rng.nextUint32() / 0x1_0000_0000;
    let low = 0;
    let high = this.keys - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((this.cumulative[middle] as number) < u) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

/** keyName is the KV key of key index `index`. */
export function keyName(index: number): string {
  return `k${index}`;
}

const encoder = new TextEncoder();

/**
 * writeOnceMix is a mix for a write-once register per key (an algorithm whose
 * `kvSemantics` is `write-once`): its gets and puts, the other operations'
 * weight given to put, so that a mix of writes stays a mix of writes.
 */
export function writeOnceMix(mix: Workload["mix"]): Workload["mix"] {
  return { get: mix.get, put: mix.put + mix.append + mix.cas + mix.delete, append: 0, cas: 0, delete: 0 };
}

/**
 * registersMix is a mix for registers per key (an algorithm whose `kvSemantics` is `registers`, the leaderless
 * stores): gets, puts and deletes, the weight of cas and append given to put.
 */
export function registersMix(mix: Workload["mix"]): Workload["mix"] {
  return { get: mix.get, put: mix.put + mix.append + mix.cas, append: 0, cas: 0, delete: mix.delete };
}

/** semanticsWorkload narrows a workload's mix to the operations an algorithm's `kvSemantics` offers. */
export function semanticsWorkload(workload: Workload, semantics: KvSemantics): Workload {
  switch (semantics) {
    case "kv":
      return workload;
    case "write-once":
      return { ...workload, mix: writeOnceMix(workload.mix) };
    case "registers":
      return { ...workload, mix: registersMix(workload.mix) };
  }
}

/**
 * OperationGenerator draws KV operations from a workload's mix. Written values
 * are unique per (client, op), which lets the checker tell writes apart; a
 * compare-and-set expects the last value its client saw for the key. With
 * `readersAndWriters` the first half of the clients (rounded up; the half a
 * "split" partition puts with the isolated replicas) only read, and the rest
 * draw only the mix's writes.
 */
export class OperationGenerator {
  private readonly chooser: KeyChooser;
  private readonly weights: readonly [KvOperationType, number][];
  private readonly totalWeight: number;
  /** writeWeights are the mix without reads, for writer clients (a mix of reads alone leaves them the whole mix). */
  private readonly writeWeights: readonly [KvOperationType, number][];
  private readonly writeTotalWeight: number;
  /** readerClients is how many of the first clients only read (0: every client draws the whole mix). */
  private readonly readerClients: number;
  private readonly lastSeen = new Map<string, Uint8Array | undefined>();
  private counter = 0;

  constructor(
    private readonly workload: Workload,
    private readonly rng: Rng,
    readersAndWriters = false,
  ) {
    this.chooser = new KeyChooser(workload.keys, workload.distribution, workload.zipfExponent);
    const mix = workload.mix;
    // Weights are scaled to integers so that the draw uses the integer Rng only.
    this.weights = (["get", "put", "append", "cas", "delete"] as const).map((type) => [type, Math.round(mix[type] * 1000)] as [KvOperationType, number]);
    this.totalWeight = this.weights.reduce((sum, [, weight]) => sum + weight, 0);
    const writes = this.weights.filter(([type]) => type !== "get");
    const writeWeight = writes.reduce((sum, [, weight]) => sum + weight, 0);
    this.writeWeights = writeWeight > 0 ? writes : this.weights;
    this.writeTotalWeight = writeWeight > 0 ? writeWeight : this.totalWeight;
    // A lone client cannot be split: it keeps the whole mix.
    this.readerClients = readersAndWriters && workload.clients >= 2 ? Math.ceil(workload.clients / 2) : 0;
  }

  /** next draws the next operation for client number `clientIndex`. */
  next(clientIndex: number): KvCommand {
    const key = keyName(this.chooser.next(this.rng));
    const type = this.readerClients === 0 ? this.drawType(this.weights, this.totalWeight) : this.drawRoleType(clientIndex);
    switch (type) {
      case "get":
        return { type, key };
      case "delete":
        return { type, key };
      case "put":
      case "append":
        return { type, key, value: this.freshValue(clientIndex) };
      case "cas":
        return { type, key, expected: this.lastSeen.get(`${clientIndex}:${key}`), value: this.freshValue(clientIndex) };
    }
  }

  /** observe remembers what a client last saw for a key, to aim its next compare-and-set. */
  observe(clientIndex: number, key: string, value: Uint8Array | undefined): void {
    this.lastSeen.set(`${clientIndex}:${key}`, value);
  }

  /** drawRoleType: a reader reads; a writer draws one of the mix's writes. */
  private drawRoleType(clientIndex: number): KvOperationType {
    return clientIndex < this.readerClients ? "get" : this.drawType(this.writeWeights, this.writeTotalWeight);
  }

  private drawType(weights: readonly [KvOperationType, number][], totalWeight: number): KvOperationType {
    let draw = this.rng.nextInt(totalWeight);
    for (const [type, weight] of weights) {
      if (draw < weight) return type;
      draw -= weight;
    }
    return "get";
  }

  private freshValue(clientIndex: number): Uint8Array {
    this.counter++;
    const text = `${clientIndex}.${this.counter}`;
    const padded = text.length >= this.workload.valueBytes ? text : text.padEnd(this.workload.valueBytes, "_");
    return encoder.encode(padded);
  }
}
