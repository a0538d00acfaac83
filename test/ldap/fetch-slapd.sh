#!/bin/sh
# Fetch Debian's slapd (and the libraries it needs that a host with ldap-utils lacks) into
# node_modules/.cache/rplan-slapd WITHOUT installing anything: `apt-get download` + `dpkg-deb -x`.
# No maintainer scripts run, nothing is written to /etc or /usr, no service is started.
# test/ldap/local-slapd.ts runs the extracted binary as a throwaway process on a private ldapi
# socket and a 127.0.0.1 port in a temp directory, and kills it at the end of the test.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
dest=${RPLAN_SLAPD_ROOT:-$here/node_modules/.cache/rplan-slapd}
if [ -x "$dest/root/usr/sbin/slapd" ] && [ -e "$dest/root/usr/lib/ldap/back_mdb.so" ]; then echo "slapd already extracted in $dest/root"; exit 0; fi
mkdir -p "$dest/debs" "$dest/root"
cd "$dest/debs"
apt-get download slapd libltdl7 libodbc2 libwrap0 >/dev/null
for d in *.deb; do dpkg-deb -x "$d" "$dest/root"; done
LD_LIBRARY_PATH="$dest/root/usr/lib/x86_64-linux-gnu" "$dest/root/usr/sbin/slapd" -VV 2>&1 | head -1 || true
echo "slapd extracted to $dest/root"
