package edifact

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"legacybridge"
)

// Case 14: counts in trailers are checked (here UNT 0074 and UNZ 0036;
// UNE 0060 below), every segment still parses, and the control references
// that match raise nothing.
func TestCase14BadCounts(t *testing.T) {
	data := caseInput(t, "14b_edifact_bad_counts.edi")
	segs, terrs := allSegments(t, data)
	if len(terrs) > 0 {
		t.Fatalf("tokenizer errors: %v", errStrings(terrs))
	}
	if diff := cmp.Diff([]string{"UNA", "UNB", "UNH", "BGM", "DTM", "UNT", "UNZ"}, tags(segs)); diff != "" {
		t.Errorf("segments (-want +got):\n%s", diff)
	}
	d := NewDecoderName(bytes.NewReader(data), "14b.edi")
	msg, err := d.Decode()
	if msg == nil || len(msg.Segments) != 4 {
		t.Fatalf("first Decode: message %v, error %v; want the message UNH..UNT (4 segments)", msg, err)
	}
	want := "edifact: 14b.edi: segment 6 (UNT) at byte offset 124 (line 6): UNT01 (0074) declares 9 segments, message has 4"
	var pe *ParseError
	if !errors.As(err, &pe) || err.Error() != want || !errors.Is(err, ErrCountMismatch) {
		t.Fatalf("error with the message = %v\nwant %s", err, want)
	}
	if pe.Code != CodeControlCount || pe.Level != LevelMessage || pe.Element != 1 || !pe.RecordLevel() ||
		pe.Interchange != "REF001" || pe.Message != "1" {
		t.Errorf("UNT error: code %d level %v element %d, refs %q/%q", pe.Code, pe.Level, pe.Element, pe.Interchange, pe.Message)
	}
	msg, err = d.Decode()
	want = "edifact: 14b.edi: segment 7 (UNZ) at byte offset 133 (line 7): UNZ01 (0036) declares 2 messages, interchange has 1"
	if msg != nil || err == nil || err.Error() != want {
		t.Fatalf("second Decode: %v, %v\nwant nil, %s", msg, err, want)
	}
	if !errors.As(err, &pe) || pe.Code != CodeControlCount || pe.Level != LevelInterchange || pe.RecordLevel() || pe.Interchange != "REF001" {
		t.Errorf("UNZ error: %+v", pe)
	}
	if _, err := d.Decode(); err == nil || err.Error() != "EOF" {
		t.Errorf("third Decode: %v, want io.EOF", err)
	}

	// The kind: every count and reference of every level.
	body := func(unt, une, unz string) string {
		return "UNA:+.? 'UNB+UNOA:3+S+R+240115:1200+IREF'UNG+ORDERS+S+R+240115:1200+GREF+UN+D:96A'" +
			"UNH+MREF+ORDERS:D:96A:UN'BGM+220'UNT+" + unt + "'UNE+" + une + "'UNZ+" + unz + "'"
	}
	tests := []struct {
		name          string
		unt, une, unz string
		want          []string
	}{
		{"all right", "3+MREF", "1+GREF", "1+IREF", nil},
		{"UNT count", "2+MREF", "1+GREF", "1+IREF", []string{"count@6(UNT)/29/m"}},
		{"UNT count not a number", "3X+MREF", "1+GREF", "1+IREF", []string{"count@6(UNT)/12/m"}},
		{"UNT reference", "3+OTHER", "1+GREF", "1+IREF", []string{"ref@6(UNT)/28/m"}},
		{"UNE count", "3+MREF", "2+GREF", "1+IREF", []string{"count@7(UNE)/29/g"}},
		{"UNE reference", "3+MREF", "1+G", "1+IREF", []string{"ref@7(UNE)/28/g"}},
		{"UNZ counts groups", "3+MREF", "1+GREF", "2+IREF", []string{"count@8(UNZ)/29/i"}},
		{"UNZ reference", "3+MREF", "1+GREF", "1+I", []string{"ref@8(UNZ)/28/i"}},
		{"references compare exactly", "3+MREF ", "1+GREF", "1+IREF", []string{"ref@6(UNT)/28/m"}},
		{"everything", "9+X", "0+Y", "0+Z", []string{"count@6(UNT)/29/m", "ref@6(UNT)/28/m",
			"count@7(UNE)/29/g", "ref@7(UNE)/28/g", "count@8(UNZ)/29/i", "ref@8(UNZ)/28/i"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := decodeAll(t, []byte(body(tc.unt, tc.une, tc.unz)), "t.edi")
			if len(res.msgs) != 1 {
				t.Errorf("%d messages, want 1", len(res.msgs))
			}
			if diff := cmp.Diff(tc.want, errKeys(res.errs), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("errors (-want +got):\n%s\n%s", diff, strings.Join(errStrings(res.errs), "\n"))
			}
		})
	}
}

// Case 18: a run of k release characters before a delimiter releases it
// when k is odd; each pair is one release character.
func TestCase18ReleaseParity(t *testing.T) {
	data := caseInput(t, "18_edifact_release_parity.edi")
	segs, terrs := allSegments(t, data)
	if len(terrs) > 0 || len(segs) != 10 {
		t.Fatalf("%d segments (%v), errors %v; want 10", len(segs), tags(segs), errStrings(terrs))
	}
	res := decodeAll(t, data, "18.edi")
	if len(res.errs) > 0 || len(res.msgs) != 1 {
		t.Fatalf("%d messages, errors %v", len(res.msgs), errStrings(res.errs))
	}
	msg := res.msgs[0]
	if len(msg.Segments) != 7 || msg.Segments[6].Element(1).Value() != "7" {
		t.Errorf("UNH..UNT = %v", tags(msg.Segments))
	}
	var got []string
	for _, s := range msg.Segments {
		if s.Tag == "FTX" {
			got = append(got, values(t, s)[3])
		}
	}
	want := []string{"TEXT A ENDS ?", "TEXT B ?' STILL B", "TEXT C ??", "PRICE 5+2:1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FTX04 (-want +got):\n%s", diff)
	}
	checkPlaces(t, data, msg.Segments)

	// The kind: k = 0..7 release characters before each delimiter, with
	// and without a line break inside the run, at every alignment against
	// the I/O buffer.
	for k := 0; k <= 7; k++ {
		for _, delim := range []string{"'", "+", ":"} {
			run := strings.Repeat("?", k)
			in := "UNA:+.? '" + testUNB + "UNH+1+ORDERS:D:96A:UN'FTX+AAI+++A" + run + delim + "B'UNT+3+1'UNZ+1+REF1'"
			want := []string{"A" + strings.Repeat("?", k/2) + delim + "B"} // released: one value
			if k%2 == 0 {
				switch delim {
				case "'": // the FTX ends; "B" is a segment of its own
					want = []string{"A" + strings.Repeat("?", k/2), "B"}
				case "+":
					want = []string{"A" + strings.Repeat("?", k/2), "B"}
				case ":":
					want = []string{"A" + strings.Repeat("?", k/2), "B"}
				}
			}
			for _, variant := range []struct {
				name string
				in   string
			}{{"plain", in}, {"line break in the run", strings.Replace(in, "+++A"+run, "+++A"+strings.Repeat("?", k/2)+"\r\n"+strings.Repeat("?", k-k/2), 1)}} {
				name := strconv.Itoa(k) + "x?" + delim + "/" + variant.name
				t.Run(name, func(t *testing.T) {
					segs, _ := allSegments(t, []byte(variant.in))
					ftx := findSeg(t, segs, "FTX", 0)
					var got []string
					switch {
					case k%2 == 0 && delim == "'":
						got = []string{values(t, ftx)[3], segs[4].Tag}
					case k%2 == 0 && delim == "+":
						v := values(t, ftx)
						got = v[3:]
					case k%2 == 0 && delim == ":":
						got = ftx.Element(4)[0]
					default:
						got = []string{values(t, ftx)[3]}
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("(-want +got):\n%s", diff)
					}
				})
			}
		}
	}
	t.Run("run across the I/O buffer", func(t *testing.T) {
		straddled := 0
		for shift := 0; shift < 12; shift++ {
			filler := "FTX+AAI+++" + strings.Repeat("X", ioBufferSize-len("UNA:+.? '"+testUNB+"UNH+1+ORDERS:D:96A:UN'FTX+AAI+++")-16+shift) + "'"
			in := "UNA:+.? '" + testUNB + "UNH+1+ORDERS:D:96A:UN'" + filler + "FTX+AAI+++Q???'R??'UNT+4+1'UNZ+1+REF1'"
			if q := strings.Index(in, "Q???'"); q+1 < ioBufferSize && ioBufferSize <= q+4 {
				straddled++ // the first I/O buffer ends inside the run or at its terminator
			}
			res := decodeAll(t, []byte(in), "shift")
			if len(res.errs) > 0 || len(res.msgs) != 1 {
				t.Fatalf("shift %d: errors %v", shift, errStrings(res.errs))
			}
			if got := res.msgs[0].Segments[2].Element(4).Value(); got != "Q?'R?" {
				t.Errorf("shift %d: FTX04 = %q, want %q", shift, got, "Q?'R?")
			}
		}
		if straddled < 3 {
			t.Errorf("only %d inputs put the run across the buffer boundary", straddled)
		}
	})
}

// Case 19: a line break inside a segment is neither data nor a
// terminator.
func TestCase19LineBreakInSegment(t *testing.T) {
	data := caseInput(t, "19_edifact_linebreak_in_segment.edi")
	res := decodeAll(t, data, "19.edi")
	if len(res.errs) > 0 || len(res.msgs) != 1 {
		t.Fatalf("%d messages, errors %v", len(res.msgs), errStrings(res.errs))
	}
	segs, _ := allSegments(t, data)
	if diff := cmp.Diff([]string{"UNA", "UNB", "UNH", "BGM", "FTX", "UNT", "UNZ"}, tags(segs)); diff != "" {
		t.Errorf("segments (-want +got):\n%s", diff)
	}
	ftx := findSeg(t, segs, "FTX", 0)
	want := []legacybridge.Element{{{"AAI"}}, {{""}}, {{""}}, {{"FIRST LINE OF NOTE", "SECOND LINE"}}}
	if diff := cmp.Diff(want, ftx.Elements); diff != "" {
		t.Errorf("FTX (-want +got):\n%s", diff)
	}
	if got := findSeg(t, segs, "UNZ", 0).Element(2).Value(); got != "REF001" {
		t.Errorf("UNZ02 = %q", got)
	}
	checkPlaces(t, data, segs)
	if l := res.msgs[0].Segments[3].Element(1).Value(); l != "4" || ftx.Number != 5 {
		t.Errorf("UNT01 = %q, FTX is segment %d", l, ftx.Number)
	}

	// The kind: a line break (CR LF, LF or CR) after any byte of the
	// interchange after the UNA gives the same segments and values, also
	// between release characters and what they release.
	base := "UNA:+.? '" + testUNB + "UNH+1+ORDERS:D:96A:UN'FTX+AAI+++A?'B??:C?+D'UNT+3+1'UNZ+1+REF1'"
	ref := segmentValues(t, []byte(base))
	for _, br := range []string{"\r\n", "\n", "\r"} {
		for i := 9; i < len(base); i++ {
			in := base[:i] + br + base[i:]
			if got := segmentValues(t, []byte(in)); !cmp.Equal(ref, got) {
				t.Fatalf("break %q after byte %d:\n%s", br, i, cmp.Diff(ref, got))
			}
			if res := decodeAll(t, []byte(in), "w"); len(res.errs) > 0 || len(res.msgs) != 1 {
				t.Fatalf("break %q after byte %d: errors %v", br, i, errStrings(res.errs))
			}
		}
	}
}

// segmentValues tokenizes data and renders each segment's tag and
// elements, failing on errors.
func segmentValues(t *testing.T, data []byte) []string {
	t.Helper()
	segs, errs := allSegments(t, data)
	if len(errs) > 0 {
		t.Fatalf("errors %v in %q", errStrings(errs), data)
	}
	var out []string
	for _, s := range segs {
		out = append(out, s.Tag+"="+renderElems(s.Elements))
	}
	return out
}

func renderElems(es []legacybridge.Element) string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString("|")
		}
		for j, r := range e {
			if j > 0 {
				b.WriteString("*")
			}
			b.WriteString(strconv.Quote(strings.Join(r, "\x00")))
		}
	}
	return b.String()
}

// Case 21: a segment with no data elements.
func TestCase21EmptySegment(t *testing.T) {
	data := caseInput(t, "21_edifact_empty_segment.edi")
	res := decodeAll(t, data, "21.edi")
	if len(res.errs) > 0 || len(res.msgs) != 1 {
		t.Fatalf("%d messages, errors %v", len(res.msgs), errStrings(res.errs))
	}
	msg := res.msgs[0]
	if diff := cmp.Diff([]string{"UNH", "MSG", "IFT", "ODI", "TVL", "UNT"}, tags(msg.Segments)); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	odi := findSeg(t, msg.Segments, "ODI", 0)
	if odi.Elements != nil || odi.Element(1) != nil {
		t.Errorf("ODI elements = %v, want none", odi.Elements)
	}
	if got := findSeg(t, msg.Segments, "TVL", 0).Element(1); !cmp.Equal(got, legacybridge.Element{{"150124", "1000", "", "1220"}}) {
		t.Errorf("TVL01 = %v", got)
	}
	segs, _ := allSegments(t, data)
	if len(segs) != 9 { // UNA and 8 after it
		t.Errorf("%d segments, want 9: %v", len(segs), tags(segs))
	}
	// The IATA syntax identifier is no UN/ECE level: a warning, values read as UTF-8.
	if len(res.warns) != 1 || !errors.Is(res.warns[0], ErrEncoding) || msg.Envelope.Charset != "utf-8" {
		t.Errorf("warnings %v, charset %q", errStrings(res.warns), msg.Envelope.Charset)
	}

	// The kind: a bare tag anywhere, last before UNT, or with one empty
	// element ("ODI+'") is a segment like any other.
	in := "UNA:+.? '" + testUNB + "UNH+1+ORDERS:D:96A:UN'UNS'ODI+'BGM'UNT+5+1'UNZ+1+REF1'"
	res = decodeAll(t, []byte(in), "t.edi")
	if len(res.errs) > 0 || len(res.msgs) != 1 {
		t.Fatalf("errors %v", errStrings(res.errs))
	}
	got := res.msgs[0].Segments
	if got[1].Elements != nil || !cmp.Equal(got[2].Elements, []legacybridge.Element{{{""}}}) || got[3].Elements != nil {
		t.Errorf("segments %+v", got)
	}
}

// Case 25: whitespace after a terminator is skipped; blanks before a
// terminator with no tag are an empty segment.
func TestCase25TrailingSpaces(t *testing.T) {
	data := caseInput(t, "25_edifact_trailing_spaces.edi")
	res := decodeAll(t, data, "25.edi")
	if len(res.errs) > 0 || len(res.msgs) != 1 {
		t.Fatalf("%d messages, errors %v", len(res.msgs), errStrings(res.errs))
	}
	segs, _ := allSegments(t, data)
	if diff := cmp.Diff([]string{"UNA", "UNB", "UNH", "BGM", "UNT", "UNZ"}, tags(segs)); diff != "" {
		t.Errorf("segments (-want +got):\n%s", diff)
	}
	if got := values(t, findSeg(t, segs, "UNZ", 0)); !cmp.Equal(got, []string{"1", "REF001"}) {
		t.Errorf("UNZ = %q", got)
	}
	checkPlaces(t, data, segs)

	// The kind: any run of blanks, tabs and line breaks after every terminator.
	base := "UNA:+.? '" + testUNB + "UNH+1+ORDERS:D:96A:UN'BGM+220'UNT+3+1'UNZ+1+REF1'"
	ref := segmentValues(t, []byte(base))
	for _, ws := range []string{" ", "\t", "  \t \r\n", "\n\n\n", "\v\f "} {
		in := strings.ReplaceAll(base, "'", "'"+ws)
		if got := segmentValues(t, []byte(in)); !cmp.Equal(ref, got) {
			t.Errorf("whitespace %q: %s", ws, cmp.Diff(ref, got))
		}
	}
	// Contrast: blanks and a terminator with no tag.
	in := "UNA:+.? '" + testUNB + "UNH+1+ORDERS:D:96A:UN'BGM+220'   'UNT+3+1'UNZ+1+REF1'"
	res = decodeAll(t, []byte(in), "t.edi")
	if len(res.msgs) != 1 || len(res.errs) != 1 {
		t.Fatalf("%d messages, errors %v", len(res.msgs), errStrings(res.errs))
	}
	e := res.errs[0]
	if !errors.Is(e, ErrBadSegment) || !strings.Contains(e.Error(), "missing segment tag") || e.Segment != 5 ||
		e.Offset != int64(strings.Index(in, "   '")+3) || e.Level != LevelMessage || e.Code != CodeMissing {
		t.Errorf("error %v (segment %d, offset %d, level %v)", e, e.Segment, e.Offset, e.Level)
	}
}

// Case 27: a UTF-8 byte-order mark at the start is skipped; offsets count
// it. Anywhere else it is data.
func TestCase27BOM(t *testing.T) {
	data := caseInput(t, "27b_edifact_bom.edi")
	res := decodeAll(t, data, "27b.edi")
	if len(res.errs) > 0 || len(res.msgs) != 1 {
		t.Fatalf("%d messages, errors %v", len(res.msgs), errStrings(res.errs))
	}
	msg := res.msgs[0]
	if msg.Envelope.Delimiters != (Delimiters{Component: ":", Element: "+", Decimal: ".", Release: "?", Segment: "'"}) {
		t.Errorf("delimiters %+v", msg.Envelope.Delimiters)
	}
	if got := values(t, findSeg(t, msg.Segments, "BGM", 0)); !cmp.Equal(got, []string{"231", "PO0001", "29"}) {
		t.Errorf("BGM = %q", got)
	}
	segs, _ := allSegments(t, data)
	if diff := cmp.Diff([]string{"UNA", "UNB", "UNH", "BGM", "UNT", "UNZ"}, tags(segs)); diff != "" {
		t.Errorf("segments (-want +got):\n%s", diff)
	}
	if segs[0].Offset != 3 || segs[1].Offset != 12 {
		t.Errorf("UNA at %d, UNB at %d; want 3 and 12 (the BOM counts)", segs[0].Offset, segs[1].Offset)
	}
	checkPlaces(t, data, segs)

	// The kind: without UNA too; a BOM before a later interchange is no
	// segment tag; inside a UTF-8 value it is data.
	noUNA := append([]byte("\xef\xbb\xbf"), "UNB+UNOW:4+S+R+20240115:1200+R1'UNH+1+ORDERS:D:96A:UN'FTX+AAI+++\xef\xbb\xbfX'UNT+3+1'UNZ+1+R1'"...)
	res = decodeAll(t, noUNA, "t.edi")
	if len(res.errs) > 0 || len(res.msgs) != 1 || res.msgs[0].Segments[1].Element(4).Value() != "\ufeffX" {
		t.Errorf("without UNA: errors %v", errStrings(res.errs))
	}
	two := append(append([]byte{}, data...), "\xef\xbb\xbfUNB+UNOA:3+S+R+240115:1200+R2'UNZ+0+R2'"...)
	res = decodeAll(t, two, "t.edi")
	if len(res.errs) == 0 || !errors.Is(res.errs[0], ErrBadSegment) || res.errs[0].Offset != int64(len(data)) {
		t.Errorf("BOM before the second interchange: errors %v", errStrings(res.errs))
	}
}
