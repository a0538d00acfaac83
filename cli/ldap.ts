/**
 * `npm run ldap -- <command> [--stack lab] [--config Pulumi.x.yaml]`
 *
 *   status [--wait SECONDS] [--json]     every replica: role, frozen?, contextCSN, caught up with the master?
 *   user put <uid> --mail ADDR [--home NODE] [--alias ADDR]... [--quota BYTES] [--state active|frozen|disabled]
 *            [--password | --password-hash '{SSHA}...'] [--display-name NAME]    create or replace a user entry
 *   user show <uid>                      the entry as the master has it
 *   user delete <uid>                    remove the entry
 *
 * Writes go to the master named in the stack config (`rplan:ldap.master`), over SSH to its ldapi
 * socket. Plaintext passwords never travel: `--password` asks for one (no echo; or one line from a
 * pipe) and sends only its {SSHA} hash made here; `--password-hash` takes a hash made elsewhere.
 * Without --home an existing user keeps theirs and a new one gets the placement planner's suggestion.
 * Every argument is checked before any host is contacted. Exit 1 = not healthy / not found; 2 = error.
 */
import { formatStatus, getUser, homeFor, ldapStatus, putUser, removeUser, requireValidUser, statusOk } from "../ops/ldap-admin";
import { hashUserPassword } from "../ops/ldap-users";
import { USER_STATES, UserSpec } from "../planning/ldap";
import { readClusterConfig } from "../stack-file/config";
import { sleep } from "../transports/ldap";
import { closeAllSsh } from "../transports/ssh";
import { LAB_STACK_FILES, optionValue, parseArgs, stackOf, useLabKeyFor } from "./options";
import { askSecret } from "./prompt";
import { mayBeHome } from "../planning/node-roles";

const USAGE = "usage: npm run ldap -- status [--wait S] [--json] | user put <uid> --mail A [--home N] [--alias A]... [--quota B] [--state S] [--password | --password-hash H] [--display-name D] | user show <uid> | user delete <uid>  [--stack S] [--config F]";


async function main(): Promise<void> {
  const args = parseArgs(
    process.argv.slice(2),
    {
      valued: ["--stack", "--config", "--wait", "--mail", "--home", "--alias", "--quota", "--state", "--password-hash", "--display-name"],
      repeatable: ["--alias"],
      flags: ["--json", "--password"],
    },
    USAGE,
  );
  const stack = stackOf(args);
  const cluster = readClusterConfig({ stack, configFile: optionValue(args, "--config"), stackFiles: LAB_STACK_FILES });
  if (!cluster.ldap) throw new Error("this stack has no rplan:ldap");
  const [cmd, sub, uid, ...extra] = args.positional;
  const takeOne = (name: string) => optionValue(args, name);
  useLabKeyFor(stack);
  if (cmd === "status") {
    const wait = Number(takeOne("--wait") ?? 0);
    if (!(wait >= 0)) throw new Error(`--wait needs a number of seconds\n${USAGE}`);
    const until = Date.now() + wait * 1000;
    let rows = await ldapStatus(cluster);
    while (!statusOk(cluster.ldap.master, rows) && Date.now() < until) {
      await sleep(500);
      rows = await ldapStatus(cluster);
    }
    console.log(args.flags.has("--json") ? JSON.stringify(rows, null, 2) : formatStatus(cluster.ldap.master, rows));
    if (!statusOk(cluster.ldap.master, rows)) process.exitCode = 1;
    return;
  }
  if (cmd !== "user" || !uid) throw new Error(USAGE);
  if (extra.length > 0) throw new Error(`unknown arguments: ${extra.join(" ")}\n${USAGE}`);
  if (sub === "put") {
    const quota = takeOne("--quota");
    const state = takeOne("--state");
    let passwordHash = takeOne("--password-hash");
    const askPassword = args.flags.has("--password");
    if (askPassword && passwordHash !== undefined) throw new Error(`give --password or --password-hash, not both\n${USAGE}`);
    const displayName = takeOne("--display-name");
    let user: UserSpec = {
      uid,
      mail: takeOne("--mail") ?? "",
      home: takeOne("--home") ?? "",
      aliases: args.values.get("--alias") ?? [],
      ...(quota !== undefined ? { quota: /^\d+$/.test(quota) ? Number(quota) : NaN } : {}),
      ...(state !== undefined ? { state: state as (typeof USER_STATES)[number] } : {}),
      ...(passwordHash !== undefined ? { passwordHash } : {}),
      ...(displayName !== undefined ? { displayName } : {}),
    };
    const chosen = takeOne("--home");
    // Checked with a stand-in home first, so that bad input is refused before any host is contacted.
    if (chosen === undefined) requireValidUser(cluster, { ...user, home: cluster.nodes.find(mayBeHome)?.name ?? "" });
    else requireValidUser(cluster, user);
    if (chosen === undefined) {
      const { home, why } = await homeFor(cluster, uid);
      console.log(`${uid}: home ${home} (${why}; give --home to choose)`);
      user = { ...user, home };
    }
    if (askPassword) {
      const password = await askSecret(`Password for ${uid}: `);
      passwordHash = hashUserPassword(password);
      user = { ...user, passwordHash };
    }
    console.log(`${uid}: ${await putUser(cluster, user)} on ${cluster.ldap.master}`);
  } else if (sub === "show") {
    const u = await getUser(cluster, uid);
    if (!u) {
      console.log(`${uid}: no such user`);
      process.exitCode = 1;
    } else console.log(JSON.stringify(u, null, 2));
  } else if (sub === "delete") {
    const gone = await removeUser(cluster, uid);
    console.log(`${uid}: ${gone ? "deleted" : "no such user"}`);
    if (!gone) process.exitCode = 1;
  } else throw new Error(USAGE);
}

main()
  .catch((e: Error) => {
    console.error(`ldap: ${e.message}`);
    process.exitCode = 2;
  })
  .finally(() => closeAllSsh());
