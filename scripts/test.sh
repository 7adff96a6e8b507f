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

# The counts of every Rust test run, for the closing line.
test_counts="$(mktemp)"
trap 'rm -f "$test_counts"' EXIT

rust_tests() {
  local output
  output="$(mktemp)"
  if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --no-tests=fail 2>&1 | tee "$output" || return 1
    # "Summary [ 87.5s] 215 tests run: 215 passed (1 slow), 0 skipped"
    sed -nE 's/.*Summary .* tests run: ([0-9]+) passed.*/\1/p' "$output" >>"$test_counts"
    # nextest does not run doctests.
    cargo test --workspace --doc 2>&1 | tee "$output" || return 1
  else
    echo "cargo-nextest not installed: using cargo test"
    cargo test --workspace 2>&1 | tee "$output" || return 1
  fi
  # libtest: "test result: ok. 12 passed; 0 failed; ..."
  sed -nE 's/^test result: ok\. ([0-9]+) passed.*/\1/p' "$output" >>"$test_counts"
  rm -f "$output"
}

# The README's main command, as a user runs it: a whole local deployment must succeed.
quick_start() {
  local dir summary
  dir="$(mktemp -d)"
  summary="$(cargo run -q -p shiftgate-cli -- local run --json --state-dir "$dir" | tail -n 1)" || { rm -rf "$dir"; return 1; }
  rm -rf "$dir"
  echo "$summary"
  [[ "$summary" == *'"status":"Succeeded"'* ]]
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
step "quick start: shiftgate local run" quick_start
step "infrastructure (scripts/validate-infra.sh)" bash scripts/validate-infra.sh

printf '\nAll checks passed in %ss.\n' "$((SECONDS - started))"
# One plain closing line with the number of tests run (every step above stops on a failure).
printf 'tests: %s passed, 0 failed\n' "$(awk '{ total += $1 } END { print total + 0 }' "$test_counts")"
