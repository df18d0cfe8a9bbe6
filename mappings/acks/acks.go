package acks

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"legacybridge"
	"legacybridge/parsers/edifact"
	"legacybridge/parsers/x12"
)

// SchemaURI is the dataschema of the received-acknowledgement events;
// SentSchemaURI that of the acknowledgements legacybridge sends.
const (
	SchemaURI     = "https://schemas.legacybridge.dev/" + legacybridge.AckReceivedEventType + ".json"
	SentSchemaURI = "https://schemas.legacybridge.dev/" + legacybridge.AckEventType + ".json"
)

var (
	//go:embed received.schema.json
	receivedSchema []byte
	//go:embed sent.schema.json
	sentSchema []byte
)

// Schemas returns the two schemas by URI (for validating events in tests
// and for publishing to a schema registry).
func Schemas() map[string][]byte {
	return map[string][]byte{SchemaURI: receivedSchema, SentSchemaURI: sentSchema}
}

// Compile compiles the schema at uri (SchemaURI or SentSchemaURI).
func Compile(uri string) (*jsonschema.Schema, error) {
	raw, ok := Schemas()[uri]
	if !ok {
		return nil, fmt.Errorf("acks: no schema %s", uri)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("acks: schema %s: %w", uri, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(uri, doc); err != nil {
		return nil, fmt.Errorf("acks: schema %s: %w", uri, err)
	}
	return c.Compile(uri)
}

// Mapper maps received acknowledgements. Build it with New.
type Mapper struct {
	schema *jsonschema.Schema
}

var (
	_ legacybridge.Mapper  = (*Mapper)(nil)
	_ legacybridge.Skipper = (*Mapper)(nil)
)

// New compiles the event schema.
func New() (*Mapper, error) {
	s, err := Compile(SchemaURI)
	if err != nil {
		return nil, err
	}
	return &Mapper{schema: s}, nil
}

// Applies is true for X12 997, 999 and TA1 and EDIFACT CONTRL records.
func (m *Mapper) Applies(rec legacybridge.Record) bool {
	return rec.Format == "x12" && (rec.Type == "997" || rec.Type == "999" || rec.Type == "TA1") ||
		rec.Format == "edifact" && rec.Type == "CONTRL"
}

// Received is the data of a received-acknowledgement event.
type Received struct {
	Standard string `json:"standard"` // "x12" or "edifact"
	Type     string `json:"type"`     // "997", "999", "TA1" or "CONTRL"
	// Partner sent the acknowledgement (it received the original).
	Partner legacybridge.Party `json:"partner"`
	// Interchange is the acknowledgement's own interchange.
	Interchange legacybridge.Interchange `json:"interchange"`
	// ControlNumber is the acknowledgement's ST02 / UNH 0062.
	ControlNumber string `json:"controlNumber"`
	// Acknowledges says what the partner acknowledged.
	Acknowledges Acknowledged `json:"acknowledges"`
	// Status: "accepted", "accepted_with_errors", "partially_accepted",
	// "rejected" or "received" (CONTRL 0083 = 8).
	Status string                  `json:"status"`
	Note   string                  `json:"note,omitempty"` // CONTRL UCI error (0085)
	Groups []legacybridge.AckGroup `json:"groups,omitempty"`
}

// Acknowledged identifies the original: for a 997/999 the functional group
// (the interchange is not named: find it by partner and group control
// number); for a CONTRL the interchange.
type Acknowledged struct {
	InterchangeControl string `json:"interchangeControl,omitempty"` // UCI 0020, TA101
	InterchangeDate    string `json:"interchangeDate,omitempty"`    // TA102
	InterchangeTime    string `json:"interchangeTime,omitempty"`    // TA103
	Sender             string `json:"sender,omitempty"`             // UCI S002: us
	Recipient          string `json:"recipient,omitempty"`          // UCI S003: the partner
	FunctionalID       string `json:"functionalId,omitempty"`       // AK101
	GroupControlNumber string `json:"groupControlNumber,omitempty"` // AK102
	GroupVersion       string `json:"groupVersion,omitempty"`       // AK103
}

// Map turns one acknowledgement into one event. A damaged acknowledgement
// (no AK1 or AK9, a set without AK5, a CONTRL without UCI) is an error: the
// record is dead-lettered rather than taken for an acceptance.
func (m *Mapper) Map(rec legacybridge.Record) ([]legacybridge.Event, error) {
	var d Received
	var err error
	switch rec.Format {
	case "x12":
		if rec.Type == "TA1" {
			d, err = fromTA1(rec)
		} else {
			d, err = fromX12(rec)
		}
	case "edifact":
		d, err = fromCONTRL(rec)
	default:
		err = fmt.Errorf("acks: %s records are not acknowledgements", rec.Format)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rec.Pos, err)
	}
	data, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if err := m.schema.Validate(v); err != nil {
		return nil, fmt.Errorf("%s: the acknowledgement event fails its schema: %w", rec.Pos, err)
	}
	subject := d.Type + " from " + d.Partner.ID + " for "
	if d.Acknowledges.InterchangeControl != "" {
		subject += "interchange " + d.Acknowledges.InterchangeControl
	} else {
		subject += "group " + d.Acknowledges.GroupControlNumber
	}
	return []legacybridge.Event{{Type: legacybridge.AckReceivedEventType, Subject: subject, DataSchema: SchemaURI,
		Extensions: map[string]string{"partner": d.Partner.ID}, Data: data}}, nil
}

func interchangeOf(rec legacybridge.Record) legacybridge.Interchange {
	ic, _ := legacybridge.InterchangeOf(rec)
	return ic
}

func fromX12(rec legacybridge.Record) (Received, error) {
	a, err := x12.ReceivedAckOf(rec)
	if err != nil {
		return Received{}, err
	}
	ic := interchangeOf(rec)
	d := Received{Standard: "x12", Type: a.Type, Partner: legacybridge.Party{Qualifier: ic.SenderQualifier, ID: ic.Sender},
		Interchange: ic, ControlNumber: rec.Envelope["st02"], Status: x12Status(a.GroupStatus),
		Acknowledges: Acknowledged{FunctionalID: a.FunctionalID, GroupControlNumber: a.GroupControlNumber, GroupVersion: a.GroupVersion}}
	g := legacybridge.AckGroup{FunctionalID: a.FunctionalID, ControlNumber: a.GroupControlNumber, Status: d.Status,
		Codes: a.GroupCodes, Included: a.Included, Received: a.Received, Accepted: a.Accepted}
	for _, s := range a.Sets {
		as := legacybridge.AckSet{ID: s.ID, ControlNumber: s.ControlNumber, Status: x12Status(s.Status), Codes: s.Codes}
		for _, se := range s.Segments {
			as.Errors = append(as.Errors, describeX12(se))
		}
		g.Sets = append(g.Sets, as)
	}
	d.Groups = []legacybridge.AckGroup{g}
	return d, nil
}

func fromTA1(rec legacybridge.Record) (Received, error) {
	if len(rec.Segments) != 1 || rec.Segments[0].Tag != "TA1" {
		return Received{}, fmt.Errorf("acks: a TA1 record holds one TA1 segment")
	}
	s := rec.Segments[0]
	v := func(i int) string { return s.Element(i).Value() }
	if v(1) == "" || v(4) == "" {
		return Received{}, fmt.Errorf("TA1 without TA101 (the acknowledged interchange) or TA104 (its status)")
	}
	ic := interchangeOf(rec)
	return Received{Standard: "x12", Type: "TA1", Partner: legacybridge.Party{Qualifier: ic.SenderQualifier, ID: ic.Sender},
		Interchange: ic, ControlNumber: rec.Envelope["isa13"], Status: x12Status(v(4)), Note: v(5),
		Acknowledges: Acknowledged{InterchangeControl: v(1), InterchangeDate: v(2), InterchangeTime: v(3)}}, nil
}

func x12Status(code string) string {
	switch code {
	case "A":
		return "accepted"
	case "E":
		return "accepted_with_errors"
	case "P":
		return "partially_accepted"
	case "R", "M", "W", "X":
		return "rejected"
	}
	return "rejected"
}

func describeX12(se x12.SegmentError) string {
	s := fmt.Sprintf("%s at position %d: segment error %s", se.Tag, se.Position, se.Code)
	for _, e := range se.Elements {
		s += fmt.Sprintf("; element %d", e.Position)
		if e.Component > 0 {
			s += "-" + strconv.Itoa(e.Component)
		}
		s += ": error " + e.Code
		if e.Bad != "" {
			s += fmt.Sprintf(" (%q)", e.Bad)
		}
	}
	return s
}

func contrlStatus(action string) string {
	switch action {
	case edifact.ActionAcknowledged:
		return "accepted"
	case edifact.ActionReceived:
		return "received"
	}
	return "rejected"
}

func fromCONTRL(rec legacybridge.Record) (Received, error) {
	c, err := edifact.ReceivedCONTRLOf(rec)
	if err != nil {
		return Received{}, err
	}
	ic := interchangeOf(rec)
	d := Received{Standard: "edifact", Type: "CONTRL", Partner: legacybridge.Party{Qualifier: ic.SenderQualifier, ID: ic.Sender},
		Interchange: ic, ControlNumber: rec.Envelope["unh01"], Status: contrlStatus(c.Action),
		Acknowledges: Acknowledged{InterchangeControl: c.InterchangeRef, Sender: c.Sender, Recipient: c.Recipient}}
	if c.Fault != nil {
		d.Note = strconv.Itoa(int(c.Fault.Code))
	}
	acc, total := 0, 0
	group := func(ref, action string, f *edifact.Fault, ms []edifact.ReceivedMessage) {
		g := legacybridge.AckGroup{ControlNumber: ref, Status: contrlStatus(action)}
		if f != nil {
			g.Codes = []string{strconv.Itoa(int(f.Code))}
		}
		for _, m := range ms {
			st := contrlStatus(m.Action)
			if m.Action == "" { // no action of its own: that of its group
				st = g.Status
			}
			as := legacybridge.AckSet{ID: m.ID.Type, ControlNumber: m.Ref, Status: st}
			if m.Fault != nil {
				as.Codes = []string{strconv.Itoa(int(m.Fault.Code))}
			}
			for _, s := range m.Segments {
				e := fmt.Sprintf("segment at position %d", s.Position)
				if s.Code != 0 {
					e += fmt.Sprintf(": error %d", int(s.Code))
				}
				for _, el := range s.Elements {
					e += fmt.Sprintf("; element %d", el.Position)
					if el.Component > 0 {
						e += ":" + strconv.Itoa(el.Component)
					}
					e += fmt.Sprintf(": error %d", int(el.Code))
				}
				as.Errors = append(as.Errors, e)
			}
			g.Received++
			total++
			if st != "rejected" {
				g.Accepted++
				acc++
			}
			g.Sets = append(g.Sets, as)
		}
		g.Included = g.Received
		d.Groups = append(d.Groups, g)
	}
	if len(c.Messages) > 0 {
		group("", c.Action, nil, c.Messages)
	}
	for _, g := range c.Groups {
		group(g.Ref, g.Action, g.Fault, g.Messages)
	}
	if d.Status == "accepted" && total > 0 && acc < total {
		d.Status = "partially_accepted"
		if acc == 0 {
			d.Status = "rejected"
		}
	}
	return d, nil
}
