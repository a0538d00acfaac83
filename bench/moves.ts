/**
 * Moving users' quanta on the lab (its nodes as they are; never re-created), through the real
 * program and the stack runner, with the bench's own copy of the lab stack file naming its own
 * placement file (`placement.lab-bench-<run>.yaml`, git-ignored) and its own state file.
 *
 * - Move throughput: a Maildir of RPLAN_BENCH_MOVE_MB megabytes (default 1000: 100 KB messages of
 *   random base64, written on lab1 by the mail user; generation not counted) moves lab1 → lab2 by
 *   editing the placement file and running `up`; the move's own `totalMs` (UserPlacement's
 *   `lastMoves`: bulk `doveadm backup` over the VPN, freeze, final sync, switch, unfreeze) against a
 *   raw `rsync -a` of the same Maildir from lab1 to an `rsync --daemon` started for the bench on
 *   lab2's VPN address (module in a scratch directory inside /srv/crypt, writing as the mail user;
 *   timed on lab1, removed afterwards). Both rates use the source Maildir's bytes (`du -sb`).
 * - Freeze window (`freezeMs`, freeze → unfreeze) of that user and of a 10 MB user moved three
 *   times (lab1 → lab2 → lab1 → lab2) while mail for it arrives.
 * - Mail during those three moves: about 10 msg/s through random MXes (a small SMTP client here,
 *   one connection per message, a unique subject each); after the moves every queue is flushed
 *   until empty and the new home's Maildir is counted: lost = accepted − delivered (must be 0), and
 *   duplicates.
 * - No-op preview with 0 / 500 / 2 000 / 5 000 placed users (entries added with one `ldapadd` per
 *   step on the master, the placement file written with them, one `up`, then a timed `preview` that
 *   must find nothing to do); the state file's size after the 5 000-user up; the size of
 *   UserPlacement's `__provider` text and of its compiled implementation (with the project modules
 *   it loads).
 *
 * Every bench user (uids `bsc-*`, `bmv-*`) is deleted from the directory and its mail from every
 * node at the end (and before starting, should an earlier run have left any). Leaves the lab up.
 * RPLAN_BENCH_MOVES_ONLY=scale|moves runs one half.
 */
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { ensureLab, labSshTarget, labStackConfigPath, readLabState } from "../lab";
import { LAB_DOMAIN } from "../lab/stack-config";
import { SSH_KEY as LAB_SSH_KEY } from "../lab/state";
import type { MoveReport } from "../ops/quantum/move";
import { planLdap, renderEntry, userEntry } from "../planning/ldap";
import { thinProviderSource } from "../providers/thin";
import { RPLAN_PROJECT_DIR, runStack, RunResult, StackRunError } from "../runner";
import { readClusterConfig } from "../stack-file/config";
import { sleep } from "../transports/ldap";
import { sshConnection } from "../transports/ssh";
import { LAB_STACK_FILES } from "../lab/stack-files";

export interface MovesBench {
  readonly big?: {
    readonly mb: number;
    readonly messages: number;
    readonly bytes: number;
    readonly move: MoveReport;
    readonly rsyncMs: number;
  };
  /** The big user moved on onto its standby (which replication kept current): a move by promotion. */
  readonly bigOntoStandby?: MoveReport;
  readonly small?: {
    readonly bytes: number;
    readonly rounds: MoveReport[];
    readonly mail: { readonly sent: number; readonly accepted: number; readonly delivered: number; readonly lost: number; readonly duplicated: number };
  };
  readonly previews: Array<{ readonly users: number; readonly seconds: number; readonly changed: boolean; readonly upSeconds: number }>;
  readonly stateBytes?: number;
  readonly providerSourceBytes: number;
  readonly implBytes: number;
  readonly implClosureBytes: number;
  readonly implClosureModules: number;
}

const RUN = Date.now().toString(36);
const PLACEMENT = `placement.lab-bench-${RUN}.yaml`;
const STORE = "/srv/crypt/mail";
const MESSAGE_BYTES = 100_000;
const RSYNC_PORT = 8730;
const env = { RPLAN_SSH_KEY: LAB_SSH_KEY };
const log = (line: string) => process.stderr.write(`[bench moves] ${line}\n`);

async function sh(node: string, script: string, stdin?: string): Promise<string> {
  const r = await (await sshConnection(labSshTarget(node))).exec(script, { label: script.slice(0, 80), stdin });
  return r.stdout;
}

/** Bytes of the files under a directory on a node (directories' own sizes differ between filesystems). */
async function dirBytes(node: string, dir: string): Promise<number> {
  return Number((await sh(node, `find ${dir} -type f -printf '%s\\n' | awk '{ s += $1 } END { print s + 0 }'`)).trim());
}

/**
 * Writes `count` messages of about 100 KB (random base64 bodies, so the VPN's compression gets no
 * easy ride) into the user's Maildir on `node`, as the mail user (as dovecot would), retrying each
 * creation: the lab's gocryptfs 2.3 fails about 1 in 100 (ops/quantum/move.ts).
 */
async function fill(node: string, uid: string, count: number): Promise<void> {
  const perl = String.raw`
    use strict; use MIME::Base64;
    my ($dir, $n, $size, $marker) = @ARGV;
    sub retry { my ($what, $f) = @_; for my $t (1 .. 20) { return if $f->(); select(undef, undef, undef, 0.05); } die "$what: $!\n"; }
    for my $d ($dir, "$dir/new", "$dir/cur", "$dir/tmp") { retry("mkdir $d", sub { -d $d or mkdir($d, 0700) }); }
    open(my $r, '<', '/dev/urandom') or die; read($r, my $raw, 3 << 20); my $pool = encode_base64($raw);
    for my $i (1 .. $n) {
      my $off = int(rand(length($pool) - $size)); $off -= $off % 77;
      my $msg = "From: filler\@example.net\nSubject: $marker-$i\nMessage-ID: <$marker.$i\@bench.invalid>\n\n" . substr($pool, $off, $size);
      my $f = "$dir/new/$marker.$i.bench";
      retry("write $f", sub { my $o; open($o, '>', $f) and print($o $msg) and close($o) });
    }`;
  await sh(node, `n=0; until install -d -o mail -g mail -m 0700 ${STORE}/${uid} 2>/dev/null; do n=$((n+1)); [ $n -lt 20 ] || exit 1; sleep 0.05; done`);
  await sh(node, `runuser -u mail -- perl - ${STORE}/${uid}/Maildir ${count} ${MESSAGE_BYTES} fill-${RUN}`, perl);
}

/**
 * One message over SMTP to `host`:25 (EHLO, MAIL, RCPT, DATA, QUIT; the body: its subject unless given,
 * lines of at most 998 bytes, no line of a lone "."); true when the server accepted
 * it (250 after the data). Cheaper than a process per message, so the load does not steal the CPU
 * the move runs on.
 */
export function smtpSend(host: string, to: string, subject: string, port = 25, body = subject): Promise<boolean> {
  const steps = ["EHLO client.example.net", "MAIL FROM:<sender@example.net>", `RCPT TO:<${to}>`, "DATA", `From: sender@example.net\r\nTo: ${to}\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@bench.invalid>\r\n\r\n${body}\r\n.`, "QUIT"];
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    let buf = "";
    let step = -1; // -1: waiting for the greeting
    let accepted = false;
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(30_000, () => done(false));
    s.on("error", () => done(accepted));
    s.on("data", (d) => {
      buf += d.toString();
      for (;;) {
        const m = /^(\d{3})([ -])[^\n]*\n/m.exec(buf);
        if (!m) return;
        buf = buf.slice(m.index + m[0].length);
        if (m[2] === "-") continue; // a continuation line of a multi-line reply
        const code = Number(m[1]);
        const expected = step === -1 ? 220 : step === 3 ? 354 : step === 5 ? 221 : 250;
        if (step === 4 && code === 250) accepted = true;
        if (code !== expected) return done(accepted);
        if (++step >= steps.length) return done(accepted);
        s.write(`${steps[step]}\r\n`);
      }
    });
    s.on("close", () => resolve(accepted));
  });
}

/** Sends about `perSecond` messages a second to `to` through random MXes until stopped. */
function startLoad(mxes: string[], to: string, perSecond: number) {
  const accepted: string[] = [];
  let sent = 0;
  let running = true;
  const inflight: Promise<void>[] = [];
  const loop = (async () => {
    while (running) {
      const subject = `load-${RUN}-${++sent}`;
      inflight.push(smtpSend(mxes[Math.floor(Math.random() * mxes.length)], to, subject).then((ok) => void (ok && accepted.push(subject))));
      await sleep(1000 / perSecond);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      await Promise.all(inflight);
      return { sent, accepted };
    },
  };
}

export async function benchMoves(opts: { mb?: number; only?: "scale" | "moves" } = {}): Promise<MovesBench> {
  const mb = opts.mb ?? Number(process.env.RPLAN_BENCH_MOVE_MB ?? 1000);
  const only = opts.only ?? (process.env.RPLAN_BENCH_MOVES_ONLY as "scale" | "moves" | undefined);
  const lab = readLabState();
  if (!lab) throw new Error("bench moves needs a running lab (npm run lab -- up)");
  await ensureLab({ nodes: lab.nodes.length });
  const nodes = lab.nodes.map((n) => n.name).sort();
  if (!nodes.includes("lab1") || !nodes.includes("lab2")) throw new Error(`bench moves needs lab1 and lab2 (the lab has ${nodes.join(", ")})`);
  const cluster = readClusterConfig({ stack: "lab", configFile: labStackConfigPath() });
  const { master, suffix } = planLdap(cluster);
  const vpn = (n: string) => cluster.nodes.find((c) => c.name === n)!.vpnAddress;

  const work = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-bench-moves-"));
  const stateFile = path.join(work, "state.json");
  const configFile = path.join(work, "Pulumi.lab.yaml");
  const placementPath = path.join(RPLAN_PROJECT_DIR, PLACEMENT);
  const stackConfig = YAML.parse(fs.readFileSync(labStackConfigPath(), "utf8"));
  stackConfig.config["rplan:placement"] = PLACEMENT;
  fs.writeFileSync(configFile, YAML.stringify(stackConfig));
  const homes: Record<string, { home: string; bytes: number; standby?: string }> = {};
  const writePlacement = () => fs.writeFileSync(placementPath, YAML.stringify({ limits: { maxBytesMoved: 50_000_000_000, concurrency: 2, graceSeconds: 0 }, pins: {}, users: homes }));
  const stack = async (op: "up" | "preview" | "refresh", lines?: string[]): Promise<RunResult> => {
    try {
      return await runStack({ op, stack: "lab", stackFiles: LAB_STACK_FILES, stateFile, configFile, env, log: (l) => lines?.push(l) });
    } catch (e) {
      const printed = e instanceof StackRunError ? `\n${e.printed.split("\n").slice(-30).join("\n")}` : "";
      throw new Error(`${op} failed: ${(e as Error).message}${printed}`);
    }
  };
  const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
    const t = Date.now();
    const r = await fn();
    return [r, (Date.now() - t) / 1000];
  };
  /** UserPlacement's `lastMoves` as the last update left them in the state file. */
  const lastMoves = (): MoveReport[] => {
    const state = JSON.parse(fs.readFileSync(stateFile, "utf8")) as { resources: Array<{ type: string; outputs: { lastMoves?: MoveReport[] } }> };
    return state.resources.find((r) => r.type === "pulumi-nodejs:dynamic/rplan:UserPlacement")?.outputs.lastMoves ?? [];
  };
  const moveTo = async (uid: string, to: string): Promise<MoveReport> => {
    const from = homes[uid].home;
    homes[uid].home = to;
    // Onto its standby: the old home becomes the standby, as `npm run placement -- plan` writes it.
    if (homes[uid].standby === to) homes[uid].standby = from;
    writePlacement();
    const lines: string[] = [];
    await stack("up", lines);
    // `up` previews first: the reviewer's line must be there.
    if (!lines.some((l) => l.includes(`${uid}: ${from} → ${to}`))) throw new Error(`the preview does not name the move ${uid}: ${from} → ${to}`);
    const report = lastMoves().find((m) => m.user === uid);
    if (!report || report.to !== to) throw new Error(`no move of ${uid} to ${to} in lastMoves:\n${lines.filter((l) => l.includes("[move]")).join("\n")}`);
    log(`${uid} ${from} → ${to}: ${report.bytes} bytes in ${report.totalMs} ms, frozen ${report.freezeMs} ms${report.freezePhases ? ` (${Object.entries(report.freezePhases).map(([p, ms]) => `${p} ${ms}`).join(", ")})` : ""}`);
    return report;
  };
  const benchUids = "(|(uid=bsc-*)(uid=bmv-*))";
  const cleanDirectory = () =>
    sh(master, `ldapsearch -Q -LLL -o ldif-wrap=no -Y EXTERNAL -H ldapi:/// -b ou=people,${suffix} -s one '${benchUids}' 1.1 | sed -n 's/^dn: //p' | { ldapdelete -Q -Y EXTERNAL -H ldapi:/// -c || true; }`);
  const cleanMail = () => Promise.all(nodes.map((n) => sh(n, `rm -rf ${STORE}/bmv-* ${STORE}/.bmv-* /srv/crypt/.bench-rsync-*`)));

  const result: { -readonly [K in keyof MovesBench]: MovesBench[K] } = { previews: [], ...providerSizes() };
  await cleanDirectory();
  await cleanMail();
  try {
    writePlacement();
    log("first up of the bench's copy of the lab stack (own state, no users placed)");
    await stack("up");

    if (only !== "moves") {
      // No-op previews as the placement grows.
      let have = 0;
      for (const want of [0, 500, 2000, 5000]) {
        const entries: string[] = [];
        for (let i = have; i < want; i++) {
          const uid = `bsc-${String(i).padStart(5, "0")}`;
          const home = nodes[i % nodes.length];
          const e = userEntry(suffix, { uid, mail: `${uid}@${LAB_DOMAIN}`, home });
          entries.push(renderEntry({ dn: e.dn, attrs: e.attributes }));
          homes[uid] = { home, bytes: 0 };
        }
        if (entries.length > 0) await sh(master, "ldapadd -Q -Y EXTERNAL -H ldapi:/// >/dev/null", entries.join("\n"));
        have = want;
        writePlacement();
        // Users added outside the stack: a refresh reads them (as an admin would after `placement sync`).
        if (entries.length > 0) await stack("refresh");
        const [, upSeconds] = await timed(() => stack("up"));
        const [preview, seconds] = await timed(() => stack("preview"));
        result.previews.push({ users: want, seconds, changed: preview.changed, upSeconds });
        if (want === 5000) result.stateBytes = fs.statSync(stateFile).size;
        log(`${want} placed users: up ${upSeconds.toFixed(1)} s, no-op preview ${seconds.toFixed(1)} s (changes: ${preview.changed}), state file ${fs.statSync(stateFile).size} bytes`);
      }
      for (const uid of Object.keys(homes)) if (uid.startsWith("bsc-")) delete homes[uid];
      writePlacement();
      await cleanDirectory();
    }

    if (only !== "scale") {
      const big = "bmv-big";
      const small = "bmv-small";
      const bigMessages = Math.max(1, Math.round((mb * 1e6) / MESSAGE_BYTES));
      for (const uid of [big, small]) {
        const e = userEntry(suffix, { uid, mail: `${uid}@${LAB_DOMAIN}`, home: "lab1" });
        await sh(master, "ldapadd -Q -Y EXTERNAL -H ldapi:/// >/dev/null", renderEntry({ dn: e.dn, attrs: e.attributes }));
      }
      log(`writing ${bigMessages} messages of ${MESSAGE_BYTES / 1000} KB for ${big} and 100 for ${small} on lab1`);
      await fill("lab1", big, bigMessages);
      await fill("lab1", small, 100);
      const bigBytes = await dirBytes("lab1", `${STORE}/${big}/Maildir`);
      const smallBytes = await dirBytes("lab1", `${STORE}/${small}/Maildir`);
      // Standbys named in the file: the big user's on lab3, so its move to lab2 (a third node) copies
      // all of it (the throughput row) and its move on to lab3 is onto its standby; the small user's
      // on lab2, so every one of its moves is onto its standby (the old home becomes the standby).
      homes[big] = { home: "lab1", bytes: bigBytes, standby: "lab3" };
      homes[small] = { home: "lab1", bytes: smallBytes, standby: "lab2" };
      writePlacement();
      await stack("refresh");
      await stack("up"); // adopts both where they are: no move

      // Raw rsync of the same Maildir over the same VPN path, to a daemon on lab2's VPN address.
      const scratch = `/srv/crypt/.bench-rsync-${RUN}`;
      const conf = `/run/rplan-bench-rsyncd-${RUN}.conf`;
      const pid = `/run/rplan-bench-rsyncd-${RUN}.pid`;
      let rsyncMs: number;
      try {
        await sh("lab2", `n=0; until install -d -o mail -g mail -m 0700 ${scratch} 2>/dev/null; do n=$((n+1)); [ $n -lt 20 ] || exit 1; sleep 0.05; done`);
        await sh(
          "lab2",
          `cat > ${conf} && rsync --daemon --config=${conf}`,
          [`address = ${vpn("lab2")}`, `port = ${RSYNC_PORT}`, `pid file = ${pid}`, "use chroot = no", "[bench]", `path = ${scratch}`, "read only = no", "uid = mail", "gid = mail", ""].join("\n"),
        );
        await sleep(500);
        log(`rsync -a of ${bigBytes} bytes lab1 → rsync://${vpn("lab2")}:${RSYNC_PORT}`);
        const out = await sh("lab1", `t0=$(date +%s%N); rsync -a ${STORE}/${big}/Maildir/ rsync://${vpn("lab2")}:${RSYNC_PORT}/bench/Maildir/ >&2; rc=$?; t1=$(date +%s%N); echo $rc $(( (t1 - t0) / 1000000 ))`);
        const [rc, ms] = out.trim().split(" ").map(Number);
        if (rc !== 0) throw new Error(`rsync exited ${rc}`);
        const copied = await dirBytes("lab2", `${scratch}/Maildir`);
        log(`rsync: ${ms} ms, ${copied} bytes`);
        if (copied < bigBytes) throw new Error(`rsync copied ${copied} of ${bigBytes} bytes`);
        rsyncMs = ms;
      } finally {
        await sh("lab2", `test -f ${pid} && kill $(cat ${pid}); rm -rf ${scratch} ${conf}; true`);
      }

      log(`moving ${big} lab1 → lab2 through the program`);
      const bigMove = await moveTo(big, "lab2");
      result.big = { mb, messages: bigMessages, bytes: bigBytes, move: bigMove, rsyncMs };

      // Move by promotion: the big user onto its standby (lab3), once lab2's replicator has it current.
      const current = async () => /\tok\t/.test(await sh("lab2", `cat /run/rplan-standby/${big}.status 2>/dev/null || true`)) && (await dirBytes("lab3", `${STORE}/${big}/Maildir`)) >= bigBytes * 0.98;
      const until = Date.now() + 600_000;
      while (!(await current())) {
        if (Date.now() > until) throw new Error(`${big}'s standby copy on lab3 not current after 10 minutes`);
        await sleep(2000);
      }
      log(`moving ${big} lab2 → lab3, onto its standby (a promotion)`);
      result.bigOntoStandby = await moveTo(big, "lab3");

      // The 10 MB user, three times, while mail for it arrives through random MXes.
      const load = startLoad(nodes.map((n) => labSshTarget(n).host), `${small}@${LAB_DOMAIN}`, 10);
      const rounds: MoveReport[] = [];
      const failed = await (async () => {
        await sleep(3000);
        for (const to of ["lab2", "lab1", "lab2"]) rounds.push(await moveTo(small, to));
        await sleep(3000);
      })().then(
        () => undefined,
        (e: Error) => e,
      );
      const sentMail = await load.stop();
      if (failed) throw failed;
      const end = Date.now() + 240_000;
      for (;;) {
        const q = await Promise.all(nodes.map((n) => sh(n, "postqueue -f; sleep 1; postqueue -j | wc -l")));
        if (q.every((c) => c.trim() === "0")) break;
        if (Date.now() > end) throw new Error(`queues not empty after 4 minutes: ${q.map((c, i) => `${nodes[i]}=${c.trim()}`).join(" ")}`);
        await sleep(2000);
      }
      const counts = await sh("lab2", `cat ${STORE}/${small}/Maildir/new/* ${STORE}/${small}/Maildir/cur/* 2>/dev/null | grep -a '^Subject: load-${RUN}-' | sort | uniq -c || true`);
      const got = new Map(counts.split("\n").filter(Boolean).map((l) => { const [n, , s] = l.trim().split(/\s+/); return [s, Number(n)] as [string, number]; }));
      const lost = sentMail.accepted.filter((s) => !got.has(s)).length;
      const duplicated = [...got.values()].filter((c) => c > 1).length;
      const accepted = new Set(sentMail.accepted);
      result.small = { bytes: smallBytes, rounds, mail: { sent: sentMail.sent, accepted: accepted.size, delivered: [...got.keys()].filter((s) => accepted.has(s)).length, lost, duplicated } };
    }
    return result;
  } finally {
    await cleanDirectory().catch((e: Error) => log(`cleaning the directory: ${e.message}`));
    await cleanMail().catch((e: Error) => log(`removing the bench's mail: ${e.message}`));
    fs.rmSync(placementPath, { force: true });
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * UserPlacement's `__provider` text, its compiled implementation, and that module with every
 * project module it loads (relative requires, followed in the compiled package).
 */
function providerSizes(): Pick<MovesBench, "providerSourceBytes" | "implBytes" | "implClosureBytes" | "implClosureModules"> {
  const root = path.join(RPLAN_PROJECT_DIR, "node_modules", "@rplan", "hostops");
  const entry = path.join(root, "providers", "impl", "user-placement.js");
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of fs.readFileSync(file, "utf8").matchAll(/require\("(\.{1,2}\/[^"]+)"\)/g)) {
      const target = path.resolve(path.dirname(file), m[1]);
      visit(fs.existsSync(`${target}.js`) ? `${target}.js` : path.join(target, "index.js"));
    }
  };
  visit(entry);
  return {
    providerSourceBytes: Buffer.byteLength(thinProviderSource("user-placement")),
    implBytes: fs.statSync(entry).size,
    implClosureBytes: [...seen].reduce((a, f) => a + fs.statSync(f).size, 0),
    implClosureModules: seen.size,
  };
}
