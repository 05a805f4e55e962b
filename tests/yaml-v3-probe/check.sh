#!/usr/bin/env bash
# Checks the toolkit's reading of comments against Go's yaml.v3 itself: builds the probe offline from the Debian
# packages golang-1.19-go and golang-gopkg-yaml.v3-dev, compares every tree recorded in
# tests/data/sops-comments.json (--write records them instead), then 2000 random files read by both.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=check
[ "${1:-}" = --write ] && mode=write
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOPROXY=off "${GO:-/usr/lib/go-1.19/bin/go}" build -o "$out/probe" ./tests/yaml-v3-probe
"$out/probe" "$mode" tests/data/sops-comments.json
if [ "$mode" = check ]; then
  node --import tsx tests/yaml-v3-probe/fuzz.ts "$out/probe" "${FUZZ_COUNT:-2000}" "${FUZZ_SEED:-1}"
fi
