package mappings

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
)

// docRecord builds a fixed-width document by hand: a batch whose second
// entry has two addenda, then its control.
func docRecord() legacybridge.Record {
	at := func(typ string, line int, fields map[string]any, kids ...legacybridge.Record) legacybridge.Record {
		return legacybridge.Record{Format: "fixedwidth", Type: typ, Fields: fields, Children: kids,
			Pos: legacybridge.Position{File: "t.ach", Line: line, Offset: int64(95 * (line - 1)), Tag: typ, Index: line - 1}}
	}
	doc := at("batch_header", 2, map[string]any{"batch_number": int64(7), "company_identification": "1234567890", "standard_entry_class": "PPD"},
		at("entry", 3, map[string]any{"amount": json.Number("125.00"), "transaction_code": "22", "trace_number": "123456780000001"}),
		at("entry", 4, map[string]any{"amount": json.Number("0.50"), "transaction_code": "27", "trace_number": "123456780000002"},
			at("addenda", 5, map[string]any{"addenda_type": "05", "payment_related_information": "FIRST"}),
			at("addenda", 6, map[string]any{"addenda_type": "05", "payment_related_information": ""})),
		at("batch_control", 7, map[string]any{"total_debit": json.Number("0.50"), "total_credit": json.Number("125.00")}))
	doc.Type = "batch"
	doc.Envelope = map[string]string{"immediate_origin": " 123456780"}
	return doc
}

// batchMapping is a payment.batch.v1 mapping of the hand-made batch with
// data fields given.
func batchMapping(data string) string {
	return `
name: t
match: {format: fixedwidth, type: batch}
event:
  type: com.legacybridge.payment.batch.v1
  subject: concat((envelope.immediate_origin | trim), '/', fields.batch_number)
data:
` + data
}

func mapData(t *testing.T, m *Mapping, rec legacybridge.Record) (string, map[string]any, error) {
	t.Helper()
	evs, err := m.Map(rec)
	if err != nil {
		return "", nil, err
	}
	var d map[string]any
	if err := json.Unmarshal(evs[0].Data, &d); err != nil {
		t.Fatal(err)
	}
	return evs[0].Subject, d, nil
}

// TestDocumentChildren: each: over the child records of a document, with:
// the first with a when:, TYPE/fields.NAME and TYPE[n]/... paths, nested
// each: inside a child, record.line of the child, and (EXPR) inside
// concat.
func TestDocumentChildren(t *testing.T) {
	m := mustParse(t, batchMapping(`
  source: {standard: {const: nacha}}
  batchNumber: fields.batch_number
  originator:
    with: entry
    when: fields.transaction_code | lookup(debits)
    fields:
      id: fields.trace_number
      name: record.line | string
      discretionaryData: concat((entry/fields.amount | string), ' ', (entry[2]/addenda/fields.payment_related_information | lower))
  settlementDate: concat((entry/fields.amount | string), ' ', (entry[2]/addenda/fields.payment_related_information | lower))
  entryClass: {const: x}
  entryClassCode: fields.standard_entry_class
  effectiveDate: {const: "2024-01-16"}
  currency: {const: USD}
  description: entry[2]/fields.trace_number
  descriptiveDate: entry[3]/fields.trace_number | default('none')
  totals:
    debit: batch_control/fields.total_debit | string
    credit: batch_control/fields.total_credit | string
    entryAddendaCount: record.line
  entries:
    each: entry
    fields:
      transactionCode: fields.transaction_code
      direction: {const: credit}
      amount: fields.amount | string
      receivingBank: {const: "123456789"}
      account: record.line | string
      traceNumber: fields.trace_number
      addenda:
        each: addenda
        fields:
          typeCode: fields.addenda_type
          information: fields.payment_related_information
          sequence: record.line
lookups:
  debits: {"27": debit, "22": ""}
`))
	subj, d, err := mapData(t, m, docRecord())
	if err != nil {
		t.Fatal(err)
	}
	if subj != "123456780/7" {
		t.Errorf("subject %q", subj)
	}
	want := map[string]any{
		"source":      map[string]any{"standard": "nacha"},
		"batchNumber": 7.0,
		// Paths read from the scope: entry/... inside an entry finds nothing.
		"originator":      map[string]any{"id": "123456780000002", "name": "4"},
		"settlementDate":  "125.00 first",
		"entryClass":      "x",
		"entryClassCode":  "PPD",
		"effectiveDate":   "2024-01-16",
		"currency":        "USD",
		"description":     "123456780000002",
		"descriptiveDate": "none",
		"totals":          map[string]any{"debit": "0.50", "credit": "125.00", "entryAddendaCount": 2.0},
		"entries": []any{
			map[string]any{"transactionCode": "22", "direction": "credit", "amount": "125.00", "receivingBank": "123456789", "account": "3", "traceNumber": "123456780000001"},
			map[string]any{"transactionCode": "27", "direction": "credit", "amount": "0.50", "receivingBank": "123456789", "account": "4", "traceNumber": "123456780000002",
				"addenda": []any{
					map[string]any{"typeCode": "05", "information": "FIRST", "sequence": 5.0},
					map[string]any{"typeCode": "05", "sequence": 6.0}}},
		},
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
}

// TestDocumentErrors: a failure inside a child names the child's line and
// type, and a schema failure inside an entry too.
func TestDocumentErrors(t *testing.T) {
	body := `
  source: {standard: {const: nacha}}
  batchNumber: fields.batch_number
  originator: {id: fields.company_identification}
  entryClass: {const: x}
  entryClassCode: fields.standard_entry_class
  effectiveDate: {const: "2024-01-16"}
  currency: {const: USD}
  totals:
    debit: batch_control/fields.total_debit | string
    credit: batch_control/fields.total_credit | string
    entryAddendaCount: {const: 4}
  entries:
    each: entry
    fields:
      transactionCode: fields.transaction_code
      direction: {const: credit}
      amount: fields.amount | string
      receivingBank: {const: "123456789"}
      account: {const: "1"}
      traceNumber: fields.trace_number
      addenda:
        each: addenda
        fields:
          typeCode: fields.addenda_type
          information: fields.payment_related_information | required
`
	_, _, err := mapData(t, mustParse(t, batchMapping(body)), docRecord())
	var me *Error
	if !errors.As(err, &me) || me.Child == nil || me.Child.Line != 6 || !errors.Is(err, ErrRequired) {
		t.Fatalf("error %v", err)
	}
	if want := "mappings: t: t.ach: line 2, byte offset 95: addenda record at line 6: entries[1].addenda[1].information: required value is absent"; err.Error() != want {
		t.Errorf("error\n%s\nwant\n%s", err, want)
	}
	rec := docRecord()
	rec.Children[1].Fields["trace_number"] = "12345678000000X"
	_, _, err = mapData(t, mustParse(t, batchMapping(strings.Replace(body, "| required", "", 1))), rec)
	if !errors.As(err, &me) || me.Child == nil || me.Child.Line != 4 || me.Keyword != "pattern" || me.Field != "entries[1].traceNumber" {
		t.Fatalf("schema error %v (%+v)", err, me)
	}
	if !strings.Contains(err.Error(), "line 2, byte offset 95: entry record at line 4: ") {
		t.Errorf("schema error %v", err)
	}
}

// TestDocumentProblems: what a mapping of children may not do.
func TestDocumentProblems(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`
name: t
match: {format: cdc, type: T}
event: {type: com.legacybridge.inventory.movement.v1, subject: fields.A}
data: {lot: {each: entry, value: fields.X}}`, "each: cdc records have no segments or child records to iterate"},
		{`
name: t
match: {format: fixedwidth, type: batch}
event: {type: com.legacybridge.inventory.movement.v1, subject: fields.A}
data: {lot: {each: entry, outside: [P], value: fields.X}}`, "outside: is for EDI loops and groups"},
		{`
name: t
match: {format: fixedwidth, type: batch}
event: {type: com.legacybridge.inventory.movement.v1, subject: fields.A}
data: {lot: {each: "entry[0]", value: fields.X}}`, "ordinals start at 1"},
		{`
name: t
match: {format: x12, type: "850"}
event: {type: com.legacybridge.inventory.movement.v1, subject: BEG03}
data: {lot: entry/envelope.X}`, "only fixed-width documents have child records to step into, not x12 records"},
		{`
name: t
match: {format: cdc, type: T}
event: {type: com.legacybridge.inventory.movement.v1, subject: fields.A | default(null)}
data: {lot: fields.X}`, "event.subject: \"fields.A | default(null)\": default(null) is for output fields"},
		{`
name: t
match: {format: cdc, type: T}
event: {type: com.legacybridge.inventory.movement.v1, subject: fields.A}
data: {lot: fields.X | default(null) | trim}`, "default(null) must be the last transform"},
		{`
name: t
match: {format: cdc, type: T}
event: {type: com.legacybridge.inventory.movement.v1, subject: fields.A}
data: {lot: "concat((fields.X | default(null)), fields.Y)"}`, "default(null) is for output fields, not inside an expression"},
		{`
name: t
match: {format: cdc, type: T}
event: {type: com.legacybridge.inventory.movement.v1, subject: fields.A}
data: {lot: fields.X | nullif(fields.Y)}`, "nullif(fields.Y): want a 'literal' or a number"},
		{`
name: t
match: {format: cdc, type: T}
event: {type: com.legacybridge.inventory.movement.v1, subject: fields.A}
data: {lot: "fields.X | lpad(8, '00')"}`, "lpad(8, '00'): want one character in quotes"},
	} {
		m, err := Parse("t.yaml", []byte(c.src), testRegistry(t))
		if err != nil {
			t.Fatal(err)
		}
		ps := errors.Join(m.Validate()...)
		if ps == nil || !strings.Contains(ps.Error(), c.want) {
			t.Errorf("%s\nproblems %v\nwant %q", c.src, ps, c.want)
		}
	}
}
