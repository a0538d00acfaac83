/**
 * What a promotion reads of the spares on a survivor (ops/quantum/held.ts), run by a real shell, awk
 * and sed over files laid out as postfix's `virtual` writes them (and as the pipe before it did).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseHeldListing, parseMessageIds, presentSince } from "../../planning/mail/held";
import { HELD_LISTING_SCRIPT, HELD_STRIP_SED, NEW_HOME_MESSAGE_IDS_SCRIPT } from "../../ops/quantum/held";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-held-listing-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A spare as `virtual` writes it: its delivery lines, then the MX's own Received line (folded), then the message. */
const SPARE = [
  "Return-Path: <a@example.net>",
  "X-Original-To: alice@held.rplan.invalid",
  "Delivered-To: alice@held.rplan.invalid",
  "Received: from client.example.net (client.example.net [192.0.2.7])",
  "\tby n1.example.org (Postfix) with ESMTPS id 4Xy7AbCdEf",
  "\tfor <alice@example.org>; Mon,  7 Dec 2026 05:41:37 +0000 (UTC)",
  "Received: from relay.example.net by mx.example.net with SMTP id OTHERID",
  "Message-ID:",
  " <m1@example.net>",
  "Subject: hi",
  "",
  "body that quotes a header:",
  "Delivered-To: alice@held.rplan.invalid",
  "",
].join("\n");

function put(rel: string, content: string): void {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), content);
}

test("the listing names each spare with its Message-ID and the accepting MX's queue id; old-style spares keep theirs from the name", () => {
  put("alice/new/1796622097.V5cI18M27.n1", SPARE);
  put("alice/tmp/1796622098.V5cI19M28.n1", "Message-ID: <half-written@x>\n\n");
  put("bob/1796575260.QID2", "Message-Id: <old@example.net>\r\n\r\nb\r\n");
  put("carol/new/1796622099.V5cI20M29.n1", "Message-ID: <not-asked-for@x>\n\n");
  const r = spawnSync("sh", ["-c", HELD_LISTING_SCRIPT, "sh", dir, "alice", "bob", "dave"], { encoding: "utf8" });
  const [spares] = r.stdout.split("--queue--\n");
  expect(parseHeldListing(spares)).toEqual([
    { uid: "alice", file: "new/1796622097.V5cI18M27.n1", queueId: "4Xy7AbCdEf", messageId: "<m1@example.net>" },
    { uid: "bob", file: "1796575260.QID2", queueId: "QID2", messageId: "<old@example.net>" },
  ]);
});

test("a spare handed over loses the lines virtual put above its header, nothing else", () => {
  put("x/new/1", SPARE);
  const r = spawnSync("sed", ["-e", HELD_STRIP_SED, path.join(dir, "x/new/1")], { encoding: "utf8", env: { ...process.env, LC_ALL: "C" } });
  expect(r.status).toBe(0);
  expect(r.stdout).toBe(SPARE.replace("X-Original-To: alice@held.rplan.invalid\nDelivered-To: alice@held.rplan.invalid\n", ""));
  expect(r.stdout).toContain("body that quotes a header:\nDelivered-To: alice@held.rplan.invalid\n");
});

test("a new home's Message-IDs: every folder's messages delivered since the oldest spare (less the margin), not older ones, not index files or tmp/", () => {
  const now = Math.floor(Date.now() / 1000);
  const msg = (id: string) => `Return-Path: <a@example.net>\nMessage-ID: ${id}\nSubject: x\n\nMessage-ID: <in-the-body@x>\n`;
  const store = path.join(dir, "store");
  const at = (rel: string, content: string, mtime: number) => {
    put(path.join("store", rel), content);
    fs.utimesSync(path.join(store, rel), mtime, mtime);
  };
  at("erin/Maildir/cur/1796622097.M1.n2:2,S", msg("<recent@x>"), now - 60);
  at("erin/Maildir/.Junk/new/1796622098.M2.n2", msg("<junk@x>"), now - 30);
  at("erin/Maildir/cur/1796600000.M3.n2:2,", msg("<last-year@x>"), now - 7200);
  at("erin/Maildir/tmp/1796622099.M4.n2", msg("<half-written@x>"), now);
  at("erin/Maildir/dovecot.index.cache", "\0\0Message-ID: <quoted-by-the-cache@x>\n", now);
  const ids = (since: number) => {
    const r = spawnSync("sh", ["-c", NEW_HOME_MESSAGE_IDS_SCRIPT, "sh", store, String(since), "erin", "nobody"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    const [, erin, nobody] = r.stdout.split(/^--user \S+$/m);
    expect(parseMessageIds(nobody)).toEqual(new Set());
    return parseMessageIds(erin);
  };
  // The spares' oldest is 5 minutes old: files delivered from 15 minutes ago on are read.
  const since = presentSince([{ file: `new/${now - 300}.V1.n1` }, { file: `new/${now - 100}.V2.n1` }]);
  expect(since).toBe(now - 900);
  expect(ids(since)).toEqual(new Set(["<recent@x>", "<junk@x>"]));
  // A busy hour's spares on a survivor (more than a call's arguments): still the oldest.
  expect(presentSince(Array.from({ length: 300_000 }, (_, i) => ({ file: `new/${now - (i % 3600)}.V${i}.n1` })))).toBe(now - 3599 - 600);
  // A spare whose name gives no time: every file.
  expect(presentSince([{ file: `new/${now}.V1.n1` }, { file: "new/odd-name" }])).toBe(0);
  expect(ids(0)).toEqual(new Set(["<recent@x>", "<junk@x>", "<last-year@x>"]));
});
