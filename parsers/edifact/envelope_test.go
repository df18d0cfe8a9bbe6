package edifact

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const (
	testUNA = "UNA:+.? '"
	msg1    = "UNH+1+ORDERS:D:96A:UN'BGM+220+PO1+9'UNT+3+1'"
	msg2    = "UNH+2+ORDERS:D:96A:UN'BGM+220+PO2+9'UNT+3+2'"
	grp     = "UNG+ORDERS+S+R+240115:1200+G1+UN+D:96A'"
)

// Envelope and tokenizer faults: each input yields the message count and
// the errors (kind@segment(TAG)/CONTRL code/level) and warnings listed.
func TestEnvelopeErrors(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		msgs  int
		errs  []string
		warns []string
	}{
		{"clean", testUNA + testUNB + msg1 + "UNZ+1+REF1'", 1, nil, nil},
		{"clean without UNA", testUNB + msg1 + msg2 + "UNZ+2+REF1'", 2, nil, nil},
		{"clean with a group", testUNB + grp + msg1 + msg2 + "UNE+2+G1'UNZ+1+REF1'", 2, nil, nil},
		{"missing UNT before UNH", testUNB + "UNH+1+ORDERS:D:96A:UN'BGM+220'" + msg2 + "UNZ+2+REF1'", 2,
			[]string{"trailer@4(UNH)/13/m"}, nil},
		{"missing UNT before UNZ", testUNB + "UNH+1+ORDERS:D:96A:UN'BGM+220'UNZ+1+REF1'", 1,
			[]string{"trailer@4(UNZ)/13/m"}, nil},
		{"end inside UNH", testUNB + "UNH+1+ORDERS:D:96A:UN'BGM+220'", 1,
			[]string{"trailer@2(UNH)/13/m", "trailer@1(UNB)/13/i"}, nil},
		{"end inside a group", testUNB + grp + msg1, 1,
			[]string{"trailer@2(UNG)/13/g", "trailer@1(UNB)/13/i"}, nil},
		{"messages without an interchange", msg1 + msg2, 2,
			[]string{"outside@1(UNH)/33/i", "outside@4(UNH)/33/i"}, nil},
		{"segment between messages", testUNB + msg1 + "BGM+220'" + msg2 + "UNZ+2+REF1'", 2,
			[]string{"outside@5(BGM)/33/i"}, nil},
		{"segment after UNZ", testUNB + msg1 + "UNZ+1+REF1'BGM+220'", 1, []string{"outside@6(BGM)/33/i"}, nil},
		{"UNE without UNG", testUNB + msg1 + "UNE+1+G1'UNZ+1+REF1'", 1, []string{"outside@5(UNE)/33/i"}, nil},
		{"UNZ without UNB", testUNB + msg1 + "UNZ+1+REF1'UNZ+1+REF1'", 1, []string{"outside@6(UNZ)/33/i"}, nil},
		{"UNT without UNH", testUNB + msg1 + "UNT+3+1'UNZ+1+REF1'", 1, []string{"outside@5(UNT)/33/i"}, nil},
		{"UNG without UNE", testUNB + grp + msg1 + "UNZ+1+REF1'", 1, []string{"trailer@6(UNZ)/13/g"}, nil},
		{"UNG without UNE before UNG", testUNB + grp + msg1 + grp + "UNE+0+G1'UNZ+2+REF1'", 1,
			[]string{"trailer@6(UNG)/13/g", "empty@7(UNE)/32/g"}, []string{"duplicate@6(UNG)/26/g"}},
		{"UNB without UNZ before UNB", testUNB + msg1 + testUNB + msg2 + "UNZ+1+REF1'", 2,
			[]string{"trailer@5(UNB)/13/i"}, nil},
		{"UNB without UNZ before UNA", testUNB + msg1 + testUNA + testUNB + msg2 + "UNZ+1+REF1'", 2,
			[]string{"trailer@5(UNA)/13/i"}, nil},
		{"group after messages", testUNB + msg1 + grp + msg2 + "UNE+1+G1'UNZ+1+REF1'", 2,
			[]string{"outside@5(UNG)/30/i"}, nil},
		{"message after a group", testUNB + grp + msg1 + "UNE+1+G1'" + msg2 + "UNZ+1+REF1'", 2,
			[]string{"outside@7(UNH)/30/i"}, nil},
		{"empty interchange", testUNB + "UNZ+0+REF1'", 0, []string{"empty@2(UNZ)/32/i"}, nil},
		{"empty group", testUNB + grp + "UNE+0+G1'UNZ+1+REF1'", 0, []string{"empty@3(UNE)/32/g"}, nil},
		{"two message types in a group", testUNB + grp + msg1 + "UNH+2+INVOIC:D:96A:UN'UNT+2+2'UNE+2+G1'UNZ+1+REF1'", 2,
			[]string{"grouptype@6(UNH)/31/m"}, nil},
		{"duplicate message reference", testUNB + msg1 + msg1 + "UNZ+2+REF1'", 2, nil, []string{"duplicate@5(UNH)/26/m"}},
		{"same reference in two interchanges", testUNB + msg1 + "UNZ+1+REF1'" + testUNB + msg1 + "UNZ+1+REF1'", 2, nil, nil},
		{"UNB without mandatory elements", "UNB+UNOA:3+S'" + msg1 + "UNZ+1+REF1'", 1,
			[]string{"service@1(UNB)/13/i", "service@1(UNB)/13/i", "service@1(UNB)/13/i", "ref@5(UNZ)/28/i"}, nil},
		{"UNB without syntax version", "UNB+UNOA+S+R+240115:1200+REF1'" + msg1 + "UNZ+1+REF1'", 1,
			[]string{"service@1(UNB)/13/i"}, nil},
		{"UNB with too many elements", strings.TrimSuffix(testUNB, "'") + "+++++++X'" + msg1 + "UNZ+1+REF1'", 1,
			[]string{"service@1(UNB)/16/i"}, nil},
		{"UNB S001 with version 4 components in version 3", "UNB+UNOA:3:1+S+R+240115:1200+REF1'" + msg1 + "UNZ+1+REF1'", 1,
			[]string{"service@1(UNB)/16/i"}, nil},
		{"UNB S001 version 4 components", "UNB+UNOA:4:1+S+R+20240115:1200+REF1'" + msg1 + "UNZ+1+REF1'", 1, nil, nil},
		{"syntax version 5", "UNB+UNOA:5+S+R+240115:1200+REF1'" + msg1 + "UNZ+1+REF1'", 1, []string{"service@1(UNB)/2/i"}, nil},
		{"interchange reference too long", "UNB+UNOA:3+S+R+240115:1200+REF456789012345'" + msg1 + "UNZ+1+REF456789012345'", 1,
			[]string{"service@1(UNB)/39/i", "service@5(UNZ)/39/i"}, nil},
		{"UNH with version 4 elements in version 3", testUNB + "UNH+1+ORDERS:D:96A:UN++++S016'UNT+2+1'UNZ+1+REF1'", 1,
			[]string{"service@2(UNH)/16/m"}, nil},
		{"UNH version 4 elements", "UNB+UNOA:4+S+R+20240115:1200+REF1'UNH+1+ORDERS:D:96A:UN:EAN008:1:2++1:F+S016'UNT+2+1'UNZ+1+REF1'", 1, nil, nil},
		{"UNH without message type", testUNB + "UNH+1+ORDERS:D'UNT+2+1'UNZ+1+REF1'", 1, []string{"service@2(UNH)/13/m"}, nil},
		{"UNT with three elements", testUNB + "UNH+1+ORDERS:D:96A:UN'UNT+2+1+X'UNZ+1+REF1'", 1, []string{"service@3(UNT)/16/m"}, nil},
		{"UNT without reference", testUNB + "UNH+1+ORDERS:D:96A:UN'UNT+2'UNZ+1+REF1'", 1, []string{"service@3(UNT)/13/m"}, nil},
		{"v3 group without date", testUNB + "UNG+ORDERS+S+R++G1+UN+D:96A'" + msg1 + "UNE+1+G1'UNZ+1+REF1'", 1,
			[]string{"service@2(UNG)/13/g"}, nil},
		{"v4 group with its reference only", "UNB+UNOA:4+S+R+20240115:1200+REF1'UNG+++++G1'" + msg1 + "UNE+1+G1'UNZ+1+REF1'", 1, nil, nil},
		{"bad tag inside a message", testUNB + "UNH+1+ORDERS:D:96A:UN'bgm+1'UNT+3+1'UNZ+1+REF1'", 1,
			[]string{"segment@3()/15/m"}, nil},
		{"bad tag between messages", testUNB + msg1 + "BG+1'UNZ+1+REF1'", 1, []string{"segment@5()/15/i"}, nil},
		{"empty segment", testUNB + "UNH+1+ORDERS:D:96A:UN''UNT+2+1'UNZ+1+REF1'", 1, []string{"segment@3()/13/m"}, nil},
		{"unterminated last segment", testUNB + msg1 + "UNZ+1+REF1", 1, []string{"segment@5(UNZ)/13/i"}, nil},
		{"padding after UNZ", testUNB + msg1 + "UNZ+1+REF1'\r\n\x1a\x00\x00 \n", 1, nil, nil},
		{"padding then data", testUNB + msg1 + "UNZ+1+REF1'\x1a\x00" + testUNB + "UNZ+0+REF1'", 1,
			[]string{"segment@5(UNZ)/33/i", "empty@7(UNZ)/32/i"}, nil},
		{"release character at the end of input", testUNB + msg1 + "UNZ+1+REF1?", 1, []string{"segment@5(UNZ)/13/i"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := decodeAll(t, []byte(tc.in), "t.edi")
			if len(res.msgs) != tc.msgs {
				t.Errorf("%d messages, want %d", len(res.msgs), tc.msgs)
			}
			if diff := cmp.Diff(tc.errs, errKeys(res.errs), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("errors (-want +got):\n%s\n%s", diff, strings.Join(errStrings(res.errs), "\n"))
			}
			if diff := cmp.Diff(tc.warns, errKeys(res.warns), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("warnings (-want +got):\n%s\n%s", diff, strings.Join(errStrings(res.warns), "\n"))
			}
			for _, e := range append(res.errs, res.warns...) {
				checkPlaced(t, e, "t.edi", int64(len(tc.in)))
			}
			for _, m := range res.msgs {
				checkPlaces(t, []byte(tc.in), m.Segments)
				if m.Segments[0].Tag != "UNH" || m.Pos.Offset != m.Segments[0].Offset {
					t.Errorf("message %d does not start at its UNH", m.Pos.Index)
				}
			}
		})
	}
}

// Fatal faults: the service characters or segment boundaries are unknown.
func TestFatalErrors(t *testing.T) {
	tests := []struct {
		name, in string
		kind     error
		want     string
	}{
		{"not EDIFACT", "ISA*00*          *00*          *ZZ*S~", ErrNoInterchange,
			`edifact: t.edi: segment 1 at byte offset 0 (line 1): input does not start with an EDIFACT interchange (UNA or UNB): found "ISA*00*          *00"...`},
		{"short UNA", "UNA:+.", ErrBadUNA,
			`edifact: t.edi: segment 1 (UNA) at byte offset 0 (line 1): service string advice is 3 characters, want 6 after "UNA": "UNA:+."`},
		{"UNA letter", "UNA:+.?A'UNB", ErrBadUNA,
			`edifact: t.edi: segment 1 (UNA) at byte offset 0 (line 1): UNA5 (repetition separator) 'A' is a letter or digit`},
		{"UNA duplicate", "UNA:+.?:'UNB", ErrBadUNA,
			`edifact: t.edi: segment 1 (UNA) at byte offset 0 (line 1): UNA5 (repetition separator) ':' is also UNA1 (component separator): service characters must be distinct`},
		{"UNA space terminator", "UNA:+.?* UNB", ErrBadUNA,
			`edifact: t.edi: segment 1 (UNA) at byte offset 0 (line 1): UNA6 (segment terminator) is a space`},
		{"UNB without UNA, unknown separator", "UNB*UNOA=3*S*R*240115=1200*X~UNZ*0*X~", ErrBadUNA,
			`edifact: t.edi: segment 1 (UNB) at byte offset 0 (line 1): UNB without UNA is followed by '*', not the default element separator "+" (or level B's "\x1d"): its service characters are unknown; the interchange needs a UNA`},
		{"segment over the limit", testUNB + "UNH+1+" + strings.Repeat("X", 300) + "'", ErrBadSegment,
			`edifact: t.edi: segment 2 at byte offset 44 (line 1): segment longer than 256 bytes (no segment terminator "'" within them): "UNH+1+XXXXXXXXXXXXXX"...`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoderName(strings.NewReader(tc.in), "t.edi")
			d.MaxSegment = 256
			var errs []error
			for i := 0; i < 10; i++ {
				_, err := d.Decode()
				if err == io.EOF {
					break
				}
				if err != nil {
					errs = append(errs, err)
				}
			}
			if len(errs) != 1 {
				t.Fatalf("errors %v, want one", errs)
			}
			var pe *ParseError
			if !errors.As(errs[0], &pe) || !pe.Fatal() || !errors.Is(errs[0], tc.kind) || pe.RecordLevel() {
				t.Errorf("error %v: want a fatal %v", errs[0], tc.kind)
			}
			if errs[0].Error() != tc.want {
				t.Errorf("error = %s\nwant    %s", errs[0], tc.want)
			}
		})
	}
}

// One bad message does not lose the good messages of its interchange: every
// message comes back, the bad one with its problems (record-level), the
// good ones without.
func TestBadMessageKeepsOthers(t *testing.T) {
	in := testUNA + testUNB + msg1 +
		"UNH+2+ORDERS:D:96A:UN'BGM+220+PO2+9'lin+1'UNT+9+X'" +
		strings.ReplaceAll(msg2, "2", "3") + "UNZ+3+REF1'"
	d := NewDecoderName(strings.NewReader(in), "t.edi")
	type step struct {
		ref         string
		segs        int
		errs        []string
		recordLevel bool
	}
	var got []step
	for {
		msg, err := d.Decode()
		if err == io.EOF {
			break
		}
		s := step{}
		if msg != nil {
			s.ref, s.segs = msg.Envelope.MessageRef, len(msg.Segments)
		}
		if err != nil {
			s.errs = errKeys(flatten(t, err))
			var rl interface{ RecordLevel() bool }
			s.recordLevel = errors.As(err, &rl) && rl.RecordLevel()
		}
		got = append(got, s)
	}
	want := []step{
		{ref: "1", segs: 3},
		{ref: "2", segs: 4, errs: []string{"segment@8()/15/m", "count@9(UNT)/29/m", "ref@9(UNT)/28/m"}, recordLevel: true},
		{ref: "3", segs: 3},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(step{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// Each interchange has its own service characters: its UNA's, else the
// defaults of its syntax level, whatever the interchange before used.
func TestServiceCharactersPerInterchange(t *testing.T) {
	in := "UNA*@,! #UNB@UNOA*4@S@R@20240115*1200@A#UNH@1@ORDERS*D*96A*UN#FTX@AAI@@@X!#Y*Z:W@3!,5#UNT@3@1#UNZ@1@A#\n" +
		"UNB+UNOA:3+S+R+240115:1200+B'UNH+1+ORDERS:D:96A:UN'FTX+AAI+++X*Y%Z:W?+1'UNT+3+1'UNZ+1+B'\n" +
		"UNB\x1dUNOB\x1f4\x1dS\x1dR\x1d20240115\x1f1200\x1dC\x1cUNH\x1d1\x1dORDERS\x1fD\x1f96A\x1fUN\x1cFTX\x1dAAI\x1d\x1d\x1dX?\x1eY\x1fZ\x1cUNT\x1d3\x1d1\x1cUNZ\x1d1\x1dC\x1c"
	res := decodeAll(t, []byte(in), "t.edi")
	if len(res.errs) > 0 || len(res.msgs) != 3 || len(res.warns) > 0 {
		t.Fatalf("%d messages, errors %v, warnings %v", len(res.msgs), errStrings(res.errs), errStrings(res.warns))
	}
	wantDelims := []Delimiters{
		{Component: "*", Element: "@", Decimal: ",", Release: "!", Segment: "#"}, // UNA5 " ": no repetition separator
		{Component: ":", Element: "+", Decimal: ".", Release: "?", Segment: "'"},
		{Component: "\x1f", Element: "\x1d", Decimal: ".", Repetition: "\x1e", Segment: "\x1c"},
	}
	wantFTX4 := []string{
		`"X#Y\x00Z:W"`,   // "!#" released, ":" is data here
		`"X*Y%Z\x00W+1"`, // "*" is data in version 3
		`"X?"*"Y\x00Z"`,  // level B: no release character, IS2 repeats
	}
	for i, m := range res.msgs {
		if m.Envelope.Delimiters != wantDelims[i] {
			t.Errorf("interchange %d: delimiters %q, want %q", i+1, m.Envelope.Delimiters, wantDelims[i])
		}
		ftx := findSeg(t, m.Segments, "FTX", 0)
		if got := renderElems(ftx.Elements[3:4]); got != wantFTX4[i] {
			t.Errorf("interchange %d: FTX04 = %s, want %s", i+1, got, wantFTX4[i])
		}
	}
	if got := res.msgs[0].Segments[1].Element(5).Value(); got != "3,5" {
		t.Errorf("FTX05 = %q", got)
	}
}

// A UNB without UNA written with the previous interchange's UNA characters
// is read with them (the defaults would not split it), with a warning.
func TestUNBWithPreviousUNA(t *testing.T) {
	in := "UNA=*.? ~UNB*UNOA=3*S*R*240115=1200*A~UNH*1*ORDERS=D=96A=UN~UNT*2*1~UNZ*1*A~" +
		"UNB*UNOA=3*S*R*240115=1200*B~UNH*2*ORDERS=D=96A=UN~UNT*2*2~UNZ*1*B~"
	res := decodeAll(t, []byte(in), "t.edi")
	if len(res.errs) > 0 || len(res.msgs) != 2 {
		t.Fatalf("%d messages, errors %v", len(res.msgs), errStrings(res.errs))
	}
	if diff := cmp.Diff([]string{"una@6(UNB)/20/i"}, errKeys(res.warns)); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if res.msgs[1].Envelope.ControlRef != "B" || res.msgs[1].Envelope.MessageType != "ORDERS" {
		t.Errorf("second envelope %+v", res.msgs[1].Envelope)
	}
}

// The repetition separator exists from syntax version 4 on: UNA5, else "*".
func TestRepetitionSeparator(t *testing.T) {
	tests := []struct {
		name, una, syntax, ftx string
		want                   string
		warns                  []string
	}{
		{"v4 default", "", "UNOA:4", "A*B", `"A"*"B"`, nil},
		{"v3 default", "", "UNOA:3", "A*B", `"A*B"`, nil},
		{"v4 UNA5", "UNA:+.?^'", "UNOA:4", "A^B*C", `"A"*"B*C"`, nil},
		{"v4 UNA5 space", "UNA:+.? '", "UNOA:4", "A*B", `"A*B"`, nil},
		{"v3 UNA5 not used", "UNA:+.?*'", "UNOC:3", "A*B", `"A*B"`, []string{"una@2(UNB)/20/i"}},
		{"v4 released", "", "UNOA:4", "A?*B", `"A*B"`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.una + "UNB+" + tc.syntax + "+S+R+20240115:1200+X'UNH+1+ORDERS:D:96A:UN'FTX+AAI+++" + tc.ftx + "'UNT+3+1'UNZ+1+X'"
			res := decodeAll(t, []byte(in), "t.edi")
			if len(res.errs) > 0 || len(res.msgs) != 1 {
				t.Fatalf("errors %v", errStrings(res.errs))
			}
			if got := renderElems(res.msgs[0].Segments[1].Elements[3:]); got != tc.want {
				t.Errorf("FTX04 = %s, want %s", got, tc.want)
			}
			if diff := cmp.Diff(tc.warns, errKeys(res.warns), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

// The tokenizer alone reads several interchanges and reports their syntax.
func TestTokenizerSyntax(t *testing.T) {
	in := testUNA + "UNB+UNOC:3+S+R+240115:1200+A'UNZ+0+A'UNB+UNOW:4+S+R+20240115:1200+B'UNZ+0+B'"
	tok := NewTokenizer(bytes.NewReader([]byte(in)))
	var got []string
	for {
		seg, err := tok.NextSegment()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		id, v := tok.Syntax()
		got = append(got, seg.Tag+" "+id+":"+v+" "+tok.Encoding()+" "+tok.Delimiters().Repetition)
	}
	want := []string{"UNA : utf-8 ", "UNB UNOC:3 iso-8859-1 ", "UNZ UNOC:3 iso-8859-1 ", "UNB UNOW:4 utf-8 *", "UNZ UNOW:4 utf-8 *"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// Garbage cannot grow memory through errors: a step keeps maxErrs problems
// and sums up the rest in one more.
func TestErrorsBounded(t *testing.T) {
	in := testUNB + "UNH+1+ORDERS:D:96A:UN'" + strings.Repeat("'", 5000) + "UNT+2+1'UNZ+1+REF1'"
	res := decodeAll(t, []byte(in), "t.edi")
	if len(res.msgs) != 1 || len(res.errs) != maxErrs+1 {
		t.Fatalf("%d messages, %d errors; want 1 and %d", len(res.msgs), len(res.errs), maxErrs+1)
	}
	last := res.errs[maxErrs]
	// 5000 empty segments (not kept in the message: UNT counts 2).
	if !strings.HasSuffix(last.Error(), ": 4000 more problems after this one are not listed") || !errors.Is(last, ErrBadSegment) ||
		last.Level != LevelMessage {
		t.Errorf("last error %v", last)
	}
}

// A segment's own problem stays with it when it ends the message before
// it: a header's goes to the envelope it opens, a trailer's to the one it
// closes.
func TestSegmentProblemFollowsSegment(t *testing.T) {
	in := "UNB+UNOA:3+S+R+240115:1200+REF1'UNH+1+ORDERS:D:96A:UN'BGM+220'" + // no UNT
		"UNH+2+ORDERS:D:96A:UN+x'UNT+2+2'" + // a lower-case letter in the UNH
		"UNH+3+ORDERS:D:96A:UN'UNZ+2+REFx'" // no UNT, a lower-case letter in the UNZ
	res := decodeAll(t, []byte(in), "t.edi", func(d *Decoder) { d.StrictCharset = true })
	var got []string
	for _, e := range res.errs {
		got = append(got, errKey(e)+" "+e.Interchange+"/"+e.Message)
	}
	want := []string{
		"trailer@4(UNH)/13/m REF1/1",
		"repertoire@4(UNH)/21/m REF1/2",
		"trailer@7(UNZ)/13/m REF1/3",
		"repertoire@7(UNZ)/21/i REF1/",
		"count@7(UNZ)/29/i REF1/",
		"ref@7(UNZ)/28/i REF1/",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s\n%s", diff, strings.Join(errStrings(res.errs), "\n"))
	}
}

// Line breaks anywhere after the first UNA, also inside the tags UNA and
// UNB of a later interchange whose service characters differ: the same
// segments.
func TestWrappedInterchangeHeaders(t *testing.T) {
	base := "UNA=*.! ~UNB*UNOA=3*S*R*240115=1200*A~UNH*1*X=D=1=UN~FTX*A=B*C!~D~UNT*3*1~UNZ*1*A~" +
		"UNA:+.? 'UNB+UNOA:3+S+R+240115:1200+B'UNH+1+X:D:1:UN'UNT+2+1'UNZ+1+B'" +
		"UNB+UNOA:3+S+R+240115:1200+C'UNH+1+X:D:1:UN'FTX+A:B+C?'D'UNT+3+1'UNZ+1+C'"
	ref := segmentValues(t, []byte(base))
	una2 := strings.Index(base, "UNA:")
	for i := 9; i < len(base); i++ {
		if i >= una2+3 && i < una2+9 {
			continue // inside the second UNA's service characters
		}
		in := base[:i] + "\r\n" + base[i:]
		if got := segmentValues(t, []byte(in)); !cmp.Equal(ref, got) {
			t.Fatalf("break after byte %d:\n%s", i, cmp.Diff(ref, got))
		}
	}
}
