package x12_test

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"legacybridge/parsers/x12"
)

func ExampleDecoder() {
	const in = "ISA*00*          *00*          *ZZ*SENDERID       *ZZ*RECEIVERID     *240115*1200*U*00401*000000001*0*P*>~\n" +
		"GS*PO*SENDERID*RECEIVERID*20240115*1200*1*X*004010~\n" +
		"ST*850*0001~\nBEG*00*SA*PO0001**20240115~\nPO1*1*10*EA*2.50**BP*ITEM-A~\nCTT*1~\nSE*9*0001~\n" +
		"GE*1*1~\nIEA*1*000000001~\n"
	d := x12.NewDecoderName(strings.NewReader(in), "orders.edi")
	for {
		tx, err := d.Decode()
		if err == io.EOF {
			break
		}
		if tx != nil {
			fmt.Println(tx.Envelope.SetID, tx.Envelope.SenderID, tx.Segments[1].Element(3).Value(), len(tx.Segments), "segments")
		}
		if errors.Is(err, x12.ErrCountMismatch) {
			fmt.Println(err)
		}
	}
	// Output:
	// 850 SENDERID PO0001 5 segments
	// x12: orders.edi: segment 7 (SE) at byte offset 236 (line 7): SE01 declares 9 segments, transaction set has 5
}

func ExampleTokenizer() {
	const in = "ISA|00|          |00|          |ZZ|A              |ZZ|B              |240115|1200|^|00501|000000002|0|P|:\n" +
		"GS|FA|A|B|20240115|1201|2|X|005010X230\nST|997|0001\nAK9|A|1|1|1\nSE|3|0001\nGE|1|2\nIEA|1|000000002\n"
	tok := x12.NewTokenizer(strings.NewReader(in))
	var tags []string
	for {
		seg, err := tok.NextSegment()
		if err != nil {
			break // io.EOF
		}
		tags = append(tags, seg.Tag)
	}
	fmt.Println(strings.Join(tags, " "))
	fmt.Printf("%q\n", tok.Delimiters())
	// Output:
	// ISA GS ST AK9 SE GE IEA
	// {"|" ":" "^" "\n"}
}
