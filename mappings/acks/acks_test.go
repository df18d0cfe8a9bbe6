package acks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"legacybridge"
	"legacybridge/mappings/acks"
	"legacybridge/parsers/edifact"
	"legacybridge/parsers/x12"
)

func records(t *testing.T, p legacybridge.Parser, doc string) []legacybridge.Record {
	t.Helper()
	rr := p.NewReader(strings.NewReader(doc), "ack.edi")
	var out []legacybridge.Record
	for {
		rec, err := rr.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		out = append(out, rec)
	}
}

func mapOne(t *testing.T, m *acks.Mapper, rec legacybridge.Record) acks.Received {
	t.Helper()
	if !m.Applies(rec) {
		t.Fatalf("mapper does not apply to %s %s", rec.Format, rec.Type)
	}
	evs, err := m.Map(rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Type != legacybridge.AckReceivedEventType {
		t.Fatalf("events: %+v", evs)
	}
	var d acks.Received
	if err := json.Unmarshal(evs[0].Data, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func counter(_, _ legacybridge.Party, key string) (x12.ControlNumbers, error) {
	return &x12.Counter{}, nil
}

func refs(_, _ legacybridge.Party, key string) (edifact.ControlRefs, error) {
	return &edifact.Counter{}, nil
}

// badX12 holds two 850s from ACME to NORTHWIND; the second's SE01 is wrong.
const badX12 = "ISA*00*          *00*          *ZZ*ACME           *ZZ*NORTHWIND      *241202*0815*U*00401*000000042*0*P*>~" +
	"GS*PO*ACME*NORTHWIND*20241202*0815*42*X*004010~" +
	"ST*850*0001~BEG*00*SA*PO1**20241202~SE*3*0001~" +
	"ST*850*0002~BEG*00*SA*PO2**20241202~SE*9*0002~" +
	"GE*2*42~IEA*1*000000042~"

// TestRoundTripX12: the 997 our side writes for a partly bad interchange,
// read back by the partner's side, says which set was rejected and why;
// the event we send validates against its schema.
func TestRoundTripX12(t *testing.T) {
	for _, kind := range []string{"997", "999"} {
		fa := &x12.FlowAcks{Controls: counter, Default: x12.AckProfile{Type: kind}}
		rep, err := fa.Acknowledge(context.Background(), strings.NewReader(badX12), legacybridge.AckRequest{Name: "PO.edi", Key: "k", At: time.Date(2024, 12, 2, 9, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Documents) != 1 || rep.Accepted != 1 || len(rep.Rejected) != 1 {
			t.Fatalf("%s: report %+v", kind, rep)
		}
		checkSent(t, rep.Documents[0])
		m, err := acks.New()
		if err != nil {
			t.Fatal(err)
		}
		recs := records(t, x12.Parser{}, string(rep.Documents[0].Content))
		if len(recs) != 1 {
			t.Fatalf("%d records in the %s", len(recs), kind)
		}
		d := mapOne(t, m, recs[0])
		if d.Type != kind || d.Partner.ID != "NORTHWIND" || d.Acknowledges.GroupControlNumber != "42" || d.Acknowledges.FunctionalID != "PO" ||
			d.Status != "partially_accepted" {
			t.Fatalf("%s: %+v", kind, d)
		}
		sets := d.Groups[0].Sets
		if len(sets) != 2 || sets[0].Status != "accepted" || sets[1].Status != "rejected" || sets[1].ControlNumber != "0002" ||
			strings.Join(sets[1].Codes, ",") != "4" {
			t.Fatalf("%s: sets %+v", kind, sets)
		}
	}
}

// TestRoundTripCONTRL: likewise for EDIFACT.
func TestRoundTripCONTRL(t *testing.T) {
	in := "UNB+UNOC:3+SENDER:14+US:14+241202:0815+IC77'" +
		"UNH+1+ORDERS:D:96A:UN'BGM+220+PO1+9'UNT+3+1'" +
		"UNH+2+ORDERS:D:96A:UN'BGM+220+PO2+9'UNT+7+2'" +
		"UNZ+2+IC77'"
	fa := &edifact.FlowAcks{Controls: refs}
	rep, err := fa.Acknowledge(context.Background(), strings.NewReader(in), legacybridge.AckRequest{Name: "ORDERS.edi", Key: "k", At: time.Date(2024, 12, 2, 9, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Documents) != 1 || rep.Accepted != 1 {
		t.Fatalf("report %+v", rep)
	}
	checkSent(t, rep.Documents[0])
	m, _ := acks.New()
	recs := records(t, edifact.Parser{}, string(rep.Documents[0].Content))
	d := mapOne(t, m, recs[0])
	if d.Type != "CONTRL" || d.Partner.ID != "US" || d.Acknowledges.InterchangeControl != "IC77" || d.Acknowledges.Sender != "SENDER" ||
		d.Status != "partially_accepted" {
		t.Fatalf("%+v", d)
	}
	sets := d.Groups[0].Sets
	if len(sets) != 2 || sets[0].Status != "accepted" || sets[1].Status != "rejected" || strings.Join(sets[1].Codes, ",") != "29" {
		t.Fatalf("sets %+v", sets)
	}
}

// checkSent validates the event legacybridge sends for doc against the
// sent schema.
func checkSent(t *testing.T, doc legacybridge.AckDocument) {
	t.Helper()
	ev, err := legacybridge.AckEvent(doc, "PO.edi", strings.Repeat("ab", 32), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s, err := acks.Compile(acks.SentSchemaURI)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(ev.Data))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(v); err != nil {
		t.Fatalf("sent acknowledgement fails its schema: %v\n%s", err, ev.Data)
	}
	if ev.DataSchema != acks.SentSchemaURI {
		t.Errorf("dataschema %q", ev.DataSchema)
	}
}

// TestDamagedAckIsAnError: a 997 without AK9 is not taken for an
// acceptance.
func TestDamagedAckIsAnError(t *testing.T) {
	doc := "ISA*00*          *00*          *ZZ*NORTHWIND      *ZZ*ACME           *241202*0815*U*00401*000000001*0*P*>~" +
		"GS*FA*NORTHWIND*ACME*20241202*0815*1*X*004010~ST*997*0001~AK1*PO*42~AK2*850*0001~AK5*A~SE*5*0001~GE*1*1~IEA*1*000000001~"
	m, _ := acks.New()
	recs := records(t, x12.Parser{}, doc)
	if _, err := m.Map(recs[0]); err == nil || !strings.Contains(err.Error(), "AK9") {
		t.Fatalf("err = %v, want one naming the missing AK9", err)
	}
}

// TestCorpusAcks: every 997/999 of the shared corpus that is whole maps to
// an event; the corpus's invalid ones fail with a reason, not an event.
func TestCorpusAcks(t *testing.T) {
	dir := os.Getenv("LEGACYBRIDGE_SHARED")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared")
	}
	corpus := filepath.Join(dir, "corpus")
	if _, err := os.Stat(corpus); err != nil {
		t.Skip("shared corpus not found: set LEGACYBRIDGE_SHARED")
	}
	m, _ := acks.New()
	want := map[string]int{ // file → acknowledgement events
		"xlate__staedi/src__test__resources__x12__simple999.edi":                       1,
		"xlate__staedi/src__test__resources__x12__simple997-multiple-interchanges.edi": 3,
		"azoner__pyx12/pyx12__tests__834_lui_id_5010.999.txt":                          4,
	}
	for name, n := range want {
		b, err := os.ReadFile(filepath.Join(corpus, name))
		if err != nil {
			t.Fatal(err)
		}
		rr := x12.Parser{}.NewReader(bytes.NewReader(b), name)
		got := 0
		for {
			rec, err := rr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !m.Applies(rec) {
				continue
			}
			evs, err := m.Map(rec)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			got += len(evs)
		}
		if got != n {
			t.Errorf("%s: %d acknowledgement events, want %d", name, got, n)
		}
	}
}

// TestTA1: a partner's TA1 becomes a received acknowledgement of our
// interchange.
func TestTA1(t *testing.T) {
	doc := "ISA*00*          *00*          *ZZ*ACME           *ZZ*NORTHWIND      *241202*0815*U*00401*000000061*0*P*>~" +
		"TA1*000000048*241201*0900*R*022~IEA*0*000000061~"
	m, _ := acks.New()
	recs := records(t, x12.Parser{}, doc)
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	d := mapOne(t, m, recs[0])
	if d.Type != "TA1" || d.Partner.ID != "ACME" || d.Acknowledges.InterchangeControl != "000000048" || d.Status != "rejected" || d.Note != "022" {
		t.Fatalf("%+v", d)
	}
}
