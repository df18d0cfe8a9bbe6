package cdc_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"legacybridge"
	"legacybridge/cdc"
	"legacybridge/cdc/internal/cdctest"
	"legacybridge/emitters/kafka"
	"legacybridge/internal/kafkabroker"
)

// benchEnvs are the databases benchmarked; PostgreSQL when PG_DSN is set.
func benchEnvs() []cdctest.Env { return []cdctest.Env{cdctest.SQLite(), cdctest.Postgres()} }

func benchTable(strategy cdc.Strategy) cdc.Table {
	if strategy == cdc.StrategyJournal {
		return cdctest.JournalItems()
	}
	t := cdctest.Items()
	t.Reconcile = -1
	return t
}

// BenchmarkCapture measures changes per second read (and acknowledged:
// journal purge, position store) from the trigger journal and by
// polling, against a raw SELECT of the same rows in the same run
// (x-raw = capture rate / raw read rate).
func BenchmarkCapture(b *testing.B) {
	for _, e := range benchEnvs() {
		for _, strategy := range []cdc.Strategy{cdc.StrategyPoll, cdc.StrategyJournal} {
			b.Run(e.Dialect.Name()+"/"+string(strategy), func(b *testing.B) { benchCapture(b, e, strategy) })
		}
	}
}

func benchCapture(b *testing.B, e cdctest.Env, strategy cdc.Strategy) {
	const rows = 5000
	db := e.Open(b)
	e.CreateItems(b, db)
	if strategy == cdc.StrategyJournal {
		e.Install(b, db)
	}
	store, _ := cdctest.NewStore(b)
	src := e.Source(b, db, store, 500, benchTable(strategy))
	cdctest.Start(b, src)
	var capture, raw time.Duration
	next := 1
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		for i := next; i < next+rows; i += 250 {
			e.Seed(b, db, i, i+250)
		}
		t0 := time.Now()
		if n := rawRead(b, db, e, strategy, next); n != rows {
			b.Fatalf("raw read: %d rows, want %d", n, rows)
		}
		raw += time.Since(t0)
		next += rows
		b.StartTimer()
		t1 := time.Now()
		got := 0
		for got < rows {
			cs, ack, err := src.Read(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			if err := ack(context.Background(), nil); err != nil {
				b.Fatal(err)
			}
			got += len(cs)
		}
		capture += time.Since(t1)
	}
	b.ReportMetric(float64(b.N*rows)/capture.Seconds(), "changes/s")
	b.ReportMetric(float64(b.N*rows)/raw.Seconds(), "raw-rows/s")
	b.ReportMetric(raw.Seconds()/capture.Seconds(), "x-raw")
}

// rawRead reads the rows about to be captured with one plain query, into
// the same []any a driver hands over.
func rawRead(b *testing.B, db *sql.DB, e cdctest.Env, strategy cdc.Strategy, from int) int {
	q := e.Q("SELECT ID, NAME, QTY, NOTE, VER, CREATION_DATE, LAST_UPDATE_DATE FROM ITEMS WHERE ID >= ? ORDER BY LAST_UPDATE_DATE, ID")
	args := []any{from}
	if strategy == cdc.StrategyJournal {
		q, args = "SELECT * FROM LB_JOURNAL ORDER BY LB_SEQ", nil
	}
	rows, err := db.Query(q, args...)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return n
}

// idMapper maps an ITEMS change to an event keyed by the item id.
type idMapper struct{}

func (idMapper) Map(r legacybridge.Record) ([]legacybridge.Event, error) {
	d, _ := json.Marshal(r.Fields["NAME"])
	return []legacybridge.Event{{Type: "bench.item.v1", Subject: fmt.Sprint(r.Fields["ID"]), Data: d}}, nil
}

// ackClock records when Kafka acknowledged each item's event.
type ackClock struct {
	legacybridge.Emitter
	mu    sync.Mutex
	acked map[string]time.Time
}

func (a *ackClock) Emit(ctx context.Context, msgs ...legacybridge.Message) error {
	if err := a.Emitter.Emit(ctx, msgs...); err != nil {
		return err
	}
	now := time.Now()
	a.mu.Lock()
	for _, m := range msgs {
		if _, ok := a.acked[string(m.Key)]; !ok {
			a.acked[string(m.Key)] = now
		}
	}
	a.mu.Unlock()
	return nil
}

func (a *ackClock) at(key string) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.acked[key]
	return t, ok
}

// BenchmarkCommitToAck measures, at 1,000 changes/s (10-row transactions
// every 10 ms), the time from a transaction's commit to Kafka's
// acknowledgement of its events (in-process kfake broker, emitters/kafka
// with acks=all), median and p99, next to the broker's own produce
// latency for one message measured in the same run. The change column
// has millisecond (SQLite) or microsecond (PostgreSQL) precision, so the
// safety lag is 1 ms; with second-precision DATE columns the lag must be
// above a second, and polling latency grows by it (the journal's does
// not).
func BenchmarkCommitToAck(b *testing.B) {
	for _, e := range benchEnvs() {
		for _, strategy := range []cdc.Strategy{cdc.StrategyJournal, cdc.StrategyPoll} {
			b.Run(e.Dialect.Name()+"/"+string(strategy), func(b *testing.B) { benchLatency(b, e, strategy) })
		}
	}
}

func benchLatency(b *testing.B, e cdctest.Env, strategy cdc.Strategy) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	broker, err := kafkabroker.Start(ctx, kafkabroker.Config{Listen: "127.0.0.1:0", Discard: true})
	if err != nil {
		b.Fatal(err)
	}
	defer broker.Close()
	em, err := kafka.NewEmitter(kafka.Config{Brokers: []string{broker.Addr()}})
	if err != nil {
		b.Fatal(err)
	}
	defer em.Close()
	clock := &ackClock{Emitter: em, acked: map[string]time.Time{}}
	db := e.Open(b)
	e.CreateItems(b, db)
	if strategy == cdc.StrategyJournal {
		e.Install(b, db)
	}
	store, _ := cdctest.NewStore(b)
	src := e.SourceWith(b, cdc.Config{DB: db, Store: store, BatchSize: 500, PollInterval: 5 * time.Millisecond, SafetyLag: time.Millisecond, Tables: []cdc.Table{benchTable(strategy)}})
	r := &cdc.Runner{Flow: "bench", Topic: "bench.items", Source: src, Emitter: clock, Mappers: []legacybridge.Mapper{idMapper{}},
		Heartbeat: -1, RetryBackoff: 5 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()

	// Warm up (topic creation, connections, the empty snapshot).
	e.Insert(b, db, 0, "warm-up", "0", nil)
	waitAcked(b, clock, []string{"0"})
	produce := produceLatency(b, em)

	const perTx, every = 10, 10 * time.Millisecond
	n := max(b.N, 1000) // a second at least, so p99 means something
	commits := make(map[string]time.Time, n)
	var keys []string
	tick := time.NewTicker(every)
	defer tick.Stop()
	b.ResetTimer()
	start := time.Now()
	for id := 1; id <= n; {
		<-tick.C
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		first := id
		for ; id < first+perTx && id <= n; id++ {
			e.Insert(b, tx, id, "item "+strconv.Itoa(id), "1", nil)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		at := time.Now()
		for k := first; k < id; k++ {
			commits[strconv.Itoa(k)] = at
			keys = append(keys, strconv.Itoa(k))
		}
	}
	rate := float64(n) / time.Since(start).Seconds()
	waitAcked(b, clock, keys)
	b.StopTimer()
	lat := make([]time.Duration, 0, len(keys))
	for _, k := range keys {
		t, _ := clock.at(k)
		lat = append(lat, t.Sub(commits[k]))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(produce.Microseconds())/1000, "produce-p50-ms")
	b.ReportMetric(p50.Seconds()/produce.Seconds(), "x-produce")
	b.ReportMetric(rate, "written/s")
}

func waitAcked(b *testing.B, c *ackClock, keys []string) {
	deadline := time.Now().Add(60 * time.Second)
	for _, k := range keys {
		for {
			if _, ok := c.at(k); ok {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("event of item %s not acknowledged within 60 s", k)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// produceLatency is the median time the emitter takes to have one
// message acknowledged: the floor under commit-to-ack.
func produceLatency(b *testing.B, em *kafka.Emitter) time.Duration {
	var ds []time.Duration
	for i := range 100 {
		ev := legacybridge.Event{ID: strconv.Itoa(i), Source: "urn:bench", Type: "bench.v1", Subject: "p" + strconv.Itoa(i), Data: json.RawMessage(`"x"`)}
		t0 := time.Now()
		if err := em.Emit(context.Background(), ev.Message("bench.items")); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(t0))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2]
}
