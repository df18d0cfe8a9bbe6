package mappings

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
)

// desadvPacking is the DESADV sample with a packing hierarchy (pallets of
// cartons, a line straight on a pallet, a loose carton) and the 856 with
// the same content, shaped S → T → P → I (pick and pack, each item naming
// its order in PRF).
var (
	desadvPacking = "DESADV_ACME_20241203_0600.edi"
	x12Packing    = filepath.Join("testdata", "x12", "856-pallets-cartons.edi")
)

// packingSkips are the data keys the two standards fill from different
// code lists for the same thing, each value as sent: the packaging code
// (X12 TD101 PLT94 / CTN25, EDIFACT PAC 7065 201 / CT) and the mark's
// qualifier (X12 MAN01 AA, an SSCC-18 without its (00) application
// identifier; EDIFACT GIN 7405 BJ, serial shipping container code). The
// meaning they carry is compared: the mark's type is sscc in both, and
// packingCodes pairs the codes. Nothing else differs: SSCCs, weights and
// their units, packaging quantities, every item and the order it names,
// and where each tare, pack and item sits. Neither event carries an
// item's order date (856 PRF04 in an item loop, DESADV DTM+171 after a
// packed line's RFF+ON): the item has no such key.
var packingSkips = []string{
	"packaging.code", "tares.packaging.code", "tares.packs.packaging.code", "packs.packaging.code",
	"tares.marks.typeCode", "tares.packs.marks.typeCode", "packs.marks.typeCode",
}

// packingCodes pairs each X12 code with the EDIFACT code that says the
// same thing in the samples.
var packingCodes = map[string]string{"PLT94": "201", "CTN25": "CT", "AA": "BJ"}

// TestDesadvPackingMatchesX12: a DESADV with pallets and cartons (CPS
// levels with parent ids, PAC package types, PCI+33E/GIN+BJ labels, MEA
// weights, lines under each level) gives the same event as the 856 with
// the same content: the same nested tares, packs and items, field for
// field, but for the envelope's source keys and packingSkips, whose codes
// must pair up as packingCodes says.
func TestDesadvPackingMatchesX12(t *testing.T) {
	x12m := demoMapping(t, "x12-856-shipment-notice.yaml")
	edim := demoMapping(t, "edifact-desadv-shipment-notice.yaml")
	xevs, xdata := mapEach(t, x12m, readX12(t, x12Packing))
	eevs, edata := mapEach(t, edim, readEDIFACT(t, edifactSample(desadvPacking)))
	if len(xdata) != 1 || len(edata) != 1 {
		t.Fatalf("%d X12 events, %d EDIFACT events, want 1 each", len(xdata), len(edata))
	}
	x, e := xdata[0], edata[0]
	for _, p := range packingSkips {
		xs, es := valuesAt(x, p), valuesAt(e, p)
		if len(xs) == 0 || len(xs) != len(es) {
			t.Errorf("%s: X12 %v, EDIFACT %v; want the same number of codes, at least one", p, xs, es)
			continue
		}
		for i := range xs {
			if packingCodes[xs[i]] != es[i] {
				t.Errorf("%s[%d]: X12 %q, EDIFACT %q; want the pair packingCodes gives", p, i, xs[i], es[i])
			}
		}
	}
	compareEvents(t, xevs[0], eevs[0], x, e, map[string]any{
		"standard": "edifact", "version": "D:96A:UN", "documentType": "DESADV",
		"sender":                   map[string]any{"id": "ACMEPARTS", "qualifier": "ZZZ"},
		"receiver":                 map[string]any{"id": "NORTHWIND", "qualifier": "ZZZ"},
		"interchangeControlNumber": "48300", "transactionControlNumber": "1",
		"file": desadvPacking,
	}, packingSkips)
}

// valuesAt collects the text values at a dotted key path, through arrays,
// in document order: valuesAt(d, "tares.packs.packaging.code").
func valuesAt(v any, path string) []string {
	key, rest, _ := strings.Cut(path, ".")
	var out []string
	switch v := v.(type) {
	case []any:
		for _, x := range v {
			out = append(out, valuesAt(x, path)...)
		}
	case map[string]any:
		x, ok := v[key]
		if !ok {
			return nil
		}
		if rest == "" {
			if s, ok := x.(string); ok {
				return []string{s}
			}
			return nil
		}
		return valuesAt(x, rest)
	}
	return out
}

// TestDesadvPackingPlacements: every line of the DESADV sample sits in the
// tare or pack its CPS level is, and tares, packs and lines keep their
// labels, weights and orders.
func TestDesadvPackingPlacements(t *testing.T) {
	m := demoMapping(t, "edifact-desadv-shipment-notice.yaml")
	recs := readEDIFACT(t, edifactSample(desadvPacking))
	evs, err := m.Map(recs[0])
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"tares[381234560000000011]/packs[381234560000000028]/items: NW-77120 24",
		"tares[381234560000000011]/packs[381234560000000028]/items: NW-11002 100",
		"tares[381234560000000011]/packs[381234560000000035]/items: NW-40018 12",
		"tares[381234560000000042]/packs[381234560000000059]/items: NW-40019 12",
		"tares[381234560000000042]/items: NW-11003 500",
		"packs[381234560000000066]/items: NW-90551 16",
	}
	if diff := cmp.Diff(want, placements(t, evs[0].Data)); diff != "" {
		t.Errorf("lines and where they sit (-want +got):\n%s", diff)
	}
	var d struct {
		Packaging json.RawMessage `json:"packaging"`
		Tares     []struct {
			Weight json.RawMessage `json:"weight"`
			Items  []struct {
				PO   string `json:"purchaseOrderNumber"`
				Line string `json:"lineNumber"`
			} `json:"items"`
		} `json:"tares"`
	}
	if err := json.Unmarshal(evs[0].Data, &d); err != nil {
		t.Fatal(err)
	}
	if got := string(d.Packaging); got != `{"code":"201","quantity":2}` {
		t.Errorf("shipment packaging %s, want the consignment's (CPS+1) first PAC", got)
	}
	if got := string(d.Tares[1].Weight); got != `{"qualifier":"gross","unit":"kilogram","value":493.5}` {
		t.Errorf("second tare's weight %s, want its MEA+PD+AAB", got)
	}
	if it := d.Tares[1].Items; len(it) != 1 || it[0].PO != "4500098840" || it[0].Line != "2" {
		t.Errorf("line on the second pallet %+v, want order 4500098840 line 2 (its RFF+ON)", it)
	}
}

// TestDesadvPackedOrders: lines of the consignment level are grouped into
// orders; lines in a pack are its items and name their order, their own
// RFF+ON or else the heading's.
func TestDesadvPackedOrders(t *testing.T) {
	m := demoMapping(t, "edifact-desadv-shipment-notice.yaml")
	rec := edifactRecord("UNH*1*DESADV>D>96A>UN", "BGM*351*SHP-11*9", "DTM*137>202401150930>203",
		"RFF*ON>PO-H", "DTM*171>20240105>102",
		"CPS*1", "PAC*1**CT",
		"LIN*1", "PIA*5*H-1>BP", "QTY*12>1",
		"LIN*2", "PIA*5*X-1>BP", "QTY*12>2", "RFF*ON>PO-X>4",
		"CPS*2*1", "PAC*1**CT", "PCI*33E", "GIN*BJ*SSCC-2",
		"LIN*3", "PIA*5*H-2>BP", "QTY*12>3",
		"LIN*4", "PIA*5*X-2>BP", "QTY*12>4", "RFF*ON>PO-X>7",
		"CNT*2>4", "UNT*26*1")
	evs, err := m.Map(rec)
	if err != nil {
		t.Fatal(err)
	}
	type item struct {
		Line string `json:"lineNumber"`
		Part string `json:"buyerPartNumber"`
		PO   string `json:"purchaseOrderNumber,omitempty"`
	}
	var got struct {
		Orders []struct {
			PO    string `json:"purchaseOrderNumber"`
			Items []item `json:"items"`
		} `json:"orders"`
		Packs []struct {
			SSCC  string `json:"sscc"`
			Items []item `json:"items"`
		} `json:"packs"`
		Items []item `json:"items"`
	}
	if err := json.Unmarshal(evs[0].Data, &got); err != nil {
		t.Fatal(err)
	}
	var places []string
	for _, o := range got.Orders {
		for _, it := range o.Items {
			places = append(places, fmt.Sprintf("order %s: %s line %s %s", o.PO, it.Part, it.Line, it.PO))
		}
	}
	for _, p := range got.Packs {
		for _, it := range p.Items {
			places = append(places, fmt.Sprintf("pack %s: %s line %s %s", p.SSCC, it.Part, it.Line, it.PO))
		}
	}
	want := []string{
		"order PO-H: H-1 line 1 ",
		"order PO-X: X-1 line 4 ",
		"pack SSCC-2: H-2 line 3 PO-H",
		"pack SSCC-2: X-2 line 7 PO-X",
	}
	if diff := cmp.Diff(want, places); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	if len(got.Items) != 0 {
		t.Errorf("shipment items %v, want none", got.Items)
	}
}

// TestDesadvWithoutCPS: a despatch advice that sends no packing level
// (CPS is mandatory in D.96A, but some partners leave it out) keeps its
// lines as the shipment's, grouped by order, as before the hierarchy.
func TestDesadvWithoutCPS(t *testing.T) {
	m := demoMapping(t, "edifact-desadv-shipment-notice.yaml")
	rec := edifactRecord("UNH*1*DESADV>D>96A>UN", "BGM*351*SHP-14*9", "DTM*137>202401150930>203",
		"LIN*1", "PIA*5*A-1>BP", "QTY*12>1", "RFF*ON>PO-A>1",
		"LIN*2", "PIA*5*B-1>BP", "QTY*12>2",
		"CNT*2>2", "UNT*11*1")
	evs, err := m.Map(rec)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"orders[PO-A]/items: A-1 1", "items: B-1 2"}
	if diff := cmp.Diff(want, placements(t, evs[0].Data)); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}

// edifactRecord builds an EDIFACT message from segment texts written like
// x12Record's ('*' between elements, '>' between components).
func edifactRecord(segs ...string) legacybridge.Record {
	rec := x12Record("DESADV", segs...)
	rec.Format = "edifact"
	rec.Envelope = map[string]string{"unb02": "S", "unb03": "R", "unb05": "1", "version": "D:96A:UN"}
	return rec
}

// TestDesadvHierarchyErrors: a CPS level whose parent no earlier level
// has, an id used twice or no id fails the message at that CPS, as a
// broken HL hierarchy fails an 856.
func TestDesadvHierarchyErrors(t *testing.T) {
	m := demoMapping(t, "edifact-desadv-shipment-notice.yaml")
	for _, c := range []struct {
		name, cps, want string
	}{
		{"unknown parent", "CPS*3*9", "CPS 3 names parent 9, which no earlier CPS has"},
		{"id used twice", "CPS*1", "CPS01 1 is used twice"},
		{"no id", "CPS", "CPS01 (hierarchical id) is empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := edifactRecord("UNH*1*DESADV>D>96A>UN", "BGM*351*SHP-12*9", "DTM*137>202401150930>203",
				"CPS*1", "LIN*1", "PIA*5*A-1>BP", "QTY*12>1",
				c.cps, "PAC*1**CT", "LIN*2", "PIA*5*A-2>BP", "QTY*12>1", "CNT*2>2", "UNT*13*1")
			_, err := m.Map(rec)
			var me *Error
			if !errors.As(err, &me) {
				t.Fatalf("Map: %v, want an *Error", err)
			}
			if me.Tag != "CPS" || me.Segment != 3+7 || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q at segment %d (%s); want %q at segment 10 (CPS)", err, me.Segment, me.Tag, c.want)
			}
		})
	}
}

// TestHierarchyProblems: a group declared as a hierarchy needs id:,
// parent: (elements of its own tag) and level:; level selectors need a
// hierarchy, by: takes groups, not loops; outside: takes loops or groups,
// not plain segments.
func TestHierarchyProblems(t *testing.T) {
	m, err := Parse("hier.yaml", []byte(`
name: hier-problems
match: {format: edifact, type: DESADV}
event: {type: com.legacybridge.shipment.notice.v1, subject: BGM02}
lookups:
  kinds: {"201": T}
groups:
  CPS: {until: [CNT, UNT], id: CPS01, parent: CPS02, level: "PAC03 | lookup(kinds, 'P')"}
  EQD: {until: [CPS], id: EQD01, parent: PAC02}
  TDT: {until: [CPS], id: TDT01, parent: TDT02, level: "TDT03 | nope"}
  LIN: {until: [LIN, CPS], top: "'S'"}
data:
  shipmentId: BGM02
  items: {each: "LIN[T]", fields: {lineNumber: LIN01}}
  orders: {each: CPS, by: CPS01, fields: {purchaseOrderNumber: CPS01}}
  packs: {each: PAC, outside: [T], fields: {sscc: PAC01}}
  tares: {each: "CPS[T]", outside: [T, P], fields: {sscc: "GIN[GIN01=BJ]/GIN02"}}
`), testRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	all := errors.Join(m.Validate()...).Error()
	for _, want := range []string{
		`hier.yaml: groups.EQD: parent: "PAC02" is not an element of EQD`,
		`hier.yaml: groups.EQD: level: missing`,
		`hier.yaml: groups.TDT.level: "TDT03 | nope": unknown transform "nope"`,
		`hier.yaml: groups.LIN: id: missing`,
		`data.items: LIN[T]: [T] selects loops by level, and LIN is not a hierarchy`,
		`data.orders: by: groups declared groups (groups:), and CPS selects CPS loops, a hierarchy`,
		`data.packs: outside: applies to HL loops, hierarchies and declared groups, and PAC selects PAC, a plain segment`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("problems do not include %q", want)
		}
	}
	if strings.Contains(all, "data.tares") || strings.Contains(all, "groups.CPS") {
		t.Errorf("problems name the valid hierarchy or its selector:\n%s", all)
	}
	if t.Failed() {
		t.Logf("problems:\n%s", all)
	}
}

// TestHierarchyLevelError: a level expression that fails (a package type
// missing from a lookup without fallback) fails the message at that
// level's segment, naming the hierarchy's level: key.
func TestHierarchyLevelError(t *testing.T) {
	m := mustParse(t, `
name: strict-levels
match: {format: edifact, type: DESADV}
event: {type: com.legacybridge.shipment.notice.v1, subject: BGM02}
lookups:
  kinds: {"201": T, CT: P}
groups:
  LIN: {until: [LIN, CPS, CNT]}
  CPS: {until: [CNT], id: CPS01, parent: CPS02, level: PAC03 | lookup(kinds), top: "'S'"}
data:
  shipmentId: BGM02
  issuedAt: DTM[DTM01=137]/DTM01-2 | datetime
  packs:
    each: "CPS[P]"
    fields:
      items: {each: LIN, fields: {buyerPartNumber: PIA02, quantityShipped: QTY01-2 | number, uom: {const: each}}}
  source: {standard: {const: edifact}}
`)
	rec := edifactRecord("UNH*1*DESADV>D>96A>UN", "BGM*351*SHP-13*9", "DTM*137>202401150930>203",
		"CPS*1", "PAC*9**ZZ", "CPS*2*1", "PAC*1**CT", "LIN*1", "PIA*5*A-1>BP", "QTY*12>1",
		"CPS*3*1", "PAC*1**BG", "LIN*2", "PIA*5*A-2>BP", "QTY*12>1", "CNT*2>2", "UNT*17*1")
	_, err := m.Map(rec)
	var me *Error
	if !errors.As(err, &me) {
		t.Fatalf("Map: %v, want an *Error", err)
	}
	if me.Tag != "PAC" || me.Segment != 3+11 || !strings.Contains(err.Error(), "CPS 3: groups.CPS.level:") || !strings.Contains(err.Error(), "BG") {
		t.Errorf("error %q at segment %d (%s); want CPS 3's level failing on BG at segment 14 (PAC)", err, me.Segment, me.Tag)
	}
	// The consignment's unknown ZZ is never looked up: top: gives its level.
	if strings.Contains(err.Error(), "ZZ") {
		t.Errorf("error %q: the consignment's level came from level:, not top:", err)
	}
}

// desadvLevel is one CPS level of a generated DESADV: its kind is T (a
// pallet, PAC 201), P (a carton, PAC CT), U (a package type the mapping
// does not list, a pack), X (no PAC: looked through) or S (the
// consignment, CPS+1); lines are how many lines it holds.
type desadvLevel struct {
	id, parent int
	kind       string
	lines      int
}

// desadvFromLevels writes a DESADV holding the levels in order, each with
// its labels and lines, and returns it with where every line's part
// should land, rendered like placements.
func desadvFromLevels(levels []desadvLevel) (legacybridge.Record, map[string]string, string) {
	byID := map[int]desadvLevel{}
	for _, l := range levels {
		byID[l.id] = l
	}
	held := func(k string) bool { return k == "T" || k == "P" || k == "U" }
	// nearest returns the nearest level from id upwards (id itself
	// included when self) whose kind ok accepts, or 0.
	nearest := func(id int, self bool, ok func(string) bool) int {
		if !self {
			id = byID[id].parent
		}
		for id != 0 && !ok(byID[id].kind) {
			id = byID[id].parent
		}
		return id
	}
	segs := []string{"UNH*1*DESADV>D>96A>UN", "BGM*351*RND*9", "DTM*137>202412030600>203"}
	want := map[string]string{}
	n := 0
	for _, l := range levels {
		if l.parent == 0 {
			segs = append(segs, fmt.Sprintf("CPS*%d", l.id))
		} else {
			segs = append(segs, fmt.Sprintf("CPS*%d*%d", l.id, l.parent))
		}
		switch l.kind {
		case "T":
			segs = append(segs, "PAC*1**201", "MEA*PD*AAB*KGM>100", "PCI*33E", fmt.Sprintf("GIN*BJ*SSCC%d", l.id))
		case "P":
			segs = append(segs, "PAC*1**CT", "PCI*33E", fmt.Sprintf("GIN*BJ*SSCC%d", l.id))
		case "U":
			segs = append(segs, "PAC*1**BG", fmt.Sprintf("GIN*BJ*SSCC%d", l.id))
		case "S":
			segs = append(segs, "PAC*3**201")
		}
		for range l.lines {
			n++
			part := fmt.Sprintf("PART%d", n)
			segs = append(segs, fmt.Sprintf("LIN*%d", n), "PIA*5*"+part+">BP", "QTY*12>1", "GIN*BN*SER"+part)
			place := ""
			if h := nearest(l.id, true, held); h != 0 {
				if byID[h].kind == "T" {
					place = fmt.Sprintf("tares[SSCC%d]", h)
				} else if tr := nearest(h, false, func(k string) bool { return k == "T" }); tr != 0 {
					place = fmt.Sprintf("tares[SSCC%d]/packs[SSCC%d]", tr, h)
				} else {
					place = fmt.Sprintf("packs[SSCC%d]", h)
				}
			}
			want[part] = place
		}
	}
	segs = append(segs, fmt.Sprintf("CNT*2>%d", n), fmt.Sprintf("UNT*%d*1", len(segs)+2))
	return edifactRecord(segs...), want, strings.Join(segs, "'")
}

// checkLinesOnce maps a generated DESADV and checks that every line lands
// exactly once, in the innermost tare or pack above it (the shipment when
// there is none), whatever levels are looked through.
func checkLinesOnce(t *testing.T, m *Mapping, levels []desadvLevel) {
	t.Helper()
	rec, want, text := desadvFromLevels(levels)
	evs, err := m.Map(rec)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	got := map[string]string{}
	for _, p := range placements(t, evs[0].Data) {
		where, what, _ := strings.Cut(p, "items: ")
		part := strings.Fields(what)[0]
		if prev, dup := got[part]; dup {
			t.Fatalf("%s at %q and at %q\n%s", part, prev, where, text)
		}
		got[part] = strings.TrimSuffix(where, "/")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("line places (-want +got):\n%s\n%s", diff, text)
	}
}

// TestDesadvLinesOnceRandom builds random packing hierarchies (pallets,
// cartons, unlisted package types, levels without a PAC; parents always
// earlier, not necessarily depth first) and checks every line lands once
// and where the 856 mapping would put the item of the same S/T/P tree.
func TestDesadvLinesOnceRandom(t *testing.T) {
	m := demoMapping(t, "edifact-desadv-shipment-notice.yaml")
	rng := rand.New(rand.NewPCG(3, 4))
	kinds := []string{"T", "P", "P", "U", "X"}
	for range 300 {
		levels := []desadvLevel{{1, 0, "S", rng.IntN(2)}}
		n := 2 + rng.IntN(12)
		for id := 2; id <= n; id++ {
			levels = append(levels, desadvLevel{id, 1 + rng.IntN(id-1), kinds[rng.IntN(len(kinds))], rng.IntN(3)})
		}
		levels[rng.IntN(len(levels))].lines++ // a shipment ships something
		checkLinesOnce(t, m, levels)
	}
}

// FuzzDesadvPacking: whatever packing tree the bytes describe (two bytes
// a level: its parent among the earlier ones, its kind and line count),
// every line lands exactly once, where the S/T/P rules put it.
func FuzzDesadvPacking(f *testing.F) {
	for _, s := range []string{"\x00\x01", "\x00\x00\x01\x05\x01\x09", "\x00\x04\x01\x00\x02\x08\x00\x0b", "\x00\x03\x01\x03\x02\x07"} {
		f.Add([]byte(s))
	}
	m := demoMapping(f, "edifact-desadv-shipment-notice.yaml")
	kinds := []string{"T", "P", "U", "X"}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 64 {
			b = b[:64]
		}
		levels := []desadvLevel{{1, 0, "S", 0}}
		for i := 0; i+1 < len(b); i += 2 {
			id := len(levels) + 1
			levels = append(levels, desadvLevel{id, 1 + int(b[i])%(id-1), kinds[b[i+1]%4], int(b[i+1]/4) % 3})
		}
		levels[len(levels)-1].lines++
		checkLinesOnce(t, m, levels)
	})
}
