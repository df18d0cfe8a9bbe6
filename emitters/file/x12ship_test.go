package file_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"legacybridge"
	"legacybridge/emitters/file"
	"legacybridge/internal/ledger"
	"legacybridge/mappings"
	"legacybridge/parsers/x12"
)

// ledgerControls is how cmd/legacybridge hands the ledger to the encoder.
type ledgerControls struct {
	l       *ledger.Ledger
	partner string
}

func (c ledgerControls) ControlNumbers(key string) x12.ControlNumbers {
	return c.l.Controls(c.partner, key).X12()
}

func openLedger(t testing.TB) *ledger.Ledger {
	t.Helper()
	l, err := ledger.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

var dc07 = file.X12Profile{SenderQualifier: "01", SenderID: "012345678", ReceiverQualifier: "ZZ", ReceiverID: "DC07WMS",
	AppSender: "NORTHWIND", AppReceiver: "DC07", Usage: "T", Suffix: "\n", AckRequested: true, StructureCode: "0001"}

func shipEncoder(t testing.TB, p file.X12Profile, c file.X12Controls) *file.X12ShipNotice {
	t.Helper()
	enc, err := file.NewX12ShipNotice(p, c)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

func encode(t testing.TB, enc file.Encoder, ev legacybridge.Event) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := enc.Encode(&b, ev); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// readBack parses an interchange with parsers/x12 and maps its sets with
// the demo 856 mapping.
func readBack(t testing.TB, m *mappings.Mapping, edi []byte) ([]legacybridge.Record, []legacybridge.Event) {
	t.Helper()
	rr := x12.Parser{}.NewReader(bytes.NewReader(edi), "out.edi")
	var recs []legacybridge.Record
	var evs []legacybridge.Event
	for {
		rec, err := rr.Read()
		if err == io.EOF {
			return recs, evs
		}
		if err != nil {
			t.Fatalf("the encoded 856 does not parse: %v\n%s", err, edi)
		}
		got, err := m.Map(rec)
		if err != nil {
			t.Fatalf("the encoded 856 does not map: %v\n%s", err, edi)
		}
		recs = append(recs, rec)
		evs = append(evs, got...)
	}
}

// canonical is event data without what the 856 does not carry back: the
// source block (the inbound envelope; the 856 has the partner's).
func canonical(t testing.TB, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	delete(m, "source")
	return m
}

// roundTrip encodes ev, reads the 856 back and compares the data.
func roundTrip(t *testing.T, enc file.Encoder, m *mappings.Mapping, ev legacybridge.Event) []byte {
	t.Helper()
	edi := encode(t, enc, ev)
	_, back := readBack(t, m, edi)
	if len(back) != 1 {
		t.Fatalf("%d events read back, want 1", len(back))
	}
	if diff := cmp.Diff(canonical(t, ev.Data), canonical(t, back[0].Data)); diff != "" {
		t.Fatalf("data read back differs (-sent +read back):\n%s\n856:\n%s", diff, edi)
	}
	if !back[0].Time.Equal(ev.Time) || back[0].Subject != ev.Subject || back[0].Type != ev.Type {
		t.Errorf("read back time %v subject %q type %q, want %v %q %q", back[0].Time, back[0].Subject, back[0].Type, ev.Time, ev.Subject, ev.Type)
	}
	return edi
}

// TestX12ShipNoticeDemo: the demo ASN's shipment notice events, encoded
// for DC07, are the golden 856s byte for byte, and parsing and mapping
// them with the demo 856 mapping gives the events' data back.
func TestX12ShipNoticeDemo(t *testing.T) {
	enc := shipEncoder(t, dc07, ledgerControls{openLedger(t), ledger.X12Partner("01", "012345678", "ZZ", "DC07WMS")})
	m, err := mappings.Load(demoMap)
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range asnEvents(t) {
		edi := roundTrip(t, enc, m, ev)
		golden := filepath.Join("testdata", "x12-856", fmt.Sprintf("demo-%d.edi", i+1))
		if *update {
			os.MkdirAll(filepath.Dir(golden), 0o755)
			if err := os.WriteFile(golden, edi, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), string(edi)); diff != "" {
			t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", golden, diff)
		}
	}
}

// TestX12ShipNoticeStructures: every standard 856 hierarchy of
// mappings/testdata/x12 (S-I, S-O-I, S-O-P-I, S-O-T-P-I, S-T-P-I, and
// pallets of cartons with loose cartons) read
// with the demo mapping, encoded again and read back gives the same data:
// orders, tares, packs, items, marks, packaging and weights survive.
func TestX12ShipNoticeStructures(t *testing.T) {
	m, err := mappings.Load(demoMap)
	if err != nil {
		t.Fatal(err)
	}
	enc := shipEncoder(t, file.X12Profile{SenderID: "NORTHWIND", ReceiverID: "DC07"}, ledgerControls{openLedger(t), "p"})
	paths, _ := filepath.Glob("../../mappings/testdata/x12/856-*.edi")
	if len(paths) < 5 {
		t.Fatalf("%d structure files, want at least the 5 standard hierarchies", len(paths))
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			_, evs := readBack(t, m, data)
			if len(evs) != 1 {
				t.Fatalf("%d events, want 1", len(evs))
			}
			ev := evs[0]
			ev.ID, ev.Source = filepath.Base(p), "urn:test"
			edi := roundTrip(t, enc, m, ev)
			// The hierarchy is the one sent: the same HL levels in order.
			if got, want := hlLevels(t, edi), hlLevels(t, data); got != want {
				t.Errorf("HL levels %s, want %s as in %s", got, want, p)
			}
		})
	}
}

// hlLevels is the HL hierarchy of edi as a canonical tree: each level code
// followed by its children in brackets, children sorted, so the same
// hierarchy written with siblings in another order compares equal.
func hlLevels(t *testing.T, edi []byte) string {
	d := x12.NewDecoder(bytes.NewReader(edi))
	code := map[string]string{}
	kids := map[string][]string{}
	var roots []string
	for {
		tx, err := d.Decode()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range tx.Segments {
			if s.Tag != "HL" {
				continue
			}
			id, parent := s.Element(1).Value(), s.Element(2).Value()
			code[id] = s.Element(3).Value()
			if parent == "" {
				roots = append(roots, id)
			} else {
				kids[parent] = append(kids[parent], id)
			}
		}
	}
	var tree func(id string) string
	tree = func(id string) string {
		var cs []string
		for _, k := range kids[id] {
			cs = append(cs, tree(k))
		}
		sort.Strings(cs)
		if len(cs) == 0 {
			return code[id]
		}
		return code[id] + "[" + strings.Join(cs, ",") + "]"
	}
	var out []string
	for _, r := range roots {
		out = append(out, tree(r))
	}
	return strings.Join(out, ";")
}

// TestX12ShipNoticeEnvelope: the envelope is the partner profile's, the
// control numbers come from the ledger (ISA13 up by one per event, the
// same again for a redelivered event), counts are right, and the X12
// decoder reads the interchange without a warning.
func TestX12ShipNoticeEnvelope(t *testing.T) {
	l := openLedger(t)
	partner := ledger.X12Partner("01", "012345678", "ZZ", "DC07WMS")
	if err := l.SetStart(partner, ledger.X12Interchange, 48214); err != nil {
		t.Fatal(err)
	}
	p := dc07
	p.Delimiters = x12.Delimiters{Element: "|", Component: ":", Segment: "\x85"}
	enc := shipEncoder(t, p, ledgerControls{l, partner})
	evs := asnEvents(t)
	first := encode(t, enc, evs[0])
	second := encode(t, enc, evs[1])
	again := encode(t, enc, evs[0])
	if !bytes.Equal(first, again) {
		t.Fatalf("a redelivered event was encoded differently:\n%s\n%s", first, again)
	}
	for i, c := range []struct {
		edi           []byte
		isa, gs, st   string
		hls, segments int
	}{{first, "000048214", "1", "0001", 6, 31}, {second, "000048215", "2", "0002", 3, 17}} {
		var warns []string
		d := x12.NewDecoder(bytes.NewReader(c.edi))
		d.Warn = func(e *x12.ParseError) { warns = append(warns, e.Error()) }
		tx, err := d.Decode()
		if err != nil {
			t.Fatalf("event %d: %v\n%s", i, err, c.edi)
		}
		if _, err := d.Decode(); err != io.EOF {
			t.Fatalf("event %d: a second set or trailing data: %v", i, err)
		}
		if len(warns) > 0 {
			t.Errorf("event %d: decoder warnings %v", i, warns)
		}
		env := tx.Envelope
		got := []string{env.SenderQualifier, env.SenderID, env.ReceiverQualifier, env.ReceiverID, env.Usage, env.AckRequested,
			env.Version, env.ControlNumber, env.FunctionalID, env.AppSender, env.AppReceiver, env.GroupControlNumber,
			env.GroupVersion, env.SetID, env.SetControlNumber, env.Date, env.Time}
		want := []string{"01", "012345678", "ZZ", "DC07WMS", "T", "1", "00401", c.isa, "SH", "NORTHWIND", "DC07", c.gs,
			"004010", "856", c.st, "241202", evs[i].Time.Format("1504")}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("event %d envelope (-want +got):\n%s", i, diff)
		}
		if n := len(tx.Segments); n != c.segments {
			t.Errorf("event %d: %d segments ST..SE, want %d", i, n, c.segments)
		}
		last := tx.Segments[len(tx.Segments)-2]
		if last.Tag != "CTT" || last.Element(1).Value() != fmt.Sprint(c.hls) {
			t.Errorf("event %d: before SE: %s %v, want CTT*%d", i, last.Tag, last.Elements, c.hls)
		}
		if bsn := tx.Segments[1]; bsn.Element(5).Value() != "0001" {
			t.Errorf("event %d: BSN05 %q, want the profile's 0001", i, bsn.Element(5).Value())
		}
	}
	if !bytes.Contains(first, []byte("\x85\n")) || bytes.Contains(first, []byte("~")) {
		t.Errorf("delimiters or suffix not the profile's:\n%q", first)
	}
}

// TestX12ShipNoticeCodes: events that did not come from X12 carry only
// normalized codes; they go out as X12 codes. Codes the mapping kept as
// sent go out as they are.
func TestX12ShipNoticeCodes(t *testing.T) {
	enc := shipEncoder(t, file.X12Profile{SenderID: "US", ReceiverID: "THEM"}, ledgerControls{openLedger(t), "p"})
	m, err := mappings.Load(demoMap)
	if err != nil {
		t.Fatal(err)
	}
	data := `{"shipmentId":"S1","purpose":"replace","issuedAt":"2024-12-02T09:50:07+02:00",
	  "estimatedDeliveryDate":"2024-12-04",
	  "carrier":{"code":"UPSN","codeType":"scac","transportMethod":"parcel","routing":"GROUND"},
	  "weight":{"value":1.50,"unit":"kilogram","qualifier":"gross"},
	  "references":[{"type":"packing_list","value":"PK-9"},{"type":"XY","value":"kept code"}],
	  "parties":[{"role":"ship_to","name":"DC","id":"4012345000009","idType":"gln",
	    "address":{"lines":["1 A ST","DOCK 4","GATE 2"],"city":"KÖLN","postalCode":"50667","country":"DE"}}],
	  "tares":[{"sscc":"001234567890123456","packs":[{"sscc":"001234567890123463","packaging":{"code":"CTN25"},
	    "weight":{"value":2,"unit":"pound"},"items":[{"gtin":"012345678905","quantityShipped":1e1,"quantityOrdered":12,"uom":"case",
	    "lot":"L1","serialNumber":"S9","purchaseOrderNumber":"PO-1"}]}]}],
	  "source":{"standard":"edifact"}}`
	ev := legacybridge.Event{ID: "e1", Source: "urn:test", Type: file.ShipNoticeType, Data: []byte(data)}
	edi := encode(t, enc, ev)
	for _, seg := range []string{"BSN*05*S1*20241202*075007~", "TD1******G*1.5*KG~", "TD5*B*2*UPSN*U*GROUND~", "REF*PK*PK-9~", "REF*XY*kept code~",
		"DTM*017*20241204~", "N1*ST*DC*UL*4012345000009~", "N3*1 A ST*DOCK 4~", "N3*GATE 2~", "N4*KÖLN**50667*DE~",
		"HL*2*1*T*1~", "MAN*AA*001234567890123456~", "HL*3*2*P*1~", "PO4****CTN25~", "TD1*******2*LB~",
		"LIN**UP*012345678905*LT*L1*SN*S9~", "SN1**10*CA**12*CA~", "PRF*PO-1~", "CTT*4~"} {
		if !bytes.Contains(edi, []byte(seg)) {
			t.Errorf("no %s in\n%s", seg, edi)
		}
	}
	// Read back: the same data but for what the 856 normalizes.
	_, back := readBack(t, m, edi)
	got := canonical(t, back[0].Data)
	want := canonical(t, []byte(data))
	want["issuedAt"] = "2024-12-02T07:50:07Z"
	want["weight"].(map[string]any)["value"] = json.Number("1.5")
	pack := want["tares"].([]any)[0].(map[string]any)["packs"].([]any)[0].(map[string]any)
	pack["items"].([]any)[0].(map[string]any)["quantityShipped"] = json.Number("10")
	want["references"].([]any)[0].(map[string]any)["typeCode"] = "PK"
	want["references"].([]any)[1].(map[string]any)["typeCode"] = "XY"
	party := want["parties"].([]any)[0].(map[string]any)
	party["roleCode"] = "ST"
	// The demo mapping reads the first N3 only (two lines), and takes
	// shipTo from the first ST loop.
	addr := party["address"].(map[string]any)
	addr["lines"] = addr["lines"].([]any)[:2]
	want["shipTo"] = party
	// Marks are read back beside the SSCC.
	tare := want["tares"].([]any)[0].(map[string]any)
	tare["marks"] = []any{map[string]any{"type": "sscc", "typeCode": "AA", "value": "001234567890123456"}}
	pack["marks"] = []any{map[string]any{"type": "sscc", "typeCode": "AA", "value": "001234567890123463"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("read back (-want +got):\n%s\n%s", diff, edi)
	}
}

func TestX12ShipNoticeRefuses(t *testing.T) {
	enc := shipEncoder(t, file.X12Profile{SenderID: "US", ReceiverID: "THEM"}, ledgerControls{openLedger(t), "p"})
	base := `"shipmentId":"S1","issuedAt":"2024-12-02T07:50:00Z"`
	item := `{"buyerPartNumber":"B1","quantityShipped":1,"uom":"each"}`
	for _, c := range []struct{ name, data, want string }{
		{"nothing shipped", `{` + base + `}`, "ships nothing"},
		{"no shipment id", `{"issuedAt":"2024-12-02T07:50:00Z","items":[` + item + `]}`, "shipmentId is missing"},
		{"delimiter", `{` + base + `,"items":[{"buyerPartNumber":"B*1","quantityShipped":1,"uom":"each"}]}`,
			`items[0].buyerPartNumber "B*1" (LIN03) holds the element separator "*"`},
		{"line break", `{` + base + `,"items":[{"buyerPartNumber":"B1","description":"two\nlines","quantityShipped":1,"uom":"each"}]}`,
			`items[0].description "two\nlines" (PID05) holds the line break`},
		{"too long", `{` + base + `,"orders":[{"purchaseOrderNumber":"12345678901234567890123","items":[` + item + `]}]}`,
			`orders[0].purchaseOrderNumber "12345678901234567890123" is 23 characters long; PRF01 (AN) takes 1 to 22`},
		{"too short", `{` + base + `,"packaging":{"code":"CT","quantity":12},"items":[` + item + `]}`,
			`packaging.code "CT" is 2 characters long; TD101 (AN) takes 3 to 5`},
		{"weight without unit", `{` + base + `,"weight":{"value":3},"items":[` + item + `]}`, "weight needs both value and unit"},
		{"unknown unit", `{` + base + `,"items":[{"buyerPartNumber":"B1","quantityShipped":1,"uom":"bucket"}]}`,
			`items[0].uom "bucket" is 6 characters long; SN103 (ID) takes 2`},
		{"no part number", `{` + base + `,"items":[{"quantityShipped":1,"uom":"each"}]}`, "items[0] has no buyerPartNumber"},
		{"fractional lading quantity", `{` + base + `,"packaging":{"code":"CTN25","quantity":1.5},"items":[` + item + `]}`,
			"packaging.quantity 1.5 is not a whole number"},
		{"too many digits", `{` + base + `,"items":[{"buyerPartNumber":"B1","quantityShipped":12345678901,"uom":"each"}]}`,
			`items[0].quantityShipped "12345678901" is 11 digits long; SN102 (R) takes 1 to 10`},
		{"huge exponent", `{` + base + `,"items":[{"buyerPartNumber":"B1","quantityShipped":1e999999,"uom":"each"}]}`,
			"items[0].quantityShipped 1e999999 is out of the range"},
		{"empty tare", `{` + base + `,"tares":[{}]}`, "tares[0] is empty"},
		{"empty order", `{` + base + `,"orders":[{"purchaseOrderNumber":"P1"}]}`, "orders[0] ships nothing"},
		{"pack in pack", `{` + base + `,"packs":[{"packs":[{"items":[` + item + `]}]}]}`, "packs[0] holds packs"},
		{"bad date", `{` + base + `,"shipDate":"02.12.2024","items":[` + item + `]}`, `shipDate "02.12.2024" is not a date`},
		{"not JSON", `<asn/>`, "event data"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := enc.Encode(io.Discard, legacybridge.Event{ID: c.name, Source: "s", Type: file.ShipNoticeType, Data: []byte(c.data)})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if errors.Is(err, file.ErrTemporary) {
				t.Errorf("a data error is marked temporary: %v", err)
			}
		})
	}
	if err := enc.Encode(io.Discard, legacybridge.Event{ID: "x", Type: "com.legacybridge.purchase.order.v1", Data: []byte(`{}`)}); err == nil {
		t.Error("an event of another type was encoded")
	}
}

// TestX12ShipNoticeNoGapOnBadEvent: an event the 856 cannot hold takes
// no control number, so the partner's sequence stays without gaps.
func TestX12ShipNoticeNoGapOnBadEvent(t *testing.T) {
	l := openLedger(t)
	enc := shipEncoder(t, file.X12Profile{SenderID: "US", ReceiverID: "THEM"}, ledgerControls{l, "p"})
	bad := legacybridge.Event{ID: "bad", Source: "s", Type: file.ShipNoticeType, Data: []byte(`{"shipmentId":"S*1","issuedAt":"2024-12-02T07:50:00Z","items":[{"buyerPartNumber":"B1","quantityShipped":1,"uom":"EA"}]}`)}
	if err := enc.Encode(io.Discard, bad); err == nil {
		t.Fatal("a shipment id holding the element separator was encoded")
	}
	if last, ok, _ := l.Last("p", ledger.X12Interchange); ok {
		t.Fatalf("the refused event took ISA13 %d", last)
	}
}

// failingControls fails every request: the ledger's disk is full.
type failingControls struct{}

func (failingControls) ControlNumbers(string) x12.ControlNumbers { return failing{} }

type failing struct{}

func (failing) Next(x12.ControlLevel) (uint64, error) { return 0, errors.New("disk full") }

func TestX12ShipNoticeStoreFailureIsTemporary(t *testing.T) {
	enc := shipEncoder(t, file.X12Profile{SenderID: "US", ReceiverID: "THEM"}, failingControls{})
	err := enc.Encode(io.Discard, asnEvents(t)[1])
	if !errors.Is(err, file.ErrTemporary) || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("error %v, want ErrTemporary with the cause", err)
	}
}

func TestX12ProfileChecks(t *testing.T) {
	store := ledgerControls{openLedger(t), "p"}
	for _, c := range []struct {
		name string
		p    file.X12Profile
		want string
	}{
		{"no receiver", file.X12Profile{SenderID: "US"}, "receiver id (ISA08)"},
		{"long sender", file.X12Profile{SenderID: "A23456789012345X", ReceiverID: "THEM"}, "ISA06"},
		{"usage", file.X12Profile{SenderID: "US", ReceiverID: "THEM", Usage: "X"}, "usage (ISA15)"},
		{"version", file.X12Profile{SenderID: "US", ReceiverID: "THEM", Version: "4010"}, "version (GS08)"},
		{"repetition before 00402", file.X12Profile{SenderID: "US", ReceiverID: "THEM", Delimiters: x12.Delimiters{Repetition: "^"}}, "repetition separator"},
		{"same delimiter twice", file.X12Profile{SenderID: "US", ReceiverID: "THEM", Delimiters: x12.Delimiters{Element: "~"}}, "used twice"},
		{"letter delimiter", file.X12Profile{SenderID: "US", ReceiverID: "THEM", Delimiters: x12.Delimiters{Segment: "X"}}, "segment delimiter"},
		{"delimiter in the id", file.X12Profile{SenderID: "U*S", ReceiverID: "THEM"}, "element separator"},
		{"suffix", file.X12Profile{SenderID: "US", ReceiverID: "THEM", Suffix: "\t"}, "segment suffix"},
		{"short GS02", file.X12Profile{SenderID: "U", ReceiverID: "THEM"}, "GS02"},
		{"structure code", file.X12Profile{SenderID: "US", ReceiverID: "THEM", StructureCode: "1"}, "BSN05"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := file.NewX12ShipNotice(c.p, ledgerControls{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	if _, err := file.NewX12ShipNotice(file.X12Profile{SenderID: "US", ReceiverID: "THEM"}, nil); err == nil {
		t.Error("no control number store accepted")
	}
	// 00402 and later take a repetition separator.
	if _, err := file.NewX12ShipNotice(file.X12Profile{SenderID: "US", ReceiverID: "THEM", Version: "005010",
		Delimiters: x12.Delimiters{Repetition: "^"}}, store); err != nil {
		t.Errorf("005010 with a repetition separator: %v", err)
	}
}

// TestX12CodesReverseTheDemoMapping: every code of the demo mapping's
// lookups that the encoder writes reads back as the normalized code it
// came from (checked through the whole chain: encode, parse, map).
func TestX12CodesReverseTheDemoMapping(t *testing.T) {
	b, err := os.ReadFile(demoMap)
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Lookups map[string]map[string]string `yaml:"lookups"`
	}
	if err := yaml.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	m, err := mappings.Load(demoMap)
	if err != nil {
		t.Fatal(err)
	}
	enc := shipEncoder(t, file.X12Profile{SenderID: "US", ReceiverID: "THEM"}, ledgerControls{openLedger(t), "p"})
	// Where each lookup's values go in an event, and where they read back.
	put := map[string]func(v string) string{
		"purpose": func(v string) string { return `"purpose":"` + v + `"` },
		"uom":     func(v string) string { return `"weight":{"value":1,"unit":"` + v + `"}` },
		"weight_qualifier": func(v string) string {
			return `"weight":{"value":1,"unit":"pound","qualifier":"` + v + `"}`
		},
		"carrier_code_type": func(v string) string { return `"carrier":{"code":"XX","codeType":"` + v + `"}` },
		"transport_method":  func(v string) string { return `"carrier":{"transportMethod":"` + v + `"}` },
		"party_role":        func(v string) string { return `"parties":[{"role":"` + v + `","name":"N"}]` },
		"id_type":           func(v string) string { return `"parties":[{"role":"ship_to","id":"ID1","idType":"` + v + `"}]` },
		"mark_type": func(v string) string {
			return `"packs":[{"marks":[{"type":"` + v + `","value":"001234567890123456"}]}]`
		},
		"reference_type": func(v string) string { return `"references":[{"type":"` + v + `","value":"R"}]` },
	}
	get := map[string]func(d map[string]any) any{
		"purpose":           func(d map[string]any) any { return d["purpose"] },
		"uom":               func(d map[string]any) any { return d["weight"].(map[string]any)["unit"] },
		"weight_qualifier":  func(d map[string]any) any { return d["weight"].(map[string]any)["qualifier"] },
		"carrier_code_type": func(d map[string]any) any { return d["carrier"].(map[string]any)["codeType"] },
		"transport_method":  func(d map[string]any) any { return d["carrier"].(map[string]any)["transportMethod"] },
		"party_role":        func(d map[string]any) any { return d["parties"].([]any)[0].(map[string]any)["role"] },
		"id_type":           func(d map[string]any) any { return d["parties"].([]any)[0].(map[string]any)["idType"] },
		"mark_type": func(d map[string]any) any {
			return d["packs"].([]any)[0].(map[string]any)["marks"].([]any)[0].(map[string]any)["type"]
		},
		"reference_type": func(d map[string]any) any { return d["references"].([]any)[0].(map[string]any)["type"] },
	}
	if len(spec.Lookups) != len(put) {
		t.Fatalf("the demo mapping has %d lookups, the test knows %d: add the new ones", len(spec.Lookups), len(put))
	}
	for name, table := range spec.Lookups {
		seen := map[string]bool{}
		for _, normalized := range table {
			if seen[normalized] {
				continue
			}
			seen[normalized] = true
			if put[name] == nil {
				t.Fatalf("lookup %s is unknown to the test", name)
			}
			data := `{"shipmentId":"S1","issuedAt":"2024-12-02T07:50:00Z",` + put[name](normalized) +
				`,"items":[{"buyerPartNumber":"B","quantityShipped":1,"uom":"each"}]}`
			if name == "mark_type" {
				data = strings.Replace(data, `,"items"`, `,"orders":[{"purchaseOrderNumber":"P","items":[{"buyerPartNumber":"B","quantityShipped":1,"uom":"each"}]}],"x"`, 1)
			}
			var out bytes.Buffer
			if err := enc.Encode(&out, legacybridge.Event{ID: name + normalized, Source: "s", Type: file.ShipNoticeType, Data: []byte(data)}); err != nil {
				t.Errorf("%s %s: %v", name, normalized, err)
				continue
			}
			_, back := readBack(t, m, out.Bytes())
			if got := get[name](canonical(t, back[0].Data)); got != normalized {
				t.Errorf("lookup %s: %q reads back as %v\n%s", name, normalized, got, out.Bytes())
			}
		}
	}
}

func TestX12ShipNoticeConcurrent(t *testing.T) {
	l := openLedger(t)
	enc := shipEncoder(t, dc07, ledgerControls{l, "p"})
	evs := asnEvents(t)
	var wg sync.WaitGroup
	out := make([][]byte, 16)
	for i := range out {
		wg.Go(func() {
			ev := evs[i%2]
			ev.ID = fmt.Sprintf("ev-%02d", i)
			var b bytes.Buffer
			if err := enc.Encode(&b, ev); err != nil {
				t.Error(err)
			}
			out[i] = b.Bytes()
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, edi := range out {
		d := x12.NewDecoder(bytes.NewReader(edi))
		tx, err := d.Decode()
		if err != nil {
			t.Fatalf("interchange %d: %v", i, err)
		}
		if seen[tx.Envelope.ControlNumber] {
			t.Errorf("ISA13 %s given twice", tx.Envelope.ControlNumber)
		}
		seen[tx.Envelope.ControlNumber] = true
	}
	if last, _, _ := l.Last("p", ledger.X12Interchange); last != 16 {
		t.Errorf("last ISA13 %d after 16 events, want 16", last)
	}
}

// flakyControls fails the first n requests for a number, then asks the
// ledger: its disk was full for a while.
type flakyControls struct {
	inner file.X12Controls
	mu    sync.Mutex
	n     int
}

func (f *flakyControls) ControlNumbers(key string) x12.ControlNumbers {
	return flakyNumbers{f, f.inner.ControlNumbers(key)}
}

type flakyNumbers struct {
	f     *flakyControls
	inner x12.ControlNumbers
}

func (n flakyNumbers) Next(level x12.ControlLevel) (uint64, error) {
	n.f.mu.Lock()
	fail := n.f.n > 0
	n.f.n--
	n.f.mu.Unlock()
	if fail {
		return 0, errors.New("ledger: disk full")
	}
	return n.inner.Next(level)
}

// TestX12DeliveryRetriesStoreFailure: through a Delivery, a failing store
// of control numbers is retried (not dead-lettered, not a stop), and the
// files come out with consecutive ISA13s once it works again.
func TestX12DeliveryRetriesStoreFailure(t *testing.T) {
	addr := startBroker(t, 1)
	fs, root := localFS(t)
	produce(t, addr, "asn", asnEvents(t)...)
	l := openLedger(t)
	enc := shipEncoder(t, dc07, &flakyControls{inner: ledgerControls{l, "p"}, n: 3})
	r := start(t, file.Config{Name: "dc07-856", Brokers: []string{addr}, Topic: "asn", GroupID: "g", FS: fs,
		NameTemplate: "{{.Subject}}{{.FileExt}}", Encoder: enc, MaxWait: 400 * time.Millisecond,
		RetryMin: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond})
	waitFor(t, "both offsets committed", func() bool {
		select {
		case err := <-r.done:
			r.done <- err // for the cleanup
			t.Fatalf("the delivery stopped: %v", err)
		default:
		}
		return sum(committed(t, addr, "g", "asn", 1)) == 2
	})
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if st := r.d.Stats(); st.Retries != 3 || st.Delivered != 2 || st.DeadLettered != 0 {
		t.Errorf("stats %+v, want 3 retries and 2 files", st)
	}
	got := files(t, root)
	for name, isa := range map[string]string{"SHP0048213.edi": "000000001", "SHP0048214.edi": "000000002"} {
		if !strings.Contains(got[name], "*U*00401*"+isa+"*") {
			t.Errorf("%s: want ISA13 %s:\n%s", name, isa, got[name])
		}
	}
}

// BenchmarkX12ShipNotice compares writing the demo's 856s (with the
// persisted control numbers, and with in-memory ones) to reading the same
// bytes back with parsers/x12's Decoder, in the same run.
func BenchmarkX12ShipNotice(b *testing.B) {
	// 100 events (the demo's two, alternately, with their own ids): the
	// decoder reads their 856s as one stream, as from one file.
	var evs []legacybridge.Event
	demo := asnEvents(b)
	for i := range 100 {
		ev := demo[i%2]
		ev.ID = fmt.Sprintf("%s-%03d", ev.ID, i)
		evs = append(evs, ev)
	}
	var sample bytes.Buffer
	mem := shipEncoder(b, dc07, counterControls{})
	for _, ev := range evs {
		if err := mem.Encode(&sample, ev); err != nil {
			b.Fatal(err)
		}
	}
	report := func(b *testing.B, n int) {
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "856/s")
	}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(sample.Len()))
		n := 0
		for b.Loop() {
			for _, ev := range evs {
				if err := mem.Encode(io.Discard, ev); err != nil {
					b.Fatal(err)
				}
				n++
			}
		}
		report(b, n)
	})
	b.Run("encode-ledger", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(sample.Len()))
		enc := shipEncoder(b, dc07, ledgerControls{openLedger(b), "p"})
		n := 0
		for b.Loop() {
			for _, ev := range evs {
				ev.ID = strconv.Itoa(n) // a new event: new numbers, written to the ledger
				if err := enc.Encode(io.Discard, ev); err != nil {
					b.Fatal(err)
				}
				n++
			}
		}
		report(b, n)
	})
	b.Run("encode-ledger-redelivered", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(sample.Len()))
		enc := shipEncoder(b, dc07, ledgerControls{openLedger(b), "p"})
		n := 0
		for b.Loop() {
			for _, ev := range evs { // the same events: numbers read back
				if err := enc.Encode(io.Discard, ev); err != nil {
					b.Fatal(err)
				}
				n++
			}
		}
		report(b, n)
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(sample.Len()))
		n := 0
		for b.Loop() {
			d := x12.NewDecoder(bytes.NewReader(sample.Bytes()))
			for {
				_, err := d.Decode()
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
		}
		report(b, n)
	})
}

// counterControls gives every interchange the numbers 1, 1, 1 (no store).
type counterControls struct{}

func (counterControls) ControlNumbers(string) x12.ControlNumbers { return &x12.Counter{} }

// FuzzX12ShipNotice: whatever event data the encoder accepts becomes one
// 856 that parsers/x12 reads without a problem and the demo mapping maps.
func FuzzX12ShipNotice(f *testing.F) {
	for _, ev := range asnEvents(f) {
		f.Add([]byte(ev.Data))
	}
	f.Add([]byte(`{"shipmentId":"S1","issuedAt":"2024-12-02T07:50:00Z","tares":[{"sscc":"001234567890123456","packs":[{"items":[{"gtin":"012345678905","quantityShipped":1e1,"uom":"case"}]}]}]}`))
	m, err := mappings.Load(demoMap)
	if err != nil {
		f.Fatal(err)
	}
	enc := shipEncoder(f, file.X12Profile{SenderID: "US", ReceiverID: "THEM"}, counterControls{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		if err := enc.Encode(&out, legacybridge.Event{ID: "e", Source: "s", Type: file.ShipNoticeType, Data: data}); err != nil {
			return
		}
		var warns []string
		d := x12.NewDecoder(bytes.NewReader(out.Bytes()))
		d.Warn = func(e *x12.ParseError) { warns = append(warns, e.Error()) }
		tx, err := d.Decode()
		if err != nil || len(warns) > 0 {
			t.Fatalf("accepted data gave an 856 the decoder refuses: %v %v\n%s", err, warns, out.Bytes())
		}
		if _, err := d.Decode(); err != io.EOF {
			t.Fatalf("more than one set: %v", err)
		}
		if _, err := m.Map(tx.Record()); err != nil {
			t.Fatalf("accepted data gave an 856 the demo mapping refuses: %v\n%s", err, out.Bytes())
		}
	})
}
