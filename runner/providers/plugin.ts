/**
 * A resource plugin as the engine sees it (the gRPC ResourceProvider interface, in plain values),
 * and the engine-side wrapper that gives every plugin the engine's semantics
 * (sdk/go/common/resource/plugin/provider_plugin.go): secrets are stripped for a plugin that does
 * not accept them and re-marked on what comes back (annotateSecrets); in a preview, Create and
 * Update are not called for a plugin without preview support — the new inputs stand in for the
 * state, so every other output is unknown to the program.
 */
import { annotateSecrets, PropertyMap, stripSecretsMap } from "../props";

/**
 * A create or update that made (or changed) the object but could not finish initializing it: the
 * provider's ErrorResourceInitFailed, which the engine turns into StatusPartialFailure plus an
 * InitError (sdk/go/common/resource/plugin/provider_plugin.go). It carries what exists, so the engine
 * can record it rather than lose track of it.
 */
export class InitError extends Error {
  constructor(
    message: string,
    readonly id: string,
    readonly outputs: PropertyMap,
    readonly reasons: readonly string[],
  ) {
    super(message);
    this.name = "InitError";
  }
}

export interface CheckFailure {
  readonly property: string;
  readonly reason: string;
}

export interface CheckResult {
  readonly inputs: PropertyMap;
  readonly failures: readonly CheckFailure[];
}

export interface DiffResult {
  /** "unknown": the plugin did not say; the engine then compares old and new inputs itself. */
  readonly changes: "some" | "none" | "unknown";
  readonly replaces: readonly string[];
  readonly deleteBeforeReplace: boolean;
}

export interface ReadResult {
  /** Empty when the resource no longer exists. */
  readonly id: string;
  readonly outputs: PropertyMap;
  readonly inputs?: PropertyMap;
}

export interface Target {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
}

/** What one provider implements; values carry secret wrappers only if `acceptSecrets`. */
export interface ResourcePlugin {
  readonly acceptSecrets: boolean;
  check(t: Target, olds: PropertyMap, news: PropertyMap): Promise<CheckResult>;
  diff(t: Target, id: string, oldInputs: PropertyMap, oldOutputs: PropertyMap, news: PropertyMap, ignoreChanges: readonly string[]): Promise<DiffResult>;
  create(t: Target, inputs: PropertyMap): Promise<{ id: string; outputs: PropertyMap }>;
  read(t: Target, id: string, inputs: PropertyMap, outputs: PropertyMap): Promise<ReadResult>;
  update(t: Target, id: string, oldInputs: PropertyMap, oldOutputs: PropertyMap, news: PropertyMap): Promise<PropertyMap>;
  delete(t: Target, id: string, inputs: PropertyMap, outputs: PropertyMap): Promise<void>;
}

/** A plugin wrapped with the engine's handling of secrets and previews. */
export class EngineProvider {
  constructor(readonly plugin: ResourcePlugin) {}

  private in(m: PropertyMap): PropertyMap {
    return this.plugin.acceptSecrets ? m : stripSecretsMap(m);
  }

  private out(outs: PropertyMap, ins: PropertyMap): PropertyMap {
    return this.plugin.acceptSecrets ? outs : annotateSecrets(outs, ins);
  }

  async check(t: Target, olds: PropertyMap, news: PropertyMap): Promise<CheckResult> {
    const r = await this.plugin.check(t, this.in(olds), this.in(news));
    return { inputs: this.out(r.inputs, news), failures: r.failures };
  }

  diff(t: Target, id: string, oldInputs: PropertyMap, oldOutputs: PropertyMap, news: PropertyMap, ignoreChanges: readonly string[]): Promise<DiffResult> {
    return this.plugin.diff(t, id, this.in(oldInputs), this.in(oldOutputs), this.in(news), ignoreChanges);
  }

  async create(t: Target, inputs: PropertyMap, preview: boolean): Promise<{ id: string; outputs: PropertyMap }> {
    if (preview) return { id: "", outputs: inputs };
    const r = await this.plugin.create(t, this.in(inputs)).catch((e: unknown) => {
      // Without an ID nothing can be recorded: the engine treats that as a plain failure.
      throw e instanceof InitError && e.id ? new InitError(e.message, e.id, this.out(e.outputs, inputs), e.reasons) : e;
    });
    if (!r.id) throw new Error(`plugin returned an empty ID from create of ${t.urn}`);
    return { id: r.id, outputs: this.out(r.outputs, inputs) };
  }

  async read(t: Target, id: string, inputs: PropertyMap, outputs: PropertyMap): Promise<ReadResult> {
    const r = await this.plugin.read(t, id, this.in(inputs), this.in(outputs));
    return { id: r.id, outputs: this.out(r.outputs, outputs), inputs: r.inputs && this.out(r.inputs, inputs) };
  }

  async update(t: Target, id: string, oldInputs: PropertyMap, oldOutputs: PropertyMap, news: PropertyMap, preview: boolean): Promise<PropertyMap> {
    if (preview) return news;
    const outs = await this.plugin.update(t, id, this.in(oldInputs), this.in(oldOutputs), this.in(news)).catch((e: unknown) => {
      throw e instanceof InitError ? new InitError(e.message, id, this.out(e.outputs, news), e.reasons) : e;
    });
    return this.out(outs, news);
  }

  delete(t: Target, id: string, inputs: PropertyMap, outputs: PropertyMap): Promise<void> {
    return this.plugin.delete(t, id, this.in(inputs), this.in(outputs));
  }
}
