import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { clusterConfigFromText } from "../../planning/config";
import { hostMirror } from "../../lab/image";
import { hostsFile, resolvConf } from "../../lab/node";
import { labStackConfig, renderStackYaml } from "../../lab/stack-config";
import { fakeHostKey } from "../support/config-fixture";

const nodes = (n: number) => Array.from({ length: n }, (_, k) => ({ name: `lab${k + 1}`, index: k + 1, hostKeys: [fakeHostKey(`lab${k + 1}`)] }));
/** Through the project's own schema, exactly as the stack reads it. */
const validate = (config: Record<string, unknown>) =>
  clusterConfigFromText((key) => {
    const v = config[`rplan:${key}`];
    return v === undefined ? undefined : typeof v === "string" ? v : JSON.stringify(v);
  });

describe("generated lab stack config", () => {
  test.each([1, 3, 5])("%i nodes pass the config schema", (n) => {
    expect(validate(labStackConfig(nodes(n))).nodes.map((x) => x.name)).toEqual(nodes(n).map((x) => x.name));
  });

  test("nodes get the documented countries, rings, addresses and distinct capacities", () => {
    const c = validate(labStackConfig(nodes(5)));
    expect(c.nodes.map((n) => n.country)).toEqual(["NL", "DE", "SE", "IS", "CH"]);
    expect(c.nodes.map((n) => n.ring)).toEqual(["core", "core", "member", "edge", "member"]);
    expect(c.nodes.map((n) => n.ssh.host)).toEqual(["198.51.100.11", "198.51.100.12", "198.51.100.13", "198.51.100.14", "198.51.100.15"]);
    expect(c.nodes.map((n) => n.vpnAddress)).toEqual(["198.18.0.11", "198.18.0.12", "198.18.1.13", "198.18.2.14", "198.18.1.15"]);
    expect(new Set(c.nodes.map((n) => n.capacity)).size).toBe(5);
    expect(c.nodes[0].encryptedMount).toEqual({ kind: "gocryptfs", path: "/srv/crypt", cipherDir: "/srv/.crypt-cipher" });
    expect(c.ldap).toEqual({ master: "lab1", suffix: "dc=lab,dc=rplan,dc=test", ringAccess: { core: "write", member: "read", edge: "routing" } });
    expect(c.policy.minCountries).toBe(3);
  });

  test("the YAML round-trips, keeps host keys on one line and keeps the runner's top-level keys", () => {
    const first = renderStackYaml(nodes(3), "encryptionsalt: v1:abc\nconfig:\n  rplan:domain: old.example\n");
    const doc = parse(first);
    expect(doc.encryptionsalt).toBe("v1:abc");
    expect(doc.config).toEqual(labStackConfig(nodes(3)));
    expect(first).toContain(`- ${fakeHostKey("lab1")}\n`);
    expect(first).not.toMatch(/[&*]a\d/); // no YAML anchors: humans and other tools read this file
  });

  test("/etc/hosts names the node itself only; the resolvers are the nodes' own name servers", () => {
    expect(hostsFile(2)).toContain("198.51.100.12\tlab2.lab.rplan.test lab2\n");
    expect(hostsFile(2)).not.toContain("lab1");
    expect(resolvConf([1, 2, 3, 4])).toBe("# the lab: the cluster's zone as its nodes serve it (lab/node.ts)\nnameserver 198.51.100.11\nnameserver 198.51.100.12\nnameserver 198.51.100.13\noptions timeout:1 attempts:2\n");
  });
});

describe("host mirror", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-apt-"));
  const file = (name: string, text: string) => (fs.writeFileSync(path.join(dir, name), text), path.join(dir, name));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("deb822 sources: the bookworm main archive, not security", () => {
    const f = file("debian.sources", "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\nTypes: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n");
    expect(hostMirror([f])).toBe("http://mirror.example/debian");
  });

  test("one-line sources and the fallback", () => {
    expect(hostMirror([file("s.list", "deb [arch=amd64] http://ftp.example/debian bookworm main\n")])).toBe("http://ftp.example/debian");
    expect(hostMirror([file("other.list", "deb http://x.example/ubuntu jammy main\n")])).toBe("http://deb.debian.org/debian");
  });
});
