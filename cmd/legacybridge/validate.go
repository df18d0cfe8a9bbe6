package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

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
	if err := validateAll(cfg); err != nil {
		lines := strings.Split(err.Error(), "\n")
		fmt.Fprintf(stderr, "%s: %d problem(s):\n", *cfgPath, len(lines))
		for _, l := range lines {
			fmt.Fprintln(stderr, "  -", l)
		}
		return &exitError{1, nil}
	}
	fmt.Fprintf(stdout, "%s: valid (%d flow(s), %d deliveries, %d captures)\n", *cfgPath, len(cfg.Flows), len(cfg.Deliveries), len(cfg.Captures))
	return nil
}
