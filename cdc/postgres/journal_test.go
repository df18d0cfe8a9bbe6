package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"legacybridge/cdc"
	"legacybridge/cdc/internal/cdctest"
	"legacybridge/cdc/postgres"
)

// The journal is installed from a session whose search_path is the
// capture's schema; an ERP session with the default search_path (which
// does not contain that schema) changes the table: its DML must succeed
// and the change be captured.
func TestJournalIgnoresWritersSearchPath(t *testing.T) {
	e := cdctest.Postgres()
	db := e.Open(t) // search_path = a fresh schema
	ctx := context.Background()
	var schema string
	if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	e.CreateItems(t, db)
	e.Insert(t, db, 1, "one", "1", nil)
	e.Install(t, db)
	store, _ := cdctest.NewStore(t)
	tbl := cdctest.JournalItems()
	tbl.Snapshot = cdc.SnapshotNone
	src := e.Source(t, db, store, 100, tbl)
	cdctest.Start(t, src)

	erp, err := postgres.Open(cdctest.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer erp.Close()
	var path string
	if err := erp.QueryRowContext(ctx, "SHOW search_path").Scan(&path); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(path, schema) {
		t.Fatalf("the writer's search_path %q already contains %s", path, schema)
	}
	if _, err := erp.ExecContext(ctx, "UPDATE "+schema+".items SET name = 'uno', ver = ver + 1 WHERE id = 1"); err != nil {
		t.Fatalf("ERP session's update failed: %v", err)
	}
	got := cdctest.ReadUntil(t, src, cdctest.Count(1))
	if diff := cmp.Diff([]string{"[1]"}, cdctest.Keys(got, cdc.OpUpdate)); diff != "" {
		t.Errorf("captured updates (-want +got):\n%s", diff)
	}
}

// The journal's table column holds the table name without schema, so
// two captured tables of one name in different schemas are refused.
func TestInstallRefusesOneNameInTwoSchemas(t *testing.T) {
	_, err := cdc.Install(postgres.Dialect{}, cdc.Name{Object: "LB_JOURNAL"}, []cdc.TableDef{
		{Name: cdc.Name{Schema: "INV", Object: "ITEMS"}, Key: []string{"ID"}},
		{Name: cdc.Name{Schema: "ONT", Object: "ITEMS"}, Key: []string{"ID"}},
	})
	if err == nil || !strings.Contains(err.Error(), "INV.ITEMS and ONT.ITEMS") {
		t.Fatalf("Install = %v, want an error naming INV.ITEMS and ONT.ITEMS", err)
	}
	if _, err := cdc.Install(postgres.Dialect{}, cdc.Name{Object: "LB_JOURNAL"}, []cdc.TableDef{
		{Name: cdc.Name{Schema: "INV", Object: "ITEMS"}, Key: []string{"ID"}},
		{Name: cdc.Name{Schema: "ONT", Object: "LINES"}, Key: []string{"ID"}},
	}); err != nil {
		t.Fatalf("two tables of different names: %v", err)
	}
}

// The INCLUDE columns of a unique index are not part of its key.
func TestUniqueKeysLeaveOutIncludedColumns(t *testing.T) {
	e := cdctest.Postgres()
	db := e.Open(t)
	e.Exec(t, db, "CREATE TABLE T (A int NOT NULL, B int NOT NULL, C int)")
	e.Exec(t, db, "CREATE UNIQUE INDEX T_A ON T (A) INCLUDE (B)")
	e.Exec(t, db, "CREATE UNIQUE INDEX T_C ON T ((C + 1))")
	got, err := postgres.Dialect{}.UniqueKeys(context.Background(), db, cdc.Name{Object: "T"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]string{{"a"}}, got); diff != "" {
		t.Errorf("unique keys (-want +got):\n%s", diff)
	}
	if err := cdc.CheckKey(context.Background(), db, postgres.Dialect{}, cdc.Name{Object: "T"}, []string{"B"}); err == nil {
		t.Error("key (B), only included in a unique index, was accepted")
	}
}
