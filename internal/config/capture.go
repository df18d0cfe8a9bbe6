package config

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"legacybridge/cdc"
)

// Capture is a change-capture flow: inserts, updates and deletes of
// database tables become events through mapping files (package cdc).
//
//	captures:
//	  - name: erp-inventory
//	    dialect: sqlite
//	    dsn: work/erp.db
//	    tables:
//	      - {name: MTL_MATERIAL_TRANSACTIONS, key: [TRANSACTION_ID], change_column: LAST_UPDATE_DATE}
//	    mappings:
//	      - {file: mappings/mtl.yaml, ops: [insert, snapshot]}
//	    topic: erp.inventory.movements
type Capture struct {
	// Name names the capture; positions are stored under it in
	// STATE_DIR/cdc.db (required, unique among flows and deliveries).
	Name string `yaml:"name"`
	// Dialect is sqlite, postgres or oracle (required).
	Dialect string `yaml:"dialect"`
	// DSN says where the database is: sqlite a file path (relative to the
	// config file); postgres postgres://USER@HOST:PORT/DB?timezone=UTC;
	// oracle oracle://USER@HOST:1521/SERVICE?TIMEOUT=30. Exactly one of
	// DSN, DSNEnv, DSNFile (the last two keep a DSN holding a password
	// out of the config).
	DSN     string `yaml:"dsn"`
	DSNEnv  string `yaml:"dsn_env"`
	DSNFile string `yaml:"dsn_file"`
	// PasswordEnv or PasswordFile hold the database password (postgres,
	// oracle); it is set into the DSN's user info. Default none.
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	// TimeZone is the zone the database writes date/times without zone in
	// (EBS: the server's, where SYSDATE is stamped). Default UTC.
	TimeZone string `yaml:"time_zone"`
	// SeedFrom is for demos: an ERP fixture folder (legacy-fixtures/erp)
	// whose schema and seed rows are loaded when the database has none of
	// its tables yet. Default "" (off).
	SeedFrom string `yaml:"seed_from"`
	// Journal is the trigger journal table (strategy journal), TABLE or
	// SCHEMA.TABLE. Default LB_JOURNAL.
	Journal string `yaml:"journal"`
	// Tables to capture (at least one).
	Tables []CaptureTable `yaml:"tables"`
	// Mappings turn changed rows (match.format: cdc, match.type: TABLE)
	// into events; the first that applies wins (at least one).
	Mappings []CaptureMapping `yaml:"mappings"`
	// Topic receives the events (required).
	Topic string `yaml:"topic"`
	// DeadLetterTopic receives changes whose mapping fails. Default "":
	// such a change holds the capture (retried, reported by /healthz)
	// until the mapping is fixed.
	DeadLetterTopic string `yaml:"dead_letter_topic"`
	// EventSource is the CloudEvents source. Default urn:legacybridge:cdc:NAME.
	EventSource string `yaml:"event_source"`
	// PollInterval between reads when nothing changed. Default 1s.
	PollInterval Duration `yaml:"poll_interval"`
	// SafetyLag (polling) is kept behind the transaction horizon: above the
	// change column's precision (DATE: 1s) and clock steps. Default 2s;
	// negative means none.
	SafetyLag Duration `yaml:"safety_lag"`
	// BatchSize is the most changes per read and Kafka batch. Default 500.
	BatchSize int `yaml:"batch_size"`
	// ReconcileEvery (polling) is how often delivered keys are checked for
	// deleted rows. Default 10m; negative disables it.
	ReconcileEvery Duration `yaml:"reconcile_every"`
	// Heartbeat is how often a com.legacybridge.cdc.heartbeat.v1 event
	// (each table's phase, position and lag) is published. Default 30s;
	// negative disables heartbeats. run --once publishes none.
	Heartbeat Duration `yaml:"heartbeat"`
	// HeartbeatTopic receives heartbeats. Default Topic.
	HeartbeatTopic string `yaml:"heartbeat_topic"`
	// LOBDir holds the large objects of tables with lobs: reference,
	// content-addressed (sha256/XX/HASH). Default STATE_DIR/lobs.
	LOBDir string `yaml:"lob_dir"`
	// LOBURL prefixes the references (the events' dataref): where
	// consumers reach LOBDir, e.g. an HTTP server or a share. Default the
	// file: URL of LOBDir.
	LOBURL string `yaml:"lob_url"`
}

// LOBStoreDir is the capture's large object folder: LOBDir, or
// STATE_DIR/lobs.
func (p *Capture) LOBStoreDir(stateDir string) string {
	if p.LOBDir != "" {
		return p.LOBDir
	}
	return filepath.Join(stateDir, "lobs")
}

// References reports whether a table of the capture keeps large objects
// by reference.
func (p *Capture) References() bool {
	for _, t := range p.Tables {
		if t.LOBs == "reference" {
			return true
		}
	}
	return false
}

// CaptureTable is one captured table (see cdc.Table).
type CaptureTable struct {
	// Name is TABLE or SCHEMA.TABLE, plain identifiers (required).
	Name string `yaml:"name"`
	// Key lists the key columns (required).
	Key []string `yaml:"key"`
	// Strategy is poll (query the change column; needs SELECT only;
	// "polling" is accepted too) or journal (triggers fill a journal;
	// 'legacybridge cdc install' prints them). Default poll.
	Strategy string `yaml:"strategy"`
	// ChangeColumn is stamped by every insert and update (EBS
	// LAST_UPDATE_DATE). Required for poll.
	ChangeColumn string `yaml:"change_column"`
	// CreatedColumn (poll) is stamped on insert only (EBS CREATION_DATE).
	// Default none.
	CreatedColumn string `yaml:"created_column"`
	// Columns to capture. Default all.
	Columns []string `yaml:"columns"`
	// LOBs: skip (CLOB/BLOB left out of images), inline (read whole into
	// the event, up to max_lob_bytes; "include" is the older name) or
	// reference (streamed in pieces to the capture's lob_dir; the event
	// carries its URI, the CloudEvents dataref). Default skip.
	LOBs string `yaml:"lobs"`
	// MaxLOBBytes bounds an inline LOB; larger ones are left out. Default
	// 1 MiB.
	MaxLOBBytes int64 `yaml:"max_lob_bytes"`
	// LOBColumns are further columns to treat as large objects (e.g.
	// PostgreSQL text or bytea holding documents). Default none.
	LOBColumns []string `yaml:"lob_columns"`
	// Snapshot: initial (existing rows first, then changes) or none
	// (changes from now on). Default initial.
	Snapshot string `yaml:"snapshot"`
	// Reconcile (poll) overrides the capture's reconcile_every. Default
	// the capture's; negative disables it.
	Reconcile Duration `yaml:"reconcile"`
}

// CaptureMapping is a mapping file and the operations it applies to.
type CaptureMapping struct {
	// File is the mapping (required).
	File string `yaml:"file"`
	// Ops: insert, update, delete, snapshot. Default all four.
	Ops []string `yaml:"ops"`
}

// CaptureOps are the operations a CaptureMapping may name.
var CaptureOps = []string{"insert", "update", "delete", "snapshot"}

func (c *Config) captureDefaults() {
	for i := range c.Captures {
		p := &c.Captures[i]
		p.Dialect = strings.ToLower(p.Dialect)
		if p.Dialect == "sqlite" && p.DSN != "" {
			p.DSN = c.rel(p.DSN)
		}
		p.DSNFile, p.PasswordFile, p.SeedFrom, p.LOBDir = c.rel(p.DSNFile), c.rel(p.PasswordFile), c.rel(p.SeedFrom), c.rel(p.LOBDir)
		if p.TimeZone == "" {
			p.TimeZone = "UTC"
		}
		if p.Journal == "" {
			p.Journal = "LB_JOURNAL"
		}
		if p.EventSource == "" {
			p.EventSource = "urn:legacybridge:cdc:" + p.Name
		}
		if p.PollInterval == 0 {
			p.PollInterval = Duration(time.Second)
		}
		if p.SafetyLag == 0 {
			p.SafetyLag = Duration(2 * time.Second)
		}
		if p.BatchSize == 0 {
			p.BatchSize = 500
		}
		if p.ReconcileEvery == 0 {
			p.ReconcileEvery = Duration(10 * time.Minute)
		}
		if p.Heartbeat == 0 {
			p.Heartbeat = Duration(30 * time.Second)
		}
		if p.HeartbeatTopic == "" {
			p.HeartbeatTopic = p.Topic
		}
		for j := range p.Tables {
			t := &p.Tables[j]
			switch strings.ToLower(t.Strategy) {
			case "", "poll", "polling":
				t.Strategy = "poll"
			default:
				t.Strategy = strings.ToLower(t.Strategy)
			}
			switch t.LOBs = strings.ToLower(t.LOBs); t.LOBs {
			case "":
				t.LOBs = "skip"
			case "include":
				t.LOBs = "inline"
			}
			if t.Snapshot == "" {
				t.Snapshot = "initial"
			}
		}
		for j := range p.Mappings {
			m := &p.Mappings[j]
			m.File = c.rel(m.File)
			if len(m.Ops) == 0 {
				m.Ops = slices.Clone(CaptureOps)
			}
		}
	}
}

// Capture returns the capture named name, or nil.
func (c *Config) Capture(name string) *Capture {
	for i := range c.Captures {
		if c.Captures[i].Name == name {
			return &c.Captures[i]
		}
	}
	return nil
}

// Location is the capture's time zone.
func (p *Capture) Location() (*time.Location, error) {
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("capture %q: time_zone %q: %w (use an IANA name such as UTC or America/Chicago)", p.Name, p.TimeZone, err)
	}
	return loc, nil
}

// ConnString returns the capture's DSN with the password from
// password_env/password_file set into it. The result holds a secret:
// never log it.
func (p *Capture) ConnString() (string, error) {
	dsn, err := Secret("dsn", p.DSNEnv, p.DSNFile)
	if err != nil {
		return "", fmt.Errorf("capture %q: %w", p.Name, err)
	}
	if p.DSN != "" {
		dsn = p.DSN
	}
	if dsn == "" {
		return "", fmt.Errorf("capture %q: dsn is required (dsn, dsn_env or dsn_file)", p.Name)
	}
	pw, err := Secret("password", p.PasswordEnv, p.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("capture %q: %w", p.Name, err)
	}
	if p.PasswordEnv == "" && p.PasswordFile == "" {
		return dsn, nil
	}
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" || u.Host == "" {
		// The parse error may quote the DSN; it is not repeated.
		return "", fmt.Errorf("capture %q: password_env/password_file need a URL dsn (%s://USER@HOST/...)", p.Name, p.Dialect)
	}
	if u.User == nil || u.User.Username() == "" {
		return "", fmt.Errorf("capture %q: the dsn names no user for the password (%s://USER@HOST/...)", p.Name, p.Dialect)
	}
	u.User = url.UserPassword(u.User.Username(), pw)
	return u.String(), nil
}

// CDCTables returns the tables as cdc.Table values.
func (p *Capture) CDCTables() []cdc.Table {
	out := make([]cdc.Table, len(p.Tables))
	for i, t := range p.Tables {
		out[i] = cdc.Table{Name: t.Name, Key: t.Key, Strategy: cdc.Strategy(t.Strategy),
			ChangeColumn: t.ChangeColumn, CreatedColumn: t.CreatedColumn, Columns: t.Columns,
			LOBs: cdc.LOBMode(t.LOBs), MaxLOBBytes: t.MaxLOBBytes, LOBColumns: t.LOBColumns, Snapshot: cdc.SnapshotMode(t.Snapshot),
			Reconcile: time.Duration(t.Reconcile)}
	}
	return out
}

func (c *Config) validateCaptures(names map[string]bool, add func(string, ...any)) {
	for i := range c.Captures {
		p := &c.Captures[i]
		where := fmt.Sprintf("captures[%d]", i)
		if p.Name != "" {
			where = fmt.Sprintf("capture %q", p.Name)
		}
		switch {
		case p.Name == "":
			add("%s: name is required", where)
		case !flowName.MatchString(p.Name):
			add("%s: name may use letters, digits, '.', '_' and '-' only", where)
		case names[p.Name]:
			add("%s: name already used by another flow, delivery or capture", where)
		}
		names[p.Name] = true
		switch p.Dialect {
		case "sqlite", "postgres", "oracle":
		case "":
			add("%s: dialect is required (sqlite, postgres or oracle)", where)
		default:
			add("%s: dialect %q is not one of sqlite, postgres, oracle", where, p.Dialect)
		}
		n := 0
		for _, v := range []string{p.DSN, p.DSNEnv, p.DSNFile} {
			if v != "" {
				n++
			}
		}
		switch {
		case n == 0:
			add("%s: dsn is required (dsn, dsn_env or dsn_file)", where)
		case n > 1:
			add("%s: set one of dsn, dsn_env, dsn_file", where)
		case p.Dialect == "sqlite" && p.DSN != "" && p.SeedFrom == "":
			if st, err := os.Stat(p.DSN); err != nil {
				add("%s: dsn: SQLite database %s: %v (a missing file would be created empty; point dsn at the ERP copy, or set seed_from for a demo)", where, p.DSN, err)
			} else if st.IsDir() {
				add("%s: dsn %s is a folder, not a SQLite file", where, p.DSN)
			}
		}
		if p.PasswordEnv != "" && p.PasswordFile != "" {
			add("%s: set password_env or password_file, not both", where)
		}
		if p.Dialect == "sqlite" && (p.PasswordEnv != "" || p.PasswordFile != "") {
			add("%s: password_env/password_file are for postgres and oracle, not sqlite", where)
		}
		if n == 1 {
			if _, err := p.ConnString(); err != nil {
				add("%v", err)
			}
		}
		if _, err := p.Location(); err != nil {
			add("%v", err)
		}
		if p.SeedFrom != "" {
			if p.Dialect == "oracle" {
				add("%s: seed_from is for sqlite and postgres demos", where)
			} else if _, err := os.Stat(filepath.Join(p.SeedFrom, "seed.sql")); err != nil {
				add("%s: seed_from %s: no seed.sql in it (%v)", where, p.SeedFrom, err)
			}
		}
		if _, err := cdc.ParseName(p.Journal); err != nil {
			add("%s: journal: %v", where, err)
		}
		if p.PollInterval < 0 {
			add("%s: poll_interval must not be negative", where)
		}
		if p.BatchSize < 0 {
			add("%s: batch_size must not be negative", where)
		}
		if len(p.Tables) == 0 {
			add("%s: tables: at least one table is required", where)
		}
		seen := map[string]bool{}
		for j, t := range p.Tables {
			tw := fmt.Sprintf("%s: tables[%d]", where, j)
			n, err := cdc.ParseName(t.Name)
			if err != nil {
				add("%s: name: %v", tw, err)
			} else {
				tw = fmt.Sprintf("%s: table %s", where, n)
				if seen[n.Type()] {
					add("%s: listed twice", tw)
				}
				seen[n.Type()] = true
			}
			if len(t.Key) == 0 {
				add("%s: key: at least one key column is required", tw)
			}
			for _, k := range t.Key {
				if err := cdc.CheckIdent(k); err != nil {
					add("%s: key: %v", tw, err)
				}
			}
			for _, col := range t.Columns {
				if err := cdc.CheckIdent(col); err != nil {
					add("%s: columns: %v", tw, err)
				}
			}
			for _, cc := range []struct{ key, val string }{{"change_column", t.ChangeColumn}, {"created_column", t.CreatedColumn}} {
				if cc.val != "" {
					if err := cdc.CheckIdent(cc.val); err != nil {
						add("%s: %s: %v", tw, cc.key, err)
					}
				}
			}
			switch t.Strategy {
			case "poll":
				if t.ChangeColumn == "" {
					add("%s: strategy poll needs change_column (EBS: LAST_UPDATE_DATE)", tw)
				}
			case "journal":
				if t.ChangeColumn != "" || t.CreatedColumn != "" {
					add("%s: change_column and created_column are for strategy poll only", tw)
				}
			case "logminer":
				add("%s: strategy logminer is not wired into captures yet (cdc/oracle mines, but has run only against a fake driver, never Oracle); use poll or journal", tw)
			default:
				add("%s: strategy %q is not one of poll, journal", tw, t.Strategy)
			}
			switch t.LOBs {
			case "skip", "inline", "reference":
			default:
				add("%s: lobs %q is not one of skip, inline, reference", tw, t.LOBs)
			}
			if t.MaxLOBBytes < 0 {
				add("%s: max_lob_bytes must not be negative", tw)
			}
			if t.MaxLOBBytes != 0 && t.LOBs != "inline" {
				add("%s: max_lob_bytes is for lobs: inline (references have no bound; skip reads none)", tw)
			}
			for _, col := range t.LOBColumns {
				if err := cdc.CheckIdent(col); err != nil {
					add("%s: lob_columns: %v", tw, err)
				}
				for _, k := range t.Key {
					if strings.EqualFold(k, col) {
						add("%s: lob_columns: key column %s cannot be a large object", tw, k)
					}
				}
			}
			if t.Snapshot != "initial" && t.Snapshot != "none" {
				add("%s: snapshot %q is not one of initial, none", tw, t.Snapshot)
			}
		}
		if len(p.Mappings) == 0 {
			add("%s: mappings: at least one mapping is required", where)
		}
		for j, m := range p.Mappings {
			mw := fmt.Sprintf("%s: mappings[%d]", where, j)
			if m.File == "" {
				add("%s: file is required", mw)
			} else if _, err := os.Stat(m.File); err != nil {
				add("%s: %v", mw, err)
			}
			for _, op := range m.Ops {
				if !slices.Contains(CaptureOps, op) {
					add("%s: ops: %q is not one of %s", mw, op, strings.Join(CaptureOps, ", "))
				}
			}
		}
		if p.Topic == "" {
			add("%s: topic is required", where)
		}
		for _, t := range []struct{ key, name string }{{"topic", p.Topic}, {"dead_letter_topic", p.DeadLetterTopic}, {"heartbeat_topic", p.HeartbeatTopic}} {
			if t.name != "" && !topicName.MatchString(t.name) {
				add("%s: %s %q is not a valid Kafka topic name (letters, digits, '.', '_' and '-', at most 249)", where, t.key, t.name)
			}
		}
		if p.DeadLetterTopic != "" && p.DeadLetterTopic == p.Topic {
			add("%s: dead_letter_topic must differ from topic", where)
		}
		if (p.LOBDir != "" || p.LOBURL != "") && !p.References() {
			add("%s: lob_dir and lob_url are for tables with lobs: reference", where)
		}
		if p.LOBURL != "" {
			if u, err := url.Parse(p.LOBURL); err != nil || u.Scheme == "" {
				add("%s: lob_url %q is not an absolute URL (e.g. https://files.example/lobs/)", where, p.LOBURL)
			}
		}
	}
}
