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
#   SHIFTGATE_INSTALL_BROWSER    the approval page's browser test needs Debian's chromium
#                                (apt-get, as root or with sudo) and playwright-core (npm),
#                                installed by scripts/install-browser.sh:
#                                  1     install them; a failed install fails the suite
#                                  0     never install them
#                                  unset install them when that can be done here (chromium
#                                        already there, or apt-get plus root or sudo)
#                                Under CI (CI=true or CI=1) they are always installed and the
#                                browser test must run. Elsewhere, without them, the browser
#                                test is skipped and this script says so, and why.
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

# What the browser test (cli/tests/approval_browser.rs) would find missing, comma-separated;
# empty when it can run. The same three checks the test makes.
browser_missing() {
  local missing=()
  [[ -x /usr/bin/chromium ]] || missing+=("/usr/bin/chromium (Debian's chromium)")
  command -v node >/dev/null 2>&1 || missing+=("node")
  [[ -f "$SHIFTGATE_CACHE/node/node_modules/playwright-core/package.json" ]] \
    || missing+=("playwright-core in $SHIFTGATE_CACHE/node")
  local IFS=,
  printf '%s' "${missing[*]}" | sed 's/,/, /g'
}

# Whether scripts/install-browser.sh can do its work here without asking anyone.
can_install_browser() {
  [[ -x /usr/bin/chromium ]] && return 0
  command -v apt-get >/dev/null 2>&1 || return 1
  [[ "$(id -u)" == "0" ]] || sudo -n true >/dev/null 2>&1
}

# Set by install_browser, printed again before the closing line: why the browser test skips.
browser_skip_note=""

install_browser() {
  local why
  if is_ci || [[ "${SHIFTGATE_INSTALL_BROWSER:-}" == "1" ]]; then
    bash scripts/install-browser.sh || return 1
  elif [[ "${SHIFTGATE_INSTALL_BROWSER:-}" == "0" ]]; then
    echo "not installing the browser: SHIFTGATE_INSTALL_BROWSER=0"
  elif can_install_browser; then
    bash scripts/install-browser.sh \
      || echo "!!! scripts/install-browser.sh failed; carrying on without the browser"
  else
    echo "not installing the browser: that needs apt-get and root (or sudo);" \
      "SHIFTGATE_INSTALL_BROWSER=1 insists"
  fi
  why="$(browser_missing)"
  [[ -z "$why" ]] && return 0
  if is_ci; then
    # Under CI the browser test must run: a missing browser is a failure, here and in the test.
    echo "!!! the approval page browser test cannot run under CI: missing $why" >&2
    return 1
  fi
  browser_skip_note="SKIPPED: the approval page browser test (cli/tests/approval_browser.rs): missing $why; install it with bash scripts/install-browser.sh (or SHIFTGATE_INSTALL_BROWSER=1)"
  printf '\n!!! %s\n' "$browser_skip_note"
}

install_all_tools() {
  install_tools || return 1
  install_browser
}

step "install tools" install_all_tools
step "cargo fmt --check" cargo fmt --all -- --check
step "cargo clippy" cargo clippy --workspace --all-targets -- -D warnings
step "rust tests" rust_tests
step "quick start: shiftgate local run" quick_start
step "infrastructure (scripts/validate-infra.sh)" bash scripts/validate-infra.sh

printf '\nAll checks passed in %ss.\n' "$((SECONDS - started))"
if [[ -n "$browser_skip_note" ]]; then
  printf '!!! %s\n' "$browser_skip_note"
fi
# One plain closing line with the number of tests run (every step above stops on a failure).
printf 'tests: %s passed, 0 failed\n' "$(awk '{ total += $1 } END { print total + 0 }' "$test_counts")"
