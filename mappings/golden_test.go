package mappings

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
	"legacybridge/parsers/x12"
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

// TestCase16Shape maps transactions shaped like the case 16 generator's
// (parsers CASES.md: many small 856s in one interchange) through the real
// parser, record by record.
func TestCase16Shape(t *testing.T) {
	m := demoMapping(t, "x12-856-shipment-notice.yaml")
	var b strings.Builder
	b.WriteString("ISA*00*          *00*          *ZZ*SENDERID       *ZZ*RECEIVERID     *240115*1200*U*00401*000000001*0*P*>~\n")
	b.WriteString("GS*SH*SENDERID*RECEIVERID*20240115*1200*1*X*004010~\n")
	const n = 50
	for i := 1; i <= n; i++ {
		c := fmt.Sprintf("%09d", i)
		fmt.Fprintf(&b, "ST*856*%s~\nBSN*00*SHIP%s*20240115*1200~\nHL*1**S~\nTD1*CTN*1~\nHL*2*1*O~\nPRF*PO%s~\n"+
			"HL*3*2*I~\nLIN**BP*ITEM-A~\nSN1**10*EA~\nCTT*1~\nSE*11*%s~\n", c, c, c, c)
	}
	fmt.Fprintf(&b, "GE*%d*1~\nIEA*1*000000001~\n", n)
	rr := x12.Parser{}.NewReader(strings.NewReader(b.String()), "case16.edi")
	count := 0
	for {
		rec, err := rr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		evs, err := m.Map(rec)
		if err != nil {
			t.Fatal(err)
		}
		count++
		want := fmt.Sprintf(`{"issuedAt":"2024-01-15T12:00:00Z","orders":[{"items":[{"buyerPartNumber":"ITEM-A","quantityShipped":10,"uom":"each"}],"purchaseOrderNumber":"PO%09d"}],"packaging":{"code":"CTN","quantity":1},"purpose":"original","shipmentId":"SHIP%09d","source":{"applicationReceiver":"RECEIVERID","applicationSender":"SENDERID","documentType":"856","file":"case16.edi","groupControlNumber":"1","interchangeControlNumber":"000000001","receiver":{"id":"RECEIVERID","qualifier":"ZZ"},"recordIndex":%d,"sender":{"id":"SENDERID","qualifier":"ZZ"},"standard":"x12","transactionControlNumber":"%09d","version":"004010"}}`, count, count, count-1, count)
		if got := string(evs[0].Data); got != want {
			t.Fatalf("transaction %d:\ngot  %s\nwant %s", count, got, want)
		}
	}
	if count != n {
		t.Errorf("%d events, want %d", count, n)
	}
}
