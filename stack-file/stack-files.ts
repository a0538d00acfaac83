/**
 * Where a stack keeps its files when the project directory does not. The lab's stack "lab" keeps
 * them in the lab's fixed system directory, so that any checkout finds a lab left behind
 * (lab/stack-files.ts). stack-file/ and the stack runner know no such place themselves: the
 * commands, tests and benches that run such a stack pass its files in, and for any other stack
 * they are ignored.
 */
export interface StackFiles {
  /** The stack they belong to. */
  readonly stack: string;
  /** Its config file, read when the project directory has no `Pulumi.<stack>.yaml`. */
  readonly configFile: string;
  /** Its passphrase file, read when neither PULUMI_CONFIG_PASSPHRASE nor PULUMI_CONFIG_PASSPHRASE_FILE is set. */
  readonly passphraseFile: string;
  /** The stack runner's state file for it. */
  readonly stateFile: string;
  /** Added to the error when the stack has no config file at all: how to get one. */
  readonly missingConfigHint?: string;
}

/** `files` when they belong to `stack`, else undefined. */
export const stackFilesFor = <F extends StackFiles>(stack: string, files: F | undefined): F | undefined => (files?.stack === stack ? files : undefined);
