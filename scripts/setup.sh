#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 machine with Node 20 (run as root).
# Installs system packages, pnpm, workspace dependencies, builds the native addon,
# the vDSO and the test programs. Safe to run again: each step checks first.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { [ -n "${NOMMU_SETUP_QUIET:-}" ] || echo "setup: $*" >&2; }

need_pkgs=()
for p in libunicorn-dev build-essential binutils musl-tools musl-dev busybox-static file python3; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing Debian packages: ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >&2
fi

if ! command -v pnpm >/dev/null 2>&1; then
  log "installing pnpm"
  npm install -g pnpm@10.34.9 >&2
fi

stamp=node_modules/.nommu-install-stamp
if [ ! -f "$stamp" ] || [ pnpm-lock.yaml -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  log "pnpm install"
  pnpm install --frozen-lockfile --reporter=silent >&2 || pnpm install --reporter=silent >&2
  touch "$stamp"
fi

log "building"
pnpm -s turbo run build --output-logs=errors-only >&2
