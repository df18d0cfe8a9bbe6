package x12

import (
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const testTA1 = "TA1*000000007*240115*1200*A*000~"

// decodeStrings decodes in, returning the ST01/ST02 of each transaction set,
// its segment tags and the error messages.
func decodeStrings(t *testing.T, in string) (sets [][]string, errs []string) {
	t.Helper()
	d := NewDecoderName(strings.NewReader(in), "t.edi")
	for i := 0; ; i++ {
		if i > 100 {
			t.Fatal("no io.EOF")
		}
		tx, err := d.Decode()
		if err == io.EOF {
			return sets, errs
		}
		if tx != nil {
			sets = append(sets, append([]string{tx.Envelope.SetID, tx.Envelope.SetControlNumber}, tags(tx.Segments)...))
		}
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
}

func TestTA1(t *testing.T) {
	group := "GS*PO*S*R*20240115*1200*1*X*004010~ST*850*0001~BEG*00*SA*PO1**20240115~SE*3*0001~GE*1*1~"
	tests := []struct {
		name string
		in   string
		sets [][]string
		errs []string
	}{
		{"ISA TA1 IEA", testISA + testTA1 + "IEA*0*000000001~", nil, nil},
		{"TA1 before GS", testISA + testTA1 + group + "IEA*1*000000001~",
			[][]string{{"850", "0001", "ST", "BEG", "SE"}}, nil},
		{"TA1 after GE", testISA + group + testTA1 + "IEA*1*000000001~",
			[][]string{{"850", "0001", "ST", "BEG", "SE"}}, nil},
		{"two TA1 before GS", testISA + testTA1 + testTA1 + group + "IEA*1*000000001~",
			[][]string{{"850", "0001", "ST", "BEG", "SE"}}, nil},
		{"TA1 between GS and ST", testISA + strings.Replace(group, "~ST*", "~"+testTA1+"ST*", 1) + "IEA*1*000000001~",
			[][]string{{"850", "0001", "ST", "BEG", "SE"}},
			[]string{"x12: t.edi: segment 3 (TA1) at byte offset 141 (line 1): TA1 segment inside a functional group (it belongs between ISA and the first GS, or between GE and IEA)"}},
		{"TA1 after IEA", testISA + testTA1 + "IEA*0*000000001~" + testTA1,
			nil,
			[]string{"x12: t.edi: segment 4 (TA1) at byte offset 154 (line 1): TA1 segment outside an interchange (after IEA)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sets, errs := decodeStrings(t, tc.in)
			if diff := cmp.Diff(tc.sets, sets); diff != "" {
				t.Errorf("transaction sets (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.errs, errs); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// The Parser yields a TA1 record for each TA1 (the partner acknowledging
// an interchange), before the sets that follow it, then io.EOF.
func TestParserTA1Only(t *testing.T) {
	rr := Parser{}.NewReader(strings.NewReader(testISA+testTA1+"IEA*0*000000001~"), "t.edi")
	rec, err := rr.Read()
	if err != nil || rec.Type != "TA1" || len(rec.Segments) != 1 || rec.Segments[0].Element(1).Value() != "000000007" ||
		rec.Envelope["isa06"] != "SENDERID" || rec.Pos.Index != -1 {
		t.Fatalf("Read = %+v, %v; want the TA1", rec, err)
	}
	if rec, err := rr.Read(); err != io.EOF {
		t.Fatalf("Read = %+v, %v; want io.EOF", rec, err)
	}
	rr = Parser{}.NewReader(strings.NewReader(testISA+testTA1+"GS*PO*S*R*20240115*1200*1*X*004010~ST*850*0001~BEG*00*SA*P1**20240115~SE*3*0001~GE*1*1~IEA*1*000000001~"), "t.edi")
	var types []string
	for {
		rec, err := rr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, rec.Type)
	}
	if strings.Join(types, ",") != "TA1,850" {
		t.Fatalf("records %q, want TA1 then 850", types)
	}
}
