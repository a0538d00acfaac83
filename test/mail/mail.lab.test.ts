/**
 * Mail routing on the lab, with real clients from this machine against the nodes' lab addresses:
 * every node is an MX for every user (the N×N matrix: each message lands in its home's Maildir and
 * nowhere else), IMAP and POP3 logins on every node read the home mailbox (proxied over the VPN
 * when the node is not the home), wrong passwords are refused everywhere, submission with SASL
 * works on a node that is neither the sender's home nor the recipient's, unknown recipients get
 * 5xx at RCPT, a node whose replica is down answers 4xx, and a message for a home whose dovecot is
 * down waits in the accepting node's queue and is delivered when it returns — nothing bounced.
 *
 * One `up`, three users (one homed on each node). Needs root and the lab (3 nodes):
 * `sudo RPLAN_LAB_KEEP=1 npx jest --runInBand test/mail/mail.lab.test.ts`.
 */
import { execFile, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { labSshTarget, labStackConfigPath } from "../../lab";
import { LAB_DOMAIN } from "../../lab/stack-config";
import { nodeDir, SSH_KEY as LAB_SSH_KEY } from "../../lab/state";
import { sshaHash } from "../../planning/ldap";
import { logSinceCommand } from "../../planning/logs";
import { RPLAN_PROJECT_DIR, runStack } from "../../runner";
import { collectMailLogs, traceMessages } from "../../ops/mail-trace";
import { readClusterConfig } from "../../stack-file/config";
import { sleep } from "../../transports/ldap";
import { MESSAGE_SIZE_LIMIT } from "../../planning/mail/quota";
import { closeAllSsh, sshConnection } from "../../transports/ssh";
import { dkimResults, servedBy } from "../support/dns";
import { labWithExactly } from "../support/lab";
import { LAB_STACK_FILES } from "../../lab/stack-files";
import { manageSieve } from "../support/managesieve";

const maybe = process.getuid?.() === 0 ? describe : describe.skip;
const NODES = ["lab1", "lab2", "lab3"];
const SUFFIX = LAB_DOMAIN.split(".").map((p) => `dc=${p}`).join(",");
/** One user homed on each node. */
const USERS = NODES.map((home, i) => ({ uid: `mu${i + 1}`, home, password: `secret-of-mu${i + 1}`, mail: `mu${i + 1}@${LAB_DOMAIN}` }));
const RUN = Date.now().toString(36);
/** Each user's one further address (rplanMailAlias). */
const aliasOf = (u: { uid: string }) => `${u.uid}-alias@${LAB_DOMAIN}`;

async function sh(node: string, script: string): Promise<{ code: number; out: string }> {
  const r = await (await sshConnection(labSshTarget(node))).run(["sh", "-c", script], { allowFailure: true });
  return { code: r.code, out: r.stdout + r.stderr };
}
const host = (node: string) => labSshTarget(node).host;

/** swaks from this machine; the SMTP transcript and exit code (never throws). */
function swaks(args: string[]): { code: number; out: string } {
  const r = spawnSync("swaks", ["--helo", "client.example.net", "--timeout", "30", ...args], { encoding: "utf8", timeout: 90_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}
/** curl against imaps:// or pop3s:// (self-signed certificates: their fingerprints are checked by tls.lab.test.ts). */
function curl(url: string, user: string, password: string, extra: string[] = []): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile("curl", ["-sSk", "--max-time", "30", "-u", `${user}:${password}`, url, ...extra], { encoding: "utf8", timeout: 60_000 }, (e, stdout, stderr) =>
      resolve({ code: e ? (typeof e.code === "number" ? e.code : -1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}
/** The messages in Maildirs on `node` (any user, new or seen) whose content holds `marker`. */
async function filesWith(node: string, marker: string): Promise<string[]> {
  const r = await sh(node, `grep -l -- '${marker}' /srv/crypt/mail/*/Maildir/new/* /srv/crypt/mail/*/Maildir/cur/* 2>/dev/null | sort || true`);
  return r.out.split("\n").filter(Boolean);
}
async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 120_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await sleep(500);
  }
}
function npmLdap(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile("npx", ["ts-node", "cli/ldap.ts", ...args], { cwd: RPLAN_PROJECT_DIR, env: { ...process.env, RPLAN_SSH_KEY: LAB_SSH_KEY } }, (e, stdout, stderr) =>
      resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

maybe("mail routing on the lab", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-mail-"));
  const stateFile = path.join(work, "state.json");

  beforeAll(async () => {
    await labWithExactly(3);
    // The suite's starting point: no test reads this up's plan, so one pass (no preview first).
    await runStack({ op: "up", skipPreview: true, stack: "lab", stackFiles: LAB_STACK_FILES, stateFile, configFile: labStackConfigPath(), env: { RPLAN_SSH_KEY: LAB_SSH_KEY } });
    for (const u of USERS) {
      const hash = sshaHash(u.password, `uid=${u.uid},ou=people,${SUFFIX}`);
      const put = await npmLdap(["user", "put", u.uid, "--mail", u.mail, "--alias", aliasOf(u), "--home", u.home, "--password-hash", hash]);
      if (put.code !== 0) throw new Error(`user put ${u.uid}: ${put.out}`);
    }
    // every replica has every user before any message is sent
    for (const node of NODES) {
      await until(`the users on ${node}'s replica`, async () => {
        const r = await sh(node, `ldapsearch -Q -LLL -Y EXTERNAL -H ldapi:/// -b ou=people,${SUFFIX} '(uid=mu*)' uid | grep -c '^uid:'`);
        return r.out.trim() === String(USERS.length) ? true : undefined;
      });
    }
  }, 900_000);
  afterAll(() => closeAllSsh());

  test("every node's port 25 accepts mail for a user homed on each node; each message lands in its home's Maildir and nowhere else", async () => {
    const sent: { via: string; to: (typeof USERS)[number]; marker: string }[] = [];
    for (const via of NODES) {
      for (const to of USERS) {
        const marker = `matrix-${RUN}-${via}-${to.uid}`;
        const r = swaks(["--server", `${host(via)}:25`, "--from", "sender@example.net", "--to", to.mail, "--header", `Subject: ${marker}`, "--body", marker]);
        expect({ via, to: to.uid, code: r.code, out: r.code === 0 ? "" : r.out }).toEqual({ via, to: to.uid, code: 0, out: "" });
        sent.push({ via, to, marker });
      }
    }
    for (const m of sent) {
      const where = await until(`${m.marker} delivered`, async () => {
        const found: string[] = [];
        for (const node of NODES) if ((await filesWith(node, m.marker)).length > 0) found.push(node);
        return found.length > 0 ? found : undefined;
      });
      expect({ marker: m.marker, where }).toEqual({ marker: m.marker, where: [m.to.home] });
      const files = await filesWith(m.to.home, m.marker);
      expect(files).toEqual([expect.stringMatching(new RegExp(`^/srv/crypt/mail/${m.to.uid}/Maildir/new/`))]);
    }
    // Delivered twice (docs/seizure.md): the accepting MX keeps a spare of each message for a user
    // homed elsewhere — one, in the user's spare Maildir, the mail user's alone — and none when it is the home.
    for (const m of sent) {
      const spares = (await sh(m.via, `grep -l -F -- '${m.marker}' /srv/crypt/held/${m.to.uid}/new/* 2>/dev/null | xargs -r stat -c '%U %a' || true`)).out.split("\n").filter(Boolean);
      expect({ marker: m.marker, spares }).toEqual({ marker: m.marker, spares: m.via === m.to.home ? [] : ["mail 600"] });
    }
  }, 600_000);

  test("the spares' timer, on every node: its run removes spares older than the hour, as the mail user, and keeps the younger ones", async () => {
    for (const node of NODES) {
      const dir = `/srv/crypt/held/prune-${RUN}/new`;
      const r = await sh(
        node,
        `install -d -o mail -g mail -m 0700 /srv/crypt/held/prune-${RUN} ${dir} && for f in old young; do printf 'Subject: %s\\n\\nx\\n' $f > ${dir}/1.$f && chown mail:mail ${dir}/1.$f; done && touch -d '61 minutes ago' ${dir}/1.old && touch -d '59 minutes ago' ${dir}/1.young && ` +
          `systemctl is-active rplan-held-prune.timer && systemctl start rplan-held-prune.service && systemctl show -p Result --value rplan-held-prune.service && systemctl show -p User --value rplan-held-prune.service && ls ${dir}`,
      );
      expect({ node, out: r.out.trim().split("\n") }).toEqual({ node, out: ["active", "success", "mail", "1.young"] });
      await sh(node, `rm -rf /srv/crypt/held/prune-${RUN}`);
    }
  });

  test("IMAP (993 and 143 with STARTTLS) and POP3 (995) logins on every node read the home mailbox; a wrong password is refused everywhere", async () => {
    // Every node × user at once: a refused login costs dovecot's 2 s failure delay, one after another they added up.
    const one = async (node: string, u: (typeof USERS)[number]) => {
      const imaps = await curl(`imaps://${host(node)}/INBOX`, u.uid, u.password, ["-X", "SEARCH ALL"]);
      expect({ node, user: u.uid, code: imaps.code }).toEqual({ node, user: u.uid, code: 0 });
      expect(imaps.out).toMatch(/^\* SEARCH( \d+){3,}/m);
      const starttls = await curl(`imap://${host(node)}/INBOX`, u.mail, u.password, ["--ssl-reqd", "-X", "SEARCH ALL"]);
      expect({ node, user: u.uid, code: starttls.code, out: starttls.out }).toMatchObject({ code: 0, out: expect.stringMatching(/^\* SEARCH( \d+){3,}/m) });
      const pop = await curl(`pop3s://${host(node)}/`, u.uid, u.password);
      expect({ node, user: u.uid, code: pop.code }).toEqual({ node, user: u.uid, code: 0 });
      expect(pop.out.trim().split("\n").length).toBeGreaterThanOrEqual(3);
      const wrong = await curl(`imaps://${host(node)}/INBOX`, u.uid, `${u.password}-wrong`, ["-X", "SEARCH ALL"]);
      expect({ node, user: u.uid, code: wrong.code }).toEqual({ node, user: u.uid, code: 67 }); // curl: login denied
    };
    await Promise.all(NODES.flatMap((node) => USERS.map((u) => one(node, u))));
  });

  test("submission on 587 with SASL, on a node that is neither the sender's home nor the recipient's: delivered; without TLS or with a wrong password: refused", async () => {
    const [sender, , recipient] = USERS; // homes lab1 and lab3; submitted on lab2
    const marker = `submitted-${RUN}`;
    // swaks with STARTTLS needs Net::SSLeay, which the nodes have: the client runs on lab1 (its user's
    // own node) and talks to lab2's public address, as a mail program would.
    const client = (args: string) => sh("lab1", `swaks --helo client.example.net --timeout 30 --server ${host("lab2")}:587 --from ${sender.mail} --to ${recipient.mail} ${args}`);
    const auth = `-tls --auth PLAIN --auth-user ${sender.uid}`;
    const ok = await client(`${auth} --auth-password '${sender.password}' --header 'Subject: ${marker}' --body ${marker}`);
    expect({ code: ok.code, out: ok.code === 0 ? "" : ok.out }).toEqual({ code: 0, out: "" });
    expect(await until("the submitted message at its home", async () => ((await filesWith(recipient.home, marker)).length > 0 ? true : undefined))).toBe(true);
    for (const other of ["lab1", "lab2"]) expect(await filesWith(other, marker)).toEqual([]);
    expect((await client(`${auth} --auth-password wrong --quit-after AUTH`)).out).toMatch(/<~\* 535 /);
    expect((await client("--quit-after RCPT")).out).toMatch(/<\*\* 530 5\.7\.0 Must issue a STARTTLS command first/);
  });

  test("on every node, a user sending as another user is refused (553 at MAIL FROM/RCPT for the envelope, 550 at the end of the headers for the From header); as its own alias, accepted and signed with that node's key", async () => {
    const [sender, other] = USERS;
    const since = Object.fromEntries(await Promise.all(NODES.map(async (n) => [n, (await sh(n, "date +%s")).out.trim()])));
    for (const node of NODES) {
      const clientNode = NODES[(NODES.indexOf(node) + 1) % NODES.length];
      const submit = (from: string, rest: string) => sh(clientNode, `swaks --helo client.example.net --timeout 30 --server ${host(node)}:587 -tls --auth PLAIN --auth-user ${sender.uid} --auth-password '${sender.password}' --from ${from} --to ${other.mail} ${rest}`);
      const forged = await submit(other.mail, "--quit-after RCPT");
      expect({ node, refused: forged.out.split("\n").filter((l) => / 553 /.test(l)) }).toEqual({ node, refused: [`<~* 553 5.7.1 <${other.mail}>: Sender address rejected: not owned by user ${sender.uid}`] });
      // The From header too: the envelope sender its own, the header another user's — refused when the headers end.
      const headerForged = `head-forged-${RUN}-${node}`;
      const refused = await submit(sender.mail, `--header 'From: <${other.mail}>' --header 'Subject: ${headerForged}' --body ${headerForged}`);
      expect({ node, refused: refused.out.split("\n").filter((l) => / 550 /.test(l)) }).toEqual({ node, refused: [`<~* 550 5.7.1 From header address not owned by user ${sender.uid}`] });
      const marker = `own-alias-${RUN}-${node}`;
      const sent = await submit(aliasOf(sender), `--header 'Subject: ${marker}' --body ${marker}`);
      expect({ node, code: sent.code }).toEqual({ node, code: 0 });
      const [file] = await until(`${marker} at its home`, async () => {
        const f = await filesWith(other.home, marker);
        return f.length > 0 ? f : undefined;
      });
      expect({ node, signed: (await sh(other.home, `awk '/^DKIM-Signature:/{h=1;print;next} h&&/^[ \\t]/{print;next} {h=0}' '${file}' | tr -d ' \\t\\n' | grep -o ';s=${node};' | wc -l`)).out.trim() }).toEqual({ node, signed: "1" });
      // the own alias's message, sent after it, arrived: the forged one never will
      expect({ node, forgedDelivered: await filesWith(other.home, headerForged) }).toEqual({ node, forgedDelivered: [] });
      // the refusals are logged without the login (the masked line is the positive control)
      const lines = `${logSinceCommand(`@${since[node]}`)} | grep 'not owned by user'`;
      const logged = (await sh(node, `${lines} | grep -c 'user \\*'; ${lines} | grep -c 'user ${sender.uid}'`)).out.trim().split("\n").map(Number);
      expect({ node, masked: logged[0] >= 2, withLogin: logged[1] }).toEqual({ node, masked: true, withLogin: 0 });
    }
  });

  test("mail submitted through every node arrives anonymised (the Received line rewritten to localhost, the client's address, name and client headers gone), and no node's logs keep the client's address or the sender's full address", async () => {
    const [sender, , recipient] = USERS;
    const msgIds: Record<string, string> = {};
    for (const [i, node] of NODES.entries()) {
      // The client runs on the next node: its public address is one the test knows and controls.
      const clientNode = NODES[(i + 1) % NODES.length];
      const marker = `anon-${RUN}-${node}`;
      msgIds[node] = `${marker}@mua.example`;
      const headers = ["User-Agent: Thunderbird/115.0", "X-Mailer: Secret Mailer 1.0", `X-Originating-IP: [${host(clientNode)}]`].map((h) => `--add-header '${h}'`).join(" ");
      const sent = await sh(clientNode, `swaks --helo laptop.client.example --timeout 30 --server ${host(node)}:587 -tls --auth PLAIN --auth-user ${sender.uid} --auth-password '${sender.password}' --from ${sender.mail} --to ${recipient.mail} ${headers} --header 'Message-Id: <${msgIds[node]}>' --header 'Subject: ${marker}' --body ${marker}`);
      expect({ node, code: sent.code }).toEqual({ node, code: 0 });
      const [file] = await until(`${marker} at its home`, async () => {
        const f = await filesWith(recipient.home, marker);
        return f.length > 0 ? f : undefined;
      });
      const text = (await sh(recipient.home, `cat '${file}'`)).out;
      const head = text.slice(0, text.indexOf("\n\n"));
      expect({ node, rewritten: head.match(/^Received: from \[127\.0\.0\.1\] \(localhost \[127\.0\.0\.1\]\)/gm)?.length }).toEqual({ node, rewritten: 1 });
      expect({ node, client: head.includes(host(clientNode)) || head.includes("laptop.client.example") }).toEqual({ node, client: false });
      expect({ node, headers: head.match(/^(User-Agent|X-Mailer|X-Originating-IP):/gim) }).toEqual({ node, headers: null });
    }

    // The logs: the submission is there, masked (so the greps below look where the lines are) ...
    for (const node of NODES) {
      let seen = "";
      const lines = await until(`${node}'s log lines of its submission`, async () => {
        const log = (seen = (await sh(node, `${logSinceCommand("@0")} | grep -F 'postfix/' || true`)).out);
        const qid = new RegExp(`postfix/(?:clean_submission/)?cleanup\\[\\d+\\]: ([0-9A-Za-z]+): message-id=<${msgIds[node].replace(/\./g, "\\.")}>`).exec(log)?.[1];
        const mine = qid ? log.split("\n").filter((l) => l.includes(` ${qid}: `)) : [];
        return mine.some((l) => / status=sent /.test(l)) ? mine : undefined;
      }, 30_000).catch((e: Error) => {
        throw new Error(`${e.message}; its last postfix lines:\n${seen.split("\n").slice(-25).join("\n")}`);
      });
      expect({ node, client: lines.filter((l) => /postfix\/submission\/smtpd\[\d+\]: \w+: client=[^,]*\[0\.0\.0\.0\], sasl_method=PLAIN, sasl_username=\*$/.test(l)).length }).toEqual({ node, client: 1 });
      expect({ node, from: lines.some((l) => l.includes(`from=<*@${LAB_DOMAIN}>`)) }).toEqual({ node, from: true });
    }
    // ... and the Message-ID, kept whole, still traces each message from the node that took it to its home.
    process.env.RPLAN_SSH_KEY ??= LAB_SSH_KEY;
    const { lines, unreachable } = await collectMailLogs(readClusterConfig({ stack: "lab", configFile: labStackConfigPath() }), 1);
    expect(unreachable).toEqual([]);
    for (const node of NODES) {
      const rows = traceMessages(lines, `<${msgIds[node]}>`);
      const trace = rows.filter((r) => r.event === "accepted" || r.event === "delivered").map((r) => [r.node, r.event]);
      const home = trace.length === 2 ? "" : (await sh(recipient.home, `grep -F '${msgIds[node]}' /var/log/rplan.log || true`)).out;
      expect({ node, trace, home }).toEqual({ node, trace: [[node, "accepted"], [recipient.home, "delivered"]], home: "" });
    }

    // Nothing else anywhere — the clients' addresses, the sender's address, the HELO name — in any file
    // under /var/log (binary too) or the journal, on every node.
    const clients = NODES.map(host);
    for (const node of NODES) {
      const grep = await sh(node, `grep -r -a -l -F ${[...clients, sender.mail, "laptop.client.example"].map((x) => `-e '${x}'`).join(" ")} /var/log; echo "exit=$?"`);
      expect({ node, files: grep.out.trim() }).toEqual({ node, files: "exit=1" });
      const journal = await sh(node, `journalctl --no-pager 2>&1 | grep -c -F ${[...clients, sender.mail, "laptop.client.example"].map((x) => `-e '${x}'`).join(" ")}`);
      expect({ node, journal: journal.out.trim() }).toEqual({ node, journal: "0" });
      const stores = await sh(node, "ls -A /var/log/journal 2>&1; ls -A /run/log/journal 2>&1 | grep -v 'No such file' || true");
      expect({ node, stores: stores.out.trim() }).toEqual({ node, stores: "ls: cannot access '/var/log/journal': No such file or directory" });
      const records = await sh(node, "readlink /var/log/wtmp /var/log/btmp /var/log/lastlog");
      expect({ node, records: records.out.trim().split("\n") }).toEqual({ node, records: ["/dev/null", "/dev/null", "/dev/null"] });
    }
  }, 300_000);

  test("mail submitted on each node carries that node's DKIM signature (selector = the node), which verifies against the zone every node serves", async () => {
    const [sender, recipient] = USERS;
    for (const node of NODES) {
      const marker = `dkim-${RUN}-${node}`;
      // STARTTLS needs swaks' Net::SSLeay, which the nodes have: the client runs on the next node.
      const clientNode = NODES[(NODES.indexOf(node) + 1) % NODES.length];
      const sent = await sh(clientNode, `swaks --helo client.example.net --timeout 30 --server ${host(node)}:587 -tls --auth PLAIN --auth-user ${sender.uid} --auth-password '${sender.password}' --from ${sender.mail} --to ${recipient.mail} --header 'Subject: ${marker}' --body ${marker}`);
      expect({ node, code: sent.code }).toEqual({ node, code: 0 });
      const [file] = await until(`${marker} at its home`, async () => {
        const f = await filesWith(recipient.home, marker);
        return f.length > 0 ? f : undefined;
      });
      const message = Buffer.from((await sh(recipient.home, `base64 -w0 '${file}'`)).out.trim(), "base64");
      for (const server of NODES) {
        const verdicts = (await dkimResults(message, host(server))).map((r) => [r.status.result, r.selector, r.signingDomain]);
        expect({ node, server, verdicts }).toEqual({ node, server, verdicts: [["pass", node, LAB_DOMAIN]] });
      }
    }
  });

  test("mail from outside the cluster reaches a user through each MX the served zone names", async () => {
    const [, , recipient] = USERS;
    const lookup = servedBy(host("lab2"));
    const mx = (await lookup(LAB_DOMAIN, "MX")) as unknown as { exchange: string; priority: number }[];
    expect(mx.map((m) => `${m.priority} ${m.exchange}`).sort()).toEqual(NODES.map((n) => `10 ${n}.${LAB_DOMAIN}`));
    for (const { exchange } of mx) {
      const [address] = (await lookup(exchange, "A")) as unknown as string[];
      const marker = `outside-${RUN}-${exchange}`;
      const r = swaks(["--server", `${address}:25`, "--from", "someone@example.net", "--to", recipient.mail, "--header", `Subject: ${marker}`, "--body", marker]);
      expect({ exchange, code: r.code }).toEqual({ exchange, code: 0 });
      await until(`${marker} at ${recipient.home}`, async () => ((await filesWith(recipient.home, marker)).length === 1 ? true : undefined));
    }
  });

  test("on the nodes, the cluster's names resolve through the zone the nodes serve, not host files", async () => {
    for (const node of NODES) {
      for (const other of NODES.filter((n) => n !== node)) {
        const r = await sh(node, `grep -c '${other}' /etc/hosts; getent ahostsv4 ${other}.${LAB_DOMAIN} | head -1; getent ahostsv4 mail.${LAB_DOMAIN} | awk '{print $1}' | sort -u | tr '\\n' ' '`);
        expect({ node, other, out: r.out.trim().split("\n") }).toEqual({ node, other, out: ["0", expect.stringMatching(new RegExp(`^${host(other).replace(/\./g, "\\.")}\\s`)), NODES.map(host).join(" ")] });
      }
    }
  });

  test("an unknown recipient gets 5xx at RCPT on every node", () => {
    for (const node of NODES) {
      const r = swaks(["--server", `${host(node)}:25`, "--from", "sender@example.net", "--to", `nobody-${RUN}@${LAB_DOMAIN}`, "--quit-after", "RCPT"]);
      expect({ node, reply: /<\*\* (\d{3}) /.exec(r.out)?.[1] }).toEqual({ node, reply: "550" });
    }
  });

  test("slapd stopped on a node: that node answers 4xx at RCPT (the sender keeps the message), and accepts again once slapd is back", async () => {
    await sh("lab2", "systemctl stop slapd");
    try {
      const r = swaks(["--server", `${host("lab2")}:25`, "--from", "sender@example.net", "--to", USERS[0].mail, "--quit-after", "RCPT"]);
      expect(/<\*\* (\d{3}) /.exec(r.out)?.[1]).toMatch(/^4\d\d$/);
    } finally {
      await sh("lab2", "systemctl start slapd");
    }
    await until("lab2 accepting again", async () => {
      const r = swaks(["--server", `${host("lab2")}:25`, "--from", "sender@example.net", "--to", USERS[0].mail, "--quit-after", "RCPT"]);
      return r.code === 0 ? true : undefined;
    });
  });

  test("the home's dovecot stopped: every MX answers 4xx at RCPT for its users (the sender keeps the message); a message accepted before waits in the accepting node's queue, only inside the mount, and is delivered when the home returns; nothing bounced", async () => {
    const to = USERS[2]; // home lab3
    const marker = `queued-${RUN}`;
    const since = (await sh("lab1", "date +%s")).out.trim();
    await sh("lab3", "systemctl stop dovecot");
    try {
      // Its quota cannot be asked: no MX takes the message, and every MX gives the same 4xx.
      const answers = NODES.map((mx) => {
        const r = swaks(["--server", `${host(mx)}:25`, "--from", "sender@example.net", "--to", to.mail, "--quit-after", "RCPT"]);
        return { mx, refused: r.out.split("\n").filter((l) => /^<\*\* \d{3} /.test(l)).map((l) => l.slice(0, 14)) };
      });
      expect(answers).toEqual(NODES.map((mx) => ({ mx, refused: [expect.stringMatching(/^<\*\* 4\d\d 4\.\d\.\d/)] })));
      expect(new Set(answers.map((a) => a.refused[0])).size).toBe(1);
      // A message lab1 took just before the home went silent: handed to its postfix as an accepted one is.
      expect((await sh("lab1", `printf 'From: sender@example.net\\nSubject: ${marker}\\n\\n${marker}\\n' | sendmail -f sender@example.net ${to.mail}; echo $?`)).out.trim()).toBe("0");
      const queued = await until("the message deferred on lab1", async () => {
        const q = await sh("lab1", "postqueue -j");
        const items = q.out.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { queue_name: string; recipients: { address: string; delay_reason?: string }[] });
        return items.find((i) => i.recipients.some((x) => x.address === to.mail && x.delay_reason));
      });
      expect(queued.queue_name).toBe("deferred");
      expect(await filesWith("lab3", marker)).toEqual([]);
      // The queue is inside lab1's encrypted mount: read through the mount it holds the message...
      expect((await sh("lab1", `postconf -h queue_directory; grep -rl -- '${marker}' /srv/crypt/postfix/deferred | wc -l`)).out.trim().split("\n")).toEqual(["/srv/crypt/postfix", "1"]);
      // ...and no byte of it is on lab1's plain disk (everything the node wrote: its overlay's upper
      // layer, read from this machine, where the mount is not visible), while a control file is found.
      const control = `/root/plain-control-${RUN}`;
      await sh("lab1", `echo '${marker}' > ${control}`);
      const plain = spawnSync("grep", ["-rl", "--binary-files=text", "--", marker, path.join(nodeDir("lab1"), "upper")], { encoding: "utf8" });
      await sh("lab1", `rm -f ${control}`);
      expect(plain.stdout.split("\n").filter(Boolean).map((f) => f.slice(path.join(nodeDir("lab1"), "upper").length))).toEqual([control]);
    } finally {
      await sh("lab3", "systemctl start dovecot");
    }
    await sh("lab1", "postqueue -f");
    expect(await until("the queued message at its home", async () => ((await filesWith("lab3", marker)).length > 0 ? true : undefined))).toBe(true);
    // the sender side: no bounce was generated for it, and lab1's queue holds nothing of it
    const log = await sh("lab1", `${logSinceCommand(`@${since}`)} | grep -E 'status=bounced|sender non-delivery notification' || true`);
    expect(log.out.trim()).toBe("");
    expect((await sh("lab1", "postqueue -j")).out).not.toContain(to.mail);
  });

  test("mail waiting in a queue on the plain disk (a node set up before the queue moved) is carried into the mount by the next up, then delivered once", async () => {
    const to = USERS[2]; // home lab3
    const marker = `oldqueue-${RUN}`;
    const stack = (op: "refresh" | "up") => runStack({ op, stack: "lab", stackFiles: LAB_STACK_FILES, stateFile, configFile: labStackConfigPath(), env: { RPLAN_SSH_KEY: LAB_SSH_KEY } });
    await sh("lab3", "systemctl stop dovecot");
    try {
      // lab1 as an older rplan left it: Debian's queue on the plain disk, a message deferred there
      await sh("lab1", "postconf -e queue_directory=/var/spool/postfix && systemctl restart postfix");
      // (accepted before the home went silent: while it is, no MX takes mail for its users)
      expect((await sh("lab1", `printf 'From: sender@example.net\\nSubject: ${marker}\\n\\n${marker}\\n' | sendmail -f sender@example.net ${to.mail}; echo $?`)).out.trim()).toBe("0");
      await until("the message deferred in the plain-disk queue", async () => ((await sh("lab1", `grep -rl -- '${marker}' /var/spool/postfix/deferred | wc -l`)).out.trim() === "1" ? true : undefined));
      // the positive control of the plain-disk search below: there it is, in the old queue's file
      const before = spawnSync("grep", ["-rl", "--binary-files=text", "--", marker, path.join(nodeDir("lab1"), "upper")], { encoding: "utf8" });
      expect(before.stdout.split("\n").filter(Boolean).map((f) => f.slice(path.join(nodeDir("lab1"), "upper").length))).toEqual([expect.stringMatching(/^\/var\/spool\/postfix\/deferred\//)]);
      // the next up (after a refresh saw main.cf drift) writes main.cf back and moves the queue's mail
      await stack("refresh");
      const up = await stack("up");
      expect(up.steps.find((st) => st.name === "lab1-postfix-config")?.op).toBe("update");
      const after = await sh("lab1", `postconf -h queue_directory; grep -rl -- '${marker}' /var/spool/postfix | wc -l; grep -rl -- '${marker}' /srv/crypt/postfix/deferred | wc -l`);
      expect(after.out.trim().split("\n")).toEqual(["/srv/crypt/postfix", "0", "1"]);
      const plain = spawnSync("grep", ["-rl", "--binary-files=text", "--", marker, path.join(nodeDir("lab1"), "upper")], { encoding: "utf8" });
      expect(plain.stdout).toBe("");
    } finally {
      await sh("lab3", "systemctl start dovecot");
    }
    await sh("lab1", "postqueue -f");
    expect(await until("the carried-over message at its home", async () => ((await filesWith("lab3", marker)).length > 0 ? true : undefined))).toBe(true);
    await sleep(2000);
    expect(await filesWith("lab3", marker)).toHaveLength(1);
    expect((await sh("lab1", "postqueue -j")).out).not.toContain(to.mail);
  });

  test("a user over quota: every MX answers 552 at RCPT, the same answer; at 80 % mail is still delivered; GETQUOTAROOT through another node agrees with the home's files", async () => {
    const uid = `mq${RUN}`.slice(0, 20);
    const mail = `${uid}@${LAB_DOMAIN}`;
    const put = await npmLdap(["user", "put", uid, "--mail", mail, "--home", "lab2", "--quota", "10000", "--password-hash", sshaHash("pw", `uid=${uid},ou=people,${SUFFIX}`)]);
    expect({ code: put.code, out: put.code === 0 ? "" : put.out }).toEqual({ code: 0, out: "" });
    for (const node of NODES) await until(`${uid} on ${node}'s replica`, async () => ((await sh(node, `ldapsearch -Q -LLL -Y EXTERNAL -H ldapi:/// -b ou=people,${SUFFIX} '(uid=${uid})' uid | grep -c '^uid:'`)).out.trim() === "1" ? true : undefined));
    // ~8 KB (80 %): delivered; ~1.5 KB more: still under the limit when asked, stored over it (the grace)
    for (const [i, size] of [[1, 7800], [2, 1500]]) {
      const body = `quota-${RUN}-${i} ${"x".repeat(size)}`;
      const sent = swaks(["--server", `${host("lab1")}:25`, "--from", "sender@example.net", "--to", mail, "--body", body]);
      expect({ i, code: sent.code }).toEqual({ i, code: 0 });
      expect(await until(`message ${i} at its home`, async () => ((await filesWith("lab2", `quota-${RUN}-${i}`)).length > 0 ? true : undefined))).toBe(true);
    }
    for (const mx of NODES) {
      const r = swaks(["--server", `${host(mx)}:25`, "--from", "sender@example.net", "--to", mail, "--quit-after", "RCPT"]);
      expect({ mx, refused: r.out.split("\n").filter((l) => /^<\*\* \d{3} /.test(l)) }).toEqual({ mx, refused: [`<** 552 5.2.2 <${mail}>: Recipient address rejected: Mailbox is full`] });
    }
    const q = spawnSync("curl", ["-sSk", "--max-time", "30", "-u", `${uid}:pw`, `imaps://${host("lab1")}/`, "-X", "GETQUOTAROOT INBOX"], { encoding: "utf8" });
    const quota = /^\* QUOTA "User quota" \(STORAGE (\d+) (\d+)\)/m.exec(q.stdout);
    expect({ quota: quota?.slice(1), err: quota ? "" : q.stdout + q.stderr }).toEqual({ quota: [expect.any(String), String(Math.ceil(10_000 / 1024))], err: "" });
    const bytes = Number((await sh("lab2", `cat /srv/crypt/mail/${uid}/Maildir/new/* /srv/crypt/mail/${uid}/Maildir/cur/* 2>/dev/null | wc -c`)).out.trim());
    expect(Math.abs(Number(quota![1]) - bytes / 1024)).toBeLessThan(2);
  });

  test("a message just under the size limit, through a non-home MX and through the home: delivered once each; over the limit (declared) and asking for SMTPUTF8: refused at MAIL FROM by both alike; nothing left in any queue", async () => {
    const to = USERS[2]; // home lab3
    const limit = Number((await sh("lab1", "postconf -h message_size_limit")).out.trim());
    expect(limit).toBe(MESSAGE_SIZE_LIMIT);
    // 76 characters and CRLF a line, 60 KB under the limit for the headers and the envelope
    const file = path.join(os.tmpdir(), `rplan-big-${RUN}.txt`);
    fs.writeFileSync(file, `${"x".repeat(76)}\n`.repeat(Math.floor((limit - 60_000) / 78)));
    try {
      for (const mx of ["lab1", "lab3"]) {
        const marker = `big-${mx}-${RUN}`;
        const r = swaks(["--server", `${host(mx)}:25`, "--from", "sender@example.net", "--to", to.mail, "--header", `Subject: ${marker}`, "--body", `@${file}`, "--silent", "2"]);
        expect({ mx, code: r.code, out: r.out.slice(0, 300) }).toEqual({ mx, code: 0, out: "" });
        expect(await until(`${marker} at its home`, async () => ((await filesWith("lab3", marker)).length === 1 ? true : undefined))).toBe(true);
      }
    } finally {
      fs.rmSync(file, { force: true });
    }
    const dialogue = (mx: string) =>
      sh(mx, `(sleep 1; printf 'EHLO client.example.net\r\n'; sleep 1; printf 'MAIL FROM:<sender@example.net> SIZE=${limit + 1}\r\n'; sleep 1; printf 'RSET\r\n'; sleep 1; printf 'MAIL FROM:<j\\303\\274rgen@example.net> SMTPUTF8\r\n'; sleep 1; printf 'QUIT\r\n'; sleep 1) | nc -q 3 127.0.0.1 25`);
    for (const mx of ["lab1", "lab3"]) {
      const replies = (await dialogue(mx)).out.split(/\r?\n/).filter((l) => /^\d{3} /.test(l));
      expect({ mx, replies: replies.map((l) => l.slice(0, 3)) }).toEqual({ mx, replies: ["220", "250", "552", "250", "555", "221"] });
      expect(replies[2]).toMatch(/^552 5\.3\.4 /);
      expect(replies[4]).toMatch(/^555 5\.5\.4 /);
    }
    await sleep(2000);
    for (const node of NODES) expect({ node, queued: (await sh(node, "postqueue -j")).out.includes(to.mail) }).toEqual({ node, queued: false });
  });

  test("a sieve script uploaded with ManageSieve through a node that is not the home is kept on the home and files mail arriving through every MX; a script that does not compile, asks for reject, or is too large is refused with the reason and the active script stays", async () => {
    const user = USERS[1]; // home lab2
    const [client, server] = ["lab1", "lab3"]; // neither is the home: the session is proxied to lab2
    const folder = `Filed${RUN}`;
    const script = `require ["fileinto", "mailbox"];\nif header :contains "subject" "sieve-${RUN}" { fileinto :create "${folder}"; }\n`;
    const put = await manageSieve(sh, client, server, user, "--upload --localsieve {file} --remotesieve rules", script);
    expect({ code: put.code, out: put.out }).toEqual({ code: 0, out: "" });
    expect((await manageSieve(sh, client, server, user, "--activate --remotesieve rules")).code).toBe(0);
    // kept on the home, in the user's folder inside the mount (the quantum), and active there
    expect((await sh("lab2", `cat /srv/crypt/mail/${user.uid}/sieve/rules.sieve; readlink /srv/crypt/mail/${user.uid}/.dovecot.sieve`)).out).toBe(`${script}sieve/rules.sieve\n`);

    const inFolder = async (marker: string) => (await sh("lab2", `grep -l -- '${marker}' /srv/crypt/mail/${user.uid}/Maildir/.${folder}/new/* 2>/dev/null | wc -l`)).out.trim();
    for (const via of NODES) {
      const marker = `sieve-${RUN}-${via}`;
      expect(swaks(["--server", `${host(via)}:25`, "--from", "sender@example.net", "--to", user.mail, "--header", `Subject: ${marker}`, "--body", marker]).code).toBe(0);
      expect(await until(`${marker} filed`, async () => ((await inFolder(marker)) === "1" ? true : undefined))).toBe(true);
      expect({ via, inInbox: await filesWith("lab2", marker) }).toEqual({ via, inInbox: [] });
    }

    // A script that does not parse: refused with sieve's own message; the active one is unchanged.
    const bad = await manageSieve(sh, client, server, user, "--upload --localsieve {file} --remotesieve rules", 'require ["fileinto"];\nif true { fileinto "x" }\n');
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatch(/NO[\s\S]*line 2: error: [\s\S]*parse failed/);
    // Refusing what the MX already accepted would be a bounce: reject is not offered.
    const reject = await manageSieve(sh, client, server, user, "--upload --localsieve {file} --remotesieve rules", 'require ["reject"];\nreject "no";\n');
    expect(reject.out).toMatch(/NO[\s\S]*require command: unknown Sieve capability `reject'/);
    const big = await manageSieve(sh, client, server, user, "--upload --localsieve {file} --remotesieve big", `# ${"x".repeat(70_000)}\nkeep;\n`);
    expect(big.out).toMatch(/NO \(QUOTA\/MAXSIZE\) "Script is too large \(max 65536 bytes\)\."/);
    const list = await manageSieve(sh, client, server, user, "--list");
    expect(list.out.trim()).toBe('"rules" ACTIVE');
    expect((await sh("lab2", `cat /srv/crypt/mail/${user.uid}/sieve/rules.sieve`)).out).toBe(script);
    const after = `sieve-${RUN}-after-refusals`;
    expect(swaks(["--server", `${host("lab1")}:25`, "--from", "sender@example.net", "--to", user.mail, "--header", `Subject: ${after}`, "--body", after]).code).toBe(0);
    expect(await until(`${after} filed`, async () => ((await inFolder(after)) === "1" ? true : undefined))).toBe(true);
    expect((await manageSieve(sh, client, server, user, "--deactivate")).code).toBe(0);
  });

  test("vacation: one reply per sender, signed by the home's key, through every node's submission; none to list or bulk mail", async () => {
    const [away, friend, other] = USERS; // away is homed on lab1; the script is set through lab2
    const subject = `away-${RUN}`;
    // Only this test's messages get a reply: a reply to the outside world would wait in a queue.
    const script = `require ["vacation"];\nif header :contains "subject" "vac-${RUN}" { vacation :days 3 :subject "${subject}" "Back on Monday."; }\n`;
    expect((await manageSieve(sh, "lab3", "lab2", away, "--upload --localsieve {file} --remotesieve away", script)).out).toBe("");
    expect((await manageSieve(sh, "lab3", "lab2", away, "--activate --remotesieve away")).code).toBe(0);
    const submit = (from: (typeof USERS)[number], via: string, marker: string, extra = "") =>
      sh(NODES[(NODES.indexOf(via) + 1) % NODES.length], `swaks --helo client.example.net --timeout 30 --server ${host(via)}:587 -tls --auth PLAIN --auth-user ${from.uid} --auth-password '${from.password}' --from ${from.mail} --to ${away.mail} --header 'Subject: ${marker}' ${extra} --body ${marker}`);
    const replies = async (to: (typeof USERS)[number]) => (await sh(to.home, `grep -l -- '^Subject: ${subject}' /srv/crypt/mail/${to.uid}/Maildir/new/* /srv/crypt/mail/${to.uid}/Maildir/cur/* 2>/dev/null`)).out.split("\n").filter(Boolean);
    try {
      // friend writes three times, through each node: one reply
      for (const via of NODES) expect((await submit(friend, via, `vac-${RUN}-${via}`)).code).toBe(0);
      const [reply] = await until("the reply to friend", async () => ((await replies(friend)).length > 0 ? await replies(friend) : undefined));
      const headers = (await sh(friend.home, `awk '/^$/{exit} {print}' '${reply}'`)).out;
      expect(headers).toMatch(/^Auto-Submitted: auto-replied/m);
      expect(headers.split("\n")).toContain(`From: <${away.mail}>`);
      expect(headers.replace(/\n[ \t]+/g, " ")).toMatch(/^DKIM-Signature: [^\n]*\bs=lab1;/m);
      // other: a list message and a bulk one get none, then a plain one does
      expect((await submit(other, "lab1", `vac-${RUN}-list`, `--header 'List-Id: <talk.${LAB_DOMAIN}>'`)).code).toBe(0);
      expect((await submit(other, "lab1", `vac-${RUN}-bulk`, "--header 'Precedence: bulk'")).code).toBe(0);
      for (const m of ["list", "bulk"]) await until(`vac-${m} delivered`, async () => ((await filesWith("lab1", `vac-${RUN}-${m}`)).length === 1 ? true : undefined));
      expect(await replies(other)).toEqual([]);
      expect((await submit(other, "lab2", `vac-${RUN}-plain`)).code).toBe(0);
      await until("the reply to other", async () => ((await replies(other)).length > 0 ? true : undefined));
      // the plain message's reply came after all of friend's: a second one to friend would be here by now
      expect({ friend: (await replies(friend)).length, other: (await replies(other)).length }).toEqual({ friend: 1, other: 1 });
    } finally {
      await manageSieve(sh, "lab3", "lab2", away, "--deactivate");
    }
  });

  test("spam through every MX: GTUBE refused at the end of DATA by each alike, never delivered; a borderline message (rspamd's test pattern) lands in the user's Junk whichever MX took it; rspamd's log lines keep neither the client's address nor the sender", async () => {
    const to = USERS[2]; // home lab3
    const spammer = `spammer-${RUN}@example.net`;
    const since = Object.fromEntries(await Promise.all(NODES.map(async (n) => [n, (await sh(n, "date +%s")).out.trim()])));
    const junk = async (marker: string) => (await sh(to.home, `grep -l -- '${marker}' /srv/crypt/mail/${to.uid}/Maildir/.Junk/new/* 2>/dev/null | wc -l`)).out.trim();
    for (const via of NODES) {
      // the client runs on another node: its address is one the log check below knows
      const client = NODES[(NODES.indexOf(via) + 1) % NODES.length];
      const send = (marker: string, body: string) => sh(client, `swaks --helo client.example.net --timeout 30 --server ${host(via)}:25 --from ${spammer} --to ${to.mail} --header 'Subject: ${marker}' --body '${body} ${marker}'`);
      const gtube = `gtube-${RUN}-${via}`;
      const refused = await send(gtube, "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X");
      expect({ via, refused: refused.out.split("\n").filter((l) => /^<\*\* /.test(l)) }).toEqual({ via, refused: ["<** 554 5.7.1 Gtube pattern"] });
      const borderline = `borderline-${RUN}-${via}`;
      expect((await send(borderline, "YJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X")).code).toBe(0);
      expect(await until(`${borderline} in Junk`, async () => ((await junk(borderline)) === "1" ? true : undefined))).toBe(true);
      // sent after the refused one and arrived: the refused one never will
      expect({ via, inbox: await filesWith(to.home, borderline), gtube: [...(await filesWith(to.home, gtube)), await junk(gtube)] }).toEqual({ via, inbox: [], gtube: ["0"] });
    }
    for (const node of NODES) {
      const lines = (await sh(node, `${logSinceCommand(`@${since[node]}`)} | grep -F ' rspamd[' || true`)).out.split("\n").filter(Boolean);
      // the verdicts are there (the positive control), and nothing names the client or the sender
      expect({ node, verdicts: lines.filter((l) => /rspamd_task_write_log: qid: <\w+>, \(default: [TFS] \((reject|add header)\)/.test(l)).length }).toEqual({ node, verdicts: 2 });
      expect({ node, named: lines.filter((l) => NODES.some((n) => l.includes(host(n))) || l.includes(spammer) || l.includes("client.example.net")) }).toEqual({ node, named: [] });
    }
    // The home ran the Junk script for each delivery from its compiled binary: it filed the
    // borderline ones (the positive control) and never had to compile it again (dovecot cannot save
    // a binary under /usr; the update compiles it).
    const home = (await sh(to.home, `${logSinceCommand(`@${since[to.home]}`)} | grep -F ' dovecot: lmtp(' || true`)).out.split("\n");
    expect({ filed: home.filter((l) => /stored mail into mailbox 'Junk'/.test(l)).length, recompiled: home.filter((l) => /sieve: binary .*junk\.svbin/.test(l)) }).toEqual({ filed: NODES.length, recompiled: [] });
  });

  test("the spam filter stopped on an MX: it answers 451 during the dialogue (the sender keeps the message, nothing is taken unjudged), and takes mail again once rspamd is back", async () => {
    const to = USERS[0]; // home lab1
    const marker = `unjudged-${RUN}`;
    const send = () => sh("lab3", `swaks --helo client.example.net --timeout 30 --server ${host("lab2")}:25 --from sender@example.net --to ${to.mail} --header 'Subject: ${marker}' --body ${marker}`);
    await sh("lab2", "systemctl stop rspamd");
    try {
      const r = await send();
      expect(r.out.split("\n").filter((l) => /^<\*\* /.test(l)).map((l) => l.slice(0, 7))).toEqual(["<** 451"]);
    } finally {
      await sh("lab2", "systemctl start rspamd");
    }
    // Back: the same message is taken and delivered once (rspamd answers again within its start-up).
    await until("lab2 taking mail again", async () => ((await send()).code === 0 ? true : undefined));
    expect(await until(`${marker} delivered`, async () => ((await filesWith(to.home, marker)).length === 1 ? true : undefined))).toBe(true);
    expect((await sh("lab2", "postqueue -j | wc -l")).out.trim()).toBe("0");
  });

  test("moving a message into Junk over IMAP on a node that is not the home trains the filter: the learn reaches every node's copy of the learned state, and moving it out again learns it as ham", async () => {
    const to = USERS[2]; // home lab3; IMAP through lab1 (proxied)
    const learns = async (node: string, kind: "spam" | "ham") => Number((await sh(node, `redis-cli hget RS learns_${kind}`)).out.trim() || "0");
    const statLearned = async (node: string, file: "BAYES_SPAM" | "BAYES_HAM") => Number(/learned: (\d+)/.exec((await sh(node, `rspamc -h 127.0.0.1:11334 stat | grep 'Statfile: ${file} '`)).out)?.[1] ?? "-1");
    const before = Object.fromEntries(await Promise.all(NODES.map(async (n) => [n, { spam: await learns(n, "spam"), ham: await learns(n, "ham") }])));
    const marker = `train-${RUN}`;
    const words = "cheap watches and pills for everyone who wants them now limited offer today only click the link below to claim your free prize";
    expect(swaks(["--server", `${host("lab1")}:25`, "--from", "offers@example.net", "--to", to.mail, "--header", `Subject: ${marker}`, "--body", `${words} ${marker}`]).code).toBe(0);
    await until(`${marker} in the INBOX`, async () => ((await filesWith(to.home, marker)).length === 1 ? true : undefined));
    const imap = (box: string, command: string) => curl(`imaps://${host("lab1")}/${box}`, to.uid, to.password, ["-X", command]);
    const uid = /^\* SEARCH (\d+)/m.exec((await imap("INBOX", `UID SEARCH SUBJECT "${marker}"`)).out)?.[1];
    expect(uid).toBeDefined();
    expect((await imap("INBOX", `UID COPY ${uid} Junk`)).code).toBe(0);
    for (const node of NODES) {
      expect(await until(`the spam learn in ${node}'s copy`, async () => ((await learns(node, "spam")) === before[node].spam + 1 ? true : undefined), 30_000)).toBe(true);
      // rspamd's own statistics on every node (they refresh about once a minute)
      expect(await until(`${node}'s statistics`, async () => ((await statLearned(node, "BAYES_SPAM")) >= before[node].spam + 1 ? true : undefined), 150_000)).toBe(true);
    }
    // out of Junk again (not to Trash): learned as ham
    const junkUid = /^\* SEARCH (\d+)/m.exec((await imap("Junk", `UID SEARCH SUBJECT "${marker}"`)).out)?.[1];
    expect((await imap("Junk", `UID COPY ${junkUid} INBOX`)).code).toBe(0);
    for (const node of NODES) expect(await until(`the ham learn in ${node}'s copy`, async () => ((await learns(node, "ham")) === before[node].ham + 1 ? true : undefined), 30_000)).toBe(true);
  }, 600_000);
});
