/**
 * Which plugin serves a resource type: the real dynamic-provider host for dynamic resources,
 * a stand-in for @pulumi/random (the only native provider the program uses; docs/ARCHITECTURE.md
 * says why @pulumi/tls and @pulumi/command are not used), and a clear refusal for anything else (the
 * runner cannot download Go provider plugins, so it must not pretend).
 */
import { RANDOM_TYPES, RandomResource } from "../standins/random";
import { closeAllSsh } from "../../transports/ssh";
import { DynamicProviderHost, HostConfig } from "./dynamic-host";
import { EngineProvider, ResourcePlugin } from "./plugin";

export function isDynamicType(type: string): boolean {
  return type === "pulumi-nodejs:dynamic:Resource" || type.startsWith("pulumi-nodejs:dynamic/");
}

export class UnsupportedTypeError extends Error {
  constructor(type: string, name: string) {
    super(
      `resource ${name} has type ${type}, which the stack runner cannot run: it drives dynamic resources through ` +
        "@pulumi/pulumi's dynamic-provider host and stands in only for @pulumi/random",
    );
    this.name = "UnsupportedTypeError";
  }
}

/** Where the engine gets the provider for a type (the registry; a fake in unit tests). */
export interface ProviderSource {
  forType(type: string, name: string): Promise<EngineProvider>;
}

export class ProviderRegistry implements ProviderSource {
  private dynamic: Promise<DynamicProviderHost> | undefined;
  private readonly standins = new Map<string, EngineProvider>();
  private readonly noted = new Set<string>();

  constructor(
    private readonly opts: {
      projectDir: string;
      project: string;
      config: HostConfig & { parsed: Readonly<Record<string, unknown>> };
      log: (line: string) => void;
    },
  ) {}

  /**
   * Start loading the dynamic-provider host now, while the program evaluates (about a second of
   * module loading off the critical path). A failure to start is reported where the host is first
   * needed, as without this.
   */
  prestartDynamicHost(): void {
    this.dynamic ??= DynamicProviderHost.start(this.opts);
    this.dynamic.catch(() => undefined);
  }

  /** The engine-wrapped provider for a custom resource type; throws UnsupportedTypeError. */
  async forType(type: string, name: string): Promise<EngineProvider> {
    if (isDynamicType(type)) {
      this.dynamic ??= DynamicProviderHost.start(this.opts);
      return new EngineProvider(await this.dynamic);
    }
    let p = this.standins.get(type);
    if (!p) {
      p = new EngineProvider(this.standin(type, name));
      this.standins.set(type, p);
      const pkg = type.split(":")[0];
      if (!this.noted.has(pkg)) {
        this.noted.add(pkg);
        this.opts.log(`note: ${pkg} resources are run by the stack runner's stand-in for @pulumi/${pkg} (see docs/stack-runner.md)`);
      }
    }
    return p;
  }

  private standin(type: string, name: string): ResourcePlugin {
    if (RANDOM_TYPES[type]) return new RandomResource(RANDOM_TYPES[type]);
    throw new UnsupportedTypeError(type, name);
  }

  /** Stop the dynamic-provider host and close the SSH connections the stand-ins opened. */
  async close(): Promise<void> {
    if (this.dynamic) await (await this.dynamic.catch(() => undefined))?.close();
    await closeAllSsh();
  }
}
