package file

import (
	"encoding/json"
	"errors"
	"io"

	"legacybridge"
)

// EDI writes the EDI document an acknowledgement event carries
// (legacybridge.AckEventType: its data's "documentBase64", an X12 997/999/TA1 or
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
		Document       string `json:"document"`
		DocumentBase64 []byte `json:"documentBase64"`
	}
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return errors.New("edi: event data is not an acknowledgement: " + err.Error())
	}
	// The bytes as generated: documentBase64 (text in document is only
	// there when it is UTF-8).
	doc := d.DocumentBase64
	if len(doc) == 0 {
		doc = []byte(d.Document)
	}
	if len(doc) == 0 {
		return errors.New("edi: the acknowledgement event has no document")
	}
	_, err := w.Write(doc)
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
