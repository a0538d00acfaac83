import type { SshEndpoint } from "./types";

/**
 * A node's SSH endpoint as a provider receives it: plain and serializable (mutable arrays, no
 * `proxy: undefined` key, which would show as a change in every diff). The one vocabulary for "how
 * to reach this node" in provider inputs; `transports/ssh` adds the node's name to make a target.
 */
export interface SshEndpointInput {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly hostKeys: string[];
  readonly proxy?: string;
}

/** The one builder of a provider's endpoint input from a node's config. */
export function endpointInput(e: SshEndpoint): SshEndpointInput {
  return { host: e.host, port: e.port, user: e.user, hostKeys: [...e.hostKeys], ...(e.proxy ? { proxy: e.proxy } : {}) };
}
