package cdc

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Strategy is how a table's changes are captured.
type Strategy string

const (
	// StrategyPoll queries the table on its change column and key. It
	// needs only SELECT; deletes are found by key reconciliation.
	StrategyPoll Strategy = "poll"
	// StrategyJournal reads the journal table the capture triggers fill
	// (see Install): every insert, update and delete with before and
	// after images; acknowledged journal rows are deleted.
	StrategyJournal Strategy = "journal"
	// StrategyLogMiner (Oracle only) is designed in cdc/oracle (SQL and
	// transaction buffer) but not yet accepted by NewSource.
	StrategyLogMiner Strategy = "logminer"
)

// LOBMode says what happens to CLOB/NCLOB/BLOB columns.
type LOBMode string

const (
	LOBSkip   LOBMode = "skip"   // not read; the image holds Skipped{"lob"}
	LOBInline LOBMode = "inline" // read whole into the change, up to Table.MaxLOBBytes
	// LOBReference streams the object in pieces into Config.LOBStore; the
	// change holds a LOBRef (the event a `dataref`), never the object.
	LOBReference LOBMode = "reference"
	// LOBInclude is the older name of LOBInline.
	LOBInclude LOBMode = "include"
)

// SnapshotMode says what happens the first time a table is captured.
type SnapshotMode string

const (
	// SnapshotInitial delivers every existing row (op snapshot) first,
	// then the changes after it, with no gap and no double between them.
	SnapshotInitial SnapshotMode = "initial"
	// SnapshotNone delivers only changes from now on.
	SnapshotNone SnapshotMode = "none"
)

// Table configures one captured table.
type Table struct {
	// Name is TABLE or SCHEMA.TABLE, plain identifiers (required). Its
	// upper-case name without schema is the record type.
	Name string
	// Key lists the primary key columns (required).
	Key []string
	// Strategy is StrategyPoll or StrategyJournal. Default StrategyPoll.
	Strategy Strategy
	// ChangeColumn is the date/time column every insert and update stamps
	// (EBS LAST_UPDATE_DATE). Required for polling.
	ChangeColumn string
	// CreatedColumn (polling, optional) is stamped on insert only (EBS
	// CREATION_DATE): a row whose CreatedColumn equals its ChangeColumn is
	// reported as an insert when the delivered keys do not say otherwise.
	// Default none.
	CreatedColumn string
	// Columns to capture. Default every column of the table.
	Columns []string
	// LOBs: LOBSkip, LOBInline or LOBReference. Default LOBSkip.
	LOBs LOBMode
	// MaxLOBBytes bounds an inline LOB; larger ones become
	// Skipped{"too-large"}. Default 1 MiB. References have no bound.
	MaxLOBBytes int64
	// LOBColumns are columns to treat as large objects besides those the
	// dialect knows as such (Oracle and SQLite CLOB/NCLOB/BLOB): e.g.
	// PostgreSQL text or bytea columns holding documents. Not key columns.
	LOBColumns []string
	// Snapshot: SnapshotInitial or SnapshotNone. Default SnapshotInitial.
	Snapshot SnapshotMode
	// Reconcile (polling) is how often the delivered keys are checked
	// against the table to find deleted rows. Default
	// Config.ReconcileEvery; negative disables it (and the key store).
	Reconcile time.Duration
}

// table is a Table at run time.
type table struct {
	cfg       Table
	name      Name
	typ       string
	quoted    string
	cols      []Column        // selected columns, in SELECT order
	skipped   []string        // LOB columns left out (LOBSkip)
	refs      []Column        // LOB columns read by reference (LOBReference)
	lobCols   map[string]bool // Table.LOBColumns
	kinds     map[string]Kind // every column of the table
	key       []keyCol
	keyNames  []string
	change    string
	chKind    Kind
	chCol     Column
	created   string
	selList   string
	reconcile time.Duration // <0: off
	maxLOB    int64

	state    tableState // read ahead of what is acknowledged
	attempts []attempt  // decoded coverage of journal snapshots
	jsnap    *journalSnap
	rec      *reconcileRun
	caughtUp time.Time
}

type attempt struct {
	from  []any
	spans []seqSpan
}

func (t *table) keyIndexed() bool { return t.cfg.Strategy == StrategyPoll && t.reconcile >= 0 }

// discover reads the table's columns and checks the config against them.
func (t *table) discover(ctx context.Context, db *sql.DB, d Dialect) error {
	all, err := Columns(ctx, db, d, t.name)
	if err != nil {
		return err
	}
	if err := t.configure(d, all); err != nil {
		return err
	}
	return CheckKey(ctx, db, d, t.name, t.cfg.Key)
}

// configure checks the config against the table's columns and prepares
// the SELECT list.
func (t *table) configure(d Dialect, all []Column) error {
	var err error
	t.quoted = t.name.Quoted(d)
	t.kinds = map[string]Kind{}
	all = append([]Column(nil), all...)
	known := map[string]bool{}
	for i, c := range all {
		known[c.Name] = true
		if t.lobCols[c.Name] && !c.Kind.IsLOB() {
			switch c.Kind {
			case KindText, KindBytes:
			default:
				return fmt.Errorf("cdc: table %s: lob_columns: %s is %s (%s); only text and binary columns can be large objects", t.name, c.Name, c.Kind, c.DBType)
			}
			all[i].Kind = KindLOB
			if c.Kind == KindBytes {
				all[i].Kind = KindBLOB
			}
		}
		t.kinds[c.Name] = all[i].Kind
	}
	for c := range t.lobCols {
		if !known[c] {
			return fmt.Errorf("cdc: table %s has no lob_columns column %s (columns: %s)", t.name, c, names(all))
		}
	}
	need := func(what, col string) (Kind, error) {
		k, ok := t.kinds[columnName(col)]
		if !ok {
			return 0, fmt.Errorf("cdc: table %s has no %s column %s (columns: %s)", t.name, what, col, names(all))
		}
		return k, nil
	}
	t.key = nil
	for _, k := range t.cfg.Key {
		kind, err := need("key", k)
		if err != nil {
			return err
		}
		if kind.IsLOB() || kind == KindFloat || kind == KindJSON {
			return fmt.Errorf("cdc: table %s: key column %s is %s (%s); use an exact key", t.name, k, kind, t.kinds[columnName(k)])
		}
		t.key = append(t.key, keyCol{name: columnName(k), kind: kind, order: d.OrderExpr(d.Quote(k), kind)})
	}
	if t.change != "" {
		if t.chKind, err = need("change", t.change); err != nil {
			return err
		}
		for _, c := range all {
			if c.Name == t.change {
				t.chCol = c
			}
		}
		if t.chKind != KindTime && t.chKind != KindTimeTZ {
			return fmt.Errorf("cdc: table %s: change column %s is %s, not a date/time; polling needs the date/time every insert and update stamps (or use the journal strategy)", t.name, t.change, t.kinds[t.change])
		}
	}
	if t.created != "" {
		if _, err := need("created", t.created); err != nil {
			return err
		}
	}
	want := map[string]bool{}
	for _, c := range t.cfg.Columns {
		if _, err := need("captured", c); err != nil {
			return err
		}
		want[columnName(c)] = true
	}
	for _, k := range t.keyNames {
		want[k] = true
	}
	if t.change != "" {
		want[t.change] = true
	}
	if t.created != "" {
		want[t.created] = true
	}
	t.cols, t.skipped, t.refs = nil, nil, nil
	var sel []string
	for _, c := range all {
		if len(t.cfg.Columns) > 0 && !want[c.Name] {
			continue
		}
		if c.Kind.IsLOB() && t.cfg.LOBs == LOBSkip {
			t.skipped = append(t.skipped, c.Name)
			continue
		}
		if c.Kind.IsLOB() && t.cfg.LOBs == LOBReference {
			if _, ok := d.(LOBReader); !ok {
				return fmt.Errorf("cdc: table %s: lobs: reference: dialect %s cannot read large objects in pieces; use skip or inline", t.name, d.Name())
			}
			t.refs = append(t.refs, c)
			continue
		}
		t.cols = append(t.cols, c)
		sel = append(sel, d.Quote(c.Name))
	}
	t.selList = strings.Join(sel, ", ")
	return nil
}

func names(cols []Column) string {
	s := make([]string, len(cols))
	for i, c := range cols {
		s[i] = c.Name
	}
	return strings.Join(s, ", ")
}

// scan reads one row of t.cols followed by extra values.
func (t *table) scan(rows *sql.Rows, extra int, loc *time.Location) (Image, []any, error) {
	vals := make([]any, len(t.cols)+extra)
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, nil, err
	}
	img := make(Image, len(t.cols)+len(t.skipped))
	for i, c := range t.cols {
		v, err := convert(c.Kind, vals[i], loc)
		if err != nil {
			return nil, nil, fmt.Errorf("column %s (%s): %w", c.Name, c.DBType, err)
		}
		if c.Kind.IsLOB() {
			v = t.capLOB(v)
		}
		img[c.Name] = v
	}
	for _, c := range t.skipped {
		img[c] = Skipped{Reason: "lob"}
	}
	return img, vals[len(t.cols):], nil
}

func (t *table) capLOB(v any) any {
	var n int64
	switch x := v.(type) {
	case string:
		n = int64(len(x))
	case []byte:
		n = int64(len(x))
	default:
		return v
	}
	if n > t.maxLOB {
		return Skipped{Reason: "too-large", Size: n}
	}
	return v
}

// decodeImage reads a journal image (JSON object) into an Image typed by
// the table's column kinds.
func (t *table) decodeImage(text string, loc *time.Location) (Image, error) {
	if text == "" {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("journal image is not a JSON object: %w", err)
	}
	if m == nil {
		return nil, nil
	}
	img := make(Image, len(m))
	for k, v := range m {
		name := columnName(k)
		kind, ok := t.kinds[name]
		if !ok {
			kind = KindText
			if _, isNum := v.(json.Number); isNum {
				kind = KindDecimal
			}
		}
		if len(t.cfg.Columns) > 0 && !t.wanted(name) {
			continue
		}
		if kind.IsLOB() && t.cfg.LOBs == LOBSkip {
			img[name] = Skipped{Reason: "lob"}
			continue
		}
		x, err := fromJSON(kind, v, loc)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", name, err)
		}
		if kind.IsLOB() && t.cfg.LOBs == LOBInline {
			x = t.capLOB(x)
		}
		// LOBReference: the value goes into the store (refJournalLOBs).
		img[name] = x
	}
	return img, nil
}

func (t *table) wanted(col string) bool {
	for _, cs := range [][]Column{t.cols, t.refs} {
		for _, c := range cs {
			if c.Name == col {
				return true
			}
		}
	}
	for _, c := range t.skipped {
		if c == col {
			return true
		}
	}
	return false
}

// covered reports whether journal row seq for key was already seen by
// the snapshot read that delivered key's row.
func (t *table) covered(seq int64, key []any) bool {
	for i := len(t.attempts) - 1; i >= 0; i-- {
		a := t.attempts[i]
		if a.from != nil && compareKeys(key, a.from) <= 0 {
			continue
		}
		return inSpans(a.spans, seq)
	}
	return false
}

func inSpans(spans []seqSpan, seq int64) bool {
	lo, hi := 0, len(spans)
	for lo < hi {
		m := (lo + hi) / 2
		switch {
		case seq < spans[m][0]:
			hi = m
		case seq > spans[m][1]:
			lo = m + 1
		default:
			return true
		}
	}
	return false
}

// toSpans compresses ascending sequence numbers into ranges.
func toSpans(seqs []int64) []seqSpan {
	var out []seqSpan
	for _, s := range seqs {
		if n := len(out); n > 0 && out[n-1][1]+1 == s {
			out[n-1][1] = s
			continue
		}
		out = append(out, seqSpan{s, s})
	}
	return out
}

func (t *table) decodeAttempts() error {
	t.attempts = nil
	if t.state.Snap == nil {
		return nil
	}
	for _, a := range t.state.Snap.Attempts {
		from, err := decodeValues(a.From)
		if err != nil {
			return err
		}
		t.attempts = append(t.attempts, attempt{from: from, spans: a.Seqs})
	}
	return nil
}

// encodeKey is the key as stored in the key index.
func encodeKey(key []any) []byte {
	b, _ := json.Marshal(encodeValues(key))
	return b
}

func decodeKey(b []byte) ([]any, error) {
	var ts []tagged
	if err := json.Unmarshal(b, &ts); err != nil {
		return nil, err
	}
	return decodeValues(ts)
}
