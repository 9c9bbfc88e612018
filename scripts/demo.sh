#!/usr/bin/env bash
# The README's first command: set up, build, and run the promfleet demo.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
pnpm --silent build
exec node packages/cli/dist/main.js demo "$@"
