package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"legacybridge/internal/kafkabroker"
)

// ackInterchange is an X12 interchange from PARTNERX with two 850s; bad
// makes the second one's SE01 wrong.
func ackInterchange(ctrl int, bad bool) string {
	po := func(st, id, se01 string) string {
		return "ST*850*" + st + "~\nBEG*00*SA*" + id + "**20241202~\nCUR*BY*USD~\nN1*BY*OURCO*92*OC01~\n" +
			"PO1*1*500*EA*0.142**BP*NW-77120~\nCTT*1~\nSE*" + se01 + "*" + st + "~\n"
	}
	se01 := "7"
	if bad {
		se01 = "9"
	}
	return fmt.Sprintf("ISA*00*          *00*          *ZZ*PARTNERX       *ZZ*OURCO          *241202*0815*U*00401*%09d*1*P*:~\n", ctrl) +
		fmt.Sprintf("GS*PO*PARTNERX*OURCO*20241202*0815*%d*X*004010~\n", ctrl) +
		po("0001", "PO-A", "7") + po("0002", "PO-B", se01) +
		fmt.Sprintf("GE*2*%d~\nIEA*1*%09d~\n", ctrl, ctrl)
}

// TestRunAcknowledgesAndDeliversAcks: the partner's file with one bad set
// gets a 997 rejecting that set (and a TA1, which ISA14 asks for) written
// to its outbound folder, with the partner's delimiters; the good set is
// posted; the next file's acknowledgements take the next control numbers,
// which persist across runs.
func TestRunAcknowledgesAndDeliversAcks(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a broker and two runs")
	}
	dir := t.TempDir()
	b, err := kafkabroker.Start(context.Background(), kafkabroker.Config{Listen: "127.0.0.1:0", DataDir: filepath.Join(dir, "kafka")})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	drop := filepath.Join(dir, "drop")
	out := filepath.Join(dir, "out")
	for _, d := range []string{drop, out} {
		os.MkdirAll(d, 0o755)
	}
	cfg := filepath.Join(dir, "lb.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`kafka: {brokers: [%q]}
state_dir: %s
flows:
  - name: partnerx
    source: {local: {dir: %s, poll_interval: 100ms, min_age: 0s}}
    parser: {format: x12}
    mapping: %s
    topic: px.edi
    dead_letter_topic: px.edi.dlt
    acknowledgements: {topic: px.acks, rules: [builtin]}
partners:
  - {name: px, standard: x12, id: PARTNERX, acknowledgement: "999", delimiters: {segment: "~", suffix: "\n"}}
deliveries:
  - name: px-acks
    topic: px.acks
    format: edi
    name_template: '{{.Partner}}_{{.ControlNumber}}{{.FileExt}}'
    partner_extension: partner
    control_number_extension: controlnumber
    destination: {local: {dir: %s}}
`, b.Addr(), filepath.Join(dir, "state"), drop, filepath.Join(repoRoot(t), "legacy-fixtures/demo/mappings/x12-850-purchase-order.yaml"), out)), 0o644)

	put := func(name, body string) {
		p := filepath.Join(drop, name)
		os.WriteFile(p, []byte(body), 0o644)
		old := time.Now().Add(-time.Minute)
		os.Chtimes(p, old, old)
	}
	put("PO1.edi", ackInterchange(101, true))
	code, stdout, stderr := run(t, "run", "--config", cfg, "--once")
	if code != 1 || !strings.Contains(stdout, "acknowledgements: 2 sent, 1 transaction sets rejected") || !strings.Contains(stdout, "1 quarantined") {
		t.Fatalf("first run: exit %d (want 1: a set was rejected)\n%s\n%s", code, stdout, stderr)
	}
	files := func() []string {
		es, _ := os.ReadDir(out)
		var n []string
		for _, e := range es {
			n = append(n, e.Name())
		}
		sort.Strings(n)
		return n
	}
	got := files()
	if len(got) != 2 {
		t.Fatalf("outbound folder: %q, want a TA1 and a 999", got)
	}
	var ack999, ta1 string
	for _, n := range got {
		b, _ := os.ReadFile(filepath.Join(out, n))
		switch {
		case strings.Contains(string(b), "ST*999*"):
			ack999 = string(b)
		case strings.Contains(string(b), "TA1*"):
			ta1 = string(b)
		}
	}
	for _, want := range []string{"ZZ*OURCO          *ZZ*PARTNERX       *", "*000000002*0*P*", "~\nGS*FA*OURCO*PARTNERX*",
		"AK1*PO*101*004010~\n", "AK2*850*0001~\nIK5*A~\n", "AK2*850*0002~\nIK5*R*4~\n", "AK9*P*2*2*1~\n"} {
		if !strings.Contains(ack999, want) {
			t.Errorf("999 lacks %q:\n%s", want, ack999)
		}
	}
	if !strings.Contains(ta1, "TA1*000000101*241202*0815*A*000~") {
		t.Errorf("TA1:\n%s", ta1)
	}
	posted := topicMessages(t, b.Addr(), "px.edi")
	if len(posted) != 1 || !strings.Contains(string(posted[0].Value), "PO-A") {
		t.Fatalf("posted %d events, want only PO-A's", len(posted))
	}
	if dl := topicMessages(t, b.Addr(), "px.edi.dlt"); len(dl) != 1 {
		t.Fatalf("%d dead letters, want the rejected set", len(dl))
	}

	// The corrected set, re-sent in a new interchange: accepted, and its
	// acknowledgements take the next numbers.
	put("PO2.edi", ackInterchange(102, false))
	code, stdout, stderr = run(t, "run", "--config", cfg, "--once")
	if code != 0 || !strings.Contains(stdout, "acknowledgements: 2 sent, 0 transaction sets rejected") {
		t.Fatalf("second run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	got = files()
	if len(got) != 4 {
		t.Fatalf("outbound folder: %q, want two more acknowledgements", got)
	}
	var next string
	for _, n := range got {
		b, _ := os.ReadFile(filepath.Join(out, n))
		if strings.Contains(string(b), "AK1*PO*102") {
			next = string(b)
		}
	}
	if !strings.Contains(next, "AK9*A*2*2*2~") || !strings.Contains(next, "*000000004*0*P*") {
		t.Errorf("second 999 (want ISA13 4: after the first file's TA1 and 999 and this file's TA1):\n%s", next)
	}

	// A set breaking a rule of the 850 (BEG05 is not a date, BEG01 not a
	// purpose code) is rejected with the segment and elements named.
	put("PO3.edi", strings.Replace(strings.Replace(ackInterchange(103, false), "BEG*00*SA*PO-B**20241202", "BEG*XQ*SA*PO-B**20241399", 1), "PO-A", "PO-C", 1))
	code, stdout, stderr = run(t, "run", "--config", cfg, "--once")
	if code != 1 || !strings.Contains(stdout, "1 transaction sets rejected") {
		t.Fatalf("third run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	var third string
	for _, n := range files() {
		b, _ := os.ReadFile(filepath.Join(out, n))
		if strings.Contains(string(b), "AK1*PO*103") {
			third = string(b)
		}
	}
	for _, want := range []string{"AK2*850*0002~\nIK3*BEG*2**8~\nIK4*1*353*7*XQ~\nIK4*5*373*8*20241399~\nIK5*R*5~", "AK9*P*2*2*1~"} {
		if !strings.Contains(third, want) {
			t.Errorf("third 999 lacks %q:\n%s", want, third)
		}
	}
}
