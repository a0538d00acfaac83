/**
 * The shell step that puts a postfix file a bench changed by hand back from its backup, byte for
 * byte with its mode and owner (otherwise a refresh shows the mail daemons' HostFiles drifted), and
 * reloads postfix. Prints `same` when restored and identical, `untouched` when there was no backup
 * (the backup failed, so nothing was changed: benches change a file only after backing it up).
 */
export function restorePostfixFile(file: string, backup: string): string {
  const stat = (f: string) => `"$(stat -c '%a %U:%G' ${f})"`;
  return `if [ -e ${backup} ]; then cp -p ${backup} ${file} && postfix reload 2>/dev/null && cmp ${backup} ${file} && [ ${stat(backup)} = ${stat(file)} ] && rm ${backup} && echo same; else echo untouched; fi`;
}
