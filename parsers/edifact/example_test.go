package edifact_test

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"legacybridge/parsers/edifact"
)

func ExampleDecoder() {
	const in = "UNA:+.? '\n" +
		"UNB+UNOC:3+SENDER:14+RECEIVER:14+240115:1200+REF001'\n" +
		"UNH+1+ORDERS:D:96A:UN'\nBGM+220+PO0001+9'\nFTX+AAI+++5?+2 M\xfcNCHEN'\nUNT+4+1'\n" +
		"UNH+2+ORDERS:D:96A:UN'\nBGM+220+PO0002+9'\nUNT+9+2'\n" +
		"UNZ+2+REF001'\n"
	d := edifact.NewDecoderName(strings.NewReader(in), "orders.edi")
	for {
		msg, err := d.Decode()
		if err == io.EOF {
			break
		}
		if msg != nil {
			fmt.Println(msg.Envelope.MessageType, msg.Envelope.Version(), msg.Envelope.Sender, msg.Segments[1].Element(2).Value(), len(msg.Segments), "segments")
		}
		var pe *edifact.ParseError
		if errors.As(err, &pe) {
			fmt.Println(err)
			fmt.Println("CONTRL code", int(pe.Code), pe.Code, "at", pe.Level, "level; record-level:", pe.RecordLevel())
		}
	}
	// Output:
	// ORDERS D:96A:UN SENDER PO0001 4 segments
	// ORDERS D:96A:UN SENDER PO0002 3 segments
	// edifact: orders.edi: segment 9 (UNT) at byte offset 178 (line 9): UNT01 (0074) declares 9 segments, message has 3
	// CONTRL code 29 control count does not match number of instances received at message level; record-level: true
}

func ExampleTokenizer() {
	const in = "UNA:+.?*'UNB+UNOW:4+S+R+20240115:1200+X'UNH+1+ORDERS:D:96A:UN'" +
		"COM+0301234:TE*info?@example.com:EM'FTX+AAI+++A ??' B'UNT+4+1'UNZ+1+X'"
	tok := edifact.NewTokenizer(strings.NewReader(in))
	for {
		seg, err := tok.NextSegment()
		if err != nil {
			break // io.EOF
		}
		if seg.Tag == "COM" || seg.Tag == "FTX" {
			fmt.Printf("%s %q\n", seg.Tag, seg.Elements)
		}
	}
	fmt.Printf("%q\n", tok.Delimiters())
	// Output:
	// COM [[["0301234" "TE"] ["info@example.com" "EM"]]]
	// FTX [[["AAI"]] [[""]] [[""]] [["A ?"]]]
	// {":" "+" "." "?" "*" "'"}
}
