import { type ChildProcess, type SpawnOptions, execFile, spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import { accessSync, constants, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type LinkDelay, type RelayStats, relayPortOffset, sumRelayStats } from "./delay-relay.ts";
import type { NodeLauncher } from "./local-cluster.ts";

// Linux network namespaces as hosts of a test network: each host is a
// namespace with one veth pair whose other end is enslaved to a bridge in the
// root namespace, which also holds an address on it (so a client in the test
// process reaches every host the way a machine on the same LAN would). Faults
// are the host's own: nftables rules inside its namespace drop packets
// (partitions, one-way cuts, random loss), or its veth is set down. Jepsen's
// nemeses do the same with iptables on real machines.
//
// Every name carries the creating process's pid (base 36) and a counter, so
// parallel runs never clash, and a later run can tell a leftover of a killed
// run (its pid is gone) from a live one and remove it.

const runFile = promisify(execFile);

/** netnsNamespacePrefix starts the name of every namespace this module makes. */
export const netnsNamespacePrefix = "concord-netns-";
/** netnsLinkPrefix starts the name of every bridge and veth this module makes (interface names are at most 15 bytes). */
export const netnsLinkPrefix = "cc-";

const partitionTable = "concord_partition";
const lossTable = "concord_loss";
const relayTable = "concord_relay";
const duplicateTable = "concord_duplicate";
const reorderTable = "concord_reorder";
/** wireDevice is the TUN device the reordering wire makes in each host's namespace. */
const wireDevice = "wire0";
/** wireMark marks the packets the reordering rule sends through the wire; wireRouteTable routes them there. */
const wireMark = 0x7117;
const wireRouteTable = 7117;
/** wireScript is the reordering wire, run by python3 in each host's namespace (build-assets copies it beside the compiled module). */
const wireScript = fileURLToPath(new URL("./reorder-wire.py", import.meta.url));
/** orderTimeoutMs bounds how long a relay or wire may take to answer an order (it answers at once unless its host is paused or gone). */
const orderTimeoutMs = 5_000;
/** hostInterface is the name of the veth end inside each host's namespace. */
const hostInterface = "eth0";
const firstHostOctet = 11;
const hostsMax = 200;
/** interfaceNameBytesMax is Linux's IFNAMSIZ less its terminating zero. */
const interfaceNameBytesMax = 15;

let networksMade = 0;

/** FilterRule is one nftables rule in one of a table's two chains. */
interface FilterRule {
  readonly chain: "input" | "output";
  readonly rule: string;
}

/** NamespaceHost is one host of a {@link NamespaceNetwork}: a namespace with one address on the bridge. */
export interface NamespaceHost {
  /** index is the host's position in the network, from 0. */
  readonly index: number;
  /** namespace is the network namespace's name, as `ip netns exec` takes it. */
  readonly namespace: string;
  /** address is the host's IPv4 address (a /24 shared with the bridge). */
  readonly address: string;
  /** hostLink is the root namespace's end of the host's veth pair, a port of the bridge. */
  readonly hostLink: string;
}

/** NamespaceNetworkSetup says how many hosts to make, and optionally on which /24. */
export interface NamespaceNetworkSetup {
  readonly hosts: number;
  /** subnet is the first three octets of a /24 such as "10.231.7"; absent, a free one in 10.200.0.0 to 10.254.255.0 is picked. */
  readonly subnet?: string | undefined;
}

/** NetemSetup shapes a host's outgoing packets with tc's netem qdisc. */
export interface NetemSetup {
  readonly delayMs?: number | undefined;
  readonly jitterMs?: number | undefined;
  readonly lossPercent?: number | undefined;
  /** reorderPercent of the packets are sent at once, ahead of the delayed rest (netem's `reorder`, which needs a delay). */
  readonly reorderPercent?: number | undefined;
  /** duplicatePercent of the packets are sent twice (netem's `duplicate`). */
  readonly duplicatePercent?: number | undefined;
}

/**
 * LinkShaping is what the latency nemesis does to what one host sends: a
 * delay with jitter, and a share of the packets reordered and a share sent
 * twice (with netem, its `reorder` and `duplicate`; through the relays, by
 * the reordering wire of {@link NamespaceNetwork.startReorderWires}).
 */
export interface LinkShaping extends LinkDelay {
  readonly reorderPercent?: number | undefined;
  readonly duplicatePercent?: number | undefined;
}

/** WireStats is what the reordering wires (summed) did since they were last asked, and what the receivers' TCP saw meanwhile. */
export interface WireStats {
  /** heldPackets counts the packets a wire held back while later ones went out past them. */
  readonly heldPackets: number;
  /** duplicatedPackets counts those it wrote twice. */
  readonly duplicatedPackets: number;
  /** heldMs: how long each was held, min, mean and max (0 when none). */
  readonly heldMsMin: number;
  readonly heldMsMean: number;
  readonly heldMsMax: number;
  /** droppedPackets counts the packets the kernel dropped instead of routing them into a wire whose queue was full (a wire too slow for the traffic: loss beside the reordering). */
  readonly droppedPackets: number;
  /** outOfOrderSegments: the TCP segments the hosts received out of order and queued (TcpExt TCPOFOQueue, summed over the hosts' namespaces; clients outside them are not counted). */
  readonly outOfOrderSegments: number;
  /** duplicateSegments: the TCP segments the hosts received that they held already and told the sender so (TcpExt TCPDSACKOldSent and TCPDSACKOfoSent): duplicates, the wire's and TCP's own retransmissions of what was only late. */
  readonly duplicateSegments: number;
}

/** netemArguments are tc's words after `netem` for a setup: `delay 100ms 20ms reorder 25% duplicate 5% loss 1%`. */
export function netemArguments(setup: NetemSetup): string[] {
  for (const [name, value] of [["reorderPercent", setup.reorderPercent], ["duplicatePercent", setup.duplicatePercent], ["lossPercent", setup.lossPercent]] as const) {
    if (value !== undefined && !(value >= 0 && value <= 100)) throw new Error(`NetemSetup.${name} must be 0 to 100, got ${value}`);
  }
  const reorders = setup.reorderPercent !== undefined && setup.reorderPercent > 0;
  // netem reorders by sending some packets without the delay the rest wait: with no delay there is nothing to overtake.
  if (reorders && !(setup.delayMs !== undefined && setup.delayMs > 0)) throw new Error(`NetemSetup.reorderPercent needs a delay (netem reorders by sending a share without it), got delayMs ${setup.delayMs}`);
  const percent = (value: number): string => `${value}%`;
  return [
    ...(setup.delayMs === undefined ? [] : ["delay", `${setup.delayMs}ms`, ...(setup.jitterMs === undefined ? [] : [`${setup.jitterMs}ms`])]),
    ...(reorders ? ["reorder", percent(setup.reorderPercent as number)] : []),
    ...(setup.duplicatePercent === undefined || setup.duplicatePercent === 0 ? [] : ["duplicate", percent(setup.duplicatePercent)]),
    ...(setup.lossPercent === undefined ? [] : ["loss", percent(setup.lossPercent)]),
  ];
}

/**
 * namespaceSupport tells why this machine cannot make namespace networks,
 * or returns undefined when it can: it looks for `ip` (and `nft` when asked)
 * and makes and removes a probe namespace, which needs root or
 * CAP_SYS_ADMIN with CAP_NET_ADMIN. Tests skip with the reason it gives.
 */
export async function namespaceSupport(needs: { readonly nft?: boolean } = {}): Promise<string | undefined> {
  if (process.platform !== "linux") return `network namespaces are Linux's; this is ${process.platform}`;
  const missing = [["ip", "iproute2"], ...(needs.nft === true ? [["nft", "nftables"]] : [])].filter(([command]) => !commandExists(command as string));
  if (missing.length > 0) return `${missing.map(([command, pkg]) => `\`${command}\` (Debian package ${pkg})`).join(" and ")} not on the PATH`;
  const probe = `${netnsNamespacePrefix}${process.pid.toString(36)}-probe`;
  try {
    await ip(["netns", "add", probe]);
  } catch (error) {
    return `cannot make a network namespace (needs root or CAP_SYS_ADMIN and CAP_NET_ADMIN): ${firstLine(error)}`;
  }
  await ip(["netns", "delete", probe]).catch(() => undefined);
  return undefined;
}

/**
 * reorderWireSupport tells why this machine cannot run the reordering wires
 * of {@link NamespaceNetwork.startReorderWires} (no python3, no TUN device
 * node), or returns undefined when it can (namespaces aside: see
 * {@link namespaceSupport}).
 */
export function reorderWireSupport(): string | undefined {
  if (!commandExists("python3")) return "`python3` (Debian package python3) is not on the PATH; the reordering wire for a kernel without netem is a Python script";
  if (!existsSync("/dev/net/tun")) return "no /dev/net/tun: the reordering wire is a TUN device (a container needs it passed in)";
  return undefined;
}

/**
 * NamespaceNetwork is a bridge and one namespace per host, made by
 * {@link NamespaceNetwork.create} and removed by {@link destroy}, which a
 * caller runs in a `finally` (a run killed before it is removed by the next
 * run's {@link removeStaleNetworks}).
 */
export class NamespaceNetwork {
  private destroyed = false;
  /** relays are the delaying relays of {@link startDelayRelays}, one per host, when started. */
  private relays: OrderedProcess[] | undefined;
  /** relayDelays are the delays the relays apply, by the sending host's address. */
  private readonly relayDelays = new Map<string, LinkDelay>();
  /** wires are the reordering wires of {@link startReorderWires}, one per host, when started. */
  private wires: OrderedProcess[] | undefined;

  private constructor(
    /** bridge is the root namespace's bridge every host's veth is a port of. */
    readonly bridge: string,
    /** gatewayAddress is the root namespace's address on the bridge: where a client in this process comes from. */
    readonly gatewayAddress: string,
    readonly hosts: readonly NamespaceHost[],
  ) {}

  /**
   * create removes stale networks of dead processes, then makes the bridge
   * and the hosts. Whatever it made is removed again if a step fails.
   */
  static async create(setup: NamespaceNetworkSetup): Promise<NamespaceNetwork> {
    if (!Number.isSafeInteger(setup.hosts) || setup.hosts < 1 || setup.hosts > hostsMax) throw new Error(`NamespaceNetwork: hosts must be 1 to ${hostsMax}, got ${setup.hosts}`);
    await removeStaleNetworks();
    if (setup.subnet !== undefined && !/^10\.\d{1,3}\.\d{1,3}$/.test(setup.subnet)) throw new Error(`NamespaceNetwork: subnet must be the first three octets of a /24 in 10.0.0.0/8, such as "10.231.7"; got "${setup.subnet}"`);
    const subnet = setup.subnet ?? (await freeSubnet());
    const tag = `${process.pid.toString(36)}-${(networksMade++).toString(36)}`;
    const hosts = Array.from({ length: setup.hosts }, (_unused, index): NamespaceHost => ({
      index,
      namespace: `${netnsNamespacePrefix}${tag}-${index}`,
      address: `${subnet}.${firstHostOctet + index}`,
      hostLink: `${netnsLinkPrefix}${tag}-${index}`,
    }));
    const network = new NamespaceNetwork(`${netnsLinkPrefix}${tag}`, `${subnet}.1`, hosts);
    const tooLong = hosts.find((host) => host.hostLink.length > interfaceNameBytesMax);
    if (tooLong !== undefined) throw new Error(`NamespaceNetwork: interface name ${tooLong.hostLink} is longer than Linux's ${interfaceNameBytesMax} bytes (too many networks made by one process)`);
    try {
      // One batch for the root namespace and one per host: `ip` is slow to start on a busy machine.
      await ipBatch(undefined, [
        // nf_call_iptables 0: on a machine with br_netfilter loaded (Docker's), bridged packets would otherwise cross the root namespace's iptables FORWARD chain, often a DROP policy.
        `link add ${network.bridge} type bridge nf_call_iptables 0 nf_call_ip6tables 0 nf_call_arptables 0`,
        `addr add ${network.gatewayAddress}/24 dev ${network.bridge}`,
        `link set ${network.bridge} up`,
        ...hosts.flatMap((host) => [
          `netns add ${host.namespace}`,
          `link add ${host.hostLink} type veth peer name ${hostInterface} netns ${host.namespace}`,
          `link set ${host.hostLink} master ${network.bridge} up`,
        ]),
      ]);
      await Promise.all(hosts.map((host) => ipBatch(host.namespace, [`addr add ${host.address}/24 dev ${hostInterface}`, `link set ${hostInterface} up`, "link set lo up"])));
    } catch (error) {
      await network.destroy();
      throw error;
    }
    return network;
  }

  /** host returns host `index`, throwing on one this network does not have. */
  host(index: number): NamespaceHost {
    const host = this.hosts[index];
    if (host === undefined) throw new Error(`NamespaceNetwork: no host ${index} (hosts 0 to ${this.hosts.length - 1})`);
    return host;
  }

  /** spawnIn starts `command` inside host `index`'s namespace (`ip netns exec` execs it, so the child's pid is the command's own). */
  spawnIn(index: number, command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    return spawn("ip", ["netns", "exec", this.host(index).namespace, command, ...args], options);
  }

  /** execIn runs `command` inside host `index`'s namespace to completion and returns its standard output; a failure throws with its standard error. */
  async execIn(index: number, command: string, args: readonly string[]): Promise<string> {
    return (await runFile("ip", ["netns", "exec", this.host(index).namespace, command, ...args])).stdout;
  }

  /**
   * partition splits the hosts into `groups` (each host in exactly one):
   * packets between hosts of different groups are dropped silently, both
   * ways, as a cut network drops them; within a group, and between any host
   * and the root namespace, traffic flows. It replaces any earlier partition
   * or cut.
   */
  async partition(groups: readonly (readonly number[])[]): Promise<void> {
    const groupOf = new Map<number, number>();
    groups.forEach((group, groupIndex) =>
      group.forEach((index) => {
        this.host(index);
        if (groupOf.has(index)) throw new Error(`NamespaceNetwork.partition: host ${index} is in two groups`);
        groupOf.set(index, groupIndex);
      }),
    );
    if (groupOf.size !== this.hosts.length) throw new Error(`NamespaceNetwork.partition: every host must be in a group; ${this.hosts.filter((host) => !groupOf.has(host.index)).map((host) => host.index).join(", ")} in none`);
    await Promise.all(
      this.hosts.map((host) => {
        const others = this.hosts.filter((other) => groupOf.get(other.index) !== groupOf.get(host.index));
        return this.setFilter(host.index, partitionTable, others.flatMap((other) => [{ chain: "input", rule: `ip saddr ${other.address} drop` }, { chain: "output", rule: `ip daddr ${other.address} drop` }]));
      }),
    );
  }

  /** isolate cuts host `index` off from every other host (not from the root namespace): a partition of it against the rest. */
  isolate(index: number): Promise<void> {
    return this.partition([[index], this.hosts.map((host) => host.index).filter((other) => other !== index)]);
  }

  /**
   * cut drops the packets host `from` sends to host `to`, one way only (in
   * `to`'s namespace, so `from` still sends them), on top of whatever is cut
   * already: asymmetric faults, where TCP sees acknowledgements vanish.
   */
  async cut(from: number, to: number): Promise<void> {
    const source = this.host(from);
    await this.addFilterRules(to, partitionTable, [{ chain: "input", rule: `ip saddr ${source.address} drop` }]);
  }

  /** heal removes every partition and cut (not the loss set by {@link setLoss}). */
  async heal(): Promise<void> {
    await Promise.all(this.hosts.map((host) => this.setFilter(host.index, partitionTable, [])));
  }

  /**
   * setLoss drops `percent` of the packets host `index` sends and receives
   * on its link, at random (nftables' numgen, so no netem is needed); 0
   * removes it.
   */
  async setLoss(index: number, percent: number): Promise<void> {
    if (!(percent >= 0 && percent <= 100)) throw new Error(`NamespaceNetwork.setLoss: percent must be 0 to 100, got ${percent}`);
    const below = Math.round(percent * 100);
    // numgen's values run from 0 to 9999, so 100% is a plain drop.
    const draw = below === 10_000 ? "" : ` numgen random mod 10000 < ${below}`;
    const rules: FilterRule[] = below === 0 ? [] : [{ chain: "input", rule: `iifname "${hostInterface}"${draw} drop` }, { chain: "output", rule: `oifname "${hostInterface}"${draw} drop` }];
    await this.setFilter(index, lossTable, rules);
  }

  /**
   * setDuplication sends a copy of `percent` of the packets host `index`
   * sends on its link, at random (nftables' `dup`, table `ip
   * concord_duplicate`); 0 removes it. Only outgoing packets can be copied
   * so (a copy is sent out of a device), so a host's duplication is what it
   * sends. No counter: a copy passes the rule again (nf_dup keeps it from
   * being copied twice), so a counter would count copies with originals.
   */
  async setDuplication(index: number, percent: number): Promise<void> {
    if (!(percent >= 0 && percent <= 100)) throw new Error(`NamespaceNetwork.setDuplication: percent must be 0 to 100, got ${percent}`);
    const below = Math.round(percent * 100);
    const draw = below === 10_000 ? "" : ` numgen random mod 10000 < ${below}`;
    await this.nft(index, [
      `add table ip ${duplicateTable}`,
      `add chain ip ${duplicateTable} output { type filter hook output priority 0; policy accept; }`,
      `flush table ip ${duplicateTable}`,
      ...(below === 0 ? [] : [`add rule ip ${duplicateTable} output oifname "${hostInterface}"${draw} dup to ip daddr device "${hostInterface}"`]),
    ]);
  }

  /** setLinkUp sets host `index`'s veth up or down: down, it reaches nobody, the root namespace included, and its sockets see no error. */
  async setLinkUp(index: number, up: boolean): Promise<void> {
    await ip(["link", "set", this.host(index).hostLink, up ? "up" : "down"]);
  }

  /**
   * setNetem delays (and optionally reorders, duplicates and drops) what
   * host `index` sends, with tc's netem qdisc on its interface; it throws,
   * naming the cause, on a kernel without netem (`sch_netem`).
   */
  async setNetem(index: number, setup: NetemSetup): Promise<void> {
    const args = netemArguments(setup);
    try {
      await runFile("tc", ["-n", this.host(index).namespace, "qdisc", "replace", "dev", hostInterface, "root", "netem", ...args]);
    } catch (error) {
      throw new Error(`NamespaceNetwork.setNetem: tc refused netem on host ${index} (a kernel without sch_netem says "Specified qdisc kind is unknown"): ${firstLine(error)}`);
    }
  }

  /** clearNetem removes host `index`'s netem qdisc, if it has one. */
  async clearNetem(index: number): Promise<void> {
    await runFile("tc", ["-n", this.host(index).namespace, "qdisc", "del", "dev", hostInterface, "root"]).catch(() => undefined);
  }

  /**
   * startDelayRelays puts a {@link DelayRelay} (run as `concord relay` by
   * `launcher`) inside every host's namespace, in front of `ports`: an
   * nftables rule redirects every TCP connection arriving on the host's link
   * for one of them to the relay, which passes it on to the real port. From
   * then on {@link setDelay} delays through the relays, for a kernel without
   * netem. Start them before the connections they must carry are made.
   */
  async startDelayRelays(ports: readonly number[], launcher: NodeLauncher): Promise<void> {
    if (this.relays !== undefined) throw new Error("NamespaceNetwork.startDelayRelays: the relays run already");
    this.relays = [];
    for (const host of this.hosts) {
      const { command, args } = launcher(["relay", "--address", host.address, "--ports", ports.join(","), "--seed", String(host.index)]);
      this.relays.push(new OrderedProcess(`the delaying relay of host ${host.index}`, this.spawnIn(host.index, command, args, { stdio: ["pipe", "pipe", "pipe"] })));
    }
    await Promise.all(this.relays.map((relay) => relay.ready));
    await Promise.all(
      this.hosts.map((host) =>
        this.nft(host.index, [
          `add table inet ${relayTable}`,
          `add chain inet ${relayTable} prerouting { type nat hook prerouting priority dstnat; policy accept; }`,
          ...ports.map((port) => `add rule inet ${relayTable} prerouting iifname "${hostInterface}" tcp dport ${port} redirect to :${port + relayPortOffset}`),
        ]),
      ),
    );
  }

  /** delayMechanism says how {@link setDelay} delays: through the relays when they run, else with netem. */
  get delayMechanism(): "relay" | "netem" {
    return this.relays === undefined ? "netem" : "relay";
  }

  /**
   * startReorderWires puts a reordering wire (reorder-wire.py, run by
   * python3) in every host's namespace, for a kernel without netem: a TUN
   * device, `wire0`, that a process holds each packet in before passing it
   * back to the kernel, which forwards it out of the host's link. Packets
   * marked by the table `ip concord_reorder` (empty until {@link setDelay}
   * asks for reordering) are routed into it by a rule of the namespace's
   * (fwmark 0x7117, table 7117); those it passes back are untracked, so that
   * connection tracking and NAT see each packet once. Everything it makes
   * lives in the namespaces and goes with them; a wire that dies takes its
   * device and route with it, and the marked packets then go out unheld.
   */
  async startReorderWires(): Promise<void> {
    if (this.wires !== undefined) throw new Error("NamespaceNetwork.startReorderWires: the wires run already");
    const unsupported = reorderWireSupport();
    if (unsupported !== undefined) throw new Error(`NamespaceNetwork.startReorderWires: ${unsupported}`);
    this.wires = this.hosts.map((host) => new OrderedProcess(`the reordering wire of host ${host.index}`, this.spawnIn(host.index, "python3", [wireScript, "--device", wireDevice, "--seed", String(host.index)], { stdio: ["pipe", "pipe", "pipe"] })));
    await Promise.all(this.wires.map((wire) => wire.ready));
    const subnet = `${this.gatewayAddress.slice(0, this.gatewayAddress.lastIndexOf("."))}.0/24`;
    await Promise.all(
      this.hosts.map(async (host) => {
        await ipBatch(host.namespace, [`link set ${wireDevice} up`, `rule add fwmark ${wireMark} lookup ${wireRouteTable} priority 100`, `route add ${subnet} dev ${wireDevice} table ${wireRouteTable}`]);
        await this.nft(host.index, [
          `add table ip ${reorderTable}`,
          // A route chain: a packet whose mark it changes is routed again, into the wire. After the filter chains (priority 0), which see it on the host's link.
          `add chain ip ${reorderTable} output { type route hook output priority 10; policy accept; }`,
          `add chain ip ${reorderTable} prerouting { type filter hook prerouting priority raw; policy accept; }`,
          `add rule ip ${reorderTable} prerouting iifname "${wireDevice}" notrack`,
        ]);
      }),
    );
  }

  /** reorderMechanism says how {@link setDelay} reorders and duplicates: through the wires when they run, else with netem. */
  get reorderMechanism(): "wire" | "netem" {
    return this.wires === undefined ? "netem" : "wire";
  }

  /**
   * setDelay shapes what host `index` sends (undefined: no more): delays it
   * through the relays when {@link startDelayRelays} started them, and
   * reorders and duplicates its share through the wires when
   * {@link startReorderWires} did (the wire holds the share for 1 ms to the
   * jitter, at least 1 ms, and writes `duplicatePercent` of all packets,
   * at most the share, twice); else all with netem ({@link setNetem},
   * which throws on a kernel without it).
   */
  async setDelay(index: number, shaping: LinkShaping | undefined): Promise<void> {
    const host = this.host(index);
    if (this.relays === undefined && this.wires === undefined) {
      if (shaping === undefined) await this.clearNetem(index);
      else await this.setNetem(index, shaping);
      return;
    }
    if (this.relays !== undefined) {
      if (shaping === undefined) this.relayDelays.delete(host.address);
      else this.relayDelays.set(host.address, { delayMs: shaping.delayMs, jitterMs: shaping.jitterMs });
      const delays = Object.fromEntries(this.relayDelays);
      await Promise.all(this.relays.map((relay) => relay.order({ op: "delays", delays })));
    } else if (shaping !== undefined && shaping.delayMs > 0) throw new Error("NamespaceNetwork.setDelay: a delay without netem needs the relays of startDelayRelays");
    await this.setDisorder(index, shaping);
  }

  /** setDisorder sets (or, undefined, clears) the share of host `index`'s packets its wire holds back and duplicates. */
  private async setDisorder(index: number, shaping: LinkShaping | undefined): Promise<void> {
    const reorderPercent = shaping?.reorderPercent ?? 0;
    const duplicatePercent = shaping?.duplicatePercent ?? 0;
    if (!(reorderPercent >= 0 && reorderPercent <= 100)) throw new Error(`NamespaceNetwork.setDelay: reorderPercent must be 0 to 100, got ${reorderPercent}`);
    if (!(duplicatePercent >= 0 && duplicatePercent <= reorderPercent)) throw new Error(`NamespaceNetwork.setDelay: duplicatePercent must be 0 to reorderPercent (${reorderPercent}): the wire duplicates what it holds, got ${duplicatePercent}`);
    const wire = this.wires?.[index];
    if (wire === undefined) {
      if (reorderPercent > 0) throw new Error("NamespaceNetwork.setDelay: reordering without netem needs the wires of startReorderWires");
      return;
    }
    const below = Math.round(reorderPercent * 100);
    const draw = below === 10_000 ? "" : ` numgen random mod 10000 < ${below}`;
    const route = (): Promise<void> => this.nft(index, [`flush chain ip ${reorderTable} output`, ...(below === 0 ? [] : [`add rule ip ${reorderTable} output oifname "${hostInterface}"${draw} meta mark set ${wireMark}`])]);
    const order = (): Promise<unknown> => wire.order({ op: "disorder", holdMsMin: below === 0 ? 0 : 1, holdMsMax: below === 0 ? 0 : Math.max(1, shaping?.jitterMs ?? 0), duplicatePercent: below === 0 ? 0 : (100 * duplicatePercent) / reorderPercent });
    // The wire's hold is set before packets are routed to it, and cleared after they no longer are (the packets it holds keep theirs).
    if (below === 0) {
      await route();
      await order();
    } else {
      await order();
      await route();
    }
  }

  /** takeWireStats sums what every wire held since the last call, and the TCP counters of out-of-order and duplicate arrival in the hosts' namespaces meanwhile (undefined without wires). */
  async takeWireStats(): Promise<WireStats | undefined> {
    if (this.wires === undefined) return undefined;
    const all = (await Promise.all(this.wires.map((wire) => wire.order({ op: "stats" })))).map((answer) => answer["stats"] as WireStats);
    const held = all.filter((stats) => stats.heldPackets > 0);
    const heldPackets = held.reduce((sum, stats) => sum + stats.heldPackets, 0);
    const sum = (field: "duplicatedPackets" | "droppedPackets" | "outOfOrderSegments" | "duplicateSegments"): number => all.reduce((total, stats) => total + stats[field], 0);
    return {
      heldPackets,
      duplicatedPackets: sum("duplicatedPackets"),
      heldMsMin: held.length === 0 ? 0 : Math.min(...held.map((stats) => stats.heldMsMin)),
      heldMsMean: heldPackets === 0 ? 0 : Math.round((held.reduce((total, stats) => total + stats.heldMsMean * stats.heldPackets, 0) / heldPackets) * 10) / 10,
      heldMsMax: held.length === 0 ? 0 : Math.max(...held.map((stats) => stats.heldMsMax)),
      droppedPackets: sum("droppedPackets"),
      outOfOrderSegments: sum("outOfOrderSegments"),
      duplicateSegments: sum("duplicateSegments"),
    };
  }

  /** takeDelayStats sums what every relay delayed since the last call (undefined without relays: netem tells nothing). */
  async takeDelayStats(): Promise<RelayStats | undefined> {
    if (this.relays === undefined) return undefined;
    const answers = await Promise.all(this.relays.map((relay) => relay.order({ op: "stats" })));
    return sumRelayStats(answers.map((answer) => answer["stats"] as RelayStats));
  }

  /**
   * destroy kills what still runs in the hosts' namespaces (SIGKILL: a
   * namespace with a process in it outlives its name, veth and all), then
   * removes the namespaces, veths and bridge. It never throws, and a second
   * call does nothing.
   */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const helper of [...(this.relays ?? []), ...(this.wires ?? [])]) helper.close();
    await removeNetwork(this.hosts.map((host) => host.namespace), [...this.hosts.map((host) => host.hostLink), this.bridge]);
  }

  /** setFilter replaces the rules of `table` in host `index`'s namespace (the table and its two chains made if missing). */
  private setFilter(index: number, table: string, rules: readonly FilterRule[]): Promise<void> {
    return this.addFilterRules(index, table, rules, true);
  }

  /** addFilterRules adds rules to `table` in host `index`'s namespace, after flushing it when `replace`. */
  private async addFilterRules(index: number, table: string, rules: readonly FilterRule[], replace = false): Promise<void> {
    await this.nft(index, [
      `add table inet ${table}`,
      `add chain inet ${table} input { type filter hook input priority 0; policy accept; }`,
      `add chain inet ${table} output { type filter hook output priority 0; policy accept; }`,
      ...(replace ? [`flush table inet ${table}`] : []),
      ...rules.map(({ chain, rule }) => `add rule inet ${table} ${chain} ${rule}`),
    ]);
  }

  /** nft applies a script in host `index`'s namespace in one transaction: all of it or none. */
  private async nft(index: number, lines: readonly string[]): Promise<void> {
    await runWithInput("ip", ["netns", "exec", this.host(index).namespace, "nft", "-f", "-"], lines);
  }
}

/**
 * removeStaleNetworks removes the namespaces, veths and bridges this module
 * made in processes that no longer run (a test run killed before its
 * `finally`), leaving live processes' networks alone.
 */
export async function removeStaleNetworks(): Promise<void> {
  const namespaces = (await ip(["netns", "list"])).split("\n").map((line) => line.split(" ")[0] ?? "");
  const links = (await ip(["-o", "link", "show"])).split("\n").map((line) => (line.split(": ")[1] ?? "").split("@")[0] ?? "");
  const stale = (prefix: string) => (name: string): boolean => name.startsWith(prefix) && !ownerAlive(name.slice(prefix.length));
  await removeNetwork(namespaces.filter(stale(netnsNamespacePrefix)), links.filter(stale(netnsLinkPrefix)));
}

/**
 * removeNetwork kills what runs in the namespaces (SIGKILL: a namespace with
 * a process in it outlives its name, veth and all), then deletes them and
 * the links, going on past any that is gone already.
 */
async function removeNetwork(namespaces: readonly string[], links: readonly string[]): Promise<void> {
  if (namespaces.length === 0 && links.length === 0) return;
  for (const namespace of namespaces) {
    const pids = (await ip(["netns", "pids", namespace]).catch(() => "")).split("\n").map(Number).filter((pid) => Number.isSafeInteger(pid) && pid > 0);
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
  }
  await ipBatch(undefined, [...namespaces.map((namespace) => `netns delete ${namespace}`), ...links.map((link) => `link delete ${link}`)], true).catch(() => undefined);
}

/** ownerAlive reads the pid at the head of a name's tag (`<pid base 36>-...`) and tells whether that process runs. */
function ownerAlive(tag: string): boolean {
  const pid = Number.parseInt(tag.split("-")[0] ?? "", 36);
  if (!Number.isSafeInteger(pid) || pid <= 0) return true; // not a name of ours after all: leave it
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** freeSubnet picks a /24 in 10.200-254.x that no address or route of the root namespace uses. */
async function freeSubnet(): Promise<string> {
  const used = `${await ip(["-4", "-o", "addr", "show"])}\n${await ip(["-4", "route", "show"])}`;
  for (let attempt = 0; attempt < 100; attempt++) {
    const subnet = `10.${randomInt(200, 255)}.${randomInt(0, 256)}`;
    if (!used.includes(`${subnet}.`)) return subnet;
  }
  throw new Error("NamespaceNetwork: no free /24 in 10.200.0.0/16 to 10.254.0.0/16");
}

async function ip(args: readonly string[]): Promise<string> {
  return (await runFile("ip", [...args])).stdout;
}

/** ipBatch runs `ip` commands in one process, in `namespace` (the root one when undefined); `force` goes on past failures. */
function ipBatch(namespace: string | undefined, lines: readonly string[], force = false): Promise<void> {
  return runWithInput("ip", [...(namespace === undefined ? [] : ["-n", namespace]), ...(force ? ["-force"] : []), "-batch", "-"], lines);
}

/** runWithInput runs a command with `lines` on its standard input, rejecting with its standard error when it fails. */
function runWithInput(command: string, args: readonly string[], lines: readonly string[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(command, [...args], { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.once("error", reject);
    child.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited with ${code}: ${stderr.trim()}`))));
    child.stdin.end(`${lines.join("\n")}\n`);
  });
}

function commandExists(command: string): boolean {
  // Only the PATH: the commands are run by name. (`ip` and `nft` live in /usr/sbin, which a non-root PATH may leave out.)
  return (process.env["PATH"] ?? "").split(":").some((dir) => dir !== "" && isExecutable(`${dir}/${command}`));
}

function isExecutable(path: string): boolean {
  try {
    // Synchronous on purpose: a handful of stat calls, once per test file.
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function firstLine(error: unknown): string {
  const stderr = (error as { stderr?: unknown }).stderr;
  const text = typeof stderr === "string" && stderr.trim() !== "" ? stderr : (error as Error).message;
  return text.trim().split("\n")[0] ?? "";
}

/** OrderedProcess is a helper in a host's namespace (a `concord relay`, a reordering wire): orders on its standard input, one answer per line on its output. */
class OrderedProcess {
  /** ready resolves when the helper says it is ready (the relay listens, the wire's device is made), and rejects if it exits or says nothing within the order timeout. */
  readonly ready: Promise<void>;
  private readonly waiting: { resolve(answer: Record<string, unknown>): void; reject(error: Error): void }[] = [];
  private stderr = "";
  private exited: string | undefined;

  constructor(
    private readonly name: string,
    private readonly child: ChildProcess,
  ) {
    let buffered = "";
    let readyResolve: () => void = () => {};
    let readyReject: (error: Error) => void = () => {};
    this.ready = new Promise<void>((resolve, reject) => {
      readyResolve = resolve;
      readyReject = reject;
    });
    let isReady = false;
    const timer = setTimeout(() => readyReject(new Error(`${name} did not start within ${orderTimeoutMs * 6} ms: ${this.stderr.trim()}`)), orderTimeoutMs * 6);
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (this.stderr = (this.stderr + chunk).slice(-2_000)));
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = (buffered + chunk).split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        const answer = JSON.parse(line) as Record<string, unknown>;
        if (!isReady && answer["ready"] === true) {
          isReady = true;
          clearTimeout(timer);
          readyResolve();
        } else this.waiting.shift()?.resolve(answer);
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      this.exited = `${name} exited (${signal ?? `code ${code}`}): ${this.stderr.trim().split("\n").slice(-1)[0] ?? ""}`;
      readyReject(new Error(this.exited));
      for (const waiter of this.waiting.splice(0)) waiter.reject(new Error(this.exited));
    });
    this.ready.catch(() => undefined);
  }

  /** order sends one order and resolves with its answer, rejecting on a refusal, an exit or silence. */
  order(order: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.exited !== undefined) return Promise.reject(new Error(this.exited));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // A late answer would be taken for the next order's: the helper is not asked again.
        this.exited = `${this.name} did not answer ${JSON.stringify(order)} within ${orderTimeoutMs} ms`;
        for (const waiter of this.waiting.splice(0)) waiter.reject(new Error(this.exited));
      }, orderTimeoutMs);
      this.waiting.push({
        resolve: (answer) => {
          clearTimeout(timer);
          if (answer["ok"] === true) resolve(answer);
          else reject(new Error(`${this.name} refused ${JSON.stringify(order)}: ${String(answer["error"])}`));
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.child.stdin?.write(`${JSON.stringify(order)}\n`);
    });
  }

  /** close ends the helper's input, on which it closes and exits. */
  close(): void {
    this.child.stdin?.end();
  }
}
