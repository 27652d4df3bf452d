import { relayPortOffset, serveDelayRelay } from "@concord/lab";
import { type FlagSpec, helpText, integerFlag, parseFlags } from "../flags.ts";
import { type CommandIo, UsageError } from "../io.ts";

const flags: Readonly<Record<string, FlagSpec>> = {
  address: { type: "string", description: "this host's IPv4 address: listened on, dialed, and the sender of what the local servers write (required)" },
  ports: { type: "string", description: `the relayed ports, comma-separated; each relay listens on port + ${relayPortOffset} (required)` },
  seed: { type: "string", description: "seed of the jitter drawn (default 0)" },
  help: { type: "boolean", description: "show this help" },
};

const usage =
  "concord relay --address <ip> --ports <p,...> [--seed <s>]\n\n" +
  "The delaying hop concord test puts in front of each node where the kernel has no netem\n" +
  "(sch_netem): a TCP relay, run inside a host's network namespace, to which nftables\n" +
  "redirects the connections arriving for the relayed ports. It holds each chunk for the\n" +
  "delay of the host that sent it, in order. Orders arrive as JSON lines on standard input\n" +
  '({"op":"delays","delays":{"<address>":{"delayMs":100,"jitterMs":20}}} or {"op":"stats"}),\n' +
  "each answered with one line on standard output; it exits when its input ends.";

/** runRelayCommand runs one delaying relay until its standard input ends. */
export async function runRelayCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseFlags(args, flags, false);
  if (values["help"] === true) {
    io.stdout(helpText(usage, flags));
    return 0;
  }
  const address = values["address"];
  if (typeof address !== "string" || !/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) throw new UsageError(`--address: expected an IPv4 address, got ${address === undefined ? "nothing" : `"${String(address)}"`}`);
  const portsText = values["ports"];
  if (typeof portsText !== "string") throw new UsageError("--ports is required: the relayed ports, comma-separated");
  const ports = portsText.split(",").map((item) => integerFlag("ports", item.trim(), 1, 65_535 - relayPortOffset) as number);
  const seed = integerFlag("seed", values["seed"], 0, 2 ** 31 - 1) ?? 0;
  await serveDelayRelay({ address, ports, seed }, process.stdin, (line) => io.stdout(`${line}\n`)).catch((error: unknown) => {
    throw new UsageError(`relay: ${(error as Error).message}`);
  });
  return 0;
}
