package cdc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unicode/utf8"
)

// Large objects by reference (Table.LOBs = LOBReference).
//
// A CLOB/BLOB column (or a column listed in Table.LOBColumns) is not put
// into the change: it is read from the table in pieces (Dialect
// LOBReader: SQLite substr, PostgreSQL substring, Oracle DBMS_LOB.SUBSTR),
// each piece hashed and written to a temporary file of the LOBStore, and
// the file is renamed to its SHA-256 once complete and synced. The image
// then holds a LOBRef: the object's URI, hash and size. The runner sets it
// as the event's CloudEvents `dataref` (claim check) where the change
// holds exactly one reference; mappings see the URI as the column's field.
// The bridge holds one piece at a time, never the whole object.

// LOBRef stands for a large object kept in the LOBStore instead of the
// change.
type LOBRef struct {
	URI    string `json:"dataref"` // where it is: the store's base URL + sha256/xx/HASH
	SHA256 string `json:"sha256"`  // hex
	Size   int64  `json:"size"`    // bytes (a CLOB's UTF-8 text)
}

// LOBReader is implemented by dialects that read a large object in
// pieces.
type LOBReader interface {
	// LOBPiece renders the expression of n units of column col (quoted)
	// of kind k from the 1-based offset off. It binds off and n through
	// bind, which returns the placeholder, in the order they appear in
	// the text.
	LOBPiece(col string, k Kind, off, n int64, bind func(any) string) string
	// LOBPieceSize is how many units a piece asks for, and whether a unit
	// is a byte (else a character).
	LOBPieceSize(k Kind) (n int64, bytes bool)
}

// LOBStore keeps referenced large objects under DIR/sha256/XX/HASH,
// content-addressed: an object read again (a restart, an unchanged LOB of
// an updated row) is stored once.
type LOBStore struct {
	dir  string
	base string

	mu      sync.Mutex
	objects int64
	bytes   int64
	largest int // the largest piece written at once
}

// NewLOBStore opens (creating) dir. baseURL prefixes the references
// (e.g. an HTTP server or share that serves dir to consumers); "" is the
// file: URL of dir.
func NewLOBStore(dir, baseURL string) (*LOBStore, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("cdc: large object store %s: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Join(abs, "tmp"), 0o755); err != nil {
		return nil, fmt.Errorf("cdc: large object store: %w", err)
	}
	if baseURL == "" {
		baseURL = (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs) + "/"}).String()
	}
	if !strings.HasSuffix(baseURL, "/") {
		baseURL += "/"
	}
	return &LOBStore{dir: abs, base: baseURL}, nil
}

// Dir is the store's folder.
func (s *LOBStore) Dir() string { return s.dir }

// Path is the file of the object with hex SHA-256 sum.
func (s *LOBStore) Path(sum string) string {
	return filepath.Join(s.dir, "sha256", sum[:2], sum)
}

// LOBStats counts what a store took since it was opened.
type LOBStats struct {
	Objects      int64 // objects written (including ones it already had)
	Bytes        int64
	LargestPiece int // bytes written at once: the bridge's buffer, not the object
}

// Stats returns the counters.
func (s *LOBStore) Stats() LOBStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return LOBStats{Objects: s.objects, Bytes: s.bytes, LargestPiece: s.largest}
}

// lobWriter writes one object: a temporary file and its hash.
type lobWriter struct {
	s    *LOBStore
	f    *os.File
	h    hash.Hash
	size int64
}

func (s *LOBStore) create() (*lobWriter, error) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	f, err := os.OpenFile(filepath.Join(s.dir, "tmp", hex.EncodeToString(b[:])), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cdc: large object store: %w", err)
	}
	return &lobWriter{s: s, f: f, h: sha256.New()}, nil
}

func (w *lobWriter) Write(p []byte) (int, error) {
	w.h.Write(p)
	n, err := w.f.Write(p)
	w.size += int64(n)
	w.s.mu.Lock()
	w.s.largest = max(w.s.largest, len(p))
	w.s.mu.Unlock()
	return n, err
}

func (w *lobWriter) abort() {
	name := w.f.Name()
	w.f.Close()
	os.Remove(name)
}

// commit syncs the object and moves it to its content address; a copy
// already there is kept. The reference is valid once commit returns: the
// file and its folder entry are on disk.
func (w *lobWriter) commit() (LOBRef, error) {
	sum := hex.EncodeToString(w.h.Sum(nil))
	name := w.f.Name()
	err := w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return LOBRef{}, fmt.Errorf("cdc: large object store: %w", err)
	}
	final := w.s.Path(sum)
	if _, err := os.Stat(final); err == nil {
		os.Remove(name)
	} else {
		if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
			os.Remove(name)
			return LOBRef{}, fmt.Errorf("cdc: large object store: %w", err)
		}
		if err := os.Rename(name, final); err != nil {
			os.Remove(name)
			return LOBRef{}, fmt.Errorf("cdc: large object store: %w", err)
		}
		if d, err := os.Open(filepath.Dir(final)); err == nil {
			d.Sync()
			d.Close()
		}
	}
	w.s.mu.Lock()
	w.s.objects++
	w.s.bytes += w.size
	w.s.mu.Unlock()
	return LOBRef{URI: w.s.base + "sha256/" + sum[:2] + "/" + sum, SHA256: sum, Size: w.size}, nil
}

// put stores a value already in memory (a journal image that holds the
// LOB because its trigger copied it).
func (s *LOBStore) put(v any) (LOBRef, error) {
	var b []byte
	switch x := v.(type) {
	case string:
		b = []byte(x)
	case []byte:
		b = x
	default:
		return LOBRef{}, fmt.Errorf("cdc: large object of type %T", v)
	}
	w, err := s.create()
	if err != nil {
		return LOBRef{}, err
	}
	const piece = 1 << 20
	for len(b) > 0 {
		n := min(len(b), piece)
		if _, err := w.Write(b[:n]); err != nil {
			w.abort()
			return LOBRef{}, fmt.Errorf("cdc: large object store: %w", err)
		}
		b = b[n:]
	}
	return w.commit()
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// errRowGone: the row is no longer there (journal changes read their
// LOBs from the table by key).
var errRowGone = errors.New("row gone")

// streamLOB reads column c of the row with key in pieces into the store:
// nil for NULL, a LOBRef, or errRowGone.
func (s *Source) streamLOB(ctx context.Context, q queryer, t *table, c Column, key []any) (any, error) {
	lr, ok := s.d.(LOBReader)
	if !ok {
		return nil, fmt.Errorf("dialect %s cannot read large objects in pieces (lobs: reference)", s.d.Name())
	}
	if s.cfg.LOBStore == nil {
		return nil, errors.New("lobs: reference needs a large object store (Config.LOBStore)")
	}
	size, bytesUnit := lr.LOBPieceSize(c.Kind)
	var w *lobWriter
	for off := int64(1); ; off += size {
		a := &args{d: s.d}
		expr := lr.LOBPiece(s.d.Quote(c.Name), c.Kind, off, size, a.add)
		qc := s.d.Quote(c.Name)
		query := "SELECT CASE WHEN " + qc + " IS NULL THEN 1 ELSE 0 END, " + expr + " FROM " + t.quoted + " WHERE " + keyIn(a, t.key, [][]any{key})
		var isNull int64
		var piece any
		err := q.QueryRowContext(ctx, query, a.vals...).Scan(&isNull, &piece)
		if errors.Is(err, sql.ErrNoRows) {
			if w != nil {
				w.abort()
			}
			return nil, errRowGone
		}
		if err != nil {
			if w != nil {
				w.abort()
			}
			return nil, wrapErr(s.d, "lob", t.typ, fmt.Errorf("column %s: %w", c.Name, err))
		}
		if isNull == 1 {
			if w != nil { // set to NULL between two pieces: not in one read
				w.abort()
				return nil, &Error{Op: "lob", Table: t.typ, Err: fmt.Errorf("column %s became NULL while it was read; read again", c.Name)}
			}
			return nil, nil
		}
		if w == nil {
			if w, err = s.cfg.LOBStore.create(); err != nil {
				return nil, err
			}
		}
		var b []byte
		var units int64
		switch x := piece.(type) {
		case nil:
		case []byte:
			b = x
			units = int64(len(x))
		case string:
			b = []byte(x)
			units = int64(len(x))
			if !bytesUnit {
				units = int64(utf8.RuneCountInString(x))
			}
		default:
			w.abort()
			return nil, &Error{Op: "lob", Table: t.typ, Err: fmt.Errorf("column %s: a piece came as %T", c.Name, piece)}
		}
		if len(b) > 0 {
			if _, err := w.Write(b); err != nil {
				w.abort()
				return nil, &Error{Op: "lob", Table: t.typ, Err: fmt.Errorf("large object store: %w", err)}
			}
		}
		// An empty piece ends it; so does a short one counted in bytes
		// (characters may be counted otherwise by the database: Oracle
		// counts UTF-16 units, so a short piece of text is read past once).
		if units == 0 || (bytesUnit && units < size) {
			ref, err := w.commit()
			if err != nil {
				return nil, err
			}
			return ref, nil
		}
	}
}

// fillLOBs reads the referenced LOB columns of changes read from the
// table itself (poll, snapshot) within q, the read they came from.
func (s *Source) fillLOBs(ctx context.Context, q queryer, t *table, cs []Change) error {
	if len(t.refs) == 0 {
		return nil
	}
	for i := range cs {
		c := &cs[i]
		if c.After == nil {
			continue
		}
		for _, col := range t.refs {
			v, err := s.streamLOB(ctx, q, t, col, c.Key)
			if errors.Is(err, errRowGone) {
				// Cannot happen within the read the row came from; should
				// it, say so rather than guess.
				v, err = Skipped{Reason: "gone"}, nil
			}
			if err != nil {
				return err
			}
			c.After[col.Name] = v
		}
	}
	return nil
}

// refJournalLOBs turns the LOB columns of a journal change into
// references: values the trigger copied into the image are stored from
// memory; columns the trigger left out (`cdc install` omits LOB columns of
// tables with lobs skip or reference; Oracle BLOBs never fit JSON_OBJECT)
// are read from the table by key, in one consistent read: the row's
// content when the change is delivered, which a later change of the same
// row may already have replaced. A row deleted since leaves
// Skipped{"gone"}.
func (s *Source) refJournalLOBs(ctx context.Context, t *table, cs []Change) error {
	if len(t.refs) == 0 {
		return nil
	}
	var tx *sql.Tx
	defer func() {
		if tx != nil {
			tx.Rollback()
		}
	}()
	for i := range cs {
		c := &cs[i]
		for _, img := range []Image{c.Before, c.After} {
			for _, col := range t.refs {
				v, ok := img[col.Name]
				if !ok || v == nil {
					continue
				}
				if _, skipped := v.(Skipped); skipped {
					continue
				}
				ref, err := s.cfg.LOBStore.put(v)
				if err != nil {
					return &Error{Op: "lob", Table: t.typ, Err: err}
				}
				img[col.Name] = ref
			}
		}
		if c.After == nil {
			continue
		}
		for _, col := range t.refs {
			if _, ok := c.After[col.Name]; ok {
				continue
			}
			if tx == nil {
				var err error
				if tx, err = s.d.BeginSnapshot(ctx, s.db); err != nil {
					return wrapErr(s.d, "lob", t.typ, err)
				}
			}
			v, err := s.streamLOB(ctx, tx, t, col, c.Key)
			if errors.Is(err, errRowGone) {
				v, err = Skipped{Reason: "gone"}, nil
			}
			if err != nil {
				return err
			}
			c.After[col.Name] = v
		}
	}
	return nil
}
