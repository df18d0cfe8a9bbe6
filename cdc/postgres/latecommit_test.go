package postgres_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"legacybridge/cdc"
	"legacybridge/cdc/internal/cdctest"
	"legacybridge/cdc/postgres"
)

// lagOnly is polling with a safety lag and no transaction horizon, as
// Kafka Connect JDBC's timestamp.delay.interval.ms does: it pretends no
// transaction is ever running.
type lagOnly struct{ postgres.Dialect }

func (d lagOnly) Horizon(ctx context.Context, db *sql.DB) (cdc.Horizon, error) {
	h, err := d.Dialect.Horizon(ctx, db)
	h.Next, h.Oldest = 0, 0
	return h, err
}

func keys(cs []cdc.Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.KeyString())
	}
	return out
}

// TestLateCommitPolling: transaction A stamps its row first and commits
// last; B stamps later and commits first. A poll between the two commits
// sees B's row. With only a safety lag (shorter than A) the cursor moves
// past A's stamp and A's row is never captured; with the transaction
// horizon the poll holds B back until A has ended, then delivers both in
// stamp order.
func TestLateCommitPolling(t *testing.T) {
	for _, tc := range []struct {
		name    string
		dialect cdc.Dialect
		horizon bool
	}{
		{"horizon", postgres.Dialect{}, true},
		{"lag-only", lagOnly{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := cdctest.Postgres()
			e.Dialect = tc.dialect
			db := e.Open(t)
			e.CreateItems(t, db)
			store, _ := cdctest.NewStore(t)
			src := e.SourceWith(t, cdc.Config{DB: db, Store: store, Tables: []cdc.Table{cdctest.Items()}, SafetyLag: 5 * time.Millisecond})
			cdctest.Start(t, src) // snapshot of the empty table

			ctx := context.Background()
			e.Exec(t, db, "CREATE TABLE SIDE (X int)")
			// B takes its transaction id first (a write elsewhere), then A
			// stamps and inserts item 1, then B stamps and inserts item 2
			// and commits. B's id is older than A's, A's stamp older than
			// B's: neither id order nor stamp order is commit order.
			txB, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer txB.Rollback()
			e.Exec(t, txB, "INSERT INTO SIDE VALUES (1)")
			txA, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer txA.Rollback()
			e.Insert(t, txA, 1, "stamped first, committed last", "1", nil)
			// Polls while A runs (B with no visible row yet) must not take
			// the horizon past A's stamp.
			if got := cdctest.ReadFor(t, src, 100*time.Millisecond); len(got) != 0 {
				t.Fatalf("nothing is committed, yet the poll delivered %v", keys(got))
			}
			e.Insert(t, txB, 2, "stamped later, committed first", "2", nil)
			if err := txB.Commit(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond) // well past the lag
			during := cdctest.ReadFor(t, src, 300*time.Millisecond)
			if err := txA.Commit(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
			if tc.horizon {
				if len(during) != 0 {
					t.Errorf("while A ran, the poll delivered %v; B's row must wait for A (its stamp is later)", keys(during))
				}
				after := cdctest.ReadUntil(t, src, cdctest.Count(2))
				if diff := cmp.Diff([]string{"[1]", "[2]"}, keys(after)); diff != "" {
					t.Errorf("after A committed (-want +got):\n%s", diff)
				}
				return
			}
			// Lag only: B is delivered while A runs, and A's row is lost.
			after := cdctest.ReadFor(t, src, 500*time.Millisecond)
			if diff := cmp.Diff([]string{"[2]"}, keys(append(during, after...))); diff != "" {
				t.Errorf("lag-only polling (-want +got):\n%s\n(this variant demonstrates the loss the horizon prevents)", diff)
			}
		})
	}
}

// TestLateCommitJournal: the journal sequence is taken when the trigger
// runs, so A's row has the lower number but appears last; reading the
// journal as a queue (delete what was delivered, read again from the
// lowest number left) still delivers it.
func TestLateCommitJournal(t *testing.T) {
	e := cdctest.Postgres()
	db := e.Open(t)
	e.CreateItems(t, db)
	e.Install(t, db)
	store, _ := cdctest.NewStore(t)
	src := e.Source(t, db, store, 100, cdctest.JournalItems())
	cdctest.Start(t, src)
	ctx := context.Background()
	txA, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer txA.Rollback()
	e.Insert(t, txA, 1, "journal row first, committed last", "1", nil)
	e.Insert(t, db, 2, "journal row second, committed first", "2", nil)
	first := cdctest.ReadUntil(t, src, cdctest.Count(1))
	if err := txA.Commit(); err != nil {
		t.Fatal(err)
	}
	second := cdctest.ReadUntil(t, src, cdctest.Count(1))
	if diff := cmp.Diff([]string{"[2]", "[1]"}, keys(append(first, second...))); diff != "" {
		t.Errorf("journal delivery (-want +got):\n%s", diff)
	}
	if second[0].TxID == "" || second[0].TxID == first[0].TxID {
		t.Errorf("transaction ids %q and %q, want two different ones", first[0].TxID, second[0].TxID)
	}
	var left int
	if err := db.QueryRow("SELECT count(*) FROM lb_journal").Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d journal rows left", left)
	}
}

// TestHorizonTracksRunningTransactions checks the readings themselves.
func TestHorizonTracksRunningTransactions(t *testing.T) {
	db := cdctest.OpenPostgres(t)
	ctx := context.Background()
	d := postgres.Dialect{}
	if _, err := db.Exec("CREATE TABLE t (x int)"); err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec("INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	var xid uint64
	if err := tx.QueryRow("SELECT pg_current_xact_id()::text::bigint").Scan(&xid); err != nil {
		t.Fatal(err)
	}
	h, err := d.Horizon(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if h.Oldest > xid || h.Next <= xid {
		t.Errorf("open transaction %d: horizon %+v, want Oldest <= %d < Next", xid, h, xid)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	h2, err := d.Horizon(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if h2.Oldest <= xid {
		t.Errorf("after commit of %d: horizon %+v, want Oldest past it", xid, h2)
	}
	if !h2.Now.After(h.Now) {
		t.Errorf("clock did not advance: %v then %v", h.Now, h2.Now)
	}
}
