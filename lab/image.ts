/**
 * The node image: Debian 12 minbase plus the services, cached under /var/cache/rplan-lab. Each image
 * directory is named after a hash of what went into it and appears only by rename once complete, so
 * a crash mid-build never leaves a half image that looks good, and a changed package list rebuilds.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { isAlive, run } from "./exec";
import { cgroupDirs, cgroupPids, joinCgroupsSh, makeCgroups, removeCgroup } from "./cgroup";
import { PREINSTALL_SLAPD_DEFAULTS } from "../planning/ldap/slapd-config";
import { LAB_DOMAIN } from "./stack-config";
import { mountPackages } from "../planning/node-plan";
import { DISABLED_UNTIL_CONFIGURED, SERVICE_PACKAGES } from "../planning/services";
import { CACHE_DIR, readLabState } from "./state";

export const SUITE = "bookworm";
export const BASE_PACKAGES = ["systemd", "systemd-sysv", "dbus", "openssh-server", "iproute2"];
/**
 * What the image installs: every node's packages as the stack plans them (planning/services, a
 * gocryptfs mount: the lab's stand-in for LUKS), so a node of the lab never installs anything, plus
 * the clients tests and benches run on the nodes.
 */
const LAB_CLIENTS = ["procps", "netcat-openbsd", "ca-certificates", "swaks", "curl", "knot-dnsutils", "opendkim-tools", "sieve-connect"];
export const IMAGE_PACKAGES = [...new Set([...SERVICE_PACKAGES, ...mountPackages("gocryptfs"), ...LAB_CLIENTS])].sort();
const HOST_TOOLS: Record<string, string> = { "systemd-nspawn": "systemd-container", debootstrap: "debootstrap", ssh: "openssh-client", "ssh-keygen": "openssh-client" };

/** Installs the host tools the lab needs when missing (CI machines start fresh). */
export async function ensureHostTools(): Promise<void> {
  const missing = new Set<string>();
  for (const [cmd, pkg] of Object.entries(HOST_TOOLS)) {
    if ((await run("sh", ["-c", `command -v ${cmd}`], { check: false })).code !== 0) missing.add(pkg);
  }
  if (!missing.size) return;
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  await run("apt-get", ["update", "-q"], { env });
  await run("apt-get", ["install", "-y", "-q", ...missing], { env });
}

/** The Debian mirror the host itself uses (deb822 .sources or one-line .list), for debootstrap. */
export function hostMirror(files = aptSourceFiles()): string {
  for (const f of files) {
    const text = fs.readFileSync(f, "utf8");
    for (const stanza of text.split(/\n\s*\n/)) {
      const uris = /^URIs:\s*(.+)$/m.exec(stanza)?.[1].split(/\s+/) ?? [];
      const suites = /^Suites:\s*(.+)$/m.exec(stanza)?.[1].split(/\s+/) ?? [];
      const hit = suites.includes(SUITE) && uris.find((u) => /\/debian\/?$/.test(u));
      if (hit) return hit;
    }
    const line = new RegExp(`^deb\\s+(?:\\[[^\\]]*\\]\\s+)?(\\S+/debian/?)\\s+${SUITE}\\s`, "m").exec(text);
    if (line) return line[1];
  }
  return "http://deb.debian.org/debian";
}

function aptSourceFiles(): string[] {
  const d = "/etc/apt/sources.list.d";
  const listed = fs.existsSync(d) ? fs.readdirSync(d).filter((f) => /\.(sources|list)$/.test(f)).map((f) => path.join(d, f)) : [];
  return [...listed, "/etc/apt/sources.list"].filter((f) => fs.existsSync(f));
}

const hash = (x: unknown) => crypto.createHash("sha256").update(JSON.stringify(x)).digest("hex").slice(0, 12);

/** Debconf answers; kept under /root because nspawn gives the container an empty /tmp. */
const PRESEED = `slapd slapd/domain string ${LAB_DOMAIN}
slapd shared/organization string rplan lab
slapd slapd/no_configuration boolean false
postfix postfix/main_mailer_type select Internet Site
postfix postfix/mailname string ${LAB_DOMAIN}
`;

/**
 * The lab's gocryptfs: Debian 12's 2.3 (Go 1.19, x/sys >= 0.1) switches the credentials of ALL its
 * threads while it creates a file for another user (-allow_other as root), so a write slapd makes
 * at that moment fails: "mdb_modify: txn_commit failed: Permission denied", then MDB_PANIC and
 * slapd exits (rfjakob/gocryptfs#892, fixed in 2.5.2). Measured on the lab: 4 users creating
 * files while 1 500 LDAP modifies ran killed slapd within a second on 2.3 and never on 2.6.1.
 * So the image diverts Debian's binary and installs trixie-backports' (it runs on bookworm's libc
 * and libcrypto.so.3; the package itself wants trixie's libssl3t64, hence no dpkg -i). This is
 * the lab's stand-in for LUKS only: production nodes use dm-crypt and never run gocryptfs.
 */
export const LAB_GOCRYPTFS = {
  pool: "pool/main/g/gocryptfs/gocryptfs_2.6.1-1~bpo13+1_amd64.deb",
  sha256: "10e98494c613a0b5c5348b51e4e233fbb3e6f3da1cfd0f2fdc23736c8390dc58",
};

const INSTALL_GOCRYPTFS = (mirror: string) => `d=/root/gocryptfs.deb
curl -fsS -o $d '${mirror.replace(/\/$/, "")}/${LAB_GOCRYPTFS.pool}' || { echo "cannot fetch ${LAB_GOCRYPTFS.pool} from ${mirror}: the lab needs gocryptfs >= 2.5.2 (see lab/image.ts)" >&2; exit 1; }
echo '${LAB_GOCRYPTFS.sha256}  '$d | sha256sum -c --quiet
dpkg-divert --local --rename --add /usr/bin/gocryptfs >/dev/null
dpkg-deb --fsys-tarfile $d | tar -xO ./usr/bin/gocryptfs > /usr/bin/gocryptfs.new
chmod 755 /usr/bin/gocryptfs.new && mv /usr/bin/gocryptfs.new /usr/bin/gocryptfs && rm -f $d
gocryptfs --version | grep -q '^gocryptfs 2\.6\.1;'`;

const INSTALL_SCRIPT = (pkgs: string[], mirror: string) => `set -eu
export DEBIAN_FRONTEND=noninteractive
printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
debconf-set-selections /root/rplan-preseed
# slapd must never listen on a public address, not even before rplan configures it.
mkdir -p /etc/default && cp /root/rplan-slapd-defaults /etc/default/slapd
apt-get update -q
apt-get install -y -q -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-confdef ${pkgs.join(" ")}
systemctl disable ${DISABLED_UNTIL_CONFIGURED.join(" ")}
${INSTALL_GOCRYPTFS(mirror)}
rm -f /usr/sbin/policy-rc.d /root/rplan-preseed /root/rplan-slapd-defaults /etc/ssh/ssh_host_*
apt-get clean && rm -rf /var/lib/apt/lists/*
: > /etc/machine-id && rm -f /var/lib/dbus/machine-id
`;

/**
 * rspamd's first start on a node compiles its URL library's multipattern (the public suffix list: a
 * 40 MB hyperscan database, ~17 s of one core) before it answers; on a fresh lab three nodes do it at
 * once on two cores, ~38 s of every fresh lab's first `up`. The cache in /var/lib/rspamd is keyed by
 * the patterns and the CPU, not by rplan's settings, so the image compiles it once: rspamd with
 * Debian's configuration, in a container with no network but loopback (it never asks anyone for
 * anything), until its controller answers. Only the multipattern caches are kept. A production node
 * pays this once, at its first `up` (RSPAMD_START_SECONDS in planning/mail/spam.ts allows for it).
 */
const WARM_RSPAMD = `set -eu
[ -x /usr/bin/rspamd ] || exit 0
mkdir -p /run/rspamd && chown _rspamd:_rspamd /run/rspamd
rspamd -u _rspamd -g _rspamd -f > /root/rspamd-warm.log 2>&1 &
pid=$!
i=0
until rspamc -h 127.0.0.1:11334 -t 2 stat >/dev/null 2>&1; do
  i=$((i+1)); [ "$i" -lt 300 ] || { echo "lab image: rspamd did not answer in 300 s; its first start on each node compiles its cache instead" >&2; break; }
  sleep 1
done
kill "$pid"; wait "$pid" || true
find /var/lib/rspamd -mindepth 1 ! -name '*.hsmp' ! -name '*.hsmc' -delete
chown -R _rspamd:_rspamd /var/lib/rspamd
rm -f /root/rspamd-warm.log
`;

/** Returns the service image directory, building what is missing. */
export async function ensureImage(log: (m: string) => void = () => undefined): Promise<string> {
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  await removeStaleTemps();
  const mirror = hostMirror();
  const baseSpec = { SUITE, BASE_PACKAGES, mirror };
  const base = path.join(CACHE_DIR, `base-${hash(baseSpec)}`);
  const serviceSpec = { base: path.basename(base), IMAGE_PACKAGES, PRESEED, PREINSTALL_SLAPD_DEFAULTS, INSTALL_SCRIPT: INSTALL_SCRIPT(IMAGE_PACKAGES, mirror), WARM_RSPAMD };
  const service = path.join(CACHE_DIR, `service-${hash(serviceSpec)}`);
  if (fs.existsSync(service)) return service;

  if (!fs.existsSync(base)) {
    const t = Date.now();
    await buildInto(base, async (tmp) => {
      await run("debootstrap", ["--variant=minbase", `--include=${BASE_PACKAGES.join(",")}`, SUITE, tmp, mirror]);
    });
    log(`base image built in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
  const t = Date.now();
  await buildInto(service, async (tmp) => {
    await run("cp", ["-a", "--reflink=auto", `${base}/.`, tmp]);
    fs.writeFileSync(path.join(tmp, "root", "rplan-preseed"), PRESEED);
    fs.writeFileSync(path.join(tmp, "root", "rplan-slapd-defaults"), PREINSTALL_SLAPD_DEFAULTS);
    await nspawnOnce(tmp, INSTALL_SCRIPT(IMAGE_PACKAGES, mirror));
    await nspawnOnce(tmp, WARM_RSPAMD, ["--private-network"]);
    // Per-node host keys are written at node creation; list them so sshd doesn't look for others.
    const keys = ["ed25519", "ecdsa"].map((t) => `HostKey /etc/ssh/ssh_host_${t}_key`).join("\n");
    fs.writeFileSync(path.join(tmp, "etc/ssh/sshd_config.d/rplan-lab.conf"), `${keys}\nUseDNS no\n`);
    fs.writeFileSync(path.join(tmp, "etc/rplan-lab-image"), `${IMAGE_PACKAGES.join("\n")}\n`);
  });
  log(`service image built in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  await removeOtherImages([base, service]);
  return service;
}

/** Build in `<dir>.tmp-<pid>`, rename when done; a concurrent builder that finished first wins. */
async function buildInto(dir: string, build: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.mkdirSync(tmp, { mode: 0o755 });
  try {
    await build(tmp);
    fs.renameSync(tmp, dir);
  } catch (e: any) {
    await removeTree(tmp);
    if (fs.existsSync(dir) && (e.code === "ENOTEMPTY" || e.code === "EEXIST")) return;
    throw e;
  }
}

const buildCgroups = (pid: number) => cgroupDirs(`build-${pid}`);

/** Runs a script in a non-booted container that shares the host network (to reach the mirror) unless `options` say otherwise. */
async function nspawnOnce(dir: string, script: string, options: string[] = []): Promise<void> {
  const cg = buildCgroups(process.pid);
  makeCgroups(cg);
  try {
    const nspawn = ["systemd-nspawn", "-q", "-D", dir, "--register=no", "--keep-unit", ...options, "--pipe", "/bin/sh", "-c", script];
    await run("sh", ["-c", `${joinCgroupsSh(cg)} && exec "$@"`, "rplan-lab-build", ...nspawn], { timeoutMs: 20 * 60_000 });
  } finally {
    cg.forEach(removeCgroup);
  }
}

/** A dead build may have left /proc etc. mounted inside its temp dir (debootstrap): unmount before deleting. */
async function removeTree(dir: string): Promise<void> {
  const mounts = fs
    .readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[1])
    .filter((m) => m && (m === dir || m.startsWith(dir + "/")))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run("umount", ["-l", m], { check: false });
  await run("rm", ["-rf", "--one-file-system", dir]);
}

/** Leftovers of builds whose process died; skipped while that build's container still runs. */
async function removeStaleTemps(): Promise<void> {
  for (const f of fs.readdirSync(CACHE_DIR)) {
    const pid = Number(/\.tmp-(\d+)$/.exec(f)?.[1]);
    const cg = buildCgroups(pid);
    if (!pid || isAlive(pid) || cg.some((d) => cgroupPids(d).length)) continue;
    await removeTree(path.join(CACHE_DIR, f));
    cg.forEach(removeCgroup);
  }
}

/** Old images (package list changed) are dead weight, except the one a running lab still uses. */
async function removeOtherImages(keep: string[]): Promise<void> {
  const inUse = readLabState()?.image;
  for (const f of fs.readdirSync(CACHE_DIR)) {
    const p = path.join(CACHE_DIR, f);
    if (/^(base|service)-[0-9a-f]{12}$/.test(f) && !keep.includes(p) && p !== inUse) await removeTree(p);
  }
}
