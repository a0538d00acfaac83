/**
 * Root's view of one node's slapd: cn=config read and changed with `ldapsearch`/`ldapmodify -Y
 * EXTERNAL -H ldapi:///` run on the node over SSH, LDIF on stdin — the same tools an admin would use
 * by hand, so what the provider does can be replayed. Tool output quoted in an error is redacted
 * (cn=config holds the replication credential).
 */
import { ChangeRecord, LdifEntry, parseLdif, redactSyncrepl, renderChanges } from "../planning/ldap";
import { CommandRunner, LdapError, sleep } from "../transports/ldap";

/** Exit code of the OpenLDAP tools for noSuchObject. */
const NO_SUCH_OBJECT = 32;

/** Root's view of one node's slapd through `ldapsearch`/`ldapmodify -Y EXTERNAL` on the node. */
export class SlapdControl {
  constructor(
    readonly node: string,
    private readonly runner: CommandRunner,
    readonly url: string = "ldapi:///",
  ) {}

  /** Entries under `base` (none when it does not exist). */
  async search(base: string, opts: { scope?: "base" | "one" | "sub"; filter?: string; attrs?: readonly string[] } = {}): Promise<LdifEntry[]> {
    const argv = ["ldapsearch", "-Q", "-LLL", "-Y", "EXTERNAL", "-H", this.url, "-o", "ldif-wrap=no", "-s", opts.scope ?? "sub", "-b", base, opts.filter ?? "(objectClass=*)", ...(opts.attrs ?? [])];
    const r = await this.runner.run(argv, { allowFailure: true, label: `ldapsearch ${base}` });
    if (r.code === NO_SUCH_OBJECT) return [];
    if (r.code !== 0) throw new LdapError(redactSyncrepl(`[${this.node}] ldapsearch -b ${base} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`), this.node, r.code);
    return parseLdif(r.stdout);
  }

  /** The whole of cn=config (schema included). */
  readConfig(): Promise<LdifEntry[]> {
    return this.search("cn=config", { scope: "sub" });
  }

  /** Apply change records with one ldapmodify (each record is atomic; stops at the first failure). */
  async modify(records: readonly ChangeRecord[], label = "ldapmodify"): Promise<void> {
    if (records.length === 0) return;
    const r = await this.runner.run(["ldapmodify", "-Q", "-Y", "EXTERNAL", "-H", this.url], { stdin: renderChanges(records), allowFailure: true, label });
    if (r.code !== 0) throw new LdapError(redactSyncrepl(`[${this.node}] ${label} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().split("\n").slice(-4).join(" ")}`), this.node, r.code);
  }

  /** contextCSN of the database holding `suffix` (one value per server ID that wrote to it). */
  async contextCsn(suffix: string): Promise<string[]> {
    const [e] = await this.search(suffix, { scope: "base", attrs: ["contextCSN"] });
    return e ? [...(Object.entries(e.attrs).find(([k]) => k.toLowerCase() === "contextcsn")?.[1] ?? [])] : [];
  }

  /** Does slapd answer on ldapi right now? (systemd may call it active when it is not running.) */
  async isReady(): Promise<boolean> {
    const r = await this.runner.run(["ldapsearch", "-Q", "-LLL", "-Y", "EXTERNAL", "-H", this.url, "-s", "base", "-b", "cn=config", "1.1"], { allowFailure: true, label: "slapd ready?" });
    return r.code === 0;
  }

  /** Wait until slapd answers on ldapi (after a (re)start), at most `timeoutMs`. */
  async waitReady(timeoutMs = 15_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    let last = "";
    for (;;) {
      const r = await this.runner.run(["ldapsearch", "-Q", "-LLL", "-Y", "EXTERNAL", "-H", this.url, "-s", "base", "-b", "cn=config", "1.1"], { allowFailure: true, label: "slapd ready?" });
      if (r.code === 0) return;
      last = (r.stderr || r.stdout).trim();
      if (Date.now() > until) throw new LdapError(redactSyncrepl(`[${this.node}] slapd did not answer on ${this.url} within ${timeoutMs} ms: ${last}`), this.node, r.code);
      await sleep(100);
    }
  }
}
