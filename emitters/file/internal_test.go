package file

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	kafka "github.com/segmentio/kafka-go"

	"legacybridge"
)

func TestPaths(t *testing.T) {
	var data any
	dec := json.NewDecoder(strings.NewReader(`{"a":{"b-c":[{"x":1},{"x":2.50},{"y":true}]},"s":"v","weird key":{"k":"w"}}`))
	dec.UseNumber()
	if err := dec.Decode(&data); err != nil {
		t.Fatal(err)
	}
	sc := &scope{data: data, bindings: map[string]any{"o": map[string]any{"p": "bound"}}, cur: match{v: []any{"e0", "e1"}, where: "$.list"}, hasCur: true}
	for _, c := range []struct {
		path string
		want []match
	}{
		{"$", []match{{data, "$"}}},
		{"$.s", []match{{"v", "$.s"}}},
		{"$.a.b-c[1].x", []match{{json.Number("2.50"), "$.a.b-c[1].x"}}},
		{"$.a.b-c[*].x", []match{{json.Number("1"), "$.a.b-c[0].x"}, {json.Number("2.50"), "$.a.b-c[1].x"}}},
		{"$['weird key'].k", []match{{"w", "$.weird key.k"}}},
		{`$["s"]`, []match{{"v", "$.s"}}},
		{"$.a.b-c[9]", nil},
		{"$.s.deeper", nil},
		{"$.missing[*]", nil},
		{"$o.p", []match{{"bound", "$o.p"}}},
		{"$unbound.p", nil},
		{"@[1]", []match{{"e1", "$.list[1]"}}},
	} {
		p, err := parsePath(c.path)
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		if diff := cmp.Diff(c.want, sc.all(p), cmp.AllowUnexported(match{})); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.path, diff)
		}
	}
	for _, bad := range []string{"", "a.b", "$.", "$.a[", "$.a[-1]", "$.a[x]", "$a b", "$.a..b", "@x"} {
		if _, err := parsePath(bad); err == nil {
			t.Errorf("parsePath(%q) accepted", bad)
		}
	}
}

func TestNames(t *testing.T) {
	ev := legacybridge.Event{ID: "id1", Source: "s", Type: "com.x.v1", Subject: "SHP1", Time: time.Date(2024, 12, 2, 7, 50, 0, 0, time.FixedZone("x", 3600)),
		Extensions: map[string]string{"partner": "ACME", "ctl": "000123"}, Data: []byte(`{"doc":{"no":"D-7","n":42}}`)}
	msg := kafka.Message{Topic: "t", Partition: 3, Offset: 99, Time: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	d := &Delivery{cfg: Config{Encoder: JSON{}, Partner: "DEFAULT", PartnerExtension: "partner"}}
	render := func(tmpl string, ev legacybridge.Event) (string, error) {
		tp, err := parseNameTemplate(tmpl)
		if err != nil {
			t.Fatal(err)
		}
		return renderName(tp, d.nameData(ev, msg), ".done")
	}
	for _, c := range []struct {
		tmpl, want string
	}{
		{DefaultNameTemplate, "id1.json"},
		{`{{.Partner}}_{{.Subject | lower}}_{{.Time.Format "20060102T150405"}}{{.FileExt}}`, "ACME_shp1_20241202T065000.json"},
		{`{{.Ext.ctl}}-{{.Topic}}-{{.Partition}}-{{.Offset}}`, "000123-t-3-99"},
		{`{{.Type | upper}}`, "COM.X.V1"},
	} {
		got, err := render(c.tmpl, ev)
		if err != nil || got != c.want {
			t.Errorf("%s: %q, %v; want %q", c.tmpl, got, err, c.want)
		}
	}
	d.controlPath, _ = parsePath("$.doc.no")
	if got, err := render("{{.ControlNumber}}", ev); err != nil || got != "D-7" {
		t.Errorf("control number from data: %q, %v", got, err)
	}
	d.controlPath, _ = parsePath("$.doc.n")
	if got, err := render("{{.ControlNumber}}", ev); err != nil || got != "42" {
		t.Errorf("numeric control number: %q, %v", got, err)
	}
	d.controlPath = nil
	d.cfg.ControlNumberExtension = "ctl"
	if got, err := render("{{.ControlNumber}}", ev); err != nil || got != "000123" {
		t.Errorf("control number from extension: %q, %v", got, err)
	}
	// Without ce_time the Kafka timestamp names the file; the default
	// partner applies without the extension.
	bare := ev
	bare.Time, bare.Extensions, bare.Subject = time.Time{}, nil, ""
	if got, err := render(`{{.Partner}}_{{.Time.Format "2006"}}`, bare); err != nil || got != "DEFAULT_2025" {
		t.Errorf("fallbacks: %q, %v", got, err)
	}
	for _, c := range []struct {
		tmpl string
		ev   legacybridge.Event
		want string
	}{
		{"{{.Subject}}", bare, "the event has no subject"},
		{"{{.ControlNumber}}", bare, `no "ctl" extension`},
		{"{{.Ext.nope}}", ev, "nope"},
		{"{{.Subject}}/x", ev, "path separator"},
		{"../{{.Subject}}", ev, "path separator"},
		{"..", ev, "unsafe file name"},
		{".{{.Subject}}", ev, "hidden"},
		{"{{.Subject}} ", ev, "blank"},
		{"{{.Subject}}.done", ev, "done marker suffix"},
		{strings.Repeat("x", 256), ev, "must stay within"},
		// 240 bytes fit a file system, but not with the temporary name
		// ".NAME.XXXXXXXX.legacybridge-tmp" and the ".done" marker.
		{strings.Repeat("x", 240), ev, "must stay within 223"},
		{"a\x01", ev, "control character"},
		{"", ev, "unsafe file name"},
	} {
		if _, err := render(c.tmpl, c.ev); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error saying %q", c.tmpl, err, c.want)
		}
	}
}

func TestCheckNameTemplate(t *testing.T) {
	for _, ok := range []string{DefaultNameTemplate, `ASN_{{.Partner}}_{{.ControlNumber}}_{{.Time.Format "20060102T150405"}}{{.FileExt}}`,
		`{{.Ext.partner | upper}}-{{.Subject}}.x`} {
		if err := CheckNameTemplate(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{`{{.ID}`, `{{.Subjekt}}`, `{{.Time.Fromat "2006"}}`, `{{nope .ID}}`} {
		if err := CheckNameTemplate(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestDecodeEvent(t *testing.T) {
	ev := legacybridge.Event{ID: "id1", Source: "urn:x", Type: "com.x.v1", Subject: "S", Time: time.Date(2024, 12, 2, 7, 50, 0, 123, time.UTC),
		DataSchema: "https://x/s.json", Extensions: map[string]string{"partner": "ACME"}, Data: []byte(`{"a":1}`)}
	lm := ev.Message("t")
	km := kafka.Message{Topic: "t", Key: lm.Key, Value: lm.Value}
	for _, h := range lm.Headers {
		km.Headers = append(km.Headers, kafka.Header{Key: h.Key, Value: h.Value})
	}
	got, err := decodeEvent(km)
	if err != nil {
		t.Fatal(err)
	}
	want := ev
	want.ContentType = "application/json"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("binary mode (-want +got):\n%s", diff)
	}

	structured := kafka.Message{Headers: []kafka.Header{{Key: "content-type", Value: []byte("application/cloudevents+json; charset=utf-8")}},
		Value: []byte(`{"specversion":"1.0","id":"id2","source":"urn:y","type":"com.y.v1","time":"2024-12-02T07:50:00Z","partner":"P","n":5,"data":{"b":[1,2]}}`)}
	got, err = decodeEvent(structured)
	if err != nil {
		t.Fatal(err)
	}
	want = legacybridge.Event{ID: "id2", Source: "urn:y", Type: "com.y.v1", Time: time.Date(2024, 12, 2, 7, 50, 0, 0, time.UTC),
		Extensions: map[string]string{"partner": "P", "n": "5"}, Data: []byte(`{"b":[1,2]}`)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("structured mode (-want +got):\n%s", diff)
	}
	b64 := structured
	b64.Value = []byte(`{"specversion":"1.0","id":"i","source":"s","type":"t","datacontenttype":"text/plain","data_base64":"aGVsbG8="}`)
	if got, err := decodeEvent(b64); err != nil || string(got.Data) != "hello" {
		t.Errorf("data_base64: %q, %v", got.Data, err)
	}
	for _, c := range []struct {
		m    kafka.Message
		want string
	}{
		{kafka.Message{Value: []byte(`{}`)}, "not a CloudEvent"},
		{kafka.Message{Headers: []kafka.Header{{Key: "ce_specversion", Value: []byte("1.0")}, {Key: "ce_type", Value: []byte("t")}}}, "without id, source"},
		{kafka.Message{Headers: []kafka.Header{{Key: "ce_specversion", Value: []byte("0.3")}, {Key: "ce_id", Value: []byte("i")},
			{Key: "ce_source", Value: []byte("s")}, {Key: "ce_type", Value: []byte("t")}}}, "specversion"},
		{kafka.Message{Headers: []kafka.Header{{Key: "ce_id", Value: []byte("i")}, {Key: "ce_time", Value: []byte("yesterday")}}}, "ce_time"},
		{kafka.Message{Headers: structured.Headers, Value: []byte(`[1]`)}, "not a JSON object"},
	} {
		if _, err := decodeEvent(c.m); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error saying %q", c.m.Headers, err, c.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	var got []time.Duration
	for n := 1; n <= 7; n++ {
		got = append(got, backoff(n, 500*time.Millisecond, 10*time.Second))
	}
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	if !cmp.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
