package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"legacybridge"
	"legacybridge/parsers/edifact"
	"legacybridge/parsers/fixedwidth"
	"legacybridge/parsers/x12"
)

func cmdParse(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("parse", "parse [--format auto|x12|edifact|fixedwidth] [--layout FILE] [--charset NAME] FILE...",
		`Parses files and prints one JSON object per X12 transaction set (with its
envelope: sender/receiver ids and qualifiers, ISA/GS/ST control numbers,
version, functional group id), per UN/EDIFACT message (UNB/UNG/UNH envelope,
text decoded from the UNB character set to UTF-8) or per fixed-width record. Files are streamed,
never read whole. On malformed input it prints what parsed before the fault,
names the file and the place (segment number, byte offset) on stderr, and exits
1 after trying every file.`, stderr)
	format := fs.String("format", "auto", "auto, x12, edifact or fixedwidth (auto: ISA → x12, UNA/UNB → edifact, otherwise fixedwidth with --layout)")
	layout := fs.String("layout", "", "fixed-width layout file")
	charset := fs.String("charset", "utf-8", "X12 text encoding: utf-8 (bytes that are not UTF-8 are read as Windows-1252, with a warning), windows-1252, iso-8859-1")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return &exitError{2, errors.New("parse: no files given")}
	}
	var fw *fixedwidth.Layout
	if *layout != "" {
		l, err := fixedwidth.LoadLayout(*layout)
		if err != nil {
			return err
		}
		fw = l
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	failed := 0
	for _, name := range fs.Args() {
		if err := parseFile(name, *format, fw, enc, *charset, stderr); err != nil {
			out.Flush()
			fmt.Fprintln(stderr, "legacybridge parse:", err)
			failed++
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if failed > 0 {
		return &exitError{1, fmt.Errorf("%d of %d file(s) could not be parsed", failed, fs.NArg())}
	}
	return nil
}

func parseFile(name, format string, fw *fixedwidth.Layout, enc *json.Encoder, charset string, stderr io.Writer) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return fmt.Errorf("%s is a folder; name the files in it (e.g. %s/*)", name, name)
	}
	br := bufio.NewReaderSize(f, 64<<10)
	if format == "auto" {
		format, err = detect(br, fw != nil)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	var p legacybridge.Parser
	switch format {
	case "x12":
		p = x12.Parser{Charset: charset, Warn: func(e *x12.ParseError) {
			fmt.Fprintln(stderr, "legacybridge parse: warning:", e)
		}}
	case "edifact":
		// Each interchange is read in the character set its UNB declares.
		p = edifact.Parser{Warn: func(e *edifact.ParseError) {
			fmt.Fprintln(stderr, "legacybridge parse: warning:", e)
		}}
	case "fixedwidth":
		if fw == nil {
			return fmt.Errorf("%s: fixed-width input needs --layout FILE", name)
		}
		p = fixedwidth.Parser{Layout: fw}
	default:
		return fmt.Errorf("format %q is not supported (auto, x12, edifact, fixedwidth)", format)
	}
	rr := p.NewReader(br, name)
	for {
		rec, err := rr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := enc.Encode(rec); err != nil {
			return err
		}
	}
}

// detect peeks at the start of the input: ISA (after a BOM or blanks) is X12,
// UNA/UNB (or a bare UNH) is EDIFACT, anything else is fixed-width when a layout was given.
func detect(br *bufio.Reader, haveLayout bool) (string, error) {
	head, _ := br.Peek(512)
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	head = bytes.TrimLeft(head, " \t\r\n")
	switch {
	case bytes.HasPrefix(head, []byte("ISA")):
		return "x12", nil
	case edifact.Detect(head):
		return "edifact", nil
	case haveLayout:
		return "fixedwidth", nil
	}
	return "", fmt.Errorf("cannot tell the format (no ISA header); for a fixed-width file pass --layout FILE, or set --format")
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
