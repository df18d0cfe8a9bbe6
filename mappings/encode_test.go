package mappings

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// stdJSON is encoding/json without HTML escaping: what appendJSON must match.
func stdJSON(t testing.TB, v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	v := map[string]any{
		"s":     "plain <&> \"quoted\" back\\slash \n\r\t \x01 \x1f é ü Ø 日本 \u2028 \u2029 bad\xffutf8",
		"n":     json.Number("-12.500"),
		"b":     true,
		"null":  nil,
		"list":  []any{"a", json.Number("1"), map[string]any{"z": "1", "a": "2"}},
		"empty": map[string]any{},
		"ε":     "key order by bytes",
	}
	got, err := appendJSON(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	if want := stdJSON(t, v); string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if _, err := appendJSON(nil, json.Number("1,5")); err == nil {
		t.Error("invalid number encoded")
	}
	if _, err := appendJSON(nil, 1.5); err == nil {
		t.Error("float64 encoded; the evaluator never makes one")
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "abc", "\"\\", "\x00\x7f", "\u2028", "\xff\xfe", "é\xc3", "<script>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := string(appendString(nil, s))
		if want := stdJSON(t, s); got != want {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
	})
}

// FuzzParseExpr: the expression parser never panics, and whatever it
// accepts evaluates without panicking on a small record.
func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{
		"BEG03", "N1[N101=ST]/N102 | trim", "PO106*BP,IN | upper", "SLN01-2", "REF[2]/REF02",
		"HL[S]/DTM[DTM01=011]/DTM02 | datetime(DTM03)", "concat(BEG03, '/', 'x''y')",
		"fields.qty | number(3) | default(0)", "x | lookup(uom, keep)", "[[", "'", "a(", "PO1[PO101=]/PO102",
	} {
		f.Add(s)
	}
	lookups := map[string]map[string]string{"uom": {"EA": "each"}}
	rec := x12Record("850", po850()()...)
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseExpr(s, lookups)
		if err != nil {
			return
		}
		m := &Mapping{name: "fuzz", format: "x12", groups: po850Groups, lookups: lookups}
		for _, p := range e.paths() {
			m.checkPath(nil, "fuzz", p)
		}
		if len(m.problems) > 0 {
			return
		}
		m.loc = time.UTC
		d, err := buildDoc(rec.Segments, po850Groups, nil)
		if err != nil {
			t.Fatal(err)
		}
		c := &evalCtx{m: m, rec: &rec, doc: d}
		_, _ = c.eval(scope{n: d.root}, e)
	})
}
