package cdc

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestConvertExactNumbers(t *testing.T) {
	for _, tc := range []struct {
		kind Kind
		in   any
		want any
	}{
		// Oracle NUMBER arrives as text from go-ora; never through float64.
		{KindDecimal, "12345678901234567890.123456789", json.Number("12345678901234567890.123456789")},
		{KindDecimal, "0.1", json.Number("0.1")},
		{KindDecimal, ".5", json.Number("0.5")}, // Oracle leaves out the leading zero
		{KindDecimal, "-.25", json.Number("-0.25")},
		{KindDecimal, "100", json.Number("100")},
		{KindInt, "9223372036854775807", int64(9223372036854775807)},
		{KindInt, "9223372036854775808", json.Number("9223372036854775808")},
		{KindInt, int64(-42), int64(-42)},
		{KindDecimal, []byte("7.50"), json.Number("7.50")},
		{KindDecimal, "NaN", "NaN"},
		{KindFloat, 0.1, json.Number("0.1")},
		{KindDecimal, nil, nil},
		{KindText, "", ""}, // empty is not NULL
		{KindText, nil, nil},
		{KindBool, int64(1), true},
	} {
		got, err := convert(tc.kind, tc.in, time.UTC)
		if err != nil {
			t.Errorf("convert(%v, %#v): %v", tc.kind, tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("convert(%v, %#v) (-want +got):\n%s", tc.kind, tc.in, diff)
		}
	}
	if _, err := convert(KindDecimal, "12,5", time.UTC); err == nil {
		t.Errorf("convert of 12,5 (decimal comma) succeeded")
	}
}

func TestConvertTimes(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Skip("no zone database:", err)
	}
	// A DATE carries no zone: the wall clock is placed in the configured
	// zone whatever zone the driver guessed (go-ora: the server's).
	driver := time.Date(2024, 3, 10, 8, 30, 0, 0, time.FixedZone("server", 3600))
	got, err := convert(KindTime, driver, chicago)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2024, 3, 10, 8, 30, 0, 0, chicago)
	if !got.(time.Time).Equal(want) || got.(time.Time).Location() != chicago {
		t.Errorf("zoneless DATE = %v, want %v", got, want)
	}
	// TIMESTAMP WITH TIME ZONE keeps its instant and offset.
	tz := time.Date(2024, 3, 10, 8, 30, 0, 5000, time.FixedZone("", -5*3600))
	got, _ = convert(KindTimeTZ, tz, chicago)
	if g := got.(time.Time); !g.Equal(tz) || g.Format(time.RFC3339Nano) != "2024-03-10T08:30:00.000005-05:00" {
		t.Errorf("TSTZ = %v, want %v with its offset", g, tz)
	}
	// Text as SQLite stores it.
	got, _ = convert(KindTime, "2024-05-01 10:00:00.250", time.UTC)
	if want := time.Date(2024, 5, 1, 10, 0, 0, 250e6, time.UTC); !got.(time.Time).Equal(want) {
		t.Errorf("text date = %v, want %v", got, want)
	}
	got, _ = convert(KindTimeTZ, "2024-05-01T10:00:00+02:00", time.UTC)
	if want := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC); !got.(time.Time).Equal(want) {
		t.Errorf("text TSTZ = %v, want %v", got, want)
	}
	got, _ = convert(KindTime, "not a date", time.UTC)
	if got != "not a date" {
		t.Errorf("unparseable date = %#v, want the text kept", got)
	}
}

func TestFromJSONImages(t *testing.T) {
	for _, tc := range []struct {
		kind Kind
		in   any
		want any
	}{
		{KindInt, json.Number("1001"), int64(1001)},
		{KindDecimal, json.Number("-12.50"), json.Number("-12.50")},
		{KindDecimal, "12.50", json.Number("12.50")}, // SQLite TEXT holding a number
		{KindText, json.Number("0042"), "0042"},
		{KindText, "", ""},
		{KindText, nil, nil},
		{KindBytes, `\x0102ff`, []byte{1, 2, 0xff}}, // PostgreSQL bytea in to_jsonb
		{KindBytes, "0102FF", []byte{1, 2, 0xff}},   // hex() in the SQLite trigger
		{KindTime, "2024-05-01T10:00:00.123456", time.Date(2024, 5, 1, 10, 0, 0, 123456000, time.UTC)},
		{KindTimeTZ, "2024-05-01T10:00:00+00:00", time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},
	} {
		got, err := fromJSON(tc.kind, tc.in, time.UTC)
		if err != nil {
			t.Errorf("fromJSON(%v, %#v): %v", tc.kind, tc.in, err)
			continue
		}
		if tt, ok := tc.want.(time.Time); ok {
			if g, ok := got.(time.Time); !ok || !g.Equal(tt) {
				t.Errorf("fromJSON(%v, %#v) = %#v, want %v", tc.kind, tc.in, got, tt)
			}
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("fromJSON(%v, %#v) (-want +got):\n%s", tc.kind, tc.in, diff)
		}
	}
}

func TestCompareAndKeys(t *testing.T) {
	if compareValues(int64(9), json.Number("10")) >= 0 {
		t.Error("9 should sort before 10")
	}
	if compareValues(json.Number("2.5"), json.Number("10")) >= 0 {
		t.Error("2.5 should sort before 10 (numerically, not as text)")
	}
	if compareValues("B", "a") >= 0 {
		t.Error("binary order: B before a")
	}
	if compareValues(nil, int64(0)) >= 0 {
		t.Error("NULL first")
	}
	if compareKeys([]any{int64(1), "b"}, []any{int64(1), "c"}) >= 0 {
		t.Error("composite key order")
	}
	// The same row read by polling (int64) and from the journal
	// (json.Number) has one key.
	if string(encodeKey([]any{normKey(json.Number("1001"))})) != string(encodeKey([]any{int64(1001)})) {
		t.Error("keys from JSON and from the table encode differently")
	}
	k := []any{int64(5), "x", json.Number("1.5"), time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC), nil, true}
	back, err := decodeKey(encodeKey(k))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(k, back); diff != "" {
		t.Errorf("key round trip (-want +got):\n%s", diff)
	}
}

func TestSpans(t *testing.T) {
	spans := toSpans([]int64{1, 2, 3, 7, 9, 10})
	if diff := cmp.Diff([]seqSpan{{1, 3}, {7, 7}, {9, 10}}, spans); diff != "" {
		t.Errorf("toSpans (-want +got):\n%s", diff)
	}
	for seq, want := range map[int64]bool{0: false, 1: true, 3: true, 4: false, 7: true, 8: false, 10: true, 11: false} {
		if got := inSpans(spans, seq); got != want {
			t.Errorf("inSpans(%d) = %v, want %v", seq, got, want)
		}
	}
}

func TestEventIDDeterministic(t *testing.T) {
	c := Change{Table: "MTL_MATERIAL_TRANSACTIONS", Key: []any{int64(1001)}, KeyColumns: []string{"TRANSACTION_ID"}, Pos: "j:5@2024-05-01T10:00:00Z"}
	a := EventID("erp", c, 0)
	c2 := c
	c2.After = Image{"X": "other content"} // content does not enter the id
	if b := EventID("erp", c2, 0); a != b {
		t.Errorf("same table/key/position gave ids %s and %s", a, b)
	}
	for _, other := range []Change{
		{Table: "OTHER", Key: c.Key, Pos: c.Pos},
		{Table: c.Table, Key: []any{int64(1002)}, Pos: c.Pos},
		{Table: c.Table, Key: c.Key, Pos: "j:6@2024-05-01T10:00:00Z"},
	} {
		if EventID("erp", other, 0) == a {
			t.Errorf("%+v has the same id as %+v", other, c)
		}
	}
	if EventID("erp", c, 1) == a || EventID("other-flow", c, 0) == a {
		t.Error("event index and flow must enter the id")
	}
}

func TestChangeJSON(t *testing.T) {
	c := Change{Op: OpUpdate, Table: "T", Key: []any{int64(7)}, KeyColumns: []string{"ID"},
		Before: Image{"ID": int64(7), "NOTE": nil, "QTY": json.Number("1.50")},
		After:  Image{"ID": int64(7), "NOTE": "", "QTY": json.Number("2.50"), "DOC": Skipped{Reason: "lob"}},
		Pos:    "j:1@x", TxID: "77", ChangeTime: time.Date(2024, 5, 1, 10, 0, 0, 0, time.FixedZone("", 7200))}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"op":"update","table":"T","key":{"ID":7},"before":{"ID":7,"NOTE":null,"QTY":1.50},"after":{"DOC":{"skipped":"lob"},"ID":7,"NOTE":"","QTY":2.50},"position":"j:1@x","txid":"77","changeTime":"2024-05-01T10:00:00+02:00"}`
	if string(b) != want {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
}
