package mappings

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
)

// poHeader is a minimal valid 850 mapping head; tests append data fields.
const poHead = `
name: test-850
match: {format: x12, type: "850"}
event:
  type: com.legacybridge.purchase.order.v1
  subject: BEG03
groups:
  PO1: {until: [CTT]}
`

const poData = `
data:
  purchaseOrderNumber: BEG03
  orderDate: BEG05 | date
  currency: CUR02
  lines:
    each: PO1
    fields:
      quantity: PO102 | number
      uom: PO103
      buyerPartNumber: PO107
  source:
    standard: {const: x12}
`

func TestSchemaFailure(t *testing.T) {
	m := mustParse(t, poHead+poData)
	for _, c := range []struct {
		name    string
		segs    []string
		field   string
		keyword string
		segment string // the segment the error points at
	}{
		{"pattern", []string{"ST*850*0001", "BEG*00*SA*PO1**20240115", "CUR*BY*usd", "PO1*1*1*EA***BP*A", "SE*5*0001"}, "currency", "pattern", "5 CUR"},
		{"required", []string{"ST*850*0001", "BEG*00*SA*PO1", "PO1*1*1*EA***BP*A", "SE*4*0001"}, "orderDate", "required", "4 BEG"},
		{"required in array", []string{"ST*850*0001", "BEG*00*SA*PO1**20240115", "PO1*1*1*EA***BP*A", "PO1*2*1", "SE*5*0001"}, "lines[1].uom", "required", "6 PO1"},
		{"minItems", []string{"ST*850*0001", "BEG*00*SA*PO1**20240115", "SE*3*0001"}, "lines", "required", "4 BEG"},
		{"anyOf", []string{"ST*850*0001", "BEG*00*SA*PO1**20240115", "PO1*1*1*EA", "SE*4*0001"}, "lines[0]", "anyOf", "5 PO1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := x12Record("850", c.segs...)
			evs, err := m.Map(rec)
			if err == nil {
				t.Fatalf("no error; events %s", evs[0].Data)
			}
			var me *Error
			if !errors.As(err, &me) {
				t.Fatalf("%v (%T) is not a *mappings.Error", err, err)
			}
			var pl legacybridge.Placer
			if !errors.As(err, &pl) || pl.Place() != rec.Pos {
				t.Errorf("Place() does not give the record's position %+v", rec.Pos)
			}
			var se *SchemaError
			if !errors.As(err, &se) {
				t.Fatalf("%v does not wrap a *SchemaError", err)
			}
			got := [3]string{me.Field, me.Keyword, fmt.Sprint(me.Segment, " ", me.Tag)}
			if diff := cmp.Diff([3]string{c.field, c.keyword, c.segment}, got); diff != "" {
				t.Errorf("field, keyword (-want +got):\n%s\nerror: %v", diff, err)
			}
			for _, s := range []string{"hand.edi", "segment 3 (ST)", c.field, "schema keyword " + c.keyword, "com.legacybridge.purchase.order.v1"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestMappingErrorNamesSegmentAndField(t *testing.T) {
	m := demoMapping(t, "x12-850-purchase-order.yaml")
	rec := x12Record("850", "ST*850*0001", "BEG*00*SA*PO1**20240115",
		"PO1*1*1*EA*2.50**BP*A",
		"PO1*2*1*EA*2,50**BP*B",
		"CTT*2", "SE*6*0001")
	_, err := m.Map(rec)
	var me *Error
	if !errors.As(err, &me) {
		t.Fatalf("got %v, want *mappings.Error", err)
	}
	want := Error{Mapping: "x12-850-purchase-order", Pos: rec.Pos, Segment: 6, Tag: "PO1", Field: "lines[1].unitPrice"}
	got := *me
	got.Err = nil
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if !strings.Contains(err.Error(), `segment 6 (PO1): lines[1].unitPrice: number: not a decimal: "2,50"`) {
		t.Errorf("message %q", err)
	}
}

func TestSubjectRequired(t *testing.T) {
	m := demoMapping(t, "x12-850-purchase-order.yaml")
	_, err := m.Map(x12Record("850", "ST*850*0001", "BEG*00*SA***20240115", "PO1*1*1*EA***BP*A", "SE*4*0001"))
	var me *Error
	if !errors.As(err, &me) || me.Field != "subject" || !errors.Is(err, ErrRequired) {
		t.Fatalf("got %v, want a subject error wrapping ErrRequired", err)
	}
}

func TestAppliesAndSkips(t *testing.T) {
	inv := demoMapping(t, "inventory-movement.yaml")
	po := demoMapping(t, "x12-850-purchase-order.yaml")
	for _, c := range []struct {
		m    *Mapping
		rec  legacybridge.Record
		want bool
	}{
		{inv, legacybridge.Record{Format: "fixedwidth", Type: "header"}, false},
		{inv, legacybridge.Record{Format: "fixedwidth", Type: "trailer"}, false},
		{inv, legacybridge.Record{Format: "fixedwidth", Type: "movement"}, true},
		{inv, legacybridge.Record{Format: "csv", Type: "movement"}, false},
		{po, x12Record("810"), false},
		{po, x12Record("850"), true},
	} {
		if got := c.m.Applies(c.rec); got != c.want {
			t.Errorf("%s applies to %s %s: %v, want %v", c.m.Name(), c.rec.Format, c.rec.Type, got, c.want)
		}
		if !c.want {
			evs, err := c.m.Map(c.rec)
			if evs != nil || err != nil {
				t.Errorf("%s on %s %s: %v, %v; want nothing", c.m.Name(), c.rec.Format, c.rec.Type, evs, err)
			}
		}
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	src := `
name: broken
match: {format: x12, type: "850"}
event:
  type: com.example.nothing.v1
  subject: BEG03 | trimm
  time: BEG05 | datetime(BEG99x)
timezone: Mars/Olympus
groups:
  PO1: {until: [ctt]}
lookups:
  uom: {EA: each}
data:
  a: BEG3
  b: BEG03 | lookup(units)
  c: fields.item
  d: REF[REF01=DP]/N102
  e: N1[N101=ST]/N301
  f:
    each: PO1
    value: PO102
    fields: {x: PO103}
  g:
    each: PO1
    fields: {q: PO102 | number(x)}
    colour: red
  h: {with: N1/N3, fields: {x: N301}}
  i: {const: ~}
  j: BEG03 | default()
  k: concat(BEG03)
  l: PO1[0]/PO101
  m: upper(BEG03)
  n: BEG03 | lookup(uom, ZZ)
  o: {each: REF, outside: [O], fields: {x: REF02}}
  p: {each: "HL[I]", outside: [o, P], fields: {x: PO102}}
  q: {with: "HL[I]", outside: {O: x}, fields: {x: PO102}}
  r: {each: "HL[I]", outside: [], fields: {x: PO102}}
`
	srcTypo := strings.Replace(poHead, "test-850", "typo", 1) + `
data:
  purchaseOrderNumber: BEG03
  purchaseOrderNumbr: BEG03
  lines:
    each: PO1
    fields:
      quantity: PO102
      untiPrice: PO104
  parties:
    each: N1
    fields:
      address: {city: N401, zip: N403}
  source: {standard: {const: x12}, sendr: {id: BEG03}}
`
	m, err := Parse("broken.yaml", []byte(src), testRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	wantAll := []string{
		`no schema for event type "com.example.nothing.v1"`,
		`event.subject: "BEG03 | trimm": unknown transform "trimm"`,
		`event.time`,
		`timezone: unknown time zone Mars/Olympus`,
		`groups: PO1: until: "ctt" is not a segment tag`,
		`data.a: "BEG3": bad element "BEG3"`,
		`data.b: "BEG03 | lookup(units)": lookup(units): no lookup table "units"`,
		`data.c: fields.item: x12 records have segments, not fields`,
		`data.d: REF[REF01=DP]/N102: REF is a segment, not a group`,
		`data.e: N1[N101=ST]/N301: N1 is a segment, not a group`,
		`data.f: each: takes fields: or value:, not both`,
		`data.g.q: "PO102 | number(x)": number(x): want implied decimal places`,
		`unknown key "colour" in a each: construct`,
		`data.h: N1/N3: N1 is not a group`,
		`data.i: const: null is not a value`,
		`data.j: "BEG03 | default()": default takes 1 to 1 arguments, not 0`,
		`data.k: "concat(BEG03)": concat needs at least two operands`,
		`data.l: "PO1[0]/PO101": bad selector [0]: ordinals start at 1`,
		`data.m: "upper(BEG03)": unknown function "upper"`,
		`data.n: "BEG03 | lookup(uom, ZZ)": lookup: fallback: bad element "ZZ"`,
		`data.o: outside: applies to HL loops, hierarchies and declared groups, and REF selects REF, a plain segment`,
		`data.p: outside: "o" is not a level code (HL03, such as O or P)`,
		`data.q: outside: want a level code (HL03) or a list of them`,
		`data.r: outside: no level codes`,
	}
	ps := m.Validate()
	all := errors.Join(ps...).Error()
	for _, w := range wantAll {
		if !strings.Contains(all, w) {
			t.Errorf("problems do not include %q", w)
		}
	}
	if t.Failed() {
		t.Logf("problems:\n%s", all)
	}
	if _, err := m.Map(x12Record("850")); err == nil {
		t.Error("Map ran a mapping with problems")
	}
	typo, err := Parse("typo.yaml", []byte(srcTypo), testRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range typo.Validate() {
		s := p.Error()
		got = append(got, s[:strings.Index(s, " is not a property")])
	}
	want := []string{
		`typo.yaml: data.purchaseOrderNumbr: "purchaseOrderNumbr"`,
		`typo.yaml: data.lines.untiPrice: "untiPrice"`,
		`typo.yaml: data.parties.address.zip: "zip"`,
		`typo.yaml: data.source.sendr: "sendr"`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("misspelt keys (-want +got):\n%s", diff)
	}
}

func TestUnknownKeysAreErrors(t *testing.T) {
	for _, src := range []string{
		poHead + poData + "\nextra: 1\n",
		strings.Replace(poHead, "subject: BEG03", "subject: BEG03\n  subjekt: x", 1) + poData,
		strings.Replace(poHead, "PO1: {until: [CTT]}", "PO1: {until: [CTT], after: [X]}", 1) + poData,
	} {
		if _, err := Parse("x.yaml", []byte(src), testRegistry(t)); err == nil || !strings.Contains(err.Error(), "not found in type") {
			t.Errorf("got %v, want an unknown-field error", err)
		}
	}
}

func TestLoadReportsProblems(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.yaml")
	if err := os.WriteFile(p, []byte(poHead+"data:\n  purchaseOrderNumber: BEG03 | nope\n  currency: fields.y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Loader{Registry: testRegistry(t)}.Load(p)
	var ps *Problems
	if !errors.As(err, &ps) || len(ps.Errs) != 2 {
		t.Fatalf("got %v, want *Problems with 2 problems", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestAnchorsAndMerge(t *testing.T) {
	m := mustParse(t, poHead+`
data:
  purchaseOrderNumber: BEG03
  orderDate: BEG05 | date
  lines:
    each: PO1
    fields:
      <<: &line
        quantity: PO102 | number
        uom: PO103
      buyerPartNumber: PO107
      uom: PO103 | lower
  source: {standard: {const: x12}}
`)
	evs, err := m.Map(x12Record("850", "ST*850*0001", "BEG*00*SA*PO1**20240115", "PO1*1*3*EA***BP*A", "SE*4*0001"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"lines":[{"buyerPartNumber":"A","quantity":3,"uom":"ea"}],"orderDate":"2024-01-15","purchaseOrderNumber":"PO1","source":{"standard":"x12"}}`
	if got := string(evs[0].Data); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestEventAttributes(t *testing.T) {
	m := demoMapping(t, "x12-856-shipment-notice.yaml")
	rec := x12Record("856", "ST*856*0001", "BSN*00* SHIP-9 *20240115*235959",
		"HL*1**S", "HL*2*1*O", "PRF*PO1", "HL*3*2*I", "LIN**VP*V", "SN1**1*EA", "SE*9*0001")
	evs, err := m.Map(rec)
	if err != nil {
		t.Fatal(err)
	}
	e := evs[0]
	got := []string{e.Type, e.Subject, e.Time.Format("2006-01-02T15:04:05Z07:00"), e.DataSchema}
	want := []string{"com.legacybridge.shipment.notice.v1", "SHIP-9", "2024-01-15T23:59:59Z",
		"https://schemas.legacybridge.dev/com.legacybridge.shipment.notice.v1.json"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if e.ID != "" || e.Source != "" {
		t.Errorf("mapper filled ID/Source (%q, %q); the runner does", e.ID, e.Source)
	}
}

func TestRegistry(t *testing.T) {
	reg := testRegistry(t)
	want := []string{"com.legacybridge.inventory.movement.v1", "com.legacybridge.payment.batch.v1", "com.legacybridge.purchase.order.v1", "com.legacybridge.shipment.notice.v1"}
	if diff := cmp.Diff(want, reg.Types()); diff != "" {
		t.Errorf("types (-want +got):\n%s", diff)
	}
	et, _ := reg.Lookup("com.legacybridge.inventory.movement.v1")
	err := et.ValidateJSON([]byte(`{"plant":"P","transactionId":"1","item":"I","movementType":"receipt","quantity":"12","uom":"each","occurredAt":"2024-01-15","source":{"standard":"fixedwidth"}}`))
	var se *SchemaError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want *SchemaError", err)
	}
	// Two failures: quantity is a string, occurredAt is a date. The deepest first is reported.
	if se.Keyword != "type" && se.Keyword != "format" {
		t.Errorf("keyword %q", se.Keyword)
	}
	if err := et.ValidateJSON([]byte(`{"plant":"P","transactionId":"1","item":"I","movementType":"receipt","quantity":-12.500,"uom":"each","occurredAt":"2024-01-15T06:00:00-06:00","source":{"standard":"fixedwidth"},"partnerExtra":true}`)); err != nil {
		t.Errorf("valid data with an extra key: %v", err)
	}
}
