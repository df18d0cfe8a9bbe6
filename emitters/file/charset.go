package file

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"legacybridge"
)

// Charset wraps an Encoder whose output is UTF-8 text (X12, JSON) and
// writes it in a single-byte charset a partner's system expects:
// "windows-1252" or "iso-8859-1" ("" or "utf-8": unchanged). A character
// the charset cannot hold is an error naming it (the event is
// dead-lettered), never a silent "?".
type Charset struct {
	Encoder
	Name string
}

var _ TypedEncoder = Charset{}

// NewCharset checks name and wraps enc; "" and "utf-8" return enc itself.
func NewCharset(enc Encoder, name string) (Encoder, error) {
	switch strings.ToLower(name) {
	case "", "utf-8":
		return enc, nil
	case "windows-1252", "iso-8859-1":
		return Charset{Encoder: enc, Name: strings.ToLower(name)}, nil
	}
	return nil, fmt.Errorf("charset %q is not one of utf-8, windows-1252, iso-8859-1", name)
}

// Encode encodes ev with the wrapped encoder, then transcodes.
func (c Charset) Encode(w io.Writer, ev legacybridge.Event) error {
	var buf bytes.Buffer
	if err := c.Encoder.Encode(&buf, ev); err != nil {
		return err
	}
	cm := charmap.Windows1252
	if c.Name == "iso-8859-1" {
		cm = charmap.ISO8859_1
	}
	out := make([]byte, 0, buf.Len())
	for off, b := 0, buf.Bytes(); len(b) > 0; {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			return fmt.Errorf("%s: the encoded content is not UTF-8 at byte %d", c.Name, off)
		}
		e, ok := cm.EncodeRune(r)
		if !ok {
			return fmt.Errorf("%s cannot hold %q (U+%04X) at byte %d of the content; send this partner UTF-8 or change the data", c.Name, r, r, off)
		}
		out = append(out, e)
		b, off = b[n:], off+n
	}
	_, err := w.Write(out)
	return err
}

// Types are the wrapped encoder's, when it has them.
func (c Charset) Types() []string {
	if t, ok := c.Encoder.(TypedEncoder); ok {
		return t.Types()
	}
	return nil
}
