package edifact_test

import (
	"fmt"
	"os"
	"strings"
	"time"

	"legacybridge/parsers/edifact"
)

// Acknowledge an interchange whose second message has a wrong UNT count:
// the interchange is acknowledged (UCI 7), that message rejected (UCM 4
// with 0085 code 29 at UNT element 1).
func ExampleAcknowledge() {
	in := "UNB+UNOC:3+PARTNER:14+US:14+240115:1200+IC1'" +
		"UNH+1+ORDERS:D:96A:UN'BGM+220+PO1+9'UNT+3+1'" +
		"UNH+2+ORDERS:D:96A:UN'BGM+220+PO2+9'UNT+7+2'" +
		"UNZ+2+IC1'"
	ack, err := edifact.Acknowledge(strings.NewReader(in), "orders.edi", edifact.AckOptions{
		ControlRef: 42, // UNB 0020 of the CONTRL: persisted per partner by the caller
		Time:       time.Date(2024, 1, 16, 9, 30, 0, 0, time.UTC),
		Suffix:     "\n",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	rejected, total := ack.Rejected()
	fmt.Printf("%d of %d messages rejected\n", rejected, total)
	if err := ack.WriteCONTRL(os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 1 of 2 messages rejected
	// UNB+UNOC:3+US:14+PARTNER:14+240116:0930+42'
	// UNH+1+CONTRL:D:3:UN'
	// UCI+IC1+PARTNER:14+US:14+7'
	// UCM+1+ORDERS:D:96A:UN+7'
	// UCM+2+ORDERS:D:96A:UN+4+29+UNT+1'
	// UNT+5+1'
	// UNZ+1+42'
}
