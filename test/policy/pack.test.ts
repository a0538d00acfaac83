/**
 * The policy pack as the Pulumi engine runs it.
 *
 * 1. In process: the @pulumi/policy policies (policy/policies.ts) called with validator arguments
 *    shaped by @pulumi/policy's own unknown-checking proxy, and Pulumi asset objects.
 * 2. Out of process: policy/ started the way the CLI's analyzer plugin starts a Node.js pack
 *    (`run-policy-pack` with the pack directory as working directory, TypeScript through ts-node),
 *    then driven over gRPC as the engine does: GetAnalyzerInfo, Configure (policy/prod-config.json
 *    resolved as the CLI resolves it), Analyze (each resource's inputs) and AnalyzeStack.
 */
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import * as pulumi from "@pulumi/pulumi";
import { unknownCheckingProxy } from "@pulumi/policy";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { loadPolicyConfig } from "../../policy/config";
import { policies } from "../../policy/policies";
import { ResourceDesc, SECRET_SIG, SIG_KEY, UNKNOWN } from "../../policy/rules";
import { rawConfig, rawNode } from "../support/config-fixture";
import { HOST_FILES, hostOf, onNode, programResources, RSA_PEM, tlsKey } from "./support";

const POLICY_DIR = path.join(__dirname, "../../policy");
const policy = (name: string) => policies.find((p) => p.name === name)!;

function resourceArgs(r: ResourceDesc, props: Record<string, unknown> = r.props as Record<string, unknown>) {
  return {
    type: r.type,
    name: r.name,
    urn: r.urn!,
    props: unknownCheckingProxy(props),
    opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] },
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: <T extends object>() => ({}) as T,
    notApplicable: (): never => {
      throw new Error("not applicable");
    },
  };
}

describe("policies called as @pulumi/policy calls them", () => {
  let program: ResourceDesc[];
  beforeAll(async () => {
    program = await programResources();
  });

  test("one policy per rule, mandatory except those prod makes mandatory (policy/prod-config.json)", () => {
    expect(policies.map((p) => [p.name, p.enforcementLevel])).toEqual([
      ["private-keys-inside-encrypted-mount", "mandatory"],
      ["private-keys-inside-node-mount", "mandatory"],
      ["key-generation-inside-encrypted-mount", "mandatory"],
      ["key-generation-on-own-node", "mandatory"],
      ["keys-landed-on-encrypted-filesystem", "mandatory"],
      ["ssh-host-keys-pinned", "mandatory"],
      ["ssh-host-keys-match-node", "mandatory"],
      ["country-diversity", "advisory"],
      ["active-nodes-serve-zone", "advisory"],
      ["active-nodes-dkim-key-in-mount", "advisory"],
      ["active-nodes-anonymise-submission-headers", "advisory"],
      ["active-nodes-anonymise-logs", "advisory"],
      ["active-nodes-filter-spam", "advisory"],
    ]);
  });

  test("a violation is reported; an unknown raises the SDK's UnknownValueError after it (advisory in preview)", async () => {
    const files = onNode(hostOf(program, "n1"), HOST_FILES, "n1-files", {
      files: [
        { path: "/etc/tinc/rsa_key.priv", content: RSA_PEM },
        { path: "/etc/tinc/hosts/n2", content: UNKNOWN },
      ],
    });
    const seen: string[] = [];
    const p = policy("private-keys-inside-encrypted-mount") as ResourceValidationPolicy;
    const run = (p.validateResource as (a: unknown, r: (m: string) => void) => Promise<void>)(resourceArgs(files), (m) => seen.push(m));
    const err = await run.then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.constructor.name).toBe("UnknownValueError");
    expect(err?.message).toMatch(/whether \/etc\/tinc\/hosts\/n2, outside its encrypted mount \/srv\/crypt, receives private key material not known yet/);
    expect(seen).toEqual([expect.stringMatching(/writes a PEM RSA private key \(files\[0\]\.content\) to \/etc\/tinc\/rsa_key\.priv, outside/)]);
  });

  test("Pulumi asset objects are read (a StringAsset's text is scanned)", async () => {
    const n1 = hostOf(program, "n1");
    const ssh = n1.props.ssh as Record<string, any>;
    const copy = { type: "command:remote:CopyToRemote", name: "c", urn: "urn:pulumi:test::rplan::command:remote:CopyToRemote::c", props: {} };
    const seen: { m: string; urn?: string }[] = [];
    const p = policy("private-keys-inside-node-mount") as StackValidationPolicy;
    const asPolicyResource = (r: ResourceDesc, props: Record<string, unknown>) => ({ ...resourceArgs(r, props), dependencies: [], propertyDependencies: {} });
    await p.validateStack(
      {
        resources: [
          ...program.map((r) => asPolicyResource(r, r.props as Record<string, unknown>)),
          asPolicyResource(copy, { source: new pulumi.asset.StringAsset(RSA_PEM), remotePath: "/root/k.pem", connection: { host: ssh.host, port: 22, user: "root", hostKey: ssh.hostKeys[0] } }),
        ] as any,
        stackTags: new Map(),
        getConfig: <T extends object>() => ({}) as T,
        notApplicable: (): never => {
          throw new Error("not applicable");
        },
      },
      (m, urn) => seen.push({ m, urn }),
    );
    expect(seen).toEqual([{ m: expect.stringMatching(/CopyToRemote c writes a PEM RSA private key \(source\.text\) to \/root\/k\.pem, outside node n1's encrypted mount/), urn: copy.urn }]);
  });
});

describe("the pack served over gRPC, driven as the engine drives it", () => {
  const analyzerPb = require("@pulumi/pulumi/proto/analyzer_pb");
  const analyzerGrpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb");
  const structPb = require("google-protobuf/google/protobuf/struct_pb");
  const emptyPb = require("google-protobuf/google/protobuf/empty_pb");
  let child: ChildProcess | undefined;
  let client: any;
  let program: ResourceDesc[];
  let stderr = "";

  beforeAll(async () => {
    const raw = rawConfig();
    raw.nodes.push(rawNode(4, "NL")); // two active nodes in NL: advisory by default, mandatory in prod
    program = await programResources(raw);
    const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack");
    child = spawn(process.execPath, [runner, "127.0.0.1:1", "."], { cwd: POLICY_DIR, stdio: ["ignore", "pipe", "pipe"] });
    child.stderr!.on("data", (d) => (stderr += String(d)));
    const port = await new Promise<string>((resolve, reject) => {
      let out = "";
      child!.stdout!.on("data", (d) => {
        out += String(d);
        const m = /^(\d+)\s*$/m.exec(out);
        if (m) resolve(m[1]);
      });
      child!.on("exit", (code) => reject(new Error(`policy pack exited with ${code}: ${stderr}`)));
    });
    client = new analyzerGrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  }, 120000);

  afterAll(() => {
    client?.close();
    if (child?.pid && child.exitCode === null) child.kill();
  });

  const call = <T>(method: string, req: unknown): Promise<T> =>
    new Promise((resolve, reject) => client[method](req, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))));

  const options = () => new analyzerPb.AnalyzerResourceOptions();
  const analyzeRequest = (r: ResourceDesc, props: Record<string, unknown> = r.props as Record<string, unknown>) => {
    const req = new analyzerPb.AnalyzeRequest();
    req.setType(r.type);
    req.setName(r.name);
    req.setUrn(r.urn);
    req.setProperties(structPb.Struct.fromJavaScript(props));
    req.setOptions(options());
    return req;
  };
  const stackRequest = (rs: ResourceDesc[]) => {
    const req = new analyzerPb.AnalyzeStackRequest();
    for (const r of rs) {
      const ar = new analyzerPb.AnalyzerResource();
      ar.setType(r.type);
      ar.setName(r.name);
      ar.setUrn(r.urn);
      ar.setProperties(structPb.Struct.fromJavaScript(r.props));
      ar.setOptions(options());
      for (const [k, urns] of Object.entries(r.propertyDependencies ?? {})) {
        const d = new analyzerPb.AnalyzerPropertyDependencies();
        d.setUrnsList([...urns]);
        ar.getPropertydependenciesMap().set(k, d);
      }
      req.addResources(ar);
    }
    return req;
  };
  // Resource diagnostics carry no URN: the engine attaches the analyzed resource's.
  const diagnostics = (res: any) =>
    res.getDiagnosticsList().map((d: any) => ({ policy: d.getPolicyname(), level: d.getEnforcementlevel() === analyzerPb.EnforcementLevel.MANDATORY ? "mandatory" : "advisory", message: d.getMessage(), urn: d.getUrn() }));

  test("it describes itself: pack rplan, its policies, configurable country rule", async () => {
    const info = await call<any>("getAnalyzerInfo", new emptyPb.Empty());
    expect(info.getName()).toBe("rplan");
    expect(info.getVersion()).toBe("0.1.0");
    const ps = info.getPoliciesList().map((p: any) => [p.getName(), p.getPolicyType()]);
    expect(ps).toContainEqual(["private-keys-inside-encrypted-mount", analyzerPb.PolicyType.POLICY_TYPE_RESOURCE]);
    expect(ps).toContainEqual(["country-diversity", analyzerPb.PolicyType.POLICY_TYPE_STACK]);
    for (const duty of ["active-nodes-serve-zone", "active-nodes-dkim-key-in-mount", "active-nodes-anonymise-submission-headers", "active-nodes-anonymise-logs", "active-nodes-filter-spam"]) {
      expect(ps).toContainEqual([duty, analyzerPb.PolicyType.POLICY_TYPE_STACK]);
    }
    expect(ps).toHaveLength(13);
  });

  test("Analyze: the real program's NodeHost passes; a secret PEM outside the mount is mandatory; an unknown is advisory", async () => {
    const n1 = hostOf(program, "n1");
    expect(diagnostics(await call("analyze", analyzeRequest(n1)))).toEqual([]);
    const files = onNode(n1, HOST_FILES, "n1-files", {
      files: [
        { path: "/etc/tinc/rsa_key.priv", content: { [SIG_KEY]: SECRET_SIG, value: RSA_PEM } },
        { path: "/etc/tinc/hosts/n2", content: UNKNOWN },
      ],
    });
    expect(diagnostics(await call("analyze", analyzeRequest(files)))).toEqual([
      { policy: "private-keys-inside-encrypted-mount", level: "mandatory", message: expect.stringMatching(/writes a PEM RSA private key .* to \/etc\/tinc\/rsa_key\.priv, outside its encrypted mount/), urn: "" },
      { policy: "private-keys-inside-encrypted-mount", level: "advisory", message: expect.stringMatching(/^can't run policy 'private-keys-inside-encrypted-mount' from policy pack 'rplan@v0\.1\.0' during preview: whether \/etc\/tinc\/hosts\/n2/), urn: "" },
    ]);
    const noKeys = { ...n1, props: { ...n1.props, ssh: { ...(n1.props.ssh as object), hostKeys: [] } } };
    expect(diagnostics(await call("analyze", analyzeRequest(noKeys)))).toEqual([expect.objectContaining({ policy: "ssh-host-keys-pinned", level: "mandatory" })]);
  });

  test("AnalyzeStack: tls key consumed outside the mount is mandatory; two nodes in NL advisory by default", async () => {
    const key = tlsKey("postfix-key");
    const files = onNode(hostOf(program, "n1"), HOST_FILES, "n1-tls", { files: [{ path: "/etc/ssl/private/postfix.pem", content: key.props.privateKeyPem }] }, { files: [key.urn!] });
    const ds = diagnostics(await call("analyzeStack", stackRequest([...program, key, files])));
    expect(ds).toEqual(
      expect.arrayContaining([
        { policy: "private-keys-inside-node-mount", level: "mandatory", message: expect.stringMatching(/takes|writes the private key of tls PrivateKey postfix-key/), urn: files.urn },
        { policy: "country-diversity", level: "advisory", message: expect.stringMatching(/n1, n4 are all in NL/), urn: "" },
      ]),
    );
  });

  test("Configure with policy/prod-config.json (as the CLI resolves it) makes the country rule mandatory", async () => {
    const req = new analyzerPb.ConfigureAnalyzerRequest();
    for (const [name, c] of Object.entries(loadPolicyConfig(path.join(POLICY_DIR, "prod-config.json")))) {
      const pc = new analyzerPb.PolicyConfig();
      pc.setEnforcementlevel(c.enforcementLevel === "mandatory" ? analyzerPb.EnforcementLevel.MANDATORY : c.enforcementLevel === "disabled" ? analyzerPb.EnforcementLevel.DISABLED : analyzerPb.EnforcementLevel.ADVISORY);
      pc.setProperties(structPb.Struct.fromJavaScript(c.properties));
      req.getPolicyconfigMap().set(name, pc);
    }
    await call("configure", req);
    const ds = diagnostics(await call("analyzeStack", stackRequest(program)));
    expect(ds).toEqual([{ policy: "country-diversity", level: "mandatory", message: expect.stringMatching(/n1, n4 are all in NL/), urn: "" }]);
  });
});
