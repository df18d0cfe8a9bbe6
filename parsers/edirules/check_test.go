package edirules

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"legacybridge/parsers/edifact"
)

const testISA = "ISA*00*          *00*          *ZZ*SENDERID       *ZZ*RECEIVERID     *240115*1200*U*00401*000000001*0*P*>~"

// x12Doc is an interchange holding one transaction set of the segments
// given (between ST and SE), with SE01 counted, in a group of functional
// id fid and version 004010.
func x12Doc(fid, set string, segs ...string) string {
	var b strings.Builder
	b.WriteString(testISA)
	b.WriteString("GS*" + fid + "*SENDERID*RECEIVERID*20240115*1200*7*X*004010~")
	b.WriteString("ST*" + set + "*0001~")
	for _, s := range segs {
		b.WriteString(s + "~")
	}
	b.WriteString("SE*" + strconv.Itoa(len(segs)+2) + "*0001~GE*1*7~IEA*1*000000001~")
	return b.String()
}

// edifactDoc is an interchange holding one message of type typ, D.96A,
// of the segments given (between UNH and UNT), with UNT's count right.
func edifactDoc(typ string, segs ...string) string {
	var b strings.Builder
	b.WriteString("UNA:+.? 'UNB+UNOC:3+SENDER:14+RECEIVER:14+240115:1200+IC1'")
	b.WriteString("UNH+1+" + typ + ":D:96A:UN'")
	for _, s := range segs {
		b.WriteString(s + "'")
	}
	b.WriteString("UNT+" + strconv.Itoa(len(segs)+2) + "+1'UNZ+1+IC1'")
	return b.String()
}

// ruleCase is a document and the violations the shipped rules find in it.
type ruleCase struct {
	name   string
	format string
	doc    string
	want   []want
	// ack is what the acknowledgement says of the set or message: the
	// AK2..AK5 of its 997, or the UCM..UCD of its CONTRL.
	ack string
}

// want is the part of a Violation a case pins.
type want struct {
	Pos, Element, Component int
	Tag, Value              string
	X12Seg, X12El           string
	EDIFACT                 edifact.Code
}

func short(vs []Violation) []want {
	var out []want
	for _, v := range vs {
		out = append(out, want{v.Position, v.Element, v.Component, v.Tag, v.Value, v.X12Segment, v.X12Element, v.EDIFACT})
	}
	return out
}

// replace returns segs with segment i replaced by s ("" removes it).
func replace(segs []string, i int, s string) []string {
	out := slices.Clone(segs)
	if s == "" {
		return slices.Delete(out, i, i+1)
	}
	out[i] = s
	return out
}

var (
	good850 = []string{"BEG*00*SA*PO0001**20240115", "DTM*002*20240120", "N1*ST*DOCK 4*92*DC07",
		"PO1*1*10*EA*2.50**BP*ITEM-A", "PID*F****WIDGET", "CTT*1"}
	good855 = []string{"BAK*00*AC*PO0001*20240115", "PO1*1*10*EA*2.50**BP*ITEM-A", "ACK*IA*10*EA", "CTT*1"}
	good856 = []string{"BSN*00*SHIP0001*20240115*1200*0001", "HL*1**S", "TD1*CTN25*1", "HL*2*1*O", "PRF*PO0001",
		"HL*3*2*I", "LIN**BP*ITEM-A", "SN1**10*EA", "CTT*3"}
	good810 = []string{"BIG*20240115*INV0001**PO0001", "IT1*1*10*EA*2.50**BP*ITEM-A", "TDS*2500", "CTT*1"}

	goodORDERS = []string{"BGM+220+PO0001+9", "DTM+137:20240115:102", "NAD+BY+5412345000013::9",
		"LIN+1++4000862141404:EN", "QTY+21:10:EA", "UNS+S", "CNT+2:1"}
	goodDESADV = []string{"BGM+351+DES0001+9", "DTM+137:20240115:102", "NAD+ST+5412345000013::9", "CPS+1",
		"LIN+1++4000862141404:EN", "QTY+12:10:EA", "CNT+2:1"}
	goodINVOIC = []string{"BGM+380+INV0001+9", "DTM+137:20240115:102", "NAD+SU+5412345000013::9",
		"LIN+1++4000862141404:EN", "QTY+47:10:EA", "MOA+203:25", "UNS+S", "MOA+77:25"}
)

var long23 = strings.Repeat("P", 23)

func ruleCases() []ruleCase {
	elevenDTM := []string{good856[0]}
	for i := 0; i < 11; i++ {
		elevenDTM = append(elevenDTM, "DTM*011*20240115")
	}
	elevenDTM = append(elevenDTM, good856[1:]...)
	return []ruleCase{
		{name: "850 good", format: X12, doc: x12Doc("PO", "850", good850...),
			ack: "AK2*850*0001~AK5*A~"},
		{name: "850 bad BEG01 code", format: X12, doc: x12Doc("PO", "850", replace(good850, 0, "BEG*99*SA*PO0001**20240115")...),
			want: []want{{2, 1, 0, "BEG", "99", "8", "7", edifact.CodeInvalidValue}},
			ack:  "AK2*850*0001~AK3*BEG*2**8~AK4*1*353*7*99~AK5*R*5~"},
		{name: "850 BEG03 too long", format: X12, doc: x12Doc("PO", "850", replace(good850, 0, "BEG*00*SA*"+long23+"**20240115")...),
			want: []want{{2, 3, 0, "BEG", long23, "8", "5", edifact.CodeTooLong}},
			ack:  "AK2*850*0001~AK3*BEG*2**8~AK4*3*324*5*" + long23 + "~AK5*R*5~"},
		{name: "850 no PO1", format: X12, doc: x12Doc("PO", "850", replace(good850, 3, "")...),
			want: []want{{6, 0, 0, "PO1", "", "3", "", edifact.CodeMissing}},
			ack:  "AK2*850*0001~AK3*PO1*6**3~AK5*R*5~"},

		{name: "855 good", format: X12, doc: x12Doc("PR", "855", good855...), ack: "AK2*855*0001~AK5*A~"},
		{name: "855 bad BAK02 code", format: X12, doc: x12Doc("PR", "855", replace(good855, 0, "BAK*00*XX*PO0001*20240115")...),
			want: []want{{2, 2, 0, "BAK", "XX", "8", "7", edifact.CodeInvalidValue}},
			ack:  "AK2*855*0001~AK3*BAK*2**8~AK4*2*587*7*XX~AK5*R*5~"},
		{name: "855 BAK03 too long", format: X12, doc: x12Doc("PR", "855", replace(good855, 0, "BAK*00*AC*"+long23+"*20240115")...),
			want: []want{{2, 3, 0, "BAK", long23, "8", "5", edifact.CodeTooLong}},
			ack:  "AK2*855*0001~AK3*BAK*2**8~AK4*3*324*5*" + long23 + "~AK5*R*5~"},
		{name: "855 no BAK", format: X12, doc: x12Doc("PR", "855", replace(good855, 0, "")...),
			want: []want{{2, 0, 0, "BAK", "", "3", "", edifact.CodeMissing}},
			ack:  "AK2*855*0001~AK3*BAK*2**3~AK5*R*5~"},

		{name: "856 good", format: X12, doc: x12Doc("SH", "856", good856...), ack: "AK2*856*0001~AK5*A~"},
		{name: "856 bad HL03 code", format: X12, doc: x12Doc("SH", "856", replace(good856, 5, "HL*3*2*X")...),
			want: []want{{7, 3, 0, "HL", "X", "8", "7", edifact.CodeInvalidValue}},
			ack:  "AK2*856*0001~AK3*HL*7**8~AK4*3*735*7*X~AK5*R*5~"},
		{name: "856 BSN02 too long", format: X12, doc: x12Doc("SH", "856", replace(good856, 0, "BSN*00*"+strings.Repeat("S", 31)+"*20240115*1200")...),
			want: []want{{2, 2, 0, "BSN", strings.Repeat("S", 31), "8", "5", edifact.CodeTooLong}},
			ack:  "AK2*856*0001~AK3*BSN*2**8~AK4*2*396*5*" + strings.Repeat("S", 31) + "~AK5*R*5~"},
		{name: "856 no BSN", format: X12, doc: x12Doc("SH", "856", replace(good856, 0, "")...),
			want: []want{{2, 0, 0, "BSN", "", "3", "", edifact.CodeMissing}},
			ack:  "AK2*856*0001~AK3*BSN*2**3~AK5*R*5~"},
		{name: "856 bad date and time", format: X12, doc: x12Doc("SH", "856", replace(good856, 0, "BSN*00*SHIP0001*20240231*2460")...),
			want: []want{{2, 3, 0, "BSN", "20240231", "8", "8", edifact.CodeInvalidValue}, {2, 4, 0, "BSN", "2460", "8", "9", edifact.CodeInvalidValue}},
			ack:  "AK2*856*0001~AK3*BSN*2**8~AK4*3*373*8*20240231~AK4*4*337*9*2460~AK5*R*5~"},
		{name: "856 eleven DTM in the heading", format: X12, doc: x12Doc("SH", "856", elevenDTM...),
			want: []want{{13, 0, 0, "DTM", "", "5", "", edifact.CodeTooManyRepetitions}},
			ack:  "AK2*856*0001~AK3*DTM*13**5~AK5*R*5~"},

		{name: "810 good", format: X12, doc: x12Doc("IN", "810", good810...), ack: "AK2*810*0001~AK5*A~"},
		{name: "810 bad BIG08 code", format: X12, doc: x12Doc("IN", "810", replace(good810, 0, "BIG*20240115*INV0001**PO0001****99")...),
			want: []want{{2, 8, 0, "BIG", "99", "8", "7", edifact.CodeInvalidValue}},
			ack:  "AK2*810*0001~AK3*BIG*2**8~AK4*8*353*7*99~AK5*R*5~"},
		{name: "810 IT107 too long", format: X12, doc: x12Doc("IN", "810", replace(good810, 1, "IT1*1*10*EA*2.50**BP*"+strings.Repeat("I", 49))...),
			want: []want{{3, 7, 0, "IT1", strings.Repeat("I", 49), "8", "5", edifact.CodeTooLong}},
			ack:  "AK2*810*0001~AK3*IT1*3**8~AK4*7*234*5*" + strings.Repeat("I", 49) + "~AK5*R*5~"},
		{name: "810 no TDS", format: X12, doc: x12Doc("IN", "810", replace(good810, 2, "")...),
			want: []want{{5, 0, 0, "TDS", "", "3", "", edifact.CodeMissing}},
			ack:  "AK2*810*0001~AK3*TDS*5**3~AK5*R*5~"},
		{name: "810 TDS01 with a decimal point", format: X12, doc: x12Doc("IN", "810", replace(good810, 2, "TDS*25.00")...),
			want: []want{{4, 1, 0, "TDS", "25.00", "8", "6", edifact.CodeInvalidCharType}},
			ack:  "AK2*810*0001~AK3*TDS*4**8~AK4*1*610*6*25.00~AK5*R*5~"},

		{name: "ORDERS good", format: EDIFACT, doc: edifactDoc("ORDERS", goodORDERS...), ack: "UCM+1+ORDERS:D:96A:UN+7'"},
		{name: "ORDERS bad BGM 1225 code", format: EDIFACT, doc: edifactDoc("ORDERS", replace(goodORDERS, 0, "BGM+220+PO0001+99")...),
			want: []want{{2, 3, 0, "BGM", "99", "8", "7", edifact.CodeInvalidValue}},
			ack:  "UCM+1+ORDERS:D:96A:UN+4'UCS+2'UCD+12+3'"},
		{name: "ORDERS NAD 3035 too long", format: EDIFACT, doc: edifactDoc("ORDERS", replace(goodORDERS, 2, "NAD+BYZZ+5412345000013::9")...),
			want: []want{{4, 1, 0, "NAD", "BYZZ", "8", "5", edifact.CodeTooLong}},
			ack:  "UCM+1+ORDERS:D:96A:UN+4'UCS+4'UCD+39+1'"},
		{name: "ORDERS no DTM", format: EDIFACT, doc: edifactDoc("ORDERS", replace(goodORDERS, 1, "")...),
			want: []want{{3, 0, 0, "DTM", "", "3", "", edifact.CodeMissing}},
			ack:  "UCM+1+ORDERS:D:96A:UN+4'UCS+3+13'"},
		{name: "ORDERS DTM qualifier missing", format: EDIFACT, doc: edifactDoc("ORDERS", replace(goodORDERS, 1, "DTM+:20240115:102")...),
			want: []want{{3, 1, 1, "DTM", "", "8", "1", edifact.CodeMissing}},
			ack:  "UCM+1+ORDERS:D:96A:UN+4'UCS+3'UCD+13+1:1'"},
		{name: "ORDERS QTY without data", format: EDIFACT, doc: edifactDoc("ORDERS", replace(goodORDERS, 4, "QTY")...),
			want: []want{{6, 1, 0, "QTY", "", "8", "1", edifact.CodeMissing}},
			ack:  "UCM+1+ORDERS:D:96A:UN+4'UCS+6'UCD+13+1'"},
		{name: "ORDERS quantity not numeric", format: EDIFACT, doc: edifactDoc("ORDERS", replace(goodORDERS, 4, "QTY+21:10A:EA")...),
			want: []want{{6, 1, 2, "QTY", "10A", "8", "6", edifact.CodeInvalidCharType}},
			ack:  "UCM+1+ORDERS:D:96A:UN+4'UCS+6'UCD+37+1:2'"},

		{name: "DESADV good", format: EDIFACT, doc: edifactDoc("DESADV", goodDESADV...), ack: "UCM+1+DESADV:D:96A:UN+7'"},
		{name: "DESADV bad DTM 2379 code", format: EDIFACT, doc: edifactDoc("DESADV", replace(goodDESADV, 1, "DTM+137:20240115:999")...),
			want: []want{{3, 1, 3, "DTM", "999", "8", "7", edifact.CodeInvalidValue}},
			ack:  "UCM+1+DESADV:D:96A:UN+4'UCS+3'UCD+12+1:3'"},
		{name: "DESADV CPS 7164 too long", format: EDIFACT, doc: edifactDoc("DESADV", replace(goodDESADV, 3, "CPS+"+strings.Repeat("1", 13))...),
			want: []want{{5, 1, 0, "CPS", strings.Repeat("1", 13), "8", "5", edifact.CodeTooLong}},
			ack:  "UCM+1+DESADV:D:96A:UN+4'UCS+5'UCD+39+1'"},
		{name: "DESADV no BGM", format: EDIFACT, doc: edifactDoc("DESADV", replace(goodDESADV, 0, "")...),
			want: []want{{3, 0, 0, "BGM", "", "3", "", edifact.CodeMissing}},
			ack:  "UCM+1+DESADV:D:96A:UN+4'UCS+3+13'"},

		{name: "INVOIC good", format: EDIFACT, doc: edifactDoc("INVOIC", goodINVOIC...), ack: "UCM+1+INVOIC:D:96A:UN+7'"},
		{name: "INVOIC bad UNS code", format: EDIFACT, doc: edifactDoc("INVOIC", replace(goodINVOIC, 6, "UNS+X")...),
			want: []want{{8, 1, 0, "UNS", "X", "8", "7", edifact.CodeInvalidValue}},
			ack:  "UCM+1+INVOIC:D:96A:UN+4'UCS+8'UCD+12+1'"},
		{name: "INVOIC amount too long", format: EDIFACT, doc: edifactDoc("INVOIC", replace(goodINVOIC, 7, "MOA+77:"+strings.Repeat("9", 19))...),
			want: []want{{9, 1, 2, "MOA", strings.Repeat("9", 19), "8", "5", edifact.CodeTooLong}},
			ack:  "UCM+1+INVOIC:D:96A:UN+4'UCS+9'UCD+39+1:2'"},
		{name: "INVOIC no summary MOA", format: EDIFACT, doc: edifactDoc("INVOIC", replace(goodINVOIC, 7, "")...),
			want: []want{{9, 0, 0, "MOA", "", "3", "", edifact.CodeMissing}},
			ack:  "UCM+1+INVOIC:D:96A:UN+4'UCS+9+13'"},
	}
}

func TestShippedRulesCases(t *testing.T) {
	r := shippedRules()
	for _, c := range ruleCases() {
		t.Run(c.name, func(t *testing.T) {
			recs := readRecords(t, corpusFile{name: c.name, data: []byte(c.doc), format: c.format})
			if len(recs) != 1 || recs[0].err != nil {
				t.Fatalf("the test document does not decode into one clean record: %d records, %v", len(recs), recs)
			}
			if r.find(recs[0].rec.Format, recs[0].rec.Type, recs[0].rec.Envelope["version"]) == nil {
				t.Fatal("no shipped rule set applies")
			}
			vs := r.Check(recs[0].rec)
			if diff := cmp.Diff(c.want, short(vs)); diff != "" {
				t.Errorf("violations (-want +got):\n%s\nall: %v", diff, vs)
			}
			for _, v := range vs {
				if !strings.Contains(v.Message, v.Tag) || v.Source == "" {
					t.Errorf("violation %v: the message does not name the segment or the rule file", v)
				}
			}
		})
	}
}

func TestViolationMessages(t *testing.T) {
	r := shippedRules()
	cases := map[string]string{
		"850 bad BEG01 code":            `BEG01 (353) Transaction Set Purpose Code "99" is not in code list 353`,
		"850 no PO1":                    "segment PO1 is missing in section detail: at least 1 required, 0 found",
		"856 eleven DTM in the heading": "segment DTM occurs more than 10 times in section heading",
		"ORDERS quantity not numeric":   `QTY01-2 (6060) Quantity "10A" is not numeric (type n: digits, an optional minus and decimal mark)`,
		"810 IT107 too long":            "is too long: 49 characters, at most 48",
	}
	for _, c := range ruleCases() {
		want, ok := cases[c.name]
		if !ok {
			continue
		}
		recs := readRecords(t, corpusFile{name: c.name, data: []byte(c.doc), format: c.format})
		vs := r.Check(recs[0].rec)
		if len(vs) == 0 || !strings.Contains(vs[0].Message, want) {
			t.Errorf("%s: message %q, want it to hold %q", c.name, fmt.Sprint(vs), want)
		}
	}
}
