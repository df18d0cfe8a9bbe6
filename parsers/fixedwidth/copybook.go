package fixedwidth

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"legacybridge/parsers/fixedwidth/copybook"
)

// CopybookOptions are the settings a copybook does not carry.
type CopybookOptions struct {
	// Encoding of the data files (default "ibm037": EBCDIC, as copybooks
	// with COMP-3 fields usually describe).
	Encoding string

	// Framing of the data files: default "fixed" (record_length bytes
	// each, no line ends) for EBCDIC, "lines" otherwise.
	Framing string
}

// copybookExts are the file name endings LoadLayout reads as copybooks.
var copybookExts = []string{".cpy", ".cbl", ".cob", ".copy", ".copybook"}

// IsCopybook says whether LoadLayout reads path as a COBOL copybook.
func IsCopybook(path string) bool {
	p := strings.ToLower(path)
	for _, e := range copybookExts {
		if strings.HasSuffix(p, e) {
			return true
		}
	}
	return false
}

// LoadCopybook reads a COBOL copybook file as a Layout.
func LoadCopybook(path string, opts CopybookOptions) (*Layout, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("fixedwidth: %w", err)
	}
	defer f.Close()
	return ReadCopybook(f, path, opts)
}

// ReadCopybook turns a COBOL copybook into a validated Layout: one record
// type per 01 level (or per REDEFINES variant of a level-88 type code),
// PIC X as left-justified strings, PIC 9 as integers or decimals (V gives
// the scale), S9 with a trailing overpunch sign (SIGN LEADING: in the
// first digit; SIGN ... SEPARATE: a + or - of its own), COMP-3
// as packed, COMP/COMP-4/COMP-5/BINARY as binary; FILLER is left out.
// Field names are the COBOL names in lower case with _ for -, OCCURS
// adding _1, _2, ... Roles are guessed from the record names (HEADER or
// HDR: header; TRAILER, TRL or TRLR: trailer): review them, and add
// controls for the trailer totals. name is used in errors and as the
// layout name (its base name, without extension).
func ReadCopybook(r io.Reader, name string, opts CopybookOptions) (*Layout, error) {
	cb, err := copybook.Parse(r, name)
	if err != nil {
		return nil, err
	}
	l := FromCopybook(cb, opts)
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("fixedwidth: copybook %s: %w", name, err)
	}
	return l, nil
}

// FromCopybook builds a Layout from a parsed copybook (not validated).
func FromCopybook(cb *copybook.Copybook, opts CopybookOptions) *Layout {
	base := cb.Name
	if i := strings.LastIndexAny(base, `/\`); i >= 0 {
		base = base[i+1:]
	}
	if i := strings.LastIndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	l := &Layout{Name: copybook.SnakeName(base), Encoding: opts.Encoding, Framing: opts.Framing,
		Description: "from COBOL copybook " + filepath.Base(cb.Name)}
	if l.Encoding == "" {
		l.Encoding = "ibm037"
	}
	if l.Framing == "" {
		l.Framing = FramingLines
		if c, ok := codePages[strings.NewReplacer("cp", "", "ibm", "", "ebcdic-", "", "ebcdic", "", "-", "").Replace(strings.ToLower(l.Encoding))]; ok && c.ebcdic {
			l.Framing = FramingFixed
		}
	}
	if l.Framing == FramingLines {
		l.Framing = "" // the default
	}
	same := true
	for _, r := range cb.Records {
		same = same && (l.RecordLength == 0 || l.RecordLength == r.Length)
		l.RecordLength = max(l.RecordLength, r.Length)
	}
	if !same && l.Framing != FramingFixed {
		l.RecordLength = 0 // lines of each type's own length
	}
	if len(cb.Notes) > 0 {
		l.Description += "; left out: " + strings.Join(cb.Notes, "; ")
	}
	if cb.TypeCode != nil {
		l.TypeCode = &TypeCode{Start: cb.TypeCode.Offset + 1, Length: cb.TypeCode.Length}
	}
	for _, r := range cb.Records {
		rt := RecordType{Name: copybook.SnakeName(r.Name), Code: r.Code, Role: guessRole(r.Name)}
		if cb.TypeCode == nil {
			rt.Role = ""
		}
		seen := map[string]int{}
		for _, f := range r.Fields {
			if cb.TypeCode != nil && f.Offset == cb.TypeCode.Offset && f.Length == cb.TypeCode.Length {
				continue // the type code is the record's Code
			}
			name := copybook.SnakeName(f.Name)
			if n := seen[name]; n > 0 {
				seen[name]++
				name += "_" + strconv.Itoa(n+1)
			} else {
				seen[name] = 1
			}
			rt.Fields = append(rt.Fields, copybookField(name, f))
		}
		l.Records = append(l.Records, rt)
	}
	return l
}

func guessRole(name string) string {
	for _, w := range strings.FieldsFunc(strings.ToUpper(name), func(r rune) bool { return r == '-' || r == '_' }) {
		switch w {
		case "HEADER", "HDR", "HEAD":
			return RoleHeader
		case "TRAILER", "TRL", "TRLR", "TRAIL":
			return RoleTrailer
		}
	}
	return ""
}

func copybookField(name string, f copybook.Field) Field {
	out := Field{Name: name, Start: f.Offset + 1, Length: f.Length}
	if !f.Numeric {
		out.Trim = "right" // leading blanks are data
		if f.JustRight {
			out.Trim = "left"
		}
		return out
	}
	out.Type = TypeInteger
	if f.Scale > 0 || f.Digits > 18 {
		out.Type = TypeDecimal
		sc := f.Scale
		out.Scale = &sc
	}
	out.BlankWhenZero = f.BlankWhenZero
	switch f.Usage {
	case copybook.Packed:
		out.Storage, out.Signed, out.Digits = StoragePacked, f.Signed, f.Digits
	case copybook.Binary:
		out.Storage, out.Signed, out.Digits = StorageBinary, f.Signed, f.Digits
	default:
		switch {
		case !f.Signed:
		case f.SignSeparate && f.SignLeading:
			out.Sign = "leading"
		case f.SignSeparate:
			out.Sign = "trailing"
		case f.SignLeading:
			out.Sign = signLeadingOverpunch
		default:
			out.Sign = signOverpunch
		}
	}
	return out
}

// WriteLayout writes l as YAML that LoadLayout reads back.
func WriteLayout(w io.Writer, l *Layout) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(l); err != nil {
		return fmt.Errorf("fixedwidth: write layout %s: %w", l.Name, err)
	}
	return enc.Close()
}
