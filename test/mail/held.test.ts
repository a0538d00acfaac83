/**
 * Spare copies ("delivered twice", planning/mail/held.ts): the script postfix's pipe runs, executed
 * here by a real shell (with `mountpoint` and `logger` shims), what a promotion decides for each
 * spare, and how the postfix configuration asks for them.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HELD_DOMAIN, HELD_MINUTES, HELD_PRUNE_SCRIPT, heldDecision, HeldCopy, heldDirOf, heldPruning, parseHeldListing, parseMessageIds } from "../../planning/mail/held";
import { parsePendingRecipients } from "../../planning/mail/postqueue";
import { planMailRouting } from "../../planning/mail/routing";

const sandboxes: string[] = [];
afterAll(() => sandboxes.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function sandbox(mounted: boolean) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-held-"));
  sandboxes.push(dir);
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, "mountpoint"), `#!/bin/sh\nexit ${mounted ? 0 : 1}\n`, { mode: 0o755 });
  const mount = path.join(dir, "crypt");
  const pruning = heldPruning(mount, "mail");
  const script = path.join(dir, "prune-held-copies");
  fs.writeFileSync(script, pruning.files.find((f) => f.path === HELD_PRUNE_SCRIPT)!.content, { mode: 0o755 });
  fs.mkdirSync(heldDirOf(mount), { recursive: true });
  const prune = () => spawnSync(script, [heldDirOf(mount)], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, encoding: "utf8" });
  const put = (rel: string, ageMinutes: number) => {
    const f = path.join(heldDirOf(mount), rel);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, "m");
    const t = new Date(Date.now() - ageMinutes * 60_000);
    fs.utimesSync(f, t, t);
    return f;
  };
  return { dir, held: heldDirOf(mount), prune, put, pruning };
}

describe("pruning the spares", () => {
  test("spares older than the hour go, fresh ones stay; spares kept the old way (<uid>/<epoch>.<queue id>) too", () => {
    const s = sandbox(true);
    const old = s.put("alice/new/1700000000.V1I2M3.n1", HELD_MINUTES + 5);
    const fresh = s.put("alice/new/1700003000.V1I4M5.n1", HELD_MINUTES - 5);
    const oldStyle = s.put("bob/1700000000.4ABC123", HELD_MINUTES + 5);
    const marker = s.put(".pruned", 0);
    expect(s.prune().status).toBe(0);
    expect([old, fresh, oldStyle, marker].map((f) => fs.existsSync(f))).toEqual([false, true, false, false]);
  });

  test("with the encrypted mount gone it removes nothing", () => {
    const s = sandbox(false);
    const old = s.put("alice/new/1700000000.V1I2M3.n1", HELD_MINUTES + 5);
    expect(s.prune().status).toBe(0);
    expect(fs.existsSync(old)).toBe(true);
  });

  test("a systemd timer runs it every five minutes as the mail user", () => {
    const { files, reload } = sandbox(true).pruning;
    const unit = files.find((f) => f.path.endsWith(".service"))!.content;
    expect(unit).toMatch(/^User=mail$/m);
    expect(unit).toMatch(/^ExecStart=\/usr\/local\/lib\/rplan\/prune-held-copies \S+\/crypt\/held$/m);
    expect(files.find((f) => f.path.endsWith(".timer"))!.content).toMatch(/^OnUnitActiveSec=5min$/m);
    expect(reload).toContainEqual(["systemctl", "enable", "--now", "rplan-held-prune.timer"]);
  });
});

describe("what a promotion does with a spare", () => {
  const copy: HeldCopy = { uid: "alice", file: "1796575259.23C1B17200C", queueId: "23C1B17200C", messageId: "<m1@x>" };
  const addresses = ["alice@example.org", "a@example.org"];

  test("still queued for the user here: the queue delivers it to the new home", () => {
    expect(heldDecision(copy, addresses, new Map([["23C1B17200C", ["Alice@Example.org"]]]), new Set(["<m1@x>"]))).toBe("wait for the queue");
  });

  test("queued only for someone else: not waited for", () => {
    expect(heldDecision(copy, addresses, new Map([["23C1B17200C", ["bob@example.org"]]]), new Set())).toBe("hand over");
  });

  test("on the new home already (replicated in time): nothing to do", () => {
    expect(heldDecision(copy, addresses, new Map(), new Set(["<m1@x>"]))).toBe("already there");
  });

  test("nowhere but on the seized home: handed over; without a Message-ID too", () => {
    expect(heldDecision(copy, addresses, new Map(), new Set(["<other@x>"]))).toBe("hand over");
    expect(heldDecision({ ...copy, messageId: "" }, addresses, new Map(), new Set([""]))).toBe("hand over");
  });

  test("the listings are read as printed", () => {
    const listing = [
      "alice/new/1796622097.V5cI18M27.n1\t",
      "alice/new/1796622097.V5cI18M27.n1\t<m1@x>\t23C1B17200C",
      "bob/new/1796622098.V5cI19M28.n1\t",
      // kept before rplan used `virtual`: the queue id is in the name
      "carol/1796575260.AB\t<m3@x>",
      "dave/notaspare\t<m4@x>\tQQ",
    ].join("\n");
    expect(parseHeldListing(listing)).toEqual([
      { uid: "alice", file: "new/1796622097.V5cI18M27.n1", queueId: "23C1B17200C", messageId: "<m1@x>" },
      { uid: "bob", file: "new/1796622098.V5cI19M28.n1", queueId: "", messageId: "" },
      { uid: "carol", file: "1796575260.AB", queueId: "AB", messageId: "<m3@x>" },
    ]);
    expect(parseMessageIds("Message-ID: <m1@x>\nmessage-id:\nMessage-Id:  <m2@x>\r\n")).toEqual(new Set(["<m1@x>", "<m2@x>"]));
    expect(parsePendingRecipients('{"queue_id":"Q1","recipients":[{"address":"Alice@Example.org"}]}\n{"queue_id":"Q2",')).toEqual(new Map([["Q1", ["alice@example.org"]]]));
  });
});

describe("the postfix configuration", () => {
  const node = (name: string, vpn: string) => ({ name, state: "active" as const, vpnAddress: vpn, publicAddress: "198.51.100.1", storePath: "/srv/crypt/mail", mountPath: "/srv/crypt" });
  const plan = planMailRouting({ domain: "example.org", suffix: "dc=example,dc=org", ldapiSocket: "/run/slapd/ldapi", nodes: [node("n1", "198.18.0.1"), node("n2", "198.18.0.2")], vpnCidrs: ["198.18.0.0/16"], vpnUnit: "tinc@rplan.service" });
  const postfix = plan.n1.postfix!;

  test("a recipient homed on another node gets a spare here; one homed here does not", () => {
    const map = postfix.files!.find((f) => f.path.endsWith("ldap-held.cf"))!.content;
    expect(map).toContain("(!(rplanHome=n1))");
    expect(map).toContain(`result_format = %s@${HELD_DOMAIN}`);
    expect(postfix.main!.recipient_bcc_maps).toBe("proxy:ldap:/etc/postfix/rplan/ldap-held.cf");
  });

  test("spares go to postfix's virtual agent, one recipient at a time, as the mail user into a Maildir per user in the encrypted mount", () => {
    expect(postfix.main!.transport_maps.startsWith(`inline:{ ${HELD_DOMAIN}=rplan_held: }`)).toBe(true);
    expect(postfix.main!.rplan_held_destination_recipient_limit).toBe("1");
    const held = postfix.master!.find((m) => m.service === "rplan_held")!;
    expect(held.command).toBe("virtual");
    expect(held.options).toMatchObject({ virtual_mailbox_base: "/srv/crypt/held", virtual_uid_maps: "static:8", virtual_gid_maps: "static:8", virtual_mailbox_limit: "0" });
    const mapPath = held.options!.virtual_mailbox_maps.replace(/^proxy:ldap:/, "");
    const map = postfix.files!.find((f) => f.path === mapPath)!.content;
    expect(map).toMatch(/^domain = held\.rplan\.invalid$/m);
    expect(map).toMatch(/^query_filter = \(&\(objectClass=rplanUser\)\(uid=%u\)\)$/m);
    expect(map).toMatch(/^result_format = %s\/$/m);
    // read through proxymap like the other tables
    expect(postfix.main!.proxy_read_maps.split(" ")).toContain(held.options!.virtual_mailbox_maps);
  });
});
