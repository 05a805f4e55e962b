#!/usr/bin/env bash
# Live-cluster smoke test of a VolSync volume restore (what `task volsync:snapshot` then
# `task volsync:restore` run): back the app's volume up now, restore it in place from that backup
# (typed confirmation unless --yes), which waits until the app's workloads are ready again on the
# restored data, then show its VolSync state. Exit 0 only when every step succeeded.
#   tests/smoke/dr-volsync-restore.sh apps odoo
#   tests/smoke/dr-volsync-restore.sh infra gatus observability -- --yes   # flags after -- go to the restore
set -euo pipefail

usage="usage: $0 infra|apps APP [NAMESPACE] [-- flags of scripts/volsync.ts restore]"
cluster=${1:?$usage}
app=${2:?$usage}
shift 2
where=()
if [[ $# -gt 0 && $1 != -* ]]; then
  where=(--namespace "$1")
  shift
fi
if [[ ${1:-} == -- ]]; then
  shift
fi
# A dry run of the restore is a dry run of the whole test.
dry=()
for arg in "$@"; do
  if [[ $arg == --dry-run ]]; then
    dry=(--dry-run)
  fi
done

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
volsync() {
  node --import tsx scripts/volsync.ts "$@"
}

volsync snapshot --cluster "$cluster" --app "$app" "${where[@]}" "${dry[@]}"
volsync restore --cluster "$cluster" --app "$app" "${where[@]}" "$@"
volsync status --cluster "$cluster" --app "$app" "${where[@]}" "${dry[@]}"
