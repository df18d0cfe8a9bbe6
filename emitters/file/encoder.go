package file

import (
	"encoding/json"
	"errors"
	"io"

	"legacybridge"
)

// An Encoder turns one event into the content of one file.
//
// Delivery calls Encode with an in-memory buffer, so an error from Encode
// is about the event (bad payload, wrong type, a value that does not fit):
// the event is dead-lettered or the delivery stops, it is never retried —
// unless the error wraps ErrTemporary (a store the encoder needs failed),
// which is retried with backoff like a failed write. Encoders must be safe
// for concurrent use (Config.Concurrency).
type Encoder interface {
	Encode(w io.Writer, ev legacybridge.Event) error
	// Extension is the file name extension, dot included (".json"), for
	// {{.FileExt}} in name templates.
	Extension() string
}

// ErrTemporary marks an Encoder error that is not about the event but
// about something the encoder needs (the store of control numbers):
// Delivery retries the event with backoff instead of dead-lettering it.
var ErrTemporary = errors.New("temporary failure")

// TypedEncoder is an Encoder that knows which event types it can write.
// Delivery delivers only those (unless Config.Types says otherwise) and
// commits and skips the rest.
type TypedEncoder interface {
	Encoder
	Types() []string
}

// JSON writes the event's data as it is, one file per event. The data must
// be JSON (content type empty, application/json or +json).
type JSON struct {
	// Ext is the file name extension. Default ".json".
	Ext string
}

var _ Encoder = JSON{}

// Encode writes ev.Data unchanged after checking that it is one JSON value.
func (j JSON) Encode(w io.Writer, ev legacybridge.Event) error {
	if !isJSON(ev.ContentType) {
		return errors.New("json: data content type " + ev.ContentType + " is not JSON")
	}
	if !json.Valid(ev.Data) {
		return errors.New("json: event data is not valid JSON")
	}
	_, err := w.Write(ev.Data)
	return err
}

// Extension is Ext, default ".json".
func (j JSON) Extension() string {
	if j.Ext == "" {
		return ".json"
	}
	return j.Ext
}
