/** A valid raw stack config for unit tests, and a way to make valid-looking pinned host keys. */
import * as crypto from "crypto";
import { ConfigError, validateClusterConfig } from "../../planning/config";

/** A syntactically valid OpenSSH ed25519 public key line derived from a seed. */
export function fakeHostKey(seed: string): string {
  const type = Buffer.from("ssh-ed25519");
  const key = crypto.createHash("sha256").update(seed).digest();
  const len = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  return "ssh-ed25519 " + Buffer.concat([len(type.length), type, len(key.length), key]).toString("base64");
}

export function rawNode(i: number, country: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: `n${i}`,
    country,
    publicAddress: `198.51.100.${10 + i}`,
    ssh: { host: `198.51.100.${10 + i}`, port: 22, user: "root", hostKeys: [fakeHostKey(`n${i}`)] },
    vpnAddress: `198.18.0.${10 + i}`,
    ring: "core",
    encryptedMount: { kind: "luks", path: "/srv/crypt", device: "/dev/vdb", mapper: "crypt" },
    capacity: 1000 * i,
    state: "active",
    ...extra,
  };
}

export function rawConfig(): Record<string, any> {
  return {
    domain: "example.org",
    rings: { core: "198.18.0.0/24", member: "198.18.1.0/24", edge: "198.18.2.0/24" },
    nodes: [rawNode(1, "NL"), rawNode(2, "DE"), rawNode(3, "SE")],
    policy: { minCountries: 3 },
    ldap: { master: "n1", suffix: "dc=example,dc=org" },
  };
}

/** Every problem validateClusterConfig reports for `raw` (fails the test when it accepts it). */
export function problemsOf(raw: Record<string, unknown>): string[] {
  try {
    validateClusterConfig(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).problems];
  }
  throw new Error("config was accepted");
}
