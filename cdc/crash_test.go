package cdc_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	kafkago "github.com/segmentio/kafka-go"

	"legacybridge"
	"legacybridge/cdc"
	"legacybridge/cdc/internal/cdctest"
	"legacybridge/cdc/sqlite"
	"legacybridge/emitters/kafka"
	"legacybridge/internal/kafkabroker"
)

// TestMain lets the test binary double as a bridge process that a test
// kills with SIGKILL.
func TestMain(m *testing.M) {
	if os.Getenv("CDC_CRASH_CHILD") != "" {
		if err := crashChild(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// itemEvent maps an ITEMS change to an event with its id, version and
// operation; subject (and Kafka key) is the id.
type itemEvent struct{}

func (itemEvent) Map(r legacybridge.Record) ([]legacybridge.Event, error) {
	d, _ := json.Marshal(map[string]any{"id": r.Fields["ID"], "ver": r.Fields["VER"], "name": r.Fields["NAME"], "op": r.Envelope["op"], "key": r.Envelope["key"], "at": r.Fields["LAST_UPDATE_DATE"]})
	return []legacybridge.Event{{Type: "test.item.v1", Subject: r.Envelope["key"], Data: d}}, nil
}

// crashChild runs two flows over ITEMS (journal and polling) until it is
// killed.
func crashChild() error {
	db, err := sqlite.Open(os.Getenv("CDC_CRASH_DB"))
	if err != nil {
		return err
	}
	store, err := cdc.OpenStore(os.Getenv("CDC_CRASH_STATE"))
	if err != nil {
		return err
	}
	em, err := kafka.NewEmitter(kafka.Config{Brokers: []string{os.Getenv("CDC_CRASH_BROKER")}})
	if err != nil {
		return err
	}
	log := slog.New(slog.DiscardHandler)
	ctx := context.Background()
	errs := make(chan error, 2)
	for _, f := range []struct {
		flow  string
		table cdc.Table
	}{
		{"crash-journal", cdctest.JournalItems()},
		{"crash-poll", cdc.Table{Name: "ITEMS", Key: []string{"ID"}, ChangeColumn: "LAST_UPDATE_DATE", CreatedColumn: "CREATION_DATE", Reconcile: 100 * time.Millisecond}},
	} {
		src, err := cdc.NewSource(cdc.Config{Flow: f.flow, DB: db, Dialect: sqlite.Dialect{}, Store: store, Tables: []cdc.Table{f.table},
			BatchSize: 50, PollInterval: 10 * time.Millisecond, SafetyLag: 5 * time.Millisecond, Logger: log})
		if err != nil {
			return err
		}
		r := &cdc.Runner{Flow: f.flow, Topic: f.flow, Source: src, Emitter: em, Mappers: []legacybridge.Mapper{itemEvent{}},
			Heartbeat: -1, RetryBackoff: 10 * time.Millisecond, Logger: log}
		go func() { errs <- r.Run(ctx) }()
	}
	fmt.Println("ready")
	return <-errs
}

func startChild(t *testing.T, env []string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("child did not start: %q %v", line, err)
	}
	return cmd
}

type delivered struct {
	id, op, key, pos, at string
	ver                  int64
	name                 string
}

// readTopic reads every partition of topic from the start, each in
// offset order (one key stays on one partition).
func readTopic(t *testing.T, addr, topic string) [][]delivered {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var parts [][]delivered
	for p := range 4 {
		conn, err := kafkago.DialLeader(ctx, "tcp", addr, topic, p)
		if err != nil {
			t.Fatal(err)
		}
		last, err := conn.ReadLastOffset()
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		var got []delivered
		if last > 0 {
			r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{addr}, Topic: topic, Partition: p, MaxWait: 100 * time.Millisecond})
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					r.Close()
					t.Fatal(err)
				}
				var d struct {
					Op, Key, Name, At string
					Ver               int64
				}
				if err := json.Unmarshal(m.Value, &d); err != nil {
					t.Fatal(err)
				}
				id := ""
				pos := ""
				for _, h := range m.Headers {
					switch h.Key {
					case "ce_id":
						id = string(h.Value)
					case "ce_cdcposition":
						pos = string(h.Value)
					}
				}
				got = append(got, delivered{id: id, op: d.Op, key: d.Key, ver: d.Ver, name: d.Name, pos: pos, at: d.At})
				if m.Offset >= last-1 {
					break
				}
			}
			r.Close()
		}
		parts = append(parts, got)
	}
	return parts
}

func replay(parts [][]delivered) map[string]cdctest.Row {
	m := map[string]cdctest.Row{}
	for _, p := range parts {
		for _, d := range p {
			if d.op == "delete" {
				delete(m, d.key)
				continue
			}
			m[d.key] = cdctest.Row{Name: d.name, Ver: d.ver}
		}
	}
	return m
}

// TestKill9DuringStreaming: a bridge process streams ITEMS through the
// journal and by polling to Kafka while a writer inserts, updates and
// deletes; it is killed with SIGKILL mid-stream, four times, and started
// again each time. What
// Kafka holds then replays to exactly the table (nothing lost); a row
// version delivered twice carries one event id (duplicates only as
// identical-id redelivery); the journal flow has every version of every
// key, in order.
func TestKill9DuringStreaming(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	broker, err := kafkabroker.Start(context.Background(), kafkabroker.Config{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "erp.db")
	db, err := sqlite.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e := cdctest.SQLite()
	e.CreateItems(t, db)
	e.Install(t, db)
	e.Seed(t, db, 1, 51)
	env := []string{"CDC_CRASH_CHILD=1", "CDC_CRASH_DB=" + dbPath, "CDC_CRASH_STATE=" + filepath.Join(dir, "state"), "CDC_CRASH_BROKER=" + broker.Addr()}
	child := startChild(t, env)
	defer func() { child.Process.Kill(); child.Wait() }()

	var mu sync.Mutex
	writes := 0
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		rnd := rand.New(rand.NewPCG(1, 2))
		live := map[int]bool{}
		for i := 1; i <= 50; i++ {
			live[i] = true
		}
		for {
			select {
			case <-stop:
				return
			default:
			}
			id := 1 + rnd.IntN(120)
			var err error
			switch {
			case !live[id]:
				_, err = db.Exec(e.Q("INSERT INTO ITEMS (ID, NAME, QTY, NOTE, VER, CREATION_DATE, LAST_UPDATE_DATE) VALUES (?, ?, '1', NULL, 1, "+e.StmtNow+", "+e.StmtNow+")"), id, fmt.Sprintf("item %d", id))
				live[id] = true
			case rnd.IntN(8) == 0:
				_, err = db.Exec(e.Q("DELETE FROM ITEMS WHERE ID = ?"), id)
				delete(live, id)
			default:
				_, err = db.Exec(e.Q("UPDATE ITEMS SET NAME = ?, VER = VER + 1, LAST_UPDATE_DATE = "+e.Now+" WHERE ID = ?"), fmt.Sprintf("item %d at %d", id, rnd.IntN(1e6)), id)
			}
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			writes++
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	const kills = 4
	for i := range kills {
		time.Sleep(time.Duration(300+97*i) * time.Millisecond)
		child.Process.Signal(syscall.SIGKILL)
		child.Wait()
		time.Sleep(150 * time.Millisecond) // changes pile up while the bridge is down
		child = startChild(t, env)
	}
	time.Sleep(800 * time.Millisecond)
	close(stop)
	<-done
	mu.Lock()
	t.Logf("%d writes, %d SIGKILLs", writes, kills)
	mu.Unlock()

	want := e.Table(t, db)
	for k, r := range want { // the events carry name and version
		want[k] = cdctest.Row{Name: r.Name, Ver: r.Ver}
	}
	for _, topic := range []string{"crash-journal", "crash-poll"} {
		var parts [][]delivered
		deadline := time.Now().Add(30 * time.Second)
		for {
			parts = readTopic(t, broker.Addr(), topic)
			if cmp.Equal(want, replay(parts)) || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if diff := cmp.Diff(want, replay(parts)); diff != "" {
			t.Errorf("%s: what Kafka holds differs from the table (-table +kafka):\n%s", topic, diff)
		}
		// A row version is its key and change stamp: delivered twice (a
		// snapshot row again by the stream, a change again after the
		// restart), it must carry the same id.
		ids := map[string]string{}
		seen := map[string]bool{}
		n, again := 0, 0
		for _, p := range parts {
			last := map[string]int64{}
			for _, d := range p {
				n++
				if seen[d.id] {
					again++
				}
				seen[d.id] = true
				if d.op == "delete" {
					delete(last, d.key)
					continue
				}
				v := d.key + " stamped " + d.at
				if prev, ok := ids[v]; ok && prev != d.id {
					t.Errorf("%s: %s (version %d) delivered under two ids", topic, v, d.ver)
				}
				ids[v] = d.id
				if topic == "crash-journal" { // the journal has every version
					if p, ok := last[d.key]; ok && d.ver != p+1 && d.ver != p {
						t.Errorf("%s: %s went from version %d to %d", topic, d.key, p, d.ver)
					}
				}
				last[d.key] = d.ver
			}
		}
		t.Logf("%s: %d events, %d of them redelivered with an id already delivered", topic, n, again)
	}
}
