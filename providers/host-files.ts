import * as pulumi from "@pulumi/pulumi";
import type { HostFile, HostFilesInputs } from "./impl/host-files";
import { ThinResource } from "./thin";

export type { HostFile };

/** Inputs of a HostFiles; file contents may be Outputs (e.g. a peer's public key). */
export interface HostFilesArgs {
  readonly node: pulumi.Input<string>;
  readonly ssh: pulumi.Input<HostFilesInputs["ssh"]>;
  readonly encryptedMount?: pulumi.Input<NonNullable<HostFilesInputs["encryptedMount"]>>;
  readonly files: pulumi.Input<pulumi.Input<pulumi.Unwrap<HostFile> | { path: string; content: pulumi.Input<string>; mode?: string; owner?: string }>[]>;
  readonly prune?: pulumi.Input<string[]>;
  readonly reload?: pulumi.Input<string[][]>;
}

/**
 * A set of files on one node, written atomically; files it no longer lists (and strays in its
 * `prune` directories) are removed; `reload` commands run only when something changed. Deleting it
 * never contacts the node.
 */
export class HostFiles extends ThinResource {
  declare public readonly files: pulumi.Output<HostFile[]>;
  declare public readonly lastApply: pulumi.Output<{ written: string[]; removed: string[]; reloaded: boolean } | undefined>;

  constructor(name: string, args: HostFilesArgs, opts?: pulumi.CustomResourceOptions) {
    super("host-files", "HostFiles", name, { lastApply: undefined, ...args }, opts);
  }
}
