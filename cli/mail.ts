/**
 * `npm run mail -- trace <message-id> [--days N] [--stack lab] [--config Pulumi.x.yaml]`
 *
 * Which node accepted a message, where it was routed and where it was delivered (or why it waits),
 * from every live node's postfix and dovecot lines in its anonymised log, as a table. The log masks
 * mail addresses: a recipient finds nothing (the answer says so). Exit 1 when nothing matched or a
 * node could not be read; 2 on an error.
 */
import { collectMailLogs, formatTrace, traceMessages } from "../ops/mail-trace";
import { readClusterConfig } from "../stack-file/config";
import { closeAllSsh } from "../transports/ssh";
import { LAB_STACK_FILES, optionValue, parseArgs, stackOf, useLabKeyFor } from "./options";

const USAGE = "usage: npm run mail -- trace <message-id> [--days N] [--stack S] [--config F]";
/** A Message-ID or an address: printable, no spaces, no shell or LDAP metacharacters needed. */
const QUERY = /^<?[A-Za-z0-9!#$%&'*+/=?^_`{|}~.@-]{1,254}>?$/;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), { valued: ["--stack", "--config", "--days"] }, USAGE);
  const [cmd, query, ...extra] = args.positional;
  if (cmd !== "trace" || !query || extra.length > 0) throw new Error(USAGE);
  if (!QUERY.test(query)) throw new Error(`${JSON.stringify(query)} is not a Message-ID or an e-mail address\n${USAGE}`);
  const days = Number(optionValue(args, "--days") ?? 7);
  if (!(Number.isInteger(days) && days > 0 && days <= 366)) throw new Error(`--days needs a whole number of days (1-366)\n${USAGE}`);
  const stack = stackOf(args);
  const cluster = readClusterConfig({ stack, configFile: optionValue(args, "--config"), stackFiles: LAB_STACK_FILES });
  useLabKeyFor(stack);
  const { lines, unreachable } = await collectMailLogs(cluster, days);
  const rows = traceMessages(lines, query);
  console.log(formatTrace(rows));
  if (unreachable.length > 0) console.log(`not read (unreachable): ${unreachable.join(", ")}`);
  if (rows.length === 0 || unreachable.length > 0) process.exitCode = 1;
}

main()
  .catch((e: Error) => {
    console.error(`mail: ${e.message}`);
    process.exitCode = 2;
  })
  .finally(() => closeAllSsh());
