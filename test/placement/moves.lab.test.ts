/**
 * Moving users' quanta on the lab, through the real program and the README's commands: a user with
 * a few thousand messages moves while mail for it arrives at 10 msg/s through random MXes (every
 * accepted message ends up once in the new home, IMAP there sees all of them, the old copy goes
 * after its grace period); a node is drained with one `placement plan` + preview + up, and an empty
 * node is filled by a rebalance; a runner killed after the bulk copy and again during the freeze
 * converges on the rerun with nothing lost and nobody frozen; bad placements stop the preview.
 *
 * Uses its own placement file (`placement.lab-moves-<run>.yaml`, git-ignored, named by a copy of the lab's stack file)
 * and its own state. Needs root and the lab (3 nodes):
 * `sudo RPLAN_LAB_KEEP=1 npx jest --runInBand test/placement/moves.lab.test.ts`.
 */
import { execFile, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { labSshTarget, labStackConfigPath } from "../../lab";
import { LAB_DOMAIN } from "../../lab/stack-config";
import { SSH_KEY as LAB_SSH_KEY } from "../../lab/state";
import { sshaHash } from "../../planning/ldap";
import { RPLAN_PROJECT_DIR, runStack } from "../../runner";
import { sleep } from "../../transports/ldap";
import { closeAllSsh, sshConnection } from "../../transports/ssh";
import { acceptedLogins, controlLogin } from "../support/lab-logins";
import { labWithExactly } from "../support/lab";
import { upKilledAt as killedUp } from "../support/killed-up";
import { LAB_STACK_FILES } from "../../lab/stack-files";
import { manageSieve } from "../support/managesieve";

const maybe = process.getuid?.() === 0 ? describe : describe.skip;
const NODES = ["lab1", "lab2", "lab3"];
const SUFFIX = LAB_DOMAIN.split(".").map((p) => `dc=${p}`).join(",");
const RUN = Date.now().toString(36);
const PLACEMENT = `placement.lab-moves-${RUN}.yaml`;
const env = { RPLAN_SSH_KEY: LAB_SSH_KEY };
const password = (uid: string) => `secret-of-${uid}`;

async function sh(node: string, script: string): Promise<{ code: number; out: string }> {
  const r = await (await sshConnection(labSshTarget(node))).run(["sh", "-c", script], { allowFailure: true });
  return { code: r.code, out: r.stdout + r.stderr };
}
const host = (node: string) => labSshTarget(node).host;

function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: RPLAN_PROJECT_DIR, env: { ...process.env, ...env }, maxBuffer: 64 << 20 }, (e, stdout, stderr) =>
      resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

maybe("moving users on the lab", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-moves-"));
  const stateFile = path.join(work, "state.json");
  const configFile = path.join(work, "Pulumi.lab.yaml");
  const placementPath = path.join(RPLAN_PROJECT_DIR, PLACEMENT);
  const record = () => YAML.parse(fs.readFileSync(placementPath, "utf8")) as { limits: Record<string, number>; pins: Record<string, string>; users: Record<string, { home: string; standby?: string; bytes: number }> };
  const writeRecord = (r: ReturnType<typeof record>) => fs.writeFileSync(placementPath, YAML.stringify(r));
  const setHome = (uid: string, home: string) => {
    const r = record();
    r.users[uid].home = home;
    writeRecord(r);
  };
  /** How long a moved user's old copy is kept (limits.graceSeconds; 30 s unless a test needs otherwise). */
  const setGrace = (seconds: number) => {
    const r = record();
    r.limits.graceSeconds = seconds;
    writeRecord(r);
  };
  const stack = (op: "up" | "preview" | "refresh", log?: (l: string) => void, configPath = configFile) => runStack({ op, stack: "lab", stackFiles: LAB_STACK_FILES, stateFile, configFile: configPath, env, log });
  /** An up whose plan no test reads: one pass, no preview first (\`pulumi up --skip-preview\`). */
  const upNoPreview = (log?: (l: string) => void, configPath = configFile) => runStack({ op: "up", skipPreview: true, stack: "lab", stackFiles: LAB_STACK_FILES, stateFile, configFile: configPath, env, log });
  const cli = (args: string[]) => run("npx", ["ts-node", ...args, "--stack", "lab", "--config", configFile]);

  async function addUser(uid: string, home: string): Promise<void> {
    const hash = sshaHash(password(uid), `uid=${uid},ou=people,${SUFFIX}`);
    const put = await run("npx", ["ts-node", "cli/ldap.ts", "user", "put", uid, "--mail", `${uid}@${LAB_DOMAIN}`, "--home", home, "--password-hash", hash, "--config", configFile]);
    if (put.code !== 0) throw new Error(`user put ${uid}: ${put.out}`);
  }
  /**
   * Writes `count` messages straight into the user's Maildir on its home (as a long-time user has).
   * Each write is retried: the lab's gocryptfs 2.3 fails about 1 creation in 100 (planning/mail/doveadm.ts, DSYNC_TEMPFAIL).
   */
  async function fill(uid: string, home: string, count: number, marker: string): Promise<void> {
    const dir = `/srv/crypt/mail/${uid}/Maildir`;
    const script =
      `set -e; install -d -m 0700 ${dir} ${dir}/new ${dir}/cur ${dir}/tmp; cd ${dir}/new; i=0; while [ $i -lt ${count} ]; do i=$((i+1)); ` +
      `n=0; until printf 'From: filler@example.net\\nSubject: ${marker}-%d\\n\\n%0400d\\n' $i $i > ${marker}.$i.lab 2>/dev/null; do n=$((n+1)); [ $n -lt 20 ] || exit 1; done; done`;
    // As the mail user, as dovecot would write them (no chown afterwards).
    const r = await sh(home, `n=0; until install -d -o mail -g mail -m 0700 /srv/crypt/mail/${uid} 2>/dev/null; do n=$((n+1)); [ $n -lt 20 ] || exit 1; done; runuser -u mail -- sh -c '${script.replace(/'/g, "'\\''")}'`);
    if (r.code !== 0) throw new Error(`fill ${uid}: ${r.out}`);
  }
  /** Subject → how many copies the user's Maildir on `node` holds, for subjects starting with `prefix`. */
  async function subjects(node: string, uid: string, prefix: string): Promise<Map<string, number>> {
    const dir = `/srv/crypt/mail/${uid}/Maildir`;
    const r = await sh(node, `find ${dir}/new ${dir}/cur -type f -print0 2>/dev/null | xargs -0 -r grep -a -h '^Subject: ${prefix}' | sort | uniq -c || true`);
    return new Map(r.out.split("\n").filter(Boolean).map((l) => { const [n, , s] = l.trim().split(/\s+/); return [s, Number(n)] as [string, number]; }));
  }
  async function directory(uid: string): Promise<string> {
    return (await sh("lab1", `ldapsearch -Q -LLL -Y EXTERNAL -H ldapi:/// -b uid=${uid},ou=people,${SUFFIX} -s base rplanHome rplanUserState rplanMailRoute | grep -v '^dn:' | tr '\\n' ' '`)).out.trim();
  }
  async function queuesEmpty(): Promise<void> {
    const end = Date.now() + 240_000;
    for (;;) {
      const q = await Promise.all(NODES.map((n) => sh(n, "postqueue -f; sleep 1; postqueue -j | wc -l")));
      if (q.every((r) => r.out.trim() === "0")) return;
      if (Date.now() > end) throw new Error(`queues not empty: ${q.map((r, i) => `${NODES[i]}=${r.out.trim()}`).join(" ")}`);
      await sleep(3000);
    }
  }

  beforeAll(async () => {
    await labWithExactly(3);
    const config = YAML.parse(fs.readFileSync(labStackConfigPath(), "utf8"));
    config.config["rplan:placement"] = PLACEMENT;
    fs.writeFileSync(configFile, YAML.stringify(config));
    fs.mkdirSync(path.dirname(placementPath), { recursive: true });
    writeRecord({ limits: { maxBytesMoved: 5_000_000_000, concurrency: 2, graceSeconds: 30 }, pins: {}, users: {} });
    await upNoPreview();
    for (const [uid, home] of [["mv1", "lab1"], ["kl1", "lab1"], ["dr1", "lab3"], ["dr2", "lab3"], ["dr3", "lab3"], ["dr4", "lab3"]]) await addUser(uid, home);
    const sync = await cli(["cli/placement.ts", "sync"]);
    if (sync.code !== 0) throw new Error(`placement sync: ${sync.out}`);
    expect(Object.keys(record().users)).toEqual(expect.arrayContaining(["dr1", "dr2", "dr3", "dr4", "kl1", "mv1"]));
    // The users moved between lab1 and lab2 keep their standby on lab3, so the copy a move leaves is
    // an old copy (removed after its grace), never the standby (docs/seizure.md).
    const standbys = record();
    for (const uid of ["mv1", "kl1"]) standbys.users[uid].standby = "lab3";
    writeRecord(standbys);
    // The stack learns of users created in the directory since its last up by a refresh (a preview
    // refuses users it has not seen there); then the up adopts them where they are: no move.
    await stack("refresh");
    await upNoPreview();
  }, 900_000);
  afterAll(async () => {
    await closeAllSsh();
    fs.rmSync(placementPath, { force: true });
  });

  test("a user with 2 000 messages moves while mail arrives at 10 msg/s through random MXes: every accepted message once in the new home, IMAP sees all, the old copy goes after its grace", async () => {
    await fill("mv1", "lab1", 2000, `old-${RUN}`);
    // mv1's filters, set through a node that is not its home: they are part of the quantum and move with it
    const mv1 = { uid: "mv1", password: password("mv1") };
    const script = `require ["fileinto", "mailbox", "vacation"];\nif header :contains "subject" "sieve-${RUN}" { fileinto :create "Filed"; }\nif header :contains "subject" "vac-${RUN}" { vacation :subject "away-${RUN}" "Moving house."; }\n`;
    expect((await manageSieve(sh, "lab2", "lab3", mv1, "--upload --localsieve {file} --remotesieve rules", script)).out).toBe("");
    expect((await manageSieve(sh, "lab2", "lab3", mv1, "--activate --remotesieve rules")).code).toBe(0);
    setHome("mv1", "lab2");
    const preview: string[] = [];
    await stack("preview", (l) => preview.push(l));
    expect(preview.join("\n")).toMatch(/mv1: lab1 → lab2, \d/);

    const accepted: string[] = [];
    let sending = true;
    let n = 0;
    const sender = (async () => {
      const inflight: Promise<void>[] = [];
      while (sending) {
        const i = ++n;
        const via = NODES[Math.floor(Math.random() * NODES.length)];
        const subject = `load-${RUN}-${i}`;
        inflight.push(run("swaks", ["--helo", "client.example.net", "--timeout", "30", "--server", `${host(via)}:25`, "--from", "sender@example.net", "--to", `mv1@${LAB_DOMAIN}`, "--header", `Subject: ${subject}`, "--body", subject]).then((r) => {
          if (r.code === 0) accepted.push(subject);
        }));
        await sleep(100);
      }
      await Promise.all(inflight);
    })();
    const log: string[] = [];
    let movedAt = 0;
    try {
      await sleep(3000);
      await upNoPreview((l) => log.push(l));
      movedAt = Date.now();
      await sleep(3000);
    } finally {
      sending = false; // also when the up fails: a sender left running would load every later test
      await sender;
    }
    console.log(log.filter((l) => l.includes("[move]") && !l.includes("bulk copy ")).join("\n"));
    expect(log.join("\n")).toMatch(/\[move\] mv1 lab1 → lab2: bulk copy/);
    expect(log.join("\n")).toMatch(/\[move\] mv1 lab1 → lab2: done: .* frozen for \d+ ms/);
    expect(await directory("mv1")).toBe("rplanHome: lab2");

    await queuesEmpty();
    const got = await subjects("lab2", "mv1", `load-${RUN}-`);
    expect(accepted.length).toBeGreaterThan(50);
    const missing = accepted.filter((s) => !got.has(s));
    const duplicated = [...got].filter(([, c]) => c !== 1).map(([s]) => s);
    expect({ sent: n, accepted: accepted.length, missing, duplicated }).toEqual({ sent: n, accepted: accepted.length, missing: [], duplicated: [] });
    expect((await subjects("lab2", "mv1", `old-${RUN}-`)).size).toBe(2000);

    // IMAP through a node that is neither home (proxied to lab2) sees every message of this run.
    const search = (subject: string) => {
      const r = spawnSync("curl", ["-sSk", "--max-time", "120", "-u", `mv1:${password("mv1")}`, `imaps://${host("lab3")}/INBOX`, "-X", `SEARCH SUBJECT "${subject}"`], { encoding: "utf8" });
      return (/^\* SEARCH(.*)$/m.exec(r.stdout)?.[1] ?? "").trim().split(/\s+/).filter(Boolean).length;
    };
    expect({ old: search(`old-${RUN}-`), load: search(`load-${RUN}-`) }).toEqual({ old: 2000, load: got.size });

    // The filters came along and work on the new home: ManageSieve through lab1 (now proxied to lab2)
    // lists the script active, mail is filed, and a vacation reply leaves signed by lab2.
    expect((await manageSieve(sh, "lab3", "lab1", mv1, "--list")).out.trim()).toBe('"rules" ACTIVE');
    expect((await sh("lab2", "cat /srv/crypt/mail/mv1/sieve/rules.sieve")).out).toBe(script);
    const filed = `sieve-${RUN}-after-move`;
    expect((await run("swaks", ["--helo", "client.example.net", "--timeout", "30", "--server", `${host("lab1")}:25`, "--from", "sender@example.net", "--to", `mv1@${LAB_DOMAIN}`, "--header", `Subject: ${filed}`, "--body", filed])).code).toBe(0);
    const kl1 = { uid: "kl1", mail: `kl1@${LAB_DOMAIN}` };
    const vac = await sh("lab3", `swaks --helo client.example.net --timeout 30 --server ${host("lab1")}:587 -tls --auth PLAIN --auth-user kl1 --auth-password '${password("kl1")}' --from ${kl1.mail} --to mv1@${LAB_DOMAIN} --header 'Subject: vac-${RUN}' --body vac`);
    expect(vac.code).toBe(0);
    const end = Date.now() + 120_000;
    let seen = { filed: "0", reply: "" };
    while (Date.now() < end && (seen.filed !== "1" || !seen.reply)) {
      await sleep(1000);
      seen = {
        filed: (await sh("lab2", `grep -l -- '${filed}' /srv/crypt/mail/mv1/Maildir/.Filed/new/* 2>/dev/null | wc -l`)).out.trim(),
        reply: (await sh("lab1", `f=$(grep -l -- '^Subject: away-${RUN}' /srv/crypt/mail/kl1/Maildir/new/* 2>/dev/null | head -1); [ -n "$f" ] && awk '/^$/{exit} {print}' "$f" | tr -d '\\n\\t ' | grep -o ';s=lab2;'`)).out.trim(),
      };
    }
    expect(seen).toEqual({ filed: "1", reply: ";s=lab2;" });

    // The old copy stays for the grace period (30 s from the move), then the next update removes it.
    expect((await sh("lab1", "test -d /srv/crypt/mail/mv1 && echo kept")).out.trim()).toBe("kept");
    await sleep(Math.max(0, movedAt + 31_000 - Date.now()));
    const later: string[] = [];
    await upNoPreview((l) => later.push(l));
    expect(later.join("\n")).toMatch(/old copy of mv1 on lab1: removed/);
    expect((await sh("lab1", "test -d /srv/crypt/mail/mv1 && echo kept || echo gone")).out.trim()).toBe("gone");
  }, 1_200_000);

  /** Runs `npm run stack -- up` as admins do and SIGKILLs its whole process group when `line` is printed. */
  const upKilledAt = (line: RegExp) => killedUp(line, { stateFile, configFile, env });


  test("a runner killed after the bulk copy, and again during the freeze: the rerun converges, nothing lost, nobody frozen; its old copy goes after its grace", async () => {
    await fill("kl1", "lab1", 300, `kl-${RUN}`);
    // The no-op preview at the end must not depend on how long the reruns and the preview take: the
    // last rerun leaves an old copy (kl1 on lab2), and once its grace has passed removing it is
    // work an update must do, so a preview later than 30 s after the rerun would rightly show an
    // update. A grace longer than the test while it runs; the file's 30 s again for the removal.
    setGrace(3600);
    setHome("kl1", "lab2");
    await upKilledAt(/\[move\] kl1 lab1 → lab2: freeze/);
    const between = await directory("kl1");
    expect(between).toMatch(/rplanHome: lab1/); // the home never changes before the final sync
    await upNoPreview();
    expect(await directory("kl1")).toBe("rplanHome: lab2");
    expect((await subjects("lab2", "kl1", `kl-${RUN}-`)).size).toBe(300);

    setHome("kl1", "lab1");
    await upKilledAt(/\[move\] kl1 lab2 → lab1: switch home/);
    expect(await directory("kl1")).toMatch(/rplanUserState: frozen/);
    await upNoPreview();
    const rerunDone = Date.now();
    expect(await directory("kl1")).toBe("rplanHome: lab1");
    expect((await subjects("lab1", "kl1", `kl-${RUN}-`)).size).toBe(300);
    const after: string[] = [];
    await stack("preview", (l) => after.push(l));
    expect(after.join("\n")).toMatch(/\d+ unchanged/);
    expect(after.join("\n")).not.toMatch(/placement-homes\s+update/);

    // The rerun recorded the copy it left on lab2 (the killed run could not): with the file's 30 s
    // grace, the first up after that grace removes it; the mailbox on lab1 stays whole.
    expect((await sh("lab2", "test -d /srv/crypt/mail/kl1 && echo kept")).out.trim()).toBe("kept");
    setGrace(30);
    await sleep(Math.max(0, rerunDone + 31_000 - Date.now()));
    const later: string[] = [];
    await upNoPreview((l) => later.push(l));
    expect(later.join("\n")).toMatch(/old copy of kl1 on lab2: removed/);
    expect((await sh("lab2", "test -d /srv/crypt/mail/kl1 && echo kept || echo gone")).out.trim()).toBe("gone");
    expect((await subjects("lab1", "kl1", `kl-${RUN}-`)).size).toBe(300);
  }, 1_200_000);

  test("drain lab3 with one plan, preview and up; then a rebalance fills the empty node", async () => {
    for (const uid of ["dr1", "dr2", "dr3", "dr4"]) await fill(uid, "lab3", 50, `dr-${RUN}-${uid}`);
    const plan = await cli(["cli/placement.ts", "plan", "drain", "lab3"]);
    expect(plan.code).toBe(0);
    const homes = record().users;
    for (const uid of ["dr1", "dr2", "dr3", "dr4"]) expect(["lab1", "lab2"]).toContain(homes[uid].home);
    const preview: string[] = [];
    await stack("preview", (l) => preview.push(l));
    for (const uid of ["dr1", "dr2", "dr3", "dr4"]) expect(preview.join("\n")).toContain(`${uid}: lab3 → ${homes[uid].home}`);
    await upNoPreview();
    for (const uid of ["dr1", "dr2", "dr3", "dr4"]) {
      expect(await directory(uid)).toBe(`rplanHome: ${homes[uid].home}`);
      expect((await subjects(homes[uid].home, uid, `dr-${RUN}-${uid}-`)).size).toBe(50);
    }

    const rebalance = await cli(["cli/placement.ts", "plan", "rebalance"]);
    expect(rebalance.code).toBe(0);
    const onLab3 = Object.entries(record().users).filter(([, u]) => u.home === "lab3").map(([uid]) => uid);
    expect(onLab3.length).toBeGreaterThan(0);
    await upNoPreview();
    for (const uid of onLab3) expect(await directory(uid)).toBe("rplanHome: lab3");
  }, 1_200_000);

  test("bad placements stop the preview with a clear error, and no host is contacted", async () => {
    const good = fs.readFileSync(placementPath, "utf8");
    const conn = await sshConnection(labSshTarget("lab1"));
    const before = await acceptedLogins(conn);
    const cases: [string, (r: ReturnType<typeof record>) => string | void, RegExp, string?][] = [
      ["unknown node", (r) => void (r.users.mv1.home = "lab9"), /lab9 is not a node/],
      ["uid the directory lacks", (r) => void (r.users.ghost = { home: "lab1", bytes: 0 }), /the directory has no user ghost/],
      ["metacharacters in a uid", (r) => void (r.users["a;rm -rf"] = { home: "lab1", bytes: 0 }), /a;rm -rf/],
      ["a duplicate user", () => `${good}\n  mv1: { home: lab1, bytes: 0 }\n`, /duplicate|unique/i],
    ];
    for (const [name, edit, message] of cases) {
      const r = YAML.parse(good) as ReturnType<typeof record>;
      const text = edit(r);
      fs.writeFileSync(placementPath, typeof text === "string" ? text.replace(/\n\n  mv1/, "\n  mv1") : YAML.stringify(r));
      const out: string[] = [];
      const res = await stack("preview", (l) => out.push(l)).then(() => ({ errors: [] as string[] }), (e: Error) => ({ errors: [e.message] }));
      expect({ name, failed: res.errors.length > 0 || /error/i.test(out.join("\n")) }).toEqual({ name, failed: true });
      expect({ name, said: message.test(`${out.join("\n")}\n${res.errors.join("\n")}`) }).toEqual({ name, said: true });
    }
    // A move onto a revoked node, with a stack file that revokes lab3.
    fs.writeFileSync(placementPath, good);
    const [mover] = Object.entries(record().users).find(([, u]) => u.home !== "lab3")!; // the rebalance may have put mv1 there
    setHome(mover, "lab3");
    const revoked = YAML.parse(fs.readFileSync(configFile, "utf8"));
    revoked.config["rplan:nodes"].find((n: { name: string }) => n.name === "lab3").state = "revoked";
    const revokedFile = path.join(work, "revoked", "Pulumi.lab.yaml");
    fs.mkdirSync(path.dirname(revokedFile), { recursive: true });
    fs.writeFileSync(revokedFile, YAML.stringify(revoked));
    const out: string[] = [];
    const res = await stack("preview", (l) => out.push(l), revokedFile).then(() => ({ errors: [] as string[] }), (e: Error) => ({ errors: [e.message] }));
    expect(`${out.join("\n")}\n${res.errors.join("\n")}`).toContain(`cannot move ${mover} to lab3: lab3 is revoked`);
    fs.writeFileSync(placementPath, good);
    const now = await acceptedLogins(conn);
    expect(now).toBe(before);
    // The count does move when the node is contacted (a count stuck at 0 cannot pass for "not contacted").
    expect(await controlLogin(conn, now)).toBeGreaterThan(now);
  }, 600_000);
});
