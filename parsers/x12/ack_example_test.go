package x12_test

import (
	"fmt"
	"os"
	"strings"
	"time"

	"legacybridge/parsers/x12"
)

// Acknowledge an interchange whose second transaction set has a wrong SE01
// count: that set is rejected (AK5*R*4), the others accepted, the group
// partially accepted (AK9*P).
func ExampleAcknowledge() {
	in := "ISA*00*          *00*          *ZZ*PARTNER        *ZZ*US             *240115*1200*U*00401*000000001*0*P*>~" +
		"GS*PO*PARTNER*US*20240115*1200*1*X*004010~" +
		"ST*850*0001~BEG*00*SA*PO1**20240115~SE*3*0001~" +
		"ST*850*0002~BEG*00*SA*PO2**20240115~SE*9*0002~" +
		"GE*2*1~IEA*1*000000001~"
	ack, err := x12.Acknowledge(strings.NewReader(in), "orders.edi", x12.AckOptions{
		ControlNumber: 42, // ISA13/GS06 of the 997: persisted per partner by the caller
		Time:          time.Date(2024, 1, 16, 9, 30, 0, 0, time.UTC),
		Suffix:        "\n",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, set := range ack.Interchanges[0].Groups[0].Sets {
		fmt.Println(set.ID, set.ControlNumber, set.Status, set.Codes)
	}
	if err := ack.Write997(os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 850 0001 A []
	// 850 0002 R [4]
	// ISA*00*          *00*          *ZZ*US             *ZZ*PARTNER        *240116*0930*U*00401*000000042*0*P*>~
	// GS*FA*US*PARTNER*20240116*0930*42*X*004010~
	// ST*997*0001~
	// AK1*PO*1~
	// AK2*850*0001~
	// AK5*A~
	// AK2*850*0002~
	// AK5*R*4~
	// AK9*P*2*2*1~
	// SE*8*0001~
	// GE*1*42~
	// IEA*1*000000042~
}
