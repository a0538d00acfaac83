/** Where the lab keeps things (a fixed system location, so any checkout can find a lab left behind). */
import * as fs from "fs";
import * as path from "path";
import type { NetSnapshot } from "./network-safety";
import { writeFileAtomic } from "./exec";

export const LAB_DIR = "/var/lib/rplan-lab";
export const CACHE_DIR = "/var/cache/rplan-lab";
export const STATE_FILE = path.join(LAB_DIR, "state.json");
export const NODES_DIR = path.join(LAB_DIR, "nodes");
export const SECRETS_DIR = path.join(LAB_DIR, "secrets");
export const SSH_KEY = path.join(LAB_DIR, "ssh", "id_ed25519");
export const KNOWN_HOSTS = path.join(LAB_DIR, "ssh", "known_hosts");
export const STACK_CONFIG = path.join(LAB_DIR, "Pulumi.lab.yaml");
export const STACK_PASSPHRASE = path.join(LAB_DIR, "stack-passphrase");
/** The lab stack's state (the runner's default for `--stack lab`): it describes these hosts only. */
export const STACK_STATE = path.join(LAB_DIR, "stack-state.json");
export const CHECKOUT = path.resolve(__dirname, "..");
export const MAX_NODES = 5;

export interface LabNode {
  name: string;
  index: number;
  address: string;
  netns: string;
  /** Host end of the veth pair (the node's end is eth0 inside the netns). */
  veth: string;
  /** The relaunch loop; the nspawn PID below changes only when the node reboots. */
  launcherPid: number;
  nspawnPid: number;
  cgroups: string[];
  /** "type base64", no comment: exactly what the stack pins. */
  hostKeys: string[];
}

export interface LabState {
  version: 1;
  image: string;
  nodeCount: number;
  /** The host's network before the lab existed; `down` must leave it identical. */
  network: NetSnapshot;
  nodes: LabNode[];
  /**
   * Which run brought the lab up (RPLAN_LAB_RUN of the process that created it, e.g. a jest run's
   * id): a test run's end takes down only a lab it brought up itself, never one another run started
   * meanwhile (test/support/global-teardown.ts).
   */
  broughtUpBy?: string;
}

export function readLabState(): LabState | undefined {
  try {
    return JSON.parse(fs.readFileSync(STATE_FILE, "utf8")) as LabState;
  } catch {
    return undefined;
  }
}

export function writeLabState(state: LabState): void {
  fs.mkdirSync(LAB_DIR, { recursive: true, mode: 0o700 });
  writeFileAtomic(STATE_FILE, JSON.stringify(state, null, 2) + "\n", 0o600);
}

export const nodeName = (i: number) => `lab${i}`;
export const nodeAddress = (i: number) => `198.51.100.${10 + i}`;
export const nodeDir = (name: string) => path.join(NODES_DIR, name);
export const netnsName = (name: string) => `rplab-${name}`;
export const secretFile = (name: string) => path.join(SECRETS_DIR, `${name}.pass`);
