package kafkabroker

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary double as a broker process, so a test can
// kill it with SIGKILL.
func TestMain(m *testing.M) {
	if dir := os.Getenv("KAFKABROKER_TEST_CHILD_DATA"); dir != "" {
		b, err := Start(context.Background(), Config{Listen: "127.0.0.1:0", DataDir: dir})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(b.Addr())
		select {} // until killed
	}
	os.Exit(m.Run())
}

// TestSurvivesKill9 produces to auto-created topics of a broker process,
// kills it with SIGKILL (no clean shutdown), restarts on the same data dir
// and reads every acknowledged record and committed offset back.
func TestSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "KAFKABROKER_TEST_CHILD_DATA="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	buf := make([]byte, 64)
	n, err := out.Read(buf)
	if err != nil {
		t.Fatalf("child broker did not start: %v", err)
	}
	addr := strings.TrimSpace(string(buf[:n]))
	write(t, addr, "crash.a", 0, 50)
	write(t, addr, "crash.b", 0, 30)
	write(t, addr, "crash.a", 50, 25)
	got := consume(t, addr, "crash.a", "g1", 75, 100*time.Millisecond)
	if len(got) != 75 {
		t.Fatalf("before the kill: %d records", len(got))
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	b := start(t, Config{DataDir: dir})
	defer b.Close()
	if got := consume(t, b.Addr(), "crash.b", "fresh-b", 30, 300*time.Millisecond); len(got) != 30 {
		t.Fatalf("crash.b after kill -9: %d of 30 records", len(got))
	}
	if got := consume(t, b.Addr(), "crash.a", "fresh-a", 75, 300*time.Millisecond); len(got) != 75 {
		t.Fatalf("crash.a after kill -9: %d of 75 records", len(got))
	}
	// g1 committed everything before the kill: it sees only new records.
	write(t, b.Addr(), "crash.a", 75, 3)
	if got := consume(t, b.Addr(), "crash.a", "g1", 3, 300*time.Millisecond); len(got) != 3 {
		t.Fatalf("g1 after kill -9: %v, want only the 3 new records", got)
	}
}
