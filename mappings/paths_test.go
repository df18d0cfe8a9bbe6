package mappings

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// po850 is a hand-built 850 with header and line segments of the same tags.
func po850() (recFn func() []string) {
	return func() []string {
		return []string{
			"ST*850*0001",
			"BEG*00*SA*PO-1**20240115",
			"REF*DP*038",
			"REF*IA*V-77",
			"REF*DP*999",
			"N1*BY*BUYER INC*92*B1",
			"N3*1 MAIN ST*SUITE 9",
			"N4*SPRINGFIELD*IL*62701",
			"N1*ST*DOCK 4*92*D4",
			"N3*9 DOCK RD",
			"N4*DAYTON*OH*45414*US",
			"PO1*1*10*EA*2.50**BP*ITEM-A*VN*VND-A",
			"REF*DP*LINE-DEPT",
			"PID*F****WIDGET A",
			"PO1*2*5*EA*3.00**VN*VND-B*BP*ITEM-B*UP*0123",
			"PID*F****WIDGET B",
			"SLN*1**I*2*EA*1.25*PE**BP*SUB-1",
			"CTT*2",
			"SE*17*0001",
		}
	}
}

var po850Groups = map[string]map[string]bool{
	"N1":  {"N1": true, "PO1": true, "CTT": true},
	"PO1": {"PO1": true, "CTT": true},
}

func TestX12Paths(t *testing.T) {
	rec := x12Record("850", po850()()...)
	rec.Segments[16].Elements[0] = [][]string{{"1", "A"}} // SLN01 as a composite: 1>A
	cases := []struct {
		expr string
		want any
	}{
		{"BEG03", "PO-1"},
		{"BEG04", nil},                        // empty element
		{"BEG09", nil},                        // past the end of the segment
		{"REF02", "038"},                      // first loose REF: the header's
		{"REF[REF01=IA]/REF02", "V-77"},       // qualifier selection
		{"REF[REF01=XX,IA]/REF02", "V-77"},    // any of several codes
		{"REF[2]/REF02", "V-77"},              // ordinal
		{"REF[3]/REF02", "999"},               // ordinal
		{"REF[REF01=ZZ]/REF02", nil},          // no such REF
		{"N1[N101=ST]/N102", "DOCK 4"},        // group by qualifier
		{"N1[N101=ST]/N301", "9 DOCK RD"},     // a follower of that N1
		{"N1[N101=BY]/N302", "SUITE 9"},       // its second element
		{"N1[N101=ST]/N404", "US"},            //
		{"N1[N101=BY]/N404", nil},             // short N4: never the next loop's
		{"N1/N102", "BUYER INC"},              // first group
		{"N102", nil},                         // N1 is a group: not loose at the root
		{"N301", nil},                         // followers are inside their group
		{"PO1/PO107", "ITEM-A"},               //
		{"PO1[2]/PO107", "VND-B"},             //
		{"PO1[PO101=2]/PO106*BP", "ITEM-B"},   // pair lookup, any position
		{"PO1[PO101=2]/PO106*VP,VN", "VND-B"}, // preference order
		{"PO1[PO101=2]/PO106*UP", "0123"},     //
		{"PO1/PO106*UP", nil},                 // pair absent
		{"PO1[PO101=1]/REF[REF01=DP]/REF02", "LINE-DEPT"},
		{"PO1[PO101=2]/REF[REF01=DP]/REF02", nil}, // the line has none: not the header's
		{"REF[REF01=DP]/REF02", "038"},            // and the header's is not the line's
		{"PO1[2]/SLN01", "1"},                     // first component
		{"PO1[2]/SLN01-2", "A"},                   // component 2
		{"PO1[2]/SLN01-3", nil},                   // no component 3
		{"PO1[2]/SLN09*BP", "SUB-1"},              //
		{"PO1[2]/PID05", "WIDGET B"},              //
		{"CTT01 | integer", json.Number("2")},     //
		{"ST02", "0001"},                          //
		{"envelope.isa06 | trim", "SENDER"},       //
		{"record.segment", json.Number("3")},      //
		{"concat(BEG03, '-', CTT01)", "PO-1-2"},   //
		{"BEG05 | datetime(BEG06)", "2024-01-15T00:00:00Z"},
	}
	for _, c := range cases {
		got, err := evalOn(t, rec, po850Groups, nil, nil, c.expr)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", c.expr, diff)
		}
	}
}

// TestEDIFACTPaths: the same paths work on EDIFACT messages, where
// qualifiers sit in components (DTM+137:20240115:102).
func TestEDIFACTPaths(t *testing.T) {
	rec := x12Record("ORDERS", "UNH*1*ORDERS>D>96A>UN", "BGM*220*PO-77*9",
		"DTM*2>20240120>102", "DTM*137>20240115>102",
		"NAD*BY*5412345000013>>9", "NAD*SU*4012345500004>>9",
		"LIN*1**4000862141404>SRS", "QTY*21>48", "UNS*S", "UNT*9*1")
	rec.Format = "edifact"
	groups := map[string]map[string]bool{"LIN": {"UNS": true}}
	for _, c := range []struct {
		expr string
		want any
	}{
		{"BGM02", "PO-77"},
		{"DTM[DTM01-1=137]/DTM01-2 | date", "2024-01-15"},
		{"DTM[DTM01-1=2]/DTM01-2 | date", "2024-01-20"},
		{"NAD[NAD01=SU]/NAD02-1", "4012345500004"},
		{"NAD[NAD01=SU]/NAD02-3", "9"},
		{"LIN/QTY[QTY01-1=21]/QTY01-2 | number", json.Number("48")},
		{"QTY01-2", nil}, // inside the LIN group only
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
}

// TestDatetimeSameSegment: datetime's time argument is read from the
// segment the date came from when it names an element of that segment.
func TestDatetimeSameSegment(t *testing.T) {
	rec := x12Record("856",
		"ST*856*0001", "BSN*00*S1*20240101*0800",
		"DTM*017*20240105*1300",
		"DTM*011*20240102*0930",
		"SE*5*0001")
	got, err := evalOn(t, rec, nil, nil, nil, "DTM[DTM01=011]/DTM02 | datetime(DTM03)")
	if err != nil {
		t.Fatal(err)
	}
	if want := "2024-01-02T09:30:00Z"; got != want {
		t.Errorf("got %v, want %v (the time of the DTM*011, not of the first DTM)", got, want)
	}
}

// TestShortSegments is case 12: a PO1 without PO108/PO109 has no vendor
// part; the next line's is never used.
func TestShortSegments(t *testing.T) {
	m := demoMapping(t, "x12-850-purchase-order.yaml")
	check := func(t *testing.T, rec []byte) {
		t.Helper()
		var d struct {
			Lines []map[string]any `json:"lines"`
		}
		if err := json.Unmarshal(rec, &d); err != nil {
			t.Fatal(err)
		}
		var got [][3]any
		for _, l := range d.Lines {
			got = append(got, [3]any{l["lineNumber"], l["buyerPartNumber"], l["vendorPartNumber"]})
		}
		want := [][3]any{{"1", "ITEM-A", "VND-A"}, {"2", "ITEM-B", nil}, {"3", "ITEM-C", "VND-C"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("lines (-want +got):\n%s", diff)
		}
	}
	t.Run("by hand", func(t *testing.T) {
		rec := x12Record("850", "ST*850*0001", "BEG*00*SA*PO0001**20240115",
			"PO1*1*1*EA*10.00**BP*ITEM-A*VN*VND-A",
			"PO1*2*1*EA*12.00**BP*ITEM-B",
			"PO1*3*1*EA*9.00**BP*ITEM-C*VN*VND-C",
			"CTT*3", "SE*7*0001")
		evs, err := m.Map(rec)
		if err != nil {
			t.Fatal(err)
		}
		check(t, evs[0].Data)
	})
	t.Run("case 12 file", func(t *testing.T) {
		recs := readX12(t, filepath.Join(sharedDir(t), "cases", "parsers", "inputs", "12_x12_short_po1.edi"))
		if len(recs) != 1 {
			t.Fatalf("%d records, want 1", len(recs))
		}
		evs, err := m.Map(recs[0])
		if err != nil {
			t.Fatal(err)
		}
		check(t, evs[0].Data)
	})
}

// TestHLNesting: items go under the order their HL02 names, also when
// orders interleave, and inside the pack or tare (and pack) between order
// and item; a pack's REF is the pack's, not its item's.
func TestHLNesting(t *testing.T) {
	m := demoMapping(t, "x12-856-shipment-notice.yaml")
	rec := x12Record("856",
		"ST*856*0001",
		"BSN*00*SHIP1*20240115*1200",
		"HL*1**S",
		"TD1*CTN*3",
		"HL*2*1*O", "PRF*PO-A",
		"HL*3*1*O", "PRF*PO-B",
		"HL*4*2*I", "LIN**BP*A1", "SN1**1*EA",
		"HL*5*3*I", "LIN**BP*B1", "SN1**2*EA",
		"HL*6*2*I", "LIN**BP*A2", "SN1**3*EA",
		"HL*7*3*P", "REF*LT*LOT-P", "MAN*GM*SSCC-7",
		"HL*8*7*I", "LIN**BP*B2", "SN1**4*EA",
		"HL*9*2*T", "MAN*GM*SSCC-9",
		"HL*10*9*P", "MAN*GM*SSCC-10",
		"HL*11*10*I", "LIN**BP*A3*LT*LOT-3", "SN1**5*CA",
		"CTT*11",
		"SE*30*0001")
	evs, err := m.Map(rec)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"orders[PO-A]/tares[SSCC-9]/packs[SSCC-10]/items: A3 5",
		"orders[PO-A]/items: A1 1",
		"orders[PO-A]/items: A2 3",
		"orders[PO-B]/packs[SSCC-7]/items: B2 4",
		"orders[PO-B]/items: B1 2",
	}
	if diff := cmp.Diff(want, placements(t, evs[0].Data)); diff != "" {
		t.Errorf("items and where they sit (-want +got):\n%s", diff)
	}
	var d struct {
		Orders []struct {
			Packs []struct {
				References []struct{ Value string } `json:"references"`
				Items      []struct {
					Lot string `json:"lot"`
				} `json:"items"`
			} `json:"packs"`
			Tares []struct {
				Packs []struct {
					Items []struct {
						Lot string `json:"lot"`
						UOM string `json:"uom"`
					} `json:"items"`
				} `json:"packs"`
			} `json:"tares"`
		} `json:"orders"`
	}
	if err := json.Unmarshal(evs[0].Data, &d); err != nil {
		t.Fatal(err)
	}
	got := []string{
		d.Orders[1].Packs[0].References[0].Value,
		d.Orders[1].Packs[0].Items[0].Lot,
		d.Orders[0].Tares[0].Packs[0].Items[0].Lot,
		d.Orders[0].Tares[0].Packs[0].Items[0].UOM,
	}
	if diff := cmp.Diff([]string{"LOT-P", "", "LOT-3", "case"}, got); diff != "" {
		t.Errorf("pack reference, item lots and unit (-want +got):\n%s", diff)
	}
}

// TestHLOutside: an HL selector with outside: takes only the loops with no
// loop of those levels between them and the scope (at the root: above them
// at all), and looks through loops of other levels.
func TestHLOutside(t *testing.T) {
	rec := x12Record("856",
		"ST*856*0001",
		"HL*1**S",
		"HL*2*1*I",   // item straight under the shipment
		"HL*3*1*O",   // order
		"HL*4*3*I",   // item of the order
		"HL*5*3*P",   // pack of the order
		"HL*6*5*I",   // item in the pack
		"HL*7*6*I",   // sub-item (an I under an I)
		"HL*8*3*Q",   // a partner-specific level
		"HL*9*8*I",   // item under it: looked through
		"HL*10*1*T",  // tare straight under the shipment
		"HL*11*10*P", // pack on it
		"HL*12*11*I", // item in that pack
		"SE*14*0001")
	d, err := buildDoc(rec.Segments, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(ss []scope) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.n.id)
		}
		return out
	}
	hl := func(id string) scope {
		for _, h := range d.hls {
			if h.id == id {
				return scope{n: h, hl: h}
			}
		}
		t.Fatalf("no HL %s", id)
		return scope{}
	}
	root := scope{n: d.root}
	sel := func(level string, outside ...string) step {
		return step{tag: "HL", cond: cond{kind: condEq, elem: designator{tag: "HL", pos: 3}, values: []string{level}}, outside: outside}
	}
	for _, c := range []struct {
		name string
		in   scope
		st   step
		want []string
	}{
		{"all items at the root", root, sel("I"), []string{"2", "4", "6", "7", "9", "12"}},
		{"items outside orders, tares, packs at the root", root, sel("I", "O", "T", "P"), []string{"2"}},
		{"items of the order outside packs", hl("3"), sel("I", "T", "P"), []string{"4", "9"}},
		{"items of the order, any depth", hl("3"), sel("I"), []string{"4", "6", "7", "9"}},
		{"items of the pack: sub-items too", hl("5"), sel("I", "O", "T", "P"), []string{"6", "7"}},
		{"items of the pack, not under items", hl("5"), sel("I", "I"), []string{"6"}},
		{"packs outside orders and tares at the root", root, sel("P", "O", "T"), nil},
		{"packs of the tare", hl("10"), sel("P", "O", "T"), []string{"11"}},
		{"tares outside orders", root, sel("T", "O"), []string{"10"}},
		{"outside names the scope's own level", hl("3"), sel("I", "O"), []string{"4", "6", "7", "9"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, ids(d.selectAll(c.in, c.st, true, 0))); diff != "" {
				t.Errorf("selected HL01s (-want +got):\n%s", diff)
			}
		})
	}
	// An ordinal counts only the loops outside: below the order, the loops
	// outside packs are 4, 5 (the pack itself), 8 and 9; the third is 8
	// (without outside: it would be 6, inside the pack).
	for _, c := range []struct {
		outside []string
		want    string
	}{{[]string{"P"}, "8"}, {nil, "6"}} {
		st := step{tag: "HL", cond: cond{kind: condOrdinal, n: 3}, outside: c.outside}
		if got := ids(d.selectAll(hl("3"), st, true, 0)); !cmp.Equal(got, []string{c.want}) {
			t.Errorf("HL[3] outside %v below the order: %v, want [%s]", c.outside, got, c.want)
		}
	}
}

func TestHLStructureErrors(t *testing.T) {
	m := demoMapping(t, "x12-856-shipment-notice.yaml")
	for _, c := range []struct {
		name    string
		segs    []string
		segment int // 1-based number of the bad segment
		msg     string
	}{
		{"unknown parent", []string{"ST*856*0001", "BSN*00*S*20240115*1200", "HL*1**S", "HL*2*9*O", "SE*5*0001"}, 6, "HL 2 names parent 9, which no earlier HL has"},
		{"duplicate id", []string{"ST*856*0001", "BSN*00*S*20240115*1200", "HL*1**S", "HL*1**O", "SE*5*0001"}, 6, "HL01 1 is used twice"},
		{"parent after child", []string{"ST*856*0001", "BSN*00*S*20240115*1200", "HL*2*1*O", "HL*1**S", "SE*5*0001"}, 5, "HL 2 names parent 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := x12Record("856", c.segs...)
			_, err := m.Map(rec)
			var me *Error
			if !errors.As(err, &me) {
				t.Fatalf("got %v (%T), want *mappings.Error", err, err)
			}
			if me.Segment != c.segment || me.Tag != "HL" {
				t.Errorf("at segment %d (%s), want %d (HL)", me.Segment, me.Tag, c.segment)
			}
			if !strings.Contains(me.Error(), c.msg) {
				t.Errorf("error %q does not say %q", me.Error(), c.msg)
			}
			if me.Place() != rec.Pos {
				t.Errorf("Place() = %+v, want the record's position %+v", me.Place(), rec.Pos)
			}
		})
	}
}
