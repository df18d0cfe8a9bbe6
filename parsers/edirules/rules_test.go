package edirules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
	"legacybridge/parsers/edifact"
)

func TestDefaultLoads(t *testing.T) {
	got := Default().Sets()
	want := []string{
		"edifact DESADV versions D:96A:UN,D:96B:UN,D:97A:UN,D:97B:UN,D:98A:UN,D:98B:UN,D:99A:UN,D:99B:UN,D:00A:UN,D:00B:UN,D:01A:UN,D:01B:UN (rules/edifact/DESADV.yaml)",
		"edifact INVOIC versions D:96A:UN,D:96B:UN,D:97A:UN,D:97B:UN,D:98A:UN,D:98B:UN,D:99A:UN,D:99B:UN,D:00A:UN,D:00B:UN,D:01A:UN,D:01B:UN (rules/edifact/INVOIC.yaml)",
		"edifact ORDERS versions D:96A:UN,D:96B:UN,D:97A:UN,D:97B:UN,D:98A:UN,D:98B:UN,D:99A:UN,D:99B:UN,D:00A:UN,D:00B:UN,D:01A:UN,D:01B:UN (rules/edifact/ORDERS.yaml)",
		"x12 810 versions 004010* (rules/x12/810.yaml)",
		"x12 850 versions 004010* (rules/x12/850.yaml)",
		"x12 855 versions 004010* (rules/x12/855.yaml)",
		"x12 856 versions 004010* (rules/x12/856.yaml)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Default().Sets() (-want +got):\n%s", diff)
	}
}

// rec850 is an 850 record of version v whose BEG02 is typ.
func rec850(v, typ string) legacybridge.Record {
	seg := func(tag string, vals ...string) legacybridge.Segment {
		s := legacybridge.Segment{Tag: tag}
		for _, v := range vals {
			s.Elements = append(s.Elements, legacybridge.Element{{v}})
		}
		return s
	}
	return legacybridge.Record{Format: "x12", Type: "850", Envelope: map[string]string{"version": v}, Segments: []legacybridge.Segment{
		seg("ST", "850", "0001"), seg("BEG", "00", typ, "PO1", "", "20240115"), seg("PO1", "1", "1", "EA"), seg("SE", "4", "0001"),
	}}
}

func TestVersions(t *testing.T) {
	r := Default()
	if vs := r.Check(rec850("004010VICS", "XX")); len(vs) != 1 {
		t.Errorf("004010VICS: %v, want the BEG02 code violation", vs)
	}
	for _, v := range []string{"003010", "005010", ""} {
		if vs := r.Check(rec850(v, "XX")); vs != nil {
			t.Errorf("version %q: %v, want none (no shipped set for it)", v, vs)
		}
	}
	if vs := r.Check(legacybridge.Record{Format: "x12", Type: "997", Envelope: map[string]string{"version": "004010"}}); vs != nil {
		t.Errorf("997: %v, want none", vs)
	}
	var nilRules *Rules
	if vs := nilRules.Check(rec850("004010", "XX")); vs != nil {
		t.Errorf("nil Rules: %v", vs)
	}
}

const partner850 = `
standard: x12
set: "850"
segments:
  - tag: BEG
    elements:
      - {pos: 2, codes: [SA]}
`

func TestOverride(t *testing.T) {
	r := Default()
	before := len(r.Sets())
	if err := r.Add("partner/850.yaml", []byte(partner850)); err != nil {
		t.Fatal(err)
	}
	if got := len(r.Sets()); got != before+1 {
		t.Errorf("%d sets after adding one for other versions, want %d", got, before+1)
	}
	// The partner's set (any version) is tried first, and replaces the
	// shipped one: NE, a valid 92 code, is now refused, and BEG05's
	// shipped rule no longer applies.
	vs := r.Check(rec850("004010", "NE"))
	if len(vs) != 1 || vs[0].Source != "partner/850.yaml" || vs[0].X12Element != X12ElementBadCode {
		t.Errorf("partner rules: %v, want BEG02 refused by partner/850.yaml", vs)
	}
	if vs := r.Check(rec850("003010", "SA")); vs != nil {
		t.Errorf("partner rules apply to every version, SA allowed: %v", vs)
	}
	// A second file for the same versions replaces the first.
	if err := r.Add("partner/850-v2.yaml", []byte(strings.Replace(partner850, "[SA]", "[SA, NE]", 1))); err != nil {
		t.Fatal(err)
	}
	if got := len(r.Sets()); got != before+1 {
		t.Errorf("%d sets after replacing the partner's, want %d", got, before+1)
	}
	if vs := r.Check(rec850("004010", "NE")); vs != nil {
		t.Errorf("replaced partner rules: %v, want none", vs)
	}
}

func TestCodelistOverride(t *testing.T) {
	r := Default()
	if err := r.Add("lists.yaml", []byte("standard: x12\ncodelists:\n  \"92\": [ZZ]\n")); err != nil {
		t.Fatal(err)
	}
	vs := r.Check(rec850("004010", "SA"))
	if len(vs) != 1 || vs[0].Element != 2 {
		t.Errorf("with list 92 narrowed to ZZ: %v, want BEG02 refused", vs)
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The set uses a list from the other file of the folder, whatever
	// the order.
	write("a-orders.yaml", "standard: edifact\nset: ORDERS\nsegments:\n  - tag: BGM\n    elements:\n      - {pos: 1, comp: 1, codelist: docs}\n")
	write("b-lists.yml", "standard: edifact\ncodelists:\n  docs: [\"220\"]\n")
	write("notes.txt", "not a rule file")
	r, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec := legacybridge.Record{Format: "edifact", Type: "ORDERS", Envelope: map[string]string{"version": "D:03B:UN"},
		Segments: []legacybridge.Segment{{Tag: "UNH"}, {Tag: "BGM", Elements: []legacybridge.Element{{{"221"}}}}, {Tag: "UNT"}}}
	vs := r.Check(rec)
	if len(vs) != 1 || vs[0].EDIFACT != edifact.CodeInvalidValue || vs[0].Source != filepath.Join(dir, "a-orders.yaml") {
		t.Errorf("LoadDir rules: %v, want BGM 1001 221 refused by a-orders.yaml", vs)
	}
	// Load of one file.
	r2, err := Load(filepath.Join(dir, "b-lists.yml"))
	if err != nil || len(r2.Sets()) != 7 {
		t.Errorf("Load of a code-list file: %v, %d sets", err, len(r2.Sets()))
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("Load of a missing file: %v", err)
	}
}

func TestClosed(t *testing.T) {
	r := New()
	err := r.Add("closed.yaml", []byte("standard: edifact\nset: ORDERS\nclosed: true\nsections:\n  - name: heading\n  - name: detail\n    start: [LIN]\nsegments:\n  - tag: BGM\n    min: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	rec := legacybridge.Record{Format: "edifact", Type: "ORDERS",
		Segments: []legacybridge.Segment{{Tag: "UNH"}, {Tag: "BGM"}, {Tag: "FTX"}, {Tag: "LIN"}, {Tag: "UNT"}}}
	got := short(r.Check(rec))
	want := []want{{3, 0, 0, "FTX", "", X12SegmentUnexpected, "", edifact.CodeNotSupported}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("closed set (-want +got):\n%s", diff)
	}
}

// TestLoadErrors: a broken rule file is refused with its name, the line
// and what to do, and leaves the rules as they were.
func TestLoadErrors(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"empty", "", "bad.yaml: empty rule file"},
		{"standard", "standard: hl7\nset: ADT\n", "bad.yaml: standard is \"hl7\": give x12 or edifact"},
		{"unknown top key", "standard: x12\nset: \"850\"\nsegmnts: []\n", "field segmnts not found"},
		{"unknown element key", "standard: x12\nset: \"850\"\nsegments:\n  - tag: BEG\n    elements:\n      - {pos: 1, lenght: 2}\n", `line 6: unknown key "lenght"`},
		{"type", "standard: x12\nset: \"850\"\nsegments:\n  - tag: BEG\n    elements:\n      - {pos: 1, type: an}\n", `bad.yaml:6: BEG01: type "an" is not a x12 type`},
		{"codelist", "standard: x12\nset: \"850\"\nsegments:\n  - tag: BEG\n    elements:\n      - {pos: 1, codelist: nope}\n", `bad.yaml:6: BEG01: code list "nope" is not defined`},
		{"section", "standard: x12\nset: \"850\"\nsegments:\n  - tag: BEG\n    section: heading\n", `bad.yaml:4: segment BEG: section "heading" is not one of the sections`},
		{"start", "standard: x12\nset: \"850\"\nsections:\n  - name: heading\n  - name: detail\n", "bad.yaml:5: section detail: give the segment tags that start it"},
		{"min max", "standard: x12\nset: \"850\"\nsegments:\n  - tag: BEG\n    min: 2\n    max: 1\n", "bad.yaml:4: segment BEG: min 2 is above max 1"},
		{"tag", "standard: edifact\nset: ORDERS\nsegments:\n  - tag: bg\n", `bad.yaml:4: segment tag "bg" is not a edifact segment tag`},
		{"set id", "standard: x12\nset: PO\n", `set "PO" is not a x12 set id`},
		{"pos", "standard: x12\nset: \"850\"\nsegments:\n  - tag: BEG\n    elements:\n      - {pos: 0}\n", "bad.yaml:6: segment BEG: element pos is 1 to 999"},
		{"version", "standard: x12\nset: \"850\"\nversions: [\"0040[\"]\n", `version pattern "0040[" is not valid`},
		{"two docs", "standard: x12\nset: \"850\"\n---\nstandard: x12\n", "more than one YAML document"},
		{"codes and codelist", "standard: x12\nset: \"850\"\nsegments:\n  - tag: BEG\n    elements:\n      - {pos: 1, codes: [\"00\"], codelist: \"353\"}\n", "give codes or codelist, not both"},
		{"nothing", "standard: x12\n", "neither a set nor code lists"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Default()
			before := r.Sets()
			err := r.Add("bad.yaml", []byte(c.text))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to hold %q", err, c.want)
			}
			if !strings.HasPrefix(err.Error(), "edirules: bad.yaml") {
				t.Errorf("error %q does not name the file first", err)
			}
			if diff := cmp.Diff(before, r.Sets()); diff != "" {
				t.Errorf("a failed load changed the rules:\n%s", diff)
			}
		})
	}
}

func TestValueChecks(t *testing.T) {
	for _, c := range []struct {
		v    string
		typ  valueType
		ok   bool
		want int
	}{
		{"12", typeNumeric, true, 2}, {"-12", typeNumeric, true, 2}, {"1.2", typeNumeric, false, 0}, {"-", typeNumeric, false, 0},
		{"2.50", typeDecimal, true, 3}, {".5", typeDecimal, true, 1}, {"-1.5E-3", typeDecimal, true, 2}, {"1.2.3", typeDecimal, false, 0},
		{"1E", typeDecimal, false, 0}, {"1,5", typeDecimal, false, 0},
		{"1,5", typeEdifactNumeric, true, 2}, {"1020A", typeEdifactNumeric, false, 0}, {"$1.179", typeEdifactNumeric, false, 0},
	} {
		n, ok := numberDigits(c.v, c.typ)
		if ok != c.ok || ok && n != c.want {
			t.Errorf("numberDigits(%q, %d) = %d, %v; want %d, %v", c.v, c.typ, n, ok, c.want, c.ok)
		}
	}
	for v, ok := range map[string]bool{"20240229": true, "20230229": false, "20240431": false, "240115": true, "19991300": false, "000229": true, "2024011": false} {
		if validDate(v) != ok {
			t.Errorf("validDate(%q) = %v", v, !ok)
		}
	}
	for v, ok := range map[string]bool{"0000": true, "2359": true, "2400": false, "1260": false, "123059": true, "123060": false, "12305912": true, "12345": false} {
		if validTime(v) != ok {
			t.Errorf("validTime(%q) = %v", v, !ok)
		}
	}
}
