package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDeliveryX12(t *testing.T) {
	p := writeCfg(t, `
deliveries:
  - name: dc07-856
    topic: asn
    format: x12-856
    x12:
      sender_qualifier: "01"
      sender_id: "012345678"
      receiver_id: DC07WMS
      application_receiver: DC07
      usage: T
      version: "004010"
      ack_requested: true
      start_control_number: 48214
      structure_code: "0001"
      delimiters: {element: "|", component: ":", segment: "!", suffix: "\r\n"}
    destination: {local: {dir: out}}
`)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	want := &DeliveryX12{SenderQualifier: "01", SenderID: "012345678", ReceiverID: "DC07WMS", ApplicationReceiver: "DC07",
		Usage: "T", Version: "004010", AckRequested: true, StartControlNumber: 48214, StructureCode: "0001",
		Delimiters: Delimiters{Element: "|", Component: ":", Segment: "!", Suffix: "\r\n"}}
	if diff := cmp.Diff(want, c.Deliveries[0].X12); diff != "" {
		t.Errorf("x12 block (-want +got):\n%s", diff)
	}
}

func TestDeliveryX12Problems(t *testing.T) {
	p := writeCfg(t, `
deliveries:
  - name: no-block
    topic: a
    format: x12-856
    destination: {local: {dir: out}}
  - name: block-for-json
    topic: a
    format: json
    x12: {sender_id: US, receiver_id: THEM}
    destination: {local: {dir: out}}
  - name: bad
    topic: a
    format: x12-856
    x12:
      sender_id: A23456789012345X
      sender_qualifier: ZZZ
      receiver_id: T
      usage: X
      version: "4010"
      start_control_number: 1000000000
      structure_code: "1"
      delimiters: {element: "~", segment: "~", suffix: "\t"}
    destination: {local: {dir: out}}
  - name: repetition
    topic: a
    format: x12-856
    x12: {sender_id: US, receiver_id: THEM, delimiters: {repetition: "^"}}
    destination: {local: {dir: out}}
  - name: repetition-5010
    topic: a
    format: x12-856
    x12: {sender_id: US, receiver_id: THEM, version: "005010", delimiters: {repetition: "^"}}
    destination: {local: {dir: out}}
  - name: delimiter-in-id
    topic: a
    format: x12-856
    x12: {sender_id: "US*1", receiver_id: THEM}
    destination: {local: {dir: out}}
  - name: no-ids
    topic: a
    format: x12-856
    x12: {usage: P}
    destination: {local: {dir: out}}
`)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	if err == nil {
		t.Fatal("no problems found")
	}
	if strings.Contains(err.Error(), "repetition-5010") {
		t.Errorf("005010 with a repetition separator refused:\n%v", err)
	}
	for _, want := range []string{
		`delivery "no-block": format x12-856 needs an x12 block`,
		`delivery "block-for-json": x12 is only for format x12-856`,
		`delivery "bad": x12.sender_id "A23456789012345X" must be 1 to 15 characters`,
		`delivery "bad": x12.sender_qualifier "ZZZ" must be 1 to 2 characters`,
		`delivery "bad": x12.receiver_id "T" is too short for the GS: set application_receiver`,
		`delivery "bad": x12.usage "X" is not one of P (production), T (test)`,
		`delivery "bad": x12.version "4010" is not six digits`,
		`delivery "bad": x12.start_control_number 1000000000 has more than 9 digits`,
		`delivery "bad": x12.structure_code "1" is not 4 digits`,
		`delivery "bad": x12: delimiters.segment "~" is also the element delimiter`,
		`delivery "bad": x12: delimiters.suffix may hold only line breaks`,
		`delivery "repetition": x12.delimiters.repetition needs version 004020 or later`,
		`delivery "delimiter-in-id": x12.sender_id "US*1" holds the delimiter "*"`,
		`delivery "no-ids": x12.sender_id is required`,
		`delivery "no-ids": x12.receiver_id is required`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no problem %q in:\n%v", want, err)
		}
	}
}
