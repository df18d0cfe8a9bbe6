package fixedwidth_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
	"legacybridge/parsers/fixedwidth"
)

// readDocs reads input with a Parser in document mode until io.EOF,
// keeping errors in order.
func readDocs(t testing.TB, l *fixedwidth.Layout, name string, input io.Reader) []result {
	t.Helper()
	rr := fixedwidth.Parser{Layout: l, Documents: true}.NewReader(input, name)
	var out []result
	for i := 0; ; i++ {
		if i > 1_000_000 {
			t.Fatal("Read never returned io.EOF")
		}
		rec, err := rr.Read()
		if err == io.EOF {
			return out
		}
		out = append(out, result{rec, err})
	}
}

// flatten lists a document's start record and its children depth first:
// the records the Decoder reads one at a time.
func flatten(rec legacybridge.Record, start string) []legacybridge.Record {
	head := rec
	head.Children = nil
	if start != "" {
		head.Type = start
	}
	out := []legacybridge.Record{head}
	for _, c := range rec.Children {
		out = append(out, flatten(c, "")...)
	}
	return out
}

// shape renders the types of a read: documents as type(children...).
func shape(recs []legacybridge.Record) string {
	var parts []string
	for _, r := range recs {
		s := r.Type
		if len(r.Children) > 0 {
			s += "(" + shape(r.Children) + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// TestDocumentsCase30 reads CASES.md entry 30 as documents: the file header
// and file control one at a time, the batch as one record with the batch
// header's fields and envelope, its entries and its batch control as
// children, the same records field for field as the Decoder gives.
func TestDocumentsCase30(t *testing.T) {
	l := nacha(t)
	in := string(caseInput(t, "30b_nacha_with_linebreaks.ach"))
	flat := records(t, decodeAll(t, l, "30b", in))
	docs := records(t, readDocs(t, l, "30b", strings.NewReader(in)))
	if got, want := shape(docs), "file_header batch(entry entry batch_control) file_control"; got != want {
		t.Fatalf("shape %q, want %q", got, want)
	}
	b := docs[1]
	if b.Pos != flat[1].Pos || b.Format != fixedwidth.Format {
		t.Errorf("document at %v (%s), want %v", b.Pos, b.Format, flat[1].Pos)
	}
	var got []legacybridge.Record
	for _, d := range docs {
		if d.Type == "batch" {
			got = append(got, flatten(d, "batch_header")...)
		} else {
			got = append(got, d)
		}
	}
	if diff := cmp.Diff(flat, got); diff != "" {
		t.Errorf("documents flattened (-records +documents):\n%s", diff)
	}
	if b.Children[0].Fields["amount"] != json.Number("125.00") || b.Children[2].Fields["total_credit"] != json.Number("224.00") {
		t.Errorf("entry amount %v, batch credit %v", b.Children[0].Fields["amount"], b.Children[2].Fields["total_credit"])
	}
	// Without Documents, the Parser reads one record a line.
	rr := fixedwidth.Parser{Layout: l}.NewReader(strings.NewReader(in), "30b")
	if _, ok := rr.(*fixedwidth.Decoder); !ok {
		t.Errorf("default reader is %T, want *fixedwidth.Decoder", rr)
	}
}

// TestDocumentsCorpus reads every NACHA file of the shared corpus as
// documents: valid files give one document per batch header, which
// flattened are the records the Decoder reads, addenda nested under their
// entry; malformed files give the errors they give one record at a time.
func TestDocumentsCorpus(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "corpus")
	f, err := os.Open(filepath.Join(dir, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l := nacha(t)
	sc := bufio.NewScanner(f)
	n, addenda := 0, 0
	for sc.Scan() {
		col := strings.Split(sc.Text(), "\t")
		if len(col) < 10 || col[5] != "NACHA ACH" {
			continue
		}
		n++
		name := col[0]
		t.Run(filepath.Base(name), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			flat := decodeAll(t, l, filepath.Base(name), string(data))
			docs := readDocs(t, l, filepath.Base(name), bytes.NewReader(data))
			flatErrs, docErrs := errorsOf(flat), errorsOf(docs)
			if len(flatErrs) > 0 {
				// Every error of the records is an error of the documents
				// (which may add one for a batch the input ends inside).
				for i, e := range flatErrs {
					if i >= len(docErrs) || docErrs[i] != e {
						t.Errorf("records error %d %q; documents: %q", i, e, docErrs)
					}
				}
				for _, e := range docErrs[min(len(docErrs), len(flatErrs)):] {
					if !strings.Contains(e, "broken document") {
						t.Errorf("documents add error %q", e)
					}
				}
				t.Logf("errors of the documents: %q", docErrs)
				return
			}
			if len(docErrs) > 0 {
				t.Fatalf("documents: %q", docErrs)
			}
			var want, got []legacybridge.Record
			batches := 0
			for _, r := range flat {
				want = append(want, r.rec)
				if r.rec.Type == "batch_header" {
					batches++
				}
			}
			docBatches := 0
			for _, r := range docs {
				if r.rec.Type != "batch" {
					got = append(got, r.rec)
					continue
				}
				docBatches++
				got = append(got, flatten(r.rec, "batch_header")...)
				kids := r.rec.Children
				if last := kids[len(kids)-1]; last.Type != "batch_control" {
					t.Errorf("batch at line %d ends with %s", r.rec.Pos.Line, last.Type)
				}
				for _, c := range kids {
					if c.Type == "addenda" {
						t.Errorf("batch at line %d: addenda at line %d not under its entry", r.rec.Pos.Line, c.Pos.Line)
					}
					for _, a := range c.Children {
						if c.Type != "entry" || a.Type != "addenda" {
							t.Errorf("%s at line %d holds %s", c.Type, c.Pos.Line, a.Type)
						}
						addenda++
					}
				}
			}
			if docBatches != batches {
				t.Errorf("%d documents, %d batch headers", docBatches, batches)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("documents flattened (-records +documents):\n%s", diff)
			}
		})
	}
	if n < 10 {
		t.Fatalf("only %d NACHA files in MANIFEST.tsv", n)
	}
	if addenda == 0 {
		t.Error("no addenda nested in the whole corpus")
	}
}

// nachaGen writes NACHA files with the Encoder, which fills in the batch
// and file control totals.
type nachaGen struct {
	t testing.TB
	l *fixedwidth.Layout
	e *fixedwidth.Encoder
	b *bytes.Buffer
}

func newNachaGen(t testing.TB, l *fixedwidth.Layout) *nachaGen {
	g := &nachaGen{t: t, l: l, b: &bytes.Buffer{}}
	g.e = fixedwidth.NewEncoder(g.b, l)
	g.rec("file_header", map[string]any{"priority_code": "01", "immediate_destination": " 123456780", "immediate_origin": " 123456780",
		"file_creation_date": time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC), "file_creation_time": "1200", "file_id_modifier": "A",
		"record_size": "094", "blocking_factor": "10", "format_code": "1", "immediate_destination_name": "EXAMPLE BANK", "immediate_origin_name": "EXAMPLE CO"})
	return g
}

func (g *nachaGen) rec(typ string, f map[string]any) {
	g.t.Helper()
	if err := g.e.Encode(legacybridge.Record{Type: typ, Fields: f}); err != nil {
		g.t.Fatal(err)
	}
}

// batch writes a batch of n credit entries of k addenda each.
func (g *nachaGen) batch(no, n, k int) {
	g.rec("batch_header", map[string]any{"service_class_code": "220", "company_name": "EXAMPLE CO", "company_identification": "1234567890",
		"standard_entry_class": "PPD", "company_entry_description": "PAYROLL", "effective_entry_date": time.Date(2024, 1, 16, 0, 0, 0, 0, time.UTC),
		"originator_status_code": "1", "odfi_identification": "12345678", "batch_number": int64(no)})
	for i := range n {
		ind := "0"
		if k > 0 {
			ind = "1"
		}
		g.rec("entry", map[string]any{"transaction_code": "22", "receiving_dfi": int64(8765432), "check_digit": "1", "dfi_account_number": fmt.Sprint(1000 + i),
			"amount": json.Number(fmt.Sprintf("%d.%02d", i, i%100)), "individual_name": fmt.Sprintf("EMPLOYEE %d", i), "addenda_indicator": ind,
			"trace_number": fmt.Sprintf("12345678%07d", i)})
		for j := range k {
			g.rec("addenda", map[string]any{"addenda_type": "05", "payment_related_information": fmt.Sprintf("NOTE %d/%d", i, j),
				"addenda_sequence": fmt.Sprintf("%04d", j+1), "entry_detail_sequence": fmt.Sprintf("%07d", i)})
		}
	}
	g.rec("batch_control", map[string]any{"service_class_code": "220", "company_identification": "1234567890", "odfi_identification": "12345678", "batch_number": int64(no)})
}

func (g *nachaGen) file() string {
	g.rec("file_control", map[string]any{"block_count": int64(1)})
	if err := g.e.Close(); err != nil {
		g.t.Fatal(err)
	}
	return g.b.String()
}

// nachaLines splits a generated file into its lines (with line ends).
func nachaLines(s string) []string { return strings.SplitAfter(strings.TrimSuffix(s, "\n"), "\n") }

// TestDocumentsErrors: a document the input ends inside, one with more
// records than max_children, an addenda without its entry and a bad entry
// are errors naming the line; the document is dropped, reading goes on
// with the next.
func TestDocumentsErrors(t *testing.T) {
	l := nacha(t)
	g := newNachaGen(t, l)
	g.batch(1, 2, 1)
	g.batch(2, 3, 0)
	g.batch(3, 1, 0)
	good := g.file()
	lines := nachaLines(good)
	// 1 file header; 2 batch 1 header, 3-6 entries and addenda, 7 control;
	// 8 batch 2 header, 9-11 entries, 12 control; 13 batch 3 header, 14
	// entry, 15 control; 16 file control.
	if got := shape(records(t, readDocs(t, l, "good.ach", strings.NewReader(good)))); got !=
		"file_header batch(entry(addenda) entry(addenda) batch_control) batch(entry entry entry batch_control) batch(entry batch_control) file_control" {
		t.Fatalf("generated file reads as %s", got)
	}
	read := func(l *fixedwidth.Layout, in string) (string, []string) {
		rs := readDocs(t, l, "t.ach", strings.NewReader(in))
		var ok []legacybridge.Record
		for _, r := range rs {
			if r.err == nil {
				ok = append(ok, r.rec)
			}
		}
		return shape(ok), errorsOf(rs)
	}
	t.Run("not closed", func(t *testing.T) {
		in := strings.Join(lines[:10], "")
		s, errs := read(l, in)
		want := []string{fmt.Sprintf(`fixedwidth: t.ach: end of input (byte offset %d): broken document: document "batch" opened at line 8 (batch_header record) is not closed: the input ends before its "batch_control" record; send the rest of the file, or the file again`, len(in))}
		if diff := cmp.Diff(want, errs); diff != "" || s != "file_header batch(entry(addenda) entry(addenda) batch_control)" {
			t.Errorf("read %s, errors (-want +got):\n%s", s, diff)
		}
		var pe *fixedwidth.ParseError
		rs := readDocs(t, l, "t.ach", strings.NewReader(in))
		if !errors.As(rs[len(rs)-1].err, &pe) || !errors.Is(pe, fixedwidth.ErrDocument) || pe.Place().Offset != int64(len(in)) {
			t.Errorf("error %#v", rs[len(rs)-1].err)
		}
	})
	t.Run("too big", func(t *testing.T) {
		small := nacha(t)
		small.Documents[0].MaxChildren = 2
		s, errs := read(small, good)
		want := []string{`fixedwidth: t.ach: line 5: broken document: document "batch" opened at line 2 holds more than 2 records; raise documents[0].max_children in layout nacha (memory grows with it), or have the file split; its records up to its "batch_control" record are skipped`,
			`fixedwidth: t.ach: line 11: broken document: document "batch" opened at line 8 holds more than 2 records; raise documents[0].max_children in layout nacha (memory grows with it), or have the file split; its records up to its "batch_control" record are skipped`}
		if diff := cmp.Diff(want, errs); diff != "" || s != "file_header batch(entry batch_control) file_control" {
			t.Errorf("read %s, errors (-want +got):\n%s", s, diff)
		}
	})
	t.Run("addenda without entry", func(t *testing.T) {
		// Batch 1's first addenda before its entry: the batch's counts
		// still hold, the nesting does not.
		in := strings.Join(append([]string{lines[0], lines[1], lines[3], lines[2]}, lines[4:]...), "")
		s, errs := read(l, in)
		want := []string{`fixedwidth: t.ach: line 3: broken document: a "addenda" record nests under a "entry" record (documents[0].nest), and none comes before it in document "batch" opened at line 2`}
		if diff := cmp.Diff(want, errs); diff != "" || s != "file_header batch(entry entry entry batch_control) batch(entry batch_control) file_control" {
			t.Errorf("read %s, errors (-want +got):\n%s", s, diff)
		}
	})
	t.Run("bad entry", func(t *testing.T) {
		bad := []byte(lines[8])
		copy(bad[29:39], "00000X0000")
		in := strings.Join(lines[:8], "") + string(bad) + strings.Join(lines[9:], "")
		s, errs := read(l, in)
		// The entry, then its batch's control and the file control.
		if len(errs) != 3 || !strings.HasPrefix(errs[0], "fixedwidth: t.ach: line 9, column 30 (field amount): ") ||
			!strings.HasPrefix(errs[1], "fixedwidth: t.ach: line 12, column 5 (field entry_addenda_count): trailer count mismatch") ||
			!strings.HasPrefix(errs[2], "fixedwidth: t.ach: line 16, column 14 (field entry_addenda_count): trailer count mismatch") {
			t.Errorf("errors %q", errs)
		}
		if s != "file_header batch(entry(addenda) entry(addenda) batch_control) batch(entry batch_control)" {
			t.Errorf("read %s", s)
		}
	})
	t.Run("bad header", func(t *testing.T) {
		bad := []byte(lines[7])
		copy(bad[87:94], "00000X2")
		in := strings.Join(lines[:7], "") + string(bad) + strings.Join(lines[8:], "")
		s, errs := read(l, in)
		// The header, then the file control's batch count.
		if len(errs) != 2 || !strings.HasPrefix(errs[0], "fixedwidth: t.ach: line 8, column 88 (field batch_number): ") ||
			!strings.HasPrefix(errs[1], "fixedwidth: t.ach: line 16, column 2 (field batch_count): trailer count mismatch") {
			t.Errorf("errors %q", errs)
		}
		if s != "file_header batch(entry(addenda) entry(addenda) batch_control) batch(entry batch_control)" {
			t.Errorf("read %s", s)
		}
	})
}

// TestDocumentsStream: a document comes out as soon as its trailer is
// read, before the rest of the input exists.
func TestDocumentsStream(t *testing.T) {
	l := nacha(t)
	g := newNachaGen(t, l)
	g.batch(1, 2, 0)
	g.batch(2, 2, 0)
	lines := nachaLines(g.file())
	pr, pw := io.Pipe()
	rr := fixedwidth.Parser{Layout: l, Documents: true}.NewReader(pr, "pipe.ach")
	got := make(chan string)
	go func() {
		for {
			rec, err := rr.Read()
			if err != nil {
				close(got)
				return
			}
			got <- shape([]legacybridge.Record{rec})
		}
	}()
	next := func() string {
		select {
		case s := <-got:
			return s
		case <-time.After(10 * time.Second):
			t.Fatal("no record after 10s")
			return ""
		}
	}
	io.WriteString(pw, strings.Join(lines[:5], ""))
	if s := next(); s != "file_header" {
		t.Fatalf("first %s", s)
	}
	if s := next(); s != "batch(entry entry batch_control)" {
		t.Fatalf("second %s", s)
	}
	go func() { io.WriteString(pw, strings.Join(lines[5:], "")); pw.Close() }()
	if s := next(); s != "batch(entry entry batch_control)" {
		t.Fatalf("third %s", s)
	}
	if s := next(); s != "file_control" {
		t.Fatalf("fourth %s", s)
	}
	if _, open := <-got; open {
		t.Error("more after the file control")
	}
}

// TestDocumentsCopybook reads the EBCDIC copybook example as one document:
// header, details, trailer (checked controls), packed amounts exact.
func TestDocumentsCopybook(t *testing.T) {
	l, err := fixedwidth.LoadLayout("../../legacy-fixtures/copybook/payments.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../../legacy-fixtures/copybook/payments.dat")
	if err != nil {
		t.Fatal(err)
	}
	flat := records(t, decodeAll(t, l, "payments.dat", string(data)))
	l.Documents = []fixedwidth.Document{{Name: "run", Start: "pay_header", End: "pay_trailer"}}
	docs := records(t, readDocs(t, l, "payments.dat", bytes.NewReader(data)))
	if len(docs) != 1 || docs[0].Type != "run" {
		t.Fatalf("read %s", shape(docs))
	}
	if diff := cmp.Diff(flat, flatten(docs[0], "pay_header")); diff != "" {
		t.Errorf("(-records +document):\n%s", diff)
	}
	if n := len(docs[0].Children); n != len(flat)-1 || n < 3 {
		t.Errorf("%d children", n)
	}
}

// TestDocumentsLayout lists what a layout's documents may not be.
func TestDocumentsLayout(t *testing.T) {
	base, err := os.ReadFile(nachaLayout)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(base, []byte("\ndocuments:"))
	if i < 0 {
		t.Fatal("nacha.yaml declares no documents")
	}
	for _, c := range []struct{ docs, want string }{
		{`[{name: entry, start: batch_header, end: batch_control}]`, `documents[0] (entry): name "entry" is also a record type`},
		{`[{name: b, start: entry, end: batch_control}]`, `documents[0] (b): start: record type "entry" has role detail, not header`},
		{`[{name: b, start: batch_header, end: file_control}]`, `documents[0] (b): end: trailer "file_control" is of level 1, start "batch_header" of level 2`},
		{`[{name: b, start: batch_header, end: batch_control, nest: {addenda: entyr}}]`, `documents[0] (b): nest: addenda: record type "entyr" does not exist`},
		{`[{name: b, start: batch_header, end: batch_control, nest: {addenda: entry, entry: addenda}}]`, `documents[0] (b): nest: "addenda" nests under itself through "entry"`},
		{`[{name: b, start: batch_header, end: batch_control, nest: {entry: batch_header}}]`, `nest: entry: "batch_header" starts the document`},
		{`[{name: b, start: batch_header, end: batch_control, nest: {file_control: entry}}]`, `nest: "file_control" (level 1, trailer) is not inside documents of level 2`},
		{`[{name: b, start: batch_header, end: batch_control, max_children: -1}]`, `max_children -1 is negative`},
		{`[{name: b, start: batch_header, end: batch_control}, {name: f, start: file_header, end: file_control}]`, `documents: "b" (level 2) and "f" (level 1) would nest inside one another`},
		{`[{name: b, start: batch_header}]`, `documents[0] (b): end is missing`},
	} {
		src := string(base[:i]) + "\ndocuments: " + c.docs + "\n"
		_, err := fixedwidth.ParseLayout([]byte(src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.docs, err, c.want)
		}
	}
	// A layout without documents cannot be read as documents.
	l := demoLayout(t)
	_, err = fixedwidth.NewDocumentReader(fixedwidth.NewDecoder(strings.NewReader(""), l)).Read()
	if err == nil || !strings.Contains(err.Error(), "declares no documents") {
		t.Errorf("no documents: %v", err)
	}
}

// nachaBatches generates a NACHA file of b batches of n entries with k
// addenda each.
func nachaBatches(t testing.TB, l *fixedwidth.Layout, b, n, k int) string {
	g := newNachaGen(t, l)
	for i := range b {
		g.batch(i+1, n, k)
	}
	return g.file()
}

// TestDocumentsMemory streams 200 batches of 500 entries (100,000 entries,
// 9.5 MB) as documents and checks the live heap stays near one document,
// not the file's records; it logs what one entry costs held in a document.
func TestDocumentsMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("large input")
	}
	l := nacha(t)
	in := nachaBatches(t, l, 200, 500, 0)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	rr := fixedwidth.Parser{Layout: l, Documents: true}.NewReader(strings.NewReader(in), "big.ach")
	var peak uint64
	docs := 0
	var held legacybridge.Record
	for {
		rec, err := rr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Type != "batch" {
			continue
		}
		if docs++; docs%20 == 0 {
			held = rec // one document alive while measuring
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc-base)
		}
	}
	if docs != 200 || len(held.Children) != 501 {
		t.Fatalf("%d documents, the last held with %d children", docs, len(held.Children))
	}
	if peak > 8<<20 {
		t.Errorf("live heap above the input reached %d KiB while streaming 200 documents", peak>>10)
	}
	t.Logf("peak live heap above the input %d KiB, one document of 500 entries held: about %d bytes an entry", peak>>10, peak/500)
}

// BenchmarkDocuments reads 20 batches of 500 entries with one addenda each
// as documents, against the Decoder reading the same records one at a time.
func BenchmarkDocuments(b *testing.B) {
	l := nacha(b)
	in := nachaBatches(b, l, 20, 500, 1)
	b.Run("records", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		b.ReportAllocs()
		for b.Loop() {
			d := fixedwidth.NewDecoder(strings.NewReader(in), l)
			for {
				if _, err := d.Decode(); err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("documents", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		b.ReportAllocs()
		for b.Loop() {
			rr := fixedwidth.Parser{Layout: l, Documents: true}.NewReader(strings.NewReader(in), "b.ach")
			for {
				if _, err := rr.Read(); err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// FuzzDocuments reads NACHA-like input one record at a time and as
// documents: the documents give every error the records give, in order,
// and only errors about documents besides; without errors, the documents
// flattened are the records.
func FuzzDocuments(f *testing.F) {
	l := nacha(f)
	g := newNachaGen(f, l)
	g.batch(1, 2, 1)
	g.batch(2, 1, 0)
	good := g.file()
	f.Add(good)
	lines := nachaLines(good)
	f.Add(strings.Join(lines[:5], ""))
	f.Add(strings.Join(append([]string{lines[0], lines[1], lines[3], lines[2]}, lines[4:]...), ""))
	f.Add(strings.Join(append(append([]string{}, lines[:7]...), lines[1:]...), ""))
	f.Fuzz(func(t *testing.T, in string) {
		flat := decodeAll(t, l, "f", in)
		docs := readDocs(t, l, "f", strings.NewReader(in))
		fe, de := errorsOf(flat), errorsOf(docs)
		k := 0
		for _, e := range de {
			if k < len(fe) && e == fe[k] {
				k++
			} else if !strings.Contains(e, "broken document") {
				t.Fatalf("documents give error %q the records do not (records: %q)", e, fe)
			}
		}
		if k != len(fe) {
			t.Fatalf("records give errors %q, documents %q", fe, de)
		}
		if len(fe) > 0 || len(de) > 0 {
			return
		}
		var want, got []legacybridge.Record
		for _, r := range flat {
			want = append(want, r.rec)
		}
		for _, r := range docs {
			if r.rec.Type == "batch" {
				got = append(got, flatten(r.rec, "batch_header")...)
			} else {
				got = append(got, r.rec)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("documents flattened (-records +documents):\n%s", diff)
		}
	})
}
