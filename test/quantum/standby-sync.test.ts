/**
 * The standby replicator's pure side (planning/quantum/standby-sync.ts): what dovecot is told (through
 * the real renderer, beside the move channel it shares doveadm with), the map of standbys, every bad
 * input refused at once, the replicator's files and settings — sourced by bash as the script does —
 * and the script itself parsed by bash. No host, no lab (that is test/quantum/standby.lab.test.ts).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderDovecot } from "../../planning/mail/dovecot-config";
import { DOVEADM_PORT, moveChannelContribution } from "../../planning/mail/move-channel";
import { ldapiUrl, MAIL_USER } from "../../planning/mail/routing";
import {
  DEFAULT_PASS_SECONDS,
  NOTIFY_FIFO,
  renderStandbyMap,
  renderStandbySync,
  STANDBY_CONF,
  STANDBY_MAP,
  STANDBY_SCRIPT,
  standbyNotifyContribution,
  StandbySyncInput,
  standbySyncProblems,
} from "../../planning/quantum/standby-sync";

const SCRIPT_SOURCE = path.join(__dirname, "..", "..", "planning", "quantum", "standby-sync.sh");

/** A valid input: lab1's replicator, its users' standbys on lab2 and lab3. */
const good: StandbySyncInput = {
  self: "lab1",
  suffix: "dc=rplan,dc=test",
  ldapiSocket: "/run/slapd/ldapi",
  stateDir: "/srv/crypt/standby",
  storePath: "/srv/crypt/mail",
  standbys: { alice: "lab2", bob: "lab3" },
  vpnAddresses: { lab2: "198.18.0.12", lab3: "198.18.0.13" },
  script: "#!/bin/bash\necho standby\n",
};

/** Lines that set something (doveconf reads these; comments are for people). */
const settingLines = (text: string) => text.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));

describe("what the home's dovecot is told", () => {
  const channel = moveChannelContribution({ vpnAddress: "198.18.0.11", storePath: "/srv/crypt/mail", suffix: "dc=rplan,dc=test", ldapiSocket: "/run/slapd/ldapi", secretPath: "/srv/crypt/keys/dovecot/doveadm.secret" });
  const rendered = renderDovecot("lab1", [channel, standbyNotifyContribution()]);
  const conf = rendered.files.find((f) => f.path === "/etc/dovecot/dovecot.conf")!.content;

  test("the notify and replication plugins load for every protocol: one top-level mail_plugins that keeps what came before, ahead of every section (where $mail_plugins is read)", () => {
    const lines = settingLines(conf);
    expect(lines.filter((l) => /^\s*mail_plugins\b/.test(l))).toEqual(["mail_plugins = $mail_plugins notify replication"]);
    expect(lines.indexOf("mail_plugins = $mail_plugins notify replication")).toBeLessThan(lines.findIndex((l) => l.endsWith("{")));
    expect(conf).toContain("#   standby: every change of a mailbox is reported to rplan's standby replicator");
  });

  test("the replicator tells dovecot's master it is idle, as many slots as the service's client_limit: reported busy, master watches the fifo itself and spins while a round runs", () => {
    const script = fs.readFileSync(path.join(__dirname, "../../planning/quantum/standby-sync.sh"), "utf8");
    const reported = /printf "\$\(le32 \$\$\)\$\(le32 "\$GENERATION"\)\$\(le32 (\d+)\)" >&5/.exec(script);
    expect(reported).not.toBeNull();
    const limit = /\nservice aggregator \{\n[\s\S]*?\n {2}client_limit = (\d+)\n/.exec(conf);
    expect(limit).not.toBeNull();
    expect(Number(reported![1])).toBe(Number(limit![1]));
    expect(Number(reported![1])).toBeGreaterThan(0);
    // and master's SIGINT to an idle process does not end it
    expect(script).toMatch(/^trap '' INT$/m);
  });

  test("mail_replica is set (any value turns the plugin on), in the plugin section", () => {
    expect(conf).toContain("# standby\nplugin {\n  mail_replica = rplan-standby\n}\n");
  });

  test("rplan's replicator runs as the aggregator service, alone, as root, unchrooted, and owns the fifo the plugin writes, which the mail user may write", () => {
    const m = /\nservice aggregator \{\n([\s\S]*?\n)\}\n/.exec(conf);
    expect(m).not.toBeNull();
    const body = m![1];
    const top = body.split("\n").filter((l) => /^ {2}\w/.test(l));
    expect(top).toEqual([`  executable = ${STANDBY_SCRIPT}`, "  user = root", "  chroot = ", "  process_min_avail = 1", "  process_limit = 1", "  client_limit = 1", "  fifo_listener replication-notify-fifo {"]);
    expect(body).toContain(`  fifo_listener replication-notify-fifo {\n    mode = 0600\n    user = ${MAIL_USER}\n  }\n`);
    // The fifo the replicator opens is the one that listener creates in dovecot's base_dir.
    expect(NOTIFY_FIFO).toBe("/run/dovecot/replication-notify-fifo");
    expect(path.basename(NOTIFY_FIFO)).toBe("replication-notify-fifo");
  });

  test("it merges with the move channel without a conflict; doveconf still checks the file before dovecot reloads", () => {
    expect(conf).toContain("service doveadm {");
    expect(rendered.reload.slice(-2)).toEqual([
      ["doveconf", "-n", "-c", "/etc/dovecot/dovecot.conf"],
      ["systemctl", "reload-or-restart", "dovecot"],
    ]);
    // Sections and braces balance (doveconf refuses an unclosed section).
    expect(conf.split("{").length).toBe(conf.split("}").length);
  });
});

describe("the map of standbys", () => {
  test("one `uid node vpn-address` line per user, sorted by uid whatever the input's order, after a comment line", () => {
    const map = renderStandbyMap({
      standbys: { carol: "lab2", "10x": "lab3", alice: "lab3", "9x": "lab2", "a.b": "lab2", bob: "lab2" },
      vpnAddresses: { lab2: "198.18.0.12", lab3: "198.18.0.13", lab4: "198.18.0.14" },
    });
    const [head, ...lines] = map.split("\n");
    expect(head).toMatch(/^# uid standby vpn-address/);
    expect(head).toContain(STANDBY_SCRIPT);
    expect(lines).toEqual(["10x lab3 198.18.0.13", "9x lab2 198.18.0.12", "a.b lab2 198.18.0.12", "alice lab3 198.18.0.13", "bob lab2 198.18.0.12", "carol lab2 198.18.0.12", ""]);
  });

  test("no standby: the comment line alone, still ending in a newline", () => {
    expect(renderStandbyMap({ standbys: {}, vpnAddresses: { lab2: "198.18.0.12" } })).toMatch(/^# [^\n]*\n$/);
  });

  test("the same standbys give the same text (inserted in any order)", () => {
    const v = { lab2: "198.18.0.12", lab3: "198.18.0.13" };
    expect(renderStandbyMap({ standbys: { b: "lab2", a: "lab3" }, vpnAddresses: v })).toBe(renderStandbyMap({ standbys: { a: "lab3", b: "lab2" }, vpnAddresses: v }));
  });
});

describe("bad inputs", () => {
  test("a valid input has no problem, and passSeconds may be 5 … 86400", () => {
    expect(standbySyncProblems(good)).toEqual([]);
    for (const passSeconds of [5, DEFAULT_PASS_SECONDS, 86400]) expect(standbySyncProblems({ ...good, passSeconds })).toEqual([]);
  });

  test("every bad input is named at once: node name, suffix, relative paths, a standby without a VPN address, passSeconds, a uid with shell metacharacters", () => {
    const problems = standbySyncProblems({
      ...good,
      self: "Lab1;reboot",
      suffix: "o=rplan",
      stateDir: "srv/crypt/standby",
      storePath: "mail",
      ldapiSocket: "run/slapd/ldapi",
      standbys: { alice: "lab9", "bob$(reboot)": "lab2" },
      passSeconds: 4,
    });
    expect(problems).toEqual([
      'standby replicator: "Lab1;reboot" is not a node name',
      'standby replicator: suffix "o=rplan" is not a dc= suffix',
      'standby replicator: state directory "srv/crypt/standby" is not an absolute path',
      'standby replicator: store "mail" is not an absolute path',
      'standby replicator: ldapi socket "run/slapd/ldapi" is not an absolute path',
      'standby replicator: alice\'s standby "lab9" has no VPN address',
      'standby replicator: "bob$(reboot)" is not a user id',
      "standby replicator: passSeconds must be 5..86400 (got 4)",
    ]);
  });

  test("passSeconds just outside the range, or not a whole number, is refused", () => {
    for (const passSeconds of [86401, 0, -300, 5.5, Number.NaN]) expect(standbySyncProblems({ ...good, passSeconds })).toEqual([`standby replicator: passSeconds must be 5..86400 (got ${passSeconds})`]);
  });

  test("a path that climbs out, or holds a space or a quote, is refused; a VPN address that is not IPv4 too", () => {
    expect(standbySyncProblems({ ...good, stateDir: "/srv/crypt/../standby", storePath: "/srv/crypt/my mail", ldapiSocket: "/run/'x'" })).toEqual([
      'standby replicator: state directory "/srv/crypt/../standby" is not an absolute path',
      'standby replicator: store "/srv/crypt/my mail" is not an absolute path',
      `standby replicator: ldapi socket "/run/'x'" is not an absolute path`,
    ]);
    expect(standbySyncProblems({ ...good, vpnAddresses: { ...good.vpnAddresses, lab4: "198.18.0.14; reboot" } })).toEqual(['standby replicator: "lab4" → "198.18.0.14; reboot" is not a node and an IPv4 address']);
  });

  test("renderStandbySync refuses a bad input, naming every problem, and writes nothing", () => {
    const { standbys: _, ...rest } = good;
    expect(() => renderStandbySync({ ...rest, self: "lab 1", passSeconds: 1 })).toThrow(/invalid standby replicator input:\n {2}- standby replicator: "lab 1" is not a node name\n {2}- standby replicator: passSeconds must be 5\.\.86400 \(got 1\)$/);
  });
});

describe("the replicator's files", () => {
  const { standbys: _, ...rest } = good;
  const input = { ...rest, self: "lab3", suffix: "dc=example,dc=org", ldapiSocket: "/var/run/slapd/ldapi", stateDir: "/srv/c3/standby", storePath: "/srv/c3/mail", passSeconds: 42 };

  test("the script at /usr/local/lib/rplan/standby-sync, executable (0755), exactly the text given; the settings beside it; a reload of dovecot (which starts a new replicator) when they change", () => {
    const r = renderStandbySync(input);
    expect(r.files.map((f) => f.path)).toEqual(["/usr/local/lib/rplan/standby-sync", STANDBY_CONF]);
    expect(r.files[0]).toEqual({ path: "/usr/local/lib/rplan/standby-sync", content: input.script, mode: "0755" });
    expect(r.reload).toEqual([["systemctl", "try-reload-or-restart", "dovecot"]]);
  });

  test("every setting in the conf comes from the input (or the constants the other renderers use)", () => {
    const conf = renderStandbySync(input).files[1].content;
    const values = Object.fromEntries(settingLines(conf).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    expect(values).toEqual({
      SELF: "lab3",
      SUFFIX: "dc=example,dc=org",
      LDAPI: ldapiUrl("/var/run/slapd/ldapi"),
      STATE_DIR: "/srv/c3/standby",
      STORE: "/srv/c3/mail",
      MAP: STANDBY_MAP,
      FIFO: NOTIFY_FIFO,
      PORT: String(DOVEADM_PORT),
      PASS_SECONDS: "42",
      MAIL_USER,
    });
    expect(values.LDAPI).toBe("ldapi://%2Fvar%2Frun%2Fslapd%2Fldapi");
    const { passSeconds: __, ...noPass } = input;
    expect(renderStandbySync(noPass).files[1].content).toContain(`\nPASS_SECONDS=${DEFAULT_PASS_SECONDS}\n`);
  });

  test("bash reads the conf as the script does (`. /etc/rplan/standby.conf`) and sees the same values", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-standby-conf-"));
    try {
      const file = path.join(dir, "standby.conf");
      fs.writeFileSync(file, renderStandbySync(input).files[1].content);
      const out = execFileSync("bash", ["-c", 'set -u; . "$1"; printf "%s|" "$SELF" "$SUFFIX" "$LDAPI" "$STATE_DIR" "$STORE" "$MAP" "$FIFO" "$PORT" "$PASS_SECONDS" "$MAIL_USER"', "bash", file], { encoding: "utf8" });
      expect(out.split("|").slice(0, -1)).toEqual(["lab3", "dc=example,dc=org", "ldapi://%2Fvar%2Frun%2Fslapd%2Fldapi", "/srv/c3/standby", "/srv/c3/mail", STANDBY_MAP, NOTIFY_FIFO, String(DOVEADM_PORT), "42", MAIL_USER]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the replicator script (planning/quantum/standby-sync.sh)", () => {
  test("bash parses it (bash -n): a syntax error fails here, not on every node", () => {
    expect(() => execFileSync("bash", ["-n", SCRIPT_SOURCE], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })).not.toThrow();
  });

  test("it is a bash script (dovecot executes it directly) that reads the conf rplan writes", () => {
    const text = fs.readFileSync(SCRIPT_SOURCE, "utf8");
    expect(text.split("\n")[0]).toBe("#!/bin/bash");
    expect(text).toContain(`\n. ${STANDBY_CONF}\n`);
  });

  test("its clock is bash's own: `now` sets NOW to the epoch in ms, and no `date` process is started (two per delivery, before)", () => {
    const text = fs.readFileSync(SCRIPT_SOURCE, "utf8");
    const fn = text.split("\n").find((l) => l.startsWith("now() {"))!;
    const before = Date.now();
    const [ms, forked] = execFileSync("bash", ["-c", `set -u; ${fn}\nnow; echo "$NOW"; now; echo "$NOW"`], { encoding: "utf8" }).trim().split("\n").map(Number);
    expect(ms).toBeGreaterThanOrEqual(before - 5);
    expect(ms).toBeLessThanOrEqual(Date.now() + 5);
    expect(forked).toBeGreaterThanOrEqual(ms);
    const code = text.split("\n").filter((l) => !l.trim().startsWith("#"));
    expect(code.filter((l) => /\bdate\b/.test(l))).toEqual([]);
  });
});
