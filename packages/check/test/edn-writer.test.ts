import { describe, expect, it } from "vitest";
import { checkHistory, checkKvHistory, detectFormat, generateKvHistory, kvHistoryToEdn, parseKvHistory, readEdnEvents, stringKvModel } from "@concord/check";

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe("kvHistoryToEdn (Jepsen history.edn)", () => {
  it("round-trips a generated history through the EDN reader: the same operations, inputs and verdict", () => {
    const original = generateKvHistory({ clients: 5, operations: 300, keys: 3, seed: 9, indeterminatePercent: 5, failedPercent: 5 });
    const text = kvHistoryToEdn(original, [{ timeUs: 10, f: "start-partition", value: "[0] | [1 2]" }]);
    expect(detectFormat(text, "history.edn")).toBe("edn");
    const parsed = parseKvHistory(text, "edn");
    expect(parsed).toHaveLength(original.length);
    const byInvocation = [...original].sort((a, b) => a.invokeUs - b.invokeUs || a.id - b.id);
    // A cas that did not apply is a :fail in Jepsen's histories (it took no effect): the input survives, the status says so.
    const status = (operation: (typeof original)[number]): string => (operation.status === "ok" && operation.output?.type === "cas" && !operation.output.ok ? "fail" : operation.status);
    expect(parsed.map((operation) => [operation.clientId, operation.input, operation.status])).toEqual(byInvocation.map((operation) => [operation.clientId, operation.input, status(operation)]));
    expect(checkHistory(stringKvModel, parsed).kind).toBe(checkKvHistory(original).kind);
  });

  it("writes times in nanoseconds, the nemesis as :nemesis lines the reader skips, and string escapes EDN reads back", () => {
    const tricky = 'quote " backslash \\ newline \n tab \t bell \b feed \f';
    const history = [
      { id: 0, clientId: 3, input: { type: "put" as const, key: "k", value: bytes(tricky) }, invokeUs: 5, completeUs: 9, status: "ok" as const, output: { type: "put" as const } },
      { id: 1, clientId: 4, input: { type: "get" as const, key: "k" }, invokeUs: 10, completeUs: 12, status: "ok" as const, output: { type: "get" as const, value: bytes(tricky) } },
      { id: 2, clientId: 4, input: { type: "delete" as const, key: "k" }, invokeUs: 13, completeUs: undefined, status: "info" as const, output: undefined },
    ];
    const text = kvHistoryToEdn(history, [{ timeUs: 7, f: "start-kill", value: "kill leader: [1]" }]);
    const lines = text.trim().split("\n");
    expect(lines[0]).toBe('{:index 0, :time 5000, :process 3, :type :invoke, :f :put, :key "k", :value "quote \\" backslash \\\\ newline \\n tab \\t bell \\u0008 feed \\u000c"}');
    expect(lines[1]).toBe('{:index 1, :time 7000, :process :nemesis, :type :info, :f :start-kill, :value "kill leader: [1]"}');
    expect(lines.at(-1)).toContain(":process 4, :type :info, :f :delete");
    expect(lines).toHaveLength(7);
    expect(readEdnEvents(text)).toHaveLength(6); // the nemesis line skipped
    const parsed = parseKvHistory(text, "edn");
    expect(new TextDecoder().decode((parsed[1]!.output as { value: Uint8Array }).value)).toBe(tricky);
    expect(parsed[2]!.status).toBe("info");
  });
});
