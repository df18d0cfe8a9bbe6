package mappings

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	"legacybridge"
	"legacybridge/parsers/fixedwidth"
)

// nachaDir is legacy-fixtures/nacha in this repository.
func nachaDir() string { return filepath.Join(pkgDir(), "..", "legacy-fixtures", "nacha") }

func nachaMapping(t testing.TB) *Mapping {
	t.Helper()
	m, err := Loader{Registry: testRegistry(t)}.Load(filepath.Join(nachaDir(), "mappings", "nacha-payment-batch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func nachaLayout(t testing.TB) *fixedwidth.Layout {
	t.Helper()
	l, err := fixedwidth.LoadLayout(filepath.Join(nachaDir(), "nacha.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// readRecords reads everything a reader gives, errors apart.
func readRecords(rr legacybridge.RecordReader) (recs []legacybridge.Record, errs []error) {
	for {
		rec, err := rr.Read()
		if err == io.EOF {
			return recs, errs
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		recs = append(recs, rec)
	}
}

// batchEvent is the part of a payment.batch.v1 event the corpus test checks.
type batchEvent struct {
	BatchNumber int64 `json:"batchNumber"`
	Totals      struct {
		Debit             string `json:"debit"`
		Credit            string `json:"credit"`
		EntryAddendaCount int64  `json:"entryAddendaCount"`
		EntryHash         int64  `json:"entryHash"`
	} `json:"totals"`
	Entries []struct {
		Direction     string `json:"direction"`
		Amount        string `json:"amount"`
		ReceivingBank string `json:"receivingBank"`
		TraceNumber   string `json:"traceNumber"`
		Addenda       []struct {
			Information string `json:"information"`
		} `json:"addenda"`
	} `json:"entries"`
}

// rat reads an exact decimal string.
func rat(t testing.TB, s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic(fmt.Sprintf("%q is not a decimal", s))
	}
	return r
}

// TestNACHABatchesCorpus reads every NACHA file of the shared corpus as
// batches and maps them with the shipped mapping: one event per batch
// header of a file that reads without errors (IAT batches fail the mapping
// by design), each with every entry, its amount exactly the ten digits of
// the entry line (cents), its routing number the line's nine digits, its
// addenda in order, and totals that the entries add up to.
func TestNACHABatchesCorpus(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "corpus")
	f, err := os.Open(filepath.Join(dir, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, m := nachaLayout(t), nachaMapping(t)
	sc := bufio.NewScanner(f)
	files, events := 0, 0
	for sc.Scan() {
		col := strings.Split(sc.Text(), "\t")
		if len(col) < 10 || col[5] != "NACHA ACH" {
			continue
		}
		files++
		name, malformed := col[0], col[8]
		t.Run(filepath.Base(name), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			flat, _ := readRecords(fixedwidth.Parser{Layout: l}.NewReader(bytes.NewReader(data), name))
			headers := 0
			for _, r := range flat {
				if r.Type == "batch_header" {
					headers++
				}
			}
			docs, perrs := readRecords(fixedwidth.Parser{Layout: l, Documents: true}.NewReader(bytes.NewReader(data), name))
			if strings.HasPrefix(malformed, "MALFORMED") && !strings.Contains(malformed, "(semantic)") {
				if len(perrs) == 0 {
					t.Errorf("no error; expected: %s", malformed)
				}
				return
			}
			for _, e := range perrs {
				// The corpus's non-ASCII file has a file control that
				// disagrees with its batch (see parsers/fixedwidth); its
				// batch is whole.
				if !strings.Contains(e.Error(), "file_control.entry_addenda_count says 1") {
					t.Errorf("parse error %v", e)
				}
			}
			mapped := 0
			for _, doc := range docs {
				if !m.Applies(doc) {
					if doc.Type != "file_header" && doc.Type != "file_control" {
						t.Errorf("%s record not mapped", doc.Type)
					}
					continue
				}
				evs, err := m.Map(doc)
				if doc.Fields["standard_entry_class"] == "IAT" {
					if err == nil || !strings.Contains(err.Error(), `line 2, byte offset 95: entryClass: lookup: code "IAT" is not in table entry_class`) {
						t.Errorf("IAT batch: %v", err)
					}
					mapped++
					continue
				}
				if err != nil || len(evs) != 1 {
					t.Fatalf("batch at line %d: %d events, %v", doc.Pos.Line, len(evs), err)
				}
				mapped++
				events++
				checkBatch(t, data, doc, evs[0])
			}
			if mapped != headers {
				t.Errorf("%d batches mapped, %d batch headers", mapped, headers)
			}
		})
	}
	if files < 10 || events < 5 {
		t.Fatalf("%d NACHA files, %d batch events", files, events)
	}
}

// checkBatch holds a batch event against the bytes of its file.
func checkBatch(t *testing.T, data []byte, doc legacybridge.Record, ev legacybridge.Event) {
	t.Helper()
	var b batchEvent
	if err := json.Unmarshal(ev.Data, &b); err != nil {
		t.Fatal(err)
	}
	line := func(r legacybridge.Record) string { return string(data[r.Pos.Offset : r.Pos.Offset+94]) }
	var entries []legacybridge.Record
	records := 0
	for _, c := range doc.Children {
		if c.Type == "entry" {
			entries = append(entries, c)
			records += 1 + len(c.Children)
		}
	}
	if len(b.Entries) != len(entries) {
		t.Fatalf("batch at line %d: %d entries in the event, %d in the file", doc.Pos.Line, len(b.Entries), len(entries))
	}
	debit, credit := new(big.Rat), new(big.Rat)
	for i, e := range b.Entries {
		raw := line(entries[i])
		cents, err := strconv.ParseInt(raw[29:39], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("%d.%02d", cents/100, cents%100); e.Amount != want {
			t.Errorf("entry at line %d: amount %q, the line says %q", entries[i].Pos.Line, e.Amount, want)
		}
		if e.ReceivingBank != raw[3:12] || e.TraceNumber != raw[79:94] {
			t.Errorf("entry at line %d: bank %q trace %q, the line says %q %q", entries[i].Pos.Line, e.ReceivingBank, e.TraceNumber, raw[3:12], raw[79:94])
		}
		if len(e.Addenda) != len(entries[i].Children) {
			t.Errorf("entry at line %d: %d addenda, %d in the file", entries[i].Pos.Line, len(e.Addenda), len(entries[i].Children))
		}
		for k, a := range e.Addenda {
			want, err := charmap.Windows1252.NewDecoder().String(strings.TrimRight(line(entries[i].Children[k])[3:83], " "))
			if err != nil || a.Information != want {
				t.Errorf("addenda at line %d: %q, the line says %q", entries[i].Children[k].Pos.Line, a.Information, want)
			}
		}
		switch e.Direction {
		case "debit":
			debit.Add(debit, rat(t, e.Amount))
		case "credit":
			credit.Add(credit, rat(t, e.Amount))
		default:
			t.Errorf("direction %q", e.Direction)
		}
	}
	if debit.Cmp(rat(t, b.Totals.Debit)) != 0 || credit.Cmp(rat(t, b.Totals.Credit)) != 0 {
		t.Errorf("batch at line %d: entries add up to debit %s credit %s, totals say %s %s",
			doc.Pos.Line, debit.FloatString(2), credit.FloatString(2), b.Totals.Debit, b.Totals.Credit)
	}
	if int64(records) != b.Totals.EntryAddendaCount {
		t.Errorf("batch at line %d: %d entries and addenda, totals say %d", doc.Pos.Line, records, b.Totals.EntryAddendaCount)
	}
	if b.BatchNumber != doc.Fields["batch_number"] {
		t.Errorf("batch number %d, header %v", b.BatchNumber, doc.Fields["batch_number"])
	}
}

// TestNACHABatchesGolden maps CASES.md entry 30 and the corpus's CTX file
// (an entry with two addenda) and compares the events with golden files.
func TestNACHABatchesGolden(t *testing.T) {
	l, m := nachaLayout(t), nachaMapping(t)
	for _, c := range []struct{ name, path string }{
		{"nacha-30b", filepath.Join(sharedDir(t), "cases", "parsers", "inputs", "30b_nacha_with_linebreaks.ach")},
		{"nacha-ctx-debit", filepath.Join(sharedDir(t), "corpus", "moov-io__ach", "test__ach-ctx-read__ctx-debit.ach")},
	} {
		t.Run(c.name, func(t *testing.T) {
			data, err := os.ReadFile(c.path)
			if err != nil {
				t.Fatal(err)
			}
			recs, errs := readRecords(fixedwidth.Parser{Layout: l, Documents: true}.NewReader(bytes.NewReader(data), filepath.Base(c.path)))
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			got, n := mapAll(t, recs, m)
			if n != 1 {
				t.Errorf("%d batches mapped, want 1", n)
			}
			checkGolden(t, c.name, got)
		})
	}
}

// TestNACHABatchesRecordMode: read one record at a time (the default), the
// same file gives the batch mapping nothing to map, and a record mapping
// still sees every entry.
func TestNACHABatchesRecordMode(t *testing.T) {
	l, m := nachaLayout(t), nachaMapping(t)
	data, err := os.ReadFile(filepath.Join(sharedDir(t), "cases", "parsers", "inputs", "30b_nacha_with_linebreaks.ach"))
	if err != nil {
		t.Fatal(err)
	}
	recs, errs := readRecords(fixedwidth.Parser{Layout: l}.NewReader(bytes.NewReader(data), "30b"))
	if len(errs) > 0 || len(recs) != 6 {
		t.Fatalf("%d records, %v", len(recs), errs)
	}
	for _, r := range recs {
		if m.Applies(r) || len(r.Children) > 0 {
			t.Errorf("%s record: applies %v, %d children", r.Type, m.Applies(r), len(r.Children))
		}
	}
}

// bigBatch builds a NACHA batch document of n entries the way the parser
// types it, every tenth entry with an addenda.
func bigBatch(n int) legacybridge.Record {
	doc := legacybridge.Record{Format: "fixedwidth", Type: "batch", Pos: legacybridge.Position{File: "big.ach", Line: 2, Offset: 95, Tag: "batch_header", Index: 1},
		Envelope: map[string]string{"immediate_origin": " 123456780", "immediate_destination": " 876543210", "immediate_origin_name": "EXAMPLE CO", "immediate_destination_name": "EXAMPLE BANK"},
		Fields: map[string]any{"service_class_code": "220", "company_name": "EXAMPLE CO", "company_identification": "1234567890", "standard_entry_class": "PPD",
			"company_entry_description": "PAYROLL", "effective_entry_date": time.Date(2024, 1, 16, 0, 0, 0, 0, time.UTC), "odfi_identification": "12345678", "batch_number": int64(1)}}
	credit := new(big.Rat)
	for i := range n {
		amt := fmt.Sprintf("%d.%02d", 100+i, i%100)
		credit.Add(credit, rat(nil, amt))
		e := legacybridge.Record{Format: "fixedwidth", Type: "entry", Pos: legacybridge.Position{File: "big.ach", Line: 3 + i, Tag: "entry"},
			Fields: map[string]any{"transaction_code": "22", "receiving_dfi": int64(8765432), "check_digit": "1", "dfi_account_number": fmt.Sprint(1000 + i),
				"amount": json.Number(amt), "individual_id": fmt.Sprintf("ID%04d", i), "individual_name": fmt.Sprintf("EMPLOYEE %d", i), "discretionary_data": "",
				"addenda_indicator": "0", "trace_number": fmt.Sprintf("12345678%07d", i)}}
		if i%10 == 0 {
			e.Children = []legacybridge.Record{{Format: "fixedwidth", Type: "addenda", Fields: map[string]any{"addenda_type": "05", "payment_related_information": "NOTE", "addenda_sequence": "0001"}}}
		}
		doc.Children = append(doc.Children, e)
	}
	doc.Children = append(doc.Children, legacybridge.Record{Format: "fixedwidth", Type: "batch_control", Fields: map[string]any{
		"total_debit": json.Number("0.00"), "total_credit": json.Number(credit.FloatString(2)), "entry_addenda_count": int64(n + (n+9)/10), "entry_hash": int64(8765432 * n % 1e10)}})
	return doc
}

// BenchmarkMapNACHABatch maps one batch of 500 entries to one event. The
// reference, measured in the same run, is encoding/json marshalling the same
// document record.
func BenchmarkMapNACHABatch(b *testing.B) {
	m := nachaMapping(b)
	rec := bigBatch(500)
	if _, err := m.Map(rec); err != nil {
		b.Fatal(err)
	}
	ref := reference(b, func() error { _, err := json.Marshal(rec); return err })
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Map(rec); err != nil {
			b.Fatal(err)
		}
	}
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(1e9/perOp, "events/s")
	b.ReportMetric(500*1e9/perOp, "entries/s")
	b.ReportMetric(perOp/ref, "x_json_marshal_of_record")
}

// TestNACHABatchSize logs how big a batch event grows per entry, against
// Kafka's default message limit (1 MiB).
func TestNACHABatchSize(t *testing.T) {
	m := nachaMapping(t)
	small, err := m.Map(bigBatch(10))
	if err != nil {
		t.Fatal(err)
	}
	large, err := m.Map(bigBatch(1010))
	if err != nil {
		t.Fatal(err)
	}
	per := (len(large[0].Data) - len(small[0].Data)) / 1000
	if per < 100 || per > 1000 {
		t.Errorf("%d bytes an entry", per)
	}
	t.Logf("about %d bytes of event data an entry: a batch of about %d entries reaches 1 MiB", per, (1<<20)/per)
}
