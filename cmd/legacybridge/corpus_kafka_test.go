package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"legacybridge/emitters/kafka"
	"legacybridge/internal/config"
	"legacybridge/internal/kafkabroker"
	"legacybridge/internal/ledger"
)

func sharedDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("LEGACYBRIDGE_SHARED"); d != "" {
		return d
	}
	d := filepath.Join(repoRoot(t), "..", "shared")
	if _, err := os.Stat(filepath.Join(d, "corpus", "MANIFEST.tsv")); err != nil {
		t.Skipf("shared corpus not found (set LEGACYBRIDGE_SHARED): %v", err)
	}
	return d
}

// TestCorpus850And856IntoKafka sends the corpus's real 850 and 856 files
// through the x12 parser, the shipped mappings and the Kafka emitter into an
// in-process broker: one schema-valid event per 850/856 transaction set.
func TestCorpus850And856IntoKafka(t *testing.T) {
	shared := sharedDir(t)
	root := repoRoot(t)
	files := map[string]map[string]int{ // file → event type → count
		"aaronhuggins__node-x12/test__test-data__850_fat.edi":                {"com.legacybridge.purchase.order.v1": 2},
		"aaronhuggins__node-x12/test__test-data__850_2.edi":                  {"com.legacybridge.purchase.order.v1": 1},
		"aaronhuggins__node-x12/test__test-data__856.edi":                    {"com.legacybridge.shipment.notice.v1": 1},
		"xlate__staedi/src__test__resources__x12__invoice810_po850_dual.edi": {"com.legacybridge.purchase.order.v1": 1},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := kafkabroker.Start(ctx, kafkabroker.Config{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	dir := t.TempDir()
	drop := filepath.Join(dir, "drop")
	os.MkdirAll(drop, 0o755)
	want := map[string]int{}
	for f, types := range files {
		data, err := os.ReadFile(filepath.Join(shared, "corpus", f))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(drop, filepath.Base(f))
		os.WriteFile(p, data, 0o644)
		old := time.Now().Add(-time.Hour)
		os.Chtimes(p, old, old)
		for ty, n := range types {
			want[ty] += n
		}
	}
	fc := config.Flow{
		Name: "corpus", Topic: "po-asn", DeadLetterTopic: "po-asn.dlt", Unmapped: "skip",
		Source: config.Source{Local: &config.Local{Dir: drop, Drop: config.Drop{Pattern: "*", PollInterval: config.Duration(10 * time.Millisecond)}}},
		Parser: config.Parser{Format: "x12"},
		Mappings: []string{
			filepath.Join(root, "legacy-fixtures/demo/mappings/x12-856-shipment-notice.yaml"),
			filepath.Join(root, "legacy-fixtures/demo/mappings/x12-850-purchase-order.yaml"),
		},
	}
	led, err := ledger.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	em, err := kafka.NewEmitter(kafka.Config{Brokers: []string{b.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	log, _ := newLogger(os.Stderr, "warn", "text")
	f, closeFS, err := buildFlow(&config.Config{}, fc, em, led, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFS()
	sum, err := f.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Archived != len(files) || sum.Quarantined != 0 || sum.DeadLetters != 0 {
		t.Fatalf("summary %+v: every file must be archived, none quarantined or dead-lettered", sum)
	}
	total := 0
	for _, n := range want {
		total += n
	}
	got := map[string]int{}
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{b.Addr()}, GroupID: "check", Topic: "po-asn", MaxWait: 250 * time.Millisecond, StartOffset: kafkago.FirstOffset})
	defer r.Close()
	for i := 0; i < total; i++ {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("read %d of %d: %v", i, total, err)
		}
		h := map[string]string{}
		for _, x := range m.Headers {
			h[x.Key] = string(x.Value)
		}
		if h["ce_specversion"] != "1.0" || h["ce_id"] == "" || h["ce_subject"] == "" || h["ce_subject"] != string(m.Key) || h["content-type"] != "application/json" {
			t.Errorf("bad CloudEvents headers %v (key %q)", h, m.Key)
		}
		if !json.Valid(m.Value) {
			t.Errorf("value is not JSON: %s", m.Value)
		}
		got[h["ce_type"]]++
	}
	for ty, n := range want {
		if got[ty] != n {
			t.Errorf("%s: %d events, want %d", ty, got[ty], n)
		}
	}
	if sum.Events != total {
		t.Errorf("summary says %d events, want %d", sum.Events, total)
	}
}
