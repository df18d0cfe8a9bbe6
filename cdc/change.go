package cdc

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Op is what happened to a row.
type Op string

const (
	OpInsert   Op = "insert"
	OpUpdate   Op = "update"
	OpDelete   Op = "delete"
	OpSnapshot Op = "snapshot" // the row as read by an initial or requested snapshot
)

// Image is a row image: upper-case column name → value. Values are nil (SQL
// NULL, distinct from ""), string, int64, json.Number (exact decimal),
// bool, time.Time (with an explicit zone), []byte, json.RawMessage,
// Skipped (a large object left out) or LOBRef (a large object in the
// LOBStore).
type Image map[string]any

// Change is one captured row change.
type Change struct {
	// Table is the record type: the table name without schema, upper case.
	Table string
	// Schema is the schema from config ("" when none was given).
	Schema string
	Op     Op
	// Key holds the key column values in KeyColumns order.
	Key        []any
	KeyColumns []string
	// Before is the row before the change, where the strategy knows it
	// (journal updates and deletes); nil otherwise.
	Before Image
	// After is the row after the change; nil for deletes.
	After Image
	// Pos is the source position of this change: stable for the same
	// change whenever it is read again, so it goes into the event id.
	// "j:SEQ@TIME" (journal), "p:CHANGE_COLUMN_VALUE" (polling),
	// "s:GENERATION" (snapshot), "d:LAST_POSITION" (delete found by key
	// reconciliation).
	Pos string
	// TxID is the source transaction id where known (PostgreSQL xid,
	// Oracle LOCAL_TRANSACTION_ID or XID); "" otherwise.
	TxID string
	// CommitTime is when the transaction committed, where the source
	// knows it (LogMiner); zero otherwise.
	CommitTime time.Time
	// ChangeTime is when the row changed at the source: the trigger's
	// statement time (journal) or the change column (polling); zero when
	// unknown (snapshots of rows without one, reconciled deletes).
	ChangeTime time.Time
}

// KeyString renders the key as a JSON array ([1001] or ["V1",5]).
func (c Change) KeyString() string { return keyString(c.Key) }

func keyString(key []any) string {
	b, err := json.Marshal(jsonValues(key))
	if err != nil {
		return "[?]"
	}
	return string(b)
}

// jsonValues renders values for JSON: times in RFC 3339 with their offset.
func jsonValues(vs []any) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = jsonValue(v)
	}
	return out
}

func jsonValue(v any) any {
	if t, ok := v.(time.Time); ok {
		return t.Format(time.RFC3339Nano)
	}
	return v
}

// Image returns the image that describes the row: After, or Before for a
// delete.
func (c Change) Image() Image {
	if c.Op == OpDelete {
		return c.Before
	}
	return c.After
}

// EventID derives the CloudEvents id of the eventIndex-th event mapped
// from c: a hash of the flow, the table, the key and the source position,
// so a change read again (after a restart before its position was stored)
// carries the same id.
func EventID(flow string, c Change, eventIndex int) string {
	h := sha256.New()
	for _, s := range []string{"cdc", flow, c.Schema, c.Table, c.KeyString(), c.Pos, strconv.Itoa(eventIndex)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// MarshalJSON renders the change record: op, table, key, before/after
// images (NULL as null, exact decimals as JSON numbers, times with their
// offset, skipped LOBs as {"skipped":...}), position, transaction id and
// times.
func (c Change) MarshalJSON() ([]byte, error) {
	type rec struct {
		Op         Op             `json:"op"`
		Schema     string         `json:"schema,omitempty"`
		Table      string         `json:"table"`
		Key        map[string]any `json:"key"`
		Before     Image          `json:"before,omitempty"`
		After      Image          `json:"after,omitempty"`
		Position   string         `json:"position"`
		TxID       string         `json:"txid,omitempty"`
		CommitTime *time.Time     `json:"commitTime,omitempty"`
		ChangeTime *time.Time     `json:"changeTime,omitempty"`
	}
	r := rec{Op: c.Op, Schema: c.Schema, Table: c.Table, Key: map[string]any{}, Before: c.Before, After: c.After, Position: c.Pos, TxID: c.TxID}
	for i, k := range c.KeyColumns {
		if i < len(c.Key) {
			r.Key[k] = c.Key[i]
		}
	}
	if !c.CommitTime.IsZero() {
		r.CommitTime = &c.CommitTime
	}
	if !c.ChangeTime.IsZero() {
		r.ChangeTime = &c.ChangeTime
	}
	return json.Marshal(r)
}

// lobRef returns the change's one referenced large object (in the image
// that describes the row): the event's CloudEvents dataref. A change with
// several has none (dataref names one location); their fields still hold
// each URI.
func (c Change) lobRef() (LOBRef, bool) {
	var ref LOBRef
	n := 0
	for _, v := range c.Image() {
		if r, ok := v.(LOBRef); ok {
			ref = r
			n++
		}
	}
	return ref, n == 1
}

// keyOf picks the key column values out of an image.
func keyOf(img Image, cols []string) []any {
	if img == nil {
		return nil
	}
	k := make([]any, len(cols))
	for i, c := range cols {
		k[i] = normKey(img[c])
	}
	return k
}

// upperKeys returns m with upper-case keys.
func upperKeys(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[strings.ToUpper(k)] = v
	}
	return out
}
