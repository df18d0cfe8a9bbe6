package file

import (
	"encoding/json"
	"errors"
	"io"

	"legacybridge"
)

// EDI writes the EDI document an acknowledgement event carries
// (legacybridge.AckEventType: its data's "document", an X12 997/999/TA1 or
// an EDIFACT CONTRL as generated for the partner), byte for byte, one file
// per acknowledgement.
type EDI struct {
	// Ext is the file name extension. Default ".edi".
	Ext string
}

var _ TypedEncoder = EDI{}

// Encode writes the document of ev.
func (e EDI) Encode(w io.Writer, ev legacybridge.Event) error {
	if ev.Type != legacybridge.AckEventType {
		return errors.New("edi: event type " + ev.Type + " carries no EDI document")
	}
	var d struct {
		Document *string `json:"document"`
	}
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return errors.New("edi: event data is not an acknowledgement: " + err.Error())
	}
	if d.Document == nil || *d.Document == "" {
		return errors.New("edi: the acknowledgement event has no document")
	}
	_, err := io.WriteString(w, *d.Document)
	return err
}

// Extension is Ext, default ".edi".
func (e EDI) Extension() string {
	if e.Ext == "" {
		return ".edi"
	}
	return e.Ext
}

// Types is the acknowledgement event type.
func (EDI) Types() []string { return []string{legacybridge.AckEventType} }
