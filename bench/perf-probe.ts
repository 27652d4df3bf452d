import { solo } from "@concord/core";
import { runSimulation, EventQueue } from "@concord/sim";
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  const r = runSimulation({ algorithm: solo, nodes: 1, scenario: { name: "p", description: "", workload: { ops: 200000, clients: 64, finalReads: false } }, seed: 1, encode: false });
  const ms = performance.now() - t0;
  console.log("solo msgs", r.messages.total, "ms", ms.toFixed(0), "msgs/s", (r.messages.total / ms * 1000).toFixed(0));
}
const q = new EventQueue();
const t0 = performance.now();
let x = 1;
for (let i = 0; i < 1000; i++) q.push(i, 0, 0, undefined);
for (let i = 0; i < 2_000_000; i++) { q.pop(); x = (x * 1103515245 + 12345) % 2147483648; q.push(q.poppedTimeUs + (x % 1000), 0, 0, undefined); }
console.log("queue pop+push/s", (2_000_000 / (performance.now() - t0) * 1000).toFixed(0));
