package copybook_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"legacybridge/parsers/fixedwidth/copybook"
)

// FuzzParse checks Parse never panics, that every error is a
// *copybook.Error naming a line of the input, and that every field it
// gives lies inside its record.
func FuzzParse(f *testing.F) {
	pay, err := os.ReadFile(paymentsCopybook)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{string(pay), picturesCpy, binaryCpy, signCpy, occursCpy, multiCpy,
		"       01 R.\n           05 A PIC X OCCURS 2 DEPENDING ON B.\n",
		"       01 R.\n           05 A PIC 9(4) COMP SYNC.\n",
		"       01 R.\n           05 A PIC 9PP.\n       66 B RENAMES A.\n",
		"       01 R.\n           05 A PIC X(10)\n      -        VALUE 'ABC'.\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if bytes.Count(src, []byte("\n")) > 2000 || len(src) > 64<<10 {
			return // bufio.Scanner's 1 MiB line limit aside, big inputs only slow the fuzzer
		}
		cb, err := copybook.Parse(bytes.NewReader(src), "fuzz.cpy")
		lines := max(1, len(strings.Split(strings.TrimSuffix(string(src), "\n"), "\n")))
		if err != nil {
			var ce *copybook.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T) is not a *copybook.Error", err, err)
			}
			if ce.Line < 1 || ce.Line > lines {
				t.Fatalf("error %q names line %d; the input has %d lines", err, ce.Line, lines)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("line %d:", ce.Line)) {
				t.Fatalf("error %q does not name its line", err)
			}
			return
		}
		if len(cb.Records) == 0 {
			t.Fatal("no error and no records")
		}
		for _, r := range cb.Records {
			for _, fd := range r.Fields {
				if fd.Offset < 0 || fd.Length < 1 || fd.Offset+fd.Length > r.Length {
					t.Fatalf("record %s (length %d): field %s at %d length %d is outside it", r.Name, r.Length, fd.Name, fd.Offset, fd.Length)
				}
				if fd.Line < 1 || fd.Line > lines {
					t.Fatalf("field %s names line %d; the input has %d lines", fd.Name, fd.Line, lines)
				}
			}
		}
		if tc := cb.TypeCode; tc != nil {
			for _, r := range cb.Records {
				if tc.Offset < 0 || tc.Offset+tc.Length > r.Length || len(r.Code) != tc.Length {
					t.Fatalf("type code %+v, record %s code %q length %d", *tc, r.Name, r.Code, r.Length)
				}
			}
		}
	})
}
