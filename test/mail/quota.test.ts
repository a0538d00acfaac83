/** Quota (planning/mail/quota.ts): what every MX asks, and what each home enforces. Real daemons: test/mail/mail-local.test.ts. */
import { LOCAL_READ_ATTRIBUTES, ROUTING_ATTRIBUTES } from "../../planning/ldap/schema";
import { appended, mergeSettings } from "../../planning/mail/contribution";
import { renderDovecot } from "../../planning/mail/dovecot-config";
import { renderPostfix } from "../../planning/mail/postfix-config";
import { MESSAGE_SIZE_LIMIT, QUOTA_CHECK, QUOTA_CLASS_MAP, QUOTA_STATUS_PORT, quotaClass, quotaContribution } from "../../planning/mail/quota";
import { MAIL_USER, MailNode, planMailRouting } from "../../planning/mail/routing";
import { standbyNotifyContribution } from "../../planning/quantum/standby-sync";

const node = (i: number, state: MailNode["state"]): MailNode => ({ name: `lab${i}`, state, vpnAddress: `198.18.0.1${i}`, publicAddress: `198.51.100.1${i}`, storePath: "/srv/crypt/mail", mountPath: "/srv/crypt" });
const NODES = [node(1, "active"), node(2, "active"), node(3, "revoked")];
const routing = planMailRouting({ domain: "lab.rplan.test", suffix: "dc=lab,dc=rplan,dc=test", ldapiSocket: "/run/slapd/ldapi", nodes: NODES, vpnCidrs: ["198.18.0.0/24"], vpnUnit: "tinc@rplan.service" });
const quota = quotaContribution(NODES[0], "lab.rplan.test", MAIL_USER);
const file = (files: readonly { path: string; content: string }[], p: string) => files.find((f) => f.path === p)?.content ?? "";

describe("every MX asks the recipient's home", () => {
  const postfix = renderPostfix({ name: "lab1", domain: "lab.rplan.test" }, [routing.lab1, quota]);
  const main = file(postfix.files, "/etc/postfix/main.cf");
  const master = file(postfix.files, "/etc/postfix/master.cf");

  test("a restriction class per live home asks its quota-status service on its VPN address; a home that does not answer defers", () => {
    expect(main).toContain(`smtpd_restriction_classes = ${QUOTA_CHECK}, ${quotaClass("lab1")}, ${quotaClass("lab2")}\n`);
    expect(main).toContain(`${QUOTA_CHECK} = check_recipient_access proxy:ldap:${QUOTA_CLASS_MAP}\n`);
    expect(main).toContain(`${quotaClass("lab2")} = check_policy_service { inet:198.18.0.12:${QUOTA_STATUS_PORT}, timeout=10s, try_limit=1, default_action=DEFER_IF_PERMIT }\n`);
    // a revoked home has no service to ask (its route already answers 450 at RCPT)
    expect(main).not.toContain(quotaClass("lab3"));
  });

  test("port 25 and submission both check at RCPT, after the recipient is known to exist", () => {
    expect(main).toMatch(new RegExp(`^smtpd_recipient_restrictions = reject_non_fqdn_recipient, reject_unlisted_recipient, ${QUOTA_CHECK}$`, "m"));
    expect(master).toContain(`-o smtpd_recipient_restrictions=reject_non_fqdn_recipient,reject_unlisted_recipient,${QUOTA_CHECK},permit`);
    expect(main).toMatch(new RegExp(`^proxy_read_maps = .*proxy:ldap:${QUOTA_CLASS_MAP}`, "m"));
    expect(main).toContain(`message_size_limit = ${MESSAGE_SIZE_LIMIT}\n`);
  });

  test("the table finds a recipient by address or alias, on live homes only, and names the class", () => {
    const table = file(postfix.files, QUOTA_CLASS_MAP);
    expect(table).toContain("query_filter = (&(objectClass=rplanUser)(!(rplanUserState=disabled))(|(mail=%s)(rplanMailAlias=%s))(|(rplanHome=lab1)(rplanHome=lab2)))\n");
    expect(table).toContain("result_attribute = rplanHome\n");
    expect(table).toContain("result_format = rplan_quota_%s\n");
  });
});

describe("each home enforces", () => {
  const dovecot = renderDovecot("lab1", [routing.lab1, standbyNotifyContribution(), quota]);
  const conf = file(dovecot.files, "/etc/dovecot/dovecot.conf");

  test("the quota plugin beside the standby's (two features appending to mail_plugins do not conflict)", () => {
    expect(conf).toContain("mail_plugins = $mail_plugins notify replication quota\n");
    expect(conf).toMatch(/protocol imap \{\n {2}mail_plugins = \$mail_plugins imap_quota\n/);
  });

  test("quota-status on the VPN address only; a full mailbox is 552; not homed here: DUNNO; the grace covers the largest message", () => {
    expect(conf).toMatch(new RegExp(`service quota-status \\{\\n {2}executable = quota-status -p postfix\\n {2}client_limit = 1\\n {2}inet_listener quota-status \\{\\n {4}address = 198\\.18\\.0\\.11\\n {4}port = ${QUOTA_STATUS_PORT}\\n`));
    expect(conf).toContain('quota_status_overquota = "552 5.2.2 Mailbox is full"\n');
    expect(conf).toContain("quota_status_nouser = DUNNO\n");
    expect(Number(/quota_grace = (\d+)M/.exec(conf)![1]) * 1_048_576).toBeGreaterThanOrEqual(MESSAGE_SIZE_LIMIT);
    // what the MX accepted, the home defers when full (never refuses: a refusal there is a bounce)
    expect(conf).toContain("quota_full_tempfail = yes\n");
  });

  test("the rule comes from rplanQuota (none: no limit), and the userdb finds a user by alias too", () => {
    const userdb = file(dovecot.files, "/etc/dovecot/rplan/ldap-userdb.conf.ext");
    expect(userdb).toContain("=quota_rule=*:storage=%{ldap:rplanQuota:0}B");
    expect(userdb).toMatch(/user_filter = .*\(\|\(uid=%u\)\(mail=%u\)\(rplanMailAlias=%u\)\)\)/);
    // dovecot reads the replica anonymously over ldapi: every attribute its userdb names must be one
    // the ACL lets local readers see (else the rule is silently absent: no limit, found on the lab)
    const named = [...userdb.matchAll(/%\{ldap:(\w+)/g)].map((m) => m[1]);
    expect(named).toContain("rplanQuota");
    expect(named.filter((a) => ![...ROUTING_ATTRIBUTES, ...LOCAL_READ_ATTRIBUTES].includes(a))).toEqual([]);
  });

  test("a warning at 90 %, delivered without enforcing the quota", () => {
    const script = file(dovecot.files, "/etc/dovecot/rplan/quota-warning.sh");
    expect(conf).toContain("quota_warning = storage=90%% quota-warning 90 %u\n");
    expect(script).toContain('dovecot-lda -d "$user" -o "plugin/quota=maildir:User quota:noenforcing"');
  });
});

describe("list settings two features append to", () => {
  test("appends merge, each item once; anything else is no append", () => {
    expect(appended("mail_plugins", "$mail_plugins notify replication", "$mail_plugins quota")).toBe("$mail_plugins notify replication quota");
    expect(appended("mail_plugins", "$mail_plugins quota", "$mail_plugins quota")).toBe("$mail_plugins quota");
    expect(appended("mail_plugins", "quota", "$mail_plugins quota")).toBeUndefined();
    expect(appended("mail_plugins", "$other a", "$mail_plugins b")).toBeUndefined();
  });

  test("two features setting a plain value differently still conflict", () => {
    const problems: string[] = [];
    mergeSettings("x", {}, [{ feature: "a", settings: { k: "1" } }, { feature: "b", settings: { k: "2" } }], problems);
    expect(problems).toEqual(['x: k is set by a ("1") and by b ("2")']);
  });
});
