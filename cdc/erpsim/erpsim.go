// Package erpsim keeps an ERP database shaped like Oracle E-Business
// Suite manufacturing tables (legacy-fixtures/erp) busy with realistic
// business transactions, so a CDC flow has changes to capture
// (`legacybridge erp simulate`).
//
// Each step is one business transaction in one database transaction, the
// way EBS writes them: a PO receipt (RCV RECEIVE and DELIVER rows, an
// uncosted material transaction, a new on-hand layer), a component issue
// to a job (on-hand layers updated and deleted), a subinventory transfer
// (two linked material transaction rows), a job completion (the job
// updated in place), the cost manager marking material transactions
// costed (a same-second burst of updates), sales order entry, booking and
// shipping, job release, and open-interface rows inserted then deleted (or
// left in error). Who-columns are stamped with the database clock at
// statement time, truncated to the second, like SYSDATE.
//
// With LateCommits (PostgreSQL), some receipts keep their transaction
// open for HoldFor while later transactions commit: their rows are
// stamped early and become visible late, the case that timestamp polling
// without a transaction horizon loses.
package erpsim

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"legacybridge/cdc"
)

// Simulator writes business transactions into the ERP fixture schema.
type Simulator struct {
	DB      *sql.DB     // required
	Dialect cdc.Dialect // required: sqlite, postgres or oracle
	// Rate is business transactions per second. Default 2.
	Rate float64
	// Seed makes the sequence of choices repeatable. Default 1.
	Seed uint64
	// LateCommits: every 10th step (about) is a receipt whose transaction
	// stays open for HoldFor while the next steps commit. Needs a
	// database with concurrent writers (not SQLite). Default false.
	LateCommits bool
	// HoldFor is how long a late transaction stays open. Default 3s.
	HoldFor time.Duration
	// Logger: default slog.Default().
	Logger *slog.Logger

	mu    sync.Mutex
	rnd   *rand.Rand
	ids   map[string]int64
	stats map[string]int
	steps int
	wg    sync.WaitGroup
}

// Tables lists the fixture's tables with their keys, for CDC config.
var Tables = []struct {
	Name string
	Key  []string
}{
	{"MTL_SYSTEM_ITEMS_B", []string{"INVENTORY_ITEM_ID", "ORGANIZATION_ID"}},
	{"MTL_MATERIAL_TRANSACTIONS", []string{"TRANSACTION_ID"}},
	{"MTL_ONHAND_QUANTITIES_DETAIL", []string{"ONHAND_QUANTITIES_ID"}},
	{"WIP_DISCRETE_JOBS", []string{"WIP_ENTITY_ID"}},
	{"OE_ORDER_HEADERS_ALL", []string{"HEADER_ID"}},
	{"OE_ORDER_LINES_ALL", []string{"LINE_ID"}},
	{"RCV_TRANSACTIONS", []string{"TRANSACTION_ID"}},
	{"MTL_TRANSACTIONS_INTERFACE", []string{"TRANSACTION_INTERFACE_ID"}},
}

// Setup creates the schema (DIR/schema/<dialect>.sql) unless its tables
// exist, and loads DIR/seed.sql into empty tables. dir is the fixture
// folder, legacy-fixtures/erp.
func (s *Simulator) Setup(ctx context.Context, dir string) error {
	if err := s.check(); err != nil {
		return err
	}
	var n int
	err := s.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM MTL_MATERIAL_TRANSACTIONS").Scan(&n)
	if err != nil {
		if err := s.script(ctx, filepath.Join(dir, "schema", s.Dialect.Name()+".sql")); err != nil {
			return err
		}
		n = 0
	}
	if n == 0 {
		if err := s.script(ctx, filepath.Join(dir, "seed.sql")); err != nil {
			return err
		}
	}
	return nil
}

// script runs the statements of a SQL file (comments stripped, split at
// semicolons that end a line) in one transaction.
func (s *Simulator) script(ctx context.Context, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("erpsim: %w", err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if t := strings.TrimSpace(l); t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		lines = append(lines, l)
	}
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("erpsim: %s: %w", path, err)
	}
	defer tx.Rollback()
	for i, st := range strings.Split(strings.Join(lines, "\n"), ";\n") {
		st = strings.TrimSuffix(strings.TrimSpace(st), ";")
		if st == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, st); err != nil {
			return fmt.Errorf("erpsim: %s, statement %d: %w", path, i+1, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("erpsim: %s: %w", path, err)
	}
	return nil
}

func (s *Simulator) check() error {
	if s.DB == nil || s.Dialect == nil {
		return errors.New("erpsim: DB and Dialect are required")
	}
	switch s.Dialect.Name() {
	case "sqlite", "postgres", "oracle":
	default:
		return fmt.Errorf("erpsim: unknown dialect %q", s.Dialect.Name())
	}
	if s.LateCommits && s.Dialect.Name() == "sqlite" {
		return errors.New("erpsim: late commits need concurrent writers; SQLite has one writer at a time")
	}
	return nil
}

func (s *Simulator) init(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rnd != nil {
		return nil
	}
	if err := s.check(); err != nil {
		return err
	}
	seed := s.Seed
	if seed == 0 {
		seed = 1
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.HoldFor <= 0 {
		s.HoldFor = 3 * time.Second
	}
	s.rnd = rand.New(rand.NewPCG(seed, seed^0x5eed))
	s.stats = map[string]int{}
	s.ids = map[string]int64{}
	for _, q := range []struct{ seq, table, col string }{
		{"mmt", "MTL_MATERIAL_TRANSACTIONS", "TRANSACTION_ID"},
		{"moqd", "MTL_ONHAND_QUANTITIES_DETAIL", "ONHAND_QUANTITIES_ID"},
		{"rcv", "RCV_TRANSACTIONS", "TRANSACTION_ID"},
		{"oeh", "OE_ORDER_HEADERS_ALL", "HEADER_ID"},
		{"order", "OE_ORDER_HEADERS_ALL", "ORDER_NUMBER"},
		{"oel", "OE_ORDER_LINES_ALL", "LINE_ID"},
		{"mti", "MTL_TRANSACTIONS_INTERFACE", "TRANSACTION_INTERFACE_ID"},
		{"wip", "WIP_DISCRETE_JOBS", "WIP_ENTITY_ID"},
	} {
		var v sql.NullInt64
		if err := s.DB.QueryRowContext(ctx, "SELECT MAX("+q.col+") FROM "+q.table).Scan(&v); err != nil {
			return fmt.Errorf("erpsim: %s: %w (run Setup first)", q.table, err)
		}
		s.ids[q.seq] = v.Int64
	}
	return nil
}

func (s *Simulator) next(seq string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids[seq]++
	return s.ids[seq]
}

func (s *Simulator) intn(n int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rnd.IntN(n)
}

// Stats counts the business transactions written so far, by kind.
func (s *Simulator) Stats() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.stats))
	for k, v := range s.stats {
		out[k] = v
	}
	return out
}

// Run writes business transactions at Rate until ctx is done, then waits
// for late transactions still open. Failed steps are logged and skipped.
func (s *Simulator) Run(ctx context.Context) error {
	if err := s.init(ctx); err != nil {
		return err
	}
	rate := s.Rate
	if rate <= 0 {
		rate = 2
	}
	t := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer t.Stop()
	defer s.wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if _, err := s.Step(ctx); err != nil && ctx.Err() == nil {
			s.Logger.Warn("simulated transaction failed; skipped", "err", err)
		}
	}
}

type scenario struct {
	name   string
	weight int
	run    func(ctx context.Context, tx *sql.Tx) (bool, error) // false: not possible now
}

func (s *Simulator) scenarios() []scenario {
	return []scenario{
		{"po-receipt", 20, s.poReceipt},
		{"wip-issue", 15, s.wipIssue},
		{"subinventory-transfer", 12, s.subTransfer},
		{"wip-completion", 12, s.wipCompletion},
		{"cost-manager", 8, s.costing},
		{"order-entry", 10, s.orderEntry},
		{"order-booking", 8, s.orderBooking},
		{"sales-order-issue", 8, s.salesOrderIssue},
		{"interface", 5, s.interfaceChurn},
		{"job-release", 2, s.jobRelease},
	}
}

// Step writes one business transaction and returns its kind.
func (s *Simulator) Step(ctx context.Context) (string, error) {
	if err := s.init(ctx); err != nil {
		return "", err
	}
	s.mu.Lock()
	s.steps++
	late := s.LateCommits && s.steps%10 == 0
	s.mu.Unlock()
	if late {
		return "po-receipt (late commit)", s.lateReceipt(ctx)
	}
	scs := s.scenarios()
	total := 0
	for _, sc := range scs {
		total += sc.weight
	}
	pick := s.intn(total)
	first := 0
	for i, sc := range scs {
		if pick < sc.weight {
			first = i
			break
		}
		pick -= sc.weight
	}
	// When a transaction is not possible now (nothing on hand to issue),
	// the next kind is tried.
	for i := range scs {
		sc := scs[(first+i)%len(scs)]
		ok, err := s.inTx(ctx, sc.run)
		if err != nil {
			return sc.name, fmt.Errorf("erpsim: %s: %w", sc.name, err)
		}
		if ok {
			s.mu.Lock()
			s.stats[sc.name]++
			s.mu.Unlock()
			return sc.name, nil
		}
	}
	return "", errors.New("erpsim: no business transaction was possible")
}

func (s *Simulator) inTx(ctx context.Context, f func(context.Context, *sql.Tx) (bool, error)) (bool, error) {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	ok, err := f(ctx, tx)
	if err != nil || !ok {
		return false, err
	}
	return true, tx.Commit()
}

// lateReceipt writes a receipt and commits it HoldFor later, in the
// background. The transaction does not end with ctx (database/sql rolls
// back a transaction when its context ends): a run whose duration ends
// while it is held still commits it, bounded by the hold time plus a
// minute for the statements and the commit.
func (s *Simulator) lateReceipt(ctx context.Context) error {
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.HoldFor+time.Minute)
	tx, err := s.DB.BeginTx(hctx, nil)
	if err != nil {
		cancel()
		return err
	}
	if _, err := s.poReceipt(hctx, tx); err != nil {
		tx.Rollback()
		cancel()
		return err
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel()
		time.Sleep(s.HoldFor)
		if err := tx.Commit(); err != nil {
			s.Logger.Warn("late transaction did not commit", "err", err)
			return
		}
		s.mu.Lock()
		s.stats["po-receipt (late commit)"]++
		s.mu.Unlock()
	}()
	return nil
}

// Wait waits for late transactions still open.
func (s *Simulator) Wait() { s.wg.Wait() }

// now is the database clock at statement time, truncated to the second
// (EBS SYSDATE), in UTC for SQLite and PostgreSQL.
func (s *Simulator) now() string {
	switch s.Dialect.Name() {
	case "postgres":
		return "date_trunc('second', clock_timestamp() AT TIME ZONE 'UTC')"
	case "oracle":
		return "SYSDATE"
	}
	return "strftime('%Y-%m-%d %H:%M:%S', 'now')"
}

// q rewrites ? placeholders and NOW for the dialect.
func (s *Simulator) q(sql string) string {
	var b strings.Builder
	n := 0
	for _, r := range strings.ReplaceAll(sql, "NOW", s.now()) {
		if r == '?' {
			n++
			b.WriteString(s.Dialect.Placeholder(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *Simulator) exec(ctx context.Context, tx *sql.Tx, q string, args ...any) error {
	_, err := tx.ExecContext(ctx, s.q(q), args...)
	return err
}

// Quantities are handled in thousandths, exactly, and written as text.
type qty int64

func parseQty(v any) (qty, error) {
	var str string
	switch x := v.(type) {
	case string:
		str = x
	case []byte:
		str = string(x)
	case int64:
		return qty(x * 1000), nil
	case float64:
		str = strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return 0, fmt.Errorf("quantity %T", v)
	}
	neg := strings.HasPrefix(str, "-")
	str = strings.TrimPrefix(str, "-")
	whole, frac, _ := strings.Cut(str, ".")
	frac = (frac + "000")[:3]
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("quantity %q: %w", str, err)
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("quantity %q: %w", str, err)
	}
	q := qty(w*1000 + f)
	if neg {
		q = -q
	}
	return q, nil
}

func (q qty) String() string {
	sign := ""
	if q < 0 {
		sign, q = "-", -q
	}
	s := sign + strconv.FormatInt(int64(q/1000), 10)
	if f := q % 1000; f != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%03d", f), "0")
	}
	return s
}

const (
	orgM1    = 207
	userOps  = 1318
	userMfg  = 1005
	userSys  = 0
	periodID = 1026
)

type item struct {
	id  int64
	uom string
	kg  bool
}

var components = []item{{6241, "KG", true}, {6242, "Ea", false}, {8841, "Ea", false}}

func (s *Simulator) login() int64 { return 40000 + int64(s.intn(9999)) }

func (s *Simulator) randomQty(it item, lo, hi int) qty {
	n := qty(lo+s.intn(hi-lo+1)) * 1000
	if it.kg {
		n += qty(s.intn(4) * 250) // quarter kilograms
	}
	return n
}

const mmtCols = "TRANSACTION_ID, INVENTORY_ITEM_ID, ORGANIZATION_ID, SUBINVENTORY_CODE, REVISION, TRANSACTION_TYPE_ID, TRANSACTION_ACTION_ID, " +
	"TRANSACTION_SOURCE_TYPE_ID, TRANSACTION_SOURCE_ID, TRANSACTION_SOURCE_NAME, TRANSACTION_QUANTITY, TRANSACTION_UOM, PRIMARY_QUANTITY, " +
	"TRANSACTION_DATE, ACCT_PERIOD_ID, TRANSFER_TRANSACTION_ID, TRANSFER_ORGANIZATION_ID, TRANSFER_SUBINVENTORY, COSTED_FLAG, SOURCE_CODE, " +
	"SOURCE_LINE_ID, TRANSACTION_REFERENCE, CREATED_BY, CREATION_DATE, LAST_UPDATED_BY, LAST_UPDATE_DATE, LAST_UPDATE_LOGIN"

type mmt struct {
	id, item                 int64
	sub                      string
	rev                      any
	typ, action, srcType     int
	srcID                    any
	srcName                  any
	q                        qty
	uom                      string
	xferID, xferOrg, xferSub any
	sourceCode, sourceLine   any
	ref                      string
	user                     int64
}

func (s *Simulator) insertMMT(ctx context.Context, tx *sql.Tx, m mmt) error {
	return s.exec(ctx, tx, "INSERT INTO MTL_MATERIAL_TRANSACTIONS ("+mmtCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NOW, ?, ?, ?, ?, 'N', ?, ?, ?, ?, NOW, ?, NOW, ?)",
		m.id, m.item, orgM1, m.sub, m.rev, m.typ, m.action, m.srcType, m.srcID, m.srcName, m.q.String(), m.uom, m.q.String(),
		periodID, m.xferID, m.xferOrg, m.xferSub, m.sourceCode, m.sourceLine, m.ref, m.user, m.user, s.login())
}

func (s *Simulator) newLayer(ctx context.Context, tx *sql.Tx, itemID int64, sub string, rev, lot any, q qty, mmtID, user int64) error {
	return s.exec(ctx, tx, "INSERT INTO MTL_ONHAND_QUANTITIES_DETAIL (ONHAND_QUANTITIES_ID, INVENTORY_ITEM_ID, ORGANIZATION_ID, SUBINVENTORY_CODE, REVISION, LOT_NUMBER, "+
		"PRIMARY_TRANSACTION_QUANTITY, TRANSACTION_QUANTITY, DATE_RECEIVED, CREATE_TRANSACTION_ID, CONTAINERIZED_FLAG, OWNING_ORGANIZATION_ID, PLANNING_ORGANIZATION_ID, "+
		"CREATED_BY, CREATION_DATE, LAST_UPDATED_BY, LAST_UPDATE_DATE, LAST_UPDATE_LOGIN) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NOW, ?, 2, ?, ?, ?, NOW, ?, NOW, ?)",
		s.next("moqd"), itemID, orgM1, sub, rev, lot, q.String(), q.String(), mmtID, orgM1, orgM1, user, user, s.login())
}

type layer struct {
	id int64
	q  qty
}

// onHand lists an item's layers in a subinventory, oldest first.
func (s *Simulator) onHand(ctx context.Context, tx *sql.Tx, itemID int64, sub string) ([]layer, qty, error) {
	rows, err := tx.QueryContext(ctx, s.q("SELECT ONHAND_QUANTITIES_ID, PRIMARY_TRANSACTION_QUANTITY FROM MTL_ONHAND_QUANTITIES_DETAIL WHERE INVENTORY_ITEM_ID = ? AND ORGANIZATION_ID = ? AND SUBINVENTORY_CODE = ? ORDER BY DATE_RECEIVED, ONHAND_QUANTITIES_ID"), itemID, orgM1, sub)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []layer
	var total qty
	for rows.Next() {
		var l layer
		var v any
		if err := rows.Scan(&l.id, &v); err != nil {
			return nil, 0, err
		}
		if l.q, err = parseQty(v); err != nil {
			return nil, 0, err
		}
		total += l.q
		out = append(out, l)
	}
	return out, total, rows.Err()
}

// consume takes q from the layers, oldest first: layers used up are
// deleted, the last one touched is updated.
func (s *Simulator) consume(ctx context.Context, tx *sql.Tx, layers []layer, q qty, mmtID, user int64) error {
	for _, l := range layers {
		if q <= 0 {
			break
		}
		if l.q <= q {
			if err := s.exec(ctx, tx, "DELETE FROM MTL_ONHAND_QUANTITIES_DETAIL WHERE ONHAND_QUANTITIES_ID = ?", l.id); err != nil {
				return err
			}
			q -= l.q
			continue
		}
		left := (l.q - q).String()
		if err := s.exec(ctx, tx, "UPDATE MTL_ONHAND_QUANTITIES_DETAIL SET PRIMARY_TRANSACTION_QUANTITY = ?, TRANSACTION_QUANTITY = ?, UPDATE_TRANSACTION_ID = ?, LAST_UPDATED_BY = ?, LAST_UPDATE_DATE = NOW, LAST_UPDATE_LOGIN = ? WHERE ONHAND_QUANTITIES_ID = ?",
			left, left, mmtID, user, s.login(), l.id); err != nil {
			return err
		}
		q = 0
	}
	return nil
}

func (s *Simulator) poReceipt(ctx context.Context, tx *sql.Tx) (bool, error) {
	it := components[s.intn(len(components))]
	q := s.randomQty(it, 20, 400)
	po := 31880 + int64(s.intn(400))
	uomName := map[string]string{"KG": "Kilogram", "Ea": "Each"}[it.uom]
	receive, deliver := s.next("rcv"), s.next("rcv")
	ship := 190400 + int64(s.intn(5000))
	line := 205600 + int64(s.intn(5000))
	for _, r := range []struct {
		id, parent int64
		typ, dest  string
		sub        any
	}{{receive, -1, "RECEIVE", "RECEIVING", nil}, {deliver, receive, "DELIVER", "INVENTORY", "Stores"}} {
		if err := s.exec(ctx, tx, "INSERT INTO RCV_TRANSACTIONS (TRANSACTION_ID, TRANSACTION_TYPE, TRANSACTION_DATE, PARENT_TRANSACTION_ID, QUANTITY, UNIT_OF_MEASURE, UOM_CODE, PRIMARY_QUANTITY, "+
			"PRIMARY_UNIT_OF_MEASURE, SHIPMENT_HEADER_ID, SHIPMENT_LINE_ID, SOURCE_DOCUMENT_CODE, DESTINATION_TYPE_CODE, PO_HEADER_ID, PO_LINE_ID, VENDOR_ID, VENDOR_SITE_ID, ORGANIZATION_ID, "+
			"SUBINVENTORY, EMPLOYEE_ID, CREATED_BY, CREATION_DATE, LAST_UPDATED_BY, LAST_UPDATE_DATE, LAST_UPDATE_LOGIN) VALUES (?, ?, NOW, ?, ?, ?, ?, ?, ?, ?, ?, 'PO', ?, ?, ?, 601, 1415, ?, ?, 25, ?, NOW, ?, NOW, ?)",
			r.id, r.typ, r.parent, q.String(), uomName, it.uom, q.String(), uomName, ship, line, r.dest, po, 88000+line%1000, orgM1, r.sub, userOps, userOps, s.login()); err != nil {
			return false, err
		}
	}
	id := s.next("mmt")
	if err := s.insertMMT(ctx, tx, mmt{id: id, item: it.id, sub: "Stores", typ: 18, action: 27, srcType: 1, srcID: po, srcName: strconv.FormatInt(po-27356, 10),
		q: q, uom: it.uom, sourceCode: "RCV", sourceLine: deliver, ref: fmt.Sprintf("PO %d line 1", po-27356), user: userOps}); err != nil {
		return false, err
	}
	var lot any
	if it.kg {
		lot = fmt.Sprintf("L%d-%04d", id%10000, s.intn(10000))
	}
	return true, s.newLayer(ctx, tx, it.id, "Stores", nil, lot, q, id, userOps)
}

// job is a released job with quantity left to complete.
func (s *Simulator) releasedJob(ctx context.Context, tx *sql.Tx) (id, itemID int64, start, done qty, ok bool, err error) {
	rows, err := tx.QueryContext(ctx, s.q("SELECT WIP_ENTITY_ID, PRIMARY_ITEM_ID, START_QUANTITY, QUANTITY_COMPLETED FROM WIP_DISCRETE_JOBS WHERE STATUS_TYPE = 3 ORDER BY WIP_ENTITY_ID"))
	if err != nil {
		return 0, 0, 0, 0, false, err
	}
	defer rows.Close()
	type job struct {
		id, item    int64
		start, done qty
	}
	var jobs []job
	for rows.Next() {
		var j job
		var a, b any
		if err := rows.Scan(&j.id, &j.item, &a, &b); err != nil {
			return 0, 0, 0, 0, false, err
		}
		if j.start, err = parseQty(a); err != nil {
			return 0, 0, 0, 0, false, err
		}
		if j.done, err = parseQty(b); err != nil {
			return 0, 0, 0, 0, false, err
		}
		if j.done < j.start {
			jobs = append(jobs, j)
		}
	}
	if err := rows.Err(); err != nil || len(jobs) == 0 {
		return 0, 0, 0, 0, false, err
	}
	j := jobs[s.intn(len(jobs))]
	return j.id, j.item, j.start, j.done, true, nil
}

func (s *Simulator) wipIssue(ctx context.Context, tx *sql.Tx) (bool, error) {
	job, _, _, _, ok, err := s.releasedJob(ctx, tx)
	if err != nil || !ok {
		return false, err
	}
	it := components[s.intn(len(components))]
	layers, have, err := s.onHand(ctx, tx, it.id, "Stores")
	if err != nil || have <= 0 {
		return false, err
	}
	q := min(have, s.randomQty(it, 1, 60))
	id := s.next("mmt")
	if err := s.insertMMT(ctx, tx, mmt{id: id, item: it.id, sub: "Stores", typ: 35, action: 1, srcType: 5, srcID: job, srcName: strconv.FormatInt(job, 10),
		q: -q, uom: it.uom, ref: fmt.Sprintf("Job %d", job), user: userMfg}); err != nil {
		return false, err
	}
	return true, s.consume(ctx, tx, layers, q, id, userMfg)
}

func (s *Simulator) subTransfer(ctx context.Context, tx *sql.Tx) (bool, error) {
	from, to := "FGI", "Staging"
	itemID := []int64{2155, 2157}[s.intn(2)]
	layers, have, err := s.onHand(ctx, tx, itemID, from)
	if err != nil || have <= 0 {
		return false, err
	}
	q := min(have, qty(1+s.intn(8))*1000)
	out, in := s.next("mmt"), s.next("mmt")
	ref := fmt.Sprintf("Pick for SO %d", 69300+s.intn(60))
	if err := s.insertMMT(ctx, tx, mmt{id: out, item: itemID, sub: from, rev: "A", typ: 2, action: 2, srcType: 13, q: -q, uom: "Ea",
		xferID: in, xferOrg: int64(orgM1), xferSub: to, ref: ref, user: userOps}); err != nil {
		return false, err
	}
	if err := s.insertMMT(ctx, tx, mmt{id: in, item: itemID, sub: to, rev: "A", typ: 2, action: 2, srcType: 13, q: q, uom: "Ea",
		xferID: out, xferOrg: int64(orgM1), xferSub: from, ref: ref, user: userOps}); err != nil {
		return false, err
	}
	if err := s.consume(ctx, tx, layers, q, out, userOps); err != nil {
		return false, err
	}
	return true, s.newLayer(ctx, tx, itemID, to, "A", nil, q, in, userOps)
}

func (s *Simulator) wipCompletion(ctx context.Context, tx *sql.Tx) (bool, error) {
	job, itemID, start, done, ok, err := s.releasedJob(ctx, tx)
	if err != nil || !ok {
		return false, err
	}
	q := min(start-done, qty(1+s.intn(6))*1000)
	id := s.next("mmt")
	if err := s.insertMMT(ctx, tx, mmt{id: id, item: itemID, sub: "FGI", rev: "A", typ: 44, action: 31, srcType: 5, srcID: job, srcName: strconv.FormatInt(job, 10),
		q: q, uom: "Ea", ref: fmt.Sprintf("Job %d", job), user: userMfg}); err != nil {
		return false, err
	}
	done += q
	status := 3
	if done == start {
		status = 4
	}
	if err := s.exec(ctx, tx, "UPDATE WIP_DISCRETE_JOBS SET QUANTITY_COMPLETED = ?, STATUS_TYPE = ?, DATE_COMPLETED = CASE WHEN ? = 4 THEN NOW ELSE DATE_COMPLETED END, "+
		"LAST_UPDATED_BY = ?, LAST_UPDATE_DATE = NOW, LAST_UPDATE_LOGIN = ? WHERE WIP_ENTITY_ID = ?", done.String(), status, status, userMfg, s.login(), job); err != nil {
		return false, err
	}
	return true, s.newLayer(ctx, tx, itemID, "FGI", "A", nil, q, id, userMfg)
}

// costing is the cost manager: every uncosted material transaction is
// costed in one statement (a same-second burst of updates).
func (s *Simulator) costing(ctx context.Context, tx *sql.Tx) (bool, error) {
	res, err := tx.ExecContext(ctx, s.q("UPDATE MTL_MATERIAL_TRANSACTIONS SET COSTED_FLAG = NULL, LAST_UPDATED_BY = ?, LAST_UPDATE_DATE = NOW, REQUEST_ID = ?, "+
		"PROGRAM_APPLICATION_ID = 401, PROGRAM_ID = 31001, PROGRAM_UPDATE_DATE = NOW WHERE COSTED_FLAG = 'N'"), userSys, 5082000+int64(s.intn(100000)))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

func (s *Simulator) orderEntry(ctx context.Context, tx *sql.Tx) (bool, error) {
	h := s.next("oeh")
	num := s.next("order")
	cust := []int64{1290, 1006, 1608, 3347}[s.intn(4)]
	var po any
	if s.intn(2) == 0 {
		po = fmt.Sprintf("CUST-PO-%05d", s.intn(100000))
	}
	if err := s.exec(ctx, tx, "INSERT INTO OE_ORDER_HEADERS_ALL (HEADER_ID, ORDER_NUMBER, ORG_ID, ORDER_TYPE_ID, SOLD_TO_ORG_ID, SHIP_TO_ORG_ID, INVOICE_TO_ORG_ID, ORDERED_DATE, "+
		"BOOKED_FLAG, OPEN_FLAG, CANCELLED_FLAG, FLOW_STATUS_CODE, ORDER_CATEGORY_CODE, TRANSACTIONAL_CURR_CODE, CUST_PO_NUMBER, PRICE_LIST_ID, PAYMENT_TERM_ID, "+
		"CREATED_BY, CREATION_DATE, LAST_UPDATED_BY, LAST_UPDATE_DATE, LAST_UPDATE_LOGIN) VALUES (?, ?, 204, 1430, ?, ?, ?, NOW, 'N', 'Y', 'N', 'ENTERED', 'ORDER', 'USD', ?, 1000, 4, ?, NOW, ?, NOW, ?)",
		h, num, cust, cust+135, cust+134, po, userOps, userOps, s.login()); err != nil {
		return false, err
	}
	for n := 1; n <= 1+s.intn(3); n++ {
		itemID, name, price := int64(2155), "AS54888", "1199.00"
		if s.intn(3) == 0 {
			itemID, name, price = 2157, "AS54999", "1849.50"
		}
		if err := s.exec(ctx, tx, "INSERT INTO OE_ORDER_LINES_ALL (LINE_ID, HEADER_ID, LINE_NUMBER, SHIPMENT_NUMBER, ORG_ID, INVENTORY_ITEM_ID, ORDERED_ITEM, ORDERED_QUANTITY, "+
			"ORDER_QUANTITY_UOM, UNIT_SELLING_PRICE, UNIT_LIST_PRICE, LINE_TYPE_ID, SHIP_FROM_ORG_ID, SHIP_TO_ORG_ID, REQUEST_DATE, FLOW_STATUS_CODE, TAX_VALUE, "+
			"CREATED_BY, CREATION_DATE, LAST_UPDATED_BY, LAST_UPDATE_DATE, LAST_UPDATE_LOGIN) VALUES (?, ?, ?, 1, 204, ?, ?, ?, 'Ea', ?, ?, 1427, ?, ?, NOW, 'ENTERED', '0', ?, NOW, ?, NOW, ?)",
			s.next("oel"), h, n, itemID, name, strconv.Itoa(1+s.intn(4)), price, price, orgM1, cust+135, userOps, userOps, s.login()); err != nil {
			return false, err
		}
	}
	return true, nil
}

func (s *Simulator) pickID(ctx context.Context, tx *sql.Tx, q string, args ...any) (int64, bool, error) {
	rows, err := tx.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return 0, false, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return 0, false, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return 0, false, err
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids[s.intn(len(ids))], true, nil
}

func (s *Simulator) orderBooking(ctx context.Context, tx *sql.Tx) (bool, error) {
	h, ok, err := s.pickID(ctx, tx, "SELECT HEADER_ID FROM OE_ORDER_HEADERS_ALL WHERE FLOW_STATUS_CODE = 'ENTERED'")
	if err != nil || !ok {
		return false, err
	}
	if err := s.exec(ctx, tx, "UPDATE OE_ORDER_HEADERS_ALL SET BOOKED_FLAG = 'Y', BOOKED_DATE = NOW, FLOW_STATUS_CODE = 'BOOKED', LAST_UPDATED_BY = ?, LAST_UPDATE_DATE = NOW, LAST_UPDATE_LOGIN = ? WHERE HEADER_ID = ?", userOps, s.login(), h); err != nil {
		return false, err
	}
	return true, s.exec(ctx, tx, "UPDATE OE_ORDER_LINES_ALL SET FLOW_STATUS_CODE = 'AWAITING_SHIPPING', SUBINVENTORY = 'Staging', SCHEDULE_SHIP_DATE = NOW, LAST_UPDATED_BY = ?, LAST_UPDATE_DATE = NOW WHERE HEADER_ID = ?", userOps, h)
}

func (s *Simulator) salesOrderIssue(ctx context.Context, tx *sql.Tx) (bool, error) {
	rows, err := tx.QueryContext(ctx, s.q("SELECT LINE_ID, HEADER_ID, INVENTORY_ITEM_ID, ORDERED_QUANTITY FROM OE_ORDER_LINES_ALL WHERE FLOW_STATUS_CODE = 'AWAITING_SHIPPING' ORDER BY LINE_ID"))
	if err != nil {
		return false, err
	}
	type line struct {
		id, header, item int64
		q                qty
	}
	var lines []line
	for rows.Next() {
		var l line
		var v any
		if err := rows.Scan(&l.id, &l.header, &l.item, &v); err != nil {
			rows.Close()
			return false, err
		}
		if l.q, err = parseQty(v); err != nil {
			rows.Close()
			return false, err
		}
		lines = append(lines, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, err
	}
	for _, l := range lines {
		layers, have, err := s.onHand(ctx, tx, l.item, "Staging")
		if err != nil {
			return false, err
		}
		if have < l.q {
			continue
		}
		id := s.next("mmt")
		if err := s.insertMMT(ctx, tx, mmt{id: id, item: l.item, sub: "Staging", rev: "A", typ: 33, action: 1, srcType: 2, srcID: l.header,
			q: -l.q, uom: "Ea", sourceCode: "ORDER ENTRY", sourceLine: l.id, ref: fmt.Sprintf("SO line %d", l.id), user: userOps}); err != nil {
			return false, err
		}
		if err := s.consume(ctx, tx, layers, l.q, id, userOps); err != nil {
			return false, err
		}
		if err := s.exec(ctx, tx, "UPDATE OE_ORDER_LINES_ALL SET FLOW_STATUS_CODE = 'CLOSED', LAST_UPDATED_BY = ?, LAST_UPDATE_DATE = NOW WHERE LINE_ID = ?", userOps, l.id); err != nil {
			return false, err
		}
		var open int
		if err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM OE_ORDER_LINES_ALL WHERE HEADER_ID = ? AND FLOW_STATUS_CODE <> 'CLOSED'"), l.header).Scan(&open); err != nil {
			return false, err
		}
		if open == 0 {
			if err := s.exec(ctx, tx, "UPDATE OE_ORDER_HEADERS_ALL SET FLOW_STATUS_CODE = 'CLOSED', OPEN_FLAG = 'N', LAST_UPDATED_BY = ?, LAST_UPDATE_DATE = NOW WHERE HEADER_ID = ?", userOps, l.header); err != nil {
				return false, err
			}
		}
		return true, nil
	}
	return false, nil
}

// interfaceChurn processes pending interface rows (deleted, or flagged
// in error one time in five) and adds new ones.
func (s *Simulator) interfaceChurn(ctx context.Context, tx *sql.Tx) (bool, error) {
	rows, err := tx.QueryContext(ctx, s.q("SELECT TRANSACTION_INTERFACE_ID FROM MTL_TRANSACTIONS_INTERFACE WHERE PROCESS_FLAG = 1 ORDER BY TRANSACTION_INTERFACE_ID"))
	if err != nil {
		return false, err
	}
	var pending []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return false, err
		}
		pending = append(pending, id)
	}
	rows.Close()
	for _, id := range pending {
		if s.intn(5) == 0 {
			err = s.exec(ctx, tx, "UPDATE MTL_TRANSACTIONS_INTERFACE SET PROCESS_FLAG = 3, ERROR_CODE = 'INV_INT_LOCCODE', ERROR_EXPLANATION = 'Invalid locator', LAST_UPDATED_BY = 0, LAST_UPDATE_DATE = NOW WHERE TRANSACTION_INTERFACE_ID = ?", id)
		} else {
			err = s.exec(ctx, tx, "DELETE FROM MTL_TRANSACTIONS_INTERFACE WHERE TRANSACTION_INTERFACE_ID = ?", id)
		}
		if err != nil {
			return false, err
		}
	}
	for range 1 + s.intn(3) {
		id := s.next("mti")
		it := components[s.intn(len(components))]
		if err := s.exec(ctx, tx, "INSERT INTO MTL_TRANSACTIONS_INTERFACE (TRANSACTION_INTERFACE_ID, TRANSACTION_HEADER_ID, SOURCE_CODE, SOURCE_HEADER_ID, SOURCE_LINE_ID, PROCESS_FLAG, "+
			"TRANSACTION_MODE, LOCK_FLAG, INVENTORY_ITEM_ID, ORGANIZATION_ID, SUBINVENTORY_CODE, TRANSACTION_TYPE_ID, TRANSACTION_QUANTITY, TRANSACTION_UOM, TRANSACTION_DATE, "+
			"TRANSACTION_REFERENCE, CREATED_BY, CREATION_DATE, LAST_UPDATED_BY, LAST_UPDATE_DATE, LAST_UPDATE_LOGIN) VALUES (?, ?, 'LEGACY_WMS', ?, 1, 1, 3, 2, ?, ?, 'Stores', 42, ?, ?, NOW, 'WMS adjustment', ?, NOW, ?, NOW, ?)",
			id, id, 55100+int64(s.intn(900)), it.id, orgM1, s.randomQty(it, 1, 10).String(), it.uom, userOps, userOps, s.login()); err != nil {
			return false, err
		}
	}
	return true, nil
}

func (s *Simulator) jobRelease(ctx context.Context, tx *sql.Tx) (bool, error) {
	job, ok, err := s.pickID(ctx, tx, "SELECT WIP_ENTITY_ID FROM WIP_DISCRETE_JOBS WHERE STATUS_TYPE = 1")
	if err != nil {
		return false, err
	}
	if ok {
		return true, s.exec(ctx, tx, "UPDATE WIP_DISCRETE_JOBS SET STATUS_TYPE = 3, DATE_RELEASED = NOW, LAST_UPDATED_BY = ?, LAST_UPDATE_DATE = NOW, LAST_UPDATE_LOGIN = ? WHERE WIP_ENTITY_ID = ?", userMfg, s.login(), job)
	}
	// Planning creates the next unreleased job.
	q := qty(10+s.intn(40)) * 1000
	return true, s.exec(ctx, tx, "INSERT INTO WIP_DISCRETE_JOBS (WIP_ENTITY_ID, ORGANIZATION_ID, PRIMARY_ITEM_ID, STATUS_TYPE, JOB_TYPE, CLASS_CODE, WIP_SUPPLY_TYPE, START_QUANTITY, "+
		"QUANTITY_COMPLETED, QUANTITY_SCRAPPED, NET_QUANTITY, SCHEDULED_START_DATE, SCHEDULED_COMPLETION_DATE, COMPLETION_SUBINVENTORY, SOURCE_CODE, FIRM_PLANNED_FLAG, PRIORITY, "+
		"CREATED_BY, CREATION_DATE, LAST_UPDATED_BY, LAST_UPDATE_DATE, REQUEST_ID, PROGRAM_APPLICATION_ID, PROGRAM_ID, PROGRAM_UPDATE_DATE) VALUES "+
		"(?, ?, ?, 1, 1, 'Discrete', 1, ?, '0', '0', ?, NOW, NOW, 'FGI', 'WSM', 1, 2, 0, NOW, 0, NOW, ?, 706, 33452, NOW)",
		s.next("wip"), orgM1, []int64{2155, 2157}[s.intn(2)], q.String(), q.String(), 5081000+int64(s.intn(10000)))
}
