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
	"legacybridge/parsers/x12"
)

// placements walks shipment notice data and lists every item with where it
// sits: "orders[PO]/packs[SSCC]/items: PART QTY". Orders are named by their
// purchase order number, tares and packs by their SSCC (or #index).
func placements(t *testing.T, data []byte) []string {
	t.Helper()
	var d map[string]any
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	if err := dec.Decode(&d); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(obj map[string]any, at string)
	walk = func(obj map[string]any, at string) {
		for _, kind := range []string{"orders", "tares", "packs", "items"} {
			list, _ := obj[kind].([]any)
			if v, ok := obj[kind]; ok && len(list) == 0 {
				t.Errorf("%s%s is %v, want a non-empty array", at, kind, v)
			}
			for i, x := range list {
				o := x.(map[string]any)
				if kind == "items" {
					part, _ := o["buyerPartNumber"].(string)
					out = append(out, fmt.Sprintf("%sitems: %s %v", at, part, o["quantityShipped"]))
					for _, k := range []string{"orders", "tares", "packs", "items"} {
						if _, ok := o[k]; ok {
							t.Errorf("%sitems[%d] holds %s", at, i, k)
						}
					}
					continue
				}
				name := fmt.Sprintf("#%d", i)
				if s, ok := o["sscc"].(string); ok {
					name = s
				}
				if po, ok := o["purchaseOrderNumber"].(string); ok {
					name = po
				}
				walk(o, fmt.Sprintf("%s%s[%s]/", at, kind, name))
			}
		}
	}
	walk(d, "")
	return out
}

// hlItems counts the item loops (HL03 = I) of a record.
func hlItems(rec legacybridge.Record) int {
	n := 0
	for _, s := range rec.Segments {
		if s.Tag == "HL" && s.Element(3).Value() == "I" {
			n++
		}
	}
	return n
}

// TestShipmentStructures maps hand-written 856s of each standard hierarchy
// (testdata/x12/README.md) through the real parser with the shipped
// mapping: every item lands once, in the innermost order, tare or pack it
// was shipped in, and the events match their goldens.
func TestShipmentStructures(t *testing.T) {
	m := demoMapping(t, "x12-856-shipment-notice.yaml")
	for _, c := range []struct {
		name string
		want []string
	}{
		{"si", []string{
			"items: 15001234 600",
			"items: 15004567 200",
		}},
		{"soi", []string{
			"orders[4500098812]/items: NW-77120 240",
			"orders[4500098812]/items: NW-40018 60",
			"orders[4500098840]/items: NW-11002 1200",
		}},
		{"sopi", []string{
			"orders[4500098812]/packs[00008123450000000018]/items: NW-77120 24",
			"orders[4500098812]/packs[00008123450000000025]/items: NW-40018 12",
			"orders[4500098812]/packs[00008123450000000025]/items: NW-40019 12",
			"orders[4500098840]/packs[00008123450000000032]/items: NW-11002 1200",
		}},
		{"sotpi", []string{
			"orders[4500098812]/tares[00008123450000001008]/packs[00008123450000001015]/items: NW-77120 24",
			"orders[4500098812]/tares[00008123450000001008]/packs[00008123450000001022]/items: NW-40018 12",
			"orders[4500098812]/tares[00008123450000001008]/packs[00008123450000001022]/items: NW-40019 12",
			"orders[4500098812]/tares[00008123450000001039]/packs[00008123450000001046]/items: NW-11002 600",
		}},
		{"stpi", []string{
			"tares[00008123450000002005]/packs[00008123450000002012]/items: NW-77120 24",
			"tares[00008123450000002005]/packs[00008123450000002012]/items: NW-11002 100",
			"tares[00008123450000002005]/packs[00008123450000002029]/items: NW-40018 12",
			"tares[00008123450000002036]/packs[00008123450000002043]/items: NW-11002 500",
		}},
		{"pallets-cartons", []string{
			"tares[381234560000000011]/packs[381234560000000028]/items: NW-77120 24",
			"tares[381234560000000011]/packs[381234560000000028]/items: NW-11002 100",
			"tares[381234560000000011]/packs[381234560000000035]/items: NW-40018 12",
			"tares[381234560000000042]/packs[381234560000000059]/items: NW-40019 12",
			"tares[381234560000000042]/items: NW-11003 500",
			"packs[381234560000000066]/items: NW-90551 16",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			recs := readX12(t, filepath.Join("testdata", "x12", "856-"+c.name+".edi"))
			if len(recs) != 1 {
				t.Fatalf("%d transactions, want 1", len(recs))
			}
			evs, err := m.Map(recs[0])
			if err != nil {
				t.Fatal(err)
			}
			got := placements(t, evs[0].Data)
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("items and where they sit (-want +got):\n%s", diff)
			}
			if n := hlItems(recs[0]); len(got) != n {
				t.Errorf("%d items in the event, %d item loops in the transaction", len(got), n)
			}
			out, _ := mapAll(t, recs, m)
			checkGolden(t, "structure-"+c.name, out)
		})
	}
}

// TestShipmentPackDetails: a pack keeps its labels, packaging, weight and
// references; an item keeps its own order reference where no order level
// holds it; a pack's REF is not its item's.
func TestShipmentPackDetails(t *testing.T) {
	m := demoMapping(t, "x12-856-shipment-notice.yaml")
	recs := readX12(t, filepath.Join("testdata", "x12", "856-sopi.edi"))
	evs, err := m.Map(recs[0])
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Orders []struct {
			Packs []json.RawMessage `json:"packs"`
		} `json:"orders"`
	}
	if err := json.Unmarshal(evs[0].Data, &d); err != nil {
		t.Fatal(err)
	}
	got := []string{string(d.Orders[0].Packs[0]), string(d.Orders[0].Packs[1])}
	want := []string{
		`{"items":[{"buyerPartNumber":"NW-77120","gtin":"012345678905","lineNumber":"1","quantityShipped":24,"uom":"each"}],"marks":[{"type":"sscc","typeCode":"GM","value":"00008123450000000018"}],"packaging":{"code":"CTN25"},"sscc":"00008123450000000018"}`,
		`{"items":[{"buyerPartNumber":"NW-40018","lineNumber":"2","lot":"L24-3381","quantityShipped":12,"uom":"each"},{"buyerPartNumber":"NW-40019","lineNumber":"3","quantityShipped":12,"uom":"each"}],"marks":[{"type":"sscc","typeCode":"GM","value":"00008123450000000025"},{"type":"carrier_package_id","typeCode":"CP","value":"1Z999AA10123456784"}],"packaging":{"code":"CTN25","quantity":1},"sscc":"00008123450000000025","weight":{"qualifier":"gross","unit":"pound","value":18.2}}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("packs of the first order (-want +got):\n%s", diff)
	}

	recs = readX12(t, filepath.Join("testdata", "x12", "856-stpi.edi"))
	if evs, err = m.Map(recs[0]); err != nil {
		t.Fatal(err)
	}
	var s struct {
		Tares []struct {
			Packs []struct {
				Items []struct {
					Part string `json:"buyerPartNumber"`
					PO   string `json:"purchaseOrderNumber"`
				} `json:"items"`
			} `json:"packs"`
		} `json:"tares"`
	}
	if err := json.Unmarshal(evs[0].Data, &s); err != nil {
		t.Fatal(err)
	}
	var pos []string
	for _, tr := range s.Tares {
		for _, p := range tr.Packs {
			for _, it := range p.Items {
				pos = append(pos, it.Part+" "+it.PO)
			}
		}
	}
	if diff := cmp.Diff([]string{"NW-77120 4500098812", "NW-11002 4500098840", "NW-40018 4500098812", "NW-11002 4500098840"}, pos); diff != "" {
		t.Errorf("pick-and-pack items and their orders (-want +got):\n%s", diff)
	}
}

// TestShipmentWithoutContents: a shipment level with nothing below it (or
// only levels that carry nothing) fails the schema's anyOf, naming the
// keys it wants.
func TestShipmentWithoutContents(t *testing.T) {
	m := demoMapping(t, "x12-856-shipment-notice.yaml")
	for _, c := range []struct {
		name string
		hls  string
	}{
		{"shipment only", "HL*1**S~TD1*CTN25*4~"},
		{"empty pack", "HL*1**S~TD1*CTN25*4~HL*2*1*P~"},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := "BSN*00*EMPTY-1*20241203*0600~" + c.hls + "CTT*0~"
			n := strings.Count(body, "~") + 2
			src := "ISA*00*          *00*          *ZZ*ACMEPARTS      *ZZ*NORTHWIND      *241203*0600*U*00401*000000201*0*P*>~" +
				"GS*SH*ACMEPARTS*NORTHWIND*20241203*0600*201*X*004010~ST*856*0001~" + body +
				fmt.Sprintf("SE*%d*0001~GE*1*201~IEA*1*000000201~", n)
			rec, err := x12.Parser{}.NewReader(strings.NewReader(src), "empty.edi").Read()
			if err != nil {
				t.Fatal(err)
			}
			evs, err := m.Map(rec)
			if err == nil {
				t.Fatalf("no error; event %s", evs[0].Data)
			}
			var me *Error
			var se *SchemaError
			if !errors.As(err, &me) || !errors.As(err, &se) {
				t.Fatalf("%v (%T): want a *mappings.Error wrapping a *SchemaError", err, err)
			}
			if me.Keyword != "anyOf" || me.Field != "" {
				t.Errorf("keyword %q at field %q, want anyOf at the top", me.Keyword, me.Field)
			}
			for _, s := range []string{"empty.edi", "com.legacybridge.shipment.notice.v1", "anyOf", "'orders'", "'items'", "'tares'", "'packs'"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %s", err, s)
				}
			}
		})
	}
}

// TestShipmentItemsOnceRandom builds random hierarchies of shipment, order,
// tare, pack, item and other (partner-specific) levels, parents always
// earlier, and checks that every item loop lands in the event exactly once,
// under the innermost order, tare or pack above it that the event can hold
// it in.
func TestShipmentItemsOnceRandom(t *testing.T) {
	m := demoMapping(t, "x12-856-shipment-notice.yaml")
	rng := rand.New(rand.NewPCG(1, 2))
	levels := []string{"O", "T", "P", "I", "I", "I", "Q"}
	for round := 0; round < 300; round++ {
		type loop struct {
			id, parent int
			level      string
		}
		loops := []loop{{1, 0, "S"}}
		n := 2 + rng.IntN(14)
		for id := 2; id <= n; id++ {
			loops = append(loops, loop{id, 1 + rng.IntN(id-1), levels[rng.IntN(len(levels))]})
		}
		// Every order ships something, and so does the shipment: an item
		// under each order and one more anywhere, all later in the
		// document (which need not be depth-first).
		for _, l := range loops {
			if l.level == "O" {
				loops = append(loops, loop{len(loops) + 1, l.id, "I"})
			}
		}
		loops = append(loops, loop{len(loops) + 1, 1 + rng.IntN(len(loops)), "I"})
		segs := []string{"ST*856*0001", "BSN*00*RND*20241203*0600"}
		wantPath := map[string]string{} // part → expected place
		byID := map[int]loop{}
		for _, l := range loops {
			byID[l.id] = l
			parent := ""
			if l.parent > 0 {
				parent = fmt.Sprint(l.parent)
			}
			segs = append(segs, fmt.Sprintf("HL*%d*%s*%s", l.id, parent, l.level))
			switch l.level {
			case "O":
				segs = append(segs, fmt.Sprintf("PRF*PO%d", l.id))
			case "T", "P":
				segs = append(segs, fmt.Sprintf("MAN*GM*SSCC%d", l.id))
			case "I":
				part := fmt.Sprintf("PART%d", l.id)
				segs = append(segs, "LIN**BP*"+part, "SN1**1*EA")
				wantPath[part] = place(l.id, func(id int) (int, string) { return byID[id].parent, byID[id].level })
			}
		}
		segs = append(segs, "SE*0*0001")
		rec := x12Record("856", segs...)
		evs, err := m.Map(rec)
		if err != nil {
			t.Fatalf("round %d: %v\n%s", round, err, strings.Join(segs, "~"))
		}
		got := map[string]string{}
		for _, p := range placements(t, evs[0].Data) {
			where, what, _ := strings.Cut(p, "items: ")
			part := strings.Fields(what)[0]
			if prev, dup := got[part]; dup {
				t.Fatalf("round %d: %s at %q and at %q\n%s", round, part, prev, where, strings.Join(segs, "~"))
			}
			got[part] = strings.TrimSuffix(where, "/")
		}
		if len(got) != hlItems(rec) {
			t.Errorf("round %d: %d items in the event, %d item loops", round, len(got), hlItems(rec))
		}
		if diff := cmp.Diff(wantPath, got); diff != "" {
			t.Fatalf("round %d: item places (-want +got):\n%s\n%s", round, diff, strings.Join(segs, "~"))
		}
	}
}

// place computes where the mapping should put the loop id of a level held
// by orders, tares and packs: its chain of holders, from the outermost,
// rendered like placements. Kinds a level may hold: the shipment (root) all,
// an order tares, packs and items, a tare packs and items, a pack items.
func place(id int, up func(int) (int, string)) string {
	holds := map[string]string{"O": "TPI", "T": "PI", "P": "I"}
	name := map[string]string{"O": "orders[PO%d]", "T": "tares[SSCC%d]", "P": "packs[SSCC%d]"}
	_, kind := up(id)
	var chain []string
	for {
		// the nearest ancestor that can hold this kind
		p, _ := up(id)
		for p != 0 {
			_, l := up(p)
			if strings.Contains(holds[l], kind) {
				break
			}
			p, _ = up(p)
		}
		if p == 0 {
			break
		}
		_, l := up(p)
		chain = append(chain, fmt.Sprintf(name[l], p))
		id, kind = p, l
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	return strings.Join(chain, "/")
}

// TestShipmentKeysChecked: output keys inside orders, tares, packs and
// items are checked against the schema's shared definitions, so a misspelt
// key deep in the hierarchy is a problem, not a silently ignored extra.
func TestShipmentKeysChecked(t *testing.T) {
	src := `
name: typo-856
match: {format: x12, type: "856"}
event: {type: com.legacybridge.shipment.notice.v1, subject: BSN02}
data:
  shipmentId: BSN02
  orders:
    each: HL[O]
    fields:
      purchaseOrderNumber: PRF01
      tares:
        each: HL[T]
        outside: O
        fields:
          ssc: MAN02
          packs:
            each: HL[P]
            fields:
              items: {each: "HL[I]", fields: {quantityShiped: SN102}}
  items: {each: "HL[I]", outside: [O, T, P], fields: {uom: SN103, purchaseOrderNumbr: PRF01}}
  packs: {each: "HL[P]", fields: {marks: {each: MAN, fields: {typ: MAN01}}}}
`
	m, err := Parse("typo.yaml", []byte(src), testRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range m.Validate() {
		s := p.Error()
		i := strings.Index(s, " is not a property")
		if i < 0 {
			t.Errorf("unexpected problem: %v", p)
			continue
		}
		got = append(got, s[:i])
	}
	want := []string{
		`typo.yaml: data.orders.tares.ssc: "ssc"`,
		`typo.yaml: data.orders.tares.packs.items.quantityShiped: "quantityShiped"`,
		`typo.yaml: data.items.purchaseOrderNumbr: "purchaseOrderNumbr"`,
		`typo.yaml: data.packs.marks.typ: "typ"`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("misspelt keys (-want +got):\n%s", diff)
	}
}
