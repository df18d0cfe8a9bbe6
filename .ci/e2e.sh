#!/usr/bin/env bash
# .ci/e2e.sh — end-to-end checks of the built binary against the standalone dev broker,
# read back with kcat (an independent Kafka client). Needs LEGACYBRIDGE_BIN, KAFKA_BROKERS,
# LEGACYBRIDGE_SHARED (the corpus) and CI_STATE; .ci/run sets them.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${LEGACYBRIDGE_BIN:?}" "${KAFKA_BROKERS:?}" "${LEGACYBRIDGE_SHARED:?}"
LB=$LEGACYBRIDGE_BIN
W=$CI_STATE/e2e
rm -rf "$W"; mkdir -p "$W/drop"
fail() { log "E2E FAIL: $*"; exit 1; }

count() { # count TOPIC: records on the topic, read with kcat from the beginning
  kcat -b "$KAFKA_BROKERS" -C -t "$1" -o beginning -e -q -f 'x\n' 2>/dev/null | grep -c x || true; }

# 1. The demo config, pointed at the standalone broker.
cp -r legacy-fixtures/demo "$W/demo"; cp -r legacy-fixtures/outbound "$W/outbound"; cp -r legacy-fixtures/erp "$W/erp"; rm -rf "$W/demo/work"
LEGACYBRIDGE_BROKERS=$KAFKA_BROKERS LEGACYBRIDGE_METRICS= "$LB" run --config "$W/demo/legacybridge.yaml" --once >"$W/demo.out" 2>"$W/demo.log" \
  || { cat "$W/demo.log" >&2; fail "demo run exited non-zero"; }
grep -q "0 quarantined" "$W/demo.out" || fail "demo: $(cat "$W/demo.out")"
n=$(count legacybridge.partner.acme.edi); [[ $n -eq 3 ]] || fail "demo: $n X12 events, want 3 (two 856, one 850)"
n=$(count legacybridge.erp.inventory.movements); [[ $n -gt 0 ]] || fail "demo: no inventory events"
# The demo capture: one movement per material transaction of the seeded SQLite ERP (6 rows in seed.sql).
n=$(kcat -b "$KAFKA_BROKERS" -C -t legacybridge.erp.inventory.movements -o beginning -e -q -f '%h\n' 2>/dev/null | grep -c 'ce_source=urn:legacybridge:cdc:erp-inventory-cdc' || true)
[[ $n -eq 6 ]] || fail "demo: $n change-capture movements, want 6 (one per seeded MTL_MATERIAL_TRANSACTIONS row)"
# The outbound delivery wrote the partner's fixed-width files, byte for byte the golden ones.
diff -r "$W/demo/work/partners/dc07/inbound" legacy-fixtures/outbound/expected >&2 || fail "demo: outbound partner files differ from legacy-fixtures/outbound/expected"
# Every X12 file was acknowledged: two 997 events, and the delivery wrote them back as files.
n=$(kcat -b "$KAFKA_BROKERS" -C -t legacybridge.partner.acks -o beginning -e -q -f '%h\n' 2>/dev/null | grep -c 'ce_type=com.legacybridge.edi.acknowledgement.v1' || true)
[[ $n -eq 2 ]] || fail "demo: $n acknowledgement events, want 2 (one 997 per X12 file)"
acks=("$W"/demo/work/partners/acks/ACK_*.edi)
[[ ${#acks[@]} -eq 2 ]] || fail "demo: ${#acks[@]} acknowledgement files, want 2"
for a in "${acks[@]}"; do grep -q 'ST\*997\*' "$a" && grep -q 'AK9\*A\*' "$a" || fail "demo: $a is not an accepting 997"; done
log "demo: $(cat "$W/demo.out")"

# 2. Every X12 file of the shared corpus in one drop; expectations come from 'legacybridge parse'.
want=0; bad=()
while IFS=$'\t' read -r file _ _ _ _ std _; do
  [[ $std == X12* ]] || continue
  dst="$W/drop/$(basename "$file" | tr ' ' '_')"
  cp "$LEGACYBRIDGE_SHARED/corpus/$file" "$dst"
  if n=$("$LB" parse --format x12 "$dst" 2>/dev/null | wc -l) && "$LB" parse --format x12 "$dst" >/dev/null 2>&1; then
    want=$((want + n))
  else
    bad+=("$(basename "$dst")")
  fi
done < <(tail -n +2 "$LEGACYBRIDGE_SHARED/corpus/MANIFEST.tsv")
files=$(ls "$W/drop" | wc -l)
((files > 10)) || fail "only $files corpus files found"
cat >"$W/lb.yaml" <<CFG
kafka: {brokers: ["$KAFKA_BROKERS"]}
state_dir: $W/state
flows:
  - name: corpus-x12
    source: {local: {dir: $W/drop, poll_interval: 100ms}}
    parser: {format: x12}
    mappings: [$PWD/legacy-fixtures/demo/mappings/x12-856-shipment-notice.yaml, $PWD/legacy-fixtures/demo/mappings/x12-850-purchase-order.yaml]
    topic: e2e.x12
    dead_letter_topic: e2e.x12.dlt
    # The corpus gathers files of unrelated projects, several of which reuse a
    # sender, receiver and ISA13: real re-sends would be skipped, these must not.
    duplicate_interchanges: {action: allow}
CFG
rc=0; "$LB" run --config "$W/lb.yaml" --once >"$W/run1.out" 2>"$W/run1.log" || rc=$?
((${#bad[@]} == 0 || rc == 1)) || fail "run with malformed files exited $rc, want 1"
grep -q "${#bad[@]} quarantined" "$W/run1.out" || fail "summary: $(cat "$W/run1.out"), want ${#bad[@]} quarantined"
for b in "${bad[@]}"; do
  [[ -f $W/drop/error/$b && -f $W/drop/error/$b.error.json ]] || fail "$b not quarantined with a report"
  grep -q '"reason"' "$W/drop/error/$b.error.json" || fail "$b.error.json has no reason"
done
archived=$(find "$W/drop/archive" -type f | wc -l)
((archived == files - ${#bad[@]})) || fail "$archived archived, want $((files - ${#bad[@]}))"
got=$(count e2e.x12)
((got == want)) || fail "$got events in Kafka, want one per transaction set: $want"
kcat -b "$KAFKA_BROKERS" -C -t e2e.x12 -o beginning -e -q -f '%h\n' >"$W/headers.txt"
for h in ce_specversion=1.0 ce_id= ce_source= ce_type=com.legacybridge. ce_time= ce_subject= content-type=application/json; do
  c=$(grep -c "$h" "$W/headers.txt" || true)
  ((c == want)) || fail "header $h on $c of $want events"
done
ids=$(grep -o 'ce_id=[0-9a-f]*' "$W/headers.txt" | sort -u | wc -l)
((ids == want)) || fail "$ids distinct ce_id for $want events"
log "corpus: ${files} files, $want events, ${#bad[@]} quarantined (${bad[*]})"

# 3. A second run emits nothing new.
"$LB" run --config "$W/lb.yaml" --once >"$W/run2.out" 2>"$W/run2.log" || fail "second run exited non-zero: $(cat "$W/run2.out")"
got2=$(count e2e.x12)
((got2 == want)) || fail "second run published $((got2 - want)) more events"

# 4. Identical content dropped again under a new name is skipped.
cp "$(find "$W/drop/archive" -type f | head -1)" "$W/drop/again.edi"
"$LB" run --config "$W/lb.yaml" --once >"$W/run3.out" 2>"$W/run3.log" || fail "re-drop run failed: $(cat "$W/run3.out")"
grep -q "1 duplicate" "$W/run3.out" || fail "re-drop: $(cat "$W/run3.out")"
((got2 == $(count e2e.x12))) || fail "re-dropped content was published again"
log "e2e: all checks passed"
