/**
 * The lab stack's files (stack-file/stack-files.ts) and its guard, for the commands, tests and
 * benches that run stack "lab": they live in the lab's fixed system directory, so that any checkout
 * finds a lab left behind, and nothing touches the lab's hosts unless their addresses go over the
 * lab bridge (with the lab down they would be routed out of the machine).
 */
import { assertRoutedThroughLab } from "./network-safety";
import { STACK_CONFIG, STACK_PASSPHRASE, STACK_STATE } from "./state";

export const LAB_STACK_FILES = {
  stack: "lab",
  configFile: STACK_CONFIG,
  passphraseFile: STACK_PASSPHRASE,
  stateFile: STACK_STATE,
  missingConfigHint: "run `npm run lab -- up` to create the lab",
  assertHostReachable: assertRoutedThroughLab,
} as const;
