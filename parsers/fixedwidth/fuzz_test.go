package fixedwidth_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
	"legacybridge/parsers/fixedwidth"
)

// FuzzDecoder feeds arbitrary input to decoders for several layouts: no
// panics, Decode ends with io.EOF, every error says where, and positions
// move forward.
func FuzzDecoder(f *testing.F) {
	layouts := []*fixedwidth.Layout{
		demoLayout(f),
		layout(f, `
name: padded-bytes
columns: bytes
pad_short_lines: true
comment_prefix: "*"
type_code: {start: 2, length: 2}
records:
  - {name: a, code: AA, role: header, fields: [{name: x, start: 4, length: 3, type: integer, sign: overpunch}]}
  - {name: b, code: "B ", fields: [{name: d, start: 4, length: 6, type: date, format: YYMMDD}, {name: m, start: 10, length: 5, type: decimal}]}
  - {name: t, code: ZZ, role: trailer, fields: [{name: n, start: 4, length: 2, type: integer}]}
trailer_count: {record: t, field: n, counts: records}
`),
		layout(f, `
name: latin
encoding: latin1
record_length: 12
records:
  - name: r
    fields: [{name: s, start: 1, length: 4, trim: left, pad: "0"}, {name: q, start: 5, end: 12, type: decimal, scale: 2, sign: trailing, null_if: ["00000000"]}]
`),
		// Variable-length records, with and without blocks.
		mainframeCases[1].layout(f),
		mainframeCases[2].layout(f),
	}
	for _, c := range mainframeCases[1:] {
		if data, err := os.ReadFile(filepath.Join(mainframeData, c.data)); err == nil {
			f.Add(data)
			f.Add(data[:len(data)-7])
		}
	}
	for _, name := range []string{"INV20240115-001.txt", "INV20240116-001.txt"} {
		if data, err := os.ReadFile(filepath.Join(demoDrops, name)); err == nil {
			f.Add(data)
		}
	}
	g := newMovementGen(3)
	f.Add([]byte(g.stream(3)))
	f.Add([]byte("\uFEFF*c\r\nxAA00}\nxB 240115 12.5\nxZZ03\x1a"))
	f.Add([]byte("0001CAF\xc9000012-\n00000000000+\n"))
	f.Add([]byte("D" + strings.Repeat("é", 200) + "\n\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, l := range layouts {
			d := fixedwidth.NewDecoder(strings.NewReader(string(data)), l)
			d.Name = "fuzz"
			d.MaxLineBytes = 4096
			lastLine, lastOff := 0, int64(-1)
			for i := 0; ; i++ {
				if i > len(data)+2 {
					t.Fatalf("%s: Decode did not reach io.EOF", l.Name)
				}
				rec, err := d.Decode()
				if err == io.EOF {
					break
				}
				var p legacybridge.Position
				if err != nil {
					var pl legacybridge.Placer
					if !errors.As(err, &pl) {
						t.Fatalf("%s: error without a place: %v", l.Name, err)
					}
					p = pl.Place()
					if !utf8.ValidString(err.Error()) {
						// Messages quote input with %q, which keeps them valid.
						t.Fatalf("%s: message is not UTF-8: %q", l.Name, err.Error())
					}
				} else {
					p = rec.Pos
					if rec.Type == "" || rec.Format != fixedwidth.Format {
						t.Fatalf("%s: record without type: %+v", l.Name, rec)
					}
					for k, v := range rec.Fields {
						if s, ok := v.(string); ok && !utf8.ValidString(s) {
							t.Fatalf("%s: field %s is not UTF-8: %q", l.Name, k, s)
						}
					}
				}
				if p.Offset < 0 || p.Offset > int64(len(data)) {
					t.Fatalf("%s: offset %d outside the input (%d bytes): %v", l.Name, p.Offset, len(data), err)
				}
				if p.Line != 0 && p.Line <= lastLine || p.Line == 0 && p.Offset != int64(len(data)) {
					t.Fatalf("%s: line %d after line %d: %v", l.Name, p.Line, lastLine, err)
				}
				if p.Line != 0 && p.Offset < lastOff {
					t.Fatalf("%s: offset %d after %d", l.Name, p.Offset, lastOff)
				}
				lastLine, lastOff = p.Line, p.Offset
			}
		}
	})
}

// FuzzFastPath decodes arbitrary input with the compiled path and with
// go-fixedwidth (Decoder.ViaGoFixedwidth) and requires the same records
// and errors, for layouts over every trim and pad, multi-byte UTF-8
// (columns as characters and as bytes), ISO-8859-1, and EBCDIC with
// packed, binary and zoned fields in every sign position.
func FuzzFastPath(f *testing.F) {
	layouts := []*fixedwidth.Layout{
		demoLayout(f),
		layout(f, twelve),
		layout(f, `
name: trims
records:
  - name: r
    fields:
      - {name: a, start: 1, length: 6}
      - {name: b, start: 7, length: 6, trim: right}
      - {name: c, start: 13, length: 6, trim: left, pad: "0"}
      - {name: d, start: 19, length: 6, trim: none}
      - {name: e, start: 25, length: 6, pad: "_"}
      - {name: n, start: 31, length: 4, type: integer, sign: leading_overpunch, blank_when_zero: true}
      - {name: m, start: 35, length: 5, type: decimal, scale: 2, sign: overpunch, null_if: ["0000{"]}
`),
		layout(f, `
name: bytes
columns: bytes
pad_short_lines: true
records:
  - name: r
    fields: [{name: a, start: 1, length: 3}, {name: b, start: 4, length: 4, trim: left}, {name: n, start: 8, length: 3, type: integer}]
`),
		layout(f, "name: latin\nencoding: latin1\nrecords: [{name: r, fields: [{name: a, start: 1, length: 3}, {name: b, start: 4, length: 5, type: decimal}]}]\n"),
		mainframeCases[0].layout(f),
	}
	pay, err := fixedwidth.LoadLayout(paymentsCopybook)
	if err != nil {
		f.Fatal(err)
	}
	layouts = append(layouts, pay)
	for _, name := range []string{"INV20240115-001.txt", "INV20240116-001.txt"} {
		if data, err := os.ReadFile(filepath.Join(demoDrops, name)); err == nil {
			f.Add(data)
		}
	}
	for _, p := range []string{paymentsData, filepath.Join(mainframeData, "signs.dat")} {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(twelveInput(5)))
	f.Add([]byte("é_0aZ—  0aZ___00é0 a—é 0_aZé__}12300012{\nabcdé 1234\n\xe9t\xe9 12.5\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, l := range layouts {
			var got [2][]result
			for k, via := range []bool{false, true} {
				d := fixedwidth.NewDecoder(strings.NewReader(string(data)), l)
				d.Name = "fuzz"
				d.ViaGoFixedwidth = via
				for i := 0; ; i++ {
					if i > len(data)+2 {
						t.Fatalf("%s: Decode did not reach io.EOF", l.Name)
					}
					rec, err := d.Decode()
					if err == io.EOF {
						break
					}
					got[k] = append(got[k], result{rec, err})
				}
			}
			if len(got[0]) != len(got[1]) {
				t.Fatalf("%s: %d results, %d via go-fixedwidth", l.Name, len(got[0]), len(got[1]))
			}
			for i := range got[0] {
				a, b := got[0][i], got[1][i]
				if reflect.DeepEqual(a.rec, b.rec) && fmt.Sprint(a.err) == fmt.Sprint(b.err) {
					continue // cmp.Diff is slow, even on equal values
				}
				t.Fatalf("%s result %d (-go-fixedwidth +compiled):\n%s%v\n%v", l.Name, i, cmp.Diff(b.rec, a.rec), b.err, a.err)
			}
		}
	})
}
