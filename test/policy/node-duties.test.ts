/**
 * The rules for what every active node must do (issue #14 item 7): serve the zone, sign with a DKIM
 * key inside its mount, anonymise submitted headers and logs. Built on the resources the real
 * program registers (the zone, knot.conf, dns-check, postfix's config), plus the DkimKey and the
 * log-anonymity HostFiles as their providers/components register them (crafted here: see the
 * "complete" stack below).
 */
import * as path from "path";
import { loadPolicyConfig } from "../../policy/config";
import {
  checkDkimKeys,
  checkHeaderAnonymity,
  checkKeyGenerationResource,
  checkKeyGenerationStack,
  checkLandedStack,
  checkLogAnonymity,
  checkSpamFilter,
  checkZoneServed,
  DUTY_NAMES,
  evaluatePolicies,
  journaldSetting,
  masterCfServices,
  ResourceDesc,
  RuleOutput,
  UNKNOWN,
} from "../../policy/rules";
import { JOURNALD_DROP_IN, planLogAnonymity, RSYSLOG_DROP_IN } from "../../planning/logs/anonymity";
import { SUBMISSION_HEADER_CHECKS } from "../../planning/mail/anonymity";
import { POSTFIX_MAIN_CF, POSTFIX_MASTER_CF } from "../../planning/mail/postfix-config";
import { RSPAMD_PROXY_CONF } from "../../planning/mail/spam";
import { rawConfig } from "../support/config-fixture";
import { HOST_FILES, hostOf, messages, onNode, PKCS8_PEM, programResources } from "./support";

const DKIM_KEY = "pulumi-nodejs:dynamic/rplan:DkimKey";
const PROD = loadPolicyConfig(path.join(__dirname, "../../policy/prod-config.json"));
const NODES = ["n1", "n2", "n3"];
const JOURNALD_NONE = "# rplan\n[Journal]\nStorage=none\nForwardToSyslog=yes\n";

let program: ResourceDesc[];
beforeAll(async () => {
  program = await programResources();
});

/** A DkimKey as the provider reports it once created: ServiceTlsKey's shape, the key in the mount's keys/dkim. */
const dkimKey = (node: string, props: Record<string, unknown> = {}): ResourceDesc =>
  onNode(hostOf(program, node), DKIM_KEY, DUTY_NAMES.dkimKey(node), {
    privateKeyPath: "/srv/crypt/keys/dkim/dkim.key",
    selector: node,
    publicKey: "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n",
    landedOn: [{ path: "/srv/crypt/keys/dkim/dkim.key", resolved: "/srv/crypt/keys/dkim/dkim.key", fsType: "fuse.gocryptfs", encrypted: true }],
    ...props,
  });
/** `<node>-log-anonymity` as components/node.ts registers it (the files of planning/logs, journald keeping nothing). */
const logAnonymity = (node: string, files: { path: string; content: unknown }[] = [{ path: RSYSLOG_DROP_IN, content: "module(load=\"mmanon\")\n" }, { path: JOURNALD_DROP_IN, content: JOURNALD_NONE }]): ResourceDesc =>
  onNode(hostOf(program, node), HOST_FILES, DUTY_NAMES.logAnonymity(node), { files });

/**
 * The program with every node's DkimKey and log anonymity as crafted above, in place of any the
 * program registers itself: the messages below depend on these exact shapes.
 */
const complete = (): ResourceDesc[] => [
  ...program.filter((r) => r.type !== DKIM_KEY && !NODES.some((n) => r.name === DUTY_NAMES.logAnonymity(n))),
  ...NODES.map((n) => dkimKey(n)),
  ...NODES.map((n) => logAnonymity(n)),
];
const without = (rs: ResourceDesc[], name: string) => rs.filter((r) => r.name !== name);
const replacing = (rs: ResourceDesc[], name: string, f: (r: ResourceDesc) => ResourceDesc) => rs.map((r) => (r.name === name ? f(r) : r));
const withFiles = (r: ResourceDesc, files: unknown): ResourceDesc => ({ ...r, props: { ...r.props, files } });
const filesOf = (r: ResourceDesc) => r.props.files as { path: string; content: string }[];
const prodMandatory = (rs: ResourceDesc[], phase: "preview" | "up" = "up") => evaluatePolicies(rs, { phase, config: PROD }).mandatory.map((d) => `${d.policy}: ${d.message}`);
const named = (rs: ResourceDesc[], name: string) => rs.find((r) => r.name === name)!;
const unknownReasons = (out: RuleOutput) => out.unknowns.map((u) => u.reason);

describe("the complete stack", () => {
  test("passes every rule, under prod's config and the defaults", () => {
    const rs = complete();
    for (const check of [checkZoneServed, checkDkimKeys, checkHeaderAnonymity, checkLogAnonymity, checkSpamFilter]) expect(check(rs)).toEqual({ violations: [], unknowns: [] });
    expect(evaluatePolicies(rs, { phase: "up", config: PROD }).diagnostics).toEqual([]);
    expect(evaluatePolicies(rs, { phase: "up" }).diagnostics).toEqual([]);
  });

  // Needs the merged tree: the program registers the DkimKey and <node>-log-anonymity itself.
  test("the real program, as it is, passes the four rules", () => {
    for (const check of [checkZoneServed, checkDkimKeys, checkHeaderAnonymity, checkLogAnonymity, checkSpamFilter]) expect(messages(check(program))).toEqual([]);
  });

  test("prod makes the five rules mandatory; elsewhere they are advisory", () => {
    const rs = without(without(complete(), DUTY_NAMES.zone("n1")), DUTY_NAMES.logAnonymity("n2"));
    expect(prodMandatory(rs)).toEqual([
      "active-nodes-serve-zone: active node n1: no HostFiles dns-n1-zone (an active node serves the zone: NS and the round-robin names point at it)",
      "active-nodes-anonymise-logs: active node n2: no HostFiles n2-log-anonymity (its logs would keep client addresses and mail addresses)",
    ]);
    const byDefault = evaluatePolicies(rs, { phase: "up" });
    expect(byDefault.mandatory).toEqual([]);
    expect(byDefault.diagnostics.map((d) => [d.policy, d.enforcementLevel])).toEqual([
      ["active-nodes-serve-zone", "advisory"],
      ["active-nodes-anonymise-logs", "advisory"],
    ]);
  });

  test("a draining node owes none of it (the real program registers no zone for it)", async () => {
    const raw = rawConfig();
    raw.nodes[2].state = "draining";
    const rs = await programResources(raw);
    expect(rs.some((r) => r.name === DUTY_NAMES.zone("n3"))).toBe(false);
    const rest = [...rs.filter((r) => r.type !== DKIM_KEY && !r.name.endsWith("-log-anonymity")), dkimKey("n1"), dkimKey("n2"), logAnonymity("n1"), logAnonymity("n2")];
    // (country-diversity has its say about two active nodes; not these rules' business)
    expect(prodMandatory(rest).filter((m) => m.startsWith("active-nodes-"))).toEqual([]);
    expect(prodMandatory(without(rest, DUTY_NAMES.zone("n1"))).filter((m) => m.startsWith("active-nodes-"))).toEqual([expect.stringMatching(/^active-nodes-serve-zone: active node n1: no HostFiles dns-n1-zone/)]);
  });
});

describe("active-nodes-serve-zone", () => {
  test("a missing zone, knot.conf or dns-check is named, every one at once", () => {
    let rs = without(without(complete(), DUTY_NAMES.zone("n1")), DUTY_NAMES.zone("n3"));
    rs = replacing(rs, DUTY_NAMES.knotConf("n2"), (r) => withFiles(r, []));
    rs = without(rs, DUTY_NAMES.dnsCheck);
    expect(messages(checkZoneServed(rs))).toEqual([
      "active node n1: no HostFiles dns-n1-zone (an active node serves the zone: NS and the round-robin names point at it)",
      "active node n2: HostFiles dns-n2-knot-conf writes no /etc/knot/knot.conf, so knot is stopped there",
      "active node n3: no HostFiles dns-n3-zone (an active node serves the zone: NS and the round-robin names point at it)",
      "active nodes n1, n2, n3: no DnsCheck dns-check, so nothing verifies after an update that they serve the current zone",
    ]);
  });

  test("a zone resource without the zone file, or on another node, does not count", () => {
    let rs = replacing(complete(), DUTY_NAMES.zone("n1"), (r) => withFiles(r, [{ path: "/etc/knot/other.conf", content: "x" }]));
    rs = replacing(rs, DUTY_NAMES.zone("n2"), (r) => ({ ...r, props: { ...r.props, node: "n3" } }));
    expect(messages(checkZoneServed(rs))).toEqual([
      "active node n1: HostFiles dns-n1-zone writes no zone file (/var/lib/knot/<domain>.zone), so its knot serves nothing",
      'active node n2: HostFiles dns-n2-zone writes to node "n3", not n2 (an active node serves the zone: NS and the round-robin names point at it)',
    ]);
  });

  test("files not known in preview are advisory then, mandatory at up", () => {
    const rs = replacing(complete(), DUTY_NAMES.zone("n1"), (r) => withFiles(r, UNKNOWN));
    expect(checkZoneServed(rs).violations).toEqual([]);
    expect(unknownReasons(checkZoneServed(rs))).toEqual(["the files of n1's zone"]);
    expect(prodMandatory(rs, "preview")).toEqual([]);
    expect(prodMandatory(rs, "up").filter((m) => m.startsWith("active-nodes-"))).toEqual([expect.stringMatching(/^active-nodes-serve-zone: the files of n1's zone is still unknown at up/)]);
  });
});

describe("active-nodes-dkim-key-in-mount", () => {
  test("a node without its DkimKey is named", () => {
    expect(messages(checkDkimKeys(without(complete(), DUTY_NAMES.dkimKey("n2"))))).toEqual(["active node n2: no DkimKey (n2-dkim-key), so the mail it sends goes out unsigned"]);
  });

  test.each([
    ["/etc/opendkim/keys/n1.private", "at /etc/opendkim/keys/n1.private, outside its encrypted mount /srv/crypt"],
    ["/srv/crypt/../../etc/n1.private", "at /srv/crypt/../../etc/n1.private (that is /etc/n1.private), outside its encrypted mount /srv/crypt"],
    ["/srv/crypt-old/dkim.key", "at /srv/crypt-old/dkim.key, outside its encrypted mount /srv/crypt"],
    ["/srv/crypt", "at /srv/crypt, the mount point itself, not a directory inside its encrypted mount /srv/crypt"],
    ["keys/dkim.key", '(privateKeyPath) at "keys/dkim.key", which is not an absolute path inside its encrypted mount /srv/crypt'],
  ])("privateKeyPath %s is refused", (p, where) => {
    const rs = replacing(complete(), DUTY_NAMES.dkimKey("n1"), () => dkimKey("n1", { privateKeyPath: p }));
    expect(messages(checkDkimKeys(rs))).toEqual([`active node n1: DkimKey n1-dkim-key puts its private key ${where}`]);
    expect(prodMandatory(rs)).toContain(`active-nodes-dkim-key-in-mount: active node n1: DkimKey n1-dkim-key puts its private key ${where}`);
  });

  test("a key claiming another mount than its node's, or none usable, is refused", () => {
    const other = { kind: "luks", path: "/srv/other", device: "/dev/vdc", mapper: "other" };
    let rs = replacing(complete(), DUTY_NAMES.dkimKey("n1"), () => dkimKey("n1", { encryptedMount: other, privateKeyPath: "/srv/other/dkim.key" }));
    rs = replacing(rs, DUTY_NAMES.dkimKey("n2"), () => dkimKey("n2", { encryptedMount: { kind: "plain", path: "/srv/crypt" } }));
    expect(messages(checkDkimKeys(rs))).toEqual([
      "active node n1: DkimKey n1-dkim-key claims encrypted mount /srv/other (luks) but the node's is /srv/crypt (luks)",
      'active node n2: DkimKey n2-dkim-key declares an encrypted mount of unknown kind "plain", so nothing shows its DKIM key stays encrypted',
    ]);
  });

  test("a created key must report where it landed; the landed rule judges what it reports", () => {
    const { landedOn: _l, ...props } = dkimKey("n1").props;
    const silent = replacing(complete(), DUTY_NAMES.dkimKey("n1"), (r) => ({ ...r, props }));
    expect(messages(checkDkimKeys(silent))).toEqual(["active node n1: DkimKey n1-dkim-key reports no landedOn, so nothing shows its key landed on the encrypted filesystem"]);
    // Not yet created (preview of a new key): its public half and landing are not known yet.
    const planned = replacing(complete(), DUTY_NAMES.dkimKey("n1"), (r) => ({ ...r, props: { ...props, publicKey: UNKNOWN } }));
    expect(messages(checkDkimKeys(planned))).toEqual([]);
    const offDisk = dkimKey("n1", { landedOn: [{ path: "/srv/crypt/keys/dkim/dkim.key", resolved: "/tmp/dkim.key", fsType: "tmpfs", encrypted: false }] });
    const rs = replacing(complete(), DUTY_NAMES.dkimKey("n1"), () => offDisk);
    expect(messages(checkLandedStack(rs))).toEqual([expect.stringMatching(/^DkimKey n1-dkim-key: \/srv\/crypt\/keys\/dkim\/dkim\.key resolves to \/tmp\/dkim\.key on tmpfs, off its node's encrypted filesystem/)]);
    expect(prodMandatory(rs)).toEqual([expect.stringMatching(/^keys-landed-on-encrypted-filesystem: DkimKey n1-dkim-key/)]);
  });

  test("the key rules treat a DkimKey as the generator it is", () => {
    const { privateKeyPath: _p, ...props } = dkimKey("n1").props;
    const undeclared = { ...dkimKey("n1"), props };
    expect(messages(checkKeyGenerationResource(undeclared))).toEqual(["DkimKey n1-dkim-key declares no privateKeyPath, so nothing shows where it generates its key (fail closed)"]);
    expect(messages(checkKeyGenerationResource(dkimKey("n1", { privateKeyPath: "/etc/dkim.key" })))).toEqual(["DkimKey n1-dkim-key puts its generated private key at /etc/dkim.key, outside its encrypted mount /srv/crypt"]);
    expect(messages(checkKeyGenerationStack([...program, dkimKey("n1", { publicKey: PKCS8_PEM })]))).toEqual([expect.stringMatching(/^DkimKey n1-dkim-key returns a PEM private key in publicKey/)]);
  });

  test("a path not known in preview is advisory then", () => {
    const rs = replacing(complete(), DUTY_NAMES.dkimKey("n3"), () => dkimKey("n3", { privateKeyPath: UNKNOWN }));
    expect(checkDkimKeys(rs).violations).toEqual([]);
    expect(unknownReasons(checkDkimKeys(rs))).toEqual(["where n3's DKIM key is generated"]);
  });
});

describe("active-nodes-anonymise-submission-headers", () => {
  const postfix = (rs: ResourceDesc[], node: string) => named(rs, DUTY_NAMES.postfixConfig(node));
  const editMaster = (rs: ResourceDesc[], node: string, edit: (text: string) => string) =>
    replacing(rs, DUTY_NAMES.postfixConfig(node), (r) => withFiles(r, filesOf(r).map((f) => (f.path === POSTFIX_MASTER_CF ? { ...f, content: edit(f.content) } : f))));

  test("the program's postfix config carries it (the submission service, its cleanup, the pcre table)", () => {
    const master = filesOf(postfix(program, "n1")).find((f) => f.path === POSTFIX_MASTER_CF)!.content;
    const services = masterCfServices(master);
    expect(services.find((s) => s.service === "submission")?.options.get("cleanup_service_name")).toBe("clean_submission");
    expect(services.find((s) => s.service === "clean_submission")?.options.get("header_checks")).toBe(`pcre:${SUBMISSION_HEADER_CHECKS}`);
  });

  test("every missing part is named in one message per node", () => {
    let rs = replacing(complete(), DUTY_NAMES.postfixConfig("n1"), (r) => withFiles(r, filesOf(r).filter((f) => f.path !== SUBMISSION_HEADER_CHECKS)));
    rs = editMaster(rs, "n1", (t) => t.replace(/^\s+-o cleanup_service_name=clean_submission\n/m, ""));
    rs = editMaster(rs, "n3", (t) => t.replace(/^clean_submission .*\n(\s+-o .*\n)*/m, ""));
    expect(messages(checkHeaderAnonymity(rs))).toEqual([
      "active node n1: HostFiles n1-postfix-config writes no /etc/postfix/rplan/submission-header-checks.pcre; has submission/inet with no cleanup_service_name, not cleanup_service_name=clean_submission: submitted mail would keep the client's address and headers",
      "active node n3: HostFiles n3-postfix-config has no clean_submission/unix cleanup service in /etc/postfix/master.cf: submitted mail would keep the client's address and headers",
    ]);
    expect(prodMandatory(rs)).toHaveLength(2);
  });

  test("a second submission port (465) must be anonymised too; a later -o overrides an earlier one", () => {
    let rs = editMaster(complete(), "n2", (t) => t + "submissions inet n - y - - smtpd\n  -o smtpd_tls_wrappermode=yes\n");
    rs = editMaster(rs, "n3", (t) => t.replace(/^(\s+-o cleanup_service_name=clean_submission\n)/m, "$1  -o cleanup_service_name=cleanup\n"));
    expect(messages(checkHeaderAnonymity(rs))).toEqual([
      "active node n2: HostFiles n2-postfix-config has submissions/inet with no cleanup_service_name, not cleanup_service_name=clean_submission: submitted mail would keep the client's address and headers",
      "active node n3: HostFiles n3-postfix-config has submission/inet with cleanup_service_name=cleanup, not cleanup_service_name=clean_submission: submitted mail would keep the client's address and headers",
    ]);
  });

  test("no postfix config, or no submission at all, is refused", () => {
    let rs = without(complete(), DUTY_NAMES.postfixConfig("n1"));
    rs = editMaster(rs, "n2", (t) => t.replace(/^submission /m, "#submission "));
    expect(messages(checkHeaderAnonymity(rs))).toEqual([
      "active node n1: no HostFiles n1-postfix-config (submitted mail would keep the client's address and headers)",
      expect.stringMatching(/^active node n2: HostFiles n2-postfix-config has no submission service in \/etc\/postfix\/master\.cf/),
    ]);
  });

  test("master.cf unknown in preview is advisory then", () => {
    const rs = replacing(complete(), DUTY_NAMES.postfixConfig("n2"), (r) => withFiles(r, UNKNOWN));
    expect(checkHeaderAnonymity(rs).violations).toEqual([]);
    expect(unknownReasons(checkHeaderAnonymity(rs))).toEqual(["n2's postfix files"]);
  });

  test("master.cf is read as postfix reads it", () => {
    const text = "# c\nsubmission inet n - y - - smtpd\n  -o a=1\n# inside\n\n  -oa=2 -o b=x=y\n10.0.0.1:587 inet n - y - - smtpd\npickup unix n - y 60 1 pickup\n";
    expect(masterCfServices(text).map((s) => [s.service, s.type, s.command, Object.fromEntries(s.options)])).toEqual([
      ["submission", "inet", "smtpd", { a: "2", b: "x=y" }],
      ["10.0.0.1:587", "inet", "smtpd", {}],
      ["pickup", "unix", "pickup", {}],
    ]);
  });
});

describe("active-nodes-anonymise-logs", () => {
  test("a node without its log anonymity is named", () => {
    expect(messages(checkLogAnonymity(without(complete(), DUTY_NAMES.logAnonymity("n3"))))).toEqual(["active node n3: no HostFiles n3-log-anonymity (its logs would keep client addresses and mail addresses)"]);
  });

  test("every missing part is named in one message per node", () => {
    let rs = replacing(complete(), DUTY_NAMES.logAnonymity("n1"), () => logAnonymity("n1", [{ path: JOURNALD_DROP_IN, content: "[Journal]\nStorage=volatile\n" }]));
    rs = replacing(rs, DUTY_NAMES.logAnonymity("n2"), () => logAnonymity("n2", [{ path: RSYSLOG_DROP_IN, content: "" }]));
    expect(messages(checkLogAnonymity(rs))).toEqual([
      "active node n1: HostFiles n1-log-anonymity writes no /etc/rsyslog.d/00-rplan-anonymity.conf; has /etc/systemd/journald.conf.d/rplan-anonymity.conf with Storage=volatile, not Storage=none: its logs would keep client addresses and mail addresses",
      "active node n2: HostFiles n2-log-anonymity writes an empty /etc/rsyslog.d/00-rplan-anonymity.conf; writes no /etc/systemd/journald.conf.d/rplan-anonymity.conf: its logs would keep client addresses and mail addresses",
    ]);
    expect(prodMandatory(rs).map((m) => m.split(":")[0])).toEqual(["active-nodes-anonymise-logs", "active-nodes-anonymise-logs"]);
  });

  test("journald's last Storage in [Journal] counts", () => {
    expect(journaldSetting(JOURNALD_NONE, "Storage")).toBe("none");
    expect(journaldSetting("[Journal]\nStorage=none\nStorage=persistent\n", "Storage")).toBe("persistent");
    expect(journaldSetting("[Other]\nStorage=none\n[Journal]\n# Storage=none\n", "Storage")).toBeUndefined();
    const rs = replacing(complete(), DUTY_NAMES.logAnonymity("n1"), () => logAnonymity("n1", [{ path: RSYSLOG_DROP_IN, content: "x" }, { path: JOURNALD_DROP_IN, content: "[Journal]\nStorage=none\nStorage=auto\n" }]));
    expect(messages(checkLogAnonymity(rs))).toEqual([expect.stringMatching(/with Storage=auto, not Storage=none/)]);
  });

  // Needs the merged tree: planning/logs renders Storage=none once log anonymity is wired to the nodes.
  test("the files planning/logs renders pass", () => {
    const rs = replacing(complete(), DUTY_NAMES.logAnonymity("n1"), () => logAnonymity("n1", planLogAnonymity().files));
    expect(messages(checkLogAnonymity(rs))).toEqual([]);
  });
});

describe("active-nodes-filter-spam", () => {
  const edit = (rs: ResourceDesc[], node: string, file: string, change: (text: string) => string) =>
    replacing(rs, DUTY_NAMES.postfixConfig(node), (r) => withFiles(r, filesOf(r).map((f) => (f.path === file ? { ...f, content: change(f.content) } : f))));

  test("the program's files carry it: rspamd's milter settings, and port 25 asking it", () => {
    expect(filesOf(named(program, DUTY_NAMES.spamFilter("n1"))).map((f) => f.path)).toContain(RSPAMD_PROXY_CONF);
    const main = filesOf(named(program, DUTY_NAMES.postfixConfig("n1"))).find((f) => f.path === POSTFIX_MAIN_CF)!.content;
    expect(main).toMatch(/^smtpd_milters = inet:127\.0\.0\.1:11332$/m);
  });

  test("a node without its spam filter, one whose port 25 does not ask it, one that overrides it on port 25: each named", () => {
    let rs = without(complete(), DUTY_NAMES.spamFilter("n1"));
    rs = edit(rs, "n2", POSTFIX_MAIN_CF, (t) => t.replace(/^smtpd_milters = .*\n/m, ""));
    rs = edit(rs, "n3", POSTFIX_MASTER_CF, (t) => t.replace(/^(smtp +inet .*\n)/m, "$1  -o smtpd_milters=inet:127.0.0.1:9999\n"));
    expect(messages(checkSpamFilter(rs))).toEqual([
      "active node n1: no HostFiles n1-spam-filter (its port 25 would take spam that the other nodes refuse)",
      "active node n2: HostFiles n2-postfix-config's main.cf does not name inet:127.0.0.1:11332 in smtpd_milters: its port 25 would take spam that the other nodes refuse",
      "active node n3: HostFiles n3-postfix-config's master.cf sets smtpd_milters=inet:127.0.0.1:9999 on port 25, without inet:127.0.0.1:11332: its port 25 would take spam that the other nodes refuse",
    ]);
    expect(prodMandatory(rs)).toHaveLength(3);
  });

  test("postfix's last assignment counts; a spam filter that writes no milter settings is named", () => {
    let rs = edit(complete(), "n1", POSTFIX_MAIN_CF, (t) => t + "smtpd_milters =\n");
    rs = replacing(rs, DUTY_NAMES.spamFilter("n2"), (r) => withFiles(r, filesOf(r).filter((f) => f.path !== RSPAMD_PROXY_CONF)));
    expect(messages(checkSpamFilter(rs))).toEqual([
      "active node n1: HostFiles n1-postfix-config's main.cf does not name inet:127.0.0.1:11332 in smtpd_milters: its port 25 would take spam that the other nodes refuse",
      `active node n2: HostFiles n2-spam-filter writes no ${RSPAMD_PROXY_CONF}: its port 25 would take spam that the other nodes refuse`,
    ]);
  });

  test("postfix's files unknown in preview are advisory then", () => {
    const rs = replacing(complete(), DUTY_NAMES.postfixConfig("n2"), (r) => withFiles(r, UNKNOWN));
    expect(checkSpamFilter(rs).violations).toEqual([]);
  });
});
