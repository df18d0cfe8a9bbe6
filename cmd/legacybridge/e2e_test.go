package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"legacybridge"
	"legacybridge/internal/kafkabroker"
)

// buildBinary compiles the command once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "legacybridge")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func repoRoot(t *testing.T) string {
	t.Helper()
	wd, _ := os.Getwd()
	return filepath.Dir(filepath.Dir(wd))
}

// asn writes one X12 interchange with n ship notices; ids are unique per file.
func asn(file, n int) string {
	var b strings.Builder
	isa := fmt.Sprintf("ISA*00*          *00*          *ZZ*%-15s*ZZ*%-15s*241202*0815*U*00401*%09d*0*P*>~\n", "ACMEPARTS", "NORTHWIND", file)
	b.WriteString(isa)
	fmt.Fprintf(&b, "GS*SH*ACMEPARTS*NORTHWIND*20241202*0815*%d*X*004010~\n", file)
	for i := 1; i <= n; i++ {
		segs := []string{
			fmt.Sprintf("ST*856*%04d", i),
			fmt.Sprintf("BSN*00*SHP%05d%03d*20241202*0805*0001", file, i),
			"HL*1**S",
			"TD1*CTN25*2****G*48.5*LB",
			"TD5*B*2*ODFL*M*OLD DOMINION FREIGHT",
			"N1*SF*ACME PRECISION PARTS PLANT 2*92*PLT02",
			"N1*ST*NORTHWIND ASSEMBLY DC*92*DC07",
			"HL*2*1*O",
			fmt.Sprintf("PRF*45%08d***20241128", file*100+i),
			"HL*3*2*I",
			"LIN*1*BP*NW-90551*VP*AC-90551",
			"SN1**16*EA",
			"CTT*3",
		}
		segs = append(segs, fmt.Sprintf("SE*%d*%04d", len(segs)+1, i))
		b.WriteString(strings.Join(segs, "~\n") + "~\n")
	}
	fmt.Fprintf(&b, "GE*%d*%d~\nIEA*1*%09d~\n", n, file, file)
	return b.String()
}

func writeConfig(t *testing.T, dir, brokers, root string) string {
	t.Helper()
	cfg := fmt.Sprintf(`
kafka:
  brokers: [%q]
state_dir: %q
flows:
  - name: asn-inbound
    source:
      local: {dir: %q, pattern: "*.edi", poll_interval: 20ms}
    parser: {format: x12}
    mapping: %q
    topic: shipments
    dead_letter_topic: shipments.dlt
`, brokers, filepath.Join(dir, "state"), filepath.Join(dir, "drop"),
		filepath.Join(root, "legacy-fixtures/demo/mappings/x12-856-shipment-notice.yaml"))
	p := filepath.Join(dir, "lb.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readAll reads every record of topic from all partitions.
func readAll(t *testing.T, brokers, topic string, want int) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := kafkago.DialContext(ctx, "tcp", brokers)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for _, p := range parts {
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{brokers}, Topic: topic, Partition: p.ID, MaxWait: 250 * time.Millisecond})
		pc, _ := kafkago.DialLeader(ctx, "tcp", brokers, topic, p.ID)
		last, _ := pc.ReadLastOffset()
		pc.Close()
		for off := int64(0); off < last; off++ {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatalf("partition %d offset %d: %v", p.ID, off, err)
			}
			for _, h := range m.Headers {
				if h.Key == "ce_id" {
					ids[string(h.Value)]++
				}
			}
		}
		r.Close()
	}
	return ids
}

// TestKill9MidRun drops 200 files, kills the process with SIGKILL in the
// middle of the run, reruns, and checks every transaction's event is in
// Kafka: duplicates only with identical ce_id, none missing.
func TestKill9MidRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	t.Run("external-broker", func(t *testing.T) { kill9MidRun(t, bin, false) })
	// The default: the bridge's own embedded broker, killed with it.
	t.Run("embedded-broker", func(t *testing.T) { kill9MidRun(t, bin, true) })
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func kill9MidRun(t *testing.T, bin string, embedded bool) {
	root := repoRoot(t)
	ctx := context.Background()
	dir := t.TempDir()
	var brokerAddr, cfgBrokers string
	if embedded {
		brokerAddr = freePort(t)
		cfgBrokers = "embedded"
	} else {
		b, err := kafkabroker.Start(ctx, kafkabroker.Config{Listen: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		brokerAddr, cfgBrokers = b.Addr(), b.Addr()
	}
	drop := filepath.Join(dir, "drop")
	os.MkdirAll(drop, 0o755)
	const files, perFile = 200, 5
	want := map[string]bool{}
	old := time.Now().Add(-time.Hour)
	for i := 1; i <= files; i++ {
		body := asn(i, perFile)
		p := filepath.Join(drop, fmt.Sprintf("ASN%04d.edi", i))
		os.WriteFile(p, []byte(body), 0o644)
		os.Chtimes(p, old, old)
		sum := sha256.Sum256([]byte(body))
		for j := 0; j < perFile; j++ {
			want[legacybridge.EventID("asn-inbound", hex.EncodeToString(sum[:]), j, 0)] = true
		}
	}
	cfg := writeConfig(t, dir, cfgBrokers, root)
	if embedded {
		b, _ := os.ReadFile(cfg)
		b = []byte(strings.Replace(string(b), "kafka:\n", "kafka:\n  embedded_listen: "+brokerAddr+"\n", 1))
		os.WriteFile(cfg, b, 0o644)
	}

	cmd := exec.Command(bin, "run", "--config", cfg, "--once")
	cmd.Stderr, cmd.Stdout = os.Stderr, nil
	logf, _ := os.Create(filepath.Join(dir, "run1.log"))
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill once some, but not all, files are archived.
	deadline := time.Now().Add(60 * time.Second)
	for {
		n, _ := filepath.Glob(filepath.Join(drop, "archive", "*", "*.edi"))
		if len(n) >= 40 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no progress in 60 s; log: %s", filepath.Join(dir, "run1.log"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	archived, _ := filepath.Glob(filepath.Join(drop, "archive", "*", "*.edi"))
	if len(archived) >= files {
		t.Fatalf("the run finished (%d archived) before it was killed; the test proves nothing", len(archived))
	}
	t.Logf("killed after %d of %d files archived", len(archived), files)

	out, err := exec.Command(bin, "run", "--config", cfg, "--once").CombinedOutput()
	if err != nil {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
	archived, _ = filepath.Glob(filepath.Join(drop, "archive", "*", "*.edi"))
	left, _ := filepath.Glob(filepath.Join(drop, "processing", "*"))
	if len(archived) != files || len(left) != 0 {
		t.Fatalf("after rerun: %d archived, %d left in processing/", len(archived), len(left))
	}
	if embedded {
		// The bridge has exited; serve the data its embedded broker left.
		b, err := kafkabroker.Start(ctx, kafkabroker.Config{Listen: "127.0.0.1:0", DataDir: filepath.Join(dir, "state", "kafka")})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		brokerAddr = b.Addr()
	}
	got := readAll(t, brokerAddr, "shipments", len(want))
	dups := 0
	for id, n := range got {
		if !want[id] {
			t.Errorf("unexpected ce_id %s in Kafka", id)
		}
		dups += n - 1
	}
	missing := 0
	for id := range want {
		if got[id] == 0 {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d events missing after kill -9 and rerun", missing, len(want))
	}
	t.Logf("%d events present, %d redelivered duplicates (same ce_id)", len(want), dups)

	// A third run finds nothing new.
	out, err = exec.Command(bin, "run", "--config", cfg, "--once").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "0 archived") {
		t.Fatalf("third run: %v\n%s", err, out)
	}
}

// TestRunUntilSIGTERM runs without --once: files dropped while it runs are
// delivered, and SIGTERM stops it cleanly (exit 0).
func TestRunUntilSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	root := repoRoot(t)
	bin := buildBinary(t)
	b, err := kafkabroker.Start(context.Background(), kafkabroker.Config{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	dir := t.TempDir()
	drop := filepath.Join(dir, "drop")
	os.MkdirAll(drop, 0o755)
	cfg := writeConfig(t, dir, b.Addr(), root)
	cmd := exec.Command(bin, "run", "--config", cfg)
	logf, _ := os.Create(filepath.Join(dir, "run.log"))
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Written while the bridge runs: picked up once stable.
	os.WriteFile(filepath.Join(drop, "late.edi"), []byte(asn(7, 3)), 0o644)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if n, _ := filepath.Glob(filepath.Join(drop, "archive", "*", "late.edi")); len(n) == 1 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			b, _ := os.ReadFile(filepath.Join(dir, "run.log"))
			t.Fatalf("late.edi not delivered within 30 s; log:\n%s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatal("did not stop within 15 s of SIGTERM")
	}
	got := readAll(t, b.Addr(), "shipments", 3)
	if len(got) != 3 {
		t.Fatalf("%d events, want 3", len(got))
	}
}
