/**
 * DKIM: every node signs the mail submitted through it with a key of its own (selector = the node's
 * name), so a seized node's key stops verifying the moment its selector leaves the zone, while the
 * other nodes' signatures go on verifying. Pure: no Pulumi, no I/O. See docs/dns.md (DKIM).
 *
 * - The private key is generated ON the node inside its encrypted mount (`<mount>/keys/opendkim`,
 *   the DkimKey provider); only the public half leaves it, for the zone (`<node>._domainkey`).
 * - opendkim (Debian) signs; postfix hands it only the submission service's mail
 *   (`smtpd_milters` on that service alone): mail arriving on port 25 is not ours to sign, and a
 *   stopped opendkim must not hold up incoming mail. On submission, a milter that does not answer
 *   defers (`milter_default_action = tempfail`, 4xx): an unsigned message is never sent, nothing is
 *   bounced, the client retries.
 * - opendkim reads the key once, at start, as root, before it drops to its own user: the key
 *   directory stays root's 0700 like every key directory, and a new key needs a restart (a reload,
 *   SIGUSR1, would re-read it as the opendkim user and fail).
 * - It signs only what postfix marks as originating (`milter_macro_daemon_name = ORIGINATING`, set
 *   on submission, matched by `MTA ORIGINATING`), for the cluster's domain only (`Domain`).
 */
import { createHash } from "crypto";
import { DNS_LABEL, domainProblems, nodeNameProblem } from "../dns/validate";
import type { MasterService } from "./contribution";
import { cleanupService } from "./postfix-config";

/** Where opendkim listens: loopback only, a port rather than a socket (postfix's smtpd runs chrooted). */
export const OPENDKIM_PORT = 8891;
export const OPENDKIM_CONF = "/etc/opendkim.conf";
/** The name postfix gives submitted mail in the milter macros; opendkim signs what carries it. */
export const ORIGINATING = "ORIGINATING";
export const DKIM_KEY_BITS = 2048;
export const DKIM_KEY_FILE = "dkim.private";

export interface DkimInput {
  readonly node: string;
  readonly domain: string;
  /** The node's opendkim key directory (inside its encrypted mount; checked by the config). */
  readonly keyDir: string;
  /** The node's `dkimKeyGeneration`. */
  readonly generation: number;
}

export interface DkimPlan {
  readonly node: string;
  readonly domain: string;
  /** The node's name: a rotation replaces the key under the same selector. */
  readonly selector: string;
  readonly keyDir: string;
  readonly privateKeyPath: string;
  readonly keyBits: number;
  readonly generation: number;
}

/** Every problem with the input, at once. */
export function dkimProblems(input: DkimInput): string[] {
  const p: string[] = [];
  // The selector is the node's name: the zone's own rules for names and the domain apply.
  const nameProblem = nodeNameProblem(input.node);
  if (nameProblem) p.push(`node ${JSON.stringify(input.node)}: its name, the DKIM selector, ${nameProblem}`);
  p.push(...domainProblems(input.domain));
  if (!/^\/[A-Za-z0-9._/-]+$/.test(input.keyDir) || input.keyDir.includes("/../") || input.keyDir.endsWith("/")) p.push(`key directory ${JSON.stringify(input.keyDir)} is not a normalized absolute path`);
  if (!Number.isSafeInteger(input.generation) || input.generation < 1) p.push(`dkimKeyGeneration ${JSON.stringify(input.generation)} must be a positive integer`);
  return p;
}

export function planDkim(input: DkimInput): DkimPlan {
  const problems = dkimProblems(input);
  if (problems.length > 0) throw new Error(`cannot plan DKIM for ${input.node}:\n${problems.map((x) => `  - ${x}`).join("\n")}`);
  return { node: input.node, domain: input.domain, selector: input.node, keyDir: input.keyDir, privateKeyPath: `${input.keyDir}/${DKIM_KEY_FILE}`, keyBits: DKIM_KEY_BITS, generation: input.generation };
}

/** The `-o` options of the submission service: its mail, and only its mail, goes through opendkim. */
export function dkimSubmissionOptions(before: readonly string[] = []): Record<string, string> {
  return {
    // Milters that may refuse the message come first: nothing they refuse is ever signed.
    smtpd_milters: [...before, `inet:127.0.0.1:${OPENDKIM_PORT}`].join(","),
    milter_macro_daemon_name: ORIGINATING,
    milter_default_action: "tempfail",
  };
}

/** The cleanup service of mail the node itself sends (`sendmail` → pickup): vacation replies, sieve redirects. */
export const LOCAL_CLEANUP = "clean_local";

/**
 * That cleanup: it hands the message to opendkim as submission does, so a vacation reply is signed
 * like the user's own mail. If opendkim does not answer, the message waits in the maildrop queue
 * (tempfail) and pickup tries again: never sent unsigned, never lost.
 */
export function localSigningCleanup(): MasterService {
  return cleanupService(LOCAL_CLEANUP, { syslog_name: `postfix/${LOCAL_CLEANUP}`, non_smtpd_milters: `inet:127.0.0.1:${OPENDKIM_PORT}`, milter_macro_daemon_name: ORIGINATING, milter_default_action: "tempfail" });
}

/** A short digest of the public key: written into opendkim.conf, so a new key restarts opendkim. */
export const dkimRevision = (publicKey: string) => `dkim key sha256:${createHash("sha256").update(publicKey).digest("hex").slice(0, 16)}`;

/** /etc/opendkim.conf for one node (replaces Debian's whole file). */
export function renderOpendkimConf(plan: DkimPlan, revision: string): string {
  if (/[\r\n]/.test(revision)) throw new Error("a revision must be one line");
  return [
    "# Generated by rplan (planning/mail/dkim.ts): the next `up` rewrites it.",
    `# in use: ${revision}`,
    "Syslog                 yes",
    // One line per signed message is enough; no reasons, no results (they name senders).
    "SyslogSuccess          no",
    "LogWhy                 no",
    "Mode                   s",
    `Domain                 ${plan.domain}`,
    `Selector               ${plan.selector}`,
    `KeyFile                ${plan.privateKeyPath}`,
    "SubDomains             no",
    `MTA                    ${ORIGINATING}`,
    "Canonicalization       relaxed/simple",
    "OversignHeaders        From",
    "SignatureAlgorithm     rsa-sha256",
    `Socket                 inet:${OPENDKIM_PORT}@127.0.0.1`,
    "UserID                 opendkim",
    "UMask                  007",
    "PidFile                /run/opendkim/opendkim.pid",
    "",
  ].join("\n");
}

/** After opendkim.conf changes: check it, then restart (the key is read at start, as root). */
export const OPENDKIM_RELOAD: readonly (readonly string[])[] = [
  ["opendkim", "-n", "-x", OPENDKIM_CONF],
  ["systemctl", "enable", "--quiet", "opendkim"],
  ["systemctl", "restart", "opendkim"],
];

/** A selector is a DNS label (for the provider's check of inputs that arrive untyped). */
export const isDkimSelector = (s: unknown): boolean => typeof s === "string" && DNS_LABEL.test(s);
