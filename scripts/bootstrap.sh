# Sourced by scripts/demo.sh and scripts/test.sh: installs what the project needs, idempotently, on a fresh
# Debian machine with Node 20+ and npm (as root, as CI runs). Safe to run again: every step checks first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PNPM_VERSION=10.34.9
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  echo "bootstrap: installing pnpm $PNPM_VERSION" >&2
  npm install --global --no-fund --no-audit "pnpm@$PNPM_VERSION" >/dev/null
fi

# Debian packages the tests use: promtool (from `prometheus`) checks our self-metrics. Installed only when
# missing; the package's service is never started by us.
if ! command -v promtool >/dev/null 2>&1; then
  echo "bootstrap: installing Debian package prometheus (for promtool)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends prometheus >/dev/null 2>&1 \
    || { apt-get update >/dev/null && apt-get install -y --no-install-recommends prometheus >/dev/null; }
fi

# The lockfile is the source of truth; this is a no-op when node_modules already matches it.
pnpm install --frozen-lockfile --reporter=silent
