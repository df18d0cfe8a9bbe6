#!/usr/bin/env bash
# .ci/services/kafka.sh start|stop|status
# The project's own standalone dev broker (`legacybridge kafka serve`, franz-go's kfake)
# on 127.0.0.1:$KAFKA_PORT, persistent in $KAFKA_DATA. Used by the end-to-end checks
# (.ci/e2e.sh) with kcat as an independent client; Go tests start kfake in process.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
S=$CI_STATE/kafka; mkdir -p "$S"
KAFKA_PORT=${KAFKA_PORT:-19092}
KAFKA_DATA=${KAFKA_DATA:-$S/data}
BIN=${LEGACYBRIDGE_BIN:-$CI_STATE/bin/legacybridge}

case "${1:-start}" in
start)
  if running "$S/kafka.pid"; then log "broker already running"; exit 0; fi
  port_free "$KAFKA_PORT" || { log "port $KAFKA_PORT busy (not ours)"; exit 1; }
  [[ -x $BIN ]] || go build -o "$BIN" ./cmd/legacybridge
  start_bg "$S/kafka.pid" "$S/kafka.log" "$BIN" kafka serve --listen "127.0.0.1:$KAFKA_PORT" --data-dir "$KAFKA_DATA"
  wait_port 127.0.0.1 "$KAFKA_PORT" 20 || { cat "$S/kafka.log" >&2; exit 1; }
  log "dev broker on 127.0.0.1:$KAFKA_PORT (pid $(cat "$S/kafka.pid"), data $KAFKA_DATA)"
  echo "export KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT" >"$CI_STATE/kafka.env"
  ;;
stop) stop_pidfile "$S/kafka.pid" ;;
status) running "$S/kafka.pid" && echo "kafka up" || echo "kafka down" ;;
*) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
