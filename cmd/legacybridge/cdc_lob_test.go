package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"legacybridge"
	"legacybridge/cdc"
	"legacybridge/cdc/sqlite"
	"legacybridge/internal/config"
)

// memEmitter keeps the messages it is given.
type memEmitter struct {
	mu   sync.Mutex
	msgs []legacybridge.Message
}

func (m *memEmitter) Emit(_ context.Context, msgs ...legacybridge.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, msgs...)
	return nil
}

func (m *memEmitter) Close() error { return nil }

// attachmentMapper maps FND_LOBS rows as a mapping file would (the
// canonical registry has no attachment event type to write one against).
type attachmentMapper struct{}

func (attachmentMapper) Map(r legacybridge.Record) ([]legacybridge.Event, error) {
	d, err := json.Marshal(map[string]any{"fileId": r.Fields["FILE_ID"], "fileName": r.Fields["FILE_NAME"], "content": r.Fields["FILE_DATA"]})
	return []legacybridge.Event{{Type: "com.example.erp.attachment.v1", Data: d}}, err
}

// TestCDCLOBReferenceCapture: a capture with lobs: reference, built from
// config as 'run' builds it and run once: the event is small, carries the
// object's URI as its CloudEvents dataref (ce_dataref) and in its data,
// and the file under STATE_DIR/lobs is the database's BLOB.
func TestCDCLOBReferenceCapture(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "erp.db")
	db, err := sqlite.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	blob := []byte(strings.Repeat("%PDF-1.4 packing slip scan ", 120000)) // about 3 MiB
	if _, err := db.Exec("CREATE TABLE FND_LOBS (FILE_ID INTEGER PRIMARY KEY, FILE_NAME TEXT, FILE_DATA BLOB, LAST_UPDATE_DATE DATE NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO FND_LOBS VALUES (?, ?, ?, '2024-05-01 10:00:00')", 4711, "slip-4711.pdf", blob); err != nil {
		t.Fatal(err)
	}
	db.Close()
	cfgPath := filepath.Join(dir, "lb.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
state_dir: %q
captures:
  - name: attachments
    dialect: sqlite
    dsn: %q
    safety_lag: 10ms
    poll_interval: 50ms
    tables:
      - {name: FND_LOBS, key: [FILE_ID], change_column: LAST_UPDATE_DATE, lobs: reference}
    mappings: [{file: %q}]
    topic: erp.attachments
`, filepath.Join(dir, "state"), dbPath, filepath.Join(repoRoot(t), "legacy-fixtures/erp/mappings/mtl-material-transactions.yaml"))), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := validateAll(cfg); err != nil {
		t.Fatal(err)
	}
	store, err := cdc.OpenStore(cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	em := &memEmitter{}
	ctx := context.Background()
	c, err := buildCapture(ctx, &cfg.Captures[0], store, em, slog.New(slog.DiscardHandler), true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.db.Close()
	c.runner.Mappers = []legacybridge.Mapper{attachmentMapper{}}
	if _, err := c.runOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if len(em.msgs) != 1 {
		t.Fatalf("%d events, want 1", len(em.msgs))
	}
	m := em.msgs[0]
	var ref string
	for _, h := range m.Headers {
		if h.Key == "ce_dataref" {
			ref = string(h.Value)
		}
	}
	sum := sha256.Sum256(blob)
	want := "sha256/" + hex.EncodeToString(sum[:1]) + "/" + hex.EncodeToString(sum[:])
	if !strings.HasPrefix(ref, "file://") || !strings.HasSuffix(ref, want) {
		t.Fatalf("ce_dataref %q, want a file: URL ending in %s", ref, want)
	}
	if len(m.Value) > 1024 || !strings.Contains(string(m.Value), ref) {
		t.Errorf("event data (%d bytes) %s: want the reference, not the object", len(m.Value), m.Value)
	}
	u, _ := url.Parse(ref)
	got, err := os.ReadFile(u.Path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(blob) {
		t.Errorf("stored object: %d bytes, want the BLOB's %d", len(got), len(blob))
	}
	if d := filepath.Join(cfg.StateDir, "lobs"); !strings.HasPrefix(u.Path, d) {
		t.Errorf("object %s outside STATE_DIR/lobs (%s)", u.Path, d)
	}
}

// TestCDCInstallOmitsLOBs: 'cdc install' leaves the large objects of a
// table with lobs skip or reference out of the journal's images (the
// bridge reads referenced ones from the table), keeps them for inline.
func TestCDCInstallOmitsLOBs(t *testing.T) {
	dir := t.TempDir()
	mapping := filepath.Join(repoRoot(t), "legacy-fixtures/erp/mappings/mtl-material-transactions.yaml")
	cols := filepath.Join(dir, "columns.txt")
	os.WriteFile(cols, []byte("FND_LOBS FILE_ID NUMBER\nFND_LOBS FILE_NAME VARCHAR2(256)\nFND_LOBS FILE_DATA BLOB\nFND_LOBS FILE_TEXT CLOB\n"+
		"FND_NOTES NOTE_ID NUMBER\nFND_NOTES NOTE_TEXT CLOB\n"), 0o644)
	for _, tc := range []struct {
		dialect, dsn string
		args         []string
		want, not    []string
	}{
		{"oracle", "oracle://erp@127.0.0.1:1/ERP", []string{"--columns", cols},
			[]string{`'FILE_NAME' VALUE :NEW."FILE_NAME"`, `'NOTE_TEXT' VALUE :NEW."NOTE_TEXT"`}, []string{`:NEW."FILE_TEXT"`, `:NEW."FILE_DATA"`}},
		{"postgres", "postgres://erp@127.0.0.1:1/erp", nil,
			[]string{`EXECUTE FUNCTION "lb_capture_lb_journal"('FND_LOBS', 'file_id', '-file_data', '-file_text')`, `img_new := img_new - substr(TG_ARGV[i], 2)`,
				`EXECUTE FUNCTION "lb_capture_lb_journal"('FND_NOTES', 'note_id')`}, nil},
	} {
		cfg := filepath.Join(dir, tc.dialect+".yaml")
		os.WriteFile(cfg, []byte(fmt.Sprintf(`
state_dir: %q
captures:
  - name: erp
    dialect: %s
    dsn: %q
    tables:
      - {name: FND_LOBS, key: [FILE_ID], strategy: journal, lobs: reference, lob_columns: [FILE_DATA, FILE_TEXT]}
      - {name: FND_NOTES, key: [NOTE_ID], strategy: journal, lobs: inline}
    mappings: [{file: %q}]
    topic: erp.events
`, filepath.Join(dir, "state"), tc.dialect, tc.dsn, mapping)), 0o644)
		code, out, errOut := run(t, append([]string{"cdc", "install", "--config", cfg, "--flow", "erp"}, tc.args...)...)
		if code != 0 {
			t.Errorf("%s: exit %d\n%s", tc.dialect, code, errOut)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", tc.dialect, w, out)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(out, w) {
				t.Errorf("%s: output has %q:\n%s", tc.dialect, w, out)
			}
		}
	}
}
