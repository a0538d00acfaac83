import { storeCommand } from "../planning/mail/routing";
import { queueCommand } from "../planning/mail/queue";
import { rawConfig } from "./support/config-fixture";
import { dkimRevision } from "../planning/mail/dkim";
import { evaluateProgram, fakeTlsFingerprint } from "./support/mock-program";

describe("the program under Pulumi's mocks", () => {
  test("one Node component and one NodeHost per non-revoked node", async () => {
    const raw = rawConfig();
    raw.nodes[2].state = "revoked";
    const { resources } = await evaluateProgram(raw);
    const hosts = resources.filter((r) => r.type === "pulumi-nodejs:dynamic/rplan:NodeHost");
    expect(hosts.map((h) => h.name).sort()).toEqual(["n1-host", "n2-host"]);
    expect(resources.filter((r) => r.type === "rplan:cluster:Node").map((r) => r.name).sort()).toEqual(["n1", "n2"]);
    const n1 = hosts.find((h) => h.name === "n1-host")!;
    expect(n1.inputs.keyDirs).toEqual({ tinc: "/srv/crypt/keys/tinc", slapd: "/srv/crypt/keys/slapd", postfix: "/srv/crypt/keys/postfix", dovecot: "/srv/crypt/keys/dovecot", opendkim: "/srv/crypt/keys/opendkim" });
    expect(n1.inputs.packages).toEqual(expect.arrayContaining(["cryptsetup", "tinc", "slapd"]));
    expect(n1.inputs.ssh.hostKeys).toEqual(raw.nodes[0].ssh.hostKeys);
  });

  test("per non-revoked node one log-anonymity HostFiles: journald keeping nothing, the rsyslog mask, rsyslog and logrotate among the packages", async () => {
    const raw = rawConfig();
    raw.nodes[2].state = "revoked";
    const { resources } = await evaluateProgram(raw);
    const logs = resources.filter((r) => r.name.endsWith("-log-anonymity"));
    expect(logs.map((r) => [r.name, r.type, r.inputs.node])).toEqual([
      ["n1-log-anonymity", "pulumi-nodejs:dynamic/rplan:HostFiles", "n1"],
      ["n2-log-anonymity", "pulumi-nodejs:dynamic/rplan:HostFiles", "n2"],
    ]);
    const files = logs[0].inputs.files as { path: string; content: string }[];
    expect(files.map((f) => f.path)).toEqual(expect.arrayContaining(["/etc/rsyslog.d/00-rplan-anonymity.conf", "/etc/systemd/journald.conf.d/rplan-anonymity.conf"]));
    expect(files.find((f) => f.path.startsWith("/etc/systemd/"))!.content).toMatch(/^Storage=none$/m);
    expect(logs[0].inputs.reload).toContainEqual(["systemctl", "restart", "rsyslog"]);
    const host = resources.find((r) => r.name === "n1-host")!;
    expect(host.inputs.packages).toEqual(expect.arrayContaining(["rsyslog", "logrotate"]));
  });

  test("the directory's outputs: roles, and the master's contextCSN read after its entries were written", async () => {
    const { exports } = await evaluateProgram(rawConfig());
    expect(exports.ldapRoles).toEqual({ n1: "master", n2: "consumer", n3: "consumer" });
    expect(exports.ldapContextCSN).toEqual({ n1: ["csn-after-the-entries"], n2: ["csn-when-ldap-n2-slapd-applied"], n3: ["csn-when-ldap-n3-slapd-applied"] });
    expect(exports.ldapLastSwitch).toBe("none");
  });

  test("per node a TLS key for postfix and dovecot in its key directory, and the daemon config applied after it", async () => {
    const raw = rawConfig();
    raw.nodes[1].tlsKeyGeneration = 3;
    raw.nodes[2].state = "revoked";
    const { resources, exports } = await evaluateProgram(raw);
    const keys = resources.filter((r) => r.type === "pulumi-nodejs:dynamic/rplan:ServiceTlsKey");
    expect(keys.map((k) => k.name).sort()).toEqual(["n1-dovecot-tls-key", "n1-postfix-tls-key", "n2-dovecot-tls-key", "n2-postfix-tls-key"]);
    const postfix = keys.find((k) => k.name === "n2-postfix-tls-key")!.inputs;
    expect(postfix).toMatchObject({
      node: "n2",
      service: "postfix",
      keyDir: "/srv/crypt/keys/postfix",
      privateKeyPath: "/srv/crypt/keys/postfix/tls.key",
      certPath: "/srv/crypt/keys/postfix/tls.crt",
      subject: { commonName: "n2.example.org", dnsNames: ["n2.example.org"], ipAddresses: ["198.51.100.12"] },
      algorithm: "rsa-3072",
      generation: 3,
    });
    expect(postfix.encryptedMount).toEqual(raw.nodes[1].encryptedMount);
    expect(keys.find((k) => k.name === "n1-dovecot-tls-key")!.inputs).toMatchObject({ keyDir: "/srv/crypt/keys/dovecot", algorithm: "ec-p256", generation: 1 });

    // one resource per node and daemon owns its whole configuration, which names the certificate in use
    const conf = resources.find((r) => r.name === "n2-dovecot-config")!;
    expect(conf.type).toBe("pulumi-nodejs:dynamic/rplan:HostFiles");
    expect(conf.inputs.files[0]).toEqual({ path: "/etc/dovecot/dovecot.conf", mode: "0644", owner: "root:root", content: expect.stringContaining("ssl = required\nssl_cert = </srv/crypt/keys/dovecot/tls.crt\nssl_key = </srv/crypt/keys/dovecot/tls.key\n") });
    // the mail routing's files come with it: one owner for all of dovecot's configuration
    expect(conf.inputs.files.slice(1).map((f: { path: string }) => f.path)).toEqual([
      "/etc/dovecot/rplan/ldap-home-n1.conf.ext",
      "/etc/dovecot/rplan/ldap-home-n2.conf.ext",
      "/etc/dovecot/rplan/ldap-moving.conf.ext",
      "/etc/dovecot/rplan/ldap-userdb-moves.conf.ext",
      "/etc/dovecot/rplan/ldap-userdb.conf.ext",
      "/etc/dovecot/rplan/quota-warning.sh",
      "/etc/systemd/system/dovecot.service.d/rplan.conf",
    ]);
    expect(conf.inputs.files[0].content).toContain(fakeTlsFingerprint("n2-dovecot-tls-key"));
    expect(conf.inputs.reload.at(-1)).toEqual(["systemctl", "reload-or-restart", "dovecot"]);
    const postfixConf = resources.find((r) => r.name === "n1-postfix-config")!;
    expect(postfixConf.inputs.files.map((f: { path: string }) => f.path)).toEqual([
      "/etc/postfix/main.cf",
      "/etc/postfix/master.cf",
      "/etc/postfix/rplan/ldap-aliases.cf",
      "/etc/postfix/rplan/ldap-held-maildirs.cf",
      "/etc/postfix/rplan/ldap-held.cf",
      "/etc/postfix/rplan/ldap-home.cf",
      "/etc/postfix/rplan/ldap-mailboxes.cf",
      "/etc/postfix/rplan/ldap-quota-home.cf",
      "/etc/postfix/rplan/ldap-route.cf",
      "/etc/postfix/rplan/ldap-senders.cf",
      "/etc/postfix/rplan/outbound-header-checks.pcre",
      "/etc/postfix/rplan/submission-header-checks.pcre",
      "/etc/systemd/system/postfix@-.service.d/rplan-queue.conf",
    ]);
    // a revoked node's users are deferred, never routed to it
    expect(postfixConf.inputs.files[0].content).toContain("{n3=retry:home node n3 is revoked}");
    expect(postfixConf.inputs.files[0].content).toContain("smtpd_tls_key_file = /srv/crypt/keys/postfix/tls.key\n");
    expect(postfixConf.inputs.files[0].content).toContain("myhostname = n1.example.org\n");
    expect(postfixConf.inputs.files[0].content).toContain(fakeTlsFingerprint("n1-postfix-tls-key"));
    expect(postfixConf.inputs.reload).toEqual([
      ["rm", "-f", "--", "/etc/postfix/rplan-tls.cf"],
      ["systemctl", "daemon-reload"],
      queueCommand("/srv/crypt", "/srv/crypt/postfix"),
      storeCommand({ storePath: "/srv/crypt/held", mountPath: "/srv/crypt" }),
      ["postfix", "check"],
      ["systemctl", "reload-or-restart", "postfix"],
    ]);
    // no resource edits a daemon's configuration with a side command
    expect(resources.flatMap((r) => (r.inputs.reload ?? []) as string[][]).filter((argv) => argv[0] === "postconf")).toEqual([]);
    expect(exports.tlsFingerprints).toEqual({
      n1: { postfix: fakeTlsFingerprint("n1-postfix-tls-key"), dovecot: fakeTlsFingerprint("n1-dovecot-tls-key") },
      n2: { postfix: fakeTlsFingerprint("n2-postfix-tls-key"), dovecot: fakeTlsFingerprint("n2-dovecot-tls-key") },
    });
    expect(resources.some((r) => r.name.startsWith("n3-"))).toBe(false);
  });

  test("per node a DKIM key in its opendkim key directory; opendkim signs submissions with it; the zone publishes every live node's selector", async () => {
    const raw = rawConfig();
    raw.nodes[1].dkimKeyGeneration = 4;
    raw.nodes[2].state = "revoked";
    const { resources, exports } = await evaluateProgram(raw);
    const keys = resources.filter((r) => r.type === "pulumi-nodejs:dynamic/rplan:DkimKey");
    expect(keys.map((k) => k.name).sort()).toEqual(["n1-dkim-key", "n2-dkim-key"]);
    expect(keys.find((k) => k.name === "n2-dkim-key")!.inputs).toMatchObject({ node: "n2", selector: "n2", keyDir: "/srv/crypt/keys/opendkim", privateKeyPath: "/srv/crypt/keys/opendkim/dkim.private", keyBits: 2048, generation: 4 });
    const pub = (node: string) => Buffer.from(`fake DKIM public key of ${node}-dkim-key`).toString("base64");
    const opendkim = resources.find((r) => r.name === "n2-opendkim-config")!;
    expect(opendkim.inputs.files).toEqual([{ path: "/etc/opendkim.conf", mode: "0644", content: expect.stringMatching(/^Selector +n2$/m) }]);
    expect(opendkim.inputs.files[0].content).toMatch(/^KeyFile +\/srv\/crypt\/keys\/opendkim\/dkim.private$/m);
    expect(opendkim.inputs.files[0].content).toContain(dkimRevision(pub("n2")));
    expect(opendkim.inputs.reload.at(-1)).toEqual(["systemctl", "restart", "opendkim"]);
    const master = resources.find((r) => r.name === "n2-postfix-config")!.inputs.files.find((f: { path: string }) => f.path === "/etc/postfix/master.cf").content as string;
    const submission = master.slice(master.indexOf("\nsubmission "), master.indexOf("\n", master.indexOf("\nsubmission ") + 1) + 2000).split(/\n(?=\S)/)[1];
    // the sender check first: what it refuses is never signed
    expect(submission).toMatch(/-o smtpd_milters=inet:127.0.0.1:8893,inet:127.0.0.1:8891\n/);
    expect(submission).toMatch(/-o milter_default_action=tempfail$/m);
    // the zone: n1 and n2 publish their keys; revoked n3 has no selector
    const zone = resources.find((r) => r.name === "dns-zone")!.inputs.zone;
    expect(Object.fromEntries(zone.nodes.map((n: { name: string; dkimPublicKey?: string }) => [n.name, n.dkimPublicKey]))).toEqual({ n1: pub("n1"), n2: pub("n2"), n3: undefined });
    expect(resources.find((r) => r.name === "dns-check")!.inputs.zone).toEqual(zone);
    expect(exports.dkimPublicKeys).toEqual({ n1: pub("n1"), n2: pub("n2") });
  });

  test("bumping one node's tlsKeyGeneration changes that node's TLS keys and daemon configs, nothing else", async () => {
    const before = await evaluateProgram(rawConfig());
    const raw = rawConfig();
    raw.nodes[1].tlsKeyGeneration = 2;
    const after = await evaluateProgram(raw);
    const inputsOf = (rs: typeof before.resources) => new Map(rs.map((r) => [r.name, JSON.stringify({ ...r.inputs, __provider: undefined })]));
    const [b, a] = [inputsOf(before.resources), inputsOf(after.resources)];
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    expect([...a.keys()].filter((name) => a.get(name) !== b.get(name)).sort()).toEqual(["n2-dovecot-config", "n2-dovecot-tls-key", "n2-postfix-config", "n2-postfix-tls-key"]);
  });

  test("invalid config stops evaluation before any resource is registered", async () => {
    const raw = rawConfig();
    raw.nodes[1].encryptedMount.path = "/srv/crypt;reboot";
    await expect(evaluateProgram(raw)).rejects.toThrow(/invalid rplan stack config[\s\S]*encryptedMount.path/);
  });

  test("a directory rule broken by the config (master in a routing-only ring) stops evaluation too", async () => {
    const raw = rawConfig();
    raw.ldap.ringAccess = { core: "routing" };
    await expect(evaluateProgram(raw)).rejects.toThrow(/rplan:ldap.master n1 is in ring core with access routing/);
  });
});
