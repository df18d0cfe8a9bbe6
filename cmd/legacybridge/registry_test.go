package main

import (
	"testing"

	"legacybridge"
	"legacybridge/internal/config"
)

func TestUnmappedDeadLetterSkipsHeadersAndTrailers(t *testing.T) {
	fc := config.Flow{
		Name: "inv", Unmapped: "dead-letter",
		Parser: config.Parser{Format: "fixedwidth", Layout: "../../legacy-fixtures/demo/layouts/inventory-movement.yaml"},
	}
	p, err := newParser(fc.Parser, nil)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := newMappers(fc, p)
	if err != nil || len(ms) != 1 {
		t.Fatalf("newMappers = %v, %v", ms, err)
	}
	d := ms[0].(legacybridge.Skipper)
	if d.Applies(legacybridge.Record{Type: "header"}) || d.Applies(legacybridge.Record{Type: "trailer"}) {
		t.Error("header/trailer records would be dead-lettered")
	}
	if !d.Applies(legacybridge.Record{Type: "movement"}) {
		t.Error("an unmapped movement record would be skipped silently")
	}
}
