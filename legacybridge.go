// Package legacybridge holds the domain types shared by every part of the
// bridge and the flow runner that consumes them.
//
// The data path is visible in the folders:
//
//	source (bridges/, cdc/) → parser (parsers/) → mapping (mappings/) → emitter (emitters/)
//
// Packages below the root depend on these types; the root depends on none of
// them. Wiring happens in cmd/legacybridge.
package legacybridge

import (
	"context"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"
)

// Position says where in a source a record (or an error) was found.
// Zero fields are unknown.
type Position struct {
	File    string `json:"file,omitempty"`
	Offset  int64  `json:"offset"`            // byte offset of the record's (or fault's) first byte
	Line    int    `json:"line,omitempty"`    // 1-based line, where the format has lines
	Segment int    `json:"segment,omitempty"` // 1-based segment number in the file (EDI)
	Tag     string `json:"tag,omitempty"`     // segment tag or record type at the place
	Index   int    `json:"index"`             // 0-based ordinal of the record within its file
}

func (p Position) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		b.WriteString(": ")
	}
	parts := []string{}
	if p.Line > 0 {
		parts = append(parts, "line "+strconv.Itoa(p.Line))
	}
	if p.Segment > 0 {
		s := "segment " + strconv.Itoa(p.Segment)
		if p.Tag != "" {
			s += " (" + p.Tag + ")"
		}
		parts = append(parts, s)
	}
	parts = append(parts, "byte offset "+strconv.FormatInt(p.Offset, 10))
	b.WriteString(strings.Join(parts, ", "))
	return b.String()
}

// Element is one X12/EDIFACT data element: its repetitions, each a list of
// components. A simple element is [][]string{{"value"}}.
type Element [][]string

// Value returns the first component of the first repetition, or "".
func (e Element) Value() string {
	if len(e) == 0 || len(e[0]) == 0 {
		return ""
	}
	return e[0][0]
}

// Component returns component i (1-based) of the first repetition, or "".
func (e Element) Component(i int) string {
	if len(e) == 0 || i < 1 || i > len(e[0]) {
		return ""
	}
	return e[0][i-1]
}

// MarshalJSON renders a simple element as a string, a composite as an array
// of components, and a repeated element as an array of those.
func (e Element) MarshalJSON() ([]byte, error) {
	one := func(c []string) any {
		if len(c) == 1 {
			return c[0]
		}
		return c
	}
	switch len(e) {
	case 0:
		return []byte(`""`), nil
	case 1:
		return json.Marshal(one(e[0]))
	}
	reps := make([]any, len(e))
	for i, r := range e {
		reps[i] = one(r)
	}
	return json.Marshal(map[string]any{"repeats": reps})
}

// Segment is one EDI segment: a tag and its data elements. Elements[0] is the
// first data element (BEG01 for BEG).
type Segment struct {
	Tag      string    `json:"tag"`
	Elements []Element `json:"elements"`
	Offset   int64     `json:"offset"` // byte offset of the tag in the file
	Number   int       `json:"number"` // 1-based segment number in the file
}

// Element returns data element i (1-based, BEG03 = Element(3)); absent
// trailing elements return nil, never the next segment's value.
func (s Segment) Element(i int) Element {
	if i < 1 || i > len(s.Elements) {
		return nil
	}
	return s.Elements[i-1]
}

// Record is one unit a parser yields: an EDI transaction set / message with
// its envelope, or one fixed-width record (or business document).
type Record struct {
	Format   string            `json:"format"`             // "x12", "edifact", "fixedwidth"
	Type     string            `json:"type"`               // transaction set ("856") or record type ("detail")
	Pos      Position          `json:"position"`           // where the record starts
	Envelope map[string]string `json:"envelope,omitempty"` // interchange/group ids, or a fixed-width header's fields
	Segments []Segment         `json:"segments,omitempty"` // EDI: ST..SE inclusive
	Fields   map[string]any    `json:"fields,omitempty"`   // fixed-width: string, int64, json.Number (exact decimal), time.Time

	// Children are the records a business document holds after its first
	// (fixed-width documents: a batch header's entries, each with its
	// addenda as its own Children, then the batch's trailer). Nil for
	// records read one at a time.
	Children []Record `json:"children,omitempty"`
	// Interchange is the segment number of the record's interchange header
	// (ISA, UNB) in its input, 0 when there is none: it tells two
	// occurrences of the same interchange in one file apart.
	Interchange int `json:"-"`
}

// RecordReader streams records from one input, like encoding/csv's Reader:
// Read until io.EOF. Errors about the input implement Placer.
type RecordReader interface {
	Read() (Record, error)
}

// Parser turns one input stream into records. name is used in errors.
type Parser interface {
	NewReader(r io.Reader, name string) RecordReader
}

// Placer is implemented by errors about bad input: it says where.
type Placer interface {
	error
	Place() Position
}

// Event is a canonical business event (CloudEvents 1.0 attributes + data).
type Event struct {
	ID          string            `json:"id"`
	Source      string            `json:"source"`
	Type        string            `json:"type"`
	Subject     string            `json:"subject,omitempty"`
	Time        time.Time         `json:"time"`
	DataSchema  string            `json:"dataschema,omitempty"`
	ContentType string            `json:"datacontenttype,omitempty"` // default application/json
	Extensions  map[string]string `json:"extensions,omitempty"`      // extra ce_ attributes (lower-case names)
	Data        json.RawMessage   `json:"data"`
}

// Mapper turns one record into zero or more events. It fills Type, Subject,
// Time (optional), DataSchema and Data; the runner fills ID and Source.
// A record that cannot be mapped, or whose event fails its schema, returns an
// error (the runner dead-letters the record).
type Mapper interface {
	Map(rec Record) ([]Event, error)
}

// Header is a Kafka-style record header.
type Header struct {
	Key   string
	Value []byte
}

// Message is what an emitter delivers: one record on one topic.
type Message struct {
	Topic   string
	Key     []byte
	Headers []Header
	Value   []byte
}

// Emitter delivers messages. Emit returns only when every message is durably
// accepted (Kafka acks=all) or with an error; it never half-succeeds silently.
type Emitter interface {
	Emit(ctx context.Context, msgs ...Message) error
	Close() error
}

// AckFunc reports a batch's fate exactly once (nil = delivered).
type AckFunc func(ctx context.Context, err error) error

// Interchange identifies an EDI interchange the way its sender does: the
// sender and receiver (with their qualifiers) and the control number, ISA13
// in X12 (ISA05/06 sender, ISA07/08 receiver) and UNB 0020 in EDIFACT (UNB
// S002 sender, S003 recipient). A partner that re-sends an interchange sends
// the same values again.
type Interchange struct {
	Standard          string `json:"standard"` // "x12" or "edifact"
	SenderQualifier   string `json:"sender_qualifier,omitempty"`
	Sender            string `json:"sender"`
	ReceiverQualifier string `json:"receiver_qualifier,omitempty"`
	Receiver          string `json:"receiver"`
	Control           string `json:"control"`
}

// InterchangeOf returns the interchange a record belongs to, from its
// envelope (keys isa05..isa08, isa13 for X12; unb02, unb02_2, unb03,
// unb03_2, unb05 for EDIFACT). It reports false for records of other formats
// and for envelopes without a sender, receiver or control number.
func InterchangeOf(rec Record) (Interchange, bool) {
	e := rec.Envelope
	get := func(k string) string { return strings.TrimSpace(e[k]) }
	var ic Interchange
	switch rec.Format {
	case "x12":
		ic = Interchange{Standard: "x12", SenderQualifier: get("isa05"), Sender: get("isa06"),
			ReceiverQualifier: get("isa07"), Receiver: get("isa08"), Control: get("isa13")}
	case "edifact":
		ic = Interchange{Standard: "edifact", SenderQualifier: get("unb02_2"), Sender: get("unb02"),
			ReceiverQualifier: get("unb03_2"), Receiver: get("unb03"), Control: get("unb05")}
	default:
		return Interchange{}, false
	}
	if ic.Sender == "" || ic.Receiver == "" || ic.Control == "" {
		return Interchange{}, false
	}
	return ic, true
}

// Key is the interchange's identity as one string (fields joined by NUL,
// so no value can be confused with a separator); the ledger stores it.
func (ic Interchange) Key() string {
	return strings.Join([]string{ic.Standard, ic.SenderQualifier, ic.Sender, ic.ReceiverQualifier, ic.Receiver, ic.Control}, "\x00")
}

// String is the readable form used in logs: "x12 ZZ:ACMEPARTS→ZZ:NORTHWIND #000048213".
func (ic Interchange) String() string {
	party := func(q, id string) string {
		if q == "" {
			return id
		}
		return q + ":" + id
	}
	return ic.Standard + " " + party(ic.SenderQualifier, ic.Sender) + "→" + party(ic.ReceiverQualifier, ic.Receiver) + " #" + ic.Control
}
