// Package generic maps any EDI transaction set (or message) that no specific
// mapping applies to into one com.legacybridge.edi.transaction.received.v1
// event that carries it whole, so a flow over a partner's folder yields one
// event per transaction set whatever the set is.
package generic

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"legacybridge"
)

// Type is the event type this mapper produces.
const Type = "com.legacybridge.edi.transaction.received.v1"

// SchemaURI is the dataschema of the events.
const SchemaURI = "https://schemas.legacybridge.dev/" + Type + ".json"

//go:embed schema.json
var schemaJSON []byte

// Mapper maps EDI records generically. Build it with New.
type Mapper struct {
	schema *jsonschema.Schema
}

var (
	_ legacybridge.Mapper  = (*Mapper)(nil)
	_ legacybridge.Skipper = (*Mapper)(nil)
)

// New compiles the event schema.
func New() (*Mapper, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, fmt.Errorf("generic: schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaURI, doc); err != nil {
		return nil, fmt.Errorf("generic: schema: %w", err)
	}
	s, err := c.Compile(SchemaURI)
	if err != nil {
		return nil, fmt.Errorf("generic: schema: %w", err)
	}
	return &Mapper{schema: s}, nil
}

// Applies is true for EDI records (they have segments).
func (m *Mapper) Applies(rec legacybridge.Record) bool {
	return (rec.Format == "x12" || rec.Format == "edifact") && len(rec.Segments) > 0
}

type data struct {
	Standard       string                 `json:"standard"`
	TransactionSet string                 `json:"transactionSet"`
	ControlNumber  string                 `json:"controlNumber"`
	Envelope       map[string]string      `json:"envelope"`
	SegmentCount   int                    `json:"segmentCount"`
	Segments       []legacybridge.Segment `json:"segments"`
	Source         src                    `json:"source"`
}

type src struct {
	File    string `json:"file"`
	Offset  int64  `json:"offset"`
	Segment int    `json:"segment,omitempty"`
}

// Map returns one event for the record. The subject is
// SENDER/RECEIVER/INTERCHANGE/GROUP/TRANSACTION control numbers, which is
// unique per partner transmission.
func (m *Mapper) Map(rec legacybridge.Record) ([]legacybridge.Event, error) {
	if !m.Applies(rec) {
		return nil, fmt.Errorf("generic: %s: not an EDI record", rec.Pos)
	}
	env := rec.Envelope
	if env == nil {
		env = map[string]string{}
	}
	ctrl := firstOf(env, "st02", "unh01")
	d := data{
		Standard: rec.Format, TransactionSet: rec.Type, ControlNumber: ctrl, Envelope: env,
		SegmentCount: len(rec.Segments), Segments: rec.Segments,
		Source: src{File: rec.Pos.File, Offset: rec.Pos.Offset, Segment: rec.Pos.Segment},
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("generic: %s: %w", rec.Pos, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	if err := m.schema.Validate(inst); err != nil {
		return nil, fmt.Errorf("generic: %s: event does not match %s: %w", rec.Pos, Type, err)
	}
	parts := []string{
		strings.TrimSpace(firstOf(env, "isa06", "unb02")),
		strings.TrimSpace(firstOf(env, "isa08", "unb03")),
		firstOf(env, "isa13", "unb05"),
		firstOf(env, "gs06", "ung05"),
		ctrl,
	}
	return []legacybridge.Event{{
		Type:       Type,
		Subject:    rec.Type + ":" + strings.Join(parts, "/"),
		DataSchema: SchemaURI,
		Data:       b,
	}}, nil
}

func firstOf(m map[string]string, keys ...string) string {
	for _, k := range keys {
		if v, ok := m[k]; ok && v != "" {
			return v
		}
	}
	return ""
}
