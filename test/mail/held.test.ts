/**
 * Spare copies ("delivered twice", planning/mail/held.ts): the script postfix's pipe runs, executed
 * here by a real shell (with `mountpoint` and `logger` shims), what a promotion decides for each
 * spare, and how the postfix configuration asks for them.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HELD_DOMAIN, heldDecision, HeldCopy, heldDirOf, keepHeldCopyScript, parseHeldListing, parseMessageIds } from "../../planning/mail/held";
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
  fs.writeFileSync(path.join(bin, "logger"), `#!/bin/sh\necho "$@" >> "${dir}/logged"\n`, { mode: 0o755 });
  const script = path.join(dir, "keep-held-copy");
  fs.writeFileSync(script, keepHeldCopyScript().content, { mode: 0o755 });
  const mount = path.join(dir, "crypt");
  fs.mkdirSync(heldDirOf(mount), { recursive: true });
  const run = (uid: string, qid: string, message: string) =>
    spawnSync(script, [heldDirOf(mount), uid, qid], { input: message, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, encoding: "utf8" });
  return { dir, held: heldDirOf(mount), run };
}

describe("the script that keeps a spare copy", () => {
  test("writes the message whole as <held>/<uid>/<epoch>.<queue id> and exits 0", () => {
    const s = sandbox(true);
    const r = s.run("alice", "4ABC123", "Return-Path: <a@example.org>\nMessage-ID: <m1@x>\n\nbody\n");
    expect(r.status).toBe(0);
    const files = fs.readdirSync(path.join(s.held, "alice"));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^\d{10}\.4ABC123$/);
    expect(fs.readFileSync(path.join(s.held, "alice", files[0]), "utf8")).toBe("Return-Path: <a@example.org>\nMessage-ID: <m1@x>\n\nbody\n");
  });

  test("with the encrypted mount gone it writes nothing, still reads the message, logs and exits 0 (the delivery never fails)", () => {
    const s = sandbox(false);
    const r = s.run("alice", "4ABC124", "x".repeat(1 << 20));
    expect(r.status).toBe(0);
    expect(fs.existsSync(path.join(s.held, "alice"))).toBe(false);
    expect(fs.readFileSync(path.join(s.dir, "logged"), "utf8")).toContain("no spare copy kept for queue id 4ABC124");
  });

  test("prunes spares older than the hour, keeps the fresh ones", () => {
    const s = sandbox(true);
    fs.mkdirSync(path.join(s.held, "bob"));
    const old = path.join(s.held, "bob", "1700000000.OLD1");
    fs.writeFileSync(old, "old");
    const t = new Date(Date.now() - 2 * 3600_000);
    fs.utimesSync(old, t, t);
    const fresh = path.join(s.held, "bob", "1700000001.NEW1");
    fs.writeFileSync(fresh, "fresh");
    expect(s.run("alice", "4ABC125", "m").status).toBe(0);
    expect(fs.existsSync(old)).toBe(false);
    expect(fs.existsSync(fresh)).toBe(true);
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
    expect(parseHeldListing("alice/1796575259.23C1B17200C\t\nalice/1796575259.23C1B17200C\t<m1@x>\nbob/1796575260.AB\t\n")).toEqual([copy, { uid: "bob", file: "1796575260.AB", queueId: "AB", messageId: "" }]);
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

  test("spares go to the pipe, one recipient per run, into the encrypted mount", () => {
    expect(postfix.main!.transport_maps.startsWith(`inline:{ ${HELD_DOMAIN}=rplan_held: }`)).toBe(true);
    expect(postfix.main!.rplan_held_destination_recipient_limit).toBe("1");
    expect(postfix.master!.find((m) => m.service === "rplan_held")!.command).toContain("argv=/etc/postfix/rplan/keep-held-copy /srv/crypt/held ${user} ${queue_id}");
  });
});
