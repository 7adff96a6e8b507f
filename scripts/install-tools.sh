#!/usr/bin/env bash
# Installs the tools scripts/test.sh needs into a cache outside the clone, and writes the
# `export` lines that put them on PATH to $SHIFTGATE_CACHE/env.sh (scripts/lib.sh sources
# that file). It also prints them, for a shell of your own:
#
#   bash scripts/install-tools.sh && source ~/.cache/shiftgate/env.sh
#   eval "$(bash scripts/install-tools.sh)"      # the same
#
#   Python tools (sam, cfn-lint, moto, cargo-lambda + zig): $SHIFTGATE_CACHE/venv,
#     pinned in scripts/requirements-tools.txt.
#   asl-validator (npm): $SHIFTGATE_CACHE/node, pinned below.
#
# Idempotent: each install is skipped when its stamp file matches the hash of what is
# pinned, so a warm run costs a few hashes. Uses only the ordinary pip and npm clients
# with whatever registry they are configured for; no host names here.
set -euo pipefail

ASL_VALIDATOR_VERSION="4.0.0"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHIFTGATE_CACHE="${SHIFTGATE_CACHE:-$HOME/.cache/shiftgate}"
venv="$SHIFTGATE_CACHE/venv"
node_dir="$SHIFTGATE_CACHE/node"
requirements="$repo_root/scripts/requirements-tools.txt"

log() { printf '[install-tools] %s\n' "$*" >&2; }

hash_of() { sha256sum | cut -d' ' -f1; }

# python3 may be a pyenv shim that exists but cannot run a given version: probe by running it.
python_bin="${SHIFTGATE_PYTHON:-python3}"
if ! "$python_bin" -c 'import sys; sys.exit(sys.version_info < (3, 9))' >/dev/null 2>&1; then
  log "$python_bin (>= 3.9, with the venv module) is required; set SHIFTGATE_PYTHON to choose one"
  exit 1
fi

install_python_tools() {
  # The stamp covers the pins and the interpreter, so a Python upgrade rebuilds the venv.
  local want have=""
  want="$({ cat "$requirements"; "$python_bin" -c 'import sys; print(sys.version)'; } | hash_of)"
  [[ -f "$venv/.stamp" ]] && have="$(cat "$venv/.stamp")"
  if [[ "$want" == "$have" && -x "$venv/bin/sam" && -x "$venv/bin/cargo-lambda" ]]; then
    return 0
  fi
  log "installing Python tools into $venv"
  if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    rm -rf "$venv"
    "$python_bin" -m venv "$venv"
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    -r "$requirements"
  printf '%s\n' "$want" >"$venv/.stamp"
}

install_node_tools() {
  command -v npm >/dev/null 2>&1 || { log "npm (Node.js >= 18) is required"; exit 1; }
  local want have=""
  want="$(printf 'asl-validator@%s\n' "$ASL_VALIDATOR_VERSION" | hash_of)"
  [[ -f "$node_dir/.stamp" ]] && have="$(cat "$node_dir/.stamp")"
  if [[ "$want" == "$have" && -x "$node_dir/node_modules/.bin/asl-validator" ]]; then
    return 0
  fi
  log "installing asl-validator@$ASL_VALIDATOR_VERSION into $node_dir"
  mkdir -p "$node_dir"
  npm install --prefix "$node_dir" --no-audit --no-fund --loglevel=error \
    --save-exact "asl-validator@$ASL_VALIDATOR_VERSION" >/dev/null
  printf '%s\n' "$want" >"$node_dir/.stamp"
}

install_python_tools
install_node_tools

# cargo-nextest is optional: test.sh falls back to `cargo test` when it is absent.
if ! cargo nextest --version >/dev/null 2>&1; then
  log "cargo-nextest not found; tests will run with cargo test"
fi

# Written to a file that scripts/lib.sh sources (no eval of this script's output), and
# printed for `eval "$(bash scripts/install-tools.sh)"`. Written whole, then renamed, so a
# concurrent reader never sources half a file.
env_file="$SHIFTGATE_CACHE/env.sh"
mkdir -p "$SHIFTGATE_CACHE"
printf '# Written by scripts/install-tools.sh: the pinned tools on PATH.\nexport PATH=%q:%q:"$PATH"\n' \
  "$venv/bin" "$node_dir/node_modules/.bin" >"$env_file.$$"
mv -f "$env_file.$$" "$env_file"
grep '^export ' "$env_file"
