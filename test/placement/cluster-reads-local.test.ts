/**
 * What `npm run placement -- sync|sizes` reads from the cluster (ops/placement.ts), without a lab:
 * the stack's master is a throwaway SSH server on 127.0.0.1 (test/support/fake-sshd.ts) whose
 * streamlocal forwarding leads to a throwaway local slapd's ldapi socket, and whose `exec` answers
 * `du` with canned output. A revoked node is never measured (it would be listed, with its error).
 */
import * as fs from "fs";
import { ClusterConfig, validateClusterConfig } from "../../planning/config";
import { writeUser } from "../../ops/ldap-users";
import { directoryHomes, measureUserBytes } from "../../ops/placement";
import { withRootLdap } from "../../transports/ldap";
import { closeAllSsh } from "../../transports/ssh";
import { rawConfig, rawNode } from "../support/config-fixture";
import { adminKeyFile, closedPort, FakeSshd, startFakeSshd, tempDir } from "../support/fake-sshd";
import { findSlapd, LocalSlapd, SlapdDist, startSeededMaster } from "../ldap/local-slapd";

const dist = findSlapd();
const suite = typeof dist === "string" ? describe.skip : describe;
if (typeof dist === "string") console.warn(`SKIPPED test/placement/cluster-reads-local.test.ts: ${dist}`);
const SUFFIX = "dc=example,dc=org";

suite("placement reads from the cluster (throwaway SSH server and slapd)", () => {
  const dir = tempDir("rplan-placement-reads-");
  let slapd: LocalSlapd;
  let sshd: FakeSshd;
  let cluster: ClusterConfig;
  const before = process.env.RPLAN_SSH_KEY;

  beforeAll(async () => {
    slapd = await startSeededMaster(dist as SlapdDist, "m", SUFFIX);
    await withRootLdap("n1", slapd.ldapiOpener(), async (c) => {
      for (const [uid, home] of [["alice", "n2"], ["bob", "n1"], ["carol", "n3"]]) await writeUser(c, { uid, mail: `${uid}@example.org`, home, suffix: SUFFIX, master: { node: "n1" } });
    });
    sshd = await startFakeSshd({
      streamlocal: slapd.socket,
      exec: (cmd) =>
        cmd.includes("du -sb --files0-from=-")
          ? { code: 1, stdout: "4096\t/srv/crypt/mail/alice\n812\t/srv/crypt/mail/bob\n", stderr: "du: cannot access '/srv/crypt/mail/carol': No such file or directory\n" }
          : { code: 127, stderr: `unexpected: ${cmd}` },
    });
    const at = (host: string, port: number) => ({ host, port, user: "root", hostKeys: [sshd.hostKey] });
    const r = rawConfig();
    r.nodes = [
      { ...rawNode(1, "NL"), ssh: at("127.0.0.1", sshd.port) },
      { ...rawNode(2, "DE"), ssh: at("localhost", sshd.port) },
      { ...rawNode(3, "SE", { state: "draining" }), ssh: at("127.0.0.1", await closedPort()) },
      rawNode(4, "IS", { state: "revoked" }),
    ];
    for (const n of r.nodes) n.encryptedMount = { kind: "luks", path: "/srv/crypt", device: "/dev/vdb", mapper: "crypt" };
    cluster = validateClusterConfig(r);
    process.env.RPLAN_SSH_KEY = adminKeyFile(dir);
  }, 60_000);

  afterAll(async () => {
    await closeAllSsh();
    await sshd?.close();
    await slapd?.stop();
    if (before === undefined) delete process.env.RPLAN_SSH_KEY;
    else process.env.RPLAN_SSH_KEY = before;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("directoryHomes: every rplanUser's uid and home, from the master", async () => {
    expect(await directoryHomes(cluster)).toEqual(
      new Map([
        ["alice", "n2"],
        ["bob", "n1"],
        ["carol", "n3"],
      ]),
    );
  });

  test("measureUserBytes: du on every live node; a missing user directory is fine, an unreachable node is its error; the revoked node is never contacted", async () => {
    const measured = await measureUserBytes(cluster, ["alice", "bob", "carol"]);
    expect(measured.map((m) => m.node)).toEqual(["n1", "n2", "n3"]);
    expect(measured[0]).toEqual({ node: "n1", sizes: new Map([["alice", 4096], ["bob", 812]]) });
    expect(measured[1].sizes.get("alice")).toBe(4096);
    expect(measured[2].error).toMatch(/n3/);
    expect(sshd.commands.filter((c) => c.includes("du -sb")).every((c) => c.includes("test -d /srv/crypt/mail"))).toBe(true);
  });
});
