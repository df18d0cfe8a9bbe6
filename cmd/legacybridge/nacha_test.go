package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"legacybridge/emitters/kafka"
	"legacybridge/internal/config"
	"legacybridge/internal/kafkabroker"
	"legacybridge/internal/ledger"
)

// TestNACHABatchesIntoKafka runs NACHA files through a flow whose parser
// reads documents (parser documents: true) and the shipped batch mapping
// into an in-process broker: one payment.batch.v1 event per batch, file
// headers and controls neither mapped nor dead-lettered.
func TestNACHABatchesIntoKafka(t *testing.T) {
	shared := sharedDir(t)
	root := repoRoot(t)
	files := map[string]int{ // file → batches
		"cases/parsers/inputs/30b_nacha_with_linebreaks.ach":            1,
		"corpus/moov-io__ach/test__ach-ctx-read__ctx-debit.ach":         1,
		"corpus/moov-io__ach/test__testdata__ppd-debit-fixedLength.ach": 1,
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
	total := 0
	for f, n := range files {
		data, err := os.ReadFile(filepath.Join(shared, f))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(drop, filepath.Base(f))
		os.WriteFile(p, data, 0o644)
		old := time.Now().Add(-time.Hour)
		os.Chtimes(p, old, old)
		total += n
	}
	fc := config.Flow{
		Name: "ach", Topic: "payments", DeadLetterTopic: "payments.dlt", Unmapped: "dead-letter",
		Source:   config.Source{Local: &config.Local{Dir: drop, Drop: config.Drop{Pattern: "*", PollInterval: config.Duration(10 * time.Millisecond)}}},
		Parser:   config.Parser{Format: "fixedwidth", Layout: filepath.Join(root, "legacy-fixtures/nacha/nacha.yaml"), Documents: true},
		Mappings: []string{filepath.Join(root, "legacy-fixtures/nacha/mappings/nacha-payment-batch.yaml")},
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
	if sum.Archived != len(files) || sum.Quarantined != 0 || sum.DeadLetters != 0 || sum.Events != total {
		t.Fatalf("summary %+v: want %d files archived, %d events, none quarantined or dead-lettered", sum, len(files), total)
	}
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{b.Addr()}, GroupID: "check", Topic: "payments", MaxWait: 250 * time.Millisecond, StartOffset: kafkago.FirstOffset})
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
		var d struct {
			Entries []struct {
				Amount string `json:"amount"`
			} `json:"entries"`
		}
		if h["ce_type"] != "com.legacybridge.payment.batch.v1" || json.Unmarshal(m.Value, &d) != nil || len(d.Entries) == 0 || d.Entries[0].Amount == "" {
			t.Errorf("event %v: %s", h, m.Value)
		}
	}

	// A layout without documents cannot be read as documents.
	fc.Parser.Layout = filepath.Join(root, "legacy-fixtures/demo/layouts/inventory-movement.yaml")
	if _, _, err := buildFlow(&config.Config{}, fc, em, led, log, nil); err == nil || !strings.Contains(err.Error(), "declares no documents") {
		t.Errorf("documents without a declaration: %v", err)
	}
	fc.Parser = config.Parser{Format: "x12", Documents: true}
	cfg := &config.Config{Flows: []config.Flow{fc}}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "parser.documents is only for fixedwidth") {
		t.Errorf("x12 with documents: %v", err)
	}
}
