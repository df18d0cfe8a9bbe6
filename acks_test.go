package legacybridge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"legacybridge"
	"legacybridge/internal/ledger"
	"legacybridge/mappings/acks"
	"legacybridge/parsers/edifact"
	"legacybridge/parsers/x12"
)

// keyedCounters hands out control numbers per partner, the same ones again
// for a key seen before (what the ledger's controls do, in memory).
type keyedCounters struct {
	mu    sync.Mutex
	last  map[string]uint64   // partner/level → last number
	given map[string][]uint64 // partner/key → numbers in order
}

type keyedCursor struct {
	k    *keyedCounters
	p, c string
	n    map[int]int // numbers handed out per level
}

// next is the level's next number: per partner and level, the same again
// for the n-th number of a key seen before.
func (c *keyedCursor) next(level int) (uint64, error) {
	k := c.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if c.n == nil {
		c.n = map[int]int{}
	}
	id := fmt.Sprintf("%s/%d/%s", c.p, level, c.c)
	if c.n[level] < len(k.given[id]) {
		v := k.given[id][c.n[level]]
		c.n[level]++
		return v, nil
	}
	lk := fmt.Sprintf("%s/%d", c.p, level)
	k.last[lk]++
	v := k.last[lk]
	k.given[id] = append(k.given[id], v)
	c.n[level]++
	return v, nil
}

type x12Cursor struct{ *keyedCursor }

func (c x12Cursor) Next(l x12.ControlLevel) (uint64, error) { return c.next(int(l)) }

type edifactCursor struct{ *keyedCursor }

func (c edifactCursor) Next(l edifact.Level) (uint64, error) { return c.next(int(l)) }

func newKeyed() *keyedCounters {
	return &keyedCounters{last: map[string]uint64{}, given: map[string][]uint64{}}
}

func (k *keyedCounters) x12(_, p legacybridge.Party, key string) (x12.ControlNumbers, error) {
	return x12Cursor{&keyedCursor{k: k, p: p.ID, c: key}}, nil
}

func (k *keyedCounters) edifact(_, p legacybridge.Party, key string) (edifact.ControlRefs, error) {
	return edifactCursor{&keyedCursor{k: k, p: p.ID, c: key}}, nil
}

// badCount is an interchange with three 856s; the second's SE01 is wrong.
func badCount(ctrl int) string {
	s := interchange(ctrl, "\n", "SH1", "SH2", "SH3")
	return strings.Replace(s, "SE*3*0002", "SE*4*0002", 1)
}

type ackData struct {
	legacybridge.AckDocument
	File     string `json:"file"`
	Document string `json:"document"`
}

func ackEvents(t *testing.T, msgs []legacybridge.Message) []ackData {
	t.Helper()
	var out []ackData
	for _, m := range msgs {
		if header(m, "ce_type") != legacybridge.AckEventType {
			continue
		}
		var d ackData
		if err := json.Unmarshal(m.Value, &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// TestFlowAcknowledgesAndPostsGoodSets: a wrong SE01 in one of three sets
// rejects that set in the 997 (AK5 R 4, AK9 P 3 3 2) while the two good
// sets are posted; the rejected one is dead-lettered, the file
// quarantined with the reason, and the 997 is an event on the ack topic.
func TestFlowAcknowledgesAndPostsGoodSets(t *testing.T) {
	dir := t.TempDir()
	led, err := ledger.Open(filepath.Join(dir, ".state"))
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	em := &memEmitter{}
	keyed := newKeyed()
	f := ediFlow(t, dir, em, led, nil, nil)
	f.Acks = &legacybridge.Acknowledgements{Topic: "acks", Acknowledger: &x12.FlowAcks{Controls: keyed.x12}}
	reg := prometheus.NewRegistry()
	f.Metrics = legacybridge.NewMetrics(reg)
	drop(t, dir, "ASN_7.edi", badCount(7))
	s, err := f.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.Events != 2 || s.Rejected != 1 || s.Acks != 1 || s.Quarantined != 1 || s.DeadLetters != 1 {
		t.Fatalf("summary %+v: want 2 events, 1 rejected and dead-lettered, 1 ack, quarantined", s)
	}
	if got := subjects(em.topic("events")); !slices.Equal(got, []string{"SH1", "SH3"}) {
		t.Fatalf("events = %q, want the good sets SH1, SH3", got)
	}
	dl := em.topic("events.dlt")
	if len(dl) != 1 || !strings.Contains(header(dl[0], "x-bridge-error"), "SE01") && !strings.Contains(string(dl[0].Value), "BSN*00*SH2") && !strings.Contains(string(dl[0].Value), "SH2") {
		t.Fatalf("dead letters: %d, want the rejected SH2 set", len(dl))
	}
	acks := ackEvents(t, em.topic("acks"))
	if len(acks) != 1 {
		t.Fatalf("%d acknowledgement events, want 1", len(acks))
	}
	a := acks[0]
	if a.Type != "997" || a.Status != "partially_accepted" || a.Partner.ID != "ACMEPARTS" || a.Acknowledged.Control != "000000007" {
		t.Errorf("ack = %+v", a.AckDocument)
	}
	for _, want := range []string{"AK1*SH*7~", "AK2*856*0001~", "AK5*A~", "AK2*856*0002~", "AK5*R*4~", "AK9*P*3*3*2~", "ISA*00*          *00*          *ZZ*NORTHWIND      *ZZ*ACMEPARTS      *", "*U*00401*000000001*0*P*>~GS*FA*NORTHWIND*ACMEPARTS*", "ST*997*0001~"} {
		if !strings.Contains(a.Document, want) {
			t.Errorf("997 lacks %q:\n%s", want, a.Document)
		}
	}
	if len(a.Groups) != 1 || len(a.Groups[0].Sets) != 3 || a.Groups[0].Sets[1].Status != "rejected" || a.Groups[0].Accepted != 2 {
		t.Errorf("groups = %+v", a.Groups)
	}
	if n := counter(t, reg, "legacybridge_edi_acknowledgements_total", "type", "997", "status", "partially_accepted"); n != 1 {
		t.Errorf("acknowledgements metric = %v, want 1", n)
	}
	if n := counter(t, reg, "legacybridge_edi_sets_rejected_total"); n != 1 {
		t.Errorf("rejected sets metric = %v, want 1", n)
	}
	// Quarantined with the reason naming the set.
	if !slices.Contains(ls(t, dir), filepath.Join("error", "ASN_7.edi")) {
		t.Fatalf("not quarantined: %q", ls(t, dir))
	}
}

// TestFlowAcknowledgementsStableAcrossRetries: a file processed again (the
// emitter failed after the events went out) sends the same 997 bytes with
// the same control number and event id; the next file gets the next number.
func TestFlowAcknowledgementsStableAcrossRetries(t *testing.T) {
	dir := t.TempDir()
	led, err := ledger.Open(filepath.Join(dir, ".state"))
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	keyed := newKeyed()
	acker := &x12.FlowAcks{Controls: keyed.x12, Default: x12.AckProfile{Type: "999"}}
	var docs []string
	var ids []string
	for i, body := range []string{interchange(11, "\n", "A1"), interchange(11, "\n", "A1"), interchange(12, "\n", "B1")} {
		em := &memEmitter{}
		f := ediFlow(t, dir, em, nil, nil, nil)
		f.Acks = &legacybridge.Acknowledgements{Acknowledger: acker}
		drop(t, dir, fmt.Sprintf("F%d.edi", i), body)
		if _, err := f.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		acks := em.topic("events")
		var found bool
		for _, m := range acks {
			if header(m, "ce_type") == legacybridge.AckEventType {
				found = true
				ids = append(ids, header(m, "ce_id"))
				var d ackData
				json.Unmarshal(m.Value, &d)
				docs = append(docs, d.Document)
				if d.Type != "999" || !strings.Contains(d.Document, "IK5*A~") {
					t.Errorf("file %d: %s", i, d.Document)
				}
			}
		}
		if !found {
			t.Fatalf("file %d: no acknowledgement", i)
		}
	}
	// Files 0 and 1 have identical content (no ledger here: both are
	// processed), as after a crash before the archive.
	if docs[0] != docs[1] || ids[0] != ids[1] {
		t.Errorf("the same content was acknowledged differently:\n%s\n%s", docs[0], docs[1])
	}
	if !strings.Contains(docs[0], "*000000001*0*P*") || !strings.Contains(docs[2], "*000000002*0*P*") {
		t.Errorf("control numbers do not increment per partner:\n%s\n%s", docs[0], docs[2])
	}
}

// TestFlowAcknowledgesEdifact: a wrong UNT count rejects that message in
// the CONTRL (UCM 4 with 0085 = 29, count does not match, in UNT) while the
// others are posted; a file of CONTRLs is not acknowledged back.
func TestFlowAcknowledgesEdifact(t *testing.T) {
	dir := t.TempDir()
	em := &memEmitter{}
	keyed := newKeyed()
	f := ediFlow(t, dir, em, nil, nil, nil)
	f.Parser = edifact.Parser{}
	f.Acks = &legacybridge.Acknowledgements{Topic: "acks", Acknowledger: &edifact.FlowAcks{Controls: keyed.edifact}}
	body := strings.Join([]string{"UNB+UNOA:3+5412345000013:14+4012345000016:14+241202:0815+REF9",
		"UNH+1+DESADV:D:96A:UN", "BGM+351+D1+9", "UNT+3+1",
		"UNH+2+DESADV:D:96A:UN", "BGM+351+D2+9", "UNT+9+2",
		"UNH+3+DESADV:D:96A:UN", "BGM+351+D3+9", "UNT+3+3",
		"UNZ+3+REF9"}, "'\n") + "'\n"
	drop(t, dir, "DESADV_9.edi", body)
	s, err := f.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.Events != 2 || s.Rejected != 1 || s.Acks != 1 {
		t.Fatalf("summary %+v", s)
	}
	if got := subjects(em.topic("events")); !slices.Equal(got, []string{"D1", "D3"}) {
		t.Fatalf("events = %q", got)
	}
	acks := ackEvents(t, em.topic("acks"))
	if len(acks) != 1 {
		t.Fatalf("%d acks", len(acks))
	}
	doc := acks[0].Document
	for _, want := range []string{"UNB+UNOA:3+4012345000016:14+5412345000013:14+", "UNH+1+CONTRL:D:3:UN'", "UCI+REF9+5412345000013:14+4012345000016:14+7'", "UCM+2+DESADV:D:96A:UN+4+29+UNT+1'", "UCM+1+DESADV:D:96A:UN+7'"} {
		if !strings.Contains(doc, want) {
			t.Errorf("CONTRL lacks %q:\n%s", want, doc)
		}
	}
	if acks[0].Status != "partially_accepted" {
		t.Errorf("status %q", acks[0].Status)
	}

	// The partner's CONTRL back to us is not acknowledged again.
	em2 := &memEmitter{}
	f2 := ediFlow(t, dir, em2, nil, nil, nil)
	f2.Parser = edifact.Parser{}
	f2.Mappers = nil
	f2.Acks = &legacybridge.Acknowledgements{Topic: "acks", Acknowledger: &edifact.FlowAcks{Controls: keyed.edifact}}
	drop(t, dir, "CONTRL_1.edi", strings.ReplaceAll(doc, "'", "'\n"))
	s2, err := f2.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s2.Acks != 0 || len(em2.topic("acks")) != 0 {
		t.Errorf("a CONTRL was acknowledged: %+v", s2)
	}
}

// TestFlowAckRejectsWholeFile: a group whose GE01 is wrong rejects all its
// sets (AK9 R 5): nothing is posted, the 997 goes out, every set is
// dead-lettered and the file quarantined.
func TestFlowAckRejectsWholeFile(t *testing.T) {
	dir := t.TempDir()
	em := &memEmitter{}
	f := ediFlow(t, dir, em, nil, nil, nil)
	f.Acks = &legacybridge.Acknowledgements{Acknowledger: &x12.FlowAcks{Controls: newKeyed().x12}}
	body := strings.Replace(interchange(5, "\n", "S1", "S2"), "GE*2*5", "GE*3*5", 1)
	drop(t, dir, "ASN_5.edi", body)
	s, err := f.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.Events != 0 || s.Rejected != 2 || s.Acks != 1 || s.Quarantined != 1 || s.DeadLetters != 2 {
		t.Fatalf("summary %+v", s)
	}
	acks := ackEvents(t, em.topic("events"))
	if len(acks) != 1 || !strings.Contains(acks[0].Document, "AK9*R*3*2*0*5~") || acks[0].Status != "rejected" {
		t.Fatalf("ack: %+v", acks)
	}
}

// TestFlowAcknowledgesResentOnlyWhenAsked: an interchange re-sent in another
// file is not posted again; it is acknowledged again only with Resent.
func TestFlowAcknowledgesResentOnlyWhenAsked(t *testing.T) {
	for _, resent := range []bool{false, true} {
		dir := t.TempDir()
		led, err := ledger.Open(filepath.Join(dir, ".state"))
		if err != nil {
			t.Fatal(err)
		}
		em := &memEmitter{}
		keyed := newKeyed()
		run := func(name, body string) legacybridge.Summary {
			t.Helper()
			drop(t, dir, name, body)
			f := ediFlow(t, dir, em, led, nil, nil)
			f.Acks = &legacybridge.Acknowledgements{Topic: "acks", Resent: resent, Acknowledger: &x12.FlowAcks{Controls: keyed.x12}}
			s, err := f.RunOnce(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		if s := run("A.edi", interchange(21, "\n", "R1")); s.Events != 1 || s.Acks != 1 {
			t.Fatalf("first: %+v", s)
		}
		s := run("A_again.edi", interchange(21, "\r\n", "R1"))
		wantAcks := 0
		if resent {
			wantAcks = 1
		}
		if s.Events != 0 || s.Duplicates != 1 || s.Acks != wantAcks {
			t.Fatalf("resent=%v: re-sent file %+v, want no events and %d acknowledgements", resent, s, wantAcks)
		}
		if got := len(ackEvents(t, em.topic("acks"))); got != 1+wantAcks {
			t.Fatalf("resent=%v: %d acknowledgement events", resent, got)
		}
		led.Close()
	}
}

// counter is the value of the counter name whose labels include the given
// name/value pairs (0 when there is none).
func counter(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// TestFlowInterchangeRepeatedInFile: the same interchange twice in one
// file is posted and acknowledged once.
func TestFlowInterchangeRepeatedInFile(t *testing.T) {
	for _, edi := range []string{"x12", "edifact"} {
		dir := t.TempDir()
		led, err := ledger.Open(filepath.Join(dir, ".state"))
		if err != nil {
			t.Fatal(err)
		}
		em := &memEmitter{}
		keyed := newKeyed()
		f := ediFlow(t, dir, em, led, nil, nil)
		body := interchange(31, "\n", "X1", "X2")
		f.Acks = &legacybridge.Acknowledgements{Topic: "acks", Acknowledger: &x12.FlowAcks{Controls: keyed.x12}}
		if edi == "edifact" {
			body = strings.Join([]string{"UNB+UNOA:3+5412345000013:14+4012345000016:14+241202:0815+R31",
				"UNH+1+DESADV:D:96A:UN", "BGM+351+X1+9", "UNT+3+1", "UNH+2+DESADV:D:96A:UN", "BGM+351+X2+9", "UNT+3+2", "UNZ+2+R31"}, "'\n") + "'\n"
			f.Parser = edifact.Parser{}
			f.Acks.Acknowledger = &edifact.FlowAcks{Controls: keyed.edifact}
		}
		drop(t, dir, "TWICE.edi", body+body)
		s, err := f.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if s.Events != 2 || s.DuplicateRecords != 2 || s.Acks != 1 || s.Archived != 1 {
			t.Errorf("%s: summary %+v, want 2 events, 2 records not posted again, 1 acknowledgement, archived", edi, s)
		}
		if got := subjects(em.topic("events")); !slices.Equal(got, []string{"X1", "X2"}) {
			t.Errorf("%s: events %q", edi, got)
		}
		led.Close()
	}
}

// TestFlowAckControlNumbersNotSkipped: acknowledgements left out for a
// re-sent interchange take no control number.
func TestFlowAckControlNumbersNotSkipped(t *testing.T) {
	dir := t.TempDir()
	led, err := ledger.Open(filepath.Join(dir, ".state"))
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	em := &memEmitter{}
	keyed := newKeyed()
	run := func(name, body string) {
		t.Helper()
		drop(t, dir, name, body)
		f := ediFlow(t, dir, em, led, nil, nil)
		f.Acks = &legacybridge.Acknowledgements{Topic: "acks", Acknowledger: &x12.FlowAcks{Controls: keyed.x12}}
		if _, err := f.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	run("1.edi", interchange(41, "\n", "A"))
	run("2.edi", interchange(41, "\r\n", "A")+interchange(42, "\r\n", "B")) // 41 again: no 997 for it
	run("3.edi", interchange(43, "\n", "C"))
	var isa13 []string
	for _, a := range ackEvents(t, em.topic("acks")) {
		isa13 = append(isa13, a.ControlNumber)
	}
	if want := []string{"000000001", "000000002", "000000003"}; !slices.Equal(isa13, want) {
		t.Errorf("acknowledgements' ISA13 %q, want %q (none skipped)", isa13, want)
	}
}

// TestFlowAckRejectedInterchangeGetsTA1Only: a wrong IEA01 rejects the
// interchange: a TA1 R 021 reports it (though the profile asks for none),
// and no 997 says its sets were accepted.
func TestFlowAckRejectedInterchangeGetsTA1Only(t *testing.T) {
	dir := t.TempDir()
	em := &memEmitter{}
	f := ediFlow(t, dir, em, nil, nil, nil)
	f.Acks = &legacybridge.Acknowledgements{Acknowledger: &x12.FlowAcks{Controls: newKeyed().x12, Default: x12.AckProfile{TA1: "never"}}}
	drop(t, dir, "IEA.edi", strings.Replace(interchange(51, "\n", "S1"), "IEA*1*", "IEA*3*", 1))
	s, err := f.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	acks := ackEvents(t, em.topic("events"))
	if s.Events != 0 || s.Rejected != 1 || len(acks) != 1 || acks[0].Type != "TA1" || !strings.Contains(acks[0].Document, "*R*021~") {
		t.Fatalf("summary %+v, acknowledgements %+v", s, acks)
	}
}

// TestFlowTA1NotAnsweredWithTA1: an interchange holding only a TA1 (the
// partner acknowledging ours) is not acknowledged, even with ta1 always;
// it becomes a received acknowledgement and the file is archived.
func TestFlowTA1NotAnsweredWithTA1(t *testing.T) {
	dir := t.TempDir()
	em := &memEmitter{}
	f := ediFlow(t, dir, em, nil, nil, nil)
	am, err := acks.New()
	if err != nil {
		t.Fatal(err)
	}
	f.Mappers = append([]legacybridge.Mapper{am}, f.Mappers...)
	f.Acks = &legacybridge.Acknowledgements{Acknowledger: &x12.FlowAcks{Controls: newKeyed().x12, Default: x12.AckProfile{TA1: "always"}}}
	drop(t, dir, "TA1.edi", "ISA*00*          *00*          *ZZ*ACMEPARTS      *ZZ*NORTHWIND      *241202*0815*U*00401*000000061*0*P*>~\n"+
		"TA1*000000007*241201*0900*A*000~\nIEA*0*000000061~\n")
	s, err := f.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if acks := ackEvents(t, em.topic("events")); len(acks) != 0 {
		t.Fatalf("a TA1 was answered: %+v", acks)
	}
	evs := em.topic("events")
	if s.Archived != 1 || s.Events != 1 || len(evs) != 1 || header(evs[0], "ce_type") != legacybridge.AckReceivedEventType {
		t.Fatalf("summary %+v: want the TA1 as one received acknowledgement, archived", s)
	}
}

// TestFlowHugeRejectedSetDeadLetteredTruncated: a rejected set too large
// for a dead letter is dead-lettered as a summary (the file keeps it whole)
// so the reason is not lost to Kafka's message limit.
func TestFlowHugeRejectedSetDeadLetteredTruncated(t *testing.T) {
	dir := t.TempDir()
	em := &memEmitter{}
	f := ediFlow(t, dir, em, nil, nil, nil)
	f.Acks = &legacybridge.Acknowledgements{Acknowledger: &x12.FlowAcks{Controls: newKeyed().x12}}
	big := strings.Repeat("REF*ZZ*"+strings.Repeat("X", 60)+"~\n", 20000)
	body := interchange(71, "\n", "OK1", "BIG")
	body = strings.Replace(body, "BSN*00*BIG*20241202*0815~\n", "BSN*00*BIG*20241202*0815~\n"+big, 1) // SE01 now wrong
	drop(t, dir, "BIG.edi", body)
	s, err := f.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dl := em.topic("events.dlt")
	if s.Rejected != 1 || len(dl) != 1 || header(dl[0], "x-bridge-truncated") != "true" || len(dl[0].Value) > 1<<20 ||
		header(dl[0], "x-bridge-stage") != "acknowledgement" || !strings.Contains(header(dl[0], "x-bridge-error"), "SE01") {
		t.Fatalf("summary %+v; dead letters %d", s, len(dl))
	}
}
