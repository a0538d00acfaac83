/**
 * The stack's state: a snapshot file plus an append-only journal beside it.
 *
 * Every provider mutation is journaled before it starts ("begin") and when it ends (the resource
 * record or its removal), one line per event, appended — so a crash at any point leaves a state
 * that says exactly what finished and what was in flight, at O(1) cost per step. (Rewriting the
 * whole snapshot per step, as Pulumi's file backend does (#10068), costs O(resources) per step.)
 * The snapshot is rewritten atomically (temp + rename) when a run ends; it records the last
 * journal sequence it includes, so replaying a journal twice changes nothing.
 *
 * Secrets never reach the disk in clear: each secret value is stored as
 * `{ <sig>: <secret sig>, ciphertext: "v1:…" }` (Pulumi's own checkpoint encoding), encrypted with
 * Pulumi's passphrase manager; the salt is kept in the file (`secretsProviders.state.salt`).
 */
import * as fs from "fs";
import * as path from "path";
import { isPropertyObject, isSecret, PropertyMap, PropertyValue, SECRET_SIG, SIG_KEY } from "./props";
import { Crypter, crypterFromSalt, newEncryptionSalt, PassphraseError } from "../stack-file/secrets";
import { StackFiles, stackFilesFor } from "../stack-file/stack-files";

export interface ResourceState {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly parent: string;
  readonly custom: boolean;
  readonly id: string;
  readonly inputs: PropertyMap;
  readonly outputs: PropertyMap;
  readonly dependencies: readonly string[];
  readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
  readonly protect?: boolean;
  readonly retainOnDelete?: boolean;
  /** The old half of a replacement (or a resource left over), waiting to be deleted. */
  readonly delete?: boolean;
  /**
   * Deleted from its host by a delete-before-replace whose create has not succeeded yet: kept so the
   * next run creates it again rather than forgetting it, and never deletes it twice (the engine's
   * PendingReplacement, set by DeleteStep.Apply only after the delete succeeded).
   */
  readonly pendingReplacement?: boolean;
  /** Why the provider's last create or update left the object uninitialized; the next run updates it. */
  readonly initErrors?: readonly string[];
}

export type Operation = "creating" | "updating" | "deleting";

export interface PendingOperation {
  readonly urn: string;
  readonly type: string;
  readonly operation: Operation;
}

type JournalEntry =
  | { seq: number; kind: "begin"; urn: string; type: string; operation: Operation }
  | { seq: number; kind: "abort"; urn: string; operation: Operation }
  | { seq: number; kind: "put"; resource: ResourceState; ends?: Operation; retires?: boolean; from?: string }
  | { seq: number; kind: "drop"; key: string; urn: string; ends?: Operation }
  | { seq: number; kind: "retire"; urn: string } // written by earlier runners; still replayed
  | { seq: number; kind: "salt"; salt: string };

interface StateFile {
  version: 1;
  project: string;
  stack: string;
  secretsProviders?: { type: "passphrase"; state: { salt: string } };
  journalSeq: number;
  resources: ResourceState[];
  pendingOperations: PendingOperation[];
}

/** A live resource is keyed by URN; an old half awaiting deletion by URN and ID. */
export function stateKey(r: { urn: string; id: string; delete?: boolean }): string {
  return r.delete ? `${r.urn}#delete#${r.id}` : r.urn;
}

export class StateStore {
  private readonly resources = new Map<string, ResourceState>();
  private readonly pending = new Map<string, PendingOperation>();
  private seq = 0;
  /** The journal's last line was cut short by a crash: the next line must start on a line of its own. */
  private tornTail = false;
  private salt: string | undefined;
  private crypterValue: Crypter | undefined;
  /** plaintext JSON → ciphertext, so unchanged secrets keep their ciphertext across writes. */
  private readonly ciphertexts = new Map<string, string>();

  private constructor(
    readonly file: string,
    private readonly project: string,
    private readonly stack: string,
    private readonly passphrase: string | undefined,
  ) {}

  get journalFile(): string {
    return this.file + ".journal";
  }

  /** Load the snapshot and replay any journal left by an interrupted run. */
  static open(file: string, opts: { project: string; stack: string; passphrase?: string; configSalt?: string }): StateStore {
    const store = new StateStore(file, opts.project, opts.stack, opts.passphrase);
    store.salt = opts.configSalt;
    if (fs.existsSync(file)) store.load(JSON.parse(fs.readFileSync(file, "utf8")) as StateFile);
    if (fs.existsSync(store.journalFile)) store.replay(fs.readFileSync(store.journalFile, "utf8"));
    return store;
  }

  /** Every resource, live and awaiting deletion, in the order they were recorded. */
  all(): ResourceState[] {
    return [...this.resources.values()];
  }

  live(urn: string): ResourceState | undefined {
    return this.resources.get(urn);
  }

  pendingOperations(): PendingOperation[] {
    return [...this.pending.values()];
  }

  /**
   * A mutating run starts: forget the interrupted updates and deletes (their resources are still in
   * state, so this run redoes them), keep the interrupted creates — nothing in state says what they
   * made — until this run creates those resources or a refresh clears them. The engine does the same:
   * an update keeps only the pending CREATE operations of the previous one.
   */
  settleInterrupted(): void {
    for (const [key, p] of this.pending) if (p.operation !== "creating") this.pending.delete(key);
  }

  /** `refresh`: drop the interrupted creates too (the CLI's `refresh --clear-pending-creates`). */
  clearPendingCreates(): PendingOperation[] {
    const cleared = this.pendingOperations();
    this.pending.clear();
    return cleared;
  }

  begin(r: { urn: string; type: string }, operation: Operation): void {
    this.append({ seq: 0, kind: "begin", urn: r.urn, type: r.type, operation });
  }

  abort(urn: string, operation: Operation): void {
    this.append({ seq: 0, kind: "abort", urn, operation });
  }

  /**
   * Record a resource. `from`: the live resource at that other URN is this one, taken over through an
   * alias — its record goes, and every reference to its URN (parent, dependencies) now names the new one.
   */
  put(resource: ResourceState, ends?: Operation, from?: string): void {
    this.append({ seq: 0, kind: "put", resource, ends, from: from !== resource.urn ? from : undefined });
  }

  /**
   * Record what a step that changed nothing on any host learned (new inputs, dependencies) without
   * journaling it: like Pulumi's elided same-steps, losing it in a crash costs nothing.
   */
  putQuiet(resource: ResourceState): void {
    this.resources.set(stateKey(resource), resource);
  }

  /**
   * The new half of a create-before-delete replacement exists: record it and turn the live resource
   * into an old half awaiting deletion, in one journal line — the engine marks the old one Delete
   * only once the create has succeeded (CreateStep.Apply), and a crash must never leave the new one
   * unrecorded while the old one is already doomed. Returns the old half. `from`: the old one's URN,
   * when the new one took it over through an alias (the old half keeps its own URN).
   */
  putReplacement(resource: ResourceState, ends: Operation, from?: string): ResourceState | undefined {
    const live = this.resources.get(from ?? resource.urn);
    this.append({ seq: 0, kind: "put", resource, ends, retires: true, from: from !== resource.urn ? from : undefined });
    return live && this.resources.get(stateKey({ ...live, delete: true }));
  }

  drop(r: { urn: string; id: string; delete?: boolean }, ends?: Operation): void {
    this.append({ seq: 0, kind: "drop", key: stateKey(r), urn: r.urn, ends });
  }

  /** Write the snapshot atomically and retire the journal. */
  compact(): void {
    const resources = this.all().map((r) => this.encryptResource(r)); // may create the salt
    const body: StateFile = {
      version: 1,
      project: this.project,
      stack: this.stack,
      secretsProviders: this.salt ? { type: "passphrase", state: { salt: this.salt } } : undefined,
      journalSeq: this.seq,
      resources,
      pendingOperations: this.pendingOperations(),
    };
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    // temp + fsync + rename + fsync of the directory: after a crash at any point the file is the old
    // snapshot or the new one, never a mix; the journal goes only once the new one is durable.
    const tmp = `${this.file}.tmp-${process.pid}`;
    writeDurably(tmp, JSON.stringify(body, null, 1) + "\n", "w");
    fs.renameSync(tmp, this.file);
    syncDirectory(path.dirname(this.file));
    fs.rmSync(this.journalFile, { force: true });
    this.tornTail = false;
  }

  private load(body: StateFile): void {
    if (body.version !== 1) throw new Error(`state file ${this.file} has unknown version ${String(body.version)}`);
    this.salt = body.secretsProviders?.state.salt ?? this.salt;
    this.seq = body.journalSeq ?? 0;
    for (const r of body.resources ?? []) {
      const plain = this.decryptResource(r);
      this.resources.set(stateKey(plain), plain);
    }
    for (const p of body.pendingOperations ?? []) this.pending.set(`${p.urn}|${p.operation}`, p);
  }

  private replay(text: string): void {
    this.tornTail = text.length > 0 && !text.endsWith("\n");
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      let entry: JournalEntry;
      try {
        entry = JSON.parse(line) as JournalEntry;
      } catch {
        continue; // a line cut short by a crash: the operation it described stays pending
      }
      if (entry.seq <= this.seq) continue;
      if (entry.kind === "put") entry = { ...entry, resource: this.decryptResource(entry.resource) };
      this.apply(entry);
      this.seq = entry.seq;
    }
  }

  private apply(e: JournalEntry): void {
    switch (e.kind) {
      case "begin":
        this.pending.set(`${e.urn}|${e.operation}`, { urn: e.urn, type: e.type, operation: e.operation });
        break;
      case "abort":
        this.pending.delete(`${e.urn}|${e.operation}`);
        break;
      case "put":
        if (e.retires) this.retireLive(e.from ?? e.resource.urn);
        else if (e.from) this.moveLive(e.from, e.resource.urn);
        this.resources.delete(stateKey(e.resource)); // re-insert at the end: recorded order follows steps
        this.resources.set(stateKey(e.resource), e.resource);
        if (e.ends) this.pending.delete(`${e.resource.urn}|${e.ends}`);
        break;
      case "drop":
        this.resources.delete(e.key);
        if (e.ends) this.pending.delete(`${e.urn}|${e.ends}`);
        break;
      case "salt":
        this.salt = e.salt;
        break;
      case "retire":
        this.retireLive(e.urn);
        break;
    }
  }

  /**
   * A live resource continues under a new URN (an alias): its record goes, and references to its old
   * URN are rewritten, as the engine's snapshot does for aliased URNs — a resource recorded before it
   * still names it as parent or dependency until it registers again.
   */
  private moveLive(from: string, to: string): void {
    this.resources.delete(from);
    const rename = (u: string) => (u === from ? to : u);
    for (const [key, r] of this.resources) {
      const mentions = r.parent === from || r.dependencies.includes(from) || Object.values(r.propertyDependencies).some((d) => d.includes(from));
      if (!mentions) continue;
      this.resources.set(key, {
        ...r,
        parent: rename(r.parent),
        dependencies: r.dependencies.map(rename),
        propertyDependencies: Object.fromEntries(Object.entries(r.propertyDependencies).map(([k, d]) => [k, d.map(rename)])),
      });
    }
  }

  private retireLive(urn: string): void {
    const live = this.resources.get(urn);
    if (!live) return;
    this.resources.delete(urn);
    const oldHalf: ResourceState = { ...live, delete: true };
    this.resources.set(stateKey(oldHalf), oldHalf);
  }

  private append(entry: JournalEntry): void {
    // Encrypt first: a first secret creates the salt, which gets its own journal line before this one.
    const onDisk = entry.kind === "put" ? { ...entry, resource: this.encryptResource(entry.resource) } : entry;
    const seq = this.seq + 1;
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    // fsync per line: the journal is the only record of a step until the run ends (one line per
    // provider call, each of which takes far longer than the sync).
    writeDurably(this.journalFile, (this.tornTail ? "\n" : "") + JSON.stringify({ ...onDisk, seq }) + "\n", "a");
    this.tornTail = false;
    this.apply({ ...entry, seq } as JournalEntry);
    this.seq = seq;
  }

  private crypter(): Crypter {
    if (this.crypterValue) return this.crypterValue;
    if (this.passphrase === undefined || this.passphrase === "") {
      throw new PassphraseError(`state ${this.file} holds secrets: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE)`);
    }
    if (this.salt) {
      this.crypterValue = crypterFromSalt(this.passphrase, this.salt, this.file);
    } else {
      const made = newEncryptionSalt(this.passphrase);
      this.crypterValue = made.crypter;
      this.append({ seq: 0, kind: "salt", salt: made.salt }); // journaled: a crash before compaction must not lose it
    }
    return this.crypterValue;
  }

  private encryptResource(r: ResourceState): ResourceState {
    return { ...r, inputs: this.encryptMap(r.inputs), outputs: this.encryptMap(r.outputs) };
  }

  private decryptResource(r: ResourceState): ResourceState {
    return { ...r, inputs: this.decryptMap(r.inputs ?? {}), outputs: this.decryptMap(r.outputs ?? {}) };
  }

  private encryptMap(m: PropertyMap): PropertyMap {
    const walk = (v: PropertyValue): PropertyValue => {
      if (isSecret(v)) {
        const plain = JSON.stringify(v.value ?? null);
        let ct = this.ciphertexts.get(plain);
        if (!ct) {
          ct = this.crypter().encrypt(plain);
          this.ciphertexts.set(plain, ct);
        }
        return { [SIG_KEY]: SECRET_SIG, ciphertext: ct };
      }
      if (Array.isArray(v)) return v.map(walk);
      if (isPropertyObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
      return v;
    };
    return walk(m) as PropertyMap;
  }

  private decryptMap(m: PropertyMap): PropertyMap {
    const walk = (v: PropertyValue): PropertyValue => {
      if (isSecret(v) && typeof v.ciphertext === "string") {
        const plain = this.crypter().decrypt(v.ciphertext);
        this.ciphertexts.set(plain, v.ciphertext);
        return { [SIG_KEY]: SECRET_SIG, value: JSON.parse(plain) as PropertyValue };
      }
      if (Array.isArray(v)) return v.map(walk);
      if (isPropertyObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
      return v;
    };
    return walk(m) as PropertyMap;
  }
}

function writeDurably(file: string, text: string, flag: "w" | "a"): void {
  const fd = fs.openSync(file, flag, 0o600);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Makes a rename durable (a no-op where directories cannot be opened for syncing). */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // best effort: some filesystems refuse fsync on a directory
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Default state location: the state file of `stackFiles` when they belong to `stack` (the lab's fixed system path), otherwise inside the project. */
export function defaultStateFile(projectDir: string, stack: string, stackFiles?: StackFiles): string {
  return stackFilesFor(stack, stackFiles)?.stateFile ?? path.join(projectDir, ".rplan", "state", `${stack}.json`);
}
