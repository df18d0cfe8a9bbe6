package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"legacybridge/cdc/erpsim"
)

const erpSimulateHelp = `Simulates an Oracle E-Business Suite–shaped ERP for change capture demos
and tests. It creates the fixture schema (FIXTURE/schema/DIALECT.sql) when
its tables are missing and loads FIXTURE/seed.sql into empty tables, then
keeps writing business transactions — PO receipts, component issues,
subinventory transfers, job completions and releases, cost manager runs,
order entry, booking and shipping, interface churn — each in one database
transaction, with LAST_UPDATE_DATE stamped by the database clock, at --rate
per second until --duration has passed, --steps transactions were written,
or Ctrl-C. It prints how many of each kind it wrote.

  legacybridge erp simulate --dialect sqlite --dsn work/erp.db --rate 5 --duration 1m
  legacybridge erp simulate --dialect postgres --dsn "$PG_DSN" --late-commits

--late-commits (PostgreSQL) keeps about every tenth receipt's transaction
open for --hold while later ones commit: rows stamped early that become
visible late, the case that loses changes with a plain safety lag.

The DSN may hold a password: it is never printed. Point it at a scratch
database, never at a real ERP.`

func cmdERP(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, "Usage: legacybridge erp simulate [flags]\n\n"+erpSimulateHelp)
		if len(args) == 0 {
			return &exitError{2, errors.New("erp: name a subcommand: simulate")}
		}
		return nil
	}
	if args[0] != "simulate" {
		return &exitError{2, fmt.Errorf("erp: unknown subcommand %q (simulate)", args[0])}
	}
	fs := newFlagSet("erp simulate", "erp simulate --dialect sqlite|postgres --dsn DSN [--rate N] [--duration D] [--steps N]", erpSimulateHelp, stderr)
	dialect := fs.String("dialect", "sqlite", "sqlite or postgres")
	dsn := fs.String("dsn", "", "sqlite: a database file (created when missing); postgres: postgres://USER:PASS@HOST:PORT/DB; required")
	dsnEnv := fs.String("dsn-env", "", "read the DSN from this environment variable instead of --dsn")
	fixture := fs.String("fixture", "legacy-fixtures/erp", "the ERP fixture folder (schema/ and seed.sql)")
	rate := fs.Float64("rate", 2, "business transactions per second")
	duration := fs.Duration("duration", 0, "stop after this long (0: until Ctrl-C or --steps)")
	steps := fs.Int("steps", 0, "stop after this many business transactions, written as fast as possible (0: no limit; --rate applies)")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same sequence of transactions")
	late := fs.Bool("late-commits", false, "postgres: hold some receipts' transactions open while later ones commit")
	hold := fs.Duration("hold", 3*time.Second, "how long a late transaction stays open")
	setupOnly := fs.Bool("setup-only", false, "create and seed the schema, then exit")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return &exitError{2, fmt.Errorf("erp simulate: unexpected argument %q", fs.Arg(0))}
	}
	if *dsnEnv != "" {
		v, ok := os.LookupEnv(*dsnEnv)
		if !ok {
			return &exitError{2, fmt.Errorf("erp simulate: --dsn-env: environment variable %s is not set", *dsnEnv)}
		}
		*dsn = v
	}
	if *dsn == "" {
		fs.Usage()
		return &exitError{2, errors.New("erp simulate: --dsn (or --dsn-env) is required")}
	}
	if *dialect != "sqlite" && *dialect != "postgres" {
		return &exitError{2, fmt.Errorf("erp simulate: --dialect %q: sqlite or postgres (the Oracle schema is for reference; the simulator does not write to Oracle)", *dialect)}
	}
	if *rate <= 0 || *steps < 0 {
		return &exitError{2, errors.New("erp simulate: --rate must be positive and --steps not negative")}
	}
	if _, err := os.Stat(*fixture); err != nil {
		return fmt.Errorf("erp simulate: --fixture: %w (run from the repository root, or point --fixture at legacy-fixtures/erp)", err)
	}
	d, err := dialectOf(*dialect)
	if err != nil {
		return err
	}
	db, err := openDB(d, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	log, err := newLogger(stderr, "info", "text")
	if err != nil {
		return err
	}
	if err := waitReady(ctx, db, d, 30*time.Second, log); err != nil {
		return fmt.Errorf("erp simulate: %w", err)
	}
	sim := &erpsim.Simulator{DB: db, Dialect: d, Rate: *rate, Seed: *seed, LateCommits: *late, HoldFor: *hold, Logger: log}
	if err := sim.Setup(ctx, *fixture); err != nil {
		return err
	}
	if *setupOnly {
		fmt.Fprintln(stdout, "schema and seed rows in place")
		return nil
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	if *steps > 0 {
		for i := 0; i < *steps && ctx.Err() == nil; i++ {
			if _, err := sim.Step(ctx); err != nil && ctx.Err() == nil {
				return fmt.Errorf("erp simulate: transaction %d: %w", i+1, err)
			}
		}
		sim.Wait()
	} else if err := sim.Run(ctx); err != nil {
		return err
	}
	stats := sim.Stats()
	kinds := make([]string, 0, len(stats))
	for k := range stats {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	total := 0
	for _, k := range kinds {
		fmt.Fprintf(stdout, "%-22s %d\n", k, stats[k])
		total += stats[k]
	}
	fmt.Fprintf(stdout, "%-22s %d\n", "total", total)
	return nil
}
