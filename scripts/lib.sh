# Shared by scripts/test.sh and scripts/validate-infra.sh (sourced, not run).
# Sets the cache locations, puts the pinned tools on PATH, and defines `step`.

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export SHIFTGATE_CACHE="${SHIFTGATE_CACHE:-$HOME/.cache/shiftgate}"
# One target dir outside the clone, shared by cargo, clippy, nextest and sam build
# (cargo-lambda resolves it through `cargo metadata`), so warm runs are incremental.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$SHIFTGATE_CACHE/target}"

# The AWS tools run offline here, and a test run must never reach a real account: a Region,
# dummy credentials (overriding any profile), no instance-metadata lookups, no telemetry.
export SAM_CLI_TELEMETRY=0
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
unset AWS_PROFILE AWS_SESSION_TOKEN
export AWS_EC2_METADATA_DISABLED=true

# Running under CI: CI is `true` or `1`. The Rust tests use the same rule
# (shiftgate_cli::ci::running_under_ci); tests/tests/ci_rule.rs checks that both agree.
is_ci() { [[ "${CI:-}" == "true" || "${CI:-}" == "1" ]]; }

# step NAME CMD...: runs CMD under a heading, prints how long it took, stops the script if it fails.
step() {
  local name="$1" started=$SECONDS
  shift
  printf '\n==> %s\n' "$name"
  if ! "$@"; then
    printf '\n!!! %s failed after %ss\n' "$name" "$((SECONDS - started))" >&2
    exit 1
  fi
  printf '<== %s (%ss)\n' "$name" "$((SECONDS - started))"
}

# Installs the pinned tools (quick when already there) and puts them on PATH from the file
# install-tools.sh writes, $SHIFTGATE_CACHE/env.sh.
install_tools() {
  bash "$repo_root/scripts/install-tools.sh" >/dev/null || return 1
  # shellcheck source=/dev/null
  source "$SHIFTGATE_CACHE/env.sh"
}
