package stdout

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
)

func TestEmitLines(t *testing.T) {
	var out bytes.Buffer
	e := New(&out)
	ev := legacybridge.Event{
		ID: "id-1", Source: "urn:legacy:test", Type: "com.example.order.created.v1",
		Subject: "PO-1", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Extensions: map[string]string{"partitionkey": "PO-1"},
		Data:       json.RawMessage("{\n  \"po\": \"PO-1\",\n  \"note\": \"<a&b>\"\n}"),
	}
	msgs := []legacybridge.Message{
		ev.Message("orders"),
		{Topic: "raw", Key: []byte(""), Value: []byte("not json\n")},
		{Topic: "tomb", Key: []byte("k"), Headers: []legacybridge.Header{{Key: "h", Value: []byte("1")}, {Key: "h", Value: []byte("2")}}},
		{Topic: "num", Value: []byte(" 42 ")},
	}
	if err := e.Emit(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
	want := `{"topic":"orders","key":"PO-1","headers":{"ce_id":"id-1","ce_partitionkey":"PO-1","ce_source":"urn:legacy:test","ce_specversion":"1.0","ce_subject":"PO-1","ce_time":"2026-01-02T03:04:05Z","ce_type":"com.example.order.created.v1","content-type":"application/json"},"value":{"po":"PO-1","note":"<a&b>"}}
{"topic":"raw","key":"","headers":{},"value":"not json\n"}
{"topic":"tomb","key":"k","headers":{"h":"2"},"value":null}
{"topic":"num","key":null,"headers":{},"value":42}
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if err := e.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// Lines of concurrent Emit calls never interleave and every line is valid JSON.
func TestConcurrentEmit(t *testing.T) {
	var out bytes.Buffer
	e := New(&out)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				batch := make([]legacybridge.Message, 3)
				for j := range batch {
					batch[j] = legacybridge.Message{Topic: fmt.Sprintf("g%d", g), Key: fmt.Appendf(nil, "%d", i), Value: fmt.Appendf(nil, `{"j":%d}`, j)}
				}
				if err := e.Emit(context.Background(), batch...); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	sc := bufio.NewScanner(&out)
	n := 0
	var prev struct {
		Topic string
		Key   string
		Value struct{ J int }
	}
	for sc.Scan() {
		var l struct {
			Topic string
			Key   string
			Value struct{ J int }
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %d %q: %v", n+1, sc.Text(), err)
		}
		if l.Value.J != n%3 {
			t.Fatalf("line %d: j=%d, want %d (batches interleaved)", n+1, l.Value.J, n%3)
		}
		if n%3 != 0 && (l.Topic != prev.Topic || l.Key != prev.Key) {
			t.Fatalf("line %d: %s/%s follows %s/%s inside a batch", n+1, l.Topic, l.Key, prev.Topic, prev.Key)
		}
		prev = l
		n++
	}
	if n != 8*50*3 {
		t.Errorf("%d lines, want %d", n, 8*50*3)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestEmitErrors(t *testing.T) {
	e := New(failWriter{})
	err := e.Emit(context.Background(), legacybridge.Message{Topic: "t", Value: []byte("x")})
	if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.HasPrefix(err.Error(), "stdout: ") {
		t.Errorf("Emit to a failing writer: %v, want a stdout: error wrapping disk full", err)
	}
	var out bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = New(&out).Emit(ctx, legacybridge.Message{Topic: "t"})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Emit with a cancelled ctx: %v, want context.Canceled", err)
	}
	if out.Len() != 0 {
		t.Errorf("cancelled Emit wrote %q", out.String())
	}
	if err := New(failWriter{}).Emit(context.Background()); err != nil {
		t.Errorf("empty Emit: %v", err)
	}
}

func TestAppendJSONInvalidUTF8(t *testing.T) {
	b, err := AppendJSON([]byte("prefix "), legacybridge.Message{Topic: "t", Key: []byte{0xff}, Value: []byte{'a', 0xfe}})
	if err != nil {
		t.Fatal(err)
	}
	want := `prefix {"topic":"t","key":"\ufffd","headers":{},"value":"a\ufffd"}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
