import * as pulumi from "@pulumi/pulumi";
import { DaemonContribution } from "../planning/mail/contribution";
import { renderDovecot } from "../planning/mail/dovecot-config";
import { renderPostfix, RenderedDaemon } from "../planning/mail/postfix-config";
import { HostFiles } from "../providers/host-files";
import type { Node } from "./node";
import { isLive } from "../planning/node-roles";

export interface MailDaemonsArgs {
  /** The node whose postfix and dovecot these configure (never a revoked one: it has no Node). */
  readonly node: Node;
  /** The cluster's domain (postfix's `myhostname` is `<node>.<domain>`). */
  readonly domain: string;
  /**
   * What each feature contributes (the node's TLS keys, mail routing…): plain data, rendered when
   * the component is constructed, so two features setting one setting differently stop the
   * program at preview with every conflict listed, before any host is touched.
   */
  readonly contributions: readonly DaemonContribution[];
  /**
   * Per daemon, values its files must change with although no setting names them (the SHA-256 of
   * the certificate in use): written into the file header, so a new key reloads the daemon.
   */
  readonly revisions?: { readonly postfix?: readonly pulumi.Input<string>[]; readonly dovecot?: readonly pulumi.Input<string>[] };
  /** Resources the daemons' configuration needs in place first (keys, the directory replica). */
  readonly dependsOn?: readonly pulumi.Resource[];
}

/** The first file's header names what it must change with (its first lines are comments). */
function withRevisions(content: string, revisions: readonly string[]): string {
  if (revisions.some((r) => /[\r\n]/.test(r))) throw new Error("a revision must be one line");
  return revisions.map((r) => `# in use: ${r}\n`).join("") + content;
}

/** Every problem with the args at once. */
export function validateMailDaemonsArgs(args: MailDaemonsArgs): void {
  const problems: string[] = [];
  if (!isLive(args.node.config)) problems.push(`node ${args.node.config.name} is revoked: its daemons are never configured`);
  if (!/^[a-z0-9.-]+$/.test(args.domain)) problems.push(`domain ${JSON.stringify(args.domain)} is not a lower-case domain`);
  if (args.contributions.length === 0) problems.push("no contribution: the daemons would keep Debian's shared defaults");
  if (problems.length > 0) throw new Error(`invalid MailDaemons args for ${args.node.config.name}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
}

/**
 * The one owner of a node's postfix and dovecot configuration: `<node>-postfix-config` (main.cf,
 * master.cf, /etc/postfix/rplan/) and `<node>-dovecot-config` (dovecot.conf, /etc/dovecot/rplan/),
 * each a HostFiles rendered by one pure renderer (planning/mail) from every feature's
 * contribution. Each file is compared with the host on every update and read back by a refresh, so
 * a hand edit shows as drift; the daemon is checked and reloaded only when its files change.
 */
export class MailDaemons extends pulumi.ComponentResource {
  public readonly postfix: HostFiles;
  public readonly dovecot: HostFiles;

  constructor(name: string, args: MailDaemonsArgs, opts?: pulumi.ComponentResourceOptions) {
    validateMailDaemonsArgs(args);
    super("rplan:mail:MailDaemons", name, {}, opts);
    const c = args.node.config;
    const ssh = args.node.ssh;
    const daemon = (which: "postfix" | "dovecot", rendered: RenderedDaemon) => {
      const revisions = pulumi.all([...(args.revisions?.[which] ?? [])]);
      const files = revisions.apply((rs) => rendered.files.map((f, i) => (i === 0 ? { ...f, content: withRevisions(f.content, rs) } : f)));
      return new HostFiles(
        `${c.name}-${which}-config`,
        { node: c.name, ssh, encryptedMount: c.encryptedMount, files, prune: rendered.prune, reload: rendered.reload },
        { parent: this, dependsOn: [...args.node.daemonsAfter, ...(args.dependsOn ?? [])] },
      );
    };
    // Rendered now, not in an apply: a conflict must stop the preview, not wait for known values.
    this.postfix = daemon("postfix", renderPostfix({ name: c.name, domain: args.domain }, args.contributions));
    this.dovecot = daemon("dovecot", renderDovecot(c.name, args.contributions));
    this.registerOutputs({});
  }
}
