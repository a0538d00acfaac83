/**
 * Reading a Pulumi stack config file (Pulumi.<stack>.yaml) into a validated ClusterConfig, for admin
 * commands that run outside `pulumi` (unlock, status). Secure values are not needed by them and are
 * left encrypted.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { ClusterConfig, ConfigError, clusterConfigFromText, NodeConfig } from "../planning/config";

/** Where the lab keeps its generated stack config (a fixed system location; see lab/). */
export const LAB_STACK_CONFIG = "/var/lib/rplan-lab/Pulumi.lab.yaml";

/** The config file of a stack: Pulumi.<stack>.yaml in the project, or the lab's generated one. */
export function stackConfigPath(stack: string, projectDir = path.resolve(__dirname, "..")): string {
  const local = path.join(projectDir, `Pulumi.${stack}.yaml`);
  if (fs.existsSync(local) || stack !== "lab") return local;
  return LAB_STACK_CONFIG;
}

/** Read and validate a stack config file; one clear error when missing or malformed. */
export function readStackConfig(file: string): ClusterConfig {
  if (!fs.existsSync(file)) throw new ConfigError([`stack config ${file} does not exist`]);
  let doc: any;
  try {
    doc = parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new ConfigError([`stack config ${file} is not valid YAML: ${(e as Error).message.split("\n")[0]}`]);
  }
  const values = doc && typeof doc === "object" && doc.config && typeof doc.config === "object" ? doc.config : undefined;
  if (!values) throw new ConfigError([`stack config ${file} has no "config:" map`]);
  const present = Object.keys(values).filter((k) => k.startsWith("rplan:")).map((k) => k.slice("rplan:".length));
  return clusterConfigFromText((key) => {
    const v = values[`rplan:${key}`];
    return v === undefined ? undefined : typeof v === "string" ? v : JSON.stringify(v);
  }, present);
}

/** A node by name, or one clear error listing the known nodes. */
export function findNode(config: ClusterConfig, name: string): NodeConfig {
  const node = config.nodes.find((n) => n.name === name);
  if (!node) throw new ConfigError([`unknown node "${name}" (known: ${config.nodes.map((n) => n.name).join(", ")})`]);
  return node;
}
