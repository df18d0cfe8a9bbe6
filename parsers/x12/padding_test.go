package x12

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Files from Windows and mainframe systems end with NUL bytes or a DOS
// end-of-file byte (0x1A) after the last IEA. Up to the end of input that is
// no error; padding followed by anything is.
func TestTrailingPadding(t *testing.T) {
	const body = "GS*PO*S*R*20240115*1200*1*X*004010~ST*850*0001~BEG*00~SE*3*0001~GE*1*1~IEA*1*000000001~"
	in := testISA + body
	end := len(in)                   // offset of the first byte after the IEA
	iea := strings.Index(in, "IEA*") // offset of the IEA
	itoa := strconv.Itoa
	at := func(off, seg int, tag string) string { // an error's place on line 1
		if tag != "" {
			tag = " (" + tag + ")"
		}
		return "x12: t.edi: segment " + itoa(seg) + tag + " at byte offset " + itoa(off) + " (line 1): "
	}
	second := strings.Replace(testISA, "000000001", "000000002", 1) +
		strings.Replace(body, "IEA*1*000000001", "IEA*1*000000002", 1)
	tests := []struct {
		name  string
		input string
		txs   int
		errs  []string
	}{
		{"none", in, 1, nil},
		{"0x1A", in + "\x1a", 1, nil},
		{"CRLF 0x1A", in + "\r\n\x1a", 1, nil},
		{"0x1A CRLF", in + "\x1a\r\n", 1, nil},
		{"CRLF 0x1A CRLF", in + "\r\n\x1a\r\n", 1, nil},
		{"many NULs", in + strings.Repeat("\x00", 200_000), 1, nil},
		{"NULs and 0x1A mixed with blanks", in + "\n\x00\x00 \x1a\x00\t\n", 1, nil},
		{"LF terminator, 0x1A", strings.ReplaceAll(in, "~", "\n") + "\x1a", 1, nil},
		{"0x1A then GS", in + "\x1aGS*PO*S*R*20240115*1200*2*X*004010~", 1, []string{
			at(end, 7, "IEA") + "padding (NUL, 0x1A end-of-file or blank bytes) after the IEA is followed by more data at byte offset " +
				itoa(end+1) + `: "GS*PO*S*R*20240115*1"...`,
			at(end+1, 8, "GS") + "GS outside an interchange (after IEA, before ISA)",
			at(end+1, 8, "GS") + `functional group PO "2" has no GE: input ends at byte offset ` + itoa(end+1+35) + ", after segment 8 (GS)",
		}},
		{"NULs then another interchange", in + "\r\n\x00\x00\x00\r\n" + second, 2, []string{
			"x12: t.edi: segment 7 (IEA) at byte offset " + itoa(end+2) + " (line 2): padding (NUL, 0x1A end-of-file or blank bytes) after the IEA is followed by more data at byte offset " +
				itoa(end+7) + `: "ISA*00*          *00"...`,
		}},
		{"0x1A then a data segment", in + "\x1aN1*X~", 1, []string{
			at(end, 7, "IEA") + "padding (NUL, 0x1A end-of-file or blank bytes) after the IEA is followed by more data at byte offset " +
				itoa(end+1) + `: "N1*X~"`,
			at(end+1, 8, "N1") + "N1 segment outside an interchange (after IEA)",
		}},
		// Not after an IEA: as any other bad segment, reported once.
		{"0x1A before IEA", testISA + strings.Replace(body, "GE*1*1~", "GE*1*1~\x1a", 1), 1, []string{
			at(iea, 7, "") + `segment tag "\x1aIEA" is not 2-3 upper-case letters or digits: "\x1aIEA*1*000000001"`,
			at(0, 1, "ISA") + `interchange "000000001" has no IEA: input ends at byte offset ` + itoa(end+1) + ", after segment 7",
		}},
		{"0x1A after a truncated interchange", testISA + strings.TrimSuffix(body, "IEA*1*000000001~") + "\x1a", 1, []string{
			at(iea, 7, "") + `segment tag "\x1a" is not 2-3 upper-case letters or digits`,
			at(0, 1, "ISA") + `interchange "000000001" has no IEA: input ends at byte offset ` + itoa(iea+1) + ", after segment 7",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := decodeAll(t, []byte(tc.input), "t.edi")
			if len(res.txs) != tc.txs {
				t.Errorf("%d transaction sets, want %d", len(res.txs), tc.txs)
			}
			if diff := cmp.Diff(tc.errs, errStrings(res.errs), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			segs, terrs := allSegments(t, []byte(tc.input))
			if tc.errs == nil && (len(terrs) > 0 || segs[len(segs)-1].Tag != "IEA") {
				t.Errorf("tokenizer: last segment %s, errors %v", segs[len(segs)-1].Tag, errStrings(terrs))
			}
		})
	}
}
