package file

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/template"
	"time"
	"unicode"

	kafka "github.com/segmentio/kafka-go"

	"legacybridge"
	"legacybridge/bridges"
)

// DefaultNameTemplate names a file after the event id, which is
// deterministic for a redelivered event.
const DefaultNameTemplate = "{{.ID}}{{.FileExt}}"

// maxNameBytes is the longest file name accepted (the usual file system
// limit for one path element).
const maxNameBytes = 255

// tempOverhead is what bridges.TempName adds to a name.
var tempOverhead = len(bridges.TempName("x")) - 1

// CheckNameTemplate parses a name template and executes it on a sample
// event that has every value, so a typo ({{.Subjekt}}, an unclosed
// action) is found when the config is validated rather than at the first
// event. Extensions (.Ext.NAME) cannot be known in advance and pass.
func CheckNameTemplate(s string) error {
	t, err := parseNameTemplate(s)
	if err != nil {
		return fmt.Errorf("name template %q: %w", s, err)
	}
	sample := NameData{id: "0123456789abcdef", typ: "com.example.sample.v1", source: "urn:sample", subject: "SAMPLE1",
		t: time.Date(2024, 12, 2, 8, 15, 0, 0, time.UTC), partner: "PARTNER", control: "000000001",
		ext: map[string]string{}, fileExt: ".txt", topic: "sample"}
	var b bytes.Buffer
	if err := t.Execute(&b, sample); err != nil && !strings.Contains(err.Error(), "map has no entry for key") {
		return fmt.Errorf("name template %q: %w", s, err)
	}
	return nil
}

// NameData is what Config.NameTemplate is executed with. Every value is
// the same each time the same Kafka message is delivered, so a redelivery
// rewrites the same file. The optional values return an error when the
// template uses them and the event has none, so that two events never fall
// onto one name by an empty value.
type NameData struct {
	id, typ, source, subject string
	t                        time.Time
	partner, control         string
	partnerErr, controlErr   error
	ext                      map[string]string
	fileExt                  string
	topic                    string
	partition                int
	offset                   int64
}

// ID is the CloudEvents id (ce_id).
func (n NameData) ID() string { return n.id }

// Type is the CloudEvents type.
func (n NameData) Type() string { return n.typ }

// Source is the CloudEvents source.
func (n NameData) Source() string { return n.source }

// Subject is the CloudEvents subject; an error if the event has none.
func (n NameData) Subject() (string, error) {
	if n.subject == "" {
		return "", errors.New("the event has no subject")
	}
	return n.subject, nil
}

// Time is the CloudEvents time (ce_time) or, without one, the Kafka
// message's timestamp; UTC. Format it with {{.Time.Format "20060102T150405"}}.
func (n NameData) Time() (time.Time, error) {
	if n.t.IsZero() {
		return time.Time{}, errors.New("the event has no time and the Kafka message no timestamp")
	}
	return n.t.UTC(), nil
}

// Partner is Config.Partner, or the event's Config.PartnerExtension.
func (n NameData) Partner() (string, error) { return n.partner, n.partnerErr }

// ControlNumber is taken from the event (Config.ControlNumberPath or
// Config.ControlNumberExtension).
func (n NameData) ControlNumber() (string, error) { return n.control, n.controlErr }

// Ext holds the event's CloudEvents extension attributes; a missing one is
// an error.
func (n NameData) Ext() map[string]string { return n.ext }

// FileExt is the encoder's file name extension, e.g. ".json".
func (n NameData) FileExt() string { return n.fileExt }

// Topic, Partition and Offset say where the message is in Kafka. They are
// stable for one message, but an event produced twice (at-least-once
// producers) gets two offsets, hence two files: prefer the event id.
func (n NameData) Topic() string  { return n.topic }
func (n NameData) Partition() int { return n.partition }
func (n NameData) Offset() int64  { return n.offset }

var nameFuncs = template.FuncMap{
	"upper": strings.ToUpper,
	"lower": strings.ToLower,
}

func parseNameTemplate(s string) (*template.Template, error) {
	return template.New("name").Option("missingkey=error").Funcs(nameFuncs).Parse(s)
}

// renderName executes the template and checks that the result is one plain,
// visible file name: no path separators (nothing from the event can reach
// outside the folder), no leading dot (hidden names are for temporary files
// and partners skip them), no control characters, not the done marker's
// suffix, at most 255 bytes.
func renderName(t *template.Template, d NameData, doneSuffix string) (string, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("name template: %w", err)
	}
	name := b.String()
	if err := checkName(name, doneSuffix); err != nil {
		return "", fmt.Errorf("name template gave %w", err)
	}
	return name, nil
}

func checkName(name, doneSuffix string) error {
	if err := bridges.CheckName(name); err != nil {
		return err
	}
	switch {
	case strings.HasPrefix(name, "."):
		return fmt.Errorf("%w: %q is hidden (starts with a dot)", bridges.ErrUnsafeName, name)
	case strings.TrimFunc(name, unicode.IsSpace) != name:
		return fmt.Errorf("%w: %q starts or ends with a blank", bridges.ErrUnsafeName, name)
	case len(name) > maxNameBytes-tempOverhead-len(doneSuffix):
		// The file is first written as bridges.TempName(name) (and its
		// marker as TempName(name+doneSuffix)), which must fit too.
		return fmt.Errorf("%w: %q is %d bytes; with its temporary name and done marker it must stay within %d", bridges.ErrUnsafeName, name, len(name), maxNameBytes-tempOverhead-len(doneSuffix))
	case doneSuffix != "" && strings.HasSuffix(name, doneSuffix):
		return fmt.Errorf("%w: %q ends with the done marker suffix %q", bridges.ErrUnsafeName, name, doneSuffix)
	}
	return nil
}

// nameData gathers the template values for one event.
func (d *Delivery) nameData(ev legacybridge.Event, msg kafka.Message) NameData {
	n := NameData{id: ev.ID, typ: ev.Type, source: ev.Source, subject: ev.Subject, t: ev.Time,
		ext: ev.Extensions, fileExt: d.cfg.Encoder.Extension(), topic: msg.Topic, partition: msg.Partition, offset: msg.Offset}
	if n.ext == nil {
		n.ext = map[string]string{}
	}
	if n.t.IsZero() {
		n.t = msg.Time
	}
	n.partner = d.cfg.Partner
	if x := d.cfg.PartnerExtension; x != "" {
		if v := ev.Extensions[x]; v != "" {
			n.partner = v
		}
	}
	if n.partner == "" {
		n.partnerErr = errors.New("no partner: set Partner or have the event carry the PartnerExtension attribute")
		if x := d.cfg.PartnerExtension; x != "" {
			n.partnerErr = fmt.Errorf("the event has no %q extension attribute and no default Partner is set", x)
		}
	}
	switch {
	case d.cfg.ControlNumberExtension != "":
		n.control = ev.Extensions[d.cfg.ControlNumberExtension]
		if n.control == "" {
			n.controlErr = fmt.Errorf("the event has no %q extension attribute (ControlNumberExtension)", d.cfg.ControlNumberExtension)
		}
	case d.controlPath != nil:
		n.control, n.controlErr = controlNumber(ev, d.controlPath)
	default:
		n.controlErr = errors.New("no control number: set control_number_path or control_number_extension in the delivery (a format x12-856 file name cannot use the ISA13: it is given while encoding)")
	}
	return n
}

func controlNumber(ev legacybridge.Event, p *path) (string, error) {
	v, err := decodeData(ev)
	if err != nil {
		return "", err
	}
	sc := &scope{data: v}
	m, ok := sc.one(p)
	if !ok || m.v == nil {
		return "", fmt.Errorf("the event data has no control number at %s", p.text)
	}
	switch x := m.v.(type) {
	case string:
		if x == "" {
			return "", fmt.Errorf("the control number at %s is empty", p.text)
		}
		return x, nil
	case json.Number:
		return string(x), nil
	}
	return "", fmt.Errorf("the control number at %s is not a string or number", p.text)
}
