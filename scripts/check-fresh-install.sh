#!/usr/bin/env bash
# Proves that the README's commands work on a bare Debian 12: builds a minimal bookworm with
# debootstrap, copies this checkout into it, runs scripts/setup.sh there as root and checks that
# the bundled model generated text, then runs scripts/test.sh --quick there. A package that the
# build, the generation or the test suite needs but scripts/install-deps.sh does not install
# fails this check even when the machine running it happens to have that package.
#
# Usage (as root): scripts/check-fresh-install.sh
# Environment: HEARTH_DEBIAN_MIRROR overrides the mirror taken from this machine's apt sources;
# TMPDIR picks where the temporary system goes (default /var/tmp: it needs about 1.2 GB and a
# file system that allows executables).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD

suite=bookworm
tail_lines=60
chroot_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

tmp=""          # the temporary folder; set only once mktemp has created it
root=""         # the minimal system, "$tmp/root"
log=""          # everything the steps print, "$tmp/log"; its tail is shown on failure
child=""        # the background step being waited for
mounted=()      # mount points made inside "$root", in the order they were made
phases=()       # "name|milliseconds" for the summary
reason=""       # why the check failed, for the FAIL line
start_ms=0

now_ms() { local t=${EPOCHREALTIME/./}; echo $((10#$t / 1000)); }
fmt_ms() { printf '%d.%01ds' $(($1 / 1000)) $(($1 % 1000 / 100)); }
say() { printf '%s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
  say "check-fresh-install: FAIL: must run as root (debootstrap, mount and chroot need it)"
  exit 1
fi
if [ "$#" -gt 0 ]; then
  say "usage: scripts/check-fresh-install.sh"
  exit 2
fi

# Every pid whose parent chain leads to $1, so a step can be stopped with all it started
# (wget under debootstrap, compilers under ninja) without relying on process groups.
descendants() {
  local -A kids=()
  local p stat rest ppid
  for p in /proc/[0-9]*; do
    stat=$(cat "$p/stat" 2>/dev/null) || continue
    rest=${stat##*) }
    ppid=${rest#* }
    ppid=${ppid%% *}
    kids[$ppid]+=" ${p#/proc/}"
  done
  local queue=("$1") cur
  while [ "${#queue[@]}" -gt 0 ]; do
    cur=${queue[0]}
    queue=("${queue[@]:1}")
    for p in ${kids[$cur]-}; do
      echo "$p"
      queue+=("$p")
    done
  done
}

# Processes whose root is the temporary system (daemons a maintainer script may have left,
# or anything reparented to init) hold its mounts busy; they are found through /proc.
chrooted_pids() {
  [ -n "$root" ] || return 0
  local p r
  for p in /proc/[0-9]*; do
    r=$(readlink "$p/root" 2>/dev/null) || continue
    case "$r" in "$root" | "$root"/*) echo "${p#/proc/}" ;; esac
  done
}

stop_processes() {
  local pids=() p i
  if [ -n "$child" ]; then
    mapfile -t pids < <(descendants "$child")
    pids+=("$child")
  fi
  mapfile -t -O "${#pids[@]}" pids < <(chrooted_pids)
  [ "${#pids[@]}" -gt 0 ] || return 0
  say "stopping ${#pids[@]} process(es) of the check"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for i in $(seq 50); do
    local alive=()
    for p in "${pids[@]}"; do [ -e "/proc/$p" ] && alive+=("$p"); done
    [ "${#alive[@]}" -gt 0 ] || return 0
    sleep 0.2
  done
  kill -KILL "${alive[@]}" 2>/dev/null || true
  sleep 0.5
}

# Mount points at or below $1, deepest first, read from the kernel's own table so that a
# mount made by something other than this script is seen too.
mounts_under() {
  local base=$1
  awk -v base="$base" '{
      t = $5; gsub(/\\040/, " ", t)
      if (t == base || index(t, base "/") == 1) print length(t) "\t" t
    }' /proc/self/mountinfo | sort -rn | cut -f2-
}

unmount_all() {
  [ -n "$tmp" ] || return 0
  local m i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    m=${mounted[i]}
    mountpoint -q "$m" 2>/dev/null || continue
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  # Anything still there (mounted twice, or by a step inside), deepest first.
  while IFS= read -r m; do
    [ -n "$m" ] || continue
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done < <(mounts_under "$tmp")
}

remove_tmp() {
  [ -n "$tmp" ] && [ -d "$tmp" ] || return 0
  case "$tmp" in
    */hearth-fresh.*) ;;
    *) say "refusing to remove unexpected path '$tmp'"; return 1 ;;
  esac
  if [ -n "$(mounts_under "$tmp")" ]; then
    say "still mounted under $tmp, left in place:"
    mounts_under "$tmp" >&2
    return 1
  fi
  # --one-file-system: even a mount that appeared after the check above (another file
  # system, such as /dev or /proc) is skipped rather than emptied.
  rm -rf --one-file-system -- "$tmp"
  [ ! -e "$tmp" ]
}

finish() {
  local rc=$?
  trap '' INT TERM HUP
  trap - EXIT
  local t0 cleaned=yes
  t0=$(now_ms)
  stop_processes
  unmount_all
  remove_tmp || cleaned=no
  if [ -n "$phase_name" ]; then
    phases+=("$phase_name (unfinished)|$((t0 - phase_start))")
    phase_name=""
  fi
  phases+=("unmount and remove|$(($(now_ms) - t0))")
  if [ "$cleaned" = no ]; then
    [ "$rc" != 0 ] || rc=1
    reason="${reason:+$reason; }could not clean up $tmp"
  fi
  if [ "$start_ms" != 0 ]; then
    say ""
    say "timings:"
    local p
    for p in "${phases[@]}"; do
      printf '  %-56s %8s\n' "${p%|*}" "$(fmt_ms "${p##*|}")" >&2
    done
    printf '  %-56s %8s\n' "total" "$(fmt_ms $(($(now_ms) - start_ms)))" >&2
  fi
  if [ "$rc" = 0 ]; then
    say "check-fresh-install: PASS"
  else
    say "check-fresh-install: FAIL: ${reason:-exit status $rc}"
  fi
  exit "$rc"
}

show_log_tail() {
  if [ -n "$log" ] && [ -s "$log" ]; then
    say "---- last $tail_lines lines of the log ----"
    tail -n "$tail_lines" "$log" >&2
    say "---- end of log ----"
  fi
}

fail() {
  reason=$*
  show_log_tail
  exit 1
}

# Runs a step in the background and waits for it, so that INT and TERM reach the traps at
# once instead of after the step ends (bash defers traps while a foreground child runs). The
# step's output is redirected here rather than around the call, so that the traps still
# print to the terminal.
run_step() {
  local out=$1 err=$2 rc=0
  shift 2
  "$@" >>"$out" 2>>"$err" &
  child=$!
  wait "$child" || rc=$?
  child=""
  return "$rc"
}

phase_start=0
phase_name=""
begin() { phase_start=$(now_ms); phase_name=$1; say "== $1"; }
end() {
  local ms=$(($(now_ms) - phase_start))
  phases+=("$phase_name|$ms")
  phase_name=""
  say "   done in $(fmt_ms "$ms")"
}

in_chroot() {
  env -i HOME=/root PATH="$chroot_path" LANG=C.UTF-8 TERM=dumb "${proxy_env[@]}" \
    chroot "$root" /bin/bash -c "cd /root/hearth && $1"
}

# The Debian archive this machine installs from; a mirror that works for its apt works for
# the temporary system's apt.
detect_mirror() {
  if [ -n "${HEARTH_DEBIAN_MIRROR-}" ]; then
    echo "$HEARTH_DEBIAN_MIRROR"
    return
  fi
  local m=""
  if [ -r /etc/apt/sources.list.d/debian.sources ]; then
    m=$(awk 'BEGIN { RS = "" }
      {
        uris = ""; suites = ""; types = ""
        n = split($0, line, "\n")
        for (i = 1; i <= n; i++) {
          l = line[i]
          if (l ~ /^#/) continue
          if (l ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", l); uris = l }
          if (l ~ /^Suites:/) { sub(/^Suites:[ \t]*/, "", l); suites = " " l " " }
          if (l ~ /^Types:/) { sub(/^Types:[ \t]*/, "", l); types = " " l " " }
        }
        if (types ~ / deb / && suites ~ / bookworm /) { split(uris, u, " "); print u[1]; exit }
      }' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$m" ] && [ -r /etc/apt/sources.list ]; then
    m=$(awk '$1 == "deb" {
        i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
        if ($(i + 1) == "bookworm") { print $i; exit }
      }' /etc/apt/sources.list)
  fi
  echo "${m:-http://deb.debian.org/debian}"
}

trap finish EXIT
trap 'reason="interrupted (SIGINT)"; exit 130' INT
trap 'reason="terminated (SIGTERM)"; exit 143' TERM
trap 'reason="hung up (SIGHUP)"; exit 129' HUP
start_ms=$(now_ms)

# Proxies in the environment reach the temporary system; nothing else of this machine's
# environment does.
proxy_env=()
for v in http_proxy https_proxy ftp_proxy no_proxy HTTP_PROXY HTTPS_PROXY FTP_PROXY NO_PROXY; do
  if [ -n "${!v-}" ]; then proxy_env+=("$v=${!v}"); fi
done

install_debootstrap() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends debootstrap
}

tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/hearth-fresh.XXXXXXXX")
tmp=$(cd "$tmp" && pwd -P)
root=$tmp/root
log=$tmp/log
: >"$log"

if ! command -v debootstrap >/dev/null; then
  begin "install debootstrap on this machine"
  run_step "$log" "$log" install_debootstrap || fail "could not install debootstrap with apt-get"
  end
fi
for tool in git tar mountpoint chroot; do
  command -v "$tool" >/dev/null || fail "$tool is missing on this machine"
done

mirror=$(detect_mirror)
say "temporary system: $root"
say "mirror: $mirror"

begin "debootstrap $suite (minbase)"
include=()
case "$mirror" in https:*) include=(--include=ca-certificates) ;; esac
run_step "$log" "$log" env "${proxy_env[@]}" debootstrap --variant=minbase "${include[@]}" \
  "$suite" "$root" "$mirror" || fail "debootstrap exited $? (mirror $mirror)"
end

begin "copy the checkout, apt settings, mounts"
# The same archives as this machine (updates and security included), when it runs bookworm.
if [ -r /etc/apt/sources.list.d/debian.sources ] &&
  grep -Eq '^Suites:.*[[:space:]]bookworm([[:space:]]|$)' /etc/apt/sources.list.d/debian.sources; then
  cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/"
  rm -f "$root/etc/apt/sources.list"
fi
# apt settings the mirror may need: a proxy, or accepting Release files past their
# Valid-Until (snapshot mirrors serve those).
apt-config dump 2>/dev/null |
  grep -E '^Acquire::(https?|ftp)::Proxy( |::)|^Acquire::Check-(Valid-Until|Date) ' \
    >"$root/etc/apt/apt.conf.d/99hearth-host" || true
[ -s "$root/etc/apt/apt.conf.d/99hearth-host" ] || rm -f "$root/etc/apt/apt.conf.d/99hearth-host"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
# Certificate authorities this machine's network adds (a proxy that re-signs HTTPS, as the
# npm registry may be reached through): local CAs are network settings like the proxy, not
# packages, so they go along for the npm install. The CA bundle itself is Node.js's own.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cat /usr/local/share/ca-certificates/*.crt >"$root/etc/hearth-host-ca.pem"
  proxy_env+=("NODE_EXTRA_CA_CERTS=/etc/hearth-host-ca.pem")
fi

# Tracked files and untracked files that are not ignored: a fresh clone plus the working
# tree's changes, never a build folder. Files deleted in the working tree are left out.
mkdir -p "$root/root/hearth"
git -C "$src" ls-files -co --exclude-standard -z |
  while IFS= read -r -d '' f; do
    if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
  done |
  tar -C "$src" --null -T - -cf - | tar -C "$root/root/hearth" -xf - ||
  fail "could not copy the checkout"

mount -t proc proc "$root/proc" || fail "could not mount /proc in $root"
mounted+=("$root/proc")
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$root/sys" || fail "could not mount /sys in $root"
mounted+=("$root/sys")
mount --bind /dev "$root/dev" || fail "could not bind /dev in $root"
mounted+=("$root/dev")
# Private, so that the /dev/pts mount below stays inside the temporary system instead of
# propagating to this machine's /dev through a shared mount.
mount --make-private "$root/dev" || fail "could not make $root/dev private"
mkdir -p "$root/dev/pts"
mount --bind /dev/pts "$root/dev/pts" || fail "could not bind /dev/pts in $root"
mounted+=("$root/dev/pts")
mount --make-private "$root/dev/pts" || fail "could not make $root/dev/pts private"
end

begin "scripts/setup.sh (deps, build, generate)"
out=$tmp/setup.stdout
echo "---- scripts/setup.sh" >>"$log"
run_step "$out" "$log" in_chroot scripts/setup.sh ||
  fail "scripts/setup.sh exited $? in the fresh system"
end
# setup.sh's stdout is the generated text alone: it must be real words, not nothing.
words=$(grep -oE '[[:alpha:]]{2,}' "$out" | wc -l)
if [ "$words" -lt 10 ]; then
  say "generated text was: '$(head -c 300 "$out")'"
  fail "scripts/setup.sh generated no text ($words words on stdout)"
fi
say "   generated $words words: $(tr '\n' ' ' <"$out" | head -c 160)..."

begin "scripts/test.sh --quick (Release tests)"
echo "---- scripts/test.sh --quick" >>"$log"
run_step "$log" "$log" in_chroot "scripts/test.sh --quick" ||
  fail "scripts/test.sh --quick exited $? in the fresh system"
end
summary=$(grep -E 'tests passed' "$log" | tail -n 1 || true)
[ -z "$summary" ] || say "   $summary"
