import type { History } from "@concord/core";
import type { KvCommand, KvResult } from "@concord/kv";
import type { RegisterInput, RegisterOutput } from "../models/register.ts";
import { kvOperation, registerOperation, toHistory } from "./adapters.ts";
import { readEdnEvents } from "./edn-history.ts";
import { pairEvents, type HistoryEvent } from "./events.ts";
import { readJsonlEvents } from "./jsonl-history.ts";

/** HistoryFormat names a history file format: Jepsen's EDN, or Concord's JSON lines. */
export type HistoryFormat = "edn" | "jsonl";

/**
 * detectFormat guesses a history file's format: by its extension (.edn,
 * .jsonl, .ndjson), else by its first line (a JSON object means JSON lines).
 */
export function detectFormat(text: string, fileName = ""): HistoryFormat {
  if (/\.edn$/i.test(fileName)) return "edn";
  if (/\.(jsonl|ndjson)$/i.test(fileName)) return "jsonl";
  const firstLine = text.split("\n").find((line) => line.trim() !== "" && !line.trim().startsWith(";"));
  if (firstLine === undefined) return "jsonl";
  try {
    const value: unknown = JSON.parse(firstLine);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? "jsonl" : "edn";
  } catch {
    return "edn";
  }
}

/** readHistoryEvents reads the events of a history file in `format`. Throws a HistoryParseError naming the line. */
export function readHistoryEvents(text: string, format: HistoryFormat): HistoryEvent[] {
  return format === "edn" ? readEdnEvents(text) : readJsonlEvents(text);
}

/** parseRegisterHistory reads a cas-register history (Jepsen EDN or JSON lines). Throws a HistoryParseError naming the line. */
export function parseRegisterHistory(text: string, format: HistoryFormat = detectFormat(text)): History<RegisterInput, RegisterOutput> {
  return toHistory(pairEvents(readHistoryEvents(text, format)), registerOperation);
}

/** parseKvHistory reads a key-value history (Jepsen EDN or JSON lines). Throws a HistoryParseError naming the line. */
export function parseKvHistory(text: string, format: HistoryFormat = detectFormat(text)): History<KvCommand, KvResult> {
  return toHistory(pairEvents(readHistoryEvents(text, format)), kvOperation);
}
