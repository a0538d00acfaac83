/** planning/mail/routing: what every node's postfix and dovecot get so that mail reaches each user's home. */
import { DaemonContribution } from "../../planning/mail/contribution";
import { renderDovecot } from "../../planning/mail/dovecot-config";
import { renderPostfix } from "../../planning/mail/postfix-config";
import { homeTransport, MailNode, MailRoutingInput, planMailRouting, storeCommand } from "../../planning/mail/routing";
import { PLAIN_QUEUE_DIR, POSTFIX_DROP_IN, queueCommand } from "../../planning/mail/queue";
import { planServiceTls, tlsContribution } from "../../planning/service-tls";

const node = (i: number, state: MailNode["state"] = "active"): MailNode => ({
  name: `n${i}`,
  state,
  vpnAddress: `198.18.0.1${i}`,
  publicAddress: `198.51.100.1${i}`,
  storePath: "/srv/crypt/mail",
  mountPath: "/srv/crypt",
});
const input = (nodes: MailNode[]): MailRoutingInput => ({
  domain: "example.org",
  suffix: "dc=example,dc=org",
  ldapiSocket: "/var/run/slapd/ldapi",
  nodes,
  vpnCidrs: ["198.18.0.0/24"],
  vpnUnit: "tinc@rplan.service",
});
const tls = (name: string) =>
  tlsContribution(planServiceTls({ name, publicAddress: "198.51.100.11" }, { postfix: "/srv/crypt/keys/postfix", dovecot: "/srv/crypt/keys/dovecot" }, "example.org"));
const rendered = (name: string, routing: DaemonContribution) => [
  ...renderPostfix({ name, domain: "example.org" }, [tls(name), routing]).files,
  ...renderDovecot(name, [tls(name), routing]).files,
];
const fileOf = (files: { path: string; content: string }[], p: string) => files.find((f) => f.path === p)?.content ?? "";

describe("planMailRouting", () => {
  const plan = planMailRouting(input([node(1), node(2), node(3, "draining"), node(4, "revoked")]));

  test("every non-revoked node gets a contribution; a revoked one none", () => {
    expect(Object.keys(plan).sort()).toEqual(["n1", "n2", "n3"]);
  });

  test("the home's transport: this node → the local LMTP socket, a peer → its LMTP on its VPN address, revoked → deferred", () => {
    expect(homeTransport(node(1), node(1))).toBe("rplan-lmtp:unix:/run/dovecot/lmtp-postfix");
    expect(homeTransport(node(1), node(3, "draining"))).toBe("rplan-lmtp:inet:[198.18.0.13]:24");
    expect(homeTransport(node(1), node(4, "revoked"))).toBe("retry:home node n4 is revoked");
    const main = plan.n1.postfix!.main!;
    expect(main.transport_maps).toBe(
      "inline:{ held.rplan.invalid=rplan_held: }, proxy:ldap:/etc/postfix/rplan/ldap-route.cf, pipemap:{proxy:ldap:/etc/postfix/rplan/ldap-home.cf, inline:{ {n1=rplan-lmtp:unix:/run/dovecot/lmtp-postfix}, {n2=rplan-lmtp:inet:[198.18.0.12]:24}, {n3=rplan-lmtp:inet:[198.18.0.13]:24}, {n4=retry:home node n4 is revoked} }}",
    );
    expect(plan.n2.postfix!.main!.transport_maps).toContain("{n2=rplan-lmtp:unix:/run/dovecot/lmtp-postfix}");
  });

  test("nothing is bounced: internal deliveries soft-bounce; unknown homes go to the local LMTP (which defers), not to an error transport", () => {
    expect(plan.n1.postfix!.master!.find((s) => s.service === "rplan-lmtp")!.options).toMatchObject({ soft_bounce: "yes" });
    expect(plan.n1.postfix!.main!.virtual_transport).toBe("rplan-lmtp:unix:/run/dovecot/lmtp-postfix");
    expect(JSON.stringify(plan)).not.toMatch(/\berror:/);
  });

  test("no public address in any route: peers are reached on their VPN addresses only", () => {
    for (const [name, c] of Object.entries(plan)) {
      const files = rendered(name, c);
      const text = files.map((f) => f.content).join("\n");
      const self = node(Number(name.slice(1)));
      for (const n of [1, 2, 3, 4].map((i) => node(i)).filter((n) => n.name !== name)) expect(text).not.toContain(n.publicAddress);
      // its own public address only where dovecot recognises itself (proxy_maybe)
      expect(text.split("\n").filter((l) => l.includes(self.publicAddress))).toEqual([`auth_proxy_self = ${self.vpnAddress} ${self.publicAddress}`]);
    }
  });

  test("lookups go to the node's own replica over ldapi, filtered to active rplan users of the domain", () => {
    const files = rendered("n1", plan.n1);
    const home = fileOf(files, "/etc/postfix/rplan/ldap-home.cf");
    expect(home).toContain("server_host = ldapi://%2Fvar%2Frun%2Fslapd%2Fldapi\n");
    expect(home).toContain("domain = example.org\n");
    expect(home).toContain("query_filter = (&(objectClass=rplanUser)(!(rplanUserState=disabled))(mail=%s))\nresult_attribute = rplanHome\n");
    expect(fileOf(files, "/etc/postfix/rplan/ldap-aliases.cf")).toContain("(rplanMailAlias=%s))\nresult_attribute = mail\n");
    expect(files.map((f) => f.content).join("\n")).not.toMatch(/bind_?pw|secret/i);
  });

  test("dovecot: one passdb per live home — its own served here, every other proxied (proxy_maybe) to the home's VPN address; Debian's PAM passdb gone", () => {
    const dovecot = fileOf(rendered("n1", plan.n1), "/etc/dovecot/dovecot.conf");
    expect(dovecot).not.toContain("driver = pam");
    // First the users whose mailbox is moving: refused with "try again" before any home would serve them.
    expect([...dovecot.matchAll(/^passdb (\S+) \{/gm)].map((m) => m[1])).toEqual(["moving", "home-n1", "home-n2", "home-n3"]);
    expect(fileOf(rendered("n1", plan.n1), "/etc/dovecot/rplan/ldap-moving.conf.ext")).toMatch(/pass_filter = \(&\(objectClass=rplanUser\)\(rplanUserState=frozen\).*\npass_attrs = uid=user, =nologin=y, =reason=/);
    // LMTP delivers to no moving user: a stale route's delivery is deferred, never left in the old copy.
    expect(fileOf(rendered("n1", plan.n1), "/etc/dovecot/rplan/ldap-userdb.conf.ext")).toContain("(rplanHome=n1)(!(rplanUserState=frozen))");
    const files = rendered("n1", plan.n1);
    expect(fileOf(files, "/etc/dovecot/rplan/ldap-home-n1.conf.ext")).toContain("pass_attrs = uid=user\n");
    expect(fileOf(files, "/etc/dovecot/rplan/ldap-home-n2.conf.ext")).toContain("pass_attrs = uid=user, =proxy_maybe=y, =host=198.18.0.12\n");
    expect(fileOf(files, "/etc/dovecot/rplan/ldap-userdb.conf.ext")).toContain("(rplanHome=n1)");
    expect(dovecot).toContain("inet_listener lmtp {\n    address = 198.18.0.11\n    port = 24\n  }");
    expect(fileOf(files, "/etc/systemd/system/dovecot.service.d/rplan.conf")).toContain("After=tinc@rplan.service\n");
  });

  test("submission on 587: STARTTLS required, SASL through dovecot, only authenticated clients relay", () => {
    const sub = plan.n1.postfix!.master!.find((s) => s.service === "submission")!;
    expect(sub.options).toMatchObject({ smtpd_tls_security_level: "encrypt", smtpd_sasl_auth_enable: "yes", smtpd_sasl_type: "dovecot", smtpd_relay_restrictions: "permit_sasl_authenticated,reject" });
  });

  test("the mail store is created only while the encrypted mount is mounted", () => {
    const argv = storeCommand(node(1));
    expect(argv.slice(0, 2)).toEqual(["sh", "-c"]);
    expect(argv[2]).toMatch(/^mountpoint -q "\$1" \|\| \{/);
    expect(argv.slice(4)).toEqual(["/srv/crypt", "/srv/crypt/mail", "mail"]);
    expect(renderDovecot("n1", [plan.n1]).reload).toContainEqual(argv);
  });

  test("postfix's queue is inside the encrypted mount: main.cf, dovecot's sockets, the move of an old queue, postfix kept down while unmounted", () => {
    const postfix = renderPostfix({ name: "n1", domain: "example.org" }, [plan.n1]);
    const main = fileOf(postfix.files, "/etc/postfix/main.cf");
    expect(main).toMatch(/^queue_directory = \/srv\/crypt\/postfix$/m);
    expect(main).not.toContain(PLAIN_QUEUE_DIR);
    // dovecot's LMTP and auth sockets for postfix in dovecot's run directory, never in the mount
    // (a socket re-created on gocryptfs could come back unconnectable); their clients unchrooted.
    const dovecot = renderDovecot("n1", [plan.n1]);
    const conf = fileOf(dovecot.files, "/etc/dovecot/dovecot.conf");
    // named relative to dovecot's base_dir /run/dovecot (an absolute path there makes doveconf warn)
    expect(conf).toMatch(/unix_listener lmtp-postfix \{\n {4}mode = 0600\n {4}user = postfix\n {4}group = postfix\n/);
    expect(conf).toMatch(/unix_listener auth-postfix \{\n {4}mode = 0660\n {4}user = postfix\n {4}group = postfix\n/);
    expect(conf).not.toMatch(/unix_listener \//);
    expect(conf).not.toContain(PLAIN_QUEUE_DIR);
    const master = fileOf(postfix.files, "/etc/postfix/master.cf");
    expect(master).toMatch(/^rplan-lmtp\s+unix\s+-\s+-\s+n\s+-\s+-\s+lmtp$/m);
    expect(master).toMatch(/^submission\s+inet\s+n\s+-\s+n\s+-\s+-\s+smtpd$/m);
    expect(master).toContain("-o smtpd_sasl_path=/run/dovecot/auth-postfix");
    // the queue is set up (and an old queue's mail carried over) after main.cf changes, before the check and the reload
    const move = queueCommand("/srv/crypt", "/srv/crypt/postfix");
    const at = (argv: string[]) => postfix.reload.findIndex((r) => JSON.stringify(r) === JSON.stringify(argv));
    expect(at(move)).toBeGreaterThan(at(["systemctl", "daemon-reload"]));
    expect(at(["systemctl", "daemon-reload"])).toBeGreaterThanOrEqual(0);
    expect(at(["postfix", "check"])).toBeGreaterThan(at(move));
    expect(move.slice(3)).toEqual(["sh", "/srv/crypt", "/srv/crypt/postfix", PLAIN_QUEUE_DIR]);
    expect(move[2]).toMatch(/^set -eu\nmount=\$1 q=\$2 old=\$3\nmountpoint -q "\$mount" \|\| \{/);
    // mail is removed from the old queue only after it was copied and renamed
    const script = move[2];
    expect(script.indexOf("-delete")).toBeGreaterThan(script.indexOf("postsuper -s"));
    expect(script.indexOf("postsuper -s")).toBeGreaterThan(script.indexOf("cp -a --parents"));
    // postfix does not start while the mount is not mounted; the check runs before Debian's own step
    const dropIn = fileOf(postfix.files, POSTFIX_DROP_IN);
    expect(dropIn.split("\n").filter((l) => l.startsWith("ExecStartPre="))).toEqual(["ExecStartPre=", "ExecStartPre=/usr/bin/mountpoint -q /srv/crypt", "ExecStartPre=/usr/lib/postfix/configure-instance.sh %i"]);
  });

  test("a drop-in for postfix elsewhere than its unit's directory is refused", () => {
    const bad: DaemonContribution = { feature: "x", postfix: { dropIns: [{ path: "/etc/systemd/system/ssh.service.d/x.conf", content: "" }] } };
    expect(() => renderPostfix({ name: "n1", domain: "example.org" }, [bad])).toThrow(/x: \/etc\/systemd\/system\/ssh.service.d\/x.conf must be a .conf file directly in \/etc\/systemd\/system\/postfix@-.service.d/);
  });

  test("bad input is refused with every problem named, before anything is rendered", () => {
    const bad = input([{ ...node(1), name: "n1;reboot", storePath: "/var/mail" }, { ...node(2), storePath: "/srv/crypt/../etc", publicAddress: "198.51.100.12 x" }, node(2), { ...node(5), mountPath: "/srv/$(x)", storePath: "/srv/$(x)/mail" }]);
    expect(() => planMailRouting({ ...bad, domain: "Example.org", ldapiSocket: "/run/$(x)" })).toThrow(
      [
        "cannot plan mail routing:",
        '  - domain "Example.org" is not a lower-case domain',
        '  - ldapi socket "/run/$(x)" is not a safe absolute path',
        '  - node name "n1;reboot" is not valid',
        "  - node n1;reboot: the mail store /var/mail must lie inside the encrypted mount /srv/crypt",
        '  - node n2: public address "198.51.100.12 x" is not an IP address',
        '  - node n2: mail store "/srv/crypt/../etc" is not a safe absolute path',
        "  - node n2 is listed twice",
        '  - node n5: encrypted mount "/srv/$(x)" is not a safe absolute path',
        '  - node n5: mail store "/srv/$(x)/mail" is not a safe absolute path',
      ].join("\n"),
    );
    expect(() => planMailRouting(input([node(1, "revoked")]))).toThrow(/no active node/);
    expect(() => planMailRouting(input([{ ...node(1), vpnAddress: "2001:db8::1" }]))).toThrow('node n1: VPN address "2001:db8::1" must be IPv4');
  });

  test("a public IPv6 address (as in the example production stack) is one of the node's own addresses for dovecot", () => {
    const v6 = planMailRouting(input([{ ...node(1), publicAddress: "2001:db8:1::11" }, node(2)]));
    expect(fileOf(rendered("n1", v6.n1), "/etc/dovecot/dovecot.conf")).toMatch(/auth_proxy_self = 198\.18\.0\.11 2001:db8:1::11\n/);
  });
});
