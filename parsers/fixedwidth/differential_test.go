package fixedwidth_test

import (
	"bufio"
	"encoding/json"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	gofw "github.com/ianlopshire/go-fixedwidth"

	"legacybridge"
	"legacybridge/parsers/fixedwidth"
)

// movementRef is the demo movement record written by hand for
// go-fixedwidth, as its README suggests.
type movementRef struct {
	Code             string `fixed:"1,1"`
	TransactionID    int64  `fixed:"2,13"`
	Item             string `fixed:"14,31"`
	ItemDescription  string `fixed:"32,61"`
	FromSubinventory string `fixed:"62,71"`
	FromLocator      string `fixed:"72,83"`
	ToSubinventory   string `fixed:"84,93"`
	ToLocator        string `fixed:"94,105"`
	TransactionType  string `fixed:"106,109"`
	Quantity         string `fixed:"110,121"`
	UOM              string `fixed:"122,124"`
	TransactedAt     string `fixed:"125,138"`
	Lot              string `fixed:"139,150"`
	Reference        string `fixed:"151,170"`
	EnteredBy        string `fixed:"171,180"`
}

// refDecode decodes D lines with go-fixedwidth's own Decoder.
func refDecode(t testing.TB, lines []string) []movementRef {
	t.Helper()
	dec := gofw.NewDecoder(strings.NewReader(strings.Join(lines, "\n") + "\n"))
	dec.SetUseCodepointIndices(true)
	var out []movementRef
	for {
		var m movementRef
		err := dec.Decode(&m)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
}

// asRef turns a decoded record back into the reference shape: integers
// and strings as they are, the exact decimal and the date re-rendered the
// way they were written, so any difference in value shows.
func asRef(t testing.TB, r legacybridge.Record) movementRef {
	t.Helper()
	f := r.Fields
	q, ok := new(big.Rat).SetString(string(f["quantity"].(json.Number)))
	if !ok {
		t.Fatalf("quantity %v is not a number", f["quantity"])
	}
	return movementRef{
		Code:             "D",
		TransactionID:    f["transaction_id"].(int64),
		Item:             f["item"].(string),
		ItemDescription:  f["item_description"].(string),
		FromSubinventory: f["from_subinventory"].(string),
		FromLocator:      f["from_locator"].(string),
		ToSubinventory:   f["to_subinventory"].(string),
		ToLocator:        f["to_locator"].(string),
		TransactionType:  f["transaction_type"].(string),
		Quantity:         q.RatString(),
		UOM:              f["uom"].(string),
		TransactedAt:     f["transacted_at"].(time.Time).Format("20060102150405"),
		Lot:              f["lot"].(string),
		Reference:        f["reference"].(string),
		EnteredBy:        f["entered_by"].(string),
	}
}

// normalizeRef puts the reference quantity (sign, 11 digits, 3 implied
// decimals) in the same exact form.
func normalizeRef(t testing.TB, m movementRef) movementRef {
	t.Helper()
	// Leading zeros would read as an octal prefix.
	digits := strings.TrimLeft(m.Quantity[1:], "0")
	if digits == "" {
		digits = "0"
	}
	q, ok := new(big.Rat).SetString(m.Quantity[:1] + digits + "/1000")
	if !ok {
		t.Fatalf("reference quantity %q", m.Quantity)
	}
	m.Quantity = q.RatString()
	return m
}

// TestDifferential checks that every movement decoded here equals what
// go-fixedwidth's Decoder gives for a hand-written struct, over the demo
// drops and generated lines with multi-byte text.
func TestDifferential(t *testing.T) {
	l := demoLayout(t)
	var lines []string
	for _, name := range []string{"INV20240115-001.txt", "INV20240116-001.txt"} {
		f, err := os.Open(filepath.Join(demoDrops, name))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if s := strings.TrimRight(sc.Text(), "\r"); strings.HasPrefix(s, "D") {
				lines = append(lines, s)
			}
		}
		f.Close()
	}
	g := newMovementGen(1)
	for range 2000 {
		lines = append(lines, g.detail())
	}
	want := refDecode(t, lines)
	in := demoHeader + "\n" + strings.Join(lines, "\n") + "\n" + demoTrailer("000002016") + "\n"
	recs := records(t, decodeAll(t, l, "diff", in))
	if len(recs) != len(lines)+2 || len(want) != len(lines) {
		t.Fatalf("got %d records and %d reference values for %d lines", len(recs), len(want), len(lines))
	}
	nonASCII := 0
	for i, w := range want {
		if len(lines[i]) != len([]rune(lines[i])) {
			nonASCII++
		}
		if diff := cmp.Diff(normalizeRef(t, w), asRef(t, recs[i+1])); diff != "" {
			t.Fatalf("line %q (-go-fixedwidth +fixedwidth):\n%s", lines[i], diff)
		}
	}
	if nonASCII < 100 {
		t.Fatalf("only %d lines had multi-byte characters", nonASCII)
	}
}

// TestDifferentialStrings compares raw string splitting with go-fixedwidth
// for every trim and pad setting, on random lines.
func TestDifferentialStrings(t *testing.T) {
	type ref struct {
		A string `fixed:"1,6"`
		B string `fixed:"7,12,left,_"`
		C string `fixed:"13,18,right,0"`
		D string `fixed:"19,24,none"`
		E string `fixed:"25,30,default,__"`
	}
	l := layout(t, `
name: trims
records:
  - name: r
    fields:
      - {name: a, start: 1, length: 6}
      - {name: b, start: 7, length: 6, trim: right}
      - {name: c, start: 13, length: 6, trim: left, pad: "0"}
      - {name: d, start: 19, length: 6, trim: none}
      - {name: e, start: 25, length: 6, pad: "_"}
`)
	g := newMovementGen(2)
	alphabet := []rune(" _0aZé—")
	var lines []string
	for range 3000 {
		var b strings.Builder
		for range 30 {
			b.WriteRune(alphabet[g.r.IntN(len(alphabet))])
		}
		if s := strings.TrimSpace(b.String()); s != "" {
			lines = append(lines, b.String())
		}
	}
	dec := gofw.NewDecoder(strings.NewReader(strings.Join(lines, "\n")))
	dec.SetUseCodepointIndices(true)
	recs := records(t, decodeAll(t, l, "trims", strings.Join(lines, "\n")))
	for i, r := range recs {
		var w ref
		if err := dec.Decode(&w); err != nil {
			t.Fatal(err)
		}
		got := ref{r.Fields["a"].(string), r.Fields["b"].(string), r.Fields["c"].(string), r.Fields["d"].(string), r.Fields["e"].(string)}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Fatalf("line %q (-go-fixedwidth +fixedwidth):\n%s", lines[i], diff)
		}
	}
}

// TestLongLineMatchesShort checks that records too long for go-fixedwidth
// (decoded one field at a time) give the same fields as the same records
// decoded whole.
func TestLongLineMatchesShort(t *testing.T) {
	short := demoLayout(t)
	long := demoLayout(t)
	long.RecordLength = 0
	long.Records[1].Fields = append(long.Records[1].Fields, fixedwidth.Field{Name: "far", Start: 70001, Length: 5})
	g := newMovementGen(9)
	var shortLines, longLines []string
	for range 50 {
		d := g.detail()
		shortLines = append(shortLines, d)
		longLines = append(longLines, d+strings.Repeat(" ", 70000-180)+"FAR12")
	}
	wrap := func(lines []string) string {
		return demoHeader + "\n" + strings.Join(lines, "\n") + "\n" + demoTrailer("000000050") + "\n"
	}
	want := records(t, decodeAll(t, short, "s", wrap(shortLines)))
	got := records(t, decodeAll(t, long, "l", wrap(longLines)))
	for i := range want {
		if f := got[i].Fields; f != nil && i > 0 && i <= 50 {
			if f["far"] != "FAR12" {
				t.Fatalf("record %d: far = %v", i, f["far"])
			}
			delete(f, "far")
		}
		if diff := cmp.Diff(want[i].Fields, got[i].Fields); diff != "" {
			t.Fatalf("record %d (-whole +per field):\n%s", i, diff)
		}
	}
}
