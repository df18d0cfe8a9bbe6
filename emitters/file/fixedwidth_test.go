package file_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
	"legacybridge/emitters/file"
	"legacybridge/mappings"
	"legacybridge/parsers/fixedwidth"
	"legacybridge/parsers/x12"
)

var update = flag.Bool("update", false, "rewrite legacy-fixtures/outbound/expected from the current output")

const (
	outbound   = "../../legacy-fixtures/outbound"
	demoSpec   = outbound + "/specs/dc07-asn.yaml"
	demoLayout = outbound + "/layouts/dc07-asn.yaml"
	demoASN    = "../../legacy-fixtures/demo/drops/x12/ASN_ACME_20241202_0815.edi"
	demoMap    = "../../legacy-fixtures/demo/mappings/x12-856-shipment-notice.yaml"
	demoName   = `ASN_{{.Partner}}_{{.ControlNumber}}_{{.Time.Format "20060102T150405"}}{{.FileExt}}`
)

// asnEvents runs the inbound half on the demo ASN: the X12 parser and the
// shipped 856 mapping, with ids and source as the flow runner sets them.
func asnEvents(t testing.TB) []legacybridge.Event {
	t.Helper()
	data, err := os.ReadFile(demoASN)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mappings.Load(demoMap)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:])
	rr := x12.Parser{}.NewReader(bytes.NewReader(data), filepath.Base(demoASN))
	var out []legacybridge.Event
	for i := 0; ; i++ {
		rec, err := rr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		evs, err := m.Map(rec)
		if err != nil {
			t.Fatal(err)
		}
		for j, ev := range evs {
			ev.ID = legacybridge.EventID("asn", hash, rec.Pos.Index, j)
			ev.Source = "urn:legacybridge:flow:asn"
			out = append(out, ev)
		}
	}
	if len(out) != 2 {
		t.Fatalf("the demo ASN gave %d events, want 2", len(out))
	}
	return out
}

func demoEncoder(t testing.TB) *file.FixedWidth {
	t.Helper()
	fw, err := file.LoadFixedWidth(demoSpec)
	if err != nil {
		t.Fatal(err)
	}
	return fw
}

// TestDemoShipmentNotice is the shipped demo end to end: the demo ASN's
// shipment notice events go through Kafka and come out as DC07 receiving
// advice files, byte for byte as in legacy-fixtures/outbound/expected, and
// read back with the same layout by parsers/fixedwidth.
func TestDemoShipmentNotice(t *testing.T) {
	addr := startBroker(t, 2)
	fs, root := localFS(t)
	evs := asnEvents(t)
	// An event of another type on the same topic is skipped.
	produce(t, addr, "shipments", append(evs, event("com.legacybridge.purchase.order.v1", 9, `{}`))...)
	r := start(t, file.Config{Name: "dc07-asn", Brokers: []string{addr}, Topic: "shipments", GroupID: "dc07", FS: fs,
		Dir: "dc07/inbound", NameTemplate: demoName, Partner: "DC07", ControlNumberPath: "$.shipmentId",
		Encoder: demoEncoder(t), MaxWait: 400 * time.Millisecond})
	waitFor(t, "every offset committed", func() bool { return sum(committed(t, addr, "dc07", "shipments", 2)) == 3 })
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for name, content := range files(t, root) {
		got[strings.TrimPrefix(name, "dc07/inbound/")] = content
	}
	expected := filepath.Join(outbound, "expected")
	if *update {
		for name, content := range got {
			if err := os.WriteFile(filepath.Join(expected, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := files(t, expected)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("delivered files differ from %s (-want +got; go test -update rewrites them):\n%s", expected, diff)
	}
	if st := r.d.Stats(); st.Delivered != 2 || st.Skipped != 1 {
		t.Errorf("stats %+v, want 2 delivered and 1 skipped", st)
	}

	// The partner's side: the files parse with the layout, the counts and
	// quantities are the events'.
	l, err := fixedwidth.LoadLayout(demoLayout)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		qty  []string
	}{
		{"ASN_DC07_SHP0048213_20241202T075000.txt", []string{"240.000", "60.000", "1200.000"}},
		{"ASN_DC07_SHP0048214_20241202T080500.txt", []string{"16.000"}},
	} {
		d := fixedwidth.NewDecoder(strings.NewReader(got[c.name]), l)
		var qty []string
		for {
			rec, err := d.Decode()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if rec.Type == "detail" {
				qty = append(qty, string(rec.Fields["quantity"].(json.Number)))
			}
		}
		if !cmp.Equal(qty, c.qty) {
			t.Errorf("%s: quantities %v, want %v", c.name, qty, c.qty)
		}
	}
}

// notice is a shipment notice event with data.
func notice(id, data string) legacybridge.Event {
	return legacybridge.Event{ID: id, Source: "s", Type: "com.legacybridge.shipment.notice.v1", Data: []byte(data)}
}

const minimalNotice = `{"shipmentId":"S1","issuedAt":"2024-12-02T07:50:00Z","shipTo":{"id":"DC07"},
 "source":{"interchangeControlNumber":"000000001"},
 "orders":[{"purchaseOrderNumber":"PO1","items":[{"quantityShipped":1,"uom":"each","description":"SHORT"},
   {"quantityShipped":2.5,"uom":"each","description":%s}]}]}`

// TestFixedWidthEncodeErrors: an event that does not fit the layout is an
// error naming the record, the element it came from and the field; nothing
// is truncated, rounded or passed through unmapped.
func TestFixedWidthEncodeErrors(t *testing.T) {
	fw := demoEncoder(t)
	for _, c := range []struct {
		name string
		data string
		want []string
	}{
		{"too long", strings.Replace(minimalNotice, "%s", `"`+strings.Repeat("X", 31)+`"`, 1),
			[]string{"detail record for $.orders[0].items[1]", "field description", "value too long", "31 characters", "holds 30"}},
		{"unmapped code", strings.Replace(strings.Replace(minimalNotice, "%s", `"D"`, 1), `"uom":"each","description":"D"`, `"uom":"roll","description":"D"`, 1),
			[]string{"detail record for $.orders[0].items[1]", "field uom", `$.orders[0].items[1].uom is "roll", which the field's map does not list`}},
		{"too many decimals", strings.Replace(strings.Replace(minimalNotice, "%s", `"D"`, 1), "2.5,", "2.5001,", 1),
			[]string{"field quantity", "2.5001 has more than 3 decimal places"}},
		{"object for a value", strings.Replace(minimalNotice, "%s", `{"text":"D"}`, 1),
			[]string{"field description", "$.orders[0].items[1].description is an object"}},
		{"required missing", `{"shipmentId":"S1","issuedAt":"2024-12-02T07:50:00Z","source":{}}`,
			[]string{"header record", "field ship_to", "required field is blank"}},
		{"not json", `{"shipmentId":`, []string{"data is not JSON"}},
	} {
		err := fw.Encode(io.Discard, notice("e1", c.data))
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", c.name, err, w)
			}
		}
	}
	var ee *fixedwidth.EncodeError
	err := fw.Encode(io.Discard, notice("e1", strings.Replace(minimalNotice, "%s", `"`+strings.Repeat("X", 31)+`"`, 1)))
	if !errors.As(err, &ee) || !errors.Is(err, fixedwidth.ErrTooLong) || ee.Type != "detail" || ee.Field != "description" || ee.Line != 3 {
		t.Errorf("error %v: want a fixedwidth.EncodeError for line 3, detail, description", err)
	}
}

// TestSpecProblems: a spec is checked against its layout when loaded, and
// every problem is listed.
func TestSpecProblems(t *testing.T) {
	l, err := fixedwidth.LoadLayout(demoLayout)
	if err != nil {
		t.Fatal(err)
	}
	spec := `
name: bad
types: [t]
newline: cr
extension: txt
records:
  - record: header
    fields:
      shipment_id: $.a
      ship_to: $order.x
      nope: $.b
      issued_at: {path: $.x, const: "1"}
  - record: detail
    fields:
      po_number: "@.po"
      quantity: $.items[*].q
      uom: $.u
  - each: $.orders[*]
    as: event
    records:
      - record: missing
  - record: trailer
    records:
      - record: header
  - record: trailer
    as: x
`
	s, err := file.ParseSpec([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	_, err = file.NewFixedWidth(s, l)
	var se *file.SpecError
	if !errors.As(err, &se) {
		t.Fatalf("NewFixedWidth: %v, want a *SpecError", err)
	}
	for _, w := range []string{
		`newline "cr" is not lf or crlf`,
		`extension "txt" must start with a dot`,
		`$order is not bound here`,
		`field nope: record type "header" has no such field`,
		`field issued_at: give path or const, not both`,
		`@ is only inside an each`,
		`[*] is only for each`,
		`as "event" must be a name`,
		`layout dc07-asn has no record type "missing"`,
		`give record (with fields) or records (a group), not both`,
		`as needs each`,
		`records[4] (trailer): field shipment_id is required by layout dc07-asn but has no source`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not say %q:\n%v", w, err)
		}
	}
	if _, err := file.ParseSpec([]byte("name: x\nbogus: 1\n")); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := file.ParseSpec([]byte("name: x\nrecords:\n  - record: r\n    fields:\n      a: {path: $.a, dflt: x}\n")); err == nil || !strings.Contains(err.Error(), "dflt") {
		t.Errorf("unknown source key: %v", err)
	}
}

// TestFixedWidthConcurrent: one FixedWidth encodes from several goroutines
// (Config.Concurrency) with the same results as one at a time.
func TestFixedWidthConcurrent(t *testing.T) {
	fw := demoEncoder(t)
	evs := asnEvents(t)
	want := make([]string, len(evs))
	for i, ev := range evs {
		var b bytes.Buffer
		if err := fw.Encode(&b, ev); err != nil {
			t.Fatal(err)
		}
		want[i] = b.String()
	}
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			for k := range 50 {
				i := (g + k) % len(evs)
				var b bytes.Buffer
				if err := fw.Encode(&b, evs[i]); err != nil {
					errs <- err
					return
				}
				if b.String() != want[i] {
					errs <- fmt.Errorf("goroutine %d: event %d encoded differently:\n%s", g, i, b.String())
					return
				}
				if k%7 == 0 { // an error now and then must not spoil a pooled encoder
					_ = fw.Encode(io.Discard, notice("bad", `{"shipmentId":"S"}`))
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
