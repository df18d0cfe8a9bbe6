package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"legacybridge/parsers/fixedwidth"
)

const layoutHelp = `Turns a COBOL copybook into a fixed-width layout file (YAML) on stdout:
PIC X/A/9/S9/V, COMP/COMP-4/COMP-5/BINARY, COMP-3 (packed), signed overpunch,
SIGN SEPARATE, BLANK WHEN ZERO, OCCURS, FILLER, and record types from several
01 levels or from REDEFINES paired with level-88 values. What is not
supported (OCCURS DEPENDING ON, SYNC, COMP-1/COMP-2, P, level 66, ...) is an
error naming the copybook line. Review the record roles (header, detail,
trailer) in the output: they are guessed from the record names.

A flow's parser.layout may also name the copybook itself (.cpy, .cbl, .cob).

Example:
  legacybridge layout from-copybook --encoding ibm037 PAYMENTS.cpy > payments.yaml`

func cmdLayout(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "from-copybook" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(stdout, "usage: legacybridge layout from-copybook [--encoding ibm037] [--framing fixed|lines|auto|rdw|bdw] FILE.cpy\n\n"+layoutHelp)
			return nil
		}
		return &exitError{2, errors.New("layout: usage: legacybridge layout from-copybook [--encoding ibm037] [--framing fixed|lines|auto|rdw|bdw] FILE.cpy")}
	}
	fs := newFlagSet("layout from-copybook", "layout from-copybook [--encoding ibm037] [--framing fixed] FILE.cpy", layoutHelp, stderr)
	enc := fs.String("encoding", "", "encoding of the data files: ibm037 (default), ibm1047, ibm1140, iso-8859-1, windows-1252, utf-8, ...")
	framing := fs.String("framing", "", "record framing of the data files: fixed (default for EBCDIC: record_length bytes each, no line ends), lines, auto, rdw (variable-length records after 4-byte record descriptor words) or bdw (RDWs inside blocks with block descriptor words)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return &exitError{2, errors.New("layout from-copybook: name one copybook file")}
	}
	l, err := fixedwidth.LoadCopybook(fs.Arg(0), fixedwidth.CopybookOptions{Encoding: *enc, Framing: *framing})
	if err != nil {
		return &exitError{1, err}
	}
	return fixedwidth.WriteLayout(stdout, l)
}
