package x12

import (
	"io"

	"legacybridge"
)

// Parser adapts Decoder to legacybridge.Parser. The zero value is ready.
type Parser struct {
	// Warn, if set, receives problems that do not fail the input. Default: ignored.
	Warn func(*ParseError)
	// MaxSegment is Decoder.MaxSegment. Default DefaultMaxSegment (64 MiB).
	MaxSegment int
}

var _ legacybridge.Parser = Parser{}

// NewReader returns a RecordReader yielding one Record per transaction set.
// Read returns an error (a legacybridge.Placer) for every structural problem,
// with the record when the problem is inside a transaction set; after any
// error but a fatal one, reading continues; io.EOF ends the input.
func (p Parser) NewReader(r io.Reader, name string) legacybridge.RecordReader {
	d := NewDecoderName(r, name)
	d.Warn = p.Warn
	d.MaxSegment = p.MaxSegment
	return &recordReader{d: d}
}

type recordReader struct{ d *Decoder }

func (rr *recordReader) Read() (legacybridge.Record, error) {
	tx, err := rr.d.Decode()
	if tx == nil {
		return legacybridge.Record{}, err
	}
	return tx.Record(), err
}

// Record returns the transaction set as a legacybridge.Record: Format "x12",
// Type ST01, Envelope keyed by lower-case element ids ("isa06", "gs01",
// "st02", ...) plus "version" (GS08, else ISA12) and the delimiters
// ("element_separator", "component_separator", "repetition_separator",
// "segment_terminator"); empty values are left out.
func (t *Transaction) Record() legacybridge.Record {
	e := t.Envelope
	m := make(map[string]string, 32)
	put := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	put("isa05", e.SenderQualifier)
	put("isa06", e.SenderID)
	put("isa07", e.ReceiverQualifier)
	put("isa08", e.ReceiverID)
	put("isa09", e.Date)
	put("isa10", e.Time)
	put("isa12", e.Version)
	put("isa13", e.ControlNumber)
	put("isa14", e.AckRequested)
	put("isa15", e.Usage)
	put("gs01", e.FunctionalID)
	put("gs02", e.AppSender)
	put("gs03", e.AppReceiver)
	put("gs04", e.GroupDate)
	put("gs05", e.GroupTime)
	put("gs06", e.GroupControlNumber)
	put("gs07", e.Agency)
	put("gs08", e.GroupVersion)
	put("st01", e.SetID)
	put("st02", e.SetControlNumber)
	put("st03", e.ImplementationRef)
	if e.GroupVersion != "" {
		m["version"] = e.GroupVersion
	} else {
		put("version", e.Version)
	}
	put("element_separator", e.Delimiters.Element)
	put("component_separator", e.Delimiters.Component)
	put("repetition_separator", e.Delimiters.Repetition)
	put("segment_terminator", e.Delimiters.Segment)
	return legacybridge.Record{
		Format:   "x12",
		Type:     e.SetID,
		Pos:      t.Pos,
		Envelope: m,
		Segments: t.Segments,
	}
}
