// Mutual TLS between nodes and from client dialers: a throwaway CA and
// certificates are made with the openssl CLI for each run. The naming rule:
// a node's certificate names `concord-node-<id>` (CN or DNS SAN), a client's
// `concord-client`; both sides present one signed by the cluster's CA.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TcpTransport, clientCertificateName, nodeCertificateName, type TlsFiles } from "@concord/net";
import { addressBook, bytes, closeAll, connected, fastLimits, listenNode, waitFor, type Received, type TestNode } from "./transport-helpers.ts";

const opensslPath = ["/usr/bin/openssl", "/usr/local/bin/openssl"].find((path) => existsSync(path));
if (opensslPath === undefined) console.warn("transport-tls.test.ts: skipped, no openssl CLI at /usr/bin/openssl or /usr/local/bin/openssl to make test certificates");

let dir = "";
const open: (TcpTransport | undefined)[] = [];

function openssl(...args: string[]): void {
  execFileSync(opensslPath!, args, { cwd: dir, stdio: "pipe" });
}

/** makeCa writes a self-signed CA certificate and key named `<name>.pem` and `<name>.key`. */
function makeCa(name: string): void {
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", `/CN=${name}`, "-keyout", `${name}.key`, "-out", `${name}.pem`);
}

/** makeCertificate writes `<file>.pem` and `<file>.key`: a certificate naming `name` (CN and DNS SAN), signed by `ca`. */
function makeCertificate(file: string, name: string, ca: string): TlsFiles {
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", `/CN=${name}`, "-keyout", `${file}.key`, "-out", `${file}.csr`);
  writeFileSync(
    join(dir, `${file}.ext`),
    `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:${name}\n`,
  );
  openssl("x509", "-req", "-in", `${file}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-days", "2", "-extfile", `${file}.ext`, "-out", `${file}.pem`);
  return { cert: join(dir, `${file}.pem`), key: join(dir, `${file}.key`), ca: join(dir, "cluster-ca.pem") };
}

const files = new Map<string, TlsFiles>();

function certificate(file: string): TlsFiles {
  return files.get(file)!;
}

describe.skipIf(opensslPath === undefined)("mutual TLS", () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "concord-tls-"));
    makeCa("cluster-ca");
    makeCa("other-ca");
    for (const id of [1, 2, 3]) files.set(`node-${id}`, makeCertificate(`node-${id}`, nodeCertificateName(id), "cluster-ca"));
    files.set("client", makeCertificate("client", clientCertificateName, "cluster-ca"));
    // Signed by another CA, though it names a cluster member; its CA file is the cluster's.
    files.set("foreign-3", makeCertificate("foreign-3", nodeCertificateName(3), "other-ca"));
    files.set("foreign-0", makeCertificate("foreign-0", nodeCertificateName(0), "other-ca"));
    // Signed by the cluster's CA, but naming another node than the one it claims to be.
    files.set("misnamed-3", makeCertificate("misnamed-3", nodeCertificateName(9), "cluster-ca"));
  });

  afterAll(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  afterEach(async () => {
    await closeAll(open.splice(0));
  });

  async function node(id: number, file: string): Promise<TestNode> {
    const started = await listenNode(id, {
      tls: certificate(file),
      onFrame: (self, from, _to, payload) => {
        // Answer clients, so that a dialer's round trip shows.
        if (from >= 1_000_000) self.transport.send(self.id, from, payload);
      },
    });
    open.push(started.transport);
    return started;
  }

  test("a cluster with valid certificates exchanges frames, and a client with a client certificate gets answers", async () => {
    const nodes = [await node(1, "node-1"), await node(2, "node-2"), await node(3, "node-3")];
    for (const each of nodes) each.transport.setPeers(addressBook(nodes));
    await connected(nodes);
    for (const sender of nodes) for (const receiver of nodes) if (receiver !== sender) sender.transport.send(sender.id, receiver.id, bytes(`${sender.id}>${receiver.id}`));
    await waitFor("every frame", () => nodes.every((each) => each.received.length === 2));
    const replies: Received[] = [];
    const dialer = TcpTransport.dialer({
      protocol: "raft",
      peers: addressBook(nodes),
      onFrame: (from, to, payload) => replies.push({ from, to, text: new TextDecoder().decode(payload) }),
      tls: certificate("client"),
      limits: fastLimits,
    });
    open.push(dialer);
    dialer.send(1_000_007, 2, bytes("over TLS"));
    await waitFor("the reply", () => replies.length === 1);
    expect(replies[0]).toEqual({ from: 2, to: 1_000_007, text: "over TLS" });
    for (const each of nodes) expect(each.transport.counters.refused).toEqual({ badFrame: 0, oversized: 0, wrongProtocol: 0, badHello: 0, unauthorized: 0, tlsHandshake: 0, helloTimeout: 0 });
  });

  test("a node whose certificate another CA signed cannot join, either side dialing", async () => {
    const [zero, one, two, three] = [await node(0, "foreign-0"), await node(1, "node-1"), await node(2, "node-2"), await node(3, "foreign-3")];
    const nodes = [zero!, one!, two!, three!];
    for (const each of nodes) each.transport.setPeers(addressBook(nodes));
    await connected([one!, two!]);
    // 1 and 2 dial 3: they refuse its certificate, and it refuses theirs (its CA file is the cluster's, but its own chain is not).
    for (const sender of [one!, two!]) sender.transport.send(sender.id, 3, bytes("to the foreign node"));
    three!.transport.send(3, 1, bytes("from the foreign node"));
    await waitFor("refusals", () => one!.transport.counters.refused.tlsHandshake > 0 && two!.transport.counters.refused.tlsHandshake > 0);
    // 0 dials 1 and 2, which refuse its certificate in the handshake.
    zero!.transport.send(0, 1, bytes("from the other foreign node"));
    await waitFor("node 0 refused", () => zero!.transport.counters.dialFailures >= 2);
    expect(three!.transport.connectedPeers()).toEqual([]);
    expect(zero!.transport.connectedPeers()).toEqual([]);
    expect(one!.transport.connectedPeers()).toEqual([2]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(three!.received).toEqual([]);
    expect(one!.received).toEqual([]);
    expect(one!.log.some((line) => line.includes("node 3"))).toBe(true);
  });

  test("a node whose certificate names another id cannot join, either side dialing", async () => {
    // As node 3 (dialed by 1) and as node 0 (dialing 1), with a certificate naming concord-node-9.
    const one = await node(1, "node-1");
    const three = await node(3, "misnamed-3");
    const zero = await node(0, "misnamed-3");
    const nodes = [zero, one, three];
    for (const each of nodes) each.transport.setPeers(addressBook(nodes));
    one.transport.send(1, 3, bytes("to the misnamed node"));
    zero.transport.send(0, 1, bytes("from the misnamed node"));
    await waitFor("refusals", () => one.transport.counters.refused.unauthorized >= 2);
    expect(one.log.some((line) => line.includes("concord-node-9, not concord-node-3"))).toBe(true);
    expect(one.log.some((line) => line.includes("concord-node-9, not concord-node-0"))).toBe(true);
    expect(one.transport.connectedPeers()).toEqual([]);
    expect(one.received).toEqual([]);
    expect(three.received).toEqual([]);
  });

  test("a plaintext dialer cannot talk to a TLS node, nor a dialer presenting a node's certificate", async () => {
    const one = await node(1, "node-1");
    const plaintext = TcpTransport.dialer({ protocol: "raft", peers: addressBook([one]), onFrame: () => {}, limits: fastLimits });
    const posing = TcpTransport.dialer({ protocol: "raft", peers: addressBook([one]), onFrame: () => {}, tls: certificate("node-2"), limits: fastLimits });
    open.push(plaintext, posing);
    plaintext.send(1_000_000, 1, bytes("in the clear"));
    posing.send(1_000_001, 1, bytes("a client with a node's certificate"));
    await waitFor("refusals", () => one.transport.counters.refused.tlsHandshake > 0 && one.transport.counters.refused.unauthorized > 0);
    expect(one.received).toEqual([]);
    expect(plaintext.connectedPeers()).toEqual([]);
  });
});
