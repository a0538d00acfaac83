/** slapd's footing on a node: its config and database inside the encrypted mount, its unit, its secret. */
import type { EncryptedMount } from "../planning/encrypted-mount";
import { bootstrapLdif, CREDENTIAL, renderSlapdDefaults, renderSlapdDropIn, SlapdNodeSpec, SlapdSettings } from "../planning/ldap";
import { landedArgv } from "../planning/key-landing";
import { SshConnection, SshError } from "../transports/ssh";
import { SlapdControl } from "./slapd-control";
import { underSystemctlLock } from "../planning/services/systemctl-lock";

/**
 * On the node, once: cn=config inside the mount (slapadd from the bootstrap LDIF on stdin, into a
 * temp directory renamed into place, so a crash never leaves half a config) and the database
 * directory. Prints `bootstrapped` or `present`. Args: configDir dataDir user:group. A body behind
 * the landing fragment (planning/key-landing.ts), run at every convergence: cn=config holds the
 * replication credential, so both directories are proved, before slapd is (re)started or
 * configured, to be on the encrypted filesystem with no symlink on the way.
 */
export const BOOTSTRAP_SCRIPT = [
  'conf=$1; data=$2; owner=$3; dn=${data##*/}; cn=${conf##*/}',
  'land_target=$data; land_dir "${data%/*}" 0755; land_subdir "$dn"',
  'chown "$owner" "$dn"; chmod 0700 "$dn"',
  'land_target=$conf; land_dir "${conf%/*}" 0755',
  'if [ -e "$cn/cn=config.ldif" ]; then land_subdir "$cn"; cat >/dev/null; echo present; exit 0; fi',
  'if [ -L "$cn" ]; then land_subdir "$cn"; fi',
  't=$(mktemp -d ./.config.XXXXXX); trap \'rm -rf -- "$t"\' EXIT',
  'cat > "$t.ldif"; trap \'rm -rf -- "$t" "$t.ldif"\' EXIT',
  'slapadd -n0 -F "$t" -l "$t.ldif" >/dev/null',
  'chown -R "$owner" "$t"; chmod 0750 "$t"',
  'mv -T -- "$t" "$cn"; rm -f -- "$t.ldif"; trap - EXIT',
  "echo bootstrapped",
].join("\n");

/** What prepareHost and readSecret need of a node's SlapdConfig inputs. */
export interface SlapdHost {
  readonly node: string;
  readonly encryptedMount: EncryptedMount;
  readonly spec: SlapdNodeSpec;
  readonly settings: SlapdSettings;
  readonly secretPath: string;
}

/**
 * Before configuring: cn=config and the database in the mount (proved on the encrypted filesystem),
 * slapd's defaults and unit drop-in, and slapd (re)started when any of it changed or it is not
 * answering.
 */
export async function prepareHost(conn: SshConnection, ctl: SlapdControl, news: SlapdHost): Promise<{ bootstrapped: boolean; restarted: boolean }> {
  const s = news.settings;
  const owner = `${s.user}:${s.group}`;
  const r = await conn.run(landedArgv(news.node, news.encryptedMount, BOOTSTRAP_SCRIPT, [news.spec.configDir, news.spec.dataDir, owner]), {
    stdin: bootstrapLdif(news.spec, s),
    label: `create cn=config in ${news.spec.configDir}`,
  });
  const bootstrapped = r.stdout.trim() === "bootstrapped";
  const defaults = renderSlapdDefaults(news.spec, s);
  const changed = (await conn.readFile(s.defaultsFile)) !== defaults;
  if (changed) await conn.writeFile(s.defaultsFile, defaults, { mode: "0644" });
  const dropIn = renderSlapdDropIn(s);
  if ((await conn.readFile(s.systemdDropIn)) !== dropIn) {
    await conn.run(["mkdir", "-p", s.systemdDropIn.slice(0, s.systemdDropIn.lastIndexOf("/"))]);
    await conn.writeFile(s.systemdDropIn, dropIn, { mode: "0644" });
    await conn.run(underSystemctlLock(["systemctl", "daemon-reload"]), { label: "systemctl daemon-reload" });
  }
  // Ask slapd itself: a SysV-wrapped unit may be "active" while slapd is not running (e.g. it
  // found no config because the mount was locked at boot).
  const restarted = changed || bootstrapped || !(await ctl.isReady());
  if (restarted) await conn.run(underSystemctlLock(["systemctl", "restart", s.systemdUnit]), { label: `restart ${s.systemdUnit}` });
  await ctl.waitReady();
  return { bootstrapped, restarted };
}

/** The replication secret a consumer puts into olcSyncrepl, read on the node from its mount. */
export async function readSecret(conn: SshConnection, news: SlapdHost): Promise<string> {
  const text = (await conn.readFile(news.secretPath))?.trim();
  if (!text || !CREDENTIAL.test(text)) {
    throw new SshError(`[${news.node}] the replication secret at ${news.secretPath} is ${text ? "malformed" : "missing"}; it is written by the LdapReplica's HostFiles: run up again`, news.node);
  }
  return text;
}
