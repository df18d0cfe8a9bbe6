package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"legacybridge/internal/config"
)

func cmdValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("validate", "validate --config FILE",
		"Checks the config, every layout and mapping it names, and lists every problem.\nNothing is started and no file is touched. Exit 0 when valid, 1 otherwise.", stderr)
	cfgPath := fs.String("config", "", "config file (YAML); required")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return &exitError{2, fmt.Errorf("%s: unexpected argument %q (did you mean --config %s?)", "validate", fs.Arg(0), fs.Arg(0))}
	}
	if *cfgPath == "" {
		fs.Usage()
		return &exitError{2, errors.New("validate: --config is required")}
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return &exitError{1, err}
	}
	problems := func(err error) error {
		lines := strings.Split(err.Error(), "\n")
		fmt.Fprintf(stderr, "%s: %d problem(s):\n", *cfgPath, len(lines))
		for _, l := range lines {
			fmt.Fprintln(stderr, "  -", l)
		}
		return &exitError{1, nil}
	}
	if err := validateAll(cfg); err != nil {
		return problems(err)
	}
	// Captures: the database checks 'run' makes at start, where it answers.
	errs, notes := checkCaptureDatabases(ctx, cfg, 10*time.Second)
	for _, n := range notes {
		fmt.Fprintln(stdout, n)
	}
	if err := errors.Join(errs...); err != nil {
		return problems(err)
	}
	fmt.Fprintf(stdout, "%s: valid (%d flow(s), %d deliveries, %d captures)\n", *cfgPath, len(cfg.Flows), len(cfg.Deliveries), len(cfg.Captures))
	return nil
}
