package legacybridge

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strconv"
	"time"
)

// EventID derives a deterministic CloudEvents id from the flow, the content
// hash of the source file and the record's position, so a redelivered event
// carries the same id.
func EventID(flow, contentHash string, recordIndex, eventIndex int) string {
	h := sha256.New()
	h.Write([]byte(flow))
	h.Write([]byte{0})
	h.Write([]byte(contentHash))
	h.Write([]byte{0})
	h.Write([]byte(strconv.Itoa(recordIndex)))
	h.Write([]byte{0})
	h.Write([]byte(strconv.Itoa(eventIndex)))
	sum := h.Sum(nil)
	return hex.EncodeToString(sum[:16])
}

// Message renders e in CloudEvents 1.0 Kafka binary content mode: the value is
// the data, attributes are ce_ headers, the key is the subject.
func (e Event) Message(topic string) Message {
	ct := e.ContentType
	if ct == "" {
		ct = "application/json"
	}
	h := []Header{
		{Key: "ce_specversion", Value: []byte("1.0")},
		{Key: "ce_id", Value: []byte(e.ID)},
		{Key: "ce_source", Value: []byte(e.Source)},
		{Key: "ce_type", Value: []byte(e.Type)},
	}
	if !e.Time.IsZero() {
		h = append(h, Header{Key: "ce_time", Value: []byte(e.Time.UTC().Format(time.RFC3339Nano))})
	}
	if e.Subject != "" {
		h = append(h, Header{Key: "ce_subject", Value: []byte(e.Subject)})
	}
	if e.DataSchema != "" {
		h = append(h, Header{Key: "ce_dataschema", Value: []byte(e.DataSchema)})
	}
	keys := make([]string, 0, len(e.Extensions))
	for k := range e.Extensions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		h = append(h, Header{Key: "ce_" + k, Value: []byte(e.Extensions[k])})
	}
	h = append(h, Header{Key: "content-type", Value: []byte(ct)})
	var key []byte
	if e.Subject != "" {
		key = []byte(e.Subject)
	}
	return Message{Topic: topic, Key: key, Headers: h, Value: e.Data}
}
