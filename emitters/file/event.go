package file

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strings"
	"time"

	kafka "github.com/segmentio/kafka-go"

	"legacybridge"
)

// decodeEvent reads a CloudEvent from a Kafka message: in binary content
// mode (attributes in ce_ headers, the value is the data; what
// legacybridge.Event.Message and emitters/kafka produce) or in structured
// mode (content-type application/cloudevents+json, the value is the whole
// event).
func decodeEvent(m kafka.Message) (legacybridge.Event, error) {
	var ev legacybridge.Event
	ct := header(m, "content-type")
	if mt, _, err := mime.ParseMediaType(ct); err == nil && mt == "application/cloudevents+json" {
		return decodeStructured(m.Value)
	}
	spec := ""
	for _, h := range m.Headers {
		k, ok := strings.CutPrefix(h.Key, "ce_")
		if !ok {
			continue
		}
		v := string(h.Value)
		switch k {
		case "specversion":
			spec = v
		case "id":
			ev.ID = v
		case "source":
			ev.Source = v
		case "type":
			ev.Type = v
		case "subject":
			ev.Subject = v
		case "dataschema":
			ev.DataSchema = v
		case "time":
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return ev, fmt.Errorf("ce_time header %q is not an RFC 3339 time", v)
			}
			ev.Time = t
		default:
			if ev.Extensions == nil {
				ev.Extensions = map[string]string{}
			}
			ev.Extensions[k] = v
		}
	}
	ev.ContentType = ct
	ev.Data = m.Value
	if spec == "" && ev.ID == "" && ev.Type == "" {
		return ev, errors.New("not a CloudEvent: no ce_specversion, ce_id or ce_type header (binary content mode) and content-type is not application/cloudevents+json")
	}
	return ev, checkEvent(spec, ev)
}

func checkEvent(spec string, ev legacybridge.Event) error {
	var missing []string
	if ev.ID == "" {
		missing = append(missing, "id")
	}
	if ev.Source == "" {
		missing = append(missing, "source")
	}
	if ev.Type == "" {
		missing = append(missing, "type")
	}
	if len(missing) > 0 {
		return fmt.Errorf("CloudEvent without %s", strings.Join(missing, ", "))
	}
	if spec != "1.0" {
		return fmt.Errorf("CloudEvent specversion %q is not 1.0", spec)
	}
	return nil
}

func decodeStructured(v []byte) (legacybridge.Event, error) {
	var ev legacybridge.Event
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(v, &raw); err != nil {
		return ev, fmt.Errorf("structured CloudEvent is not a JSON object: %v", err)
	}
	str := func(k string) (string, error) {
		r, ok := raw[k]
		if !ok || string(r) == "null" {
			return "", nil
		}
		var s string
		if err := json.Unmarshal(r, &s); err != nil {
			return "", fmt.Errorf("structured CloudEvent attribute %q is not a string", k)
		}
		return s, nil
	}
	var spec, ts string
	var err error
	for k, p := range map[string]*string{"specversion": &spec, "id": &ev.ID, "source": &ev.Source, "type": &ev.Type,
		"subject": &ev.Subject, "dataschema": &ev.DataSchema, "datacontenttype": &ev.ContentType, "time": &ts} {
		if *p, err = str(k); err != nil {
			return ev, err
		}
	}
	if ts != "" {
		if ev.Time, err = time.Parse(time.RFC3339Nano, ts); err != nil {
			return ev, fmt.Errorf("structured CloudEvent time %q is not an RFC 3339 time", ts)
		}
	}
	switch {
	case raw["data_base64"] != nil:
		s, err := str("data_base64")
		if err != nil {
			return ev, err
		}
		if ev.Data, err = base64.StdEncoding.DecodeString(s); err != nil {
			return ev, fmt.Errorf("structured CloudEvent data_base64: %v", err)
		}
	case raw["data"] != nil:
		d := raw["data"]
		var s string
		if !isJSON(ev.ContentType) && json.Unmarshal(d, &s) == nil {
			ev.Data = []byte(s) // text data of a non-JSON content type
		} else {
			ev.Data = bytes.Clone(d)
		}
	}
	for k, r := range raw {
		switch k {
		case "specversion", "id", "source", "type", "subject", "dataschema", "datacontenttype", "time", "data", "data_base64":
			continue
		}
		var s string
		if json.Unmarshal(r, &s) != nil {
			s = string(r) // numbers and booleans as their JSON text
		}
		if ev.Extensions == nil {
			ev.Extensions = map[string]string{}
		}
		ev.Extensions[k] = s
	}
	return ev, checkEvent(spec, ev)
}

// isJSON reports whether a content type is JSON (empty means JSON, as in
// legacybridge.Event).
func isJSON(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "text/json"
}

func header(m kafka.Message, key string) string {
	for i := len(m.Headers) - 1; i >= 0; i-- {
		if strings.EqualFold(m.Headers[i].Key, key) {
			return string(m.Headers[i].Value)
		}
	}
	return ""
}

// decodeData decodes an event's JSON data with exact numbers.
func decodeData(ev legacybridge.Event) (any, error) {
	if !isJSON(ev.ContentType) {
		return nil, fmt.Errorf("data content type %q is not JSON", ev.ContentType)
	}
	dec := json.NewDecoder(bytes.NewReader(ev.Data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("data is not JSON: %v", err)
	}
	if dec.More() {
		return nil, errors.New("data holds more than one JSON value")
	}
	return v, nil
}
