#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 machine with Node 20 (run as root):
# Debian packages, pnpm, workspace dependencies, the native addon and the
# TypeScript build. Each step checks first, so running it again is cheap.
# Everything it prints goes to stderr: stdout belongs to the guest program.
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1
cd "$(dirname "$0")/.."

log() { [ -n "${NOMMU_SETUP_QUIET:-}" ] || echo "setup: $*" >&2; }

need_pkgs=()
for p in libunicorn-dev build-essential binutils musl-tools musl-dev busybox-static file python3 strace tmux; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing Debian packages: ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >&2
fi

# The installed pnpm's version, read from its package.json (`pnpm --version`
# costs ~0.7 s, paid by every `./nommu` call otherwise).
installed_pnpm() {
  local bin
  bin=$(command -v pnpm 2>/dev/null) || return 0
  bin=$(readlink -f "$bin")
  local pkg="${bin%/bin/*}/package.json"
  if [ -f "$pkg" ]; then
    sed -n 's/^  "version": "\(.*\)",$/\1/p' "$pkg" | head -n1
  else
    pnpm --version 2>/dev/null || true
  fi
}
pnpm_version=$(sed -n 's/.*"packageManager": "pnpm@\([^"]*\)".*/\1/p' package.json)
if [ "$(installed_pnpm)" != "$pnpm_version" ]; then
  log "installing pnpm $pnpm_version"
  npm install -g "pnpm@$pnpm_version" >&2
fi

stamp=node_modules/.nommu-install-stamp
if [ ! -f "$stamp" ] || [ pnpm-lock.yaml -nt "$stamp" ]; then
  log "pnpm install"
  pnpm install --frozen-lockfile >&2
  touch "$stamp"
fi

# Build when any source is newer than the last build.
built=node_modules/.nommu-build-stamp
if [ ! -f "$built" ] || [ -n "$(find packages \( -path '*/node_modules' -o -path '*/build' -o -path '*/dist' \) -prune -o \( -path '*/src/*' -o -path '*/scripts/*' -o -path '*/native/*' -o -name 'package.json' -o -name 'binding.gyp' -o -name 'tsconfig*.json' \) -newer "$built" -print -quit)" ]; then
  log "building"
  pnpm -s turbo run build --output-logs=errors-only >&2
  touch "$built"
fi
