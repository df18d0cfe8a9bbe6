package legacybridge

import (
	"context"
	"io"
	"time"
)

// FileSource is a file drop that yields complete, claimed files.
type FileSource interface {
	// Poll claims every file that is complete now. The first call also returns
	// files left half-processed by a crash.
	Poll(ctx context.Context) ([]FileClaim, error)
	// Pending is the number of files seen by the last Poll that are not yet
	// complete (still growing, too young, or waiting for a done marker).
	Pending() int
}

// FileClaim is a claimed file. Exactly one of Archive or Quarantine is
// called once the file has been dealt with.
type FileClaim interface {
	Info() FileInfo
	Open(ctx context.Context) (io.ReadCloser, error)
	Archive(ctx context.Context) (string, error)
	Quarantine(ctx context.Context, r QuarantineReport) (string, error)
}

// Stater is implemented by claims that can report the file as it is now, so
// the runner can tell a file that changed after it was picked up.
type Stater interface {
	Stat(ctx context.Context) (FileInfo, error)
}

// FileInfo describes a claimed file.
type FileInfo struct {
	Name      string    // original base name
	Path      string    // where it is now (processing folder)
	Size      int64     // bytes
	ModTime   time.Time // modification time when claimed
	Recovered bool      // found in the processing folder at start-up (crash)
}

// QuarantineReport is written beside a quarantined file as NAME.error.json.
type QuarantineReport struct {
	Flow   string    `json:"flow"`
	File   string    `json:"file"`
	Reason string    `json:"reason"`
	Place  *Position `json:"place,omitempty"`
	Errors []string  `json:"errors,omitempty"`
	Time   time.Time `json:"time"`
	Hash   string    `json:"sha256,omitempty"`
	Next   string    `json:"what_to_do,omitempty"`
}

// File outcomes recorded in the ledger.
const (
	OutcomeProcessing  = "processing"  // claimed; events may be partly emitted
	OutcomeArchived    = "archived"    // every event acknowledged, file archived
	OutcomeQuarantined = "quarantined" // bad input; moved to error/
	OutcomeDuplicate   = "duplicate"   // identical content, or only interchanges, delivered before; skipped
)

// FileRecord is the ledger's record of one file.
type FileRecord struct {
	Flow    string `json:"flow"`
	File    string `json:"file"`
	Hash    string `json:"sha256"`
	Size    int64  `json:"size"`
	Records int    `json:"records"`
	Events  int    `json:"events"`
	Failed  int    `json:"failed,omitempty"`
	// Resent counts records of interchanges delivered before (by another
	// file) that were not posted again; Reason names the interchanges.
	Resent   int       `json:"resent,omitempty"`
	Outcome  string    `json:"outcome"`
	Reason   string    `json:"reason,omitempty"`
	MovedTo  string    `json:"moved_to,omitempty"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
}

// Ledger remembers every file a flow handled.
type Ledger interface {
	Lookup(flow, hash string) (FileRecord, bool, error)
	Put(FileRecord) error
}

// InterchangeRecord is the ledger's record of one delivered EDI interchange:
// the file that carried it and when that file's events were all
// acknowledged.
type InterchangeRecord struct {
	Key       string    `json:"key"` // Interchange.Key
	Name      string    `json:"interchange"`
	File      string    `json:"file"`
	Hash      string    `json:"sha256"`
	Delivered time.Time `json:"delivered"`
}

// InterchangeLedger is implemented by ledgers that remember delivered EDI
// interchanges, so that a Flow does not post a re-sent interchange again
// (Flow.DuplicateInterchanges).
type InterchangeLedger interface {
	// Interchanges returns the records of those keys that were delivered
	// before, by key; keys never delivered are absent.
	Interchanges(flow string, keys []string) (map[string]InterchangeRecord, error)
	// PutInterchanges records deliveries; a key recorded before is
	// overwritten (the window counts from the latest delivery).
	PutInterchanges(flow string, recs []InterchangeRecord) error
}
