// Package stdout is the dry-run emitter: it writes each message as one JSON
// line to an io.Writer instead of delivering it to a broker.
//
// A line has the shape `legacybridge kafka tail` prints, without the
// partition and offset a broker would assign:
//
//	{"topic":"orders","key":"PO-1","headers":{"ce_id":"..."},"value":{"po":"PO-1"}}
//
// The value is embedded as JSON when it is valid JSON (compacted to one
// line), otherwise as a JSON string; a nil value is null. The key is a
// string, null when nil. Headers form a string map; of repeated header keys
// the last wins. Invalid UTF-8 is replaced by U+FFFD.
package stdout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"legacybridge"
)

// Emitter writes messages as JSON lines. It is safe for concurrent use; the
// lines of one Emit call are written with a single Write, so concurrent
// calls do not interleave.
type Emitter struct {
	mu  sync.Mutex
	w   io.Writer
	buf bytes.Buffer
}

var _ legacybridge.Emitter = (*Emitter)(nil)

// New returns an emitter writing to w. Close does not close w.
func New(w io.Writer) *Emitter { return &Emitter{w: w} }

// Emit writes one line per message. It fails only if ctx is done or w
// fails; a message is "accepted" once its line has been written.
func (e *Emitter) Emit(ctx context.Context, msgs ...legacybridge.Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("stdout: %w", err)
	}
	if len(msgs) == 0 {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.buf.Reset()
	for i, m := range msgs {
		b, err := AppendJSON(e.buf.AvailableBuffer(), m)
		if err != nil {
			return fmt.Errorf("stdout: message %d (topic %s): %w", i, m.Topic, err)
		}
		e.buf.Write(b)
		e.buf.WriteByte('\n')
	}
	if _, err := e.w.Write(e.buf.Bytes()); err != nil {
		return fmt.Errorf("stdout: writing %d messages: %w", len(msgs), err)
	}
	if e.buf.Cap() > 1<<20 {
		e.buf = bytes.Buffer{} // don't pin one huge batch's buffer
	}
	return nil
}

// Close does nothing; the writer belongs to the caller.
func (e *Emitter) Close() error { return nil }

type line struct {
	Topic   string            `json:"topic"`
	Key     *string           `json:"key"`
	Headers map[string]string `json:"headers"`
	Value   json.RawMessage   `json:"value"`
}

// AppendJSON appends m's JSON line, without the trailing newline, to dst.
func AppendJSON(dst []byte, m legacybridge.Message) ([]byte, error) {
	l := line{Topic: m.Topic, Headers: make(map[string]string, len(m.Headers)), Value: value(m.Value)}
	if m.Key != nil {
		k := string(m.Key)
		l.Key = &k
	}
	for _, h := range m.Headers {
		l.Headers[h.Key] = string(h.Value)
	}
	buf := bytes.NewBuffer(dst)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(l); err != nil {
		return dst, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// value renders a record value for a JSON line: v itself when it is valid
// JSON (the encoder compacts it), else v as a JSON string, and null for nil.
func value(v []byte) json.RawMessage {
	if v == nil {
		return nil
	}
	if json.Valid(v) {
		return v
	}
	s, _ := json.Marshal(string(v)) // a string always marshals
	return s
}
