package file_test

import (
	"bytes"
	"testing"
	"time"

	"legacybridge"
	"legacybridge/emitters/file"
)

// TestEDIWritesTheBytesAsGenerated: a CONTRL in ISO-8859-1 (UNOC) is not
// UTF-8; the file holds its bytes exactly, not U+FFFD.
func TestEDIWritesTheBytesAsGenerated(t *testing.T) {
	for _, content := range [][]byte{
		[]byte("UNB+UNOC:3+NORTHWIND:ZZZ+M\xdcLLERAG:ZZZ+241202:0815+1'UNZ+0+1'"),
		[]byte("ISA*00*...~IEA*1*000000001~\n"),
	} {
		doc := legacybridge.AckDocument{Standard: "edifact", Type: "CONTRL", Partner: legacybridge.Party{ID: "M\xdcLLERAG"},
			ControlNumber: "1", Status: "accepted", Content: content}
		ev, err := legacybridge.AckEvent(doc, "in.edi", "00", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		ev.ContentType = "application/json"
		var buf bytes.Buffer
		if err := (file.EDI{}).Encode(&buf, ev); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), content) {
			t.Errorf("wrote %q, want %q", buf.Bytes(), content)
		}
	}
}
