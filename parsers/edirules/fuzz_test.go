package edirules

import (
	"io/fs"
	"strings"
	"testing"

	"legacybridge"
)

// maxFuzzInput bounds a fuzzed rule file: rule files are small, and
// the bound keeps each run short.
const maxFuzzInput = 16 << 10

// fuzzBase is the base the fuzzed file is added to: a partner 850 and
// short lists under the names the shipped sets use (the shipped lists take
// milliseconds to load, too slow per run), so the shipped files, seeds
// here, load and check.
const fuzzBase = partner850 + `codelists:
  "92": [SA, NE]
  "353": ["00"]
  "587": [AC]
  "1005": ["0001"]
  "735": [S, O, I]
  "349": [F]
  "374": ["002", "011"]
`

const fuzzBaseEDIFACT = `standard: edifact
codelists:
  "1225": ["9"]
  "2379": ["102"]
`

// FuzzAdd feeds arbitrary bytes to Add as a rule file: it must not panic,
// a refusal must name the file and leave the rules unchanged, and rules it
// accepts must check records of every shape without panicking. Run it with
// a short minimization (go test -fuzz FuzzAdd -fuzzminimizetime 3s): the
// seeds are whole rule files, slow to minimize.
func FuzzAdd(f *testing.F) {
	err := fs.WalkDir(shipped, "rules", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "codelists.yaml") {
			return err
		}
		data, err := fs.ReadFile(shipped, p)
		f.Add(data)
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(partner850))
	f.Add([]byte("standard: edifact\nset: ORDERS\nclosed: true\nsections:\n  - name: a\n  - name: b\n    start: [LIN]\nsegments:\n  - {tag: LIN, section: b, min: 3, max: 4, elements: [{pos: 2, comp: 3, required: true, type: n, min: 2, max: 3, codes: [\"1\"]}]}\n"))
	f.Add([]byte("standard: x12\ncodelists:\n  \"92\": [SA]\n"))
	f.Add([]byte("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"))
	records := fuzzRecords()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			t.Skip()
		}
		// A small base, cheap to load per run (Default takes
		// milliseconds), that the input may override or use.
		r := New()
		if err := r.Add("base.yaml", []byte(fuzzBase)); err != nil {
			t.Fatal(err)
		}
		if err := r.Add("base-edifact.yaml", []byte(fuzzBaseEDIFACT)); err != nil {
			t.Fatal(err)
		}
		before := strings.Join(r.Sets(), "\n")
		if err := r.Add("fuzz.yaml", data); err != nil {
			if !strings.HasPrefix(err.Error(), "edirules: fuzz.yaml") {
				t.Errorf("error does not name the file: %v", err)
			}
			if after := strings.Join(r.Sets(), "\n"); after != before {
				t.Errorf("a refused file changed the rules")
			}
			return
		}
		for _, rec := range records {
			vs := r.Check(rec)
			for _, v := range vs {
				if v.Position < 1 || v.Position > len(rec.Segments)+1 || v.Message == "" {
					t.Errorf("violation %+v out of place in a record of %d segments", v, len(rec.Segments))
				}
			}
			X12Errors(vs)
			EDIFACTErrors(vs)
		}
	})
}

// fuzzRecords are records of every shape a rule may meet: each shipped
// set's good and broken test documents, an empty one, and ones with
// repeated, composite and absent elements.
func fuzzRecords() []legacybridge.Record {
	var recs []legacybridge.Record
	for _, c := range ruleCases() {
		for _, d := range decodeQuiet(c.format, []byte(c.doc)) {
			recs = append(recs, d)
			// The same record for other set ids and no version.
			for _, set := range []string{"850", "ORDERS"} {
				cp := d
				cp.Type = set
				cp.Envelope = map[string]string{}
				recs = append(recs, cp)
			}
		}
	}
	odd := []legacybridge.Segment{{Tag: "UNH"}, {Tag: "LIN", Elements: []legacybridge.Element{nil, {{"a", "b"}, {"", "", "c"}}, {{}}}}, {Tag: "LIN"}, {Tag: "LIN", Elements: make([]legacybridge.Element, 5)}}
	recs = append(recs, legacybridge.Record{Format: "edifact", Type: "ORDERS"}, legacybridge.Record{Format: "edifact", Type: "ORDERS", Segments: odd},
		legacybridge.Record{Format: "x12", Type: "850", Segments: []legacybridge.Segment{{Tag: "PO1"}}})
	return recs
}

func decodeQuiet(format string, data []byte) []legacybridge.Record {
	recs, _ := decodeRecords(corpusFile{name: "fuzz", data: data, format: format})
	var out []legacybridge.Record
	for _, d := range recs {
		out = append(out, d.rec)
	}
	return out
}
