package file_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"legacybridge"
	"legacybridge/emitters/file"
)

func TestCharsetTranscodes(t *testing.T) {
	ev := legacybridge.Event{Type: "x", ContentType: "application/json", Data: json.RawMessage(`{"name":"Müller €"}`)}
	enc, err := file.NewCharset(file.JSON{}, "windows-1252")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := enc.Encode(&buf, ev); err != nil {
		t.Fatal(err)
	}
	if want := []byte("{\"name\":\"M\xfcller \x80\"}"); !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("got %q, want %q", buf.Bytes(), want)
	}
	latin, _ := file.NewCharset(file.JSON{}, "iso-8859-1")
	buf.Reset()
	if err := latin.Encode(&buf, ev); err == nil || !strings.Contains(err.Error(), "U+20AC") {
		t.Errorf("ISO-8859-1 took the euro sign: %v %q", err, buf.Bytes())
	}
	if _, err := file.NewCharset(file.JSON{}, "ebcdic"); err == nil {
		t.Error("an unknown charset was accepted")
	}
	if same, _ := file.NewCharset(file.JSON{}, "UTF-8"); same != (file.JSON{}) {
		t.Error("utf-8 should leave the encoder as it is")
	}
}
