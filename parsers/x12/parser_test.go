package x12

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// The adapter's records (envelope maps cloned from one per group) equal
// Transaction.Record's (each map built from scratch), and no two records
// share a map.
func TestParserRecordsMatchTransactions(t *testing.T) {
	inputs := map[string][]byte{
		"two groups": []byte(testISA +
			"GS*PO*S*R*20240115*1200*1*X*004010~ST*850*1~SE*2*1~ST*850*2~SE*2*2~GE*2*1~" +
			"GS*IN*S2*R2*20240116*1300*2*X*005010~ST*810*1*005010X1~SE*2*1~GE*1*2~IEA*2*000000001~" +
			strings.Replace(testISA, "*U*00401*000000001*", "*^*00501*000000002*", 1) +
			"GS*PO*S*R*20240115*1200*3*X*~ST*850*9~SE*2*9~GE*1*3~IEA*1*000000002~"),
	}
	for _, path := range x12CorpusFiles(t) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		inputs[filepath.Base(path)] = b
	}
	for _, rel := range goldenInputs {
		b, err := os.ReadFile(filepath.Join(sharedDir(t), rel))
		if err != nil {
			t.Fatal(err)
		}
		inputs[filepath.Base(rel)] = b
	}
	for name, data := range inputs {
		t.Run(name, func(t *testing.T) {
			var want, got []legacybridge.Record
			d := NewDecoderName(bytes.NewReader(data), name)
			for i := 0; i < len(data)+10; i++ {
				tx, err := d.Decode()
				if err == io.EOF {
					break
				}
				if tx != nil {
					want = append(want, tx.Record())
				}
			}
			rr := Parser{}.NewReader(bytes.NewReader(data), name)
			for i := 0; i < len(data)+10; i++ {
				rec, err := rr.Read()
				if err == io.EOF {
					break
				}
				if rec.Format != "" {
					// A map shared with an earlier record (or the
					// decoder's own) would hold that record's probe.
					if p, ok := rec.Envelope["probe"]; ok {
						t.Errorf("record %d: envelope holds record %s's probe", len(got), p)
					}
					rec.Envelope["probe"] = strconv.Itoa(len(got))
					got = append(got, rec)
				}
			}
			for i, rec := range got {
				if p := rec.Envelope["probe"]; p != strconv.Itoa(i) {
					t.Errorf("record %d: envelope holds record %s's probe", i, p)
				}
				delete(rec.Envelope, "probe")
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("records (-Transaction.Record +Parser):\n%s", diff)
			}
		})
	}
	if n := len(inputs); n < 2 {
		t.Fatalf("%d inputs", n)
	}
}
