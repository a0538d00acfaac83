/** The spam filter (planning/mail/spam.ts) and `rplan:spam`. Real daemons: test/mail/mail.lab.test.ts. */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEFAULT_SPAM, parseSpam } from "../../planning/config/spam";
import { renderDovecot } from "../../planning/mail/dovecot-config";
import { renderPostfix } from "../../planning/mail/postfix-config";
import { quotaContribution } from "../../planning/mail/quota";
import { MAIL_USER, MailNode, planMailRouting } from "../../planning/mail/routing";
import { sieveContribution } from "../../planning/mail/sieve";
import { JUNK_SCRIPT, LEARN_BIN_DIR, LEARN_COMMAND, REDIS_CONF, RSPAMD_LOCAL, RSPAMD_MILTER, RSPAMD_MODULES_OFF, renderSpamFilter, spamContribution, SpamFilterInput, SPAM_LIB } from "../../planning/mail/spam";

const input = (node: string, vpnAddress: string, over: Partial<SpamFilterInput> = {}): SpamFilterInput => ({
  node,
  vpnAddress,
  mountPath: "/srv/crypt",
  master: { name: "lab1", vpnAddress: "198.18.0.11" },
  vpnUnit: "tinc@rplan.service",
  settings: DEFAULT_SPAM,
  ...over,
});
const file = (files: readonly { path: string; content: string }[], p: string) => files.find((f) => f.path === p)?.content ?? "";
const master = renderSpamFilter(input("lab1", "198.18.0.11"), MAIL_USER);
const replica = renderSpamFilter(input("lab2", "198.18.0.12"), MAIL_USER);

describe("one learned state for every node", () => {
  test("the directory's master holds the writable copy; every other node a read-only replica of it", () => {
    expect(file(master.files, REDIS_CONF)).not.toMatch(/^replicaof /m);
    expect(file(replica.files, REDIS_CONF)).toMatch(/^replicaof 198\.18\.0\.11 6379$/m);
    expect(file(replica.files, REDIS_CONF)).toMatch(/^replica-read-only yes$/m);
    for (const r of [master, replica]) expect(file(r.files, `${RSPAMD_LOCAL}/redis.conf`)).toMatch(/^read_servers = "127\.0\.0\.1:6379";$/m);
    expect(file(master.files, `${RSPAMD_LOCAL}/redis.conf`)).toMatch(/^write_servers = "127\.0\.0\.1:6379";$/m);
    expect(file(replica.files, `${RSPAMD_LOCAL}/redis.conf`)).toMatch(/^write_servers = "198\.18\.0\.11:6379";$/m);
  });

  test("redis listens on loopback and the VPN only, keeps its data in the mount, and takes no reconfiguring command from the network", () => {
    const conf = file(replica.files, REDIS_CONF);
    expect(conf).toMatch(/^bind 127\.0\.0\.1 198\.18\.0\.12$/m);
    expect(conf).toMatch(/^dir \/srv\/crypt\/redis$/m);
    for (const c of ["CONFIG", "REPLICAOF", "SLAVEOF", "FLUSHALL", "DEBUG"]) expect(conf).toContain(`rename-command ${c} ""\n`);
    // the data directory is made only while the mount is mounted
    const [mk] = replica.reload;
    expect(mk.slice(0, 3)).toEqual(["sh", "-c", expect.stringContaining('mountpoint -q "$1" ||')]);
    expect(mk.slice(-2)).toEqual(["/srv/crypt", "/srv/crypt/redis"]);
  });

  test("the Junk script is compiled by rplan, after the script changes and after dovecot's configuration does (dovecot cannot save a binary under /usr)", () => {
    expect(replica.reload).toContainEqual(["sievec", JUNK_SCRIPT]);
    expect(spamContribution().dovecot!.commands).toEqual([["sievec", JUNK_SCRIPT]]);
  });

  test("nothing that depends on the node or keeps a history or asks a third party", () => {
    for (const m of ["greylist", "ratelimit", "history_redis", "fuzzy_check"]) {
      expect(RSPAMD_MODULES_OFF).toContain(m);
      expect(file(replica.files, `${RSPAMD_LOCAL}/${m}.conf`)).toMatch(/^enabled = false;$/m);
    }
    expect(file(replica.files, `${RSPAMD_LOCAL}/classifier-bayes.conf`)).toMatch(/^autolearn = false;$/m);
  });

  test("it signs nothing (DKIM is opendkim's) and logs one line per message, not its regular-expression statistics too", () => {
    expect(file(replica.files, `${RSPAMD_LOCAL}/dkim_signing.conf`)).toMatch(/^enabled = false;$/m);
    expect(file(replica.files, `${RSPAMD_LOCAL}/logging.inc`)).toMatch(/^log_re_cache = false;$/m);
  });
});

describe("the verdict", () => {
  test("refused at the reject score, to Junk from the junk score; test patterns only when asked", () => {
    const custom = renderSpamFilter(input("lab2", "198.18.0.12", { settings: { reject: 20, junk: 8, testPatterns: true } }), MAIL_USER);
    expect(file(custom.files, `${RSPAMD_LOCAL}/actions.conf`)).toMatch(/^reject = 20;\nadd_header = 8;\ngreylist = null;/m);
    expect(file(custom.files, `${RSPAMD_LOCAL}/options.inc`)).toMatch(/^enable_test_patterns = true;$/m);
    expect(file(replica.files, `${RSPAMD_LOCAL}/options.inc`)).toMatch(/^enable_test_patterns = false;$/m);
  });

  test("its log line names no client, envelope or Message-ID, and goes through syslog (the node's masks)", () => {
    const logging = file(replica.files, `${RSPAMD_LOCAL}/logging.inc`);
    expect(logging).toMatch(/^type = "syslog";$/m);
    const format = /^log_format = "(.*)";$/m.exec(logging)?.[1] ?? "";
    expect(format).toContain("$action");
    for (const v of ["$ip", "$smtp_from", "$mime_from", "$smtp_rcpts", "$mime_rcpts", "$mid", "$user"]) expect(format).not.toContain(v);
  });

  test("port 25 asks rspamd and defers when it does not answer; submission keeps its own milters", () => {
    const routing = planMailRouting({ domain: "lab.rplan.test", suffix: "dc=lab,dc=rplan,dc=test", ldapiSocket: "/run/slapd/ldapi", nodes: [node(1), node(2)], vpnCidrs: ["198.18.0.0/24"], vpnUnit: "tinc@rplan.service" });
    const postfix = renderPostfix({ name: "lab1", domain: "lab.rplan.test" }, [routing.lab1, spamContribution()]);
    const main = file(postfix.files, "/etc/postfix/main.cf");
    expect(main).toMatch(new RegExp(`^smtpd_milters = ${RSPAMD_MILTER}$`, "m"));
    expect(main).toMatch(/^milter_default_action = tempfail$/m);
    const submission = /^submission +inet .*\n((?: {2}-o .*\n)+)/m.exec(file(postfix.files, "/etc/postfix/master.cf"))?.[1] ?? "";
    expect(submission).toMatch(/-o smtpd_milters=/);
    expect(submission).not.toContain(RSPAMD_MILTER);
  });
});

const node = (i: number): MailNode => ({ name: `lab${i}`, state: "active", vpnAddress: `198.18.0.1${i}`, publicAddress: `198.51.100.1${i}`, storePath: "/srv/crypt/mail", mountPath: "/srv/crypt" });

describe("Junk and training on the home", () => {
  const routing = planMailRouting({ domain: "lab.rplan.test", suffix: "dc=lab,dc=rplan,dc=test", ldapiSocket: "/run/slapd/ldapi", nodes: [node(1), node(2)], vpnCidrs: ["198.18.0.0/24"], vpnUnit: "tinc@rplan.service" });
  const conf = file(renderDovecot("lab1", [routing.lab1, quotaContribution(node(1), "lab.rplan.test", MAIL_USER), sieveContribution(), spamContribution()]).files, "/etc/dovecot/dovecot.conf");

  test("rspamd's mark files into Junk before the user's own script; moves into and out of Junk are piped to the learn command", () => {
    expect(conf).toContain(`sieve_before = ${SPAM_LIB}/junk.sieve\n`);
    expect(conf).toContain("imapsieve_mailbox1_name = Junk\n");
    expect(conf).toContain("imapsieve_mailbox2_from = Junk\n");
    expect(conf).toContain(`sieve_pipe_bin_dir = ${LEARN_BIN_DIR}\n`);
    // only rplan's global scripts may pipe
    expect(conf).toContain("sieve_global_extensions = +vnd.dovecot.pipe\n");
    expect(conf).toMatch(/protocol imap \{\n {2}mail_plugins = \$mail_plugins imap_quota imap_sieve\n/);
    expect(file(replica.files, `${SPAM_LIB}/junk.sieve`)).toContain('if header :is "X-Spam" "Yes" { fileinto :create "Junk"; stop; }');
    expect(file(replica.files, `${SPAM_LIB}/learn-ham.sieve`)).toContain('if string "${to}" "Trash" { stop; }');
  });

  test("the learn command takes spam or ham and nothing else (real sh)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-learn-"));
    try {
      const script = path.join(dir, LEARN_COMMAND);
      fs.writeFileSync(script, file(replica.files, `${LEARN_BIN_DIR}/${LEARN_COMMAND}`), { mode: 0o755 });
      const r = spawnSync("sh", [script, "spam; rm -rf /"], { encoding: "utf8" });
      expect({ code: r.status, err: r.stderr.trim() }).toEqual({ code: 64, err: "usage: rplan-learn spam|ham" });
      expect(execFileSync("sh", ["-n", script])).toHaveLength(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("bad input stops the plan, every problem at once", () => {
  test("renderSpamFilter", () => {
    expect(() => renderSpamFilter(input("lab2", "198.18.0.x", { mountPath: "/srv/../etc", settings: { reject: 6, junk: 6, testPatterns: false } }), MAIL_USER)).toThrow(
      /VPN address "198\.18\.0\.x" must be IPv4\n.*encrypted mount "\/srv\/\.\.\/etc" is not a safe absolute path\n.*the junk score \(6\) must be above 0 and below the reject score \(6\)/,
    );
  });

  test("rplan:spam", () => {
    const problems: string[] = [];
    expect(parseSpam({ reject: 10, junk: 12, testPatterns: "yes", greylist: 4 }, (p) => problems.push(p))).toBeDefined();
    expect(problems).toEqual([
      'rplan:spam: unknown key "greylist" (known: reject, junk, testPatterns)',
      "rplan:spam.junk (12) must be below rplan:spam.reject (10): mail scored between them goes to Junk",
      'rplan:spam.testPatterns must be true or false (got "yes")',
    ]);
    const more: string[] = [];
    parseSpam({ reject: "15", junk: -1 }, (p) => more.push(p));
    expect(more).toEqual(['rplan:spam.reject must be a score above 0 and at most 1000 (got "15")', "rplan:spam.junk must be a score above 0 and at most 1000 (got -1)"]);
    expect(parseSpam(undefined, () => undefined)).toEqual({ reject: 15, junk: 6, testPatterns: false });
  });
});
