package copybook_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"legacybridge/parsers/fixedwidth/copybook"
)

const paymentsCopybook = "../../../legacy-fixtures/copybook/payments.cpy"

// Test copybooks, in the usual fixed format (columns 1-6 blank, 7 the
// indicator, 8-72 the text). They are also fuzz seeds.
var (
	picturesCpy = `       01 PIC-REC.
           05 A-X      PIC X(3).
           05 A-A      PIC A(2).
           05 N-9      PIC 9(5)V99.
           05 N-S      PIC S9(3)V9(2).
           05 N-SV     PICTURE IS SV99.
           05 A-MIX    PIC XX9.
           05 N-PLAIN  PIC 999.
           05 E-EDIT   PIC ZZ9.99-.
`
	binaryCpy = `       01 BIN-REC.
           05 B-2      PIC 9(4) COMP.
           05 B-4      PIC 9(5) COMP-4.
           05 B-4S     PIC S9(9) COMP-5.
           05 B-8      PIC 9(10) BINARY.
           05 B-8S     PIC S9(18) USAGE IS COMPUTATIONAL.
           05 B-V      PIC 9(5)V99 COMP.
           05 P-6      PIC S9(9)V99 COMP-3.
           05 P-3      PIC 9(4) PACKED-DECIMAL.
           05 G-PACKED USAGE COMP-3.
              10 P-IN  PIC S9(5).
`
	signCpy = `       01 SIGN-REC.
           05 S-LEAD   PIC S9(3) SIGN LEADING SEPARATE.
           05 S-TRAIL  PIC S9(3)V9 SIGN IS TRAILING SEPARATE CHARACTER.
           05 S-EMBED  PIC S9(3) SIGN TRAILING.
           05 S-BWZ    PIC 9(3)V99 BLANK WHEN ZERO.
           05 S-JUST   PIC X(4) JUSTIFIED RIGHT.
           05 S-LEMB   PIC S9(3)V99 SIGN LEADING.
           05 S-GROUP  SIGN IS LEADING SEPARATE.
              10 S-G1  PIC S9(2).
              10 S-G2  PIC 9(2).
              10 S-G3  PIC S9(2) SIGN TRAILING.
`
	occursCpy = `       01 OCC-REC.
           05 O-ID     PIC X(2).
           05 FILLER   PIC X(3).
           05 O-LINE   OCCURS 2 TIMES.
              10 O-SKU PIC X(4).
              10 FILLER PIC X.
              10 O-QTY PIC 9(3) COMP-3.
           05 O-TAG    PIC X OCCURS 3.
           05 FILLER   PIC X(2).
`
	multiCpy = `       01 HDR-REC.
           05 HDR-TYPE PIC X VALUE 'H'.
           05 HDR-DATE PIC 9(8).
       01 DTL-REC.
           05 DTL-TYPE PIC X.
              88 IS-DTL VALUE 'D'.
           05 DTL-AMT  PIC S9(5)V99 COMP-3.
`
)

func parse(t *testing.T, src string) *copybook.Copybook {
	t.Helper()
	cb, err := copybook.Parse(strings.NewReader(src), "test.cpy")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return cb
}

func TestParse(t *testing.T) {
	disp, packed, bin := copybook.Display, copybook.Packed, copybook.Binary
	tests := []struct {
		name string
		src  string
		want *copybook.Copybook
	}{{
		name: "pictures",
		src:  picturesCpy,
		want: &copybook.Copybook{Name: "test.cpy", Records: []*copybook.Record{{
			Name: "PIC-REC", Length: 32, Line: 1, Fields: []copybook.Field{
				{Name: "A-X", Offset: 0, Length: 3, Line: 2},
				{Name: "A-A", Offset: 3, Length: 2, Line: 3},
				{Name: "N-9", Offset: 5, Length: 7, Numeric: true, Usage: disp, Digits: 7, Scale: 2, Line: 4},
				{Name: "N-S", Offset: 12, Length: 5, Numeric: true, Digits: 5, Scale: 2, Signed: true, Line: 5},
				{Name: "N-SV", Offset: 17, Length: 2, Numeric: true, Digits: 2, Scale: 2, Signed: true, Line: 6},
				// X and 9 mixed is alphanumeric.
				{Name: "A-MIX", Offset: 19, Length: 3, Digits: 1, Line: 7},
				{Name: "N-PLAIN", Offset: 22, Length: 3, Numeric: true, Digits: 3, Line: 8},
				// Numeric-edited pictures are read as text.
				{Name: "E-EDIT", Offset: 25, Length: 7, Digits: 3, Line: 9},
			},
		}}},
	}, {
		name: "binary and packed sizes",
		src:  binaryCpy,
		want: &copybook.Copybook{Name: "test.cpy", Records: []*copybook.Record{{
			Name: "BIN-REC", Length: 2 + 4 + 4 + 8 + 8 + 4 + 6 + 3 + 3, Line: 1, Fields: []copybook.Field{
				{Name: "B-2", Offset: 0, Length: 2, Numeric: true, Usage: bin, Digits: 4, Line: 2},
				{Name: "B-4", Offset: 2, Length: 4, Numeric: true, Usage: bin, Digits: 5, Line: 3},
				{Name: "B-4S", Offset: 6, Length: 4, Numeric: true, Usage: bin, Digits: 9, Signed: true, Line: 4},
				{Name: "B-8", Offset: 10, Length: 8, Numeric: true, Usage: bin, Digits: 10, Line: 5},
				{Name: "B-8S", Offset: 18, Length: 8, Numeric: true, Usage: bin, Digits: 18, Signed: true, Line: 6},
				{Name: "B-V", Offset: 26, Length: 4, Numeric: true, Usage: bin, Digits: 7, Scale: 2, Line: 7},
				{Name: "P-6", Offset: 30, Length: 6, Numeric: true, Usage: packed, Digits: 11, Scale: 2, Signed: true, Line: 8},
				{Name: "P-3", Offset: 36, Length: 3, Numeric: true, Usage: packed, Digits: 4, Line: 9},
				// USAGE on a group is inherited by its items.
				{Name: "P-IN", Offset: 39, Length: 3, Numeric: true, Usage: packed, Digits: 5, Signed: true, Line: 11},
			},
		}}},
	}, {
		name: "sign, blank when zero, justified",
		src:  signCpy,
		want: &copybook.Copybook{Name: "test.cpy", Records: []*copybook.Record{{
			Name: "SIGN-REC", Length: 4 + 5 + 3 + 5 + 4 + 5 + 3 + 2 + 2, Line: 1, Fields: []copybook.Field{
				{Name: "S-LEAD", Offset: 0, Length: 4, Numeric: true, Digits: 3, Signed: true, SignSeparate: true, SignLeading: true, Line: 2},
				{Name: "S-TRAIL", Offset: 4, Length: 5, Numeric: true, Digits: 4, Scale: 1, Signed: true, SignSeparate: true, Line: 3},
				{Name: "S-EMBED", Offset: 9, Length: 3, Numeric: true, Digits: 3, Signed: true, Line: 4},
				{Name: "S-BWZ", Offset: 12, Length: 5, Numeric: true, Digits: 5, Scale: 2, BlankWhenZero: true, Line: 5},
				{Name: "S-JUST", Offset: 17, Length: 4, JustRight: true, Line: 6},
				// SIGN LEADING without SEPARATE: the first digit carries the sign.
				{Name: "S-LEMB", Offset: 21, Length: 5, Numeric: true, Digits: 5, Scale: 2, Signed: true, SignLeading: true, Line: 7},
				// A group's SIGN clause holds for its signed items that
				// have none of their own.
				{Name: "S-G1", Offset: 26, Length: 3, Numeric: true, Digits: 2, Signed: true, SignSeparate: true, SignLeading: true, Line: 9},
				{Name: "S-G2", Offset: 29, Length: 2, Numeric: true, Digits: 2, Line: 10},
				{Name: "S-G3", Offset: 31, Length: 2, Numeric: true, Digits: 2, Signed: true, Line: 11},
			},
		}}},
	}, {
		name: "occurs and filler",
		src:  occursCpy,
		want: &copybook.Copybook{Name: "test.cpy", Records: []*copybook.Record{{
			Name: "OCC-REC", Length: 2 + 3 + 2*(4+1+2) + 3 + 2, Line: 1, Fields: []copybook.Field{
				{Name: "O-ID", Offset: 0, Length: 2, Line: 2},
				{Name: "O-SKU-1", Offset: 5, Length: 4, Line: 5},
				{Name: "O-QTY-1", Offset: 10, Length: 2, Numeric: true, Usage: packed, Digits: 3, Line: 7},
				{Name: "O-SKU-2", Offset: 12, Length: 4, Line: 5},
				{Name: "O-QTY-2", Offset: 17, Length: 2, Numeric: true, Usage: packed, Digits: 3, Line: 7},
				{Name: "O-TAG-1", Offset: 19, Length: 1, Line: 8},
				{Name: "O-TAG-2", Offset: 20, Length: 1, Line: 8},
				{Name: "O-TAG-3", Offset: 21, Length: 1, Line: 8},
			},
		}}},
	}, {
		name: "several 01 levels",
		src:  multiCpy,
		want: &copybook.Copybook{Name: "test.cpy", TypeCode: &copybook.Span{Offset: 0, Length: 1}, Records: []*copybook.Record{{
			Name: "HDR-REC", Code: "H", Length: 9, Line: 1, Fields: []copybook.Field{
				{Name: "HDR-TYPE", Offset: 0, Length: 1, Line: 2},
				{Name: "HDR-DATE", Offset: 1, Length: 8, Numeric: true, Digits: 8, Line: 3},
			},
		}, {
			Name: "DTL-REC", Code: "D", Length: 5, Line: 4, Fields: []copybook.Field{
				{Name: "DTL-TYPE", Offset: 0, Length: 1, Line: 5},
				{Name: "DTL-AMT", Offset: 1, Length: 4, Numeric: true, Usage: packed, Digits: 7, Scale: 2, Signed: true, Line: 7},
			},
		}}},
	}, {
		name: "free format with comments",
		src:  "* a comment line\n01 FREE-REC.\n  05 F-A PIC X(2). *> trailing comment\n  05 F-B PIC 9(3) COMP-3.\n",
		want: &copybook.Copybook{Name: "test.cpy", Records: []*copybook.Record{{
			Name: "FREE-REC", Length: 4, Line: 2, Fields: []copybook.Field{
				{Name: "F-A", Offset: 0, Length: 2, Line: 3},
				{Name: "F-B", Offset: 2, Length: 2, Numeric: true, Usage: packed, Digits: 3, Line: 4},
			},
		}}},
	}, {
		name: "redefines inside a record is left out with a note",
		src: `       01 RD-REC.
           05 RD-DATE  PIC 9(8).
           05 RD-PARTS REDEFINES RD-DATE.
              10 RD-YYYY PIC 9(4).
              10 RD-MMDD PIC 9(4).
           05 RD-NAME  PIC X(5).
`,
		want: &copybook.Copybook{Name: "test.cpy", Records: []*copybook.Record{{
			Name: "RD-REC", Length: 13, Line: 1, Fields: []copybook.Field{
				{Name: "RD-DATE", Offset: 0, Length: 8, Numeric: true, Digits: 8, Line: 2},
				{Name: "RD-NAME", Offset: 8, Length: 5, Line: 6},
			},
		}}, Notes: []string{"line 3: RD-PARTS REDEFINES RD-DATE left out: fields of a record type cannot overlap"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parse(t, tt.src)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParsePayments checks the shipped copybook: one 01 whose REDEFINES
// variants are told apart by the level-88 values of the type code.
func TestParsePayments(t *testing.T) {
	f, err := os.Open(paymentsCopybook)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := copybook.Parse(f, "payments.cpy")
	if err != nil {
		t.Fatal(err)
	}
	packed, bin := copybook.Packed, copybook.Binary
	code := copybook.Field{Name: "PAY-REC-TYPE", Offset: 0, Length: 1, Line: 6}
	want := &copybook.Copybook{
		Name:     "payments.cpy",
		TypeCode: &copybook.Span{Offset: 0, Length: 1},
		Records: []*copybook.Record{{
			Name: "PAY-HEADER", Code: "H", Length: 60, Line: 7, Fields: []copybook.Field{
				code,
				{Name: "HDR-BANK-ID", Offset: 1, Length: 8, Line: 11},
				{Name: "HDR-RUN-DATE", Offset: 9, Length: 7, Numeric: true, Digits: 7, Line: 12},
				{Name: "HDR-RUN-NUMBER", Offset: 16, Length: 3, Numeric: true, Usage: packed, Digits: 5, Line: 13},
			},
		}, {
			Name: "PAY-DETAIL", Code: "D", Length: 60, Line: 8, Fields: []copybook.Field{
				code,
				{Name: "DTL-ACCOUNT", Offset: 1, Length: 10, Line: 16},
				{Name: "DTL-NAME", Offset: 11, Length: 18, Line: 17},
				{Name: "DTL-AMOUNT", Offset: 29, Length: 6, Numeric: true, Usage: packed, Digits: 11, Scale: 2, Signed: true, Line: 18},
				{Name: "DTL-FEE", Offset: 35, Length: 5, Numeric: true, Digits: 5, Scale: 2, Signed: true, Line: 19},
				{Name: "DTL-ITEMS", Offset: 40, Length: 2, Numeric: true, Usage: bin, Digits: 4, Signed: true, Line: 20},
				{Name: "DTL-RATE-1", Offset: 42, Length: 3, Numeric: true, Usage: packed, Digits: 4, Scale: 4, Signed: true, Line: 21},
				{Name: "DTL-RATE-2", Offset: 45, Length: 3, Numeric: true, Usage: packed, Digits: 4, Scale: 4, Signed: true, Line: 21},
				{Name: "DTL-RATE-3", Offset: 48, Length: 3, Numeric: true, Usage: packed, Digits: 4, Scale: 4, Signed: true, Line: 21},
				{Name: "DTL-SEQ", Offset: 51, Length: 4, Numeric: true, Usage: bin, Digits: 8, Line: 23},
				{Name: "DTL-DISCOUNT", Offset: 55, Length: 5, Numeric: true, Digits: 5, Scale: 2, BlankWhenZero: true, Line: 24},
			},
		}, {
			Name: "PAY-TRAILER", Code: "T", Length: 60, Line: 9, Fields: []copybook.Field{
				code,
				{Name: "TRL-RECORD-COUNT", Offset: 1, Length: 4, Numeric: true, Usage: packed, Digits: 7, Line: 26},
				{Name: "TRL-TOTAL-AMOUNT", Offset: 5, Length: 8, Numeric: true, Usage: packed, Digits: 15, Scale: 2, Signed: true, Line: 27},
			},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse(payments.cpy) mismatch (-want +got):\n%s", diff)
	}
}

// TestParseErrors checks that what the parser does not support is an
// *Error that names the file and the line of the offending entry.
func TestParseErrors(t *testing.T) {
	const head = "       01 ERR-REC.\n           05 E-N PIC 9.\n"
	tests := []struct {
		name     string
		src      string
		wantLine int
		wantMsg  string // part of the message
	}{
		{"occurs depending on", head + "           05 E-T PIC X OCCURS 5 DEPENDING ON E-N.\n", 3, "OCCURS DEPENDING ON"},
		{"occurs to depending on", head + "           05 E-T PIC X OCCURS 1 TO 5 TIMES\n               DEPENDING ON E-N.\n", 3, "DEPENDING ON"},
		{"sync", head + "           05 E-B PIC S9(4) COMP SYNC.\n", 3, "SYNCHRONIZED is not supported"},
		{"synchronized", head + "           05 E-B PIC S9(4) COMP\n               SYNCHRONIZED.\n", 4, "SYNCHRONIZED is not supported"},
		{"comp-1", head + "           05 E-F COMP-1.\n", 3, "COMP-1"},
		{"comp-2", head + "           05 E-F USAGE IS COMP-2.\n", 3, "COMP-2"},
		{"computational-2", head + "           05 E-F COMPUTATIONAL-2.\n", 3, "COMPUTATIONAL-2"},
		{"pointer", head + "           05 E-F USAGE POINTER.\n", 3, "POINTER"},
		{"P picture", head + "           05 E-P PIC 9(3)PP.\n", 3, "scaling position P"},
		{"leading P picture", head + "           05 E-P PIC SPP99 COMP-3.\n", 3, "scaling position P"},
		{"level 66", head + "       66 E-R RENAMES E-N.\n", 3, "level 66"},
		{"level 77", "       77 E-W PIC X.\n", 1, "level 77"},
		{"continuation line", head + "           05 E-V PIC X(10)\n      -        VALUE 'ABC'.\n", 4, "continuation lines are not supported"},
		// A continued literal fails on its first line, before the continuation.
		{"continued literal", head + "           05 E-V PIC X(10) VALUE 'ABC\n      -    'DEF'.\n", 3, "continued literals are not supported"},
		{"unclosed literal", head + "           05 E-V PIC X(3) VALUE 'ABC.\n", 3, "closing quote"},
		{"no period", head + "           05 E-V PIC X(3)\n", 3, "does not end with a period"},
		{"sign on an unsigned item", head + "           05 E-S PIC 9(3) SIGN LEADING SEPARATE.\n", 3, "SIGN is only for signed display numbers"},
		{"sign on packed", head + "           05 E-S PIC S9(3) COMP-3 SIGN LEADING.\n", 3, "SIGN is only for signed display numbers"},
		{"binary over 18 digits", head + "           05 E-B PIC 9(19) COMP.\n", 3, "at most 18 digits"},
		{"alphanumeric comp-3", head + "           05 E-B PIC X(3) COMP-3.\n", 3, "cannot be COMP"},
		{"national picture", head + "           05 E-N2 PIC N(3).\n", 3, "national"},
		{"bad picture character", head + "           05 E-Q PIC 9Q9.\n", 3, "not a picture character"},
		{"zero repeat count", head + "           05 E-Q PIC X(0).\n", 3, "repeat count"},
		{"no pic", head + "           05 E-G.\n", 3, "neither a PIC"},
		{"pic and children", head + "           05 E-G PIC X.\n              10 E-H PIC X.\n", 3, "a PIC and subordinate items"},
		{"redefines unknown", head + "           05 E-G REDEFINES NOPE PIC X.\n", 3, "REDEFINES NOPE"},
		{"unsupported clause", head + "           05 E-G PIC X FOO.\n", 3, `"FOO" is not a supported clause`},
		{"value thru", head + "              88 E-OK VALUE 1 THRU 5.\n", 3, "THRU"},
		{"level out of range", head + "           50 E-G PIC X.\n", 3, "level 50"},
		// Sizes are bounded: huge OCCURS or repeat counts used to overflow
		// int and run the parser out of memory expanding OCCURS.
		{"huge nested occurs", head + "           05 E-G OCCURS 999999999.\n              10 E-H OCCURS 999999999.\n                 15 E-I PIC X(999) OCCURS 999999999.\n", 5, "larger than"},
		{"occurs over the limit", head + "           05 E-T PIC X OCCURS 2000000.\n", 3, "larger than"},
		{"huge repeat count", head + "           05 E-T PIC X(9223372036854775807).\n", 3, "repeat count"},
		{"group over the limit", head + "           05 E-G.\n              10 E-A PIC X(1048576).\n              10 E-B PIC X.\n", 3, "E-G is 1048577 bytes, larger than"},
		{"occurs times size over the limit", head + "           05 E-G OCCURS 2000.\n              10 E-A PIC X(1000).\n", 3, "E-G is 2000000 bytes (2000 × 1000), larger than 1048576"},
		// Fields are bounded too: nested OCCURS within the byte bound
		// still expand into a million fields. The error names the OCCURS
		// giving the most of them and the total.
		{"nested occurs over the field limit", head + "           05 E-G OCCURS 1000.\n              10 E-H PIC X OCCURS 1000.\n", 3,
			"record ERR-REC has 1000001 fields once OCCURS are expanded (1000000 of them from E-G OCCURS 1000), more than 10000"},
		{"inner occurs over the field limit", head + "           05 E-G.\n              10 E-X PIC X.\n              10 E-H PIC X OCCURS 20000.\n", 5,
			"record ERR-REC has 20002 fields once OCCURS are expanded (20000 of them from E-H OCCURS 20000)"},
		{"variant over the field limit", `       01 V-REC.
           05 V-TYPE PIC X.
              88 V-ONE VALUE 'A'.
              88 V-TWO VALUE 'B'.
           05 V-A PIC X(30000).
           05 V-B REDEFINES V-A.
              10 V-C PIC X OCCURS 30000.
`, 7, "record V-TWO has 30001 fields"},
		{"level 88 first", "       88 E-OK VALUE 'A'.\n", 1, "level 88 before any item"},
		{"empty", "      * only a comment\n", 1, "no data description entries"},
		{"several 01 without a type code", head + "       01 ERR-TWO.\n           05 E-Z PIC X.\n", 1, "has no type code"},
		{"several 01 with codes in different places", `       01 R-ONE.
           05 R1-TYPE PIC X VALUE 'A'.
       01 R-TWO.
           05 FILLER PIC X.
           05 R2-TYPE PIC X VALUE 'B'.
`, 3, "must be in the same place"},
		{"88 count differs from variants", `       01 V-REC.
           05 V-TYPE PIC X.
              88 V-ONE VALUE 'A'.
              88 V-TWO VALUE 'B'.
              88 V-THREE VALUE 'C'.
           05 V-A PIC X(3).
           05 V-B REDEFINES V-A PIC 9(3).
`, 2, "3 level-88 values"},
		{"88 value length differs from code", `       01 V-REC.
           05 V-TYPE PIC X.
              88 V-ONE VALUE 'AB'.
              88 V-TWO VALUE 'B'.
           05 V-A PIC X(3).
           05 V-B REDEFINES V-A PIC 9(3).
`, 3, `value "AB" is 2 characters`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cb, err := copybook.Parse(strings.NewReader(tt.src), "err.cpy")
			if err == nil {
				t.Fatalf("Parse gave no error, records %+v", cb.Records)
			}
			var ce *copybook.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T) is not a *copybook.Error", err, err)
			}
			got := struct {
				File string
				Line int
			}{ce.File, ce.Line}
			want := got
			want.File, want.Line = "err.cpy", tt.wantLine
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("error %q: place mismatch (-want +got):\n%s", err, diff)
			}
			if !strings.Contains(ce.Msg, tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
			if !strings.HasPrefix(err.Error(), "copybook: err.cpy: line ") {
				t.Errorf("error %q does not start with the file and line", err)
			}
		})
	}
}

func TestSnakeName(t *testing.T) {
	for in, want := range map[string]string{"PAY-REC-TYPE": "pay_rec_type", "DTL-RATE-1": "dtl_rate_1", "X": "x"} {
		if got := copybook.SnakeName(in); got != want {
			t.Errorf("SnakeName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFieldLimit checks the edges of MaxFields: a record of exactly that
// many fields is read, one more is refused, and FILLER occurrences do not
// count (nor are they expanded).
func TestFieldLimit(t *testing.T) {
	src := func(n int) string {
		return fmt.Sprintf("       01 LIM-REC.\n           05 L-ID PIC X.\n           05 L-G OCCURS %d.\n              10 L-V PIC X.\n              10 FILLER PIC X.\n", n)
	}
	cb := parse(t, src(copybook.MaxFields-1))
	if n := len(cb.Records[0].Fields); n != copybook.MaxFields {
		t.Fatalf("%d fields, want %d", n, copybook.MaxFields)
	}
	if _, err := copybook.Parse(strings.NewReader(src(copybook.MaxFields)), "lim.cpy"); err == nil ||
		!strings.Contains(err.Error(), fmt.Sprintf("line 3: record LIM-REC has %d fields", copybook.MaxFields+1)) {
		t.Fatalf("one field over the limit: %v", err)
	}
	filler := "       01 F-REC.\n           05 F-ID PIC X.\n           05 F-G OCCURS 1000.\n              10 F-H OCCURS 1000.\n                 15 FILLER PIC X.\n"
	cb = parse(t, filler)
	if diff := cmp.Diff([]copybook.Field{{Name: "F-ID", Length: 1, Line: 2}}, cb.Records[0].Fields); diff != "" {
		t.Errorf("FILLER occurrences (-want +got):\n%s", diff)
	}
	if cb.Records[0].Length != 1+1000*1000 {
		t.Errorf("length %d", cb.Records[0].Length)
	}
}
