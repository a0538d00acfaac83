/**
 * Whole-file tests of every file the program writes to a node (issue 19, item 7): main.cf,
 * master.cf, the postfix and dovecot tables, dovecot.conf, opendkim.conf, knot.conf, the zone, the
 * tinc files, the rsyslog, journald, sed-mask and logrotate files. Each is compared WHOLE with a
 * reviewed expected file, test/golden/expected/<node>/<its absolute path> (e.g.
 * expected/n1/etc/postfix/main.cf), so an unintended line anywhere fails. expected/<node>/FILES lists
 * every file the node is given (mode, owner, the HostFiles resource writing it): a new, vanished or
 * re-owned file fails too, and so does a node given files or no longer given any.
 *
 * The files are taken from the real program (index.ts) under Pulumi's mocks (test/support/mock-program.ts):
 * every HostFiles resource's `files`, so the contributions each node's daemons get are exactly the
 * program's wiring, not a copy of it. Fixed inputs: the mocks' public keys and certificate
 * fingerprints (derived from resource names) and the zone's first serial (1, what DnsZone's create
 * renders; the provider does not run under mocks, so its create is called here on the zone input
 * the program registered). Secrets (the files in a key directory, from @pulumi/random) are listed
 * in FILES but their content is not compared.
 *
 * Regenerate after an intended change, then review `git diff test/golden/expected` like code:
 *   RPLAN_UPDATE_GOLDEN=1 RPLAN_LAB_KEEP=1 npx jest test/golden
 */
import * as fs from "fs";
import * as path from "path";
import { create as createZone, type DnsZoneInputs, type DnsZoneOutputs } from "../../providers/impl/dns-zone";
import { rawConfig, rawNode } from "../support/config-fixture";
import { evaluateProgram } from "../support/mock-program";

const EXPECTED = path.join(__dirname, "expected");
const UPDATE = process.env.RPLAN_UPDATE_GOLDEN === "1";
const INDEX = "FILES";
const HOST_FILES = "pulumi-nodejs:dynamic/rplan:HostFiles";

/**
 * The fixed cluster: with a directory (so mail routing, DKIM and the move channel), every state the
 * renderers treat differently (n3 draining: no knot, only its own name in the zone; n4 revoked:
 * nothing, its users deferred), three rings, and one IPv6 public address (prod's are IPv6; tinc's
 * AddressFamily and the zone's AAAA records depend on it).
 */
function clusterConfig(): Record<string, any> {
  const raw = rawConfig();
  raw.nodes = [
    rawNode(1, "NL"),
    rawNode(2, "DE", { ring: "member", vpnAddress: "198.18.1.12", publicAddress: "2001:db8:2::25" }),
    rawNode(3, "SE", { state: "draining" }),
    rawNode(4, "IS", { ring: "edge", vpnAddress: "198.18.2.14", state: "revoked" }),
  ];
  raw.ldap = { master: "n1", suffix: "dc=example,dc=org", ringAccess: { core: "write", member: "read", edge: "routing" } };
  raw.dns = { ttl: 300, dmarc: { policy: "reject", rua: "dmarc@example.org" } };
  return raw;
}
const LIVE_NODES: string[] = clusterConfig()
  .nodes.filter((n: { state: string }) => n.state !== "revoked")
  .map((n: { name: string }) => n.name);

/** A file's place under expected/<node>/: its absolute path without the leading slash. */
const expectedName = (file: string) => file.replace(/^\/+/, "");
const isSecret = (file: string) => file.split("/").includes("keys");
/** Code-unit order (not the locale's): the same FILES on every machine. */
const byCode = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Node → expected-file name → content: every file every HostFiles of the program writes, plus each node's FILES index. */
async function renderedFiles(): Promise<Map<string, Map<string, string>>> {
  const { resources } = await evaluateProgram(clusterConfig());
  const zone = resources.find((r) => r.name === "dns-zone")!;
  const zoneText = ((await createZone(zone.inputs as DnsZoneInputs)).outs as DnsZoneOutputs).text;
  const written = new Map<string, { path: string; line: string; content?: string }[]>();
  for (const r of resources.filter((x) => x.type === HOST_FILES)) {
    for (const f of r.inputs.files as { path: string; content?: string; mode?: string; owner?: string }[]) {
      const secret = isSecret(f.path);
      // The zone file's content is DnsZone's `text` output, unknown under mocks.
      const content = secret ? undefined : (f.content ?? (r.name.endsWith("-zone") ? zoneText : undefined));
      if (!secret && typeof content !== "string") throw new Error(`${r.name}: ${f.path} has no content`);
      const line = `${f.mode ?? "-"} ${f.owner ?? "-"} ${r.name} ${f.path}${secret ? " (secret: content not compared)" : ""}`;
      written.set(r.inputs.node, [...(written.get(r.inputs.node) ?? []), { path: f.path, line, content }]);
    }
  }
  const out = new Map<string, Map<string, string>>();
  for (const [node, files] of [...written].sort(([a], [b]) => byCode(a, b))) {
    files.sort((a, b) => byCode(a.path, b.path));
    const twice = files.filter((f, i) => i > 0 && files[i - 1].path === f.path).map((f) => f.path);
    if (twice.length > 0) throw new Error(`${node}: written by two resources: ${twice.join(", ")}`);
    const index = `# ${node}: every file the program writes (mode, owner, HostFiles resource, path; "-" = HostFiles' default, 0644 root:root)\n${files.map((f) => f.line).join("\n")}\n`;
    out.set(node, new Map([[INDEX, index], ...files.filter((f) => f.content !== undefined).map((f): [string, string] => [expectedName(f.path), f.content!])]));
  }
  return out;
}

/** Every file under `dir`, by path relative to it (`/`-separated). */
function readTree(dir: string, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) for (const [name, content] of readTree(full, `${prefix}${e.name}/`)) out.set(name, content);
    else out.set(`${prefix}${e.name}`, fs.readFileSync(full, "utf8"));
  }
  return out;
}

function writeExpected(rendered: Map<string, Map<string, string>>): void {
  fs.rmSync(EXPECTED, { recursive: true, force: true });
  for (const [node, files] of rendered) {
    for (const [name, content] of files) {
      const full = path.join(EXPECTED, node, name);
      fs.mkdirSync(path.dirname(full), { recursive: true });
      fs.writeFileSync(full, content);
    }
  }
}

/** Every difference between a node's rendered and expected files, each naming its file (with the diff of its content). */
function differences(node: string, rendered: Map<string, string>, expected: Map<string, string>): string[] {
  const out: string[] = [];
  for (const name of [...new Set([...rendered.keys(), ...expected.keys()])].sort()) {
    if (!expected.has(name)) out.push(`${node}/${name}: rendered, but there is no expected file`);
    else if (!rendered.has(name)) out.push(`${node}/${name}: expected, but no longer rendered`);
    else {
      try {
        expect(rendered.get(name)).toEqual(expected.get(name));
      } catch (e) {
        out.push(`${node}/${name} differs:\n${(e as Error).message}`);
      }
    }
  }
  return out;
}

describe("every file the program writes to a node, whole, against test/golden/expected", () => {
  let rendered: Map<string, Map<string, string>>;
  beforeAll(async () => {
    rendered = await renderedFiles();
    if (UPDATE) writeExpected(rendered);
  });

  test("the nodes given files are the non-revoked ones, each with an expected directory", () => {
    expect([...rendered.keys()]).toEqual(LIVE_NODES);
    const dirs = fs.existsSync(EXPECTED) ? fs.readdirSync(EXPECTED).sort() : [];
    expect(dirs).toEqual(LIVE_NODES);
  });

  test.each(LIVE_NODES)("%s: the same files (FILES), each with the same whole content", (node) => {
    const found = differences(node, rendered.get(node) ?? new Map(), readTree(path.join(EXPECTED, node)));
    if (found.length > 0) throw new Error(`${found.length} file(s) differ from test/golden/expected (after an intended change: RPLAN_UPDATE_GOLDEN=1, then review the diff):\n\n${found.join("\n\n")}`);
  });
});
