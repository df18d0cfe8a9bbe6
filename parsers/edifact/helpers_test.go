package edifact

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"legacybridge"
)

// sharedDir finds the shared read-only material: $LEGACYBRIDGE_SHARED, else a
// "shared" folder next to one of the package's parent directories. In CI
// (CI=true) its absence fails the test instead of skipping it.
func sharedDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("LEGACYBRIDGE_SHARED"); d != "" {
		return d
	}
	if d := findShared(); d != "" {
		return d
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("shared test material not found: set LEGACYBRIDGE_SHARED to the folder holding corpus/ and cases/")
	}
	t.Skip("shared test material not found: set LEGACYBRIDGE_SHARED to the folder holding corpus/ and cases/")
	return ""
}

// findShared is sharedDir without a testing.TB, for seeding.
func findShared() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		cand := filepath.Join(dir, "shared")
		if _, err := os.Stat(filepath.Join(cand, "cases", "parsers", "CASES.md")); err == nil {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func caseInput(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedDir(t), "cases", "parsers", "inputs", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// result is everything a Decoder returned for one input.
type result struct {
	msgs  []*Message
	errs  []*ParseError
	warns []*ParseError
}

// decodeAll decodes until io.EOF, collecting messages, errors and warnings.
// It fails the test if the decoder does not end.
func decodeAll(t testing.TB, data []byte, name string, opts ...func(*Decoder)) result {
	t.Helper()
	var res result
	d := NewDecoderName(bytes.NewReader(data), name)
	d.Warn = func(e *ParseError) { res.warns = append(res.warns, e) }
	for _, o := range opts {
		o(d)
	}
	for i := 0; ; i++ {
		if i > len(data)+10 {
			t.Fatalf("%s: decoder does not reach io.EOF", name)
		}
		msg, err := d.Decode()
		if err == io.EOF {
			if msg != nil {
				t.Fatalf("%s: message returned with io.EOF", name)
			}
			return res
		}
		if msg != nil {
			res.msgs = append(res.msgs, msg)
		}
		if err != nil {
			res.errs = append(res.errs, flatten(t, err)...)
		}
	}
}

func flatten(t testing.TB, err error) []*ParseError {
	var list ErrorList
	if errors.As(err, &list) {
		return list
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *ParseError", err, err)
	}
	return []*ParseError{pe}
}

// allSegments tokenizes the whole input.
func allSegments(t testing.TB, data []byte) ([]legacybridge.Segment, []*ParseError) {
	t.Helper()
	var segs []legacybridge.Segment
	var errs []*ParseError
	tok := NewTokenizer(bytes.NewReader(data))
	for i := 0; ; i++ {
		if i > len(data)+10 {
			t.Fatal("tokenizer does not reach io.EOF")
		}
		seg, err := tok.NextSegment()
		if err == io.EOF {
			return segs, errs
		}
		if err != nil {
			errs = append(errs, flatten(t, err)...)
			if errs[len(errs)-1].Fatal() {
				return segs, errs
			}
		}
		if seg.Tag != "" {
			segs = append(segs, seg)
		}
	}
}

func tags(segs []legacybridge.Segment) []string {
	out := make([]string, len(segs))
	for i, s := range segs {
		out[i] = s.Tag
	}
	return out
}

// values returns each element's simple value, failing on composites or
// repetitions so that a wrongly split value cannot pass unnoticed.
func values(t testing.TB, s legacybridge.Segment) []string {
	t.Helper()
	out := make([]string, len(s.Elements))
	for i, e := range s.Elements {
		if len(e) != 1 || len(e[0]) != 1 {
			t.Errorf("%s%02d = %v: want a simple value", s.Tag, i+1, e)
		}
		out[i] = e.Value()
	}
	return out
}

func findSeg(t testing.TB, segs []legacybridge.Segment, tag string, nth int) legacybridge.Segment {
	t.Helper()
	for _, s := range segs {
		if s.Tag == tag {
			if nth == 0 {
				return s
			}
			nth--
		}
	}
	t.Fatalf("no %s segment (#%d)", tag, nth)
	return legacybridge.Segment{}
}

// checkPlaces asserts that every segment's offset points at its tag in the
// input, and that no value carries a line break.
func checkPlaces(t testing.TB, data []byte, segs []legacybridge.Segment) {
	t.Helper()
	for _, s := range segs {
		if !tagAt(data, s.Offset, s.Tag) {
			t.Errorf("segment %d (%s): offset %d does not point at its tag", s.Number, s.Tag, s.Offset)
		}
		for i, e := range s.Elements {
			for _, r := range e {
				for _, c := range r {
					if strings.ContainsAny(c, "\r\n") {
						t.Errorf("%s%02d = %q contains a line break", s.Tag, i+1, c)
					}
				}
			}
		}
	}
}

// tagAt reports whether the input holds tag at off, line breaks aside (a
// wrapped file may break a line inside a tag).
func tagAt(data []byte, off int64, tag string) bool {
	if off < 0 || off >= int64(len(data)) {
		return false
	}
	got := make([]byte, 0, len(tag))
	for _, c := range data[off:] {
		if len(got) == len(tag) {
			break
		}
		if c != '\r' && c != '\n' {
			got = append(got, c)
		}
	}
	return string(got) == tag
}

func errStrings(errs []*ParseError) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Error()
	}
	return out
}

// errKeys renders errors as "kind@segment(TAG)/code/level" for compact
// expectations.
func errKeys(errs []*ParseError) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = errKey(e)
	}
	return out
}

func errKey(e *ParseError) string {
	kinds := []struct {
		name string
		err  error
	}{
		{"una", ErrBadUNA}, {"nointerchange", ErrNoInterchange}, {"segment", ErrBadSegment},
		{"service", ErrBadServiceSegment}, {"count", ErrCountMismatch}, {"ref", ErrControlMismatch},
		{"trailer", ErrMissingTrailer}, {"outside", ErrOutsideEnvelope}, {"empty", ErrEmptyEnvelope},
		{"grouptype", ErrGroupType}, {"duplicate", ErrDuplicateRef}, {"encoding", ErrEncoding},
		{"repertoire", ErrRepertoire},
	}
	k := "other"
	for _, c := range kinds {
		if errors.Is(e, c.err) {
			k = c.name
			break
		}
	}
	lv := "?"
	switch e.Level {
	case LevelInterchange:
		lv = "i"
	case LevelGroup:
		lv = "g"
	case LevelMessage:
		lv = "m"
	}
	return k + "@" + strconv.Itoa(e.Segment) + "(" + e.Tag + ")/" + strconv.Itoa(int(e.Code)) + "/" + lv
}

// quoted matches a Go-quoted string in a message.
var quoted = regexp.MustCompile(`"(\\.|[^"\\])*"`)

// checkPlaced fails unless e names a segment (with its tag when it has a
// valid one) and a byte offset inside the input, in the message and in its
// Place, and has a level and a CONTRL code.
func checkPlaced(t testing.TB, e *ParseError, name string, size int64) {
	t.Helper()
	msg := e.Error()
	p := e.Place()
	if e.Segment < 1 || p.Segment != e.Segment || p.Offset != e.Offset || p.Tag != e.Tag || p.File != name {
		t.Errorf("%q: place %+v does not name a segment", msg, p)
	}
	if e.Offset < 0 || e.Offset > size {
		t.Errorf("%q: offset %d outside the input of %d bytes", msg, e.Offset, size)
	}
	if e.Tag != "" && !validTag(e.Tag) {
		t.Errorf("%q: tag %q is not a segment tag", msg, e.Tag)
	}
	if _, ok := codeNames[e.Code]; !ok {
		t.Errorf("%q: code %d is not a known 0085 code", msg, e.Code)
	}
	if !e.fatal && e.Level == 0 {
		t.Errorf("%q: no level", msg)
	}
	want := "edifact: " + name + ": segment " + strconv.Itoa(e.Segment)
	if e.Tag != "" {
		want += " (" + e.Tag + ")"
	}
	want += " at byte offset " + strconv.FormatInt(e.Offset, 10) + " "
	if !strings.HasPrefix(msg, want) {
		t.Errorf("%q does not start with %q", msg, want)
	}
	// Outside quoted input, no empty tag, no gap left by an empty value.
	if bare := quoted.ReplaceAllString(msg, `"…"`); strings.Contains(bare, "()") || strings.Contains(bare, "  ") ||
		strings.Contains(bare, " :") {
		t.Errorf("%q: empty tag or gap in the message", msg)
	}
}

// testUNB is an interchange header with the default service characters.
const testUNB = "UNB+UNOA:3+SENDER+RECEIVER+240115:1200+REF1'"
