/**
 * The resource monitor the program talks to. Installed with Pulumi's own mock hook
 * (`setMockOptions`), it receives the SDK's real gRPC requests — RegisterResourceRequest with type,
 * name, parent, inputs, dependencies, property dependencies and options — and, unlike Pulumi's
 * MockMonitor, answers each with the outcome of a real engine step (./deployment.ts).
 *
 * Features it declares to the SDK: secrets (so secrets reach the engine as secrets), alias specs (as
 * the CLI does), no resource references and no output values (so inputs arrive as plain values, as a
 * provider that accepts neither receives them from the engine), no transforms or hooks (not
 * implemented here).
 */
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import * as resproto from "@pulumi/pulumi/proto/resource_pb";
import { Deployment } from "./deployment";
import { toJsonMap } from "./props";
import { fromRequest } from "./registration";

type Callback<T> = (err: Error | null, res?: T) => void;

// "aliasSpecs": the SDK sends aliases as specs and leaves collapsing them to URNs, and the aliases a
// child inherits from its parent, to the engine — as it does with the CLI (./aliases.ts).
const SUPPORTED = new Set(["secrets", "aliasSpecs"]);

export class RunnerMonitor {
  constructor(
    private readonly deployment: Deployment,
    private readonly stack: string,
    private readonly project: string,
  ) {}

  registerResource(req: resproto.RegisterResourceRequest, cb: Callback<resproto.RegisterResourceResponse>): void {
    let reg;
    try {
      reg = fromRequest(req, this.stack, this.project);
    } catch (e) {
      return cb(e as Error);
    }
    this.deployment.register(reg).then(
      (r) => {
        const res = new resproto.RegisterResourceResponse();
        res.setUrn(r.urn);
        res.setId(r.id);
        res.setObject(Struct.fromJavaScript(r.outputs as Record<string, never>));
        cb(null, res);
      },
      (e: Error) => cb(e),
    );
  }

  registerResourceOutputs(req: resproto.RegisterResourceOutputsRequest, cb: Callback<object>): void {
    this.deployment.registerOutputs(req.getUrn(), toJsonMap(req.getOutputs()?.toJavaScript() ?? {}));
    cb(null, {});
  }

  supportsFeature(req: resproto.SupportsFeatureRequest, cb: Callback<{ getHassupport(): boolean }>): void {
    const has = SUPPORTED.has(req.getId());
    cb(null, { getHassupport: () => has });
  }

  readResource(req: resproto.ReadResourceRequest, cb: Callback<never>): void {
    cb(new Error(`reading existing resources (${req.getType()}.get) is not supported by the stack runner`));
  }

  invoke(req: { getTok(): string }, cb: Callback<never>): void {
    cb(new Error(`provider functions (${req.getTok()}) are not supported by the stack runner`));
  }

  call(req: { getTok(): string }, cb: Callback<never>): void {
    cb(new Error(`method calls (${req.getTok()}) are not supported by the stack runner`));
  }

  registerPackage(_req: unknown, cb: Callback<resproto.RegisterPackageResponse>): void {
    const res = new resproto.RegisterPackageResponse();
    res.setRef("runner-package");
    cb(null, res);
  }

  signalAndWaitForShutdown(_req: unknown, cb: Callback<object>): void {
    cb(null, {});
  }

  close(): void {
    // nothing to close: the monitor lives in this process
  }
}
