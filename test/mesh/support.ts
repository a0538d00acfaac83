/** Helpers for mesh tests: valid-looking tinc public keys and cluster configs. */
import * as crypto from "crypto";
import { ClusterConfig, validateClusterConfig } from "../../planning/config";
import { rawConfig, rawNode } from "../support/config-fixture";

/**
 * A syntactically valid PKCS#1 "RSA PUBLIC KEY" PEM block derived from a seed (not a real key:
 * the planner never parses the RSA numbers, only the PEM framing).
 */
export function fakeTincKey(seed: string): string {
  const der = Buffer.concat([Buffer.from([0x30, 0x82, 0x01, 0x0a]), crypto.createHash("sha512").update(seed).digest(), crypto.createHash("sha512").update(seed + "/2").digest()]);
  const b64 = der.toString("base64").match(/.{1,64}/g)!.join("\n");
  return `-----BEGIN RSA PUBLIC KEY-----\n${b64}\n-----END RSA PUBLIC KEY-----`;
}

/** A five-node raw config: n1..n5 in three rings; tweak then validate. */
export function rawMeshConfig(): Record<string, any> {
  const raw = rawConfig();
  raw.nodes = [
    rawNode(1, "NL"),
    rawNode(2, "DE"),
    rawNode(3, "SE", { ring: "member", vpnAddress: "198.18.1.13" }),
    rawNode(4, "IS", { ring: "edge", vpnAddress: "198.18.2.14" }),
    rawNode(5, "CH", { ring: "member", vpnAddress: "198.18.1.15" }),
  ];
  for (const n of raw.nodes) n.encryptedMount = { kind: "gocryptfs", path: "/srv/crypt", cipherDir: "/srv/.crypt-cipher" };
  return raw;
}

export function meshConfig(tweak: (raw: Record<string, any>) => void = () => {}): ClusterConfig {
  const raw = rawMeshConfig();
  tweak(raw);
  return validateClusterConfig(raw);
}

/** Keys for every node of a config, changing with the node's key generation. */
export function keysFor(cluster: ClusterConfig): Record<string, string> {
  return Object.fromEntries(cluster.nodes.map((n) => [n.name, fakeTincKey(`${n.name}/gen${n.vpnKeyGeneration ?? 1}`)]));
}
