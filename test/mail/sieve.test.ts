/** Sieve (planning/mail/sieve.ts): what each node's dovecot and postfix get. Real daemons: test/mail/mail.lab.test.ts, test/placement/moves.lab.test.ts. */
import { renderDovecot } from "../../planning/mail/dovecot-config";
import { renderPostfix } from "../../planning/mail/postfix-config";
import { LOCAL_CLEANUP, OPENDKIM_PORT, ORIGINATING } from "../../planning/mail/dkim";
import { quotaContribution } from "../../planning/mail/quota";
import { MAIL_USER, MailNode, planMailRouting } from "../../planning/mail/routing";
import { MANAGESIEVE_PORT, SIEVE_ACTIVE, SIEVE_DIR, SIEVE_MAX_SCRIPT_SIZE, sieveContribution } from "../../planning/mail/sieve";
import { standbyNotifyContribution } from "../../planning/quantum/standby-sync";

const node = (i: number): MailNode => ({ name: `lab${i}`, state: "active", vpnAddress: `198.18.0.1${i}`, publicAddress: `198.51.100.1${i}`, storePath: "/srv/crypt/mail", mountPath: "/srv/crypt" });
const NODES = [node(1), node(2)];
const routing = planMailRouting({ domain: "lab.rplan.test", suffix: "dc=lab,dc=rplan,dc=test", ldapiSocket: "/run/slapd/ldapi", nodes: NODES, vpnCidrs: ["198.18.0.0/24"], vpnUnit: "tinc@rplan.service" });
const file = (files: readonly { path: string; content: string }[], p: string) => files.find((f) => f.path === p)?.content ?? "";

describe("dovecot on every node", () => {
  const dovecot = renderDovecot("lab1", [routing.lab1, standbyNotifyContribution(), quotaContribution(NODES[0], "lab.rplan.test", MAIL_USER), sieveContribution()]);
  const conf = file(dovecot.files, "/etc/dovecot/dovecot.conf");

  test("the home's LMTP runs the user's script, beside the quota plugin (both append to mail_plugins)", () => {
    expect(conf).toMatch(/protocol lmtp \{\n {2}lmtp_rcpt_check_quota = yes\n {2}mail_plugins = \$mail_plugins sieve\n/);
    expect(conf).toContain("mail_plugins = $mail_plugins notify replication quota\n");
  });

  test("the scripts are in the user's dovecot home, which is the user's folder in the store inside the mount: the quantum dsync moves", () => {
    expect(conf).toContain(`sieve = file:~/${SIEVE_DIR};active=~/${SIEVE_ACTIVE}\n`);
    const userdb = file(dovecot.files, "/etc/dovecot/rplan/ldap-userdb.conf.ext");
    expect(userdb).toMatch(/=home=\/srv\/crypt\/mail\/%\{ldap:uid\},/);
  });

  test("ManageSieve is served on every node, on its port; a script has a size limit; vacation's period has a floor", () => {
    expect(conf).toContain("protocols = imap pop3 lmtp sieve\n");
    expect(conf).toMatch(new RegExp(`service managesieve-login \\{\\n {2}inet_listener sieve \\{\\n {4}port = ${MANAGESIEVE_PORT}\\n`));
    expect(conf).toContain(`sieve_max_script_size = ${SIEVE_MAX_SCRIPT_SIZE}\n`);
    expect(conf).toContain("sieve_vacation_min_period = 1d\n");
    // a redirect's bounces go back to the user who redirected, not to a sender whose domain never sent it from here
    expect(conf).toContain("sieve_redirect_envelope_from = recipient\n");
    // refusing after the MX accepted would be a bounce
    expect(conf).toContain("sieve_extensions = -reject\n");
  });

  test("a ManageSieve login for a user homed elsewhere is proxied by the same passdb as IMAP", () => {
    const passdb = file(dovecot.files, "/etc/dovecot/rplan/ldap-home-lab2.conf.ext");
    expect(passdb).toContain("pass_attrs = uid=user, =proxy_maybe=y, =host=198.18.0.12\n");
    // no protocol restriction: the passdb sections are not inside `protocol imap { }`
    expect(conf).toMatch(/^passdb home-lab2 \{/m);
  });
});

describe("postfix: what sieve sends is signed", () => {
  const postfix = renderPostfix({ name: "lab1", domain: "lab.rplan.test" }, [routing.lab1, sieveContribution()]);
  const master = file(postfix.files, "/etc/postfix/master.cf");

  test("pickup hands mail to a cleanup of its own, which runs opendkim as submission does and defers when it does not answer", () => {
    expect(master).toMatch(new RegExp(`^pickup +unix +n +- +y +60 +1 +pickup\\n {2}-o cleanup_service_name=${LOCAL_CLEANUP}\\n`, "m"));
    const own = new RegExp(`^${LOCAL_CLEANUP} +unix .*cleanup\\n((?: {2}-o .*\\n)+)`, "m").exec(master)?.[1] ?? "";
    expect(own).toContain(`-o non_smtpd_milters=inet:127.0.0.1:${OPENDKIM_PORT}\n`);
    expect(own).toContain(`-o milter_macro_daemon_name=${ORIGINATING}\n`);
    expect(own).toContain("-o milter_default_action=tempfail\n");
    // the main cleanup (port 25's mail) runs no milter
    expect(file(postfix.files, "/etc/postfix/main.cf")).not.toMatch(/^non_smtpd_milters = ./m);
  });
});
