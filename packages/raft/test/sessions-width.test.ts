// Client sessions across snapshots (thesis §6.3): a replica rebuilt from a
// snapshot must hold each session's sequence at full width (issue 21, bug 6).
import { describe, expect, it } from "vitest";
import { firstClientId } from "@concord/core";
import { type RaftCluster, raftCluster, elect } from "./kit.ts";

const options = { preVote: false, checkQuorum: false, snapshotEveryEntries: 1 };

/** appendTwice appends `a` to x at `sequence`, restarts the leader from its snapshot, and retries the append. */
function appendRestartRetry(sequence: number): RaftCluster {
  const net = raftCluster([1, 2, 3], options);
  elect(net, 1);
  const append = { type: "append", key: "x", value: new TextEncoder().encode("a") } as const;
  net.request(1, append, { clientId: firstClientId, sequence, stepOnly: true });
  net.deliverAll();
  expect(net.disk(1).snapshot, "the leader took a snapshot after the append").toBeDefined();
  net.crash(1);
  net.restart(1);
  elect(net, 1);
  net.request(1, append, { clientId: firstClientId, sequence, stepOnly: true });
  net.deliverAll();
  net.tickAndDeliver(2);
  return net;
}

describe("session sequences survive a snapshot at full width (thesis §6.3)", () => {
  for (const sequence of [5, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER]) {
    it(`an append at sequence ${sequence}, retried after the leader restarts from its snapshot, applies once on every replica`, () => {
      const net = appendRestartRetry(sequence);
      for (const id of [1, 2, 3]) expect(net.value(id, "x"), `replica ${id}`).toBe("a");
      const replies = net.repliesTo(firstClientId).filter((reply) => reply.sequence === sequence);
      expect(replies.length).toBeGreaterThanOrEqual(2);
      // The retry is answered with the first execution's result.
      for (const reply of replies) expect(reply.result).toEqual(replies[0]?.result);
    });
  }
});
