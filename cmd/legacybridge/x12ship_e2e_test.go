package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"legacybridge/internal/kafkabroker"
	"legacybridge/parsers/x12"
)

// TestX12ShipNoticeDeliveryKilled runs the 856 flow in, and an x12-856
// delivery back out to a partner folder, kills the bridge with SIGKILL in
// the middle of the delivery and runs it again: every shipment notice is
// one 856 file, the files written before the kill are byte for byte the
// same after the rerun, and ISA13 (and GS06, ST02) go up by one per event
// from start_control_number without a gap or a repeat. A third run with a
// new consumer group redelivers every event: every file is rewritten with
// the same bytes, the same control numbers, and none is taken.
func TestX12ShipNoticeDeliveryKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	root := repoRoot(t)
	b, err := kafkabroker.Start(context.Background(), kafkabroker.Config{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	dir := t.TempDir()
	drop, out := filepath.Join(dir, "drop"), filepath.Join(dir, "partner", "acme", "in")
	os.MkdirAll(drop, 0o755)
	const files, perFile, start = 60, 5, 48214
	const events = files * perFile
	old := time.Now().Add(-time.Hour)
	for i := 1; i <= files; i++ {
		p := filepath.Join(drop, fmt.Sprintf("ASN%04d.edi", i))
		os.WriteFile(p, []byte(asn(i, perFile)), 0o644)
		os.Chtimes(p, old, old)
	}
	cfgFor := func(group string) string {
		cfg := fmt.Sprintf(`
kafka: {brokers: [%q]}
state_dir: %q
flows:
  - name: asn-inbound
    source: {local: {dir: %q, pattern: "*.edi", poll_interval: 20ms}}
    parser: {format: x12}
    mapping: %q
    topic: shipments
    dead_letter_topic: shipments.dlt
deliveries:
  - name: acme-856
    topic: shipments
    group_id: %s
    format: x12-856
    name_template: 'ASN_{{.Subject}}{{.FileExt}}'
    x12:
      sender_id: NORTHWIND
      receiver_qualifier: "01"
      receiver_id: "123456789"
      application_receiver: ACMEPARTS
      start_control_number: %d
      delimiters: {suffix: "\n"}
    destination: {local: {dir: %q}}
`, b.Addr(), filepath.Join(dir, "state"), drop, filepath.Join(root, "legacy-fixtures/demo/mappings/x12-856-shipment-notice.yaml"),
			group, start, out)
		p := filepath.Join(dir, "lb-"+group+".yaml")
		if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg := cfgFor("acme-856")
	if out, err := exec.Command(bin, "validate", "--config", cfg).CombinedOutput(); err != nil {
		t.Fatalf("validate: %v\n%s", err, out)
	}

	// Run 1: killed once some, but not all, 856s are in the partner folder.
	cmd := exec.Command(bin, "run", "--config", cfg, "--once")
	logf, _ := os.Create(filepath.Join(dir, "run1.log"))
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		n, _ := filepath.Glob(filepath.Join(out, "*.edi"))
		if len(n) >= events/10 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			log, _ := os.ReadFile(filepath.Join(dir, "run1.log"))
			t.Fatalf("no 856 delivered in 2 minutes; log:\n%s", log)
		}
		time.Sleep(2 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	before := readFolder(t, out)
	if len(before) >= events {
		t.Fatalf("the run finished (%d files) before it was killed; the test proves nothing", len(before))
	}
	t.Logf("killed with %d of %d 856s delivered", len(before), events)

	// Run 2 finishes the delivery.
	run2, err := exec.Command(bin, "run", "--config", cfg, "--once").CombinedOutput()
	if err != nil {
		t.Fatalf("rerun: %v\n%s", err, run2)
	}
	after := readFolder(t, out)
	if len(after) != events {
		t.Fatalf("%d files after the rerun, want %d", len(after), events)
	}
	for name, content := range before {
		if after[name] != content {
			t.Errorf("%s changed in the rerun:\n%s\nnow:\n%s", name, content, after[name])
		}
	}
	rewritten := strings.Count(string(run2), `msg="file delivered"`) - (events - len(before))
	t.Logf("the rerun wrote %d files again that were in place before the kill (delivered, not yet committed)", rewritten)
	checkControlNumbers(t, after, start)

	// Run 3: a new consumer group gets every event again.
	run3, err := exec.Command(bin, "run", "--config", cfgFor("acme-856-again"), "--once").CombinedOutput()
	if err != nil {
		t.Fatalf("redelivery run: %v\n%s", err, run3)
	}
	if !strings.Contains(string(run3), fmt.Sprintf("%d files written", events)) {
		t.Fatalf("the redelivery run did not write every file again:\n%s", run3)
	}
	again := readFolder(t, out)
	if len(again) != events {
		t.Fatalf("%d files after redelivery, want %d", len(again), events)
	}
	changed := 0
	for name, content := range after {
		if again[name] != content {
			changed++
		}
	}
	if changed > 0 {
		t.Fatalf("%d of %d files differ after every event was redelivered", changed, events)
	}
}

// readFolder returns the 856 files of dir and their content.
func readFolder(t *testing.T, dir string) map[string]string {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "*.edi"))
	out := map[string]string{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(n)] = string(b)
	}
	return out
}

// checkControlNumbers parses every file and checks that ISA13, GS06 and
// ST02 run from start (ST02 from 1) without gaps or repeats, one
// interchange per file holding one 856 for its shipment.
func checkControlNumbers(t *testing.T, files map[string]string, start int) {
	t.Helper()
	var isa, gs, st []int
	for name, content := range files {
		d := x12.NewDecoder(strings.NewReader(content))
		tx, err := d.Decode()
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, content)
		}
		if _, err := d.Decode(); err != io.EOF {
			t.Fatalf("%s: more than one transaction set (%v)", name, err)
		}
		env := tx.Envelope
		if env.SetID != "856" || env.SenderID != "NORTHWIND" || env.ReceiverQualifier != "01" || env.ReceiverID != "123456789" ||
			env.AppReceiver != "ACMEPARTS" || env.Version != "00401" || env.GroupVersion != "004010" {
			t.Fatalf("%s: envelope %+v", name, env)
		}
		bsn := tx.Segments[1]
		if want := strings.TrimSuffix(strings.TrimPrefix(name, "ASN_"), ".edi"); bsn.Tag != "BSN" || bsn.Element(2).Value() != want {
			t.Fatalf("%s: %s02 %q, want the shipment %s", name, bsn.Tag, bsn.Element(2).Value(), want)
		}
		if !bytes.HasSuffix([]byte(content), []byte("~\n")) {
			t.Fatalf("%s: segments do not end with the configured suffix", name)
		}
		n := func(s string) int {
			v, err := strconv.Atoi(s)
			if err != nil {
				t.Fatalf("%s: control number %q: %v", name, s, err)
			}
			return v
		}
		isa, gs, st = append(isa, n(env.ControlNumber)), append(gs, n(env.GroupControlNumber)), append(st, n(env.SetControlNumber))
	}
	for _, c := range []struct {
		name  string
		got   []int
		first int
	}{{"ISA13", isa, start}, {"GS06", gs, start}, {"ST02", st, 1}} {
		sort.Ints(c.got)
		for i, v := range c.got {
			if v != c.first+i {
				t.Fatalf("%s: sorted, number %d is %d, want %d (a gap or a repeat): %v", c.name, i, v, c.first+i, c.got)
			}
		}
	}
	t.Logf("ISA13 %d..%d, one per event", isa[0], isa[len(isa)-1])
}
