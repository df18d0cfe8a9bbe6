package config

import (
	"strings"
	"testing"
)

func TestPartnersAndAcknowledgements(t *testing.T) {
	c, err := Load(writeCfg(t, `
flows:
  - name: edi
    source: {local: {dir: d}}
    parser: {format: x12}
    mapping: m.yaml
    topic: t
    dead_letter_topic: t.dlt
    acknowledgements: {type: "999", ta1: always, rules: [builtin, m.yaml]}
partners:
  - {name: acme, standard: x12, id: ACMEPARTS, qualifier: ZZ, version: "004010", acknowledgement: "997", charset: iso-8859-1,
     delimiters: {element: "|", component: ":", segment: "~", suffix: "\n"}}
  - {name: eu, standard: edifact, id: "5412345000013", acknowledgement: contrl, when: requested}
deliveries:
  - name: out
    topic: t
    format: x12-856
    x12: {partner: acme, sender_id: US}
    destination: {local: {dir: out}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if p := c.PartnerFor("x12", "ZZ", "ACMEPARTS"); p == nil || p.Name != "acme" {
		t.Fatalf("PartnerFor = %+v", p)
	}
	if p := c.PartnerFor("x12", "01", "ACMEPARTS"); p != nil {
		t.Errorf("a partner with qualifier ZZ matched qualifier 01")
	}
	if p := c.PartnerFor("edifact", "14", "5412345000013"); p == nil || p.Name != "eu" {
		t.Errorf("a partner without qualifier must match any: %+v", p)
	}
	x := c.Deliveries[0].X12
	if x.ReceiverID != "ACMEPARTS" || x.ReceiverQualifier != "ZZ" || x.Version != "004010" || x.Delimiters.Element != "|" || x.Delimiters.Suffix != "\n" || x.Charset != "iso-8859-1" {
		t.Errorf("856 envelope not filled from the profile: %+v", x)
	}
	if r := c.Flows[0].Acknowledgements.Rules; r[0] != "builtin" || !strings.HasSuffix(r[1], "/m.yaml") {
		t.Errorf("rules = %q, want builtin and an absolute path", r)
	}
}

func TestPartnersValidation(t *testing.T) {
	c, err := Load(writeCfg(t, `
flows:
  - name: fw
    source: {local: {dir: d}}
    parser: {format: fixedwidth, layout: m.yaml}
    mapping: m.yaml
    topic: t
    dead_letter_topic: t.dlt
    acknowledgements: {}
  - name: edi
    source: {local: {dir: e}}
    parser: {format: edifact}
    mapping: m.yaml
    topic: u
    dead_letter_topic: u.dlt
    acknowledgements: {type: "997", rules: [nowhere.yaml]}
partners:
  - {name: a, standard: x12, id: A, acknowledgement: contrl, when: requested, version: "4010",
     delimiters: {element: "*", component: "*", segment: "a"}}
  - {name: a, standard: cobol, id: ""}
  - {name: b, standard: x12, id: "ABCDEFGHIJKLMNOPQRS", charset: latin-9}
  - {name: c, standard: edifact, id: C, charset: iso-8859-1}
deliveries:
  - name: out
    topic: t
    format: x12-856
    x12: {partner: nobody, sender_id: US, receiver_id: THEM}
    destination: {local: {dir: out}}
`))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	if err == nil {
		t.Fatal("no problems reported")
	}
	for _, want := range []string{
		"only EDI flows", `type "997" is not one of contrl, none`, "nowhere.yaml",
		`acknowledgement "contrl" is not one of 997, 999, none`, "when and receipt_only are EDIFACT settings",
		`version "4010"`, `delimiters.component "*" is also the element delimiter`, `delimiters.segment "a" would split data`,
		`name "a" is used twice`, `standard "cobol"`, "id is required", `x12.partner "nobody" is not a name in partners`,
		`charset "latin-9" is not one of`, "longer than an x12 sender id", "charset is for X12 partners",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %q:\n%v", want, err)
		}
	}
}
