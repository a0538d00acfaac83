/**
 * The dynamic-provider host: @pulumi/pulumi's own `cmd/dynamic-provider` (what the engine's
 * `pulumi-resource-pulumi-nodejs` plugin runs), started once per run in the project directory and
 * driven over its gRPC ResourceProvider interface exactly as the engine drives it: Configure with
 * the whole stack config (dynamic providers get every key, namespaced; pkg/resource/deploy/target.go),
 * then Check / Diff / Create / Read / Update / Delete with each resource's serialized `__provider`.
 */
import * as grpc from "@grpc/grpc-js";
import * as provrpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import { makeSecret, PropertyMap } from "../props";
import { CHANNEL_OPTIONS, plain, rpc, struct } from "./grpc-util";
import { startPluginProcess, PluginProcess } from "./plugin-process";
import { CheckResult, DiffResult, ReadResult, ResourcePlugin, Target } from "./plugin";

export interface HostConfig {
  readonly values: Readonly<Record<string, string>>;
  readonly secretKeys: readonly string[];
}

export class DynamicProviderHost implements ResourcePlugin {
  acceptSecrets = false;

  private constructor(
    private readonly proc: PluginProcess,
    private readonly client: provrpc.ResourceProviderClient,
  ) {}

  static async start(opts: { projectDir: string; project: string; config: HostConfig; log: (line: string) => void }): Promise<DynamicProviderHost> {
    const script = require.resolve("@pulumi/pulumi/cmd/dynamic-provider", { paths: [opts.projectDir] });
    const proc = await startPluginProcess({
      label: "dynamic-provider",
      script,
      args: [],
      cwd: opts.projectDir,
      // What NewProvider adds for pulumi-nodejs: the project name and the config as JSON.
      env: { ...process.env, PULUMI_NODEJS_PROJECT: opts.project, PULUMI_PROJECT: opts.project, PULUMI_CONFIG: JSON.stringify(opts.config.values) },
      log: opts.log,
    });
    const client = new provrpc.ResourceProviderClient(`127.0.0.1:${proc.port}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
    const host = new DynamicProviderHost(proc, client);
    try {
      await host.configure(opts.config);
    } catch (e) {
      await host.close();
      throw e;
    }
    return host;
  }

  private async configure(config: HostConfig): Promise<void> {
    const req = new provproto.ConfigureRequest();
    const args: PropertyMap = {};
    for (const [k, v] of Object.entries(config.values)) {
      args[k] = config.secretKeys.includes(k) ? makeSecret(v) : v;
      req.getVariablesMap().set(`pulumi-nodejs:config:${k}`, v);
    }
    req.setArgs(struct(args));
    req.setAcceptsecrets(true);
    req.setAcceptresources(true);
    req.setSendsOldInputs(true);
    req.setSendsOldInputsToDelete(true);
    const res = await rpc<provproto.ConfigureResponse>("dynamic provider Configure", (cb) => this.client.configure(req, cb));
    this.acceptSecrets = res.getAcceptsecrets();
  }

  private static target<R extends { setUrn(v: string): R; setName(v: string): R; setType(v: string): R }>(req: R, t: Target): R {
    return req.setUrn(t.urn).setName(t.name).setType(t.type);
  }

  async check(t: Target, olds: PropertyMap, news: PropertyMap): Promise<CheckResult> {
    const req = DynamicProviderHost.target(new provproto.CheckRequest(), t).setOlds(struct(olds)).setNews(struct(news));
    const res = await rpc<provproto.CheckResponse>(`${t.type} ${t.name}: check`, (cb) => this.client.check(req, cb));
    return {
      inputs: plain(res.getInputs()),
      failures: res.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })),
    };
  }

  async diff(t: Target, id: string, oldInputs: PropertyMap, oldOutputs: PropertyMap, news: PropertyMap, ignoreChanges: readonly string[]): Promise<DiffResult> {
    const req = DynamicProviderHost.target(new provproto.DiffRequest(), t)
      .setId(id)
      .setOldInputs(struct(oldInputs))
      .setOlds(struct(oldOutputs))
      .setNews(struct(news))
      .setIgnorechangesList([...ignoreChanges]);
    const res = await rpc<provproto.DiffResponse>(`${t.type} ${t.name}: diff`, (cb) => this.client.diff(req, cb));
    const C = provproto.DiffResponse.DiffChanges;
    const changes = res.getChanges() === C.DIFF_SOME ? "some" : res.getChanges() === C.DIFF_NONE ? "none" : "unknown";
    return { changes, replaces: res.getReplacesList(), deleteBeforeReplace: res.getDeletebeforereplace() };
  }

  async create(t: Target, inputs: PropertyMap): Promise<{ id: string; outputs: PropertyMap }> {
    const req = DynamicProviderHost.target(new provproto.CreateRequest(), t).setProperties(struct(inputs));
    const res = await rpc<provproto.CreateResponse>(`${t.type} ${t.name}: create`, (cb) => this.client.create(req, cb));
    return { id: res.getId(), outputs: plain(res.getProperties()) };
  }

  async read(t: Target, id: string, inputs: PropertyMap, outputs: PropertyMap): Promise<ReadResult> {
    const req = DynamicProviderHost.target(new provproto.ReadRequest(), t).setId(id).setProperties(struct(outputs)).setInputs(struct(inputs));
    const res = await rpc<provproto.ReadResponse>(`${t.type} ${t.name}: read`, (cb) => this.client.read(req, cb));
    return { id: res.getId(), outputs: plain(res.getProperties()), inputs: res.getInputs() ? plain(res.getInputs()) : undefined };
  }

  async update(t: Target, id: string, oldInputs: PropertyMap, oldOutputs: PropertyMap, news: PropertyMap): Promise<PropertyMap> {
    const req = DynamicProviderHost.target(new provproto.UpdateRequest(), t)
      .setId(id)
      .setOldInputs(struct(oldInputs))
      .setOlds(struct(oldOutputs))
      .setNews(struct(news));
    const res = await rpc<provproto.UpdateResponse>(`${t.type} ${t.name}: update`, (cb) => this.client.update(req, cb));
    return plain(res.getProperties());
  }

  async delete(t: Target, id: string, inputs: PropertyMap, outputs: PropertyMap): Promise<void> {
    const req = DynamicProviderHost.target(new provproto.DeleteRequest(), t).setId(id).setProperties(struct(outputs)).setOldInputs(struct(inputs));
    await rpc<unknown>(`${t.type} ${t.name}: delete`, (cb) => this.client.delete(req, cb));
  }

  async close(): Promise<void> {
    this.client.close();
    await this.proc.stop();
  }
}
