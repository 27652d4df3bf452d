import { randomInt } from "node:crypto";
import { performance } from "node:perf_hooks";
import { CorruptionError, type History, type HistoryOperation, type KvSemantics, type NodeId, type Outcome, type ReadLevel, createRng } from "@concord/core";
import { type KvCommand, type KvResult, decodeResult, encodeCommand, isReadOnly } from "@concord/kv";
import { OperationGenerator, type Workload, workloadSchema, semanticsWorkload } from "@concord/sim";
import { summarizeKvHistory } from "@concord/check";
import type { ClientHost } from "@concord/net";
import { checkRunStepsMax, checkRunWallClockLimitMs } from "../check-run.ts";

/** LoadSetup says what load to put on a running cluster. */
export interface LoadSetup {
  readonly clients: number;
  readonly seconds: number;
  /** ratePerSec makes the load open-loop: arrivals at this rate, served by the first idle client; absent, each client is closed-loop. */
  readonly ratePerSec?: number;
  readonly keys?: number;
  readonly valueBytes?: number;
  /** mix weighs the KV operations; the store's default mix when absent. */
  readonly mix?: Workload["mix"];
  readonly semantics: KvSemantics;
  /** seed draws the operations; a fresh one when absent. */
  readonly seed?: number;
  /**
   * finalReads: after the load, read every key the run wrote once more (on a
   * fresh client, retried until one answers or `finalReadTimeoutMs` passes),
   * so that an acknowledged write the cluster lost shows in the history as a
   * read the checker cannot explain. Default true.
   */
  readonly finalReads?: boolean;
  readonly finalReadTimeoutMs?: number;
  /** readLevel is what the load's reads ask for (`linearizable` when absent); the final reads always ask for `linearizable`, since they look for lost writes. */
  readonly readLevel?: ReadLevel;
  /** originMs is the performance.now() reading the history's times count from (say, a nemesis's schedule's origin); the load's start when absent. */
  readonly originMs?: number;
  /** beforeFinalReads is awaited after the load and before the final reads (a nemesis heals the cluster there). */
  readonly beforeFinalReads?: () => Promise<void>;
  /** onProgress is called about once a second with what finished so far. */
  readonly onProgress?: (progress: LoadProgress) => void;
}

/** LoadProgress is a load run's tally so far. */
export interface LoadProgress {
  readonly elapsedMs: number;
  readonly completed: number;
  readonly failed: number;
  readonly indeterminate: number;
}

/** LoadReport is what `concord load --json` prints. */
export interface LoadReport {
  readonly clients: number;
  readonly seconds: number;
  readonly mode: "closed" | "open";
  readonly ops: { readonly completed: number; readonly failed: number; readonly indeterminate: number };
  readonly throughputOpsPerSec: number;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number };
  readonly linearizable: boolean | null;
  /** finalReads counts the reads of every key after the load (tries included), which the figures above leave out. */
  readonly finalReads: number;
  readonly check: string;
  /** keyPrefix is what this run's keys start with: fresh keys per run, so that the history is judged from an empty store. */
  readonly keyPrefix: string;
  readonly history: History<KvCommand, KvResult>;
}

/**
 * LoadTarget is what runLoad drives: a cluster's ClientHost, or any client
 * that takes the same encoded KV commands and answers with the same outcomes
 * (the bench's etcd adapter), so that every system is loaded by one driver
 * and judged by one checker.
 */
export type LoadTarget = Pick<ClientHost<unknown>, "newClient" | "submit">;

type MutableOperation = { -readonly [K in keyof HistoryOperation<KvCommand, KvResult>]: HistoryOperation<KvCommand, KvResult>[K] };

/**
 * runLoad puts KV load on a running cluster through `host`'s clients for
 * `seconds`, records every operation as a history (invocation and
 * completion times in microseconds since the start), and checks it for
 * linearizability against the algorithm's model.
 *
 * The keys are prefixed with a fresh run id, so the history starts from an
 * empty store however much the cluster already holds. An operation whose
 * client gave up is `info` (indeterminate): it may have taken effect, and the
 * checker allows for both.
 */
export async function runLoad(host: LoadTarget, setup: LoadSetup): Promise<LoadReport> {
  const seed = setup.seed ?? randomInt(0, 2 ** 31);
  const baseMix = setup.mix ?? workloadSchema.parse({}).mix;
  const workload = semanticsWorkload(workloadSchema.parse({ clients: setup.clients, keys: setup.keys ?? 8, valueBytes: setup.valueBytes ?? 8, mix: baseMix }), setup.semantics);
  const generator = new OperationGenerator(workload, createRng(seed));
  const keyPrefix = `load-${seed.toString(36)}-`;
  const clientIds: NodeId[] = Array.from({ length: setup.clients }, () => host.newClient());
  const history: MutableOperation[] = [];
  const latenciesUs: number[] = [];
  const tally = { completed: 0, failed: 0, indeterminate: 0 };
  const startMs = performance.now();
  const deadlineMs = startMs + setup.seconds * 1000;
  const originMs = setup.originMs ?? startMs;
  const nowUs = (): number => Math.round((performance.now() - originMs) * 1000);

  const runOne = async (clientIndex: number): Promise<void> => {
    const drawn = generator.next(clientIndex);
    const command: KvCommand = { ...drawn, key: keyPrefix + drawn.key };
    const operation: MutableOperation = { id: history.length, clientId: clientIds[clientIndex] as NodeId, input: command, invokeUs: nowUs(), completeUs: undefined, status: "info", output: undefined };
    history.push(operation);
    const readOnly = isReadOnly(command);
    const outcome: Outcome = await (readOnly && setup.readLevel !== undefined ? host.submit(clientIds[clientIndex] as NodeId, encodeCommand(command), true, setup.readLevel) : host.submit(clientIds[clientIndex] as NodeId, encodeCommand(command), readOnly));
    const completeUs = nowUs();
    switch (outcome.kind) {
      case "ok": {
        const result = decodeClientResult(outcome.result);
        operation.status = "ok";
        operation.output = result;
        operation.completeUs = completeUs;
        tally.completed++;
        latenciesUs.push(completeUs - operation.invokeUs);
        if (result.type === "get") generator.observe(clientIndex, drawn.key, result.value);
        break;
      }
      case "failed":
        // It certainly did not take effect: the checker may leave it out.
        operation.status = "fail";
        operation.completeUs = completeUs;
        tally.failed++;
        await backOff();
        break;
      case "indeterminate":
        tally.indeterminate++;
        await backOff();
        break;
    }
  };

  const progressTimer = setup.onProgress === undefined ? undefined : setInterval(() => setup.onProgress?.({ elapsedMs: performance.now() - startMs, ...tally }), 1000);
  try {
    if (setup.ratePerSec === undefined) {
      await Promise.all(
        clientIds.map(async (_id, index) => {
          while (performance.now() < deadlineMs) await runOne(index);
        }),
      );
    } else {
      await openLoop(setup.ratePerSec, setup.clients, deadlineMs, runOne, () => tally.failed++);
    }
  } finally {
    if (progressTimer !== undefined) clearInterval(progressTimer);
  }
  const elapsedSec = (performance.now() - startMs) / 1000;
  const loadOperations = history.length;
  await setup.beforeFinalReads?.();
  if (setup.finalReads !== false) await readEveryKey(host, history, nowUs, setup.finalReadTimeoutMs ?? 30_000);
  const verdict = summarizeKvHistory(history, { stepsMax: checkRunStepsMax, wallClockLimitMs: checkRunWallClockLimitMs }, setup.semantics);
  return {
    clients: setup.clients,
    seconds: setup.seconds,
    mode: setup.ratePerSec === undefined ? "closed" : "open",
    ops: { ...tally },
    throughputOpsPerSec: Math.round(tally.completed / elapsedSec),
    latencyMs: latencySummaryMs(latenciesUs),
    linearizable: verdict.linearizable,
    finalReads: history.length - loadOperations,
    check: verdict.summary,
    keyPrefix,
    history,
  };
}

/** failureBackOffMs is how long a client waits after an answer that is not ok before its next operation. */
const failureBackOffMs = 10;

/**
 * backOff waits a little after a refusal or a give-up: a target that refuses
 * at once (a closed client, a cluster without a leader answering in the same
 * turn) would otherwise spin the closed loop without yielding, starving the
 * event loop and growing the history without bound.
 */
function backOff(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, failureBackOffMs));
}

/**
 * readEveryKey reads each key the history touched, in turn, on a fresh
 * client, retrying a read that failed or went unanswered (a read changes
 * nothing, so a retry is always safe) until `timeoutMs` runs out. Each try is
 * recorded; its latency is not counted in the load's figures.
 */
async function readEveryKey(host: LoadTarget, history: MutableOperation[], nowUs: () => number, timeoutMs: number): Promise<void> {
  const keys = [...new Set(history.map((operation) => operation.input.key))].sort();
  const reader = host.newClient();
  const deadline = performance.now() + timeoutMs;
  for (const key of keys) {
    while (performance.now() < deadline) {
      const command: KvCommand = { type: "get", key };
      const operation: MutableOperation = { id: history.length, clientId: reader, input: command, invokeUs: nowUs(), completeUs: undefined, status: "info", output: undefined };
      history.push(operation);
      const outcome = await host.submit(reader, encodeCommand(command), true);
      if (outcome.kind === "ok") {
        operation.status = "ok";
        operation.output = decodeClientResult(outcome.result);
        operation.completeUs = nowUs();
        break;
      }
      if (outcome.kind === "failed") {
        operation.status = "fail";
        operation.completeUs = nowUs();
      }
      await backOff();
    }
  }
}

/**
 * openLoop starts operations at `ratePerSec` regardless of how fast they
 * finish, each on the first idle client; an arrival that finds every client
 * busy is refused and counted failed (never started), as a bounded queue of
 * zero would, so that the offered load stays what was asked.
 */
async function openLoop(ratePerSec: number, clients: number, deadlineMs: number, runOne: (clientIndex: number) => Promise<void>, refuse: () => void): Promise<void> {
  const idle = Array.from({ length: clients }, (_unused, index) => index);
  const running = new Set<Promise<void>>();
  const startMs = performance.now();
  let started = 0;
  while (performance.now() < deadlineMs) {
    const dueMs = startMs + (started * 1000) / ratePerSec;
    const waitMs = dueMs - performance.now();
    if (waitMs > 1) await new Promise((resolve) => setTimeout(resolve, waitMs));
    started++;
    const client = idle.pop();
    if (client === undefined) {
      refuse();
      continue;
    }
    const run: Promise<void> = runOne(client).then(() => {
      idle.push(client);
      running.delete(run);
    });
    running.add(run);
  }
  await Promise.all(running);
}

/** latencySummaryMs gives the percentiles of completed operations' latencies, in milliseconds to 0.01. */
export function latencySummaryMs(latenciesUs: readonly number[]): LoadReport["latencyMs"] {
  if (latenciesUs.length === 0) return { p50: 0, p95: 0, p99: 0, max: 0 };
  const sorted = [...latenciesUs].sort((a, b) => a - b);
  const at = (q: number): number => Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number) / 10) / 100;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: Math.round((sorted[sorted.length - 1] as number) / 10) / 100 };
}

/** decodeClientResult decodes a result a client accepted; bytes that are no result are recorded as `invalid`, for the checker to judge. */
function decodeClientResult(bytes: Uint8Array): KvResult {
  try {
    return decodeResult(bytes);
  } catch (error) {
    if (error instanceof CorruptionError) return { type: "invalid", reason: `the client accepted an undecodable result (${error.message})` };
    throw error;
  }
}
