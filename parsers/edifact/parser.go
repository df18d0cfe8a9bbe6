package edifact

import (
	"io"
	"maps"
	"strconv"

	"legacybridge"
)

// Parser adapts Decoder to legacybridge.Parser. The zero value is ready.
type Parser struct {
	// Warn, if set, receives problems that do not fail the input. Default: ignored.
	Warn func(*ParseError)
	// MaxSegment is Decoder.MaxSegment. Default DefaultMaxSegment (64 MiB).
	MaxSegment int
	// Charset is Decoder.Charset. Default "": each interchange in the
	// character set its UNB declares.
	Charset string
	// StrictCharset is Decoder.StrictCharset. Default false (characters
	// outside the syntax level are warnings).
	StrictCharset bool
}

var _ legacybridge.Parser = Parser{}

// NewReader returns a RecordReader yielding one Record per message.
// Read returns an error (a legacybridge.Placer) for every structural
// problem, with the record when the problem is inside a message; after any
// error but a fatal one, reading continues; io.EOF ends the input.
//
// A record returned with an error whose RecordLevel method reports true
// (ParseError, ErrorList) is a complete message that is bad on its own:
// a caller may set it aside (dead-letter it, reject it in a CONTRL) and go
// on with the input's other messages, which the error does not concern.
func (p Parser) NewReader(r io.Reader, name string) legacybridge.RecordReader {
	d := NewDecoderName(r, name)
	d.Warn = p.Warn
	d.MaxSegment = p.MaxSegment
	d.Charset = p.Charset
	d.StrictCharset = p.StrictCharset
	return &recordReader{d: d}
}

// recordReader builds each record's envelope map by cloning a map of the
// interchange and group fields, built once per group, and adding the UNH
// fields. The base map is never handed out, so records share no map.
type recordReader struct {
	d           *Decoder
	unbSeg      int // the UNB and UNG segment numbers base was built for
	ungSeg      int
	base        map[string]string // nil until the first record
	baseCharset string
	baseDelims  Delimiters
}

func (rr *recordReader) Read() (legacybridge.Record, error) {
	msg, err := rr.d.Decode()
	if msg == nil {
		return legacybridge.Record{}, err
	}
	e := &msg.Envelope
	if rr.base == nil || e.InterchangeSegment != rr.unbSeg || e.GroupSegment != rr.ungSeg ||
		e.InterchangeSegment == 0 && (e.Delimiters != rr.baseDelims || e.Charset != rr.baseCharset) {
		rr.unbSeg, rr.ungSeg = e.InterchangeSegment, e.GroupSegment
		rr.baseDelims, rr.baseCharset = e.Delimiters, e.Charset
		rr.base = make(map[string]string, envelopeKeys)
		putOuter(rr.base, e)
	}
	m := maps.Clone(rr.base)
	putMessage(m, msg)
	return msg.record(m), err
}

// envelopeKeys is about the most keys an envelope map has.
const envelopeKeys = 40

// Record returns the message as a legacybridge.Record: Format "edifact",
// Type the message type (UNH S009 0065, "ORDERS"), Envelope keyed by
// segment and position: "unb02" is the first component of UNB's second
// element (the sender), "unb02_2" its second (the sender's qualifier),
// likewise "ung05" and "unh01"; every non-empty component of UNB, UNG and
// UNH is there but the passwords (UNB S005, UNG 0058). It adds "version"
// ("D:96A:UN", UNH S009 0052:0054:0051), "charset" (what values were
// decoded from) and the service characters ("component_separator",
// "element_separator", "decimal_mark", "release_character",
// "repetition_separator", "segment_terminator"); empty values are left out.
func (m *Message) Record() legacybridge.Record {
	env := make(map[string]string, envelopeKeys)
	putOuter(env, &m.Envelope)
	putMessage(env, m)
	return m.record(env)
}

func (m *Message) record(env map[string]string) legacybridge.Record {
	return legacybridge.Record{
		Format:      "edifact",
		Type:        m.Envelope.MessageType,
		Pos:         m.Pos,
		Envelope:    env,
		Segments:    m.Segments,
		Interchange: m.Envelope.InterchangeSegment,
	}
}

// putOuter puts the interchange and group fields, the charset and the
// service characters into m, leaving out empty values.
func putOuter(m map[string]string, e *Envelope) {
	if e.unb != nil {
		putSegment(m, "unb", *e.unb, 6)
	}
	if e.ung != nil {
		putSegment(m, "ung", *e.ung, 8)
	}
	put := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	put("charset", e.Charset)
	put("component_separator", e.Delimiters.Component)
	put("element_separator", e.Delimiters.Element)
	put("decimal_mark", e.Delimiters.Decimal)
	put("release_character", e.Delimiters.Release)
	put("repetition_separator", e.Delimiters.Repetition)
	put("segment_terminator", e.Delimiters.Segment)
}

// putMessage puts the UNH fields and the version into m.
func putMessage(m map[string]string, msg *Message) {
	if len(msg.Segments) > 0 && msg.Segments[0].Tag == "UNH" {
		putSegment(m, "unh", msg.Segments[0], 0)
	}
	if v := msg.Envelope.Version(); v != "" {
		m["version"] = v
	}
}

// putSegment puts every non-empty component of seg's first repetitions,
// keyed prefix+NN (component 1) and prefix+NN_C, leaving out element skip.
func putSegment(m map[string]string, prefix string, seg legacybridge.Segment, skip int) {
	for i, e := range seg.Elements {
		if i+1 == skip || len(e) == 0 {
			continue
		}
		key := prefix + twoDigits(i+1)
		for j, c := range e[0] {
			if c == "" {
				continue
			}
			if j == 0 {
				m[key] = c
			} else {
				m[key+"_"+strconv.Itoa(j+1)] = c
			}
		}
	}
}
