package legacybridge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"
	"unicode/utf8"
)

// Event types of acknowledgements.
const (
	// AckEventType is an acknowledgement legacybridge generated for a
	// partner's file (X12 997/999/TA1, EDIFACT CONTRL): its outcome, and
	// the document itself, which a delivery writes back to the partner.
	AckEventType = "com.legacybridge.edi.acknowledgement.v1"
	// AckReceivedEventType is an acknowledgement a partner sent for an
	// interchange it received.
	AckReceivedEventType = "com.legacybridge.edi.acknowledgement.received.v1"
)

// Acknowledger reads one whole EDI file the way its acknowledgement reports
// it (X12 997/999 and TA1, EDIFACT CONTRL): which transaction sets /
// messages are accepted and which rejected (a bad count, a missing trailer,
// a rule of the set broken, a rejected group or interchange), and writes
// the acknowledgement documents to send back. The packages of the EDI
// parsers implement it.
type Acknowledger interface {
	Acknowledge(ctx context.Context, r io.Reader, req AckRequest) (*AckReport, error)
}

// AckRequest says what to acknowledge and how.
type AckRequest struct {
	Name string // of the file, in errors
	// Key identifies the file for control numbers: the documents written
	// for the same key (the same content of the same flow) must carry the
	// same control numbers every time, so a file processed again after a
	// crash produces byte-identical acknowledgements under the same ids.
	Key string
	// At dates the documents.
	At time.Time
	// Skip, if set, names interchanges that get no acknowledgement (sent
	// before, or repeated in the file), by identity and the segment number
	// of their header; they take no control number. Their sets are still
	// judged and counted.
	Skip func(ic Interchange, segment int) bool
}

// AckReport is what an Acknowledger found in one file.
type AckReport struct {
	// Rejected holds, for each rejected transaction set or message, the
	// reason, keyed by the record's Pos.Index as the parser numbers
	// records. Records of a rejected group or interchange are in it.
	Rejected map[int]string
	// Sets and Accepted count the transaction sets / messages read and
	// those accepted.
	Sets, Accepted int
	// Documents are the acknowledgements to send, in file order.
	Documents []AckDocument
}

// AckDocument is one acknowledgement document: its outcome, for consumers
// of the acknowledgement event, and its content, for the partner.
type AckDocument struct {
	Standard string `json:"standard"` // "x12" or "edifact"
	Type     string `json:"type"`     // "997", "999", "TA1" or "CONTRL"
	// Partner is the party acknowledged (the sender of the interchange).
	Partner Party `json:"partner"`
	// Acknowledged is the partner's interchange.
	Acknowledged Interchange `json:"acknowledged"`
	// ControlNumber is the acknowledgement's own ISA13 / UNB 0020.
	ControlNumber string `json:"controlNumber"`
	// Status: "accepted", "accepted_with_errors", "partially_accepted" or
	// "rejected".
	Status string `json:"status"`
	// Note is the TA1 note code (TA105) or the CONTRL interchange error
	// (UCI 0085), when there is one.
	Note   string     `json:"note,omitempty"`
	Groups []AckGroup `json:"groups,omitempty"`
	// Content is the document, as written to the partner.
	Content []byte `json:"-"`
}

// Party is an EDI party: an id and its qualifier.
type Party struct {
	Qualifier string `json:"qualifier,omitempty"`
	ID        string `json:"id"`
}

// AckGroup is one functional group's outcome (X12 AK1..AK9; EDIFACT UCF,
// or the messages outside groups with an empty ControlNumber).
type AckGroup struct {
	FunctionalID  string   `json:"functionalId,omitempty"`
	ControlNumber string   `json:"controlNumber,omitempty"`
	Status        string   `json:"status"`
	Codes         []string `json:"codes,omitempty"`
	Included      int      `json:"included"`
	Received      int      `json:"received"`
	Accepted      int      `json:"accepted"`
	Sets          []AckSet `json:"sets,omitempty"`
}

// AckSet is one transaction set's / message's outcome.
type AckSet struct {
	ID            string   `json:"id"`
	ControlNumber string   `json:"controlNumber"`
	Status        string   `json:"status"`
	Codes         []string `json:"codes,omitempty"`
	// Errors are readable descriptions of what was wrong, with places.
	Errors []string `json:"errors,omitempty"`
}

// ackEventData is the data of an AckEventType event. The document is
// always in DocumentBase64, byte for byte (an EDIFACT CONTRL in UNOB..UNOL
// is not UTF-8); Document has it as text too when it is valid UTF-8.
type ackEventData struct {
	AckDocument
	File           string `json:"file"`
	Sha256         string `json:"sha256"`
	Document       string `json:"document,omitempty"`
	DocumentBase64 []byte `json:"documentBase64"`
}

// AckEvent returns the event of one generated acknowledgement; the caller
// fills ID and Source.
func AckEvent(doc AckDocument, file, hash string, at time.Time) (Event, error) {
	d := ackEventData{AckDocument: doc, File: file, Sha256: hash, DocumentBase64: doc.Content}
	if utf8.Valid(doc.Content) {
		d.Document = string(doc.Content)
	}
	data, err := json.Marshal(d)
	if err != nil {
		return Event{}, err
	}
	return Event{
		Type:       AckEventType,
		Subject:    doc.Type + " for " + doc.Acknowledged.String(),
		Time:       at,
		DataSchema: "https://schemas.legacybridge.dev/" + AckEventType + ".json",
		Extensions: map[string]string{"partner": doc.Partner.ID, "controlnumber": doc.ControlNumber},
		Data:       data,
	}, nil
}

// Acknowledgements makes a flow acknowledge the EDI files it reads, as EDI
// partners expect (X12 997/999 and TA1, EDIFACT CONTRL).
//
// Before a file's events are posted, the Acknowledger reads it once more
// and decides, per transaction set / message, what is accepted. Rejected
// sets are not posted: each is dead-lettered with the reason (when the flow
// has a dead-letter topic), while the accepted sets of the same file are
// posted as usual. The acknowledgement documents go out as AckEventType
// events, after the file's other events and with ids derived from the file
// like theirs, so a file processed again after a crash sends the same
// acknowledgements under the same ids. A file with anything rejected (or
// any other problem) is quarantined with the reasons once its accepted
// sets are posted; a file where everything was accepted is archived. The
// interchanges of which something was posted count as delivered for
// DuplicateInterchanges: a partner re-sends rejected sets in a new
// interchange.
type Acknowledgements struct {
	Acknowledger Acknowledger
	// Topic of the acknowledgement events. Default: the flow's topic.
	Topic string
	// Resent also acknowledges, again, interchanges that were delivered
	// before (see DuplicateInterchanges) when they arrive in another file.
	// Default false: they are not acknowledged again. A file with
	// identical content is never acknowledged twice (its events would have
	// the same ids).
	Resent bool
}

// RejectedError is a transaction set / message the acknowledgement
// rejected: where it is and why.
type RejectedError struct {
	Pos    Position
	Reason string
}

func (e *RejectedError) Error() string {
	return e.Pos.String() + ": rejected in the acknowledgement: " + e.Reason
}

// Place says where the rejected set starts.
func (e *RejectedError) Place() Position { return e.Pos }

// addFailure lists one more failure for NAME.error.json, up to maxReported.
func addFailure(failures []string, s string) []string {
	switch {
	case len(failures) < maxReported:
		return append(failures, s)
	case len(failures) == maxReported:
		return append(failures, "… further failures are in the dead-letter topic and the log only")
	}
	return failures
}

// acknowledge reads the claimed file for its acknowledgement. The content
// must be what the validation pass hashed; anything else (a cut transfer,
// a file still changing) is retried.
func (f *Flow) acknowledge(ctx context.Context, c FileClaim, hash string, size int64, skip func(Interchange, int) bool) (*AckReport, error) {
	info := c.Info()
	r, err := c.Open(ctx)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", info.Path, err)
	}
	hr := &hashingReader{r: r, h: sha256.New()}
	report, aerr := f.Acks.Acknowledger.Acknowledge(ctx, hr, AckRequest{Name: info.Name, Key: f.Name + "/" + hash, At: info.ModTime, Skip: skip})
	if err := f.finishRead(ctx, c, hr, r, size); err != nil {
		return nil, err
	}
	if aerr != nil {
		return nil, fmt.Errorf("%w: acknowledging %s: %w; it is read again later", errTransfer, info.Path, aerr)
	}
	if got := hex.EncodeToString(hr.h.Sum(nil)); got != hash || hr.n != size {
		return nil, fmt.Errorf("%w: %s changed between reads (%d bytes validated, %d acknowledged); it is read again later", errTransfer, info.Path, size, hr.n)
	}
	if report.Rejected == nil {
		report.Rejected = map[int]string{}
	}
	return report, nil
}

// ackMessages turns the report's documents into the acknowledgement events'
// messages.
func (f *Flow) ackMessages(report *AckReport, info FileInfo, hash, corr string) ([]Message, []AckDocument, error) {
	topic := f.Acks.Topic
	if topic == "" {
		topic = f.Topic
	}
	var msgs []Message
	var docs []AckDocument
	for i, doc := range report.Documents {
		ev, err := AckEvent(doc, info.Name, hash, info.ModTime)
		if err != nil {
			return nil, nil, fmt.Errorf("acknowledgement %d of %s: %w", i+1, info.Name, err)
		}
		ev.ID = EventID(f.Name, hash, -2, i)
		ev.Source = f.EventSource
		ev.Extensions["correlationid"] = corr
		msgs = append(msgs, ev.Message(topic))
		docs = append(docs, doc)
		f.Logger.Info("acknowledgement queued with the file's events", "file", info.Name, "type", doc.Type, "status", doc.Status,
			"interchange", doc.Acknowledged.String(), "control_number", doc.ControlNumber)
	}
	return msgs, docs, nil
}

// emitAll emits msgs in batches of BatchSize.
func (f *Flow) emitAll(ctx context.Context, msgs []Message) error {
	for len(msgs) > 0 {
		n := min(len(msgs), f.BatchSize)
		t0 := time.Now()
		if err := f.Emitter.Emit(ctx, msgs[:n]...); err != nil {
			if rejected(err) {
				return &rejectedError{err}
			}
			return fmt.Errorf("emit: %w", err)
		}
		f.Metrics.emitted(f.Name, n, time.Since(t0))
		msgs = msgs[n:]
	}
	return nil
}
