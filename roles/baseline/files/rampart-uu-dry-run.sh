#!/bin/bash
# Prove that unattended-upgrade reads its configuration: a --dry-run --debug against an
# empty package list (so it is quick and needs no network) that must print the allowed
# origins. Any apt.conf.d syntax error or bad Origins-Pattern fails it. Exit 75 when
# another apt run holds the lock (unattended-upgrade itself exits 0 then, having read nothing).
set -u
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/lists/partial"
printf 'Dir::State::Lists "%s/lists/";\n' "$dir" > "$dir/apt.conf"
out=$(APT_CONFIG="$dir/apt.conf" unattended-upgrade --dry-run --debug 2>&1)
rc=$?
printf '%s\n' "$out"
if grep -q 'Lock file is already taken' <<<"$out"; then
    exit 75
fi
if [ "$rc" -ne 0 ] || grep -qE '^Traceback|^E: ' <<<"$out"; then
    exit 1
fi
grep -qE '^Allowed origins are: .*[^ ]' <<<"$out" || exit 1
