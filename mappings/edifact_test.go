package mappings

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
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

// TestGoldenEDIFACT maps the EDIFACT samples with both EDIFACT mappings and
// compares the events with golden files.
func TestGoldenEDIFACT(t *testing.T) {
	orders := demoMapping(t, "edifact-orders-purchase-order.yaml")
	desadv := demoMapping(t, "edifact-desadv-shipment-notice.yaml")
	for _, c := range []struct {
		name, path string
		applies    int
	}{
		{"edifact-orders", edifactSample("ORDERS_NW_4500098901.edi"), 1},
		{"edifact-desadv", edifactSample("DESADV_ACME_20241202_0815.edi"), 2},
		{"edifact-desadv-packing", edifactSample("DESADV_ACME_20241203_0600.edi"), 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, applied := mapAll(t, readEDIFACT(t, c.path), orders, desadv)
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

// parsedMessage is a message read by the EDIFACT parser and the error that
// came with it (a record-level problem such as a wrong UNT count), if any.
type parsedMessage struct {
	rec legacybridge.Record
	err error
}

// readEDIFACTAll reads every message of an EDIFACT file, keeping the
// errors that come with them; errors without a message (a missing UNZ)
// are returned apart.
func readEDIFACTAll(t testing.TB, path string) (msgs []parsedMessage, other []error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rr := edifact.Parser{}.NewReader(f, filepath.Base(path))
	for {
		rec, err := rr.Read()
		if err == io.EOF {
			return msgs, other
		}
		if rec.Segments == nil {
			other = append(other, err)
			continue
		}
		msgs = append(msgs, parsedMessage{rec, err})
	}
}

// TestEDIFACTCorpusOrders maps every ORDERS message of the shared corpus.
// A message that parses without an error must map to a schema-valid event
// (golden file). A message that comes with a record-level parse error is
// set aside by the flow before mapping; it is mapped here anyway, to show
// the mapping either copes or fails with a dead-letter reason that names
// the field and the message.
func TestEDIFACTCorpusOrders(t *testing.T) {
	corpus := filepath.Join(sharedDir(t), "corpus")
	m := demoMapping(t, "edifact-orders-purchase-order.yaml")
	for _, c := range []struct {
		file     string
		parseErr string // the message's own parse error; "" = parses cleanly
		golden   bool
		lines    int    // lines in the event, when not golden
		mapErr   string // the dead-letter reason's field; "" = maps
	}{
		// UNA with decimal comma, 203 dates, no UNZ (an interchange error,
		// not the message's).
		{file: "nerdocs__pydifact/tests__data__order.edi", golden: true},
		// UNG group; UNT declares 21 segments for 18.
		{file: "xlate__staedi/src__test__resources__EDIFACT__orders-with-group.edi", parseErr: "declares 21 segments, message has 18", golden: true},
		// 36 DTM+137; quantities are QTY+1 (discrete quantity), not
		// QTY+21 (ordered quantity): no ordered quantity, dead-lettered.
		{file: "smooks__smooks-edi-cartridge/edifact-cartridge__src__test__resources__data__BAD_ORDERS_D.03B_Interchange.txt",
			parseErr: "declares 22 segments, message has 57", mapErr: "lines[0].quantity"},
		// 2.2 MB: one UNH..UNT holding 8432 orders' BGM..LIN runs (UNT says
		// 16): every one of its 16864 LIN groups becomes a line.
		{file: "nerdocs__pydifact/tests__data__huge_file2.edi", parseErr: "declares 16 segments, message has 109619", lines: -1},
	} {
		name := strings.TrimSuffix(filepath.Base(c.file), filepath.Ext(c.file))
		t.Run(name, func(t *testing.T) {
			msgs, _ := readEDIFACTAll(t, filepath.Join(corpus, c.file))
			if len(msgs) != 1 {
				t.Fatalf("%d messages, want 1", len(msgs))
			}
			pm := msgs[0]
			if pm.rec.Type != "ORDERS" {
				t.Fatalf("message type %q, want ORDERS", pm.rec.Type)
			}
			switch {
			case c.parseErr == "" && pm.err != nil:
				t.Fatalf("parse error: %v", pm.err)
			case c.parseErr != "" && (pm.err == nil || !strings.Contains(pm.err.Error(), c.parseErr)):
				t.Fatalf("parse error %v, want one containing %q", pm.err, c.parseErr)
			}
			if c.mapErr != "" {
				_, err := m.Map(pm.rec)
				var me *Error
				if !errors.As(err, &me) || me.Field != c.mapErr || !errors.Is(err, ErrRequired) {
					t.Fatalf("Map: %v; want an *Error for %s wrapping ErrRequired", err, c.mapErr)
				}
				if !strings.Contains(err.Error(), filepath.Base(c.file)) || !strings.Contains(err.Error(), "segment 2 (UNH)") {
					t.Errorf("dead-letter reason %q does not name the file and message", err)
				}
				return
			}
			if c.golden {
				got, applied := mapAll(t, []legacybridge.Record{pm.rec}, m)
				if applied != 1 {
					t.Errorf("%d records mapped, want 1", applied)
				}
				checkGolden(t, "corpus-edifact-"+name, got)
				return
			}
			_, data := mapEach(t, m, []legacybridge.Record{pm.rec})
			lins := 0
			for _, sg := range pm.rec.Segments {
				if sg.Tag == "LIN" {
					lins++
				}
			}
			if got := len(data[0]["lines"].([]any)); got != lins {
				t.Errorf("%d lines in the event, want %d (one per LIN)", got, lins)
			}
		})
	}
}

// TestEDIFACTDateTimes: date and datetime read EDIFACT's date/time formats
// 203 (CCYYMMDDHHMM) and 204 (CCYYMMDDHHMMSS); datetime keeps their time.
func TestEDIFACTDateTimes(t *testing.T) {
	rec := x12Record("ORDERS", "UNH*1*ORDERS>D>96A>UN", "BGM*220*PO-1*9",
		"DTM*137>201508030955>203", "DTM*2>20150806141530>204", "DTM*63>201508062460>203",
		"DTM*64>20150806>102", "UNT*7*1")
	rec.Format = "edifact"
	for _, c := range []struct {
		expr string
		want any
		err  string
	}{
		{"DTM[DTM01=137]/DTM01-2 | date", "2015-08-03", ""},
		{"DTM[DTM01=137]/DTM01-2 | datetime", "2015-08-03T09:55:00Z", ""},
		{"DTM[DTM01=2]/DTM01-2 | date", "2015-08-06", ""},
		{"DTM[DTM01=2]/DTM01-2 | datetime", "2015-08-06T14:15:30Z", ""},
		{"DTM[DTM01=64]/DTM01-2 | datetime", "2015-08-06T00:00:00Z", ""},
		// an explicit time argument wins over the value's own
		{"DTM[DTM01=137]/DTM01-2 | datetime('1200')", "2015-08-03T12:00:00Z", ""},
		{"DTM[DTM01=63]/DTM01-2 | date", nil, "no such time"},
		{"DTM[DTM01=63]/DTM01-2 | datetime", nil, "no such time"},
	} {
		got, err := evalOn(t, rec, nil, nil, nil, c.expr)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: got %v, %v; want an error containing %q", c.expr, got, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", c.expr, diff)
		}
	}
}

// TestGroupOwnSegmentStep: inside a group, a step naming the group's own
// tag tests the group's first segment (a group never holds a group of its
// own tag), so LIN[LIN03-2=EN]/LIN03 reads a line's GTIN only when its type
// says it is one.
func TestGroupOwnSegmentStep(t *testing.T) {
	m := mustParse(t, `
name: own-step
match: {format: edifact, type: ORDERS}
event: {type: com.legacybridge.purchase.order.v1, subject: BGM02}
groups:
  LIN: {until: [LIN, UNS]}
data:
  purchaseOrderNumber: BGM02
  orderDate: DTM[DTM01=137]/DTM01-2 | date
  lines:
    each: LIN
    fields:
      quantity: QTY[QTY01=21]/QTY01-2 | number
      uom: {const: each}
      gtin: LIN[LIN03-2=EN,SRV]/LIN03
      buyerPartNumber: LIN[LIN03-2=IN]/LIN03
      lineNumber: LIN[1]/LIN01
  source:
    standard: {const: edifact}
`)
	rec := x12Record("ORDERS", "UNH*1*ORDERS>D>96A>UN", "BGM*220*PO-1*9", "DTM*137>20240115>102",
		"LIN*1**4000862141404>EN", "QTY*21>4", "LIN*2**B-77>IN", "QTY*21>5", "UNS*S", "UNT*9*1")
	rec.Format = "edifact"
	evs, err := m.Map(rec)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Lines []map[string]any `json:"lines"`
	}
	if err := json.Unmarshal(evs[0].Data, &got); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"quantity": 4.0, "uom": "each", "gtin": "4000862141404", "lineNumber": "1"},
		{"quantity": 5.0, "uom": "each", "buyerPartNumber": "B-77", "lineNumber": "2"},
	}
	if diff := cmp.Diff(want, got.Lines); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}

// TestEDIFACTDesadvMatchesX12: the demo's X12 856 (two shipments) and a
// DESADV interchange with the same content give the same events but for
// the envelope-derived source keys and these, which say the same thing in
// each standard's own terms:
//   - carrier.routing / carrier.name: the demo 856 writes the carrier's
//     name in TD505 (routing); EDIFACT has a carrier name (TDT C040 3128)
//     and no free routing text, so the DESADV gives carrier.name.
//   - packaging.code: a code as sent, from different code lists (X12
//     TD101 CTN25 / PLT90, UN/ECE Recommendation 21 CT / PX in PAC).
//
// Everything else is equal: quantities, units, parties and their id
// types, order grouping and dates, lots, weights, dates and times.
func TestEDIFACTDesadvMatchesX12(t *testing.T) {
	x12m := demoMapping(t, "x12-856-shipment-notice.yaml")
	edim := demoMapping(t, "edifact-desadv-shipment-notice.yaml")
	xevs, xdata := mapEach(t, x12m, readX12(t, filepath.Join(demoDir(), "drops", "x12", "ASN_ACME_20241202_0815.edi")))
	eevs, edata := mapEach(t, edim, readEDIFACT(t, edifactSample("DESADV_ACME_20241202_0815.edi")))
	if len(xdata) != 2 || len(edata) != 2 {
		t.Fatalf("%d X12 events, %d EDIFACT events, want 2 each", len(xdata), len(edata))
	}
	skip := []string{"carrier.routing", "carrier.name", "packaging.code"}
	wantPackaging := []string{"CT", "PX"}
	wantCarrier := []string{"OLD DOMINION FREIGHT", "UPS FREIGHT"}
	for i := range xdata {
		x, e := xdata[i], edata[i]
		if got := e["packaging"].(map[string]any)["code"]; got != wantPackaging[i] {
			t.Errorf("event %d: packaging.code %v, want %s", i, got, wantPackaging[i])
		}
		xc, ec := x["carrier"].(map[string]any), e["carrier"].(map[string]any)
		if xc["routing"] != wantCarrier[i] || ec["name"] != wantCarrier[i] || ec["routing"] != nil {
			t.Errorf("event %d: X12 carrier %v, EDIFACT carrier %v; want routing and name %q", i, xc, ec, wantCarrier[i])
		}
		compareEvents(t, xevs[i], eevs[i], x, e, map[string]any{
			"standard": "edifact", "version": "D:96A:UN", "documentType": "DESADV",
			"sender":                   map[string]any{"id": "ACMEPARTS", "qualifier": "ZZZ"},
			"receiver":                 map[string]any{"id": "NORTHWIND", "qualifier": "ZZZ"},
			"interchangeControlNumber": "48213", "transactionControlNumber": strconv.Itoa(i + 1),
			"file": "DESADV_ACME_20241202_0815.edi",
		}, skip)
	}
}

// TestEachByAndUnless: each: with by: makes one element per distinct key,
// in order of first appearance, whatever the members' order (lines of two
// orders interleaved); members without a key are left out, and unless:
// takes exactly those. Every line lands once.
func TestEachByAndUnless(t *testing.T) {
	m := demoMapping(t, "edifact-desadv-shipment-notice.yaml")
	rec := x12Record("DESADV", "UNH*7*DESADV>D>96A>UN", "BGM*351*SHP-9*9", "DTM*137>202401150930>203",
		"CPS*1",
		"LIN*1", "PIA*5*A-1>BP", "QTY*12>1", "RFF*ON>PO-A>1", "DTM*171>20240110>102",
		"LIN*2", "PIA*5*B-1>BP", "QTY*12>2", "RFF*ON>PO-B>1", "DTM*171>20240111>102",
		"LIN*3", "PIA*5*X-1>BP", "QTY*12>3",
		"LIN*4", "PIA*5*A-2>BP", "QTY*12>4", "RFF*ON>PO-A>2", "DTM*171>20240110>102",
		"CNT*2>4", "UNT*22*7")
	rec.Format = "edifact"
	evs, err := m.Map(rec)
	if err != nil {
		t.Fatal(err)
	}
	type item struct {
		LineNumber string `json:"lineNumber"`
		Part       string `json:"buyerPartNumber"`
	}
	type order struct {
		PO    string `json:"purchaseOrderNumber"`
		Date  string `json:"purchaseOrderDate"`
		Items []item `json:"items"`
	}
	var got struct {
		Orders []order `json:"orders"`
		Items  []item  `json:"items"`
	}
	if err := json.Unmarshal(evs[0].Data, &got); err != nil {
		t.Fatal(err)
	}
	wantOrders := []order{
		{"PO-A", "2024-01-10", []item{{"1", "A-1"}, {"2", "A-2"}}},
		{"PO-B", "2024-01-11", []item{{"1", "B-1"}}},
	}
	if diff := cmp.Diff(wantOrders, got.Orders); diff != "" {
		t.Errorf("orders (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]item{{"3", "X-1"}}, got.Items); diff != "" {
		t.Errorf("shipment items (-want +got):\n%s", diff)
	}
}

// TestDesadvHeadingOrder: a DESADV for one order names it in the heading
// (SG1 RFF+ON, DTM+171); its lines, without their own RFF+ON, are that
// order's items, read through /RFF from inside the lines.
func TestDesadvHeadingOrder(t *testing.T) {
	m := demoMapping(t, "edifact-desadv-shipment-notice.yaml")
	rec := x12Record("DESADV", "UNH*8*DESADV>D>96A>UN", "BGM*351*SHP-10*9", "DTM*137>202401150930>203",
		"RFF*ON>PO-H", "DTM*171>20240105>102",
		"CPS*1",
		"LIN*1", "PIA*5*H-1>BP", "QTY*12>1",
		"LIN*2", "PIA*5*H-2>BP", "QTY*12>2",
		"CNT*2>2", "UNT*13*8")
	rec.Format = "edifact"
	evs, err := m.Map(rec)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(evs[0].Data, &got); err != nil {
		t.Fatal(err)
	}
	want := []any{map[string]any{
		"purchaseOrderNumber": "PO-H", "purchaseOrderDate": "2024-01-05",
		"items": []any{
			map[string]any{"lineNumber": "1", "buyerPartNumber": "H-1", "quantityShipped": 1.0, "uom": "each"},
			map[string]any{"lineNumber": "2", "buyerPartNumber": "H-2", "quantityShipped": 2.0, "uom": "each"},
		},
	}}
	if diff := cmp.Diff(want, got["orders"]); diff != "" {
		t.Errorf("orders (-want +got):\n%s", diff)
	}
	if items, ok := got["items"]; ok {
		t.Errorf("shipment items %v, want none (every line is the heading order's)", items)
	}
}

// TestRootPath: /PATH reads from the message root whatever the scope; a
// plain path inside a group sees only the group.
func TestRootPath(t *testing.T) {
	rec := x12Record("850", "ST*850*1", "BEG*00*SA*PO-5**20240115", "REF*DP*118",
		"PO1*1*5*EA", "REF*DP*LINE", "CTT*1", "SE*7*1")
	groups := map[string]map[string]bool{"PO1": {"CTT": true}}
	for _, c := range []struct {
		expr string
		want any
	}{
		{"PO1/REF[REF01=DP]/REF02", "LINE"},
		{"REF[REF01=DP]/REF02", "118"},
		{"/REF[REF01=DP]/REF02", "118"},
		{"/BEG03", "PO-5"},
		{"PO1/PO102 | default(/BEG03)", "5"},
	} {
		got, err := evalOn(t, rec, groups, nil, nil, c.expr)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", c.expr, diff)
		}
	}
	// inside a line's scope, through each:
	m := mustParse(t, `
name: root-path
match: {format: x12, type: "850"}
event: {type: com.legacybridge.purchase.order.v1, subject: BEG03}
groups:
  PO1: {until: [PO1, CTT]}
data:
  purchaseOrderNumber: BEG03
  orderDate: BEG05 | date
  lines:
    each: PO1
    fields:
      quantity: PO102 | number
      uom: PO103
      buyerPartNumber: REF[REF01=DP]/REF02
      vendorPartNumber: /REF[REF01=DP]/REF02
  source: {standard: {const: x12}}
`)
	evs, err := m.Map(rec)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(evs[0].Data), `"buyerPartNumber":"LINE"`) || !strings.Contains(string(evs[0].Data), `"vendorPartNumber":"118"`) {
		t.Errorf("data %s: want the line's REF as buyerPartNumber, the heading's as vendorPartNumber", evs[0].Data)
	}
}

// TestByProblems: by: applies to declared groups only and needs fields:.
func TestByProblems(t *testing.T) {
	m, err := Parse("by.yaml", []byte(`
name: by-problems
match: {format: edifact, type: DESADV}
event: {type: com.legacybridge.shipment.notice.v1, subject: BGM02}
groups:
  LIN: {until: [LIN]}
data:
  shipmentId: BGM02
  issuedAt: DTM01-2 | datetime
  orders:
    each: RFF
    by: RFF01-2
    fields: {purchaseOrderNumber: RFF01-2}
  items:
    each: LIN
    by: RFF01-2
    value: LIN01
  source: {standard: {const: edifact}}
`), testRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, p := range m.Validate() {
		msgs = append(msgs, p.Error())
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{
		"by.yaml:12: data.orders: by: groups declared groups (groups:), and RFF selects RFF",
		"data.items: by: needs fields:",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("problems do not contain %q:\n%s", want, all)
		}
	}
}

// TestEDIFACTDecimalComma: in EDIFACT a comma is a decimal mark (ISO 9735
// allows it whatever the UNA says and forbids thousands separators); in
// X12 it is not a number.
func TestEDIFACTDecimalComma(t *testing.T) {
	src := "UNA:+,? 'UNB+UNOA:3+S:ZZZ+R:ZZZ+241202:0815+9'UNH+1+ORDERS:D:96A:UN'BGM+220+PO-9+9'" +
		"DTM+137:20241202:102'LIN+1++4000862141404:EN'QTY+21:2,5:KGM'PRI+AAA:0,142'" +
		"LIN+2++4000862141411:EN'QTY+21:3:EA'PRI+AAA:1.25'UNS+S'CNT+2:2'UNT+12+1'UNZ+1+9'"
	path := filepath.Join(t.TempDir(), "comma.edi")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, data := mapEach(t, demoMapping(t, "edifact-orders-purchase-order.yaml"), readEDIFACT(t, path))
	var got []string
	for _, l := range data[0]["lines"].([]any) {
		l := l.(map[string]any)
		got = append(got, l["quantity"].(json.Number).String()+" "+l["uom"].(string)+" @ "+l["unitPrice"].(json.Number).String())
	}
	if diff := cmp.Diff([]string{"2.5 kilogram @ 0.142", "3 each @ 1.25"}, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	x := x12Record("850", "ST*850*1", "PO1*1*2,5*EA", "SE*3*1")
	if v, err := evalOn(t, x, nil, nil, nil, "PO102 | number"); err == nil {
		t.Errorf("X12 2,5 | number = %v, want an error", v)
	}
}
