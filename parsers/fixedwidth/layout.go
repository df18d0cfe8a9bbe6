package fixedwidth

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	_ "time/tzdata" // layouts name IANA zones; hosts may lack zoneinfo

	"go.yaml.in/yaml/v3"
)

// A Layout describes one fixed-width file format: how lines are told apart
// and where each field sits. Layouts are usually written in YAML and read
// with LoadLayout; the zero value of every optional setting is its default.
//
// Columns are 1-based and inclusive. For UTF-8 input they count characters
// (runes) unless Columns is "bytes"; for the single-byte encodings a byte is
// a character.
type Layout struct {
	Name        string `yaml:"name"`                  // required; used in errors
	Description string `yaml:"description,omitempty"` // free text

	// Encoding of the input: "utf-8" (default), "ascii", "iso-8859-1"
	// (alias "latin1"), "windows-1252" (alias "cp1252"), the PC code pages
	// "ibm437" and "ibm850", or the EBCDIC code pages "ibm037" (US/Canada),
	// "ibm1047" (Latin-1 open systems) and "ibm1140" (037 with the euro),
	// also spelt "cp037", "ebcdic-037" and so on. Values are always
	// returned as UTF-8 strings. EBCDIC input has no line ends: it needs
	// framing "fixed".
	Encoding string `yaml:"encoding,omitempty"`

	// Framing says how records are separated: "lines" (default: LF or
	// CRLF), "fixed" (no separators: every record_length bytes is a
	// record, as mainframes write; a last partial record is a short line,
	// and a trailing DOS end-of-file byte or line end is tolerated for the
	// ASCII-based encodings), "auto" (lines, and a line of exactly k
	// times record_length characters, k >= 2, is k records: for NACHA
	// files that arrive with or without line breaks), "rdw" (variable-length
	// records, each after its 4-byte record descriptor word: the length,
	// RDW included, in 2 big-endian bytes, then 2 zero bytes; as an FTP
	// binary transfer of a RECFM=VB dataset with RDW gives them) or "bdw"
	// (the same records in blocks, each after its 4-byte block descriptor
	// word: the block's length, BDW included, big-endian in 2 bytes and 2
	// zero bytes, or in 4 bytes with the top bit set for blocks over 32760
	// bytes). A broken descriptor word, or a record the input ends inside,
	// is an error naming its byte offset, and the Decoder reads no further.
	Framing string `yaml:"framing,omitempty"`

	// BlockFill, when set, fills blocking records: a record made only of
	// it, outside any header's batch, is skipped (NACHA pads a file to a
	// multiple of ten records with lines of "9"), and the Encoder pads the
	// last block with such records when BlockSize asks for blocks. One
	// printable ASCII character (written in the layout's encoding), or a
	// byte in hex written as it is ("0x00" for low-values, "0x40" for an
	// EBCDIC blank). Default: none.
	BlockFill string `yaml:"block_fill,omitempty"`

	// BlockSize, in bytes, is for the Encoder. With framing fixed, lines or
	// auto it is a multiple of record_length: the output is padded with
	// block_fill records to a whole number of blocks of that many record
	// bytes (line ends not counted; e.g. 940 for NACHA's blocking factor
	// of ten 94-character records). With framing bdw it is the most bytes
	// of a block, its BDW included (at most 32760, the default).
	BlockSize int `yaml:"block_size,omitempty"`

	// Columns says what a column is for UTF-8 input: "characters" (default)
	// or "bytes". With "bytes", a field boundary that splits a multi-byte
	// character is an error.
	Columns string `yaml:"columns,omitempty"`

	// RecordLength, when set, is the length of every record in columns:
	// shorter lines are short lines, and longer lines are accepted only if
	// everything past RecordLength is blank. 0 (default): a line must reach
	// the end of its record type's last field and may be longer.
	RecordLength int `yaml:"record_length,omitempty"`

	// PadShortLines pads a short line with blanks instead of failing it
	// (default false: a short line is an error naming the line).
	PadShortLines bool `yaml:"pad_short_lines,omitempty"`

	// CommentPrefix, when set, marks lines to skip (e.g. "#"). Empty lines
	// are always skipped. Default: no comment lines.
	CommentPrefix string `yaml:"comment_prefix,omitempty"`

	// Location is the IANA time zone dates are read in (default "UTC").
	Location string `yaml:"location,omitempty"`

	// TypeCode is where the record type code sits. Required when there is
	// more than one record type; with one record type every line is of it.
	TypeCode *TypeCode `yaml:"type_code,omitempty"`

	Records []RecordType `yaml:"records"` // at least one

	// TrailerCount, when set, checks a trailer field against the number of
	// records read; a mismatch, or input that ends without a trailer, is an
	// error.
	TrailerCount *TrailerCount `yaml:"trailer_count,omitempty"`

	// Controls are the totals trailer records carry (record counts, hash
	// totals, amount totals), checked against the records of their batch
	// (see Control). Default: none.
	Controls []Control `yaml:"controls,omitempty"`

	// Documents declares business documents: a header record, the records
	// up to its trailer and the trailer, which a Parser with Documents set
	// (or a DocumentReader) yields as one record (see Document). They
	// change nothing for the Decoder, which reads one record a line.
	// Default: none.
	Documents []Document `yaml:"documents,omitempty"`
}

// TypeCode is the place of the record type code on every line.
type TypeCode struct {
	Start  int `yaml:"start"`  // 1-based column
	Length int `yaml:"length"` // columns
}

// RecordType is one kind of line.
type RecordType struct {
	Name string `yaml:"name"` // Record.Type of its records
	Code string `yaml:"code"` // value at TypeCode (exactly TypeCode.Length characters)

	// Role is "detail" (default), "header" or "trailer". A header's fields
	// are carried, as strings, in the Envelope of the records after it.
	Role string `yaml:"role,omitempty"`

	// Level nests batches (default 1): a header of level 2 opens a batch
	// inside the open level-1 batch, and a trailer of level 2 closes it
	// (file header -> batch header -> entries -> batch control -> file
	// control). Details belong to the innermost level unless they say
	// otherwise. A header's envelope holds the fields of every open
	// header, the inner one winning on equal names.
	Level int `yaml:"level,omitempty"`

	Fields []Field `yaml:"fields"`
}

// Record type roles.
const (
	RoleHeader  = "header"
	RoleDetail  = "detail"
	RoleTrailer = "trailer"
)

// Field is one field of a record type.
type Field struct {
	Name   string `yaml:"name"`
	Start  int    `yaml:"start"`            // 1-based first column
	Length int    `yaml:"length,omitempty"` // columns; give Length or End
	End    int    `yaml:"end,omitempty"`    // 1-based last column, inclusive

	// Type is "string" (default), "integer" (int64), "decimal" (exact
	// json.Number) or "date" (time.Time).
	Type string `yaml:"type,omitempty"`

	// Storage is how a number is stored: "display" (default: digits as
	// text), "packed" (COBOL COMP-3: two digits a byte, the sign in the
	// last half-byte: C or F positive, D negative) or "binary" (COBOL
	// COMP, COMP-4, COMP-5: big-endian, 2, 4 or 8 bytes). Packed and
	// binary fields are integers or decimals (scale for implied decimal
	// places) and need byte columns: a single-byte encoding, or utf-8
	// with columns "bytes".
	Storage string `yaml:"storage,omitempty"`

	// Signed, for packed and binary fields: the value may be negative
	// (PIC S9). Default false: packed fields carry sign half-byte F and
	// binary fields are unsigned.
	Signed bool `yaml:"signed,omitempty"`

	// Digits, for packed and binary fields, is the number of digits of
	// the COBOL picture (e.g. 7 for S9(5)V99); writing a value with more
	// is an error. Default: as many as the bytes hold.
	Digits int `yaml:"digits,omitempty"`

	// BlankWhenZero: a blank integer or decimal field is zero, and zero is
	// written as blanks (COBOL BLANK WHEN ZERO). Default false: blank is
	// no value.
	BlankWhenZero bool `yaml:"blank_when_zero,omitempty"`

	// PivotYear, for dates with a two-digit year YY, is the first year of
	// the hundred-year window: with 1950, 50-99 are 1950-1999 and 00-49
	// are 2000-2049. Default: 1969 (69-99 are 19xx, 00-68 are 20xx).
	// CYY (C = 0 for 19xx, 1 for 20xx, as in IBM i CYYMMDD) needs none.
	PivotYear int `yaml:"pivot_year,omitempty"`

	// Scale, for decimals, is the number of implied decimal places
	// ("0012345" with scale 3 is 12.345); a decimal point in the data is
	// then an error. Unset (default): the data carries an explicit point,
	// or none.
	Scale *int `yaml:"scale,omitempty"`

	// Format, for dates (required): YYYY, YY, CYY (century digit and
	// year), MM, DD, HH, MI (or MM right after HH), SS and JJJ (day of
	// year), with - / . : space and T as literals; e.g. YYYYMMDD, YYMMDD,
	// CYYMMDD, YYJJJ (Julian), MMDDYYYY, YYYYMMDDHHMMSS, HHMMSS.
	// Two-digit years 69-99 are 19xx, 00-68 are 20xx. Dates are read in
	// Layout.Location (a local time skipped by daylight saving is an
	// error); a format without a year is a time of day on 0000-01-01 UTC.
	Format string `yaml:"format,omitempty"`

	// Sign, for integers and decimals: "leading" (default: optional + or -
	// before the digits; COBOL SIGN LEADING SEPARATE), "trailing" (optional
	// + or - after them; SIGN TRAILING SEPARATE), "overpunch" (COBOL zoned
	// decimal: the last digit carries the sign, { A-I positive, } J-R
	// negative; in EBCDIC the zone half-byte of the last byte, C positive,
	// D negative, F unsigned, whatever the code page) or
	// "leading_overpunch" (the same in the first digit: SIGN LEADING).
	Sign string `yaml:"sign,omitempty"`

	// Trim says which pad characters to remove: "both" (default), "right"
	// (left-justified value), "left" (right-justified value) or "none".
	Trim string `yaml:"trim,omitempty"`

	// Pad is the pad character to trim, one ASCII character other than a
	// comma (default " ").
	Pad string `yaml:"pad,omitempty"`

	// Required makes a blank (or null_if) value an error. A blank optional
	// field is "" for strings and nil for the other types.
	Required bool `yaml:"required,omitempty"`

	// NullIf lists trimmed values that mean "no value" (e.g. "00000000"
	// for a date); they yield nil.
	NullIf []string `yaml:"null_if,omitempty"`
}

// TrailerCount names the trailer field holding a record count.
type TrailerCount struct {
	Record string `yaml:"record"` // name of a record type with role trailer
	Field  string `yaml:"field"`  // name of its integer field

	// Counts is "details" (default): records of role detail since the
	// previous trailer (or the start); or "records": every record since
	// then, the header and the trailer itself included.
	Counts string `yaml:"counts,omitempty"`
}

// A Control is a total a trailer record carries, checked when the trailer
// is read (and filled in by the Encoder when the record leaves it out): a
// count of records, or the sum of a field over records. It covers the
// records since the header of the trailer's level opened the batch (or,
// without headers, since the previous trailer of that type). A mismatch is
// an error naming both values.
type Control struct {
	Record string `yaml:"record"` // trailer record type holding the total
	Field  string `yaml:"field"`  // its integer or decimal field

	// Count lists record types to count (e.g. [entry, addenda]).
	Count []string `yaml:"count,omitempty"`

	// Sum names the integer or decimal field to add up, over the record
	// types in Of. Give Count or Sum.
	Sum string   `yaml:"sum,omitempty"`
	Of  []string `yaml:"of,omitempty"`

	// Where, when set, only counts or sums records whose field has one of
	// the values (e.g. credit transaction codes).
	Where *Where `yaml:"where,omitempty"`

	// ModuloDigits keeps only the low-order digits of the total, as hash
	// totals do (NACHA's entry hash keeps 10). Default 0: all of them.
	ModuloDigits int `yaml:"modulo_digits,omitempty"`
}

// Where selects records by a field's value (as text, trimmed).
type Where struct {
	Field string   `yaml:"field"`
	In    []string `yaml:"in"`
}

// Overpunched signs: in the last digit (COBOL's default, SIGN TRAILING)
// or in the first (SIGN LEADING).
const (
	signOverpunch        = "overpunch"
	signLeadingOverpunch = "leading_overpunch"
)

// overpunched says whether a digit of the field carries its sign.
func (f *field) overpunched() bool {
	return f.sign == signOverpunch || f.sign == signLeadingOverpunch
}

// Field storage.
const (
	StorageDisplay = "display"
	StoragePacked  = "packed"
	StorageBinary  = "binary"
)

// Framing values.
const (
	FramingLines = "lines"
	FramingFixed = "fixed"
	FramingAuto  = "auto"
	FramingRDW   = "rdw"
	FramingBDW   = "bdw"
)

// maxBlock is the most bytes of a block with a 2-byte BDW (z/OS BLKSIZE),
// and maxRDW the most of a record, its RDW included.
const (
	maxBlock = 32760
	maxRDW   = 32756
)

// Field types.
const (
	TypeString  = "string"
	TypeInteger = "integer"
	TypeDecimal = "decimal"
	TypeDate    = "date"
)

// LayoutError lists every problem found in a layout.
type LayoutError struct {
	Layout   string   // layout name or file
	Problems []string // one sentence each
}

func (e *LayoutError) Error() string {
	return fmt.Sprintf("fixedwidth: layout %s: %s", e.Layout, strings.Join(e.Problems, "; "))
}

// LoadLayout reads a YAML layout file and validates it. Unknown keys are
// errors. A COBOL copybook (a file ending .cpy, .cbl, .cob, .copy or
// .copybook) is read with ReadCopybook and default CopybookOptions.
func LoadLayout(path string) (*Layout, error) {
	if IsCopybook(path) {
		return LoadCopybook(path, CopybookOptions{})
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fixedwidth: %w", err)
	}
	l, err := ParseLayout(data)
	if err != nil {
		var le *LayoutError
		if errors.As(err, &le) {
			le.Layout = path
			return nil, le
		}
		return nil, fmt.Errorf("fixedwidth: layout %s: %w", path, err)
	}
	return l, nil
}

// ParseLayout reads a YAML layout and validates it. Unknown keys are errors.
func ParseLayout(data []byte) (*Layout, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var l Layout
	if err := dec.Decode(&l); err != nil {
		if err == io.EOF {
			return nil, errors.New("empty layout")
		}
		return nil, err
	}
	var extra any
	if err := dec.Decode(&extra); err != io.EOF {
		return nil, errors.New("more than one YAML document")
	}
	if err := l.Validate(); err != nil {
		return nil, err
	}
	return &l, nil
}

// Validate reports every problem in the layout as a *LayoutError, or nil.
func (l *Layout) Validate() error {
	_, err := compile(l)
	return err
}

// schema is a validated layout, ready for decoding.
type schema struct {
	name      string
	charset   string           // canonical encoding name
	cmap      *charmap.Charmap // single-byte charsets other than ascii
	ebcdic    bool
	space     byte // the charset's blank
	framing   string
	blockFill byte
	hasFill   bool     // blockFill is set
	blockSize int      // Encoder: block bytes (bdw: the most, BDW included)
	hasRaw    bool     // some field is read from raw bytes
	maxLevel  int      // deepest header level; 0: no headers
	headerAt  []string // header type name by level (index 1..maxLevel)
	trailerAt []string // trailer type name by level
	controls  []*control
	docs      []*document // Layout.Documents, compiled
	byteCols  bool        // utf-8 with byte columns
	recLen    int
	pad       bool
	comment   []byte
	loc       *time.Location
	codeStart int // 0: no dispatch
	codeLen   int
	byCode    map[string]*recType
	types     []*recType
	trailer   *recType // with the count field, or nil
	countIdx  int
	countAll  bool
}

type recType struct {
	idx    int
	name   string
	code   string
	role   string
	fields []*field
	maxEnd int // last column of any field (or of the type code)
	need   int // columns a line must have
	level  int
	raw    []int // indexes of fields read from raw bytes
	// structType has one string field per layout field, tagged for
	// go-fixedwidth with the field's columns and trimming.
	structType reflect.Type
}

type field struct {
	name     string
	start    int
	end      int
	kind     string
	scale    int
	implied  bool
	goLayout string
	format   string
	sign     string
	trim     string
	pad      byte
	required bool
	nullIf   []string
	loc      *time.Location

	storage   string
	raw       bool // read from the raw bytes: packed, binary, EBCDIC zoned
	signed    bool
	digits    int
	blankZero bool
	yearPos   int // with yearLen > 0: where CYY or a pivoted YY sits
	yearLen   int // 3 for CYY, 2 for YY with a pivot year
	pivot     int // first year of the YY window
}

// go-fixedwidth alignment for a trim setting: the alignment names the side
// the value is justified to, so the other side is trimmed.
var trimAlignment = map[string]string{
	"both":  "default",
	"right": "left",
	"left":  "right",
	"none":  "none",
}

func compile(l *Layout) (*schema, error) {
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	if l == nil {
		return nil, &LayoutError{Layout: "<nil>", Problems: []string{"no layout"}}
	}
	s := &schema{name: l.Name, recLen: l.RecordLength, pad: l.PadShortLines, byCode: map[string]*recType{}}
	if l.Name == "" {
		bad("name is missing")
	}
	s.space = ' '
	switch enc := strings.ToLower(l.Encoding); enc {
	case "", "utf-8", "utf8":
		s.charset = "utf-8"
	case "ascii", "us-ascii":
		s.charset = "ascii"
	case "iso-8859-1", "latin1":
		s.charset, s.cmap = "iso-8859-1", charmap.ISO8859_1
	case "windows-1252", "cp1252":
		s.charset, s.cmap = "windows-1252", charmap.Windows1252
	default:
		if c, ok := codePages[strings.NewReplacer("cp", "", "ibm", "", "ebcdic-", "", "ebcdic", "", "-", "").Replace(enc)]; ok {
			s.charset, s.cmap, s.ebcdic = c.name, c.cm, c.ebcdic
			if c.ebcdic {
				s.space = 0x40
			}
		} else {
			bad("encoding %q is not one of utf-8, ascii, iso-8859-1, windows-1252, ibm437, ibm850, ibm037, ibm1047, ibm1140", l.Encoding)
		}
	}
	switch l.Framing {
	case "", FramingLines:
		s.framing = FramingLines
		if s.ebcdic {
			bad("encoding %s has no line ends: set framing: fixed and record_length", l.Encoding)
		}
	case FramingFixed, FramingAuto:
		s.framing = l.Framing
		if l.RecordLength <= 0 {
			bad("framing %s needs record_length", l.Framing)
		}
	case FramingRDW, FramingBDW:
		s.framing = l.Framing
	default:
		bad("framing %q is not lines, fixed, auto, rdw or bdw", l.Framing)
	}
	rawFill := false
	if f := l.BlockFill; f != "" {
		switch {
		case len(f) == 1 && f[0] >= 0x21 && f[0] <= 0x7e:
			s.blockFill, s.hasFill = f[0], true
		case len(f) == 4 && (f[:2] == "0x" || f[:2] == "0X"):
			if b, err := strconv.ParseUint(f[2:], 16, 8); err == nil {
				s.blockFill, s.hasFill, rawFill = byte(b), true, true
				break
			}
			fallthrough
		default:
			bad("block_fill %q must be one printable ASCII character, or a byte in hex such as 0x00", f)
		}
	}
	switch n := l.BlockSize; {
	case n == 0:
		if s.framing == FramingBDW {
			s.blockSize = maxBlock
		}
	case s.framing == FramingBDW:
		if n < 8 || n > maxBlock {
			bad("block_size %d is not between 8 and %d (the most bytes of a block, its BDW included)", n, maxBlock)
		}
		s.blockSize = n
	case s.framing == FramingRDW:
		bad("block_size is for framing bdw (the most bytes of a block) or fixed-length records (blocks the Encoder fills), not rdw")
	case l.RecordLength <= 0 || n < 0 || n%l.RecordLength != 0:
		bad("block_size %d must be a multiple of record_length %d", n, l.RecordLength)
	case !s.hasFill:
		bad("block_size %d needs block_fill: the character the Encoder pads the last block with", n)
	default:
		s.blockSize = n
	}
	switch l.Columns {
	case "", "characters":
	case "bytes":
		s.byteCols = s.charset == "utf-8"
	default:
		bad("columns %q is not characters or bytes", l.Columns)
	}
	if l.RecordLength < 0 {
		bad("record_length %d is negative", l.RecordLength)
	}
	if l.CommentPrefix != "" {
		s.comment = []byte(l.CommentPrefix)
	}
	s.loc = time.UTC
	if l.Location != "" {
		loc, err := time.LoadLocation(l.Location)
		if err != nil {
			bad("location %q: %v", l.Location, err)
		} else {
			s.loc = loc
		}
	}
	if tc := l.TypeCode; tc != nil {
		if tc.Start < 1 {
			bad("type_code start %d must be at least 1", tc.Start)
		}
		if tc.Length < 1 {
			bad("type_code length %d must be at least 1", tc.Length)
		}
		if l.RecordLength > 0 && tc.Start+tc.Length-1 > l.RecordLength {
			bad("type_code ends at column %d, past record_length %d", tc.Start+tc.Length-1, l.RecordLength)
		}
		s.codeStart, s.codeLen = tc.Start, tc.Length
	} else if len(l.Records) > 1 {
		bad("type_code is required with more than one record type")
	}
	if len(l.Records) == 0 {
		bad("no record types")
	}
	names := map[string]bool{}
	for i := range l.Records {
		r := &l.Records[i]
		where := fmt.Sprintf("records[%d]", i)
		if r.Name != "" {
			where += " (" + r.Name + ")"
		}
		rt := &recType{idx: i, name: r.Name, code: r.Code, role: r.Role, level: r.Level}
		if r.Level < 0 || r.Level > 9 {
			bad("%s: level %d is not between 1 and 9", where, r.Level)
		}
		if r.Name == "" {
			bad("%s: name is missing", where)
		} else if names[r.Name] {
			bad("%s: duplicate record type name", where)
		}
		names[r.Name] = true
		switch r.Role {
		case "":
			rt.role = RoleDetail
		case RoleHeader, RoleDetail, RoleTrailer:
		default:
			bad("%s: role %q is not header, detail or trailer", where, r.Role)
		}
		if l.TypeCode != nil {
			if r.Code == "" {
				bad("%s: code is missing", where)
			} else if n := utf8.RuneCountInString(r.Code); n != l.TypeCode.Length {
				bad("%s: code %q is %d characters, type_code length is %d", where, r.Code, n, l.TypeCode.Length)
			} else if prev, dup := s.byCode[r.Code]; dup {
				bad("%s: code %q is also used by record type %q", where, r.Code, prev.name)
			} else {
				s.byCode[r.Code] = rt
			}
			rt.maxEnd = l.TypeCode.Start + l.TypeCode.Length - 1
		} else if r.Code != "" {
			bad("%s: code %q given but the layout has no type_code", where, r.Code)
		}
		fnames := map[string]bool{}
		var sf []reflect.StructField
		for j := range r.Fields {
			f := &r.Fields[j]
			fw := fmt.Sprintf("%s: fields[%d]", where, j)
			if f.Name != "" {
				fw += " (" + f.Name + ")"
			}
			cf := compileField(f, s, func(format string, args ...any) { bad(fw+": "+format, args...) })
			if f.Name == "" {
				bad("%s: name is missing", fw)
			} else if fnames[f.Name] {
				bad("%s: duplicate field name", fw)
			}
			fnames[f.Name] = true
			if cf == nil {
				continue
			}
			if l.RecordLength > 0 && cf.end > l.RecordLength {
				bad("%s: ends at column %d, past record_length %d", fw, cf.end, l.RecordLength)
			}
			for _, o := range rt.fields {
				if cf.start <= o.end && o.start <= cf.end {
					bad("%s: columns %d-%d overlap field %q (%d-%d)", fw, cf.start, cf.end, o.name, o.start, o.end)
				}
			}
			if cf.raw {
				rt.raw = append(rt.raw, len(rt.fields))
				s.hasRaw = true
			}
			rt.fields = append(rt.fields, cf)
			if cf.end > rt.maxEnd {
				rt.maxEnd = cf.end
			}
			pad := "_" // go-fixedwidth spells a blank pad "_" and "_" as "__"
			switch cf.pad {
			case ' ':
			case '_':
				pad = "__"
			default:
				pad = string(cf.pad)
			}
			sf = append(sf, reflect.StructField{
				Name: fmt.Sprintf("F%d", len(sf)),
				Type: reflect.TypeFor[string](),
				Tag:  reflect.StructTag(fmt.Sprintf(`fixed:"%d,%d,%s,%s"`, cf.start, cf.end, trimAlignment[cf.trim], pad)),
			})
		}
		rt.structType = reflect.StructOf(sf)
		rt.need = rt.maxEnd
		if l.RecordLength > 0 {
			rt.need = l.RecordLength
		}
		s.types = append(s.types, rt)
	}
	s.levels(bad)
	s.compileControls(l.Controls, bad)
	s.compileDocuments(l.Documents, bad)
	if s.hasFill && !rawFill && s.cmap != nil {
		if b, ok := s.cmap.EncodeRune(rune(s.blockFill)); ok {
			s.blockFill = b
		}
	}
	if tc := l.TrailerCount; tc != nil {
		switch tc.Counts {
		case "", "details":
		case "records":
			s.countAll = true
		default:
			bad("trailer_count: counts %q is not details or records", tc.Counts)
		}
		var rt *recType
		for _, t := range s.types {
			if t.name == tc.Record {
				rt = t
			}
		}
		switch {
		case rt == nil:
			bad("trailer_count: record type %q does not exist", tc.Record)
		case rt.role != RoleTrailer:
			bad("trailer_count: record type %q has role %s, not trailer", tc.Record, rt.role)
		default:
			s.countIdx = -1
			for i, f := range rt.fields {
				if f.name == tc.Field {
					s.countIdx = i
				}
			}
			if s.countIdx < 0 {
				bad("trailer_count: record type %q has no field %q", tc.Record, tc.Field)
			} else if k := rt.fields[s.countIdx].kind; k != TypeInteger {
				bad("trailer_count: field %q is %s, not integer", tc.Field, k)
			} else {
				s.trailer = rt
			}
		}
	}
	if len(probs) > 0 {
		name := l.Name
		if name == "" {
			name = "(unnamed)"
		}
		return nil, &LayoutError{Layout: name, Problems: probs}
	}
	return s, nil
}

func compileField(f *Field, s *schema, bad func(string, ...any)) *field {
	ok := true
	fail := func(format string, args ...any) { ok = false; bad(format, args...) }
	cf := &field{name: f.Name, start: f.Start, kind: f.Type, sign: f.Sign, trim: f.Trim, pad: ' ',
		required: f.Required, nullIf: f.NullIf, format: f.Format, loc: s.loc,
		storage: f.Storage, signed: f.Signed, digits: f.Digits, blankZero: f.BlankWhenZero}
	if f.Start < 1 {
		fail("start %d must be at least 1", f.Start)
	}
	switch {
	case f.Length != 0 && f.End != 0:
		fail("give length or end, not both")
	case f.Length == 0 && f.End == 0:
		fail("length (or end) is missing")
	case f.Length < 0:
		fail("length %d must be at least 1", f.Length)
	case f.Length > 0:
		cf.end = f.Start + f.Length - 1
	case f.End < f.Start:
		fail("end %d is before start %d", f.End, f.Start)
	default:
		cf.end = f.End
	}
	if cf.kind == "" {
		cf.kind = TypeString
	}
	switch cf.kind {
	case TypeString, TypeInteger, TypeDecimal, TypeDate:
	default:
		fail("type %q is not string, integer, decimal or date", f.Type)
	}
	if f.Scale != nil {
		switch {
		case cf.kind != TypeDecimal:
			fail("scale is only for decimals")
		case *f.Scale < 0 || *f.Scale > 30:
			fail("scale %d is not between 0 and 30", *f.Scale)
		default:
			cf.scale, cf.implied = *f.Scale, true
		}
	}
	switch f.Sign {
	case "":
		cf.sign = "leading"
	case "leading", "trailing", signOverpunch, signLeadingOverpunch:
		if cf.kind != TypeInteger && cf.kind != TypeDecimal {
			fail("sign is only for integers and decimals")
		}
		if cf.overpunched() && cf.kind == TypeDecimal && !cf.implied {
			fail("%s sign needs an implied scale", f.Sign)
		}
	default:
		fail("sign %q is not leading, trailing, overpunch or leading_overpunch", f.Sign)
	}
	switch f.Trim {
	case "":
		cf.trim = "both"
	case "both", "left", "right", "none":
	default:
		fail("trim %q is not both, left, right or none", f.Trim)
	}
	if f.Pad != "" {
		if len(f.Pad) != 1 || f.Pad[0] < 0x20 || f.Pad[0] > 0x7e || f.Pad[0] == ',' {
			fail("pad %q must be one printable ASCII character other than a comma", f.Pad)
		} else {
			cf.pad = f.Pad[0]
		}
	}
	byteCols := s.charset != "utf-8" || s.byteCols
	numeric := cf.kind == TypeInteger || cf.kind == TypeDecimal
	switch f.Storage {
	case "", StorageDisplay:
		cf.storage = StorageDisplay
		if f.Signed || f.Digits != 0 {
			fail("signed and digits are only for packed and binary storage")
		}
		if s.ebcdic && cf.overpunched() {
			cf.raw = true // the zone half-byte, whatever the code page
		}
	case StoragePacked, StorageBinary:
		cf.raw = true
		if !numeric {
			fail("storage %s is only for integers and decimals", f.Storage)
		}
		if !byteCols {
			fail("storage %s needs byte columns: a single-byte encoding, or columns: bytes", f.Storage)
		}
		if f.Sign != "" {
			fail("sign is for display numbers; packed and binary fields take signed: true")
		}
		if f.Trim != "" || f.Pad != "" {
			fail("trim and pad are for display fields")
		}
		width := cf.end - cf.start + 1
		most := 2*width - 1
		if f.Storage == StorageBinary {
			switch width { // digits the bytes can hold (COMP-5); the range is checked too
			case 2:
				most = 5
			case 4:
				most = 10
			case 8:
				most = 20
			default:
				if cf.end > 0 {
					fail("binary storage is 2, 4 or 8 bytes, not %d", width)
				}
			}
		}
		if f.Digits < 0 || f.Digits > most && cf.end > 0 {
			fail("digits %d do not fit %d bytes of %s storage (at most %d)", f.Digits, width, f.Storage, most)
		}
		if cf.digits == 0 {
			cf.digits = most
		}
		if !cf.implied {
			cf.implied = true // scale 0: the digits are the value
		}
		if cf.kind == TypeDecimal && f.Scale == nil {
			fail("a %s decimal needs scale (the implied decimal places, V in the picture)", f.Storage)
		}
	default:
		fail("storage %q is not display, packed or binary", f.Storage)
	}
	if f.BlankWhenZero && !numeric {
		fail("blank_when_zero is only for integers and decimals")
	}
	if f.PivotYear != 0 && (f.PivotYear < 1000 || f.PivotYear > 9899) {
		fail("pivot_year %d is not a four-digit year", f.PivotYear)
	}
	if cf.kind == TypeDate {
		if f.Storage != "" && f.Storage != StorageDisplay {
			fail("dates are display storage")
		}
		if i := strings.Index(f.Format, "CYY"); i >= 0 {
			cf.yearPos, cf.yearLen = i, 3
		} else if i := yyIndex(f.Format); i >= 0 && f.PivotYear != 0 {
			cf.yearPos, cf.yearLen, cf.pivot = i, 2, f.PivotYear
		} else if f.PivotYear != 0 {
			fail("pivot_year is only for formats with a two-digit year YY")
		}
	} else if f.PivotYear != 0 {
		fail("pivot_year is only for dates")
	}
	if cf.kind == TypeDate {
		if f.Format == "" {
			fail("format is missing (e.g. YYYYMMDD)")
		} else if gl, err := goDateLayout(f.Format, f.PivotYear != 0); err != nil {
			fail("format %q: %v", f.Format, err)
		} else if n := utf8.RuneCountInString(f.Format); cf.end > 0 && n != cf.end-cf.start+1 {
			fail("format %q is %d characters, the field is %d", f.Format, n, cf.end-cf.start+1)
		} else {
			cf.goLayout = gl
			if !strings.Contains(f.Format, "YY") {
				cf.loc = time.UTC // a time of day has no zone (and year 0 has odd offsets)
			}
		}
	} else if f.Format != "" {
		fail("format is only for dates")
	}
	if !ok {
		return nil
	}
	return cf
}

// goDateLayout turns a COBOL-style date picture into a Go time layout.
// With pivot, a two-digit year is read as four digits (the decoder puts
// the full year in).
func goDateLayout(f string, pivot bool) (string, error) {
	var b strings.Builder
	prev := ""
	for i := 0; i < len(f); {
		tok := ""
		for _, t := range []string{"YYYY", "CYY", "JJJ", "YY", "MM", "DD", "HH", "MI", "SS"} {
			if strings.HasPrefix(f[i:], t) {
				tok = t
				break
			}
		}
		switch tok {
		case "YYYY":
			b.WriteString("2006")
		case "CYY":
			b.WriteString("2006") // the decoder puts the full year in
		case "YY":
			if pivot {
				b.WriteString("2006")
			} else {
				b.WriteString("06")
			}
		case "JJJ":
			b.WriteString("002")
		case "MM":
			if prev == "HH" {
				b.WriteString("04")
			} else {
				b.WriteString("01")
			}
		case "DD":
			b.WriteString("02")
		case "HH":
			b.WriteString("15")
		case "MI":
			b.WriteString("04")
		case "SS":
			b.WriteString("05")
		case "":
			switch c := f[i]; c {
			case '-', '/', '.', ':', ' ', 'T':
				b.WriteByte(c)
				i++
				prev = ""
				continue
			default:
				return "", fmt.Errorf("unexpected %q at position %d", c, i+1)
			}
		}
		i += len(tok)
		prev = tok
	}
	return b.String(), nil
}

// yyIndex is the position of a two-digit year token YY in a date format
// (not part of YYYY or CYY), or -1.
func yyIndex(f string) int {
	for i := 0; i < len(f); {
		switch {
		case strings.HasPrefix(f[i:], "YYYY"):
			i += 4
		case strings.HasPrefix(f[i:], "CYY"):
			i += 3
		case strings.HasPrefix(f[i:], "YY"):
			return i
		default:
			i++
		}
	}
	return -1
}
