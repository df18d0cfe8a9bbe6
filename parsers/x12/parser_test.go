package x12

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"legacybridge"
)

func TestParserRecords(t *testing.T) {
	data := caseInput(t, "08_x12_two_isa_different_delims.edi")
	var p legacybridge.Parser = Parser{}
	rr := p.NewReader(bytes.NewReader(data), "08.edi")
	var recs []legacybridge.Record
	for {
		rec, err := rr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	r := recs[1]
	wantEnv := map[string]string{
		"isa05": "ZZ", "isa06": "RECEIVERID", "isa07": "ZZ", "isa08": "SENDERID", "isa09": "240115", "isa10": "1200",
		"isa12": "00501", "isa13": "000000002", "isa14": "0", "isa15": "P",
		"gs01": "FA", "gs02": "RECEIVERID", "gs03": "SENDERID", "gs04": "20240115", "gs05": "1201", "gs06": "2",
		"gs07": "X", "gs08": "005010X230", "st01": "997", "st02": "0001", "st03": "005010X230", "version": "005010X230",
		"element_separator": "|", "component_separator": ":", "repetition_separator": "^", "segment_terminator": "\n",
	}
	if diff := cmp.Diff(wantEnv, r.Envelope); diff != "" {
		t.Errorf("envelope (-want +got):\n%s", diff)
	}
	wantPos := legacybridge.Position{File: "08.edi", Offset: int64(bytes.Index(data, []byte("ST|997"))), Line: 12, Segment: 12, Tag: "ST", Index: 1}
	if r.Format != "x12" || r.Type != "997" || r.Pos != wantPos || len(r.Segments) != 6 {
		t.Errorf("record = %s %s %+v, %d segments; want x12 997 %+v, 6", r.Format, r.Type, r.Pos, len(r.Segments), wantPos)
	}
	if recs[0].Envelope["version"] != "004010" || recs[0].Envelope["repetition_separator"] != "" {
		t.Errorf("first record envelope %v", recs[0].Envelope)
	}
	// The record and the transaction marshal to JSON objects with the segments.
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Type     string `json:"type"`
		Segments []struct {
			Tag      string `json:"tag"`
			Elements []any  `json:"elements"`
		} `json:"segments"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Type != "997" || len(back.Segments) != 6 || back.Segments[4].Tag != "AK9" || len(back.Segments[4].Elements) != 4 {
		t.Errorf("record JSON = %s", b)
	}
}
