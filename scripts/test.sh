#!/usr/bin/env bash
# The whole test suite, as CI runs it: bash scripts/test.sh
#
# Installs the pinned tools into $SHIFTGATE_CACHE (default ~/.cache/shiftgate; quick when
# already there), then: rustfmt, clippy, the Rust tests, and the infrastructure checks of
# scripts/validate-infra.sh (cfn-lint, sam validate, asl-validator, sam build). Stops at the
# first failing step. Cargo builds into $CARGO_TARGET_DIR (default $SHIFTGATE_CACHE/target).
#
#   SHIFTGATE_SKIP_SAM_BUILD=1   skip `sam build` locally (ignored when CI=true)
#   SHIFTGATE_SAM_BUILD_MODE     release (default) or debug
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo_root"

started=$SECONDS

rust_tests() {
  if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --no-tests=warn || return 1
    # nextest does not run doctests.
    cargo test --workspace --doc
  else
    echo "cargo-nextest not installed: using cargo test"
    cargo test --workspace
  fi
}

install_all_tools() {
  install_tools || return 1
  # Chromium and playwright-core for the approval page's browser test (cli/tests).
  if [[ -f scripts/install-browser.sh ]]; then
    bash scripts/install-browser.sh
  fi
}

step "install tools" install_all_tools
step "cargo fmt --check" cargo fmt --all -- --check
step "cargo clippy" cargo clippy --workspace --all-targets -- -D warnings
step "rust tests" rust_tests
step "infrastructure (scripts/validate-infra.sh)" bash scripts/validate-infra.sh

printf '\nAll checks passed in %ss.\n' "$((SECONDS - started))"
