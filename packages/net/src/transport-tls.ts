import { readFileSync } from "node:fs";
import type { PeerCertificate } from "node:tls";
import type { NodeId } from "@concord/core";

/** TlsFiles names the PEM files of mutual TLS: this endpoint's certificate and key, and the cluster's CA. */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/** TlsMaterial is the content of {@link TlsFiles}, read once. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer;
}

/**
 * clientCertificateName is the name a client dialer's certificate carries (as
 * its subject CN or a DNS subject alternative name): any client may present it.
 */
export const clientCertificateName = "concord-client";

/**
 * nodeCertificateName is the name the certificate of replica `id` carries (as
 * its subject CN or a DNS subject alternative name): `concord-node-<id>`. A
 * node accepts a peer's hello claiming id X only over a connection whose
 * certificate names `concord-node-X`, and a node dialing X checks the same of
 * the certificate it is shown.
 */
export function nodeCertificateName(id: NodeId): string {
  return `concord-node-${id}`;
}

/** certificateNames lists the names a certificate carries: its subject CNs and its DNS subject alternative names. */
export function certificateNames(certificate: PeerCertificate | undefined): string[] {
  if (certificate === undefined || certificate.subject === undefined) return [];
  const names: string[] = [];
  const cn: unknown = certificate.subject.CN;
  if (typeof cn === "string") names.push(cn);
  else if (Array.isArray(cn)) for (const each of cn) if (typeof each === "string") names.push(each);
  for (const entry of (certificate.subjectaltname ?? "").split(",")) {
    const trimmed = entry.trim();
    if (trimmed.startsWith("DNS:")) names.push(trimmed.slice("DNS:".length));
  }
  return names;
}

/** checkCertificateName tells whether a certificate carries `name`, and says what it carries when not. */
export function checkCertificateName(certificate: PeerCertificate | undefined, name: string): string | undefined {
  const names = certificateNames(certificate);
  if (names.includes(name)) return undefined;
  return `certificate names ${names.length === 0 ? "nothing" : names.join(", ")}, not ${name}`;
}

/** readTlsFiles reads the PEM files of {@link TlsFiles}, with an error naming the file that cannot be read. */
export function readTlsFiles(files: TlsFiles): TlsMaterial {
  const read = (what: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new Error(`cannot read the TLS ${what} file ${path}: ${(error as Error).message}`);
    }
  };
  return { cert: read("certificate", files.cert), key: read("key", files.key), ca: read("CA", files.ca) };
}
