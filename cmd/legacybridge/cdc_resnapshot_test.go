package main

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"legacybridge/internal/kafkabroker"
)

// TestCDCResnapshotReachesRunningBridge: 'cdc resnapshot' with the bridge
// stopped stores the request for the next start; with 'run' running (in
// process) it says the running bridge took it, and the bridge delivers
// every material transaction again under a second snapshot generation
// without being restarted, and nothing else.
func TestCDCResnapshotReachesRunningBridge(t *testing.T) {
	dir := t.TempDir()
	root := repoRoot(t)
	dbPath := filepath.Join(dir, "erp.db")
	if code, out, errOut := run(t, "erp", "simulate", "--dialect", "sqlite", "--dsn", dbPath, "--fixture", filepath.Join(root, "legacy-fixtures/erp"), "--steps", "20", "--seed", "3"); code != 0 {
		t.Fatalf("erp simulate: exit %d\n%s\n%s", code, out, errOut)
	}
	b, err := kafkabroker.Start(context.Background(), kafkabroker.Config{Listen: "127.0.0.1:0", DataDir: filepath.Join(dir, "kafka")})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cfg := writeCaptureConfig(t, dir, b.Addr(), dbPath, "")
	if code, out, errOut := run(t, "cdc", "install", "--config", cfg, "--flow", "erp-inventory", "--apply"); code != 0 {
		t.Fatalf("cdc install --apply: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut := run(t, "cdc", "resnapshot", "--config", cfg, "erp-inventory", "mtl_material_transactions")
	if code != 0 || !strings.Contains(out, "no bridge is running") || !strings.Contains(out, "starts when 'legacybridge run' next starts") {
		t.Fatalf("resnapshot, bridge stopped: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := run(t, "cdc", "resnapshot", "--config", cfg, "erp-inventory", "RCV_TRANSACTIONS"); code == 0 || !strings.Contains(errOut, "does not capture RCV_TRANSACTIONS") {
		t.Errorf("resnapshot of a table not captured: exit %d\n%s", code, errOut)
	}

	rows := len(transactionIDs(t, dbPath))
	// movements counts the events of material transactions (heartbeats
	// share the topic).
	movements := func() int {
		n := 0
		for _, m := range topicMessages(t, b.Addr(), "erp.inventory.movements") {
			if header(m, "ce_cdcop") != "" {
				n++
			}
		}
		return n
	}
	// snapshot generation → events, from the ce_cdcposition of snapshot events
	gens := func() ([]string, map[string]int) {
		var order []string
		n := map[string]int{}
		for _, m := range topicMessages(t, b.Addr(), "erp.inventory.movements") {
			if header(m, "ce_cdcop") != "snapshot" {
				continue
			}
			p := header(m, "ce_cdcposition")
			if n[p] == 0 {
				order = append(order, p)
			}
			n[p]++
		}
		sort.Strings(order) // generations start with their UTC start time
		return order, n
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		code      int
		out, errs string
	}
	done := make(chan result, 1)
	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !cond() {
			select {
			case r := <-done:
				t.Fatalf("run stopped while waiting for %s: exit %d\n%s\n%s", what, r.code, r.out, r.errs)
			default:
			}
			if time.Now().After(deadline) {
				g, n := gens()
				t.Fatalf("timed out waiting for %s (%d material transactions; snapshot generations %v, events %v)", what, rows, g, n)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	go func() {
		var o, e strings.Builder
		c := runMain(ctx, []string{"run", "--config", cfg}, &o, &e)
		done <- result{c, o.String(), e.String()}
	}()
	// Rows stamped within safety_lag of the first snapshot's start come by
	// the stream (op insert), the rest by the snapshot.
	wait("every material transaction once", func() bool {
		return movements() == rows
	})
	code, out, errOut = run(t, "cdc", "resnapshot", "--config", cfg, "--wait", "30s", "erp-inventory", "MTL_MATERIAL_TRANSACTIONS")
	if code != 0 || !strings.Contains(out, "the running bridge took the request") {
		t.Fatalf("resnapshot, bridge running: exit %d\n%s\n%s", code, out, errOut)
	}
	wait("the second snapshot", func() bool {
		g, n := gens()
		return len(g) == 2 && n[g[1]] == rows
	})
	cancel()
	select {
	case r := <-done:
		if r.code != 0 {
			t.Errorf("run: exit %d\n%s\n%s", r.code, r.out, r.errs)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop")
	}
	g, n := gens()
	if len(g) != 2 || n[g[1]] != rows {
		t.Errorf("snapshot generations %v with %v events, want 2, the second of all %d", g, n, rows)
	}
	if all := movements(); all != 2*rows {
		t.Errorf("%d events, want %d: each material transaction once before the re-snapshot, once by it", all, 2*rows)
	}
	t.Logf("%d material transactions delivered twice, generations %v", rows, g)
}
