/**
 * A cluster in memory for the move protocol (ops/quantum/move.ts) and the UserPlacement provider's
 * update (providers/impl/user-placement.ts `carryOut`): every command they run over SSH is answered
 * here — the directory (ldapsearch/ldapmodify on the master, replicas that follow it and can be held
 * back), the mail stores (doveadm backup copies one, mailbox status reads one, du, mv, rm), postfix's
 * queues (mail for a frozen user waits; `postqueue -f` delivers it to the home) — and a run can be
 * killed before any of its commands: from then on no command of that run reaches a host and none
 * returns, as when the runner is SIGKILLed. No process, no network, no lab.
 */
import { SlapdControl } from "../../ops/slapd-control";
import type { MoveNode } from "../../ops/quantum/node";
import type { ExecOptions, ExecResult, SshConnection } from "../../transports/ssh";

export const SUFFIX = "dc=rplan,dc=test";
export const STORE = "/srv/crypt/mail";
const PEOPLE = `ou=people,${SUFFIX}`;

export interface Entry {
  readonly home: string;
  readonly frozen: boolean;
}

/** A user's mail store on one node: its mailbox GUID (dsync keeps it) and its messages. */
export interface Mailbox {
  readonly guid: string;
  readonly msgs: readonly string[];
}

/** One run's connections to every node; `killed` resolves when the run is killed. */
export interface Run {
  readonly nodes: Map<string, MoveNode>;
  readonly killed: Promise<void>;
  /** Commands this run sent to hosts (the killed one not included). */
  readonly commands: () => number;
}

export class FakeCluster {
  readonly vpn: Record<string, string>;
  /** The master's directory after each write: history[v] is version v. */
  private readonly history: Map<string, Entry>[] = [new Map()];
  private readonly replicaAt = new Map<string, number>();
  /** node → mail store path → mailbox. */
  readonly stores = new Map<string, Map<string, Mailbox>>();
  /** Messages accepted for delivery (each must end up once in the user's home). */
  readonly accepted: string[] = [];
  /** Messages deferred (the user was frozen), by uid. */
  private readonly queue: { uid: string; msg: string }[] = [];
  /** A replica that may not apply master version `v` yet (replication held back). */
  hold?: (node: string, v: number) => boolean;
  /** Nodes whose slapd does not answer (ldapsearch there fails as with no socket). */
  readonly downReplicas = new Set<string>();
  /** How many more `doveadm backup` runs while the user is frozen copy every message but the last (a sync that misses one). */
  lossyFrozenBackups = 0;
  /** Every command a host ran: node, argv, stdin. */
  readonly ran: { node: string; argv: readonly string[]; stdin?: string }[] = [];
  /** Every `doveadm backup` that copied: whose, where to, from which dsync state, whether the user was frozen. */
  readonly backups: { uid: string; to: string; state: string; frozen: boolean }[] = [];
  private guids = 0;

  constructor(
    readonly nodeNames: readonly string[],
    readonly master: string,
  ) {
    this.vpn = Object.fromEntries(nodeNames.map((n, i) => [n, `198.18.0.${11 + i}`]));
    for (const n of nodeNames) {
      this.stores.set(n, new Map());
      this.replicaAt.set(n, 0);
    }
  }

  get version(): number {
    return this.history.length - 1;
  }

  /** The master's entries at version `v`. */
  at(v: number): Map<string, Entry> {
    return this.history[v];
  }

  /** The master's entries. */
  entries(): Map<string, Entry> {
    return this.history[this.version];
  }

  /** What a node's replica shows now (it catches up as far as `hold` lets it). */
  view(node: string): Map<string, Entry> {
    if (node === this.master) return this.entries();
    let v = this.replicaAt.get(node)!;
    while (v < this.version && !this.hold?.(node, v + 1)) v++;
    this.replicaAt.set(node, v);
    return this.history[v];
  }

  private write(uid: string, change: Partial<Entry>): void {
    const next = new Map(this.entries());
    next.set(uid, { ...next.get(uid)!, ...change });
    this.history.push(next);
  }

  /** The user's home changed on the master, as an admin would by hand (nothing else happens). */
  setHome(uid: string, home: string): void {
    this.write(uid, { home });
  }

  /** The user frozen (or not) on the master, as an interrupted move leaves it. */
  setFrozen(uid: string, frozen: boolean): void {
    this.write(uid, { frozen });
    this.flush();
  }

  /** A user with `count` messages in its home's store. */
  addUser(uid: string, home: string, count: number): void {
    this.write(uid, { home, frozen: false });
    this.stores.get(home)!.set(`${STORE}/${uid}`, { guid: `guid-${++this.guids}`, msgs: [] });
    for (let i = 1; i <= count; i++) this.deliver(uid, `${uid}-old-${i}`);
  }

  /** A message for the user arrives: stored at its home, or deferred while the user is frozen. */
  deliver(uid: string, msg: string): void {
    this.accepted.push(msg);
    this.queue.push({ uid, msg });
    this.flush();
  }

  private flush(): void {
    for (const q of [...this.queue]) {
      const e = this.entries().get(q.uid)!;
      if (e.frozen) continue;
      const store = this.stores.get(e.home)!;
      const path = `${STORE}/${q.uid}`;
      const mb = store.get(path) ?? { guid: `guid-${++this.guids}`, msgs: [] };
      store.set(path, { ...mb, msgs: [...mb.msgs, q.msg] });
      this.queue.splice(this.queue.indexOf(q), 1);
    }
  }

  mailbox(node: string, uid: string): Mailbox | undefined {
    return this.stores.get(node)!.get(`${STORE}/${uid}`);
  }

  /** Connections for one run; it is killed before its `killBefore`-th command (1-based), if given. */
  connect(killBefore?: number): Run {
    let sent = 0;
    let dead = false;
    let kill!: () => void;
    const killed = new Promise<void>((resolve) => (kill = resolve));
    const nodes = new Map<string, MoveNode>();
    for (const name of this.nodeNames) {
      const runner = {
        run: (argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> => {
          if (dead || sent + 1 === killBefore) {
            dead = true;
            kill();
            return new Promise<ExecResult>(() => undefined);
          }
          sent++;
          this.ran.push({ node: name, argv, ...(opts.stdin !== undefined ? { stdin: String(opts.stdin) } : {}) });
          let r: ExecResult;
          try {
            r = this.exec(name, argv, opts);
          } catch (e) {
            return Promise.reject(e);
          }
          if (r.code !== 0 && !opts.allowFailure) return Promise.reject(new Error(`[${name}] \`${opts.label ?? argv.join(" ")}\` failed (exit ${r.code}): ${r.stderr}`));
          return Promise.resolve(r);
        },
      };
      nodes.set(name, { name, vpnAddress: this.vpn[name], storePath: STORE, conn: runner as unknown as SshConnection, slapd: new SlapdControl(name, runner) });
    }
    return { nodes, killed, commands: () => sent };
  }

  private exec(node: string, argv: readonly string[], opts: ExecOptions): ExecResult {
    const ok = (stdout = ""): ExecResult => ({ code: 0, stdout, stderr: "" });
    const arg = (flag: string) => argv[argv.indexOf(flag) + 1];
    const store = this.stores.get(node)!;
    switch (argv[0]) {
      case "ldapsearch": {
        if (this.downReplicas.has(node)) return { code: 255, stdout: "", stderr: "ldap_sasl_interactive_bind: Can't contact LDAP server (-1)" };
        const base = arg("-b");
        const dir = this.view(node);
        if (base === PEOPLE && arg("-s") === "one") return ok([...dir].map(([uid, e]) => ldif(uid, e)).join(""));
        const uid = /^uid=([^,]+),ou=people,/.exec(base)?.[1];
        const e = uid === undefined ? undefined : dir.get(uid);
        return e ? ok(ldif(uid!, e)) : { code: 32, stdout: "", stderr: "No such object" };
      }
      case "ldapmodify": {
        if (node !== this.master) return { code: 53, stdout: "", stderr: "shadow context; no update referral" };
        const text = String(opts.stdin);
        const uid = /^dn: uid=([^,]+),/m.exec(text)![1];
        const home = /^rplanHome: (.*)$/m.exec(text)?.[1];
        if (home !== undefined) this.write(uid, { home });
        else if (/^replace: rplanUserState$/m.test(text)) this.write(uid, { frozen: /^rplanUserState: frozen$/m.test(text) });
        else throw new Error(`unmodelled change: ${text}`);
        this.flush();
        return ok();
      }
      case "doveadm": {
        const uid = arg("-u");
        const mb = store.get(`${STORE}/${uid}`);
        if (argv[1] === "backup") {
          const target = argv[argv.length - 1];
          const to = this.nodeNames.find((n) => target === `tcp:${this.vpn[n]}:2425`)!;
          const there = this.mailbox(to, uid);
          if (!mb) return { code: 1, stdout: "", stderr: "no mailbox" };
          // dsync cannot delete an INBOX to recreate it: another GUID asks for another round, for ever.
          if (there && there.guid !== mb.guid) return { code: 2, stdout: "", stderr: "INBOX can't be deleted" };
          const frozen = this.entries().get(uid)!.frozen;
          this.backups.push({ uid, to, state: arg("-s"), frozen });
          const lossy = this.lossyFrozenBackups > 0 && frozen;
          if (lossy) this.lossyFrozenBackups--;
          this.stores.get(to)!.set(`${STORE}/${uid}`, { guid: mb.guid, msgs: lossy ? mb.msgs.slice(0, -1) : [...mb.msgs] });
          return ok(`state-${this.version}\n`);
        }
        if (argv[1] === "kick") return ok();
        if (argv.includes("guid")) return mb ? ok(`mailbox=INBOX guid=${mb.guid}\n`) : { code: 68, stdout: "", stderr: "no mailbox" };
        // what the index holds: dsync keeps UIDs, so a copy missing a message differs in messages and uidnext
        if (argv.includes("tab")) return ok(`mailbox\tmessages\tuidnext\tuidvalidity\tguid\n${mb ? `INBOX\t${mb.msgs.length}\t${mb.msgs.length + 1}\t1\t${mb.guid}\n` : ""}`);
        break;
      }
      case "postfix":
        return ok();
      case "postqueue":
        if (argv[1] === "-f") this.flush();
        return ok();
      case "sh": {
        const script = argv[2];
        const path = argv[4];
        if (script.includes("du -sb")) return ok(`${(store.get(path)?.msgs.length ?? 0) * 100}\n`);
        if (script.includes("! -user")) return ok(); // ownership: every file is the mail user's
        return ok(); // a log read
      }
      case "mv": {
        const [from, to] = argv.slice(-2);
        store.set(to, store.get(from)!);
        store.delete(from);
        return ok();
      }
      case "rm":
        store.delete(argv[argv.length - 1]);
        return ok();
    }
    throw new Error(`[${node}] unmodelled command: ${argv.join(" ")}`);
  }
}

function ldif(uid: string, e: Entry): string {
  return [`dn: uid=${uid},${PEOPLE}`, `uid: ${uid}`, `rplanHome: ${e.home}`, ...(e.frozen ? ["rplanUserState: frozen", "rplanMailRoute: retry:mailbox-moving"] : []), `mail: ${uid}@rplan.test`, "", ""].join("\n");
}
