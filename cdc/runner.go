package cdc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"legacybridge"
)

// RecordFormat is the Record.Format of captured changes; mapping files
// match it (match.format: cdc) with the table name as match.type.
const RecordFormat = "cdc"

// HeartbeatType is the CloudEvents type of heartbeat events.
const HeartbeatType = "com.legacybridge.cdc.heartbeat.v1"

// ChangeSource is what a Runner reads; *Source is one.
type ChangeSource interface {
	Read(ctx context.Context) ([]Change, legacybridge.AckFunc, error)
	Close() error
}

// Statuser is implemented by sources that report per-table progress for
// heartbeats (*Source does).
type Statuser interface {
	Status() []TableStatus
}

// Runner moves captured changes through mappings to an emitter: each
// change becomes a legacybridge.Record (Format "cdc", Type = table), the
// first mapper that applies turns it into events, and a batch is
// acknowledged to the source only after the emitter (Kafka) accepted every
// message of it. Build it, then Run.
type Runner struct {
	Flow string // required
	// EventSource is the CloudEvents source. Default
	// "urn:legacybridge:cdc:" + Flow.
	EventSource string
	Topic       string // required
	// DeadLetter receives changes whose mapping fails (the record as JSON
	// with x-bridge-* headers). Empty: a failing change holds the flow
	// (retried with backoff, reported by Status) rather than being lost.
	DeadLetter string
	Source     ChangeSource          // required
	Mappers    []legacybridge.Mapper // required; tried in order
	Emitter    legacybridge.Emitter  // required
	// Heartbeat is how often a heartbeat event (type HeartbeatType, the
	// source's per-table lag) is emitted, changes or not. Default 30s;
	// negative disables heartbeats.
	Heartbeat time.Duration
	// HeartbeatTopic receives heartbeats. Default Topic.
	HeartbeatTopic string
	// RetryBackoff is the first wait after a failure; it doubles up to
	// 30s. Default 500ms.
	RetryBackoff time.Duration
	Logger       *slog.Logger // default slog.Default()
	// Now is the clock. Default time.Now.
	Now func() time.Time

	emitMu sync.Mutex // heartbeats and batches share the emitter
	mu     sync.Mutex
	stats  RunnerStats
	status string
}

// RunnerStats counts what a runner did.
type RunnerStats struct {
	Batches     int
	Changes     int
	Events      int
	Skipped     int // changes no mapping applies to
	DeadLetters int
	Heartbeats  int
	Failures    int       // failed attempts (read, map, emit, store)
	LastAck     time.Time // when the last batch was acknowledged
}

// Validate reports every missing piece.
func (r *Runner) Validate() error {
	var errs []error
	if r.Flow == "" {
		errs = append(errs, errors.New("cdc runner: no flow name"))
	}
	if r.Topic == "" {
		errs = append(errs, fmt.Errorf("cdc runner %q: no topic", r.Flow))
	}
	if r.Source == nil {
		errs = append(errs, fmt.Errorf("cdc runner %q: no source", r.Flow))
	}
	if len(r.Mappers) == 0 {
		errs = append(errs, fmt.Errorf("cdc runner %q: no mapping", r.Flow))
	}
	if r.Emitter == nil {
		errs = append(errs, fmt.Errorf("cdc runner %q: no emitter", r.Flow))
	}
	return errors.Join(errs...)
}

func (r *Runner) defaults() {
	if r.EventSource == "" {
		r.EventSource = "urn:legacybridge:cdc:" + r.Flow
	}
	if r.Heartbeat == 0 {
		r.Heartbeat = 30 * time.Second
	}
	if r.HeartbeatTopic == "" {
		r.HeartbeatTopic = r.Topic
	}
	if r.RetryBackoff <= 0 {
		r.RetryBackoff = 500 * time.Millisecond
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	r.Logger = r.Logger.With("flow", r.Flow)
	if r.Now == nil {
		r.Now = time.Now
	}
}

// Run captures until ctx is done. Read, mapping, emit and store failures
// are logged and retried with capped backoff; the batch comes again with
// the same event ids.
func (r *Runner) Run(ctx context.Context) error {
	if err := r.Validate(); err != nil {
		return err
	}
	r.defaults()
	var wg sync.WaitGroup
	if r.Heartbeat > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.heartbeats(ctx)
		}()
	}
	defer wg.Wait()
	backoff := r.RetryBackoff
	for {
		err := r.step(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			backoff = r.RetryBackoff
			r.setStatus("")
			continue
		}
		r.mu.Lock()
		r.stats.Failures++
		r.mu.Unlock()
		r.setStatus(err.Error())
		r.Logger.Error("change capture failed; retrying", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

// step reads, maps and emits one batch, then acknowledges it.
func (r *Runner) step(ctx context.Context) error {
	changes, ack, err := r.Source.Read(ctx)
	if err != nil {
		return err
	}
	msgs, skipped, dead, err := r.messages(changes)
	if err != nil {
		_ = ack(context.WithoutCancel(ctx), err)
		return err
	}
	var emitErr error
	if len(msgs) > 0 {
		r.emitMu.Lock()
		emitErr = r.Emitter.Emit(ctx, msgs...)
		r.emitMu.Unlock()
	}
	if err := ack(context.WithoutCancel(ctx), emitErr); err != nil {
		return fmt.Errorf("store position: %w", err)
	}
	if emitErr != nil {
		return fmt.Errorf("emit: %w", emitErr)
	}
	r.mu.Lock()
	r.stats.Batches++
	r.stats.Changes += len(changes)
	r.stats.Events += len(msgs) - dead
	r.stats.Skipped += skipped
	r.stats.DeadLetters += dead
	r.stats.LastAck = r.Now()
	r.mu.Unlock()
	return nil
}

// messages maps a batch. A change no mapping applies to is skipped; one
// whose mapping fails goes to the dead-letter topic, or fails the batch
// when there is none.
func (r *Runner) messages(changes []Change) (msgs []legacybridge.Message, skipped, dead int, err error) {
	for i, c := range changes {
		rec := RecordOf(c)
		rec.Pos.Index = i
		events, merr := r.mapRecord(rec)
		if errors.Is(merr, legacybridge.ErrNoMapping) {
			skipped++
			continue
		}
		if merr != nil {
			if r.DeadLetter == "" {
				return nil, 0, 0, fmt.Errorf("table %s key %s (%s at %s): mapping failed and the flow has no dead-letter topic; fix the mapping or set one: %w",
					c.Table, c.KeyString(), c.Op, c.Pos, merr)
			}
			r.Logger.Warn("change failed mapping; dead-lettered", "table", c.Table, "key", c.KeyString(), "position", c.Pos, "err", merr)
			msgs = append(msgs, r.deadLetter(c, rec, merr))
			dead++
			continue
		}
		for j, ev := range events {
			ev.ID = EventID(r.Flow, c, j)
			ev.Source = r.EventSource
			if ev.Time.IsZero() {
				ev.Time = firstTime(c.CommitTime, c.ChangeTime, r.Now())
			}
			if ev.Extensions == nil {
				ev.Extensions = map[string]string{}
			}
			ev.Extensions["cdcop"] = string(c.Op)
			ev.Extensions["cdctable"] = c.Table
			ev.Extensions["cdcposition"] = c.Pos
			if ref, ok := c.lobRef(); ok {
				ev.Extensions["dataref"] = ref.URI
			}
			msgs = append(msgs, ev.Message(r.Topic))
		}
	}
	return msgs, skipped, dead, nil
}

func firstTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

func (r *Runner) mapRecord(rec legacybridge.Record) ([]legacybridge.Event, error) {
	for _, m := range r.Mappers {
		if s, ok := m.(legacybridge.Skipper); ok && !s.Applies(rec) {
			continue
		}
		return m.Map(rec)
	}
	return nil, legacybridge.ErrNoMapping
}

func (r *Runner) deadLetter(c Change, rec legacybridge.Record, cause error) legacybridge.Message {
	v, _ := json.Marshal(c)
	h := []legacybridge.Header{
		{Key: "__connect.errors.exception.message", Value: []byte(cause.Error())},
		{Key: "__connect.errors.connector.name", Value: []byte(r.Flow)},
		{Key: "__connect.errors.stage", Value: []byte("mapping")},
		{Key: "x-bridge-flow", Value: []byte(r.Flow)},
		{Key: "x-bridge-stage", Value: []byte("mapping")},
		{Key: "x-bridge-error", Value: []byte(cause.Error())},
		{Key: "x-bridge-table", Value: []byte(c.Table)},
		{Key: "x-bridge-key", Value: []byte(c.KeyString())},
		{Key: "x-bridge-position", Value: []byte(c.Pos)},
		{Key: "ce_id", Value: []byte(EventID(r.Flow, c, -1))},
		{Key: "content-type", Value: []byte("application/json")},
	}
	return legacybridge.Message{Topic: r.DeadLetter, Key: []byte(c.Table + c.KeyString()), Headers: h, Value: v}
}

// RecordOf turns a change into the record mappings read:
//
//   - Format "cdc", Type the table name (upper case, no schema);
//   - Fields: the row image (the after image; for a delete the before
//     image, where known; the key columns always), column names upper case, NULL as nil (absent
//     to mappings), exact decimals as json.Number, dates as time.Time,
//     binary as hex text, skipped LOBs left out, referenced LOBs as their
//     URI in the LOB store; plus _OP (the operation)
//     and _BEFORE_<COLUMN> for each column of a before image;
//   - Envelope: op, table, schema, key (JSON), position, txid,
//     commit_time, change_time (RFC 3339);
//   - Pos.File = the table, Pos.Tag = the position.
func RecordOf(c Change) legacybridge.Record {
	img := c.Image()
	fields := make(map[string]any, len(img)+len(c.Before)+1)
	for k, v := range img {
		if v = fieldValue(v); v != nil {
			fields[k] = v
		}
	}
	if c.Op != OpDelete {
		for k, v := range c.Before {
			if v = fieldValue(v); v != nil {
				fields["_BEFORE_"+k] = v
			}
		}
	}
	// The key columns are always fields, also for a delete found by key
	// reconciliation, which knows no before image: mappings that build
	// the subject or partition key from them must see them.
	for i, k := range c.KeyColumns {
		if _, ok := fields[k]; ok || i >= len(c.Key) {
			continue
		}
		if v := fieldValue(c.Key[i]); v != nil {
			fields[k] = v
		}
	}
	fields["_OP"] = string(c.Op)
	env := map[string]string{
		"op":       string(c.Op),
		"table":    c.Table,
		"key":      c.KeyString(),
		"position": c.Pos,
	}
	if c.Schema != "" {
		env["schema"] = c.Schema
	}
	if c.TxID != "" {
		env["txid"] = c.TxID
	}
	if !c.CommitTime.IsZero() {
		env["commit_time"] = c.CommitTime.Format(time.RFC3339Nano)
	}
	if !c.ChangeTime.IsZero() {
		env["change_time"] = c.ChangeTime.Format(time.RFC3339Nano)
	}
	return legacybridge.Record{
		Format:   RecordFormat,
		Type:     c.Table,
		Pos:      legacybridge.Position{File: c.Table, Tag: c.Pos},
		Envelope: env,
		Fields:   fields,
	}
}

func fieldValue(v any) any {
	switch x := v.(type) {
	case Skipped:
		return nil
	case LOBRef:
		return x.URI
	case []byte:
		return hex.EncodeToString(x)
	case json.RawMessage:
		return string(x)
	}
	return v
}

// OnlyOps makes m apply only to changes with one of ops; with the
// inventory movement mapping, say, [insert, snapshot]: a costing update
// of a material transaction is not a second movement.
func OnlyOps(m legacybridge.Mapper, ops ...Op) legacybridge.Mapper {
	set := map[string]bool{}
	for _, o := range ops {
		set[string(o)] = true
	}
	return opFilter{m: m, ops: set}
}

type opFilter struct {
	m   legacybridge.Mapper
	ops map[string]bool
}

var (
	_ legacybridge.Mapper  = opFilter{}
	_ legacybridge.Skipper = opFilter{}
)

func (f opFilter) Applies(rec legacybridge.Record) bool {
	if !f.ops[rec.Envelope["op"]] {
		return false
	}
	if s, ok := f.m.(legacybridge.Skipper); ok {
		return s.Applies(rec)
	}
	return true
}

func (f opFilter) Map(rec legacybridge.Record) ([]legacybridge.Event, error) { return f.m.Map(rec) }

// heartbeats emits a heartbeat every r.Heartbeat until ctx is done.
func (r *Runner) heartbeats(ctx context.Context) {
	t := time.NewTicker(r.Heartbeat)
	defer t.Stop()
	for {
		if err := r.EmitHeartbeat(ctx); err != nil && ctx.Err() == nil {
			r.Logger.Warn("heartbeat not delivered", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Heartbeat is the data of a heartbeat event.
type Heartbeat struct {
	Flow    string        `json:"flow"`
	Time    time.Time     `json:"time"`
	LastAck time.Time     `json:"lastAck,omitzero"` // when Kafka last acknowledged a batch
	Healthy bool          `json:"healthy"`
	Status  string        `json:"status,omitempty"`
	Tables  []TableStatus `json:"tables,omitempty"`
	Stats   RunnerStats   `json:"stats"`
}

// EmitHeartbeat emits one heartbeat event now.
func (r *Runner) EmitHeartbeat(ctx context.Context) error {
	now := r.Now().UTC()
	ok, st := r.Status()
	hb := Heartbeat{Flow: r.Flow, Time: now, Healthy: ok, Status: st}
	r.mu.Lock()
	hb.Stats = r.stats
	hb.LastAck = r.stats.LastAck
	r.mu.Unlock()
	if s, ok := r.Source.(Statuser); ok {
		hb.Tables = s.Status()
	}
	data, err := json.Marshal(hb)
	if err != nil {
		return err
	}
	id := sha256.Sum256([]byte("heartbeat\x00" + r.Flow + "\x00" + strconv.FormatInt(now.UnixNano(), 10)))
	ev := legacybridge.Event{ID: hex.EncodeToString(id[:16]), Source: r.EventSource, Type: HeartbeatType,
		Subject: r.Flow, Time: now, Data: data}
	r.emitMu.Lock()
	err = r.Emitter.Emit(ctx, ev.Message(r.HeartbeatTopic))
	r.emitMu.Unlock()
	if err == nil {
		r.mu.Lock()
		r.stats.Heartbeats++
		r.mu.Unlock()
	}
	return err
}

// Stats returns the counters so far.
func (r *Runner) Stats() RunnerStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Status reports whether the runner is healthy: false while a failure is
// being retried, with the failure.
func (r *Runner) Status() (bool, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == "" {
		return true, "running"
	}
	return false, r.status
}

func (r *Runner) setStatus(s string) {
	r.mu.Lock()
	r.status = s
	r.mu.Unlock()
}
