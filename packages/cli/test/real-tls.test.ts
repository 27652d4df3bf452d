import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { encodeCommand } from "@concord/kv";
import { connectCluster, findAlgorithm, freePorts, startRealNode } from "@concord/lab";
import { clientCertificateName, nodeCertificateName, type TlsFiles } from "@concord/net";

// The TLS flags' path through a node and a client (the transport's own tests
// cover the naming rule and refusals in depth): a node started with a
// certificate serves a client that presents one of the same CA, and a
// client without one gets no answer.
const openssl = ["/usr/bin/openssl", "/usr/local/bin/openssl"].find((path) => existsSync(path));

describe.skipIf(openssl === undefined)("a node and a client with mutual TLS", () => {
  it("serves a client with a certificate of the cluster's CA, and not one without", async () => {
    const dir = mkdtempSync(join(tmpdir(), "concord-tls-node-"));
    const run = (...args: string[]): void => void execFileSync(openssl as string, args, { cwd: dir, stdio: "pipe" });
    const certificate = (file: string, name: string): TlsFiles => {
      run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", `/CN=${name}`, "-keyout", `${file}.key`, "-out", `${file}.csr`);
      writeFileSync(join(dir, `${file}.ext`), `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:${name}\n`);
      run("x509", "-req", "-in", `${file}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", `${file}.ext`, "-out", `${file}.pem`);
      return { cert: join(dir, `${file}.pem`), key: join(dir, `${file}.key`), ca: join(dir, "ca.pem") };
    };
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=concord-test-ca", "-keyout", "ca.key", "-out", "ca.pem");
    const algorithm = findAlgorithm("solo");
    if (algorithm === undefined) throw new Error("solo");
    const [port] = await freePorts("127.0.0.1", 1);
    const listen = { host: "127.0.0.1", port: port as number };
    const cluster = new Map([[0, listen]]);
    const node = await startRealNode({ algorithm, id: 0, listen, peers: cluster, dataDir: join(dir, "data"), options: {}, secret: undefined, tls: certificate("node-0", nodeCertificateName(0)), log: () => {} });
    try {
      const withCertificate = await connectCluster({ algorithm, cluster, options: {}, secret: undefined, tls: certificate("client", clientCertificateName) });
      const client = withCertificate.newClient();
      expect((await withCertificate.submit(client, encodeCommand({ type: "put", key: "k", value: new Uint8Array([1]) }), false)).kind).toBe("ok");
      await withCertificate.close();
      const plaintext = await connectCluster({ algorithm, cluster, options: {}, secret: undefined });
      const answer = await plaintext.admin(0, { op: "status" }, 1_500);
      await plaintext.close();
      expect(answer.ok).toBe(false);
      expect(node.runtime.counts.adminRequests).toBe(0);
    } finally {
      await node.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
