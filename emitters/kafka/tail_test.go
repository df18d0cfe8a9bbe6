package kafka

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	kafka "github.com/segmentio/kafka-go"

	"legacybridge"
	"legacybridge/internal/kafkabroker"
)

type tailLine struct {
	Topic     string            `json:"topic"`
	Partition int               `json:"partition"`
	Offset    int64             `json:"offset"`
	Key       *string           `json:"key"`
	Headers   map[string]string `json:"headers"`
	Value     json.RawMessage   `json:"value"`
}

func parseLines(t *testing.T, out []byte) []tailLine {
	t.Helper()
	var lines []tailLine
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var l tailLine
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("line %d %q is not a record line: %v", len(lines)+1, sc.Text(), err)
		}
		lines = append(lines, l)
	}
	return lines
}

func emitN(t *testing.T, addr, topic string, from, n int) {
	t.Helper()
	e := newEmitter(t, Config{Brokers: []string{addr}})
	msgs := make([]legacybridge.Message, n)
	for i := range msgs {
		msgs[i] = testMessage(topic, from+i)
	}
	if err := e.Emit(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
}

func seqs(lines []tailLine) []string {
	var s []string
	for _, l := range lines {
		s = append(s, l.Headers["seq"])
	}
	slices.SortFunc(s, func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return x - y
	})
	return s
}

func seqRange(from, n int) []string {
	var s []string
	for i := from; i < from+n; i++ {
		s = append(s, strconv.Itoa(i))
	}
	return s
}

func TestTailFromBeginning(t *testing.T) {
	b := startBroker(t, kafkabroker.Config{Partitions: 4})
	emitN(t, b.Addr(), "tail", 0, 10)

	var out bytes.Buffer
	n, err := Tail(context.Background(), TailConfig{Brokers: []string{b.Addr()}, Topic: "tail", FromBeginning: true, Max: 10, Timeout: 5 * time.Second}, &out)
	if err != nil || n != 10 {
		t.Fatalf("Tail = %d, %v; want 10, nil", n, err)
	}
	lines := parseLines(t, out.Bytes())
	if diff := cmp.Diff(seqRange(0, 10), seqs(lines)); diff != "" {
		t.Errorf("seqs (-want +got):\n%s", diff)
	}
	parts := map[int]bool{}
	for _, l := range lines {
		parts[l.Partition] = true
		seq, _ := strconv.Atoi(l.Headers["seq"])
		want := testMessage("tail", seq)
		got := tailLine{Topic: l.Topic, Key: l.Key, Headers: l.Headers, Value: l.Value}
		key := string(want.Key)
		wantLine := tailLine{Topic: "tail", Key: &key, Headers: map[string]string{"seq": l.Headers["seq"], "x-bridge-flow": "test", "empty": ""}, Value: want.Value}
		if diff := cmp.Diff(wantLine, got); diff != "" {
			t.Errorf("record %s (-want +got):\n%s", l.Headers["seq"], diff)
		}
	}
	if len(parts) < 2 {
		t.Errorf("records came from partitions %v; want several (the topic has 4)", parts)
	}
}

func TestTailTimeoutAndEnd(t *testing.T) {
	b := startBroker(t, kafkabroker.Config{})
	emitN(t, b.Addr(), "quiet", 0, 3)

	// Max 0, Timeout: returns the 3 there are once the topic is quiet.
	var out bytes.Buffer
	n, err := Tail(context.Background(), TailConfig{Brokers: []string{b.Addr()}, Topic: "quiet", FromBeginning: true, Timeout: 400 * time.Millisecond}, &out)
	if err != nil || n != 3 {
		t.Fatalf("Tail = %d, %v; want 3, nil", n, err)
	}

	// Without FromBeginning only new records show up.
	out.Reset()
	var wg sync.WaitGroup
	wg.Add(1)
	var tailN int
	var tailErr error
	go func() {
		defer wg.Done()
		tailN, tailErr = Tail(context.Background(), TailConfig{Brokers: []string{b.Addr()}, Topic: "quiet", Max: 2, Timeout: 5 * time.Second}, &out)
	}()
	time.Sleep(500 * time.Millisecond) // let the readers find the end
	emitN(t, b.Addr(), "quiet", 3, 2)
	wg.Wait()
	if tailErr != nil || tailN != 2 {
		t.Fatalf("Tail from the end = %d, %v; want 2, nil", tailN, tailErr)
	}
	if diff := cmp.Diff([]string{"3", "4"}, seqs(parseLines(t, out.Bytes()))); diff != "" {
		t.Errorf("from the end (-want +got):\n%s", diff)
	}

	// ctx ends the wait when there is neither Max nor Timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = Tail(ctx, TailConfig{Brokers: []string{b.Addr()}, Topic: "quiet"}, &out)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Tail until ctx = %v, want context.DeadlineExceeded", err)
	}
}

func TestTailGroup(t *testing.T) {
	b := startBroker(t, kafkabroker.Config{})
	emitN(t, b.Addr(), "grp", 0, 6)
	cfg := TailConfig{Brokers: []string{b.Addr()}, Topic: "grp", Group: "tailers", FromBeginning: true, Max: 4, Timeout: 3 * time.Second}

	var first, second bytes.Buffer
	if n, err := Tail(context.Background(), cfg, &first); err != nil || n != 4 {
		t.Fatalf("first Tail = %d, %v; want 4, nil", n, err)
	}
	cfg.Max, cfg.Timeout = 0, 700*time.Millisecond
	if n, err := Tail(context.Background(), cfg, &second); err != nil || n != 2 {
		t.Fatalf("second Tail in the same group = %d, %v; want the 2 left, nil", n, err)
	}
	all := append(parseLines(t, first.Bytes()), parseLines(t, second.Bytes())...)
	if diff := cmp.Diff(seqRange(0, 6), seqs(all)); diff != "" {
		t.Errorf("the group's two tails together (-want +got):\n%s", diff)
	}
}

func TestTailErrors(t *testing.T) {
	b := startBroker(t, kafkabroker.Config{})
	var out bytes.Buffer
	_, err := Tail(context.Background(), TailConfig{Brokers: []string{b.Addr()}, Topic: "absent", Timeout: time.Second}, &out)
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), "absent") {
		t.Errorf("Tail of a missing topic = %v, want an error naming it", err)
	}
	addr := freeAddr(t)
	_, err = Tail(context.Background(), TailConfig{Brokers: []string{addr}, Topic: "x", Timeout: time.Second}, &out)
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), "check that the brokers are reachable") {
		t.Errorf("Tail with no broker = %v, want a reachability error", err)
	}
	if _, err := Tail(context.Background(), TailConfig{}, &out); err == nil {
		t.Errorf("Tail without topic succeeded")
	}
}

func TestAppendRecord(t *testing.T) {
	for _, tc := range []struct {
		m    kafka.Message
		want string
	}{
		{kafka.Message{Topic: "t", Partition: 2, Offset: 9, Key: []byte("k"), Value: []byte("{\n \"a\": [1, 2],\n \"h\": \"<&>\"\n}"), Headers: []kafka.Header{{Key: "h", Value: []byte("v")}}},
			`{"topic":"t","partition":2,"offset":9,"key":"k","headers":{"h":"v"},"value":{"a":[1,2],"h":"<&>"}}`},
		{kafka.Message{Topic: "t", Value: []byte("plain text\n")},
			`{"topic":"t","partition":0,"offset":0,"key":null,"headers":{},"value":"plain text\n"}`},
		{kafka.Message{Topic: "t", Key: []byte{}, Offset: 1},
			`{"topic":"t","partition":0,"offset":1,"key":"","headers":{},"value":null}`},
	} {
		got, err := appendRecord(nil, tc.m)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, string(got)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	}
}
