/**
 * What the quota check costs at RCPT (issue 22): one MX asks the recipient's home, over the VPN,
 * whether the mailbox has room (planning/mail/quota.ts). Measured from this machine against lab1's
 * port 25 for a user homed on another node: each RCPT's round trip, in sessions of 50 RCPTs (one
 * MAIL, no DATA: nothing is delivered), with the check as deployed and without it — lab1's
 * `rplan_quota_check` set to a no-op by hand, main.cf restored byte for byte afterwards, whatever
 * happens — alternating, `rounds` times each. Leaves the lab up.
 */
import * as net from "net";
import { labSshTarget } from "../lab";
import { sleep } from "../transports/ldap";
import { sshConnection } from "../transports/ssh";
import { restorePostfixFile } from "./postfix-restore";
import { Session } from "./smtp-submit";

export interface RcptPhase {
  /** "on": as deployed (the home asked); "off": the restriction class a no-op. */
  readonly check: "on" | "off";
  /** RCPT round trips, ms. */
  readonly ms: number[];
  /** Replies other than 250 (the phase is void if any). */
  readonly refused: string[];
}

export interface QuotaRcptBench {
  readonly via: string;
  readonly home: string;
  readonly phases: RcptPhase[];
  readonly restored: string;
}

const MAIN_CF = "/etc/postfix/main.cf";
const MAIN_CF_BACKUP = "/root/main.cf.rplan-bench";
const CHECK = "rplan_quota_check";
/** A no-op in the class's place: an access lookup that always answers DUNNO. */
const OFF = "check_recipient_access static:DUNNO";

async function sh(node: string, script: string): Promise<string> {
  return (await (await sshConnection(labSshTarget(node))).exec(script, { label: script.slice(0, 60) })).stdout;
}

/** `count` RCPTs to `to` through `host`:25, 50 per session; each one's round trip. */
async function rcpts(host: string, to: string, count: number): Promise<{ ms: number[]; refused: string[] }> {
  const ms: number[] = [];
  const refused: string[] = [];
  for (let done = 0; done < count; ) {
    const sock = net.connect({ host, port: 25 });
    await new Promise<void>((resolve, reject) => {
      sock.once("connect", () => resolve());
      sock.once("error", reject);
    });
    const s = new Session(sock, 30_000);
    try {
      if ((await s.reply()).code !== 220) throw new Error("no 220 greeting");
      await s.command("EHLO bench.client.example", 250);
      await s.command("MAIL FROM:<bench@example.net>", 250);
      for (let i = 0; i < 50 && done < count; i++, done++) {
        const t = process.hrtime.bigint();
        s.write(`RCPT TO:<${to}>\r\n`);
        const r = await s.reply();
        ms.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (r.code !== 250) refused.push(r.text);
      }
      await s.command("QUIT", 221).catch(() => undefined);
    } finally {
      s.close();
    }
  }
  return { ms, refused };
}

/** `to`: an address homed on another node than `via`. */
export async function benchQuotaRcpt(via: string, home: string, to: string, rounds = 3, perPhase = 200): Promise<QuotaRcptBench> {
  const host = labSshTarget(via).host;
  const deployed = (await sh(via, `postconf -h ${CHECK}`)).trim();
  if (!deployed.startsWith("check_recipient_access proxy:ldap:")) throw new Error(`${via}'s ${CHECK} is "${deployed}": not as deployed`);
  const phases: RcptPhase[] = [];
  const phase = async (check: "on" | "off") => phases.push({ check, ...(await rcpts(host, to, perPhase)) });
  await rcpts(host, to, 20); // warm: proxymap's LDAP connection, the policy client's
  let restored = "";
  try {
    for (let r = 0; r < rounds; r++) {
      await phase("on");
      await sh(via, `[ -e ${MAIN_CF_BACKUP} ] || cp -p ${MAIN_CF} ${MAIN_CF_BACKUP}; postconf -e '${CHECK}=${OFF}' && postfix reload 2>/dev/null`);
      await sleep(1000); // new smtpd processes for new connections
      if ((await sh(via, `postconf -h ${CHECK}`)).trim() !== OFF) throw new Error("could not turn the check off");
      await phase("off");
      await sh(via, `cp -p ${MAIN_CF_BACKUP} ${MAIN_CF} && postfix reload 2>/dev/null`);
      await sleep(1000);
    }
  } finally {
    // Byte for byte, mode and owner: otherwise a refresh shows the mail daemons' HostFiles drifted.
    const check = await sh(
      via,
      restorePostfixFile(MAIN_CF, MAIN_CF_BACKUP),
    );
    const now = (await sh(via, `postconf -h ${CHECK}`)).trim();
    if (!["same", "untouched"].includes(check.trim()) || now !== deployed) throw new Error(`${via}'s main.cf NOT RESTORED (${MAIN_CF_BACKUP} kept; ${CHECK} now ${now})`);
    restored = `main.cf ${check.trim() === "same" ? "identical to before (content, mode, owner)" : "untouched"}; ${CHECK} as deployed`;
  }
  return { via, home, phases, restored };
}
