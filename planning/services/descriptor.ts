/**
 * What rplan knows about one service a node runs, in one place: what it installs, whether its
 * private keys are born in a key directory of its own inside the encrypted mount, which of its units
 * read from that mount, which units must stay off until rplan has configured them, its TLS use and
 * the resources the policy pack requires of it on every active node. Package lists (node plan and lab
 * image alike), key and unit lists, TLS services and the policy's duty names are derived from the
 * descriptors (./index.ts), so adding a daemon is one descriptor plus its renderer.
 * Pure: no Pulumi, no I/O.
 */
import type { DaemonContribution } from "../mail/contribution";

/** Key types the generator knows (`openssl req -newkey`; planning/service-tls.ts). */
export const TLS_ALGORITHMS = ["rsa-3072", "ec-p256"] as const;
export type TlsAlgorithm = (typeof TLS_ALGORITHMS)[number];

/** Where a service's key and certificate are, as its daemon's settings name them. */
export interface TlsFiles {
  readonly privateKeyPath: string;
  readonly certPath: string;
}

/** A service that terminates TLS with a key and certificate of its own, born in its key directory. */
export interface ServiceTls {
  /** The key type its certificate gets. */
  readonly algorithm: TlsAlgorithm;
  /** What its key contributes to the mail daemons' configuration (which settings name the key and certificate). */
  readonly contribution: (files: TlsFiles, note: string) => Omit<DaemonContribution, "feature">;
}

export interface ServiceDescriptor {
  /** Short lower-case name; also the name of its key directory (`<mount>/keys/<name>`). */
  readonly name: string;
  /** Why a node runs it, one line (docs, status). */
  readonly purpose: string;
  /** Debian packages every node installs for it (the lab image has them too). */
  readonly packages: readonly string[];
  /** Its private keys are born in `<mount>/keys/<name>` and never leave it. */
  readonly keyDir?: boolean;
  /**
   * systemd units that read keys or data from the encrypted mount: a locked mount leaves them failed
   * or keyless, so unlocking restarts the enabled ones and locking stops them first.
   */
  readonly mountUnits?: readonly string[];
  /** Units Debian enables on install that must not run before rplan configures them (the component that does enables them). */
  readonly disabledUntilConfigured?: readonly string[];
  readonly tls?: ServiceTls;
  /**
   * The resources the policy pack requires for this service on every active node, by duty, as the
   * program names them (`node` → resource name). A rename in a component must be made here too; the
   * program test builds the real cluster and checks every name.
   */
  readonly duties?: Readonly<Record<string, (node: string) => string>>;
  /** Duties of the cluster as a whole (one resource, not one per node). */
  readonly clusterDuties?: Readonly<Record<string, string>>;
}
