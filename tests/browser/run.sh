#!/usr/bin/env bash
# The status page in a real browser (called from .ci/run): installs Debian's
# chromium if missing, playwright-core from package-lock.json, builds the binary,
# runs status.test.mjs. Screenshots land in target/ci-artifacts/status.png and
# status-phone.png (under CARGO_TARGET_DIR's parent when that is set elsewhere:
# the path is printed).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

if [ ! -x /usr/bin/chromium ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

cargo build --quiet --bin switchyard
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
bin="${SWITCHYARD_BIN:-$target_dir/debug/switchyard}"
export SWITCHYARD_BIN="$bin"
export ARTIFACTS="${ARTIFACTS:-$root/target/ci-artifacts}"
cd "$here"
node --test --test-reporter=spec status.test.mjs
