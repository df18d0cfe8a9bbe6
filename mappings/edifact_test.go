package mappings

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
	"legacybridge/parsers/edifact"
)

// readEDIFACT parses an EDIFACT file into records with the real parser;
// records that come with an error are reported.
func readEDIFACT(t testing.TB, path string) []legacybridge.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rr := edifact.Parser{}.NewReader(f, filepath.Base(path))
	var out []legacybridge.Record
	for {
		rec, err := rr.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, rec)
	}
}

func edifactSample(name string) string {
	return filepath.Join(demoDir(), "samples", "edifact", name)
}

// mapOne maps every record of recs with m, which must apply to each, and
// returns the events' data decoded (json.Number for numbers).
func mapEach(t *testing.T, m *Mapping, recs []legacybridge.Record) ([]legacybridge.Event, []map[string]any) {
	t.Helper()
	var evs []legacybridge.Event
	var data []map[string]any
	for _, r := range recs {
		if !m.Applies(r) {
			t.Fatalf("%s does not apply to record %d (%s %s)", m.Name(), r.Pos.Index, r.Format, r.Type)
		}
		got, err := m.Map(r)
		if err != nil {
			t.Fatalf("record %d: %v", r.Pos.Index, err)
		}
		if len(got) != 1 {
			t.Fatalf("record %d: %d events, want 1", r.Pos.Index, len(got))
		}
		if err := m.et.ValidateJSON(got[0].Data); err != nil {
			t.Errorf("record %d: encoded data fails its schema: %v", r.Pos.Index, err)
		}
		dec := json.NewDecoder(strings.NewReader(string(got[0].Data)))
		dec.UseNumber()
		var d map[string]any
		if err := dec.Decode(&d); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, got[0])
		data = append(data, d)
	}
	return evs, data
}

// sourceDiffers are the source keys that say where an event came from, so
// they differ between an X12 and an EDIFACT file with the same content:
// the standard and version, the document type (850 / ORDERS), the
// interchange ids and qualifiers (X12 ISA05 "ZZ", EDIFACT 0007 "ZZZ"), the
// control numbers (ISA13 is 9 digits, UNB 0020 is not padded; group and
// transaction numbers follow the sender's own counters), the application
// ids (GS02/GS03; these EDIFACT samples have no UNG group) and the file
// name. recordIndex is the same here and compared.
var sourceDiffers = []string{"standard", "version", "documentType", "sender", "receiver",
	"applicationSender", "applicationReceiver", "interchangeControlNumber",
	"groupControlNumber", "transactionControlNumber", "file"}

// splitSource removes the keys of source that legitimately differ between
// standards and returns them.
func splitSource(t *testing.T, d map[string]any) map[string]any {
	t.Helper()
	src, ok := d["source"].(map[string]any)
	if !ok {
		t.Fatalf("no source block in %v", d)
	}
	out := map[string]any{}
	for _, k := range sourceDiffers {
		if v, ok := src[k]; ok {
			out[k] = v
			delete(src, k)
		}
	}
	return out
}

// TestEDIFACTOrdersMatchesX12: the demo's X12 850 and an ORDERS with the
// same business content give the same event, field for field, but for the
// source block's envelope-derived keys, which are checked on their own.
func TestEDIFACTOrdersMatchesX12(t *testing.T) {
	x12m := demoMapping(t, "x12-850-purchase-order.yaml")
	edim := demoMapping(t, "edifact-orders-purchase-order.yaml")
	xevs, xdata := mapEach(t, x12m, readX12(t, filepath.Join(demoDir(), "drops", "x12", "PO_NW_4500098901.edi")))
	eevs, edata := mapEach(t, edim, readEDIFACT(t, edifactSample("ORDERS_NW_4500098901.edi")))
	if len(xdata) != 1 || len(edata) != 1 {
		t.Fatalf("%d X12 events, %d EDIFACT events, want 1 each", len(xdata), len(edata))
	}
	compareEvents(t, xevs[0], eevs[0], xdata[0], edata[0], map[string]any{
		"standard": "edifact", "version": "D:96A:UN", "documentType": "ORDERS",
		"sender":                   map[string]any{"id": "NORTHWIND", "qualifier": "ZZZ"},
		"receiver":                 map[string]any{"id": "ACMEPARTS", "qualifier": "ZZZ"},
		"interchangeControlNumber": "7731", "transactionControlNumber": "1",
		"file": "ORDERS_NW_4500098901.edi",
	}, nil)
}

// TestGoldenEDIFACT maps the EDIFACT samples (and the shared corpus ORDERS
// that parse cleanly) and compares the events with golden files.
func TestGoldenEDIFACT(t *testing.T) {
	orders := demoMapping(t, "edifact-orders-purchase-order.yaml")
	for _, c := range []struct {
		name, path string
		applies    int
	}{
		{"edifact-orders", edifactSample("ORDERS_NW_4500098901.edi"), 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, applied := mapAll(t, readEDIFACT(t, c.path), orders)
			if applied != c.applies {
				t.Errorf("%d records mapped, want %d", applied, c.applies)
			}
			checkGolden(t, c.name, got)
		})
	}
}

// compareEvents compares two events of the same content from X12 and
// EDIFACT: type, subject, time, dataschema and data equal but for the
// source keys of sourceDiffers (the EDIFACT ones must equal wantSource)
// and the data keys listed in skip (paths into the data, each justified
// where it is given).
func compareEvents(t *testing.T, xev, eev legacybridge.Event, x, e map[string]any, wantSource map[string]any, skip []string) {
	t.Helper()
	if xev.Type != eev.Type || xev.Subject != eev.Subject || !xev.Time.Equal(eev.Time) || xev.DataSchema != eev.DataSchema {
		t.Errorf("event attributes differ: X12 %s %s %s %s, EDIFACT %s %s %s %s",
			xev.Type, xev.Subject, xev.Time, xev.DataSchema, eev.Type, eev.Subject, eev.Time, eev.DataSchema)
	}
	splitSource(t, x)
	if diff := cmp.Diff(wantSource, splitSource(t, e)); diff != "" {
		t.Errorf("EDIFACT source keys (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(x, e, cmp.FilterPath(func(p cmp.Path) bool {
		return skipped(p, skip)
	}, cmp.Ignore())); diff != "" {
		t.Errorf("event data differs (-X12 +EDIFACT):\n%s", diff)
	}
}

// skipped reports whether a cmp path (map keys and slice indices) is one
// of skip, written like "carrier.routing" or "orders.items.lot" (indices
// left out).
func skipped(p cmp.Path, skip []string) bool {
	var keys []string
	for _, s := range p {
		if mi, ok := s.(cmp.MapIndex); ok {
			keys = append(keys, mi.Key().String())
		}
	}
	k := strings.Join(keys, ".")
	for _, s := range skip {
		if k == s {
			return true
		}
	}
	return false
}

var _ = errors.New
