package mappings_test

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"runtime"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
	"legacybridge/cdc"
	"legacybridge/mappings"
)

// erpMapping loads the demo ERP fixture's mapping of material transactions.
func erpMapping(t *testing.T) *mappings.Mapping {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	m, err := mappings.Load(filepath.Join(filepath.Dir(file), "..", "legacy-fixtures", "erp", "mappings", "mtl-material-transactions.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// receipt is a captured PO receipt row of the ERP fixture (seed.sql's
// first material transaction) with the columns given changed; nil is SQL
// NULL.
func receipt(cols map[string]any) legacybridge.Record {
	row := cdc.Image{
		"TRANSACTION_ID": int64(12873401), "INVENTORY_ITEM_ID": int64(6241), "ORGANIZATION_ID": int64(207),
		"SUBINVENTORY_CODE": "Stores", "LOCATOR_ID": nil, "REVISION": nil, "TRANSACTION_TYPE_ID": int64(18),
		"TRANSACTION_QUANTITY": json.Number("1250.5"), "TRANSACTION_UOM": "KG",
		"TRANSACTION_DATE":      time.Date(2026, 11, 30, 8, 15, 0, 0, time.UTC),
		"TRANSFER_SUBINVENTORY": nil, "TRANSACTION_REFERENCE": "PO 4521 line 1", "CREATED_BY": int64(1318),
	}
	for k, v := range cols {
		row[k] = v
	}
	return cdc.RecordOf(cdc.Change{Table: "MTL_MATERIAL_TRANSACTIONS", Op: cdc.OpInsert, Pos: "p:2026-11-30T08:21:44Z",
		Key: []any{int64(12873401)}, KeyColumns: []string{"TRANSACTION_ID"}, After: row,
		ChangeTime: time.Date(2026, 11, 30, 8, 21, 44, 0, time.UTC)})
}

func eventData(t *testing.T, m legacybridge.Mapper, rec legacybridge.Record) map[string]any {
	t.Helper()
	evs, err := m.Map(rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	var d map[string]any
	if err := json.Unmarshal(evs[0].Data, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestERPNullAndEmpty maps captured rows through the demo ERP mapping: an
// empty TRANSACTION_REFERENCE stays "" in the event, a NULL one leaves
// reference out; a NULL LOCATOR_ID leaves the bin out; an empty transfer
// subinventory is no location (the mapping's nullif(”)).
func TestERPNullAndEmpty(t *testing.T) {
	m := erpMapping(t)
	for _, c := range []struct {
		name string
		cols map[string]any
		want map[string]any // keys of the event data checked; nil: absent
	}{
		{"empty reference, NULL locator", map[string]any{"TRANSACTION_REFERENCE": ""},
			map[string]any{"reference": "", "fromLocation": map[string]any{"area": "Stores"}, "toLocation": nil}},
		{"NULL reference", map[string]any{"TRANSACTION_REFERENCE": nil},
			map[string]any{"reference": nil, "fromLocation": map[string]any{"area": "Stores"}, "toLocation": nil}},
		{"reference and locator", map[string]any{"LOCATOR_ID": int64(42)},
			map[string]any{"reference": "PO 4521 line 1", "fromLocation": map[string]any{"area": "Stores", "bin": "42"}, "toLocation": nil}},
		{"empty transfer subinventory", map[string]any{"TRANSFER_SUBINVENTORY": "", "TRANSACTION_REFERENCE": " "},
			map[string]any{"reference": "", "toLocation": nil}},
		{"transfer", map[string]any{"TRANSFER_SUBINVENTORY": "FGI "},
			map[string]any{"toLocation": map[string]any{"area": "FGI"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := eventData(t, m, receipt(c.cols))
			got := map[string]any{}
			for k := range c.want {
				got[k] = d[k]
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			want, checked := c.want["reference"]
			if _, has := d["reference"]; checked && want == nil && has {
				t.Errorf("reference present: %q", d["reference"])
			}
			if d["quantity"] != 1250.5 || d["plant"] != "M1" || d["uom"] != "kilogram" {
				t.Errorf("quantity %v plant %v uom %v", d["quantity"], d["plant"], d["uom"])
			}
		})
	}
}

// TestNullChoice: a mapping writes a NULL column as JSON null with
// default(null), or leaves it out; "" stays "" in cdc records (trim keeps
// it, nullif(”) drops it), while in fixed-width (and EDI) records empty
// text is absent as it always was.
func TestNullChoice(t *testing.T) {
	reg, err := mappings.NewRegistry(fstest.MapFS{"com.example.row.v1.json": {Data: []byte(`{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"$id": "https://schemas.example/com.example.row.v1.json",
		"type": "object",
		"properties": {
			"ref": {"type": ["string", "null"]},
			"note": {"type": "string"},
			"trimmed": {"type": "string"},
			"blank": {"type": "string"},
			"code": {"type": ["string", "null"]}
		}}`)}})
	if err != nil {
		t.Fatal(err)
	}
	src := func(format string) []byte {
		return []byte(`
name: rows
match: {format: ` + format + `, type: T}
event: {type: com.example.row.v1, subject: fields.ID | string}
data:
  ref: fields.REF | default(null)
  note: fields.NOTE
  trimmed: fields.NOTE | trim
  blank: fields.NOTE | trim | nullif('')
  code: "fields.CODE | lpad(4, '0') | default(null)"
`)
	}
	load := func(format string) *mappings.Mapping {
		m, err := mappings.Parse("rows.yaml", src(format), reg)
		if err != nil {
			t.Fatal(err)
		}
		if ps := m.Validate(); len(ps) > 0 {
			t.Fatal(errors.Join(ps...))
		}
		return m
	}
	row := func(img cdc.Image) legacybridge.Record {
		return cdc.RecordOf(cdc.Change{Table: "T", Op: cdc.OpInsert, Pos: "p:1", After: img})
	}
	cdcMap := load("cdc")
	for _, c := range []struct {
		rec  legacybridge.Record
		want map[string]any
	}{
		{row(cdc.Image{"ID": int64(1), "REF": nil, "NOTE": "", "CODE": int64(7)}),
			map[string]any{"ref": nil, "note": "", "trimmed": "", "code": "0007"}},
		{row(cdc.Image{"ID": int64(2), "REF": "", "NOTE": "  ", "CODE": nil}),
			map[string]any{"ref": "", "note": "  ", "trimmed": "", "code": nil}},
		{row(cdc.Image{"ID": int64(3), "REF": "R", "NOTE": " x "}),
			map[string]any{"ref": "R", "note": " x ", "trimmed": "x", "blank": "x", "code": nil}},
	} {
		if diff := cmp.Diff(c.want, eventData(t, cdcMap, c.rec)); diff != "" {
			t.Errorf("cdc %v (-want +got):\n%s", c.rec.Fields, diff)
		}
	}
	fw := legacybridge.Record{Format: "fixedwidth", Type: "T", Fields: map[string]any{"ID": "4", "REF": "", "NOTE": "", "CODE": ""}}
	if diff := cmp.Diff(map[string]any{"ref": nil, "code": nil}, eventData(t, load("fixedwidth"), fw)); diff != "" {
		t.Errorf("fixed-width (-want +got):\n%s", diff)
	}
	// An empty subject is no business key, whatever the format.
	_, err = cdcMap.Map(row(cdc.Image{"ID": "", "REF": "x"}))
	if !errors.Is(err, mappings.ErrRequired) {
		t.Errorf("empty subject: %v", err)
	}
}
