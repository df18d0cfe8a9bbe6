package mappings

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// goldenEvent is what a golden file holds per event.
type goldenEvent struct {
	Record     int             `json:"record"` // record index in the file
	Type       string          `json:"type"`
	Subject    string          `json:"subject"`
	Time       string          `json:"time,omitempty"`
	DataSchema string          `json:"dataschema"`
	Data       json.RawMessage `json:"data"`
}

// mapAll maps every record some mapping applies to, checking that each such
// record yields exactly one event, and renders the events as golden JSON.
func mapAll(t *testing.T, recs []legacybridge.Record, ms ...*Mapping) ([]byte, int) {
	t.Helper()
	var out []goldenEvent
	applied := 0
	for _, r := range recs {
		for _, m := range ms {
			if !m.Applies(r) {
				continue
			}
			applied++
			evs, err := m.Map(r)
			if err != nil {
				t.Errorf("record %d (%s %s): %v", r.Pos.Index, r.Format, r.Type, err)
				continue
			}
			if len(evs) != 1 {
				t.Errorf("record %d: got %d events, want 1", r.Pos.Index, len(evs))
			}
			for _, e := range evs {
				g := goldenEvent{Record: r.Pos.Index, Type: e.Type, Subject: e.Subject, DataSchema: e.DataSchema, Data: e.Data}
				if !e.Time.IsZero() {
					g.Time = e.Time.Format(time.RFC3339Nano)
				}
				out = append(out, g)
			}
		}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n'), applied
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s: events differ from golden (-want +got):\n%s", path, diff)
	}
}

// TestGoldenDemo maps the demo drops with the shipped mapping files.
func TestGoldenDemo(t *testing.T) {
	m856 := demoMapping(t, "x12-856-shipment-notice.yaml")
	m850 := demoMapping(t, "x12-850-purchase-order.yaml")
	inv := demoMapping(t, "inventory-movement.yaml")
	layout := filepath.Join(demoDir(), "layouts", "inventory-movement.yaml")

	cases := []struct {
		name    string
		recs    func() []legacybridge.Record
		ms      []*Mapping
		applies int
	}{
		{"demo-asn", func() []legacybridge.Record {
			return readX12(t, filepath.Join(demoDir(), "drops", "x12", "ASN_ACME_20241202_0815.edi"))
		}, []*Mapping{m856, m850}, 2},
		{"demo-po", func() []legacybridge.Record {
			return readX12(t, filepath.Join(demoDir(), "drops", "x12", "PO_NW_4500098901.edi"))
		}, []*Mapping{m856, m850}, 1},
		{"demo-inventory-20240115", func() []legacybridge.Record {
			return readFixed(t, filepath.Join(demoDir(), "drops", "inventory", "INV20240115-001.txt"), layout)
		}, []*Mapping{inv}, 10},
		{"demo-inventory-20240116", func() []legacybridge.Record {
			return readFixed(t, filepath.Join(demoDir(), "drops", "inventory", "INV20240116-001.txt"), layout)
		}, []*Mapping{inv}, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, applied := mapAll(t, c.recs(), c.ms...)
			if c.applies >= 0 && applied != c.applies {
				t.Errorf("%d records mapped, want %d", applied, c.applies)
			}
			checkGolden(t, c.name, got)
		})
	}
}

// TestGoldenCorpus maps every 850 and 856 of the shared corpus files: each
// transaction must give one schema-valid event.
func TestGoldenCorpus(t *testing.T) {
	corpus := filepath.Join(sharedDir(t), "corpus")
	m856 := demoMapping(t, "x12-856-shipment-notice.yaml")
	m850 := demoMapping(t, "x12-850-purchase-order.yaml")
	for _, c := range []struct {
		file     string
		sets     map[string]int // transaction sets expected in the file
		mappings int            // records the mappings apply to
	}{
		{"aaronhuggins__node-x12/test__test-data__856.edi", map[string]int{"856": 1}, 1},
		{"aaronhuggins__node-x12/test__test-data__850_fat.edi", map[string]int{"850": 2}, 2},
		{"aaronhuggins__node-x12/test__test-data__850_2.edi", map[string]int{"850": 1}, 1},
		{"xlate__staedi/src__test__resources__x12__invoice810_po850_dual.edi", map[string]int{"810": 2, "850": 1}, 1},
	} {
		name := strings.TrimSuffix(filepath.Base(c.file), ".edi")
		t.Run(name, func(t *testing.T) {
			recs := readX12(t, filepath.Join(corpus, c.file))
			sets := map[string]int{}
			for _, r := range recs {
				sets[r.Type]++
			}
			if diff := cmp.Diff(c.sets, sets); diff != "" {
				t.Fatalf("transaction sets in the file (-want +got):\n%s", diff)
			}
			got, applied := mapAll(t, recs, m856, m850)
			if applied != c.mappings {
				t.Errorf("%d records mapped, want %d", applied, c.mappings)
			}
			checkGolden(t, "corpus-"+name, got)
		})
	}
}

// TestEventsMatchSchemas re-validates golden event data from its encoded
// bytes, so what consumers receive (not only the in-memory tree) is valid.
func TestEventsMatchSchemas(t *testing.T) {
	reg := testRegistry(t)
	files, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var evs []goldenEvent
		dec := json.NewDecoder(bytes.NewReader(b))
		if err := dec.Decode(&evs); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for i, e := range evs {
			et, ok := reg.Lookup(e.Type)
			if !ok {
				t.Errorf("%s[%d]: unknown type %s", f, i, e.Type)
				continue
			}
			if e.DataSchema != et.SchemaURI {
				t.Errorf("%s[%d]: dataschema %s, want %s", f, i, e.DataSchema, et.SchemaURI)
			}
			if err := et.ValidateJSON(e.Data); err != nil {
				t.Errorf("%s[%d]: %v", f, i, err)
			}
		}
	}
}
