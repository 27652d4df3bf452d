// PBFT client sessions (issue 21, bug 7): the session key is part of what the
// client authenticates, and a client counts only replies for its own session.
import { describe, expect, it } from "vitest";
import { createRng, firstClientId, type NodeId } from "@concord/core";
import { encodeCommand } from "@concord/kv";
import { PbftClient, type PbftReply, type PbftRequest } from "@concord/pbft";
import { Authenticator } from "@concord/pbft/internals";
import { FakeCrypto, pbftCluster } from "./kit.ts";

const replicas = [0, 1, 2, 3];
const clientId = firstClientId;

function client(session: number): PbftClient {
  return new PbftClient({ id: clientId, replicas, rng: createRng(1), crypto: new FakeCrypto(clientId), options: {}, session });
}

function reply(from: NodeId, session: number, result: Uint8Array): PbftReply {
  const auth = new Authenticator(new FakeCrypto(from), from, replicas, "macs");
  return auth.sealReply({ type: "reply", view: 0, clientId, session, sequence: 1, replica: from, result, readOnly: false, mac: new Uint8Array(0) });
}

describe("PBFT client sessions", () => {
  it("a client ignores f+1 matching replies for its id and sequence that name another session (an earlier client object's)", () => {
    const pbft = client(5);
    pbft.submit(new Uint8Array([1]), { readOnly: false });
    pbft.advance(pbft.ready()!);
    for (const from of [0, 1, 2]) pbft.step(from, reply(from, 4, new Uint8Array([9])));
    expect(pbft.ready()).toBeUndefined();
    expect(pbft.outstanding()).toBe(true);
    for (const from of [0, 1]) pbft.step(from, reply(from, 5, new Uint8Array([7])));
    expect(pbft.ready()?.completions).toEqual([{ sequence: 1, outcome: { kind: "ok", result: new Uint8Array([7]) } }]);
  });

  it("the client's authenticator covers the session key: a request moved to another session fails every replica's check", () => {
    const pbft = client(5);
    pbft.submit(new Uint8Array([1]), { readOnly: false });
    const sent = pbft.ready()!.messages[0]!.message as PbftRequest;
    expect(sent.session).toBe(5);
    for (const replica of replicas) {
      const auth = new Authenticator(new FakeCrypto(replica), replica, replicas, "macs");
      expect(auth.verifyRequest({ ...sent }), `replica ${replica}, as sent`).toBe(true);
      expect(auth.verifyRequest({ ...sent, session: 6 }), `replica ${replica}, moved`).toBe(false);
    }
  });

  it("a request in another client's name that names this client's session neither runs nor holds back this client's next request (no view change)", () => {
    const cluster = pbftCluster(4, {}, 2);
    cluster.submit({ type: "put", key: "x", value: new TextEncoder().encode("1") });
    cluster.runUntil(() => cluster.idle(), 500);
    const victim = cluster.client(0) as PbftClient;
    // The second client borrows the first one's session at its next sequence number, authentically in its own name.
    const borrower = firstClientId + 1;
    const borrowed = new Authenticator(new FakeCrypto(borrower), borrower, replicas, "macs").sealRequest({
      type: "request",
      clientId: borrower,
      session: victim.sessionKey,
      sequence: 2,
      command: encodeCommand({ type: "put", key: "x", value: new TextEncoder().encode("borrowed") }),
      readOnly: false,
      readLevel: 0,
      macs: [],
    });
    for (const replica of replicas) cluster.inject(borrower, replica, borrowed);
    cluster.deliverAll();
    cluster.submit({ type: "put", key: "x", value: new TextEncoder().encode("2") });
    // Well inside the view-change timeout: the primary of view 0 orders the victim's own request at once.
    cluster.runUntil(() => cluster.idle(), 20);
    expect(cluster.results(0)).toEqual([{ type: "put" }, { type: "put" }]);
    for (const replica of replicas) {
      expect(cluster.replica(replica).status().epoch, `replica ${replica}'s view`).toBe(0);
      expect(cluster.value(replica, "x"), `replica ${replica}`).toBe("2");
    }
    expect(cluster.violations()).toEqual([]);
  });
});
