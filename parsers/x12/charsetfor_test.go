package x12

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// TestCharsetForSender: each interchange is read in its sender's charset;
// byte 0x80 is "€" in Windows-1252 and U+0080 in ISO-8859-1.
func TestCharsetForSender(t *testing.T) {
	ic := func(sender string) string {
		return "ISA*00*          *00*          *ZZ*" + sender + strings.Repeat(" ", 15-len(sender)) +
			"*ZZ*US             *241202*0815*U*00401*000000001*0*P*>~GS*PO*" + sender + "*US*20241202*0815*1*X*004010~" +
			"ST*850*0001~BEG*00*SA*P\x80**20241202~SE*3*0001~GE*1*1~IEA*1*000000001~"
	}
	d := NewDecoder(strings.NewReader(ic("LATIN") + ic("WIN")))
	d.Charset = CharsetWindows1252
	d.CharsetFor = func(q, id string) string {
		if q == "ZZ" && id == "LATIN" {
			return CharsetISO88591
		}
		return ""
	}
	var got []string
	for {
		tx, err := d.Decode()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tx.Segments[1].Element(3).Value())
	}
	if len(got) != 2 || got[0] != "P\u0080" || got[1] != "P€" {
		t.Fatalf("BEG03 = %q, want P\\u0080 (ISO-8859-1 sender) then P€ (Windows-1252 default)", got)
	}

	d = NewDecoder(strings.NewReader(ic("LATIN")))
	d.CharsetFor = func(q, id string) string { return "ebcdic" }
	var pe *ParseError
	for {
		_, err := d.Decode()
		if err == io.EOF {
			t.Fatal("an unknown charset was accepted")
		}
		if errors.As(err, &pe) && errors.Is(err, ErrEncoding) {
			break
		}
	}
}
