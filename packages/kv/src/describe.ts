import type { KvCommand, KvResult } from "./operations.ts";

const decoder = new TextDecoder("utf-8", { fatal: false });

function show(value: Uint8Array | undefined): string {
  return value === undefined ? "nil" : JSON.stringify(decoder.decode(value));
}

/** describeCommand renders a command for people: `put x "1"`, `cas x "1"->"2"`. */
export function describeCommand(command: KvCommand): string {
  switch (command.type) {
    case "get":
    case "delete":
      return `${command.type} ${command.key}`;
    case "put":
    case "append":
      return `${command.type} ${command.key} ${show(command.value)}`;
    case "cas":
      return `cas ${command.key} ${show(command.expected)}->${show(command.value)}`;
  }
}

/** describeResult renders a result for people. */
export function describeResult(result: KvResult): string {
  switch (result.type) {
    case "get":
      return show(result.value);
    case "put":
      return result.value === undefined ? "ok" : `ok, holds ${show(result.value)}`;
    case "append":
      return "ok";
    case "cas":
      return result.ok ? "ok" : "mismatch";
    case "delete":
      return result.existed ? "deleted" : "absent";
    case "invalid":
      return `invalid: ${result.reason}`;
  }
}
