/**
 * ManageSieve on the lab with a real client: sieve-connect (Debian's, in the lab image) run on one
 * node against another node's public address, STARTTLS before the password (`--noclearauth`), the
 * self-signed certificate accepted as curl -k does (tls.lab.test.ts checks the fingerprints).
 */
import { labSshTarget } from "../../lab";

type Sh = (node: string, script: string) => Promise<{ code: number; out: string }>;

export interface SieveUser {
  readonly uid: string;
  readonly password: string;
}

/** A shell word in single quotes. */
const quoted = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

/**
 * Runs sieve-connect on `client` against `server` as `user` with `args` (`--list`, `--activate
 * --remotesieve x`…). `script`, when given, is written to a file first and its path replaces
 * `{file}` in `args`.
 */
export async function manageSieve(sh: Sh, client: string, server: string, user: SieveUser, args: string, script?: string): Promise<{ code: number; out: string }> {
  const dir = `/root/sieve-${user.uid}`;
  const file = `${dir}/script.sieve`;
  const write = script === undefined ? "" : `printf '%s' ${quoted(script)} > ${file} && `;
  return sh(
    client,
    `install -d -m 0700 ${dir} && printf '%s\\n' ${quoted(user.password)} > ${dir}/pw && ${write}` +
      `sieve-connect --server ${labSshTarget(server).host} --port 4190 --user ${user.uid} --passwordfd 3 --notlsverify --noclearauth ${args.replace("{file}", file)} 3<${dir}/pw 2>&1`,
  );
}
