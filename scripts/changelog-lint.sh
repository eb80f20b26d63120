#!/usr/bin/env bash
# Changelog lint (part of `make lint`):
#  1. every fragment in changelogs/fragments/ and changelogs/changelog.yaml are valid
#     antsibull-changelog input;
#  2. CHANGELOG.md is what `antsibull-changelog generate` makes of changelog.yaml;
#  3. a change under plugins/ or roles/ comes with a fragment.
# For 3 the change is: the uncommitted work when the tree is dirty, otherwise the last
# commit (HEAD^..HEAD), or RAMPART_CHANGELOG_BASE..work tree when set (e.g. a merge base
# in CI). With no history to compare (a fresh shallow clone) 3 is skipped, said so.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$RAMPART_ROOT"

log "antsibull-changelog lint (fragments, changelog.yaml)"
antsibull-changelog lint
antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml

log "CHANGELOG.md is generated from changelogs/changelog.yaml"
generated="$(mktemp)"
trap 'rm -f "$generated"' EXIT
antsibull-changelog generate --output "$generated" --output-format md
if ! diff -u CHANGELOG.md "$generated" >&2; then
  die "CHANGELOG.md is stale or hand-edited: add a fragment instead, then run 'antsibull-changelog generate'"
fi

log "a change to plugins/ or roles/ comes with a changelog fragment"
if ! git rev-parse --git-dir >/dev/null 2>&1; then
  echo "not a git work tree: fragment check skipped" >&2
  exit 0
fi
base="${RAMPART_CHANGELOG_BASE:-}"
if [[ -z "$base" ]]; then
  if [[ -n "$(git status --porcelain --untracked-files=all)" ]]; then
    base=HEAD
  elif git rev-parse --verify --quiet 'HEAD^' >/dev/null; then
    base='HEAD^'
  else
    echo "no commit before HEAD (fresh or shallow clone): fragment check skipped" >&2
    exit 0
  fi
fi
changed="$( {
  git diff --name-only "$base" --
  git ls-files --others --exclude-standard
} | sort -u)"
# Generated READMEs and other Markdown follow the specs they are made from.
code_changes="$(grep -E '^(plugins|roles)/' <<<"$changed" | grep -vE '\.md$' || true)"
fragments="$(grep -E '^changelogs/(fragments/[^/]+\.ya?ml|changelog\.yaml)$' <<<"$changed" || true)"
if [[ -n "$code_changes" && -z "$fragments" ]]; then
  printf '  %s\n' $code_changes >&2
  die "these changes (since $base) have no changelog fragment: add changelogs/fragments/<issue>-<topic>.yml (section 'trivial' if users never notice)"
fi
echo "changes since $base: $(wc -w <<<"$code_changes") under plugins/ or roles/, $(wc -w <<<"$fragments") fragment file(s)" >&2
