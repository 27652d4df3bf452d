// The read-only optimization (Castro's thesis §5.1.3) against a replica that
// answers reads from a stale state: hand-built schedules in which f+1 stale
// answers agree, so that only the rules (2f+1 matching replies at the client,
// no read served over a prepared batch not yet executed) keep reads
// linearizable.
import { describe, expect, it } from "vitest";
import { pbft } from "@concord/pbft";
import { staleReadsStrategy } from "@concord/pbft/internals";
import { pbftCluster, firstTestClient, type PbftCluster } from "./kit.ts";

const value = (text: string): Uint8Array => new TextEncoder().encode(text);

/** staleCluster has written x = 1, read it once (so the stale reader, replica 3, answers 1 from now on), and stands ready for x = 2. */
function staleCluster(): PbftCluster {
  const cluster = pbftCluster(4);
  cluster.makeByzantine(3, staleReadsStrategy);
  cluster.submit({ type: "put", key: "x", value: value("1") });
  cluster.deliverAll();
  cluster.submit({ type: "get", key: "x" });
  cluster.deliverAll();
  expect(cluster.results()).toEqual([{ type: "put" }, { type: "get", value: new Uint8Array(value("1")) }]);
  return cluster;
}

describe("PBFT read-only requests against a stale reader (thesis §5.1.3)", () => {
  it("does not accept a read on f+1 matching replies: a lagging correct replica and the stale reader agree on the old value", () => {
    const cluster = staleCluster();
    // Replica 2 misses x = 2 entirely; the write completes on the replies of 0, 1 and 3.
    cluster.drop = (e) => e.to === 2 && (e.message.type === "prePrepare" || e.message.type === "prepare" || e.message.type === "commit");
    cluster.submit({ type: "put", key: "x", value: value("2") });
    cluster.deliverAll();
    expect(cluster.results().at(-1)).toEqual({ type: "put" });
    // The read to replica 0 is lost: replica 1 answers 2, replicas 2 (lagging) and 3 (stale) answer 1.
    cluster.drop = (e) => e.from === firstTestClient && e.to === 0 && e.message.type === "request" && e.message.readOnly;
    cluster.submit({ type: "get", key: "x" });
    cluster.runUntil(() => cluster.idle(), 500);
    expect(cluster.results().at(-1)).toEqual({ type: "get", value: new Uint8Array(value("2")) });
    expect(cluster.violations()).toEqual([]);
  });

  it("does not serve a read while the replica holds a prepared batch it has not executed", () => {
    const cluster = staleCluster();
    // Replicas 1 and 2 prepare x = 2 but see no commit; 0 and 3 execute it and the write completes on their replies.
    cluster.drop = (e) => (e.to === 1 || e.to === 2) && e.message.type === "commit";
    cluster.submit({ type: "put", key: "x", value: value("2") });
    cluster.deliverAll();
    expect(cluster.results().at(-1)).toEqual({ type: "put" });
    for (const id of [1, 2]) expect(cluster.replica(id).status().appliedIndex).toBe(1);
    // Were 1 and 2 to answer from their state, they and the stale reader would be 2f+1 replies saying 1.
    cluster.submit({ type: "get", key: "x" });
    cluster.runUntil(() => cluster.idle(), 500);
    expect(cluster.results().at(-1)).toEqual({ type: "get", value: new Uint8Array(value("2")) });
    expect(cluster.violations()).toEqual([]);
  });
});

describe("PBFT read levels (issue 15)", () => {
  it("a stale read takes the first authentic reply: a backup that missed a write answers the old value, alone, without the others", () => {
    const cluster = pbftCluster(4);
    cluster.submit({ type: "put", key: "x", value: value("1") });
    cluster.deliverAll();
    // Replica 2 misses x = 2 entirely; the write completes on the replies of 0, 1 and 3.
    cluster.drop = (e) => e.to === 2 && (e.message.type === "prePrepare" || e.message.type === "prepare" || e.message.type === "commit");
    cluster.submit({ type: "put", key: "x", value: value("2") });
    cluster.deliverAll();
    expect(cluster.results().at(-1)).toEqual({ type: "put" });
    // Only replica 2 hears the read: its one reply answers it.
    cluster.drop = (e) => e.from === firstTestClient && e.to !== 2;
    cluster.submit({ type: "get", key: "x" }, 0, true, "stale");
    cluster.deliverAll();
    expect(cluster.results().at(-1)).toEqual({ type: "get", value: new Uint8Array(value("1")) });
    expect(cluster.violations()).toEqual([]);
  });

  it("a linearizable read that only the lagging replica hears is never answered by it alone", () => {
    const cluster = pbftCluster(4);
    cluster.submit({ type: "put", key: "x", value: value("1") });
    cluster.deliverAll();
    cluster.drop = (e) => e.from === firstTestClient && e.to !== 2;
    cluster.submit({ type: "get", key: "x" }, 0, true, "linearizable");
    cluster.deliverAll();
    expect(cluster.results()).toHaveLength(1);
  });

  it("a lease read is served as a linearizable one (PBFT has no leases), a stale one as stale", () => {
    expect(pbft.servedReadLevel?.("lease", {})).toBe("linearizable");
    expect(pbft.servedReadLevel?.("linearizable", {})).toBe("linearizable");
    expect(pbft.servedReadLevel?.("stale", {})).toBe("stale");
  });
});
