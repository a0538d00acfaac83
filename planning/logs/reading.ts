/**
 * Reading a node's one log, the anonymised file rsyslog writes (./anonymity.ts): the journal keeps
 * nothing, so every reader — the mail trace, a move's error report, lab tests, benchmarks — runs
 * this on the node. Pure: it renders a shell command; the callers run it over SSH.
 *
 * Lines are RSYSLOG_FileFormat, `<RFC 3339 time> <host> <tag>[<pid>]: <text>`, in the node's local
 * time with its offset: comparing a line's first field as a string with a time rendered the same way
 * on the same node (`date +%Y-%m-%dT%H:%M:%S`, a prefix of the line's) orders them, so awk filters by
 * time with no date parsing.
 */
import { ANONYMISED_LOG } from "./anonymity";

/** `date -d` expressions the command accepts: `@<epoch seconds>`, `-5min`, `7 days ago`. */
const SINCE = /^(@\d+|-?\d+ ?[a-z]+( ago)?)$/;

/**
 * A shell command printing the lines written at or after `since` (a `date -d` expression), oldest
 * file first: logrotate's `.N.gz` (highest N first), `.1`, then the current file, so a rotation
 * between two reads loses nothing. Pipe it into grep for what you look for.
 */
export function logSinceCommand(since: string, file: string = ANONYMISED_LOG): string {
  const problems = [
    ...(SINCE.test(since) ? [] : [`since ${JSON.stringify(since)} must be @<epoch seconds>, -<n><unit> or "<n> <unit> ago"`]),
    ...(/^\/[A-Za-z0-9._/-]+$/.test(file) ? [] : [`file ${JSON.stringify(file)} must be an absolute path of safe characters`]),
  ];
  if (problems.length > 0) throw new Error(`cannot read the log: ${problems.join("; ")}`);
  const f = file;
  return (
    `since=$(date -d '${since}' +%Y-%m-%dT%H:%M:%S) && ` +
    `{ for z in $(ls ${f}.*.gz 2>/dev/null | sort -t. -k3,3nr); do zcat "$z"; done; cat ${f}.1 ${f} 2>/dev/null; } | ` +
    `awk -v s="$since" '$1 >= s'`
  );
}
