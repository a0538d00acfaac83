#!/bin/bash
# A private mesh harness for developing VpnMesh without the shared lab (which other work may be
# using): N chroots (overlays of a private copy of the lab's service image), each in its own network
# namespace m1..mN at 192.168.77.1N on a bridge inside a hub namespace `mxhub`, running the real
# sshd, tincd 1.0 and a gocryptfs mount at /srv/crypt. No systemd: a stand-in `systemctl` (./systemctl)
# runs tincd. Nothing is routed to or from the host: tests run INSIDE the hub namespace.
#
#   cp -a /var/cache/rplan-lab/service-<hash> /tmp/meshimg     # once, from a built lab image
#   N=5 test/mesh/harness/harness.sh up
#   ip netns exec mxhub env RPLAN_MESH_TARGET=harness RPLAN_LAB_KEEP=1 npx jest test/mesh/mesh.lab.test.ts
#   test/mesh/harness/harness.sh down
#
# What it does not reproduce: systemd (unit enablement, journald), real per-node kernels/boot.
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
B=${MESH_HARNESS_DIR:-/tmp/meshx}; IMG=${MESH_HARNESS_IMAGE:-/tmp/meshimg}; N=${N:-5}
# Nothing under $B may be removed while anything is mounted below it (a mount of the host's /dev
# there once let `rm -rf` delete the host's device nodes): check, and never cross filesystems.
mounted_under() { awk -v p="$1/" 'index($2"/", p) == 1 {print $2}' /proc/mounts; }
safe_rm() {
  if [ -n "$(mounted_under "$1")" ]; then echo "refusing to remove $1: still mounted: $(mounted_under "$1" | tr '\n' ' ')" >&2; exit 1; fi
  rm -rf --one-file-system -- "$1"
}
# A private /dev for a chroot: a tmpfs with the few nodes tinc, sshd and gocryptfs need. The host's
# /dev is never bind-mounted.
private_dev() {
  r=$1
  mount -t tmpfs -o mode=755,size=1m tmpfs "$r/dev"
  mknod -m 666 "$r/dev/null" c 1 3; mknod -m 666 "$r/dev/zero" c 1 5; mknod -m 666 "$r/dev/full" c 1 7
  mknod -m 666 "$r/dev/random" c 1 8; mknod -m 666 "$r/dev/urandom" c 1 9; mknod -m 666 "$r/dev/tty" c 5 0
  mknod -m 666 "$r/dev/fuse" c 10 229; mkdir "$r/dev/net"; mknod -m 600 "$r/dev/net/tun" c 10 200
  mkdir "$r/dev/pts" "$r/dev/shm"; mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$r/dev/pts"; ln -s pts/ptmx "$r/dev/ptmx"
  ln -s /proc/self/fd "$r/dev/fd"; ln -s /proc/self/fd/0 "$r/dev/stdin"; ln -s /proc/self/fd/1 "$r/dev/stdout"; ln -s /proc/self/fd/2 "$r/dev/stderr"
}
up() {
  mkdir -p $B; [ -f $B/id ] || ssh-keygen -q -t ed25519 -N "" -f $B/id
  ip netns add mxhub; ip -n mxhub link add br0 type bridge; ip -n mxhub addr add 192.168.77.1/24 dev br0; ip -n mxhub link set br0 up; ip -n mxhub link set lo up
  for i in $(seq 1 $N); do
    d=$B/m$i; [ -e $d ] && safe_rm $d; mkdir -p $d/up $d/work $d/root
    mount -t overlay overlay -o lowerdir=$IMG,upperdir=$d/up,workdir=$d/work $d/root
    private_dev $d/root; mount -t proc proc $d/root/proc; mount -t tmpfs tmpfs $d/root/run; mount -t sysfs sysfs $d/root/sys
    ip netns add mx$i
    ip link add mxv$i netns mxhub type veth peer name eth0 netns mx$i
    ip -n mxhub link set mxv$i master br0 up
    ip -n mx$i addr add 192.168.77.1$i/24 dev eth0; ip -n mx$i link set eth0 up; ip -n mx$i link set lo up
    r=$d/root
    chroot $r ssh-keygen -A >/dev/null
    mkdir -p $r/root/.ssh $r/run/sshd; cp $B/id.pub $r/root/.ssh/authorized_keys; chmod 700 $r/root/.ssh
    for p in /usr/local/bin /usr/local/sbin; do mkdir -p $r$p; cp "$HERE/systemctl" $r$p/systemctl; chmod 755 $r$p/systemctl; done
    echo "pass-m$i" > $r/root/.pass; mkdir -p $r/srv/.crypt-cipher $r/srv/crypt
    chroot $r gocryptfs -q -init -passfile /root/.pass /srv/.crypt-cipher >/dev/null
    chroot $r gocryptfs -q -passfile /root/.pass /srv/.crypt-cipher /srv/crypt
    ip netns exec mx$i chroot $r /usr/sbin/sshd
  done
}
# Processes whose root is inside a node of the harness (started by it), by PID.
harness_pids() { for p in /proc/[0-9]*; do case "$(readlink $p/root 2>/dev/null)" in "$1"/*|"$1") echo "${p#/proc/}";; esac; done; }
down() {
  for i in $(seq 1 9); do
    d=$B/m$i; [ -d $d ] || continue
    for pid in $(harness_pids $d/root); do kill $pid 2>/dev/null || true; done
    for k in $(seq 1 50); do [ -z "$(harness_pids $d/root)" ] && break; sleep 0.1; done
    for pid in $(harness_pids $d/root); do kill -9 $pid 2>/dev/null || true; done
    fusermount3 -u $d/root/srv/crypt 2>/dev/null || umount $d/root/srv/crypt 2>/dev/null || true
    for m in $(mounted_under $d | sort -r); do umount "$m" || umount -l "$m"; done
    ip netns del mx$i 2>/dev/null || true
    [ -z "$(mounted_under $d)" ] || { echo "still mounted under $d" >&2; exit 1; }
  done
  ip netns del mxhub 2>/dev/null || true
}
"$@"
