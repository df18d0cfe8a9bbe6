package generic

import (
	"encoding/json"
	"strings"
	"testing"

	"legacybridge"
)

func TestMap(t *testing.T) {
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	rec := legacybridge.Record{
		Format: "x12", Type: "997",
		Pos:      legacybridge.Position{File: "fa.edi", Offset: 212, Segment: 3},
		Envelope: map[string]string{"isa06": "SENDER         ", "isa08": "RECEIVER       ", "isa13": "000000002", "gs06": "2", "st02": "0001"},
		Segments: []legacybridge.Segment{
			{Tag: "ST", Elements: []legacybridge.Element{{{"997"}}, {{"0001"}}}},
			{Tag: "AK1", Elements: []legacybridge.Element{{{"PO"}}, {{"1"}}}},
			{Tag: "SE", Elements: []legacybridge.Element{{{"3"}}, {{"0001"}}}},
		},
	}
	if !m.Applies(rec) || m.Applies(legacybridge.Record{Format: "fixedwidth"}) {
		t.Fatal("Applies is wrong")
	}
	evs, err := m.Map(rec)
	if err != nil || len(evs) != 1 {
		t.Fatalf("Map = %v, %v", evs, err)
	}
	ev := evs[0]
	if ev.Type != Type || ev.Subject != "997:SENDER/RECEIVER/000000002/2/0001" || ev.DataSchema != SchemaURI {
		t.Fatalf("event = %+v", ev)
	}
	var d map[string]any
	json.Unmarshal(ev.Data, &d)
	if d["transactionSet"] != "997" || d["segmentCount"].(float64) != 3 || !strings.Contains(string(ev.Data), `"AK1"`) {
		t.Fatalf("data = %s", ev.Data)
	}
	// An envelope-less record breaks the schema (no segments): an error, not an event.
	if _, err := m.Map(legacybridge.Record{Format: "x12", Type: "997"}); err == nil {
		t.Fatal("record without segments mapped")
	}
}
