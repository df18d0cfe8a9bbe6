package fixedwidth_test

import (
	"errors"
	"strings"
	"testing"

	"legacybridge/parsers/fixedwidth"
)

const orderLayout = `
name: batches
type_code: {start: 1, length: 1}
records:
  - {name: head, code: H, role: header, fields: [{name: id, start: 2, length: 3}]}
  - {name: line, code: D, fields: [{name: v, start: 2, length: 3}]}
  - {name: tail, code: T, role: trailer, fields: [{name: n, start: 2, length: 3, type: integer}]}
trailer_count: {record: tail, field: n}
`

func TestRecordOrder(t *testing.T) {
	l := layout(t, orderLayout)
	// Two complete batches in one file are fine.
	if rs := decodeAll(t, l, "ok.txt", "H001\nDaaa\nT001\nH002\nDbbb\nDccc\nT002\n"); len(records(t, rs)) != 7 {
		t.Fatalf("got %d records", len(rs))
	}
	for _, c := range []struct{ name, in, want string }{
		{"no header", "Daaa\nT001\n", `ok.txt: line 1, column 1: record out of order: "line" record before any "head" record`},
		{"second header before trailer", "H001\nDaaa\nH002\nT001\n", `line 3, column 1: record out of order: "head" record before the "tail" record closing the batch opened at line 1`},
		{"trailer without header", "T000\n", `line 1, column 1: record out of order: "tail" record before any "head" record`},
	} {
		var got error
		for _, r := range decodeAll(t, l, "ok.txt", c.in) {
			if r.err != nil && errors.Is(r.err, fixedwidth.ErrOrder) {
				got = r.err
				break
			}
		}
		if got == nil || !strings.Contains(got.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, got, c.want)
		}
	}
}
