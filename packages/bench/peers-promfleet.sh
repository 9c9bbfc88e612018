#!/usr/bin/env bash
# promfleet as a collector of the shared scrape harness (../shared/bench/peer-scrape.sh --collector custom):
# one `promfleet master` reading the harness's Prometheus config (scrape job + remote_write) and one
# `promfleet worker` connected to it, both children of this script, so the harness's per-session CPU and RSS
# count the two together. packages/bench/src/peers.ts runs it; by hand, from the repository root:
#
#   pnpm build
#   ../shared/bench/peer-scrape.sh --collector custom --name promfleet \
#     --cmd "bash $PWD/packages/bench/peers-promfleet.sh" \
#     --scraped-metric promfleet_worker_samples_scraped_total \
#     --sent-samples-metric promfleet_remote_write_samples_total \
#     --sent-bytes-metric promfleet_remote_write_bytes_total \
#     --payload node --targets 200 --interval 5 --warmup 30 --duration 60
#
# Environment: BENCH_PROM_CONFIG, BENCH_LISTEN_ADDR (the worker's web address: the harness reads its /metrics
# there) and BENCH_RUN_DIR come from the harness. PROMFLEET_BIN (default: this repository's built CLI),
# PEERS_GRPC_PORT / PEERS_MASTER_WEB_PORT (default 18430 / 18431), and PEERS_WORKER_NODE_FLAGS (Node flags for
# the worker alone, split on blanks, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") are optional. So are
# PEERS_REMOTE_WRITE_URL (the remote_write URL instead of the harness's receiver) and PEERS_REMOTE_WRITE_KEYS (YAML
# lines added to the remote_write entry, indented by 4, e.g. "    protobuf_message: io.prometheus.write.v2.Request"):
# with either, the master reads a copy of the harness's config, $BENCH_RUN_DIR/prometheus-variant.yml.
#
# The PIDs go to $BENCH_RUN_DIR/{wrapper,master,worker}.pid, so a driver can read /proc for the worker alone.
# Each child runs in its own process group (set -m): the harness's SIGTERM to this script's group reaches only
# this script, which stops the worker first (its drain talks to the master), then the master, each bounded.
set -euo pipefail
set -m
here="$(cd "$(dirname "$0")" && pwd)"
bin="${PROMFLEET_BIN:-$here/../cli/bin/promfleet.js}"
grpc_port="${PEERS_GRPC_PORT:-18430}"
web_port="${PEERS_MASTER_WEB_PORT:-18431}"
run_dir="${BENCH_RUN_DIR:-.}"

config="$BENCH_PROM_CONFIG"
if [[ -n "${PEERS_REMOTE_WRITE_URL:-}${PEERS_REMOTE_WRITE_KEYS:-}" ]]; then
  # The harness's config ends with its one remote_write entry: `  - url: "..."`.
  config="$run_dir/prometheus-variant.yml"
  sed "s#^  - url: .*#  - url: \"${PEERS_REMOTE_WRITE_URL:-$BENCH_REMOTE_WRITE_URL}\"#" "$BENCH_PROM_CONFIG" > "$config"
  if [[ -n "${PEERS_REMOTE_WRITE_KEYS:-}" ]]; then printf '%s\n' "$PEERS_REMOTE_WRITE_KEYS" >> "$config"; fi
fi

node "$bin" master --config.file="$config" --fleet.grace-period=1s \
  --web.listen-address="127.0.0.1:$web_port" --grpc.listen-address="127.0.0.1:$grpc_port" &
master=$!
# shellcheck disable=SC2086 # the flags are split on purpose
node ${PEERS_WORKER_NODE_FLAGS:-} "$bin" worker --master="127.0.0.1:$grpc_port" --worker.id=bench \
  --web.listen-address="$BENCH_LISTEN_ADDR" --worker.drain-timeout=5s &
worker=$!
echo $$ > "$run_dir/wrapper.pid"
echo "$master" > "$run_dir/master.pid"
echo "$worker" > "$run_dir/worker.pid"

# Sends SIGTERM to $1 and waits up to $2 seconds for it to exit, then SIGKILLs it.
stop_pid() {
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 1 $(($2 * 10))); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$1" 2>/dev/null || true
}

stop_all() {
  trap - TERM INT
  stop_pid "$worker" 20
  stop_pid "$master" 5
  exit 0
}
trap stop_all TERM INT

# Either child ending by itself is a failure the harness must see (it checks that the session stays alive).
wait -n "$master" "$worker" || true
echo "peers-promfleet: a promfleet process exited; stopping the other" >&2
stop_pid "$worker" 20
stop_pid "$master" 5
exit 1
