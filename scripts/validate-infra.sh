#!/usr/bin/env bash
# Infrastructure checks: template lint, SAM validation, state-machine definitions, and a
# `sam build` of every function. Run by scripts/test.sh; also runs on its own.
#
#   SHIFTGATE_SKIP_SAM_BUILD=1   skip `sam build` locally (ignored when CI=true)
#   SHIFTGATE_SAM_BUILD_MODE     release (default) or debug
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo_root"

asl_tmp="$(mktemp -d)"
trap 'rm -rf "$asl_tmp"' EXIT

validate_state_machines() {
  local def found=0
  for def in state-machines/*.asl.json; do
    [[ -e "$def" ]] || continue
    found=1
    # asl-validator accepts a Resource that is exactly one "${Name}" placeholder, but does not
    # look inside it. Validating a copy with each placeholder replaced by a Lambda ARN of the
    # right shape also runs its ARN checks (Resource, FunctionName). The copy lives in a temp dir.
    asl-validator --json-path "$def" || return 1
    "$python" - "$def" "$asl_tmp/$(basename "$def")" <<'PY' || return 1
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
def arn(match):
    name = re.sub(r"Arn$", "", match.group(1))
    return f"arn:aws:lambda:us-east-1:123456789012:function:shiftgate-{name}"
open(sys.argv[2], "w", encoding="utf-8").write(re.sub(r"\$\{([A-Za-z0-9]+)\}", arn, text))
PY
    asl-validator --json-path "$asl_tmp/$(basename "$def")" || return 1
  done
  [[ $found == 1 ]] || { echo "no state-machines/*.asl.json found" >&2; return 1; }
}

sam_build() {
  local mode="${SHIFTGATE_SAM_BUILD_MODE:-release}"
  # x86_64: the only Rust target on CI machines; the deployed default (arm64) needs
  # aarch64-unknown-linux-gnu. Builds in place (rust-cargolambda never copies the source)
  # into $CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/<profile>; artifacts go to .aws-sam/.
  # `sam build` accepts only SAM_BUILD_MODE=debug; unset means release (`cargo lambda build --release`).
  case "$mode" in
    release) env -u SAM_BUILD_MODE sam build --beta-features --parameter-overrides Architecture=x86_64 ;;
    debug) SAM_BUILD_MODE=debug sam build --beta-features --parameter-overrides Architecture=x86_64 ;;
    *) echo "SHIFTGATE_SAM_BUILD_MODE must be release or debug, not $mode" >&2; return 1 ;;
  esac
}

python="$SHIFTGATE_CACHE/venv/bin/python"

step "install tools" install_tools
step "cfn-lint template.yaml" cfn-lint template.yaml
step "sam validate --lint" sam validate --lint
step "asl-validator state-machines/" validate_state_machines
if [[ "${SHIFTGATE_SKIP_SAM_BUILD:-}" == "1" ]] && ! is_ci; then
  printf '\n==> sam build: skipped (SHIFTGATE_SKIP_SAM_BUILD=1)\n'
else
  step "sam build (${SHIFTGATE_SAM_BUILD_MODE:-release}, x86_64)" sam_build
fi
