package cdc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Re-snapshots of a running capture.
//
// A running bridge holds STATE_DIR/cdc.db locked (bbolt allows one
// process), so `legacybridge cdc resnapshot` cannot write its request
// there. It drops a request file instead:
//
//	STATE_DIR/cdc-requests/FLOW/TABLE.resnapshot
//
// and every Read of the flow's source looks into that folder (one
// directory listing per poll). A request it takes is first stored in
// cdc.db (a key of its own, so the acknowledgement of a batch read before
// the request cannot overwrite it), then the file is removed: a crash
// after the take still starts the snapshot at the next start. A request
// for a table the running capture does not have becomes TABLE.rejected,
// holding the reason. The command watches the file go away to tell
// whether a running bridge took it.
//
// Why not a signal table in the source database (Debezium's signalling
// table)? It needs INSERT on the ERP database for whoever asks and a
// table the DBA creates and grants, against the issue's "without
// DBA-heavy setup"; and polling needs only SELECT. The request concerns
// the bridge's own state, so it goes through the bridge's own folder.

// RequestDir is the folder of the re-snapshot requests of flow.
func RequestDir(stateDir, flow string) string {
	return filepath.Join(stateDir, "cdc-requests", flow)
}

const (
	requestSuffix  = ".resnapshot"
	rejectedSuffix = ".rejected"
)

// ResnapshotState says what became of a request.
type ResnapshotState int

const (
	// ResnapshotStored: no process held cdc.db; the request is stored in
	// it and the snapshot starts when the capture next starts.
	ResnapshotStored ResnapshotState = iota
	// ResnapshotTaken: a running capture took the request; the snapshot
	// starts once the table's batches in flight are acknowledged.
	ResnapshotTaken
	// ResnapshotQueued: a process holds cdc.db but no running capture
	// took the request within the wait; the request file stays and is
	// taken when the capture polls next or starts.
	ResnapshotQueued
)

// ResnapshotResult is the outcome of Resnapshot.
type ResnapshotResult struct {
	State ResnapshotState
	// File is the request file (ResnapshotTaken, ResnapshotQueued).
	File string
}

// Resnapshot asks for a new snapshot of table of flow, whose positions
// are in stateDir/cdc.db: directly in cdc.db when no bridge holds it,
// otherwise through a request file that the running capture takes at its
// next poll, waiting up to wait for it to do so.
func Resnapshot(ctx context.Context, stateDir, flow, table string, wait time.Duration) (ResnapshotResult, error) {
	n, err := ParseName(table)
	if err != nil {
		return ResnapshotResult{}, fmt.Errorf("cdc: resnapshot: %w", err)
	}
	typ := n.Type()
	store, err := openStore(stateDir, 200*time.Millisecond)
	switch {
	case err == nil:
		defer store.Close()
		if err := store.RequestResnapshot(flow, typ); err != nil {
			return ResnapshotResult{}, err
		}
		return ResnapshotResult{State: ResnapshotStored}, nil
	case !errors.Is(err, ErrStoreLocked):
		return ResnapshotResult{}, err
	}
	dir := RequestDir(stateDir, flow)
	file := filepath.Join(dir, typ+requestSuffix)
	rejected := filepath.Join(dir, typ+rejectedSuffix)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ResnapshotResult{}, fmt.Errorf("cdc: resnapshot: request folder: %w", err)
	}
	_ = os.Remove(rejected) // an answer to an earlier request
	if err := writeFileAtomic(file, []byte(time.Now().UTC().Format(time.RFC3339Nano)+"\n")); err != nil {
		return ResnapshotResult{}, fmt.Errorf("cdc: resnapshot: write request %s: %w", file, err)
	}
	deadline := time.Now().Add(wait)
	for {
		if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
			if why, err := os.ReadFile(rejected); err == nil {
				_ = os.Remove(rejected)
				return ResnapshotResult{}, fmt.Errorf("cdc: the running capture %s refused the re-snapshot of %s: %s", flow, typ, strings.TrimSpace(string(why)))
			}
			return ResnapshotResult{State: ResnapshotTaken, File: file}, nil
		}
		if !time.Now().Before(deadline) {
			return ResnapshotResult{State: ResnapshotQueued, File: file}, nil
		}
		select {
		case <-ctx.Done():
			return ResnapshotResult{State: ResnapshotQueued, File: file}, ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// writeFileAtomic writes path through a temporary file in its folder and
// a rename, so a reader never sees it half written.
func writeFileAtomic(path string, data []byte) error {
	var b [6]byte
	_, _ = rand.Read(b[:])
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-"+hex.EncodeToString(b[:]))
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// takeRequests takes the request files of the flow (see Resnapshot). A
// request is stored in cdc.db before its file is removed. Problems with
// the folder are logged, never fatal to the capture.
func (s *Source) takeRequests() {
	dir := RequestDir(s.cfg.Store.Dir(), s.cfg.Flow)
	ents, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) && !s.requestDirWarned {
			s.requestDirWarned = true
			s.log.Warn("cannot read the re-snapshot request folder; requests of 'legacybridge cdc resnapshot' are not taken while this lasts", "dir", dir, "err", err)
		}
		return
	}
	s.requestDirWarned = false
	for _, e := range ents {
		name := e.Name()
		typ, ok := strings.CutSuffix(name, requestSuffix)
		if !ok || strings.HasPrefix(name, ".") || e.IsDir() {
			continue
		}
		file := filepath.Join(dir, name)
		if s.byType[typ] == nil {
			why := fmt.Sprintf("capture %s does not capture table %s (its tables: %s)", s.cfg.Flow, typ, strings.Join(s.tableTypes(), ", "))
			if err := writeFileAtomic(filepath.Join(dir, typ+rejectedSuffix), []byte(why+"\n")); err != nil {
				s.log.Warn("cannot answer a re-snapshot request", "file", file, "err", err)
				continue
			}
			s.log.Warn("re-snapshot request refused", "file", file, "reason", why)
			_ = os.Remove(file)
			continue
		}
		if err := s.cfg.Store.putRequest(s.cfg.Flow, typ, "file"); err != nil {
			s.log.Warn("cannot store a re-snapshot request; left in place, retried at the next poll", "file", file, "err", err)
			continue
		}
		s.mu.Lock()
		s.requests[typ] = true
		s.mu.Unlock()
		if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("re-snapshot request taken but its file could not be removed", "file", file, "err", err)
		}
		s.log.Info("re-snapshot requested (legacybridge cdc resnapshot)", "table", typ)
	}
}

func (s *Source) tableTypes() []string {
	out := make([]string, len(s.tables))
	for i, t := range s.tables {
		out[i] = t.typ
	}
	return out
}
