#!/usr/bin/env bash
# Live-cluster smoke test of CloudNativePG point-in-time recovery (what `task dr:test-cnpg-restore` runs):
# marker rows before and after a target time in the shared cluster postgres, a restore to that time in a
# throwaway namespace from the documented recovery manifest, exactly the rows before the target back,
# within the 30-minute recovery time objective. Exit 0 only when all of it holds.
#   tests/smoke/dr-cnpg-restore.sh infra
#   tests/smoke/dr-cnpg-restore.sh apps --keep      # flags go to scripts/dr.ts test-cnpg-restore
set -euo pipefail

usage="usage: $0 infra|apps [flags of scripts/dr.ts test-cnpg-restore]"
cluster=${1:?$usage}
shift

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
exec node --import tsx scripts/dr.ts test-cnpg-restore --cluster "$cluster" "$@"
