export * from "./types";
export { validateClusterConfig, NODE_NAME } from "./validate";
export { countryName } from "./countries";
export { clusterConfigFromText, CONFIG_KEYS } from "./from-pulumi";
export { endpointInput } from "./endpoint";
export type { SshEndpointInput } from "./endpoint";
