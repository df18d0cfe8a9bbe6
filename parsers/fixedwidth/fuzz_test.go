package fixedwidth_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

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
