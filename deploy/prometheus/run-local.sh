#!/usr/bin/env bash
# Prometheus (127.0.0.1:9090) and Alertmanager (127.0.0.1:9093) with the example configuration and
# talk2me's rules, in the foreground: Ctrl-C stops both. Data is kept in
# $TALK2ME_MONITORING_DATA (default ~/.local/state/talk2me-monitoring).
# Debian: apt-get install prometheus prometheus-alertmanager.
set -euo pipefail
cd "$(dirname "$0")"

alertmanager=$(command -v alertmanager || command -v prometheus-alertmanager || true)
if ! command -v prometheus >/dev/null || [ -z "$alertmanager" ]; then
  echo "run-local.sh needs prometheus and alertmanager (Debian: apt-get install prometheus prometheus-alertmanager)" >&2
  exit 1
fi
data=${TALK2ME_MONITORING_DATA:-${XDG_STATE_HOME:-$HOME/.local/state}/talk2me-monitoring}
mkdir -p "$data"

promtool check config prometheus.yml >/dev/null

# --cluster.listen-address= : one Alertmanager, no gossip port.
"$alertmanager" --config.file=alertmanager.yml --storage.path="$data/alertmanager" \
  --web.listen-address=127.0.0.1:9093 --cluster.listen-address= &
pids=($!)
prometheus --config.file=prometheus.yml --storage.tsdb.path="$data/prometheus" --web.listen-address=127.0.0.1:9090 &
pids+=($!)
trap 'kill "${pids[@]}" 2>/dev/null || true; wait' EXIT INT TERM
echo "Prometheus http://127.0.0.1:9090  Alertmanager http://127.0.0.1:9093" >&2
# Either one ending ends both.
wait -n "${pids[@]}"
