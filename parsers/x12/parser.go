package x12

import (
	"io"
	"maps"

	"legacybridge"
)

// Parser adapts Decoder to legacybridge.Parser. The zero value is ready.
type Parser struct {
	// Warn, if set, receives problems that do not fail the input. Default: ignored.
	Warn func(*ParseError)
	// MaxSegment is Decoder.MaxSegment. Default DefaultMaxSegment (64 MiB).
	MaxSegment int
	// Charset is Decoder.Charset. Default "utf-8" (invalid UTF-8 decoded
	// as Windows-1252, with a warning).
	Charset string
	// CharsetFor is Decoder.CharsetFor: a sender's own charset.
	CharsetFor func(senderQualifier, senderID string) string
}

var _ legacybridge.Parser = Parser{}

// NewReader returns a RecordReader yielding one Record per transaction set,
// and one per TA1 segment (Type "TA1", Segments the TA1 alone, Pos.Index
// -1: an interchange acknowledgement the partner sent), in file order.
// Read returns an error (a legacybridge.Placer) for every structural problem,
// with the record when the problem is inside a transaction set; after any
// error but a fatal one, reading continues; io.EOF ends the input.
func (p Parser) NewReader(r io.Reader, name string) legacybridge.RecordReader {
	d := NewDecoderName(r, name)
	d.Warn = p.Warn
	d.MaxSegment = p.MaxSegment
	d.Charset = p.Charset
	d.CharsetFor = p.CharsetFor
	rr := &recordReader{d: d}
	d.envSeg = func(seg *legacybridge.Segment) {
		if seg.Tag != "TA1" {
			return
		}
		env := d.env
		env.FunctionalID, env.GroupControlNumber, env.SetID, env.SetControlNumber = "", "", "", ""
		m := make(map[string]string, envelopeKeys)
		putOuter(m, &env)
		rr.ta1 = append(rr.ta1, legacybridge.Record{Format: "x12", Type: "TA1", Envelope: m,
			Segments:    []legacybridge.Segment{cloneSegment(*seg)},
			Pos:         legacybridge.Position{File: d.Name, Offset: seg.Offset, Segment: seg.Number, Tag: "TA1", Index: -1},
			Interchange: env.InterchangeSegment})
	}
	return rr
}

// recordReader builds each record's envelope map by cloning a map of the
// interchange and group fields, built once per group, and adding the ST
// fields: a clone is a copy of the map's memory, cheaper than hashing 26
// keys. The base map is never handed out, so records share no map.
type recordReader struct {
	d       *Decoder
	ta1     []legacybridge.Record // TA1 segments read, not yet returned
	pending *Transaction          // a set read after them, with its error
	pendErr error
	hasPend bool
	baseEnv Envelope          // the fields base holds (ST fields empty)
	base    map[string]string // nil until the first record
}

func (rr *recordReader) Read() (legacybridge.Record, error) {
	if len(rr.ta1) > 0 {
		r := rr.ta1[0]
		rr.ta1 = rr.ta1[1:]
		return r, nil
	}
	var tx *Transaction
	var err error
	if rr.hasPend {
		tx, err, rr.pending, rr.pendErr, rr.hasPend = rr.pending, rr.pendErr, nil, nil, false
	} else {
		tx, err = rr.d.Decode()
		if len(rr.ta1) > 0 {
			// TA1s came before what Decode returned: theirs first.
			rr.pending, rr.pendErr, rr.hasPend = tx, err, true
			return rr.Read()
		}
	}
	if tx == nil {
		return legacybridge.Record{}, err
	}
	key := tx.Envelope
	key.SetID, key.SetControlNumber, key.ImplementationRef = "", "", ""
	if rr.base == nil || key != rr.baseEnv {
		rr.baseEnv = key
		rr.base = make(map[string]string, envelopeKeys)
		putOuter(rr.base, &key)
	}
	m := maps.Clone(rr.base)
	putSet(m, &tx.Envelope)
	return tx.record(m), err
}

// envelopeKeys is the most keys an envelope map has.
const envelopeKeys = 26

// Record returns the transaction set as a legacybridge.Record: Format "x12",
// Type ST01, Envelope keyed by lower-case element ids ("isa06", "gs01",
// "st02", ...) plus "version" (GS08, else ISA12) and the delimiters
// ("element_separator", "component_separator", "repetition_separator",
// "segment_terminator"); empty values are left out.
func (t *Transaction) Record() legacybridge.Record {
	m := make(map[string]string, envelopeKeys)
	putOuter(m, &t.Envelope)
	putSet(m, &t.Envelope)
	return t.record(m)
}

func (t *Transaction) record(env map[string]string) legacybridge.Record {
	return legacybridge.Record{
		Format:      "x12",
		Type:        t.Envelope.SetID,
		Pos:         t.Pos,
		Envelope:    env,
		Segments:    t.Segments,
		Interchange: t.Envelope.InterchangeSegment,
	}
}

// putOuter puts the interchange and group fields, the version and the
// delimiters into m, leaving out empty values.
func putOuter(m map[string]string, e *Envelope) {
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
	if e.GroupVersion != "" {
		m["version"] = e.GroupVersion
	} else {
		put("version", e.Version)
	}
	put("element_separator", e.Delimiters.Element)
	put("component_separator", e.Delimiters.Component)
	put("repetition_separator", e.Delimiters.Repetition)
	put("segment_terminator", e.Delimiters.Segment)
}

// putSet puts the ST fields into m, leaving out empty values.
func putSet(m map[string]string, e *Envelope) {
	if e.SetID != "" {
		m["st01"] = e.SetID
	}
	if e.SetControlNumber != "" {
		m["st02"] = e.SetControlNumber
	}
	if e.ImplementationRef != "" {
		m["st03"] = e.ImplementationRef
	}
}
