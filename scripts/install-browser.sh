#!/usr/bin/env bash
# Installs what the approval page's browser test (cli/tests/approval_browser.rs) needs:
#
#   chromium (Debian's package, /usr/bin/chromium), with apt-get;
#   playwright-core (npm, pinned below) into $SHIFTGATE_CACHE/node, shared with
#     scripts/install-tools.sh (the test finds it through NODE_PATH).
#
# playwright-core drives the system Chromium through executablePath, so nothing
# downloads a browser build. Idempotent: `apt-get update` runs only when chromium
# is missing, and npm runs only when the pinned version is not already there.
# Uses the ordinary apt-get and npm clients as configured; no host names here.
set -euo pipefail

PLAYWRIGHT_CORE_VERSION="1.65.1"

SHIFTGATE_CACHE="${SHIFTGATE_CACHE:-$HOME/.cache/shiftgate}"
node_dir="$SHIFTGATE_CACHE/node"

log() { printf '[install-browser] %s\n' "$*" >&2; }

as_root() {
  if [[ "$(id -u)" == "0" ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    log "need root (or sudo) to run: $*"
    exit 1
  fi
}

install_chromium() {
  if dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q "install ok installed" \
    && [[ -x /usr/bin/chromium ]]; then
    return 0
  fi
  log "installing Debian's chromium"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    chromium >/dev/null
}

installed_playwright_version() {
  local manifest="$node_dir/node_modules/playwright-core/package.json"
  [[ -f "$manifest" ]] || return 0
  node -e 'process.stdout.write(require(process.argv[1]).version)' "$manifest" 2>/dev/null || true
}

install_playwright_core() {
  command -v npm >/dev/null 2>&1 || { log "npm (Node.js >= 18) is required"; exit 1; }
  if [[ "$(installed_playwright_version)" == "$PLAYWRIGHT_CORE_VERSION" ]]; then
    return 0
  fi
  log "installing playwright-core@$PLAYWRIGHT_CORE_VERSION into $node_dir"
  mkdir -p "$node_dir"
  # playwright-core has no install script and downloads no browser.
  npm install --prefix "$node_dir" --no-audit --no-fund --loglevel=error \
    --save-exact "playwright-core@$PLAYWRIGHT_CORE_VERSION" >/dev/null
}

install_chromium
install_playwright_core
log "ready: $(/usr/bin/chromium --version 2>/dev/null || echo chromium), playwright-core $(installed_playwright_version)"
