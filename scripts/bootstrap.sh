# Sourced by scripts/demo.sh and scripts/test.sh: installs what the project needs, idempotently, on a fresh
# Debian machine with Node 20+ and npm (as root, as CI runs). Safe to run again: every step checks first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PNPM_VERSION=10.34.9
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  echo "bootstrap: installing pnpm $PNPM_VERSION" >&2
  npm install --global --no-fund --no-audit "pnpm@$PNPM_VERSION" >/dev/null
fi

# Debian packages the tests and the demo use, each installed only when missing (the packages' services are never
# started by us): `prometheus` gives promtool, which checks our self-metrics, and the Prometheus that e2e and the
# demo remote-write to; `prometheus-node-exporter` is their real scrape target; `kubernetes-client` gives kubectl,
# whose `kubectl kustomize` renders deploy/ for e2e (only when no kubectl is installed: Debian's is 1.20, whose
# kustomize v2.0.3 ignores the `$patch: delete` of deploy/examples/without-cert-manager, so that one test fails).
apt_install() {
  local package=$1 why=$2 command missing=0
  shift 2
  for command in "$@"; do command -v "$command" >/dev/null 2>&1 || missing=1; done
  [ "$missing" -eq 1 ] || return 0
  echo "bootstrap: installing Debian package $package ($why)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "$package" >/dev/null 2>&1 \
    || { apt-get update >/dev/null && apt-get install -y --no-install-recommends "$package" >/dev/null; }
}
apt_install prometheus "promtool, and the receiver of e2e and the demo" promtool prometheus
apt_install prometheus-node-exporter "a real scrape target for e2e and the demo" prometheus-node-exporter
apt_install kubernetes-client "kubectl, which renders deploy/ for e2e" kubectl

# The lockfile is the source of truth; this is a no-op when node_modules already matches it.
pnpm install --frozen-lockfile --reporter=silent
