"""The reordering wire of concord test's latency nemesis, for kernels without
tc's netem (sch_netem). Run inside one host's network namespace (by
NamespaceNetwork.startReorderWires, as root), it makes a TUN device there
and passes back into the kernel every packet the kernel routes into it, each
held for a time drawn uniformly in [holdMsMin, holdMsMax], a share of them
written twice. The namespace routes into it only the packets an nftables
rule marks (a share of what the host sends on its link, drawn by numgen);
the packets the rule leaves alone go out at once and overtake the held
ones, so the receivers get them out of order, as from netem's `reorder`.

A packet written to the TUN device arrives on it as if from a wire, with
the host's own address as its source; the namespace forwards it out of its
link. That takes settings this process makes in its namespace (they go
with the namespace): ip_forward on, and on the TUN device accept_local (a
packet from a local address is otherwise a martian) with rp_filter off, and
IPv6 off (its link-local chatter would come through the wire).

Nothing but Python's standard library. Orders arrive as JSON lines on
standard input, each answered with one line on standard output:
  {"op":"disorder","holdMsMin":1,"holdMsMax":20,"duplicatePercent":10}
      the hold drawn, and the share written twice, for packets read from now on
  {"op":"stats"}
      what it held since the last stats order, how many packets the kernel
      dropped because the device's queue was full, and how this namespace's
      TCP counters of segments that arrived out of order or twice moved since
      then
It writes {"ready":true,"device":"wire0"} once the device is made, and when
its input ends (the process that started it is gone) it writes every held
packet and exits; the device goes with it.

Usage: python3 reorder-wire.py [--device NAME] [--seed S]
"""

import fcntl
import heapq
import json
import os
import random
import select
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
PACKET_BYTES_MAX = 65536
HOLD_MS_MAX = 10_000
# A receiver's TcpExt counters: segments queued because they arrived out of order,
# and duplicate segments it told the sender of (D-SACK) because it had them already.
OUT_OF_ORDER_COUNTERS = ("TCPOFOQueue",)
DUPLICATE_COUNTERS = ("TCPDSACKOldSent", "TCPDSACKOfoSent")


def counters(device):
    """counters reads this namespace's TcpExt counters (/proc/net follows the reader's namespace) and the device's drops."""
    with open("/proc/net/netstat") as stats:
        lines = [line.split() for line in stats if line.startswith("TcpExt:")]
    values = dict(zip(lines[0][1:], (int(value) for value in lines[1][1:])))
    # The kernel drops what it would route into the device while the device's queue is full: a wire too slow for the traffic.
    with open(f"/sys/class/net/{device}/statistics/tx_dropped") as dropped:
        dropped_packets = int(dropped.read())
    return {
        "droppedPackets": dropped_packets,
        "outOfOrderSegments": sum(values.get(name, 0) for name in OUT_OF_ORDER_COUNTERS),
        "duplicateSegments": sum(values.get(name, 0) for name in DUPLICATE_COUNTERS),
    }


def open_tun(name):
    descriptor = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(descriptor, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    for setting, value in (("ipv4/ip_forward", "1"), ("ipv4/conf/all/rp_filter", "0"), (f"ipv4/conf/{name}/rp_filter", "0"), (f"ipv4/conf/{name}/accept_local", "1")):
        with open(f"/proc/sys/net/{setting}", "w") as sysctl:
            sysctl.write(value)
    # No IPv6 on the device (set before it is up): its own link-local chatter (router solicitations, MLD) would come through the wire.
    if os.path.exists(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6"):
        with open(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6", "w") as sysctl:
            sysctl.write("1")
    return descriptor


class Wire:
    def __init__(self, device, seed):
        self.device = device
        self.tun = open_tun(device)
        os.set_blocking(self.tun, False)
        self.random = random.Random(seed)
        self.hold_ms = (0.0, 0.0)
        self.duplicate_percent = 0.0
        self.held = []  # a heap of (release time, arrival number, packet, arrival time, copies)
        self.arrivals = 0
        self.reset_stats()

    def reset_stats(self):
        self.tally = {"heldPackets": 0, "duplicatedPackets": 0, "heldMsTotal": 0.0, "heldMsMin": float("inf"), "heldMsMax": 0.0}
        self.counters = counters(self.device)

    def take_stats(self):
        tally, now = self.tally, counters(self.device)
        held = tally["heldPackets"]
        stats = {
            "heldPackets": held,
            "duplicatedPackets": tally["duplicatedPackets"],
            "heldMsMin": round(tally["heldMsMin"], 1) if held else 0,
            "heldMsMean": round(tally["heldMsTotal"] / held, 1) if held else 0,
            "heldMsMax": round(tally["heldMsMax"], 1),
        }
        for name, value in now.items():
            stats[name] = value - self.counters[name]
        self.reset_stats()
        return stats

    def read(self):
        """read takes every packet the kernel has routed into the device and schedules its release."""
        while True:
            try:
                packet = os.read(self.tun, PACKET_BYTES_MAX)
            except BlockingIOError:
                return
            now = time.monotonic()
            low, high = self.hold_ms
            copies = 2 if self.random.random() * 100 < self.duplicate_percent else 1
            self.arrivals += 1
            heapq.heappush(self.held, (now + self.random.uniform(low, high) / 1000, self.arrivals, packet, now, copies))

    def release(self, everything=False):
        now = time.monotonic()
        while self.held and (everything or self.held[0][0] <= now):
            _release, _arrival, packet, arrived, copies = heapq.heappop(self.held)
            for _copy in range(copies):
                try:
                    os.write(self.tun, packet)
                except OSError:
                    # The kernel refused it (a full backlog): a lost packet, which TCP sends again.
                    pass
            held_ms = (now - arrived) * 1000
            tally = self.tally
            tally["heldPackets"] += 1
            tally["duplicatedPackets"] += copies - 1
            tally["heldMsTotal"] += held_ms
            tally["heldMsMin"] = min(tally["heldMsMin"], held_ms)
            tally["heldMsMax"] = max(tally["heldMsMax"], held_ms)

    def answer(self, line):
        try:
            order = json.loads(line)
            if order.get("op") == "stats":
                return {"ok": True, "stats": self.take_stats()}
            if order.get("op") == "disorder":
                low, high, duplicate = float(order["holdMsMin"]), float(order["holdMsMax"]), float(order["duplicatePercent"])
                if not 0 <= low <= high <= HOLD_MS_MAX:
                    return {"ok": False, "error": f"need 0 <= holdMsMin <= holdMsMax <= {HOLD_MS_MAX}, got {low} and {high}"}
                if not 0 <= duplicate <= 100:
                    return {"ok": False, "error": f"duplicatePercent must be 0 to 100, got {duplicate}"}
                self.hold_ms = (low, high)
                self.duplicate_percent = duplicate
                return {"ok": True}
            return {"ok": False, "error": f"unknown order {line!r}"}
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            return {"ok": False, "error": f"{type(error).__name__}: {error}"}


def main():
    args = sys.argv[1:]
    options = dict(zip(args[::2], args[1::2]))
    wire = Wire(options.get("--device", "wire0"), int(options.get("--seed", "0")))
    stdin = sys.stdin.fileno()
    os.set_blocking(stdin, False)
    buffered = b""
    print(json.dumps({"ready": True, "device": wire.device}), flush=True)
    while True:
        timeout = None if not wire.held else max(0.0, wire.held[0][0] - time.monotonic())
        readable, _writable, _failed = select.select([wire.tun, stdin], [], [], timeout)
        if wire.tun in readable:
            wire.read()
        wire.release()
        if stdin in readable:
            chunk = os.read(stdin, 65536)
            if not chunk:
                wire.release(everything=True)
                return
            lines = (buffered + chunk).split(b"\n")
            buffered = lines.pop()
            for line in lines:
                if line.strip():
                    print(json.dumps(wire.answer(line.decode())), flush=True)


if __name__ == "__main__":
    main()
