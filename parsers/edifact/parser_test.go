package edifact

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
)

func readRecords(t *testing.T, p legacybridge.Parser, data []byte, name string) ([]legacybridge.Record, []error) {
	t.Helper()
	rr := p.NewReader(bytes.NewReader(data), name)
	var recs []legacybridge.Record
	var errs []error
	for i := 0; i <= len(data)+10; i++ {
		rec, err := rr.Read()
		if err == io.EOF {
			return recs, errs
		}
		if rec.Format != "" {
			recs = append(recs, rec)
		}
		if err != nil {
			var pl legacybridge.Placer
			if !errors.As(err, &pl) {
				t.Errorf("error %v is not a Placer", err)
			}
			errs = append(errs, err)
		}
	}
	t.Fatal("reader does not end")
	return nil, nil
}

func TestParserRecords(t *testing.T) {
	in := "UNA:+.? 'UNB+UNOC:3+SENDER:14:RA+RECEIVER:14+240115:1200+REF1+SECRET:PW+APP+A+1+AGR+1'" +
		"UNG+ORDERS+GS:ZZ+GR:ZZ+240115:1201+G1+UN+D:96A+GROUPPW'" +
		"UNH+M1+ORDERS:D:96A:UN:EAN008+CAR+1:F'BGM+220+PO1+9'UNT+3+M1'UNE+1+G1'UNZ+1+REF1'"
	var p legacybridge.Parser = Parser{}
	recs, errs := readRecords(t, p, []byte(in), "o.edi")
	if len(errs) > 0 || len(recs) != 1 {
		t.Fatalf("%d records, errors %v", len(recs), errs)
	}
	r := recs[0]
	want := map[string]string{
		"unb01": "UNOC", "unb01_2": "3", "unb02": "SENDER", "unb02_2": "14", "unb02_3": "RA", "unb03": "RECEIVER", "unb03_2": "14",
		"unb04": "240115", "unb04_2": "1200", "unb05": "REF1", "unb07": "APP", "unb08": "A", "unb09": "1", "unb10": "AGR", "unb11": "1",
		"ung01": "ORDERS", "ung02": "GS", "ung02_2": "ZZ", "ung03": "GR", "ung03_2": "ZZ", "ung04": "240115", "ung04_2": "1201",
		"ung05": "G1", "ung06": "UN", "ung07": "D", "ung07_2": "96A",
		"unh01": "M1", "unh02": "ORDERS", "unh02_2": "D", "unh02_3": "96A", "unh02_4": "UN", "unh02_5": "EAN008",
		"unh03": "CAR", "unh04": "1", "unh04_2": "F",
		"version": "D:96A:UN", "charset": "iso-8859-1",
		"component_separator": ":", "element_separator": "+", "decimal_mark": ".", "release_character": "?", "segment_terminator": "'",
	}
	if diff := cmp.Diff(want, r.Envelope); diff != "" {
		t.Errorf("envelope (-want +got):\n%s", diff)
	}
	wantPos := legacybridge.Position{File: "o.edi", Offset: int64(strings.Index(in, "UNH")), Line: 1, Segment: 4, Tag: "UNH", Index: 0}
	if r.Format != "edifact" || r.Type != "ORDERS" || r.Pos != wantPos || len(r.Segments) != 3 {
		t.Errorf("record %s %s %+v, %d segments", r.Format, r.Type, r.Pos, len(r.Segments))
	}
	for k, v := range r.Envelope {
		if strings.Contains(v, "SECRET") || strings.Contains(v, "PW") {
			t.Errorf("envelope %s = %q: a password", k, v)
		}
	}
	// The record marshals to JSON with its segments; the generic mapper's
	// keys (unb02, unb03, unb05, ung05, unh01) are there.
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"tag":"BGM","elements":["220","PO1","9"]`)) || bytes.Contains(b, []byte("SECRET")) {
		t.Errorf("record JSON = %s", b)
	}
}

// The adapter's records (envelope maps cloned from one per group) equal
// Message.Record's (each map built from scratch), and no two records share
// a map.
func TestParserRecordsMatchMessages(t *testing.T) {
	inputs := map[string]string{
		"groups": testUNB + grp + msg1 + msg2 + "UNE+2+G1'" + strings.Replace(grp, "G1", "G2", 1) +
			"UNH+3+INVOIC:D:01B:UN'UNT+2+3'UNE+1+G2'UNZ+2+REF1'",
		"two interchanges": "UNA:+,? 'UNB+UNOA:3+S+R+240115:1200+A'" + msg1 + "UNZ+1+A'UNB+UNOW:4+S2+R2+20240115:1200+B'" + msg1 + msg2 + "UNZ+2+B'",
		"no interchange":   msg1 + msg2,
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			recs, _ := readRecords(t, Parser{}, []byte(in), "t.edi")
			res := decodeAll(t, []byte(in), "t.edi")
			if len(recs) != len(res.msgs) || len(recs) < 2 {
				t.Fatalf("%d records, %d messages", len(recs), len(res.msgs))
			}
			for i, m := range res.msgs {
				if diff := cmp.Diff(m.Record(), recs[i]); diff != "" {
					t.Errorf("record %d (-Message.Record +adapter):\n%s", i, diff)
				}
			}
			recs[0].Envelope["unh01"] = "changed"
			if recs[1].Envelope["unh01"] == "changed" {
				t.Error("records share an envelope map")
			}
		})
	}
}

// The adapter returns a bad message with its record-level error and goes
// on; interchange errors come without a record.
func TestParserErrors(t *testing.T) {
	in := testUNB + msg1 + "UNH+2+ORDERS:D:96A:UN'UNT+9+2'" + msg2 + "UNZ+9+REF1'"
	rr := Parser{}.NewReader(strings.NewReader(in), "t.edi")
	type step struct {
		Ref         string
		Err         bool
		RecordLevel bool
	}
	var got []step
	for {
		rec, err := rr.Read()
		if err == io.EOF {
			break
		}
		var rl interface{ RecordLevel() bool }
		got = append(got, step{rec.Envelope["unh01"], err != nil, errors.As(err, &rl) && rl.RecordLevel()})
	}
	want := []step{{"1", false, false}, {"2", true, true}, {"2", false, false}, {"", true, false}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
