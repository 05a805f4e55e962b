#!/usr/bin/env bash
# Checks tests/data/sops-comments.json against Go's yaml.v3 itself: builds the probe offline from the Debian
# packages golang-1.19-go and golang-gopkg-yaml.v3-dev and compares every recorded tree (--write records them).
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=check
[ "${1:-}" = --write ] && mode=write
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOPROXY=off "${GO:-/usr/lib/go-1.19/bin/go}" build -o "$out/probe" ./tests/yaml-v3-probe
"$out/probe" "$mode" tests/data/sops-comments.json
