// Package copybook reads COBOL copybooks: the record descriptions
// (level numbers, PICTURE, USAGE, OCCURS, REDEFINES, level-88 conditions)
// that say where each field of a mainframe record sits and how it is
// stored. Parse gives the record types with byte offsets; package
// fixedwidth turns them into a Layout (fixedwidth.ReadCopybook).
//
// Supported: levels 01-49 and 88, FILLER, PIC X/A/9/S/V (with repeat
// counts) and numeric-edited pictures (read as text), USAGE DISPLAY,
// COMP/COMP-4/COMP-5/BINARY, COMP-3/PACKED-DECIMAL (on items or inherited
// from groups), SIGN LEADING/TRAILING [SEPARATE], BLANK WHEN ZERO,
// JUSTIFIED RIGHT, OCCURS n [TIMES] (expanded to name_1, name_2, ...),
// REDEFINES, VALUE. Record types come from several 01 levels, or from one
// 01 whose type code field has level-88 values, one per REDEFINES variant
// in order. Anything else (OCCURS DEPENDING ON, SYNC, COMP-1/COMP-2,
// POINTER, level 66, P in pictures, ...) is an error naming the line.
package copybook

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
)

// A Copybook is the record types a copybook describes.
type Copybook struct {
	Name     string
	Records  []*Record
	TypeCode *Span    // where the record type code sits; nil with one record type
	Notes    []string // what was left out, one sentence each (e.g. REDEFINES inside a record)
}

// Span is a byte range of a record.
type Span struct {
	Offset int // 0-based
	Length int
}

// Record is one record type.
type Record struct {
	Name   string // COBOL name: the 01 level, or the level-88 condition of a variant
	Code   string // value of the type code, or ""
	Length int    // bytes
	Fields []Field
	Line   int
}

// Usage is how a number is stored.
type Usage int

// Usages.
const (
	Display Usage = iota
	Packed        // COMP-3, PACKED-DECIMAL
	Binary        // COMP, COMP-4, COMP-5, BINARY
)

// Field is one elementary item (not FILLER).
type Field struct {
	Name          string // COBOL name; OCCURS adds -1, -2, ...
	Offset        int    // 0-based byte offset in the record
	Length        int    // bytes
	Numeric       bool   // PIC 9/S9/V; false for X, A and edited pictures
	Usage         Usage
	Digits        int // numeric: digits of the picture
	Scale         int // numeric: digits after V
	Signed        bool
	SignSeparate  bool
	SignLeading   bool
	BlankWhenZero bool
	JustRight     bool
	Line          int
}

// Error is a copybook problem with its line.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("copybook: %s: line %d: %s", e.File, e.Line, e.Msg)
}

// item is a data description entry.
type item struct {
	level     int
	name      string // upper case; "" or FILLER
	line      int
	pic       string
	usage     Usage
	usageSet  bool
	occurs    int
	redefines string
	values    []string // level 88 (or VALUE of an item)
	signSep   bool
	signLead  bool
	signSet   bool
	blankZero bool
	justRight bool
	children  []*item
	parent    *item

	// computed
	offset, size int
}

// Parse reads a copybook; name is used in errors.
func Parse(r io.Reader, name string) (*Copybook, error) {
	toks, err := tokenize(r, name)
	if err != nil {
		return nil, err
	}
	items, err := entries(toks, name)
	if err != nil {
		return nil, err
	}
	return build(items, name)
}

type token struct {
	s    string
	line int
	lit  bool // quoted literal
}

// tokenize splits the copybook into words, literals and "." (end of an
// entry), dropping sequence numbers, comments and the area past column 72
// in fixed format.
func tokenize(r io.Reader, name string) ([]token, error) {
	var lines []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, strings.TrimRight(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("copybook: %s: %w", name, err)
	}
	// Fixed format when every line with text has a sequence area (digits
	// or blanks) and an indicator column.
	fixed := true
	any := false
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		any = true
		if len(l) < 7 || strings.TrimLeft(l[:6], "0123456789 ") != "" || !strings.ContainsRune(" *-/D$", rune(l[6])) {
			fixed = false
			break
		}
	}
	fixed = fixed && any
	var toks []token
	for i, l := range lines {
		n := i + 1
		if fixed {
			ind := l[min(6, len(l)):min(7, len(l))]
			if ind == "*" || ind == "/" || ind == "D" || ind == "$" {
				continue
			}
			if ind == "-" {
				return nil, &Error{name, n, "continuation lines are not supported: join the line with the one before"}
			}
			l = l[min(7, len(l)):min(72, len(l))]
		} else if t := strings.TrimSpace(l); strings.HasPrefix(t, "*") || strings.HasPrefix(t, "/") {
			continue
		}
		if k := strings.Index(l, "*>"); k >= 0 {
			l = l[:k]
		}
		for j := 0; j < len(l); {
			c := l[j]
			switch {
			case c == ' ' || c == '\t' || c == ',' && (j+1 == len(l) || l[j+1] == ' ') || c == ';':
				j++
			case c == '\'' || c == '"':
				k := strings.IndexByte(l[j+1:], c)
				if k < 0 {
					return nil, &Error{name, n, "literal without its closing quote (continued literals are not supported)"}
				}
				toks = append(toks, token{l[j+1 : j+1+k], n, true})
				j += k + 2
			default:
				k := j
				for k < len(l) && l[k] != ' ' && l[k] != '\t' {
					k++
				}
				w := l[j:k]
				end := strings.HasSuffix(w, ".")
				if end {
					w = w[:len(w)-1]
				}
				if w != "" {
					toks = append(toks, token{strings.ToUpper(w), n, false})
				}
				if end {
					toks = append(toks, token{".", n, false})
				}
				j = k
			}
		}
	}
	return toks, nil
}

var usages = map[string]Usage{
	"DISPLAY": Display, "COMP": Binary, "COMPUTATIONAL": Binary, "COMP-4": Binary, "COMPUTATIONAL-4": Binary,
	"COMP-5": Binary, "COMPUTATIONAL-5": Binary, "BINARY": Binary, "COMP-3": Packed, "COMPUTATIONAL-3": Packed,
	"PACKED-DECIMAL": Packed,
}

var unsupportedUsage = map[string]string{
	"COMP-1": "single-precision floating point", "COMPUTATIONAL-1": "single-precision floating point",
	"COMP-2": "double-precision floating point", "COMPUTATIONAL-2": "double-precision floating point",
	"POINTER": "pointers", "INDEX": "index items", "NATIONAL": "national (UTF-16) items",
	"COMP-6": "unsigned packed decimal", "FUNCTION-POINTER": "pointers", "PROCEDURE-POINTER": "pointers",
}

// entries turns tokens into data description entries.
func entries(toks []token, name string) ([]*item, error) {
	var items []*item
	for i := 0; i < len(toks); {
		t := toks[i]
		if t.s == "." {
			i++
			continue
		}
		lv, err := strconv.Atoi(t.s)
		if err != nil || t.lit {
			return nil, &Error{name, t.line, fmt.Sprintf("%q where a level number (01-49, 88) should start an entry", t.s)}
		}
		it := &item{level: lv, line: t.line}
		switch {
		case lv == 66:
			return nil, &Error{name, t.line, "level 66 (RENAMES) is not supported"}
		case lv == 77:
			return nil, &Error{name, t.line, "level 77 items are not records: use 01"}
		case lv == 88, lv >= 1 && lv <= 49:
		default:
			return nil, &Error{name, t.line, fmt.Sprintf("level %d is not 01-49 or 88", lv)}
		}
		i++
		// The entry runs to the next ".".
		j := i
		for j < len(toks) && !(toks[j].s == "." && !toks[j].lit) {
			j++
		}
		if j == len(toks) {
			return nil, &Error{name, t.line, "entry does not end with a period"}
		}
		c := toks[i:j]
		i = j + 1
		if len(c) > 0 && !c[0].lit && !isKeyword(c[0].s) {
			it.name = c[0].s
			c = c[1:]
		}
		if err := clauses(it, c, name); err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	if len(items) == 0 {
		return nil, &Error{name, 1, "no data description entries"}
	}
	return items, nil
}

var keywords = map[string]bool{"PIC": true, "PICTURE": true, "USAGE": true, "OCCURS": true, "REDEFINES": true,
	"VALUE": true, "VALUES": true, "SIGN": true, "LEADING": true, "TRAILING": true, "BLANK": true, "JUST": true,
	"JUSTIFIED": true, "SYNC": true, "SYNCHRONIZED": true, "GLOBAL": true, "EXTERNAL": true, "FILLER": false,
	"INDEXED": true, "RENAMES": true, "IS": true}

func isKeyword(s string) bool {
	if keywords[s] {
		return true
	}
	_, u := usages[s]
	_, x := unsupportedUsage[s]
	return u || x
}

func clauses(it *item, c []token, name string) error {
	bad := func(line int, format string, args ...any) error {
		return &Error{name, line, fmt.Sprintf(format, args...)}
	}
	next := func(k int) string {
		if k < len(c) {
			return c[k].s
		}
		return ""
	}
	for k := 0; k < len(c); {
		t := c[k]
		if t.lit {
			return bad(t.line, "unexpected literal %q", t.s)
		}
		if u, ok := unsupportedUsage[t.s]; ok {
			return bad(t.line, "USAGE %s (%s) is not supported", t.s, u)
		}
		if u, ok := usages[t.s]; ok {
			it.usage, it.usageSet = u, true
			k++
			continue
		}
		switch t.s {
		case "PIC", "PICTURE":
			k++
			if next(k) == "IS" {
				k++
			}
			if k >= len(c) {
				return bad(t.line, "PIC without a picture string")
			}
			it.pic = c[k].s
			k++
		case "USAGE":
			k++
			if next(k) == "IS" {
				k++
			}
			if u, ok := unsupportedUsage[next(k)]; ok {
				return bad(t.line, "USAGE %s (%s) is not supported", next(k), u)
			}
			u, ok := usages[next(k)]
			if !ok {
				return bad(t.line, "USAGE %q is not DISPLAY, COMP, COMP-3, COMP-4, COMP-5, BINARY or PACKED-DECIMAL", next(k))
			}
			it.usage, it.usageSet = u, true
			k++
		case "OCCURS":
			k++
			n, err := strconv.Atoi(next(k))
			if err != nil || n < 1 {
				return bad(t.line, "OCCURS %q is not a count", next(k))
			}
			it.occurs = n
			k++
			if next(k) == "TO" {
				return bad(t.line, "OCCURS ... TO ... DEPENDING ON (variable-length records) is not supported")
			}
			if next(k) == "TIMES" {
				k++
			}
			for k < len(c) && (c[k].s == "INDEXED" || c[k].s == "ASCENDING" || c[k].s == "DESCENDING") {
				// INDEXED BY names / ASCENDING KEY IS names: no storage.
				k++
				for k < len(c) && !isKeyword(c[k].s) || k < len(c) && (c[k].s == "IS" || c[k].s == "BY" || c[k].s == "KEY") {
					k++
				}
			}
			if next(k) == "DEPENDING" {
				return bad(t.line, "OCCURS DEPENDING ON (variable-length records) is not supported")
			}
		case "REDEFINES":
			k++
			if k >= len(c) {
				return bad(t.line, "REDEFINES without a name")
			}
			it.redefines = c[k].s
			k++
		case "VALUE", "VALUES":
			k++
			if s := next(k); s == "IS" || s == "ARE" {
				k++
			}
			for k < len(c) && (c[k].lit || !isKeyword(c[k].s)) {
				v := c[k]
				if v.s == "THRU" || v.s == "THROUGH" {
					return bad(v.line, "VALUE ... THRU ranges are not supported for record type codes: list the values")
				}
				s := v.s
				switch {
				case v.lit:
				case s == "SPACE" || s == "SPACES":
					s = " "
				case s == "ZERO" || s == "ZEROS" || s == "ZEROES":
					s = "0"
				}
				it.values = append(it.values, s)
				k++
			}
			if len(it.values) == 0 {
				return bad(t.line, "VALUE without a value")
			}
		case "SIGN", "LEADING", "TRAILING":
			if t.s == "SIGN" {
				k++
				if next(k) == "IS" {
					k++
				}
			}
			switch next(k) {
			case "LEADING":
				it.signLead = true
			case "TRAILING":
			default:
				return bad(t.line, "SIGN must be LEADING or TRAILING")
			}
			it.signSet = true
			k++
			if next(k) == "SEPARATE" {
				it.signSep = true
				k++
				if next(k) == "CHARACTER" {
					k++
				}
			}
		case "BLANK":
			k++
			if next(k) == "WHEN" {
				k++
			}
			if next(k) != "ZERO" && next(k) != "ZEROS" && next(k) != "ZEROES" {
				return bad(t.line, "BLANK must be followed by WHEN ZERO")
			}
			it.blankZero = true
			k++
		case "JUST", "JUSTIFIED":
			it.justRight = true
			k++
			if next(k) == "RIGHT" {
				k++
			}
		case "SYNC", "SYNCHRONIZED":
			return bad(t.line, "SYNCHRONIZED is not supported (it inserts slack bytes): remove it if the file has none")
		case "GLOBAL", "EXTERNAL":
			k++
		case "RENAMES":
			return bad(t.line, "RENAMES is not supported")
		default:
			return bad(t.line, "%q is not a supported clause", t.s)
		}
	}
	return nil
}

// maxRecord bounds item and record sizes (bytes): far above any
// mainframe record length, low enough that sizes cannot overflow.
const maxRecord = 1 << 20

// MaxFields is the most fields a record type may have once OCCURS are
// expanded (each occurrence of each named elementary item is a field).
// Nested OCCURS multiply: a copybook over it is refused, naming the
// OCCURS that gives the most fields and the total, instead of building a
// layout (and decoding records) of that many fields.
const MaxFields = 10000

// pic is a parsed picture.
type pic struct {
	numeric bool
	edited  bool
	digits  int
	scale   int
	signed  bool
	length  int // display characters
}

func parsePic(s string) (pic, error) {
	var p pic
	var afterV bool
	alpha := false
	u := strings.ToUpper(s)
	for i := 0; i < len(u); {
		c := u[i]
		n := 1
		j := i + 1
		if j < len(u) && u[j] == '(' {
			k := strings.IndexByte(u[j:], ')')
			if k < 0 {
				return p, fmt.Errorf("picture %s: ( without )", s)
			}
			v, err := strconv.Atoi(u[j+1 : j+k])
			if err != nil || v < 1 || v > maxRecord {
				return p, fmt.Errorf("picture %s: repeat count %q", s, u[j+1:j+k])
			}
			n = v
			j += k + 1
		}
		switch {
		case c == 'X' || c == 'A':
			alpha = true
			p.length += n
		case c == '9':
			p.digits += n
			p.length += n
			if afterV {
				p.scale += n
			}
		case c == 'S':
			p.signed = true
		case c == 'V':
			afterV = true
		case c == 'P':
			return p, fmt.Errorf("picture %s: scaling position P is not supported", s)
		case strings.HasPrefix(u[i:], "CR") || strings.HasPrefix(u[i:], "DB"):
			p.edited = true
			p.length += 2
			j = i + 2
		case strings.IndexByte("Z*B0/,.+-$", c) >= 0:
			p.edited = true
			p.length += n
		case c == 'N' || c == 'G':
			return p, fmt.Errorf("picture %s: national and DBCS items are not supported", s)
		default:
			return p, fmt.Errorf("picture %s: %q is not a picture character", s, c)
		}
		i = j
	}
	p.numeric = !alpha && !p.edited && p.digits > 0
	if p.length == 0 {
		return p, fmt.Errorf("picture %s is empty", s)
	}
	if !p.numeric {
		p.signed, p.scale = false, 0
	}
	return p, nil
}

// build nests the entries and lays out the records.
func build(items []*item, name string) (*Copybook, error) {
	var roots []*item
	var stack []*item
	var last *item
	for _, it := range items {
		if it.level == 88 {
			if last == nil {
				return nil, &Error{name, it.line, "level 88 before any item"}
			}
			c := &item{level: 88, name: it.name, line: it.line, values: it.values, parent: last}
			last.children = append(last.children, c)
			continue
		}
		for len(stack) > 0 && stack[len(stack)-1].level >= it.level {
			stack = stack[:len(stack)-1]
		}
		if it.level == 1 || len(stack) == 0 {
			if it.level != 1 && len(roots) > 0 {
				return nil, &Error{name, it.line, fmt.Sprintf("level %02d outside any 01 record", it.level)}
			}
			roots = append(roots, it)
		} else {
			it.parent = stack[len(stack)-1]
			it.parent.children = append(it.parent.children, it)
		}
		stack = append(stack, it)
		last = it
	}
	cb := &Copybook{Name: name}
	for _, r := range roots {
		if err := layout(r, 0, Display, false, nil, name); err != nil {
			return nil, err
		}
	}
	return cb, cb.records(roots, name)
}

// data returns the children that hold data (not level 88).
func (it *item) data() []*item {
	var out []*item
	for _, c := range it.children {
		if c.level != 88 {
			out = append(out, c)
		}
	}
	return out
}

func (it *item) conditions() []*item {
	var out []*item
	for _, c := range it.children {
		if c.level == 88 {
			out = append(out, c)
		}
	}
	return out
}

// layout computes offsets and sizes of it and its children at offset.
// usage and sign are what a group above says (sign: the group with a SIGN
// clause, or nil), for the items that say nothing themselves.
func layout(it *item, offset int, usage Usage, usageSet bool, sign *item, name string) error {
	if it.usageSet {
		usage, usageSet = it.usage, true
	} else {
		it.usage = usage
	}
	if it.signSet {
		sign = it
	}
	it.offset = offset
	kids := it.data()
	if len(kids) == 0 {
		if it.pic == "" {
			return &Error{name, it.line, fmt.Sprintf("%s has neither a PIC nor subordinate items", display(it))}
		}
		p, err := parsePic(it.pic)
		if err != nil {
			return &Error{name, it.line, err.Error()}
		}
		switch {
		case !p.numeric && usage != Display:
			return &Error{name, it.line, fmt.Sprintf("%s: PIC %s cannot be COMP or COMP-3", display(it), it.pic)}
		case usage == Packed:
			it.size = p.digits/2 + 1
		case usage == Binary:
			switch {
			case p.digits <= 4:
				it.size = 2
			case p.digits <= 9:
				it.size = 4
			case p.digits <= 18:
				it.size = 8
			default:
				return &Error{name, it.line, fmt.Sprintf("%s: binary items hold at most 18 digits", display(it))}
			}
		default:
			if !it.signSet && sign != nil && p.numeric && p.signed {
				// A group's SIGN clause holds for its signed display items.
				it.signLead, it.signSep = sign.signLead, sign.signSep
			}
			it.size = p.length
			if p.numeric && p.signed && it.signSep {
				it.size++
			}
		}
		if it.signSet && (!p.numeric || usage != Display || !p.signed) {
			return &Error{name, it.line, fmt.Sprintf("%s: SIGN is only for signed display numbers (PIC S9, USAGE DISPLAY)", display(it))}
		}
		return sized(it, name)
	}
	if it.pic != "" {
		return &Error{name, it.line, fmt.Sprintf("%s has a PIC and subordinate items", display(it))}
	}
	at := offset
	end := offset
	byName := map[string]*item{}
	for _, c := range kids {
		start := at
		if c.redefines != "" {
			o, ok := byName[c.redefines]
			if !ok {
				return &Error{name, c.line, fmt.Sprintf("REDEFINES %s: no item of that name before it at this level", c.redefines)}
			}
			start = o.offset
		}
		if err := layout(c, start, usage, usageSet, sign, name); err != nil {
			return err
		}
		if c.redefines == "" {
			at = start + c.size
		}
		end = max(end, start+c.size)
		if c.name != "" && c.name != "FILLER" {
			byName[c.name] = c
		}
	}
	it.size = end - offset
	return sized(it, name)
}

// sized applies OCCURS to it.size and checks it against maxRecord.
func sized(it *item, name string) error {
	switch {
	case it.size > maxRecord:
		return &Error{name, it.line, fmt.Sprintf("%s is %d bytes, larger than %d bytes: check its PIC and OCCURS counts", display(it), it.size, maxRecord)}
	case it.occurs > maxRecord:
		return &Error{name, it.line, fmt.Sprintf("%s is larger than %d bytes (OCCURS %d): check its PIC and OCCURS counts", display(it), maxRecord, it.occurs)}
	case it.occurs > 0 && it.size*it.occurs > maxRecord:
		return &Error{name, it.line, fmt.Sprintf("%s is %d bytes (%d × %d), larger than %d bytes: check its PIC and OCCURS counts",
			display(it), it.size*it.occurs, it.occurs, it.size, maxRecord)}
	}
	if it.occurs > 0 {
		it.size *= it.occurs
	}
	return nil
}

func display(it *item) string {
	if it.name == "" {
		return "FILLER"
	}
	return it.name
}

// records settles the record types: several 01 levels, or one 01 with
// REDEFINES variants told apart by a level-88 type code.
func (cb *Copybook) records(roots []*item, name string) error {
	if len(roots) > 1 {
		var span *Span
		for _, r := range roots {
			code, at, err := typeCode(r, name)
			if err != nil {
				return err
			}
			if span == nil {
				span = &at
			} else if *span != at {
				return &Error{name, r.line, fmt.Sprintf("record %s has its type code at bytes %d-%d, the first record at %d-%d: they must be in the same place",
					r.name, at.Offset+1, at.Offset+at.Length, span.Offset+1, span.Offset+span.Length)}
			}
			rec := &Record{Name: r.name, Code: code, Length: r.size, Line: r.line}
			if err := tooMany(r, r.name, nil, name); err != nil {
				return err
			}
			cb.fields(rec, r, "", nil)
			cb.Records = append(cb.Records, rec)
		}
		cb.TypeCode = span
		return nil
	}
	root := roots[0]
	// A code field with 88s, and a group redefined by the variants.
	var code *item
	var variants []*item
	var walk func(it *item)
	walk = func(it *item) {
		for _, c := range it.data() {
			if code == nil && len(c.data()) == 0 && len(c.conditions()) > 1 {
				code = c
			}
			if c.redefines != "" && variants == nil {
				for _, s := range it.data() {
					if s.name == c.redefines {
						variants = append(variants, s)
					}
				}
				for _, s := range it.data() {
					if s.redefines == c.redefines {
						variants = append(variants, s)
					}
				}
			}
			walk(c)
		}
	}
	walk(root)
	if code == nil || len(variants) == 0 {
		rec := &Record{Name: root.name, Length: root.size, Line: root.line}
		if err := tooMany(root, root.name, nil, name); err != nil {
			return err
		}
		cb.fields(rec, root, "", nil)
		cb.Records = append(cb.Records, rec)
		return nil
	}
	conds := code.conditions()
	if len(conds) != len(variants) {
		return &Error{name, code.line, fmt.Sprintf("%s has %d level-88 values and %s has %d variants (itself and its REDEFINES): they pair in order, so give one value for each",
			code.name, len(conds), variants[0].name, len(variants))}
	}
	cb.TypeCode = &Span{Offset: code.offset, Length: code.size}
	for i, v := range variants {
		c := conds[i]
		if len(c.values) != 1 {
			return &Error{name, c.line, fmt.Sprintf("level 88 %s has %d values; a record type code needs exactly one", c.name, len(c.values))}
		}
		if len(c.values[0]) != code.size {
			return &Error{name, c.line, fmt.Sprintf("level 88 %s value %q is %d characters, %s is %d", c.name, c.values[0], len(c.values[0]), code.name, code.size)}
		}
		rec := &Record{Name: c.name, Code: c.values[0], Line: c.line}
		skip := map[*item]bool{}
		for _, o := range variants {
			if o != v {
				skip[o] = true
			}
		}
		if err := tooMany(root, c.name, skip, name); err != nil {
			return err
		}
		cb.fields(rec, root, "", skip)
		rec.Length = root.size // every variant takes the record's room
		cb.Records = append(cb.Records, rec)
	}
	return nil
}

// typeCode finds a record's type code: the first elementary item with a
// VALUE or a single level-88 value.
func typeCode(r *item, name string) (string, Span, error) {
	var found *item
	var val string
	var walk func(it *item)
	walk = func(it *item) {
		for _, c := range it.data() {
			if found != nil {
				return
			}
			if len(c.data()) == 0 {
				conds := c.conditions()
				switch {
				case len(c.values) == 1:
					found, val = c, c.values[0]
				case len(conds) == 1 && len(conds[0].values) == 1:
					found, val = c, conds[0].values[0]
				}
				continue
			}
			walk(c)
		}
	}
	walk(r)
	if found == nil {
		return "", Span{}, &Error{name, r.line, fmt.Sprintf("record %s has no type code: give its record type field a VALUE (or one level-88 value)", r.name)}
	}
	if len(val) != found.size {
		return "", Span{}, &Error{name, found.line, fmt.Sprintf("type code %q of %s is %d characters, the item is %d", val, found.name, len(val), found.size)}
	}
	return val, Span{Offset: found.offset - r.offset, Length: found.size}, nil
}

// tooMany refuses a record type (named rec) of more than MaxFields fields.
func tooMany(root *item, rec string, skip map[*item]bool, name string) error {
	n, big, bigN := count(root, skip)
	if n <= MaxFields {
		return nil
	}
	line := root.line
	why := ""
	if big != nil {
		line = big.line
		why = fmt.Sprintf(" (%d of them from %s OCCURS %d)", bigN, display(big), big.occurs)
	}
	return &Error{name, line, fmt.Sprintf("record %s has %d fields once OCCURS are expanded%s, more than %d: lower the OCCURS counts, or describe the repeated part as one PIC X item and split it later",
		rec, n, why, MaxFields)}
}

// count is the number of fields the items under it give (as fields adds
// them: OCCURS expanded, FILLER and left-out REDEFINES not counted), and
// the OCCURS item that gives the most of them, with how many.
func count(it *item, skip map[*item]bool) (n int, big *item, bigN int) {
	for _, c := range it.data() {
		if skip[c] || c.redefines != "" && (skip == nil || !isVariant(c, skip)) {
			continue
		}
		per := 0
		if len(c.data()) > 0 {
			var b *item
			var bn int
			per, b, bn = count(c, skip)
			if bn > bigN {
				big, bigN = b, bn
			}
		} else if c.name != "" && c.name != "FILLER" {
			per = 1
		}
		total := max(c.occurs, 1) * per // at most the item's bytes: no overflow
		if c.occurs > 1 && total > bigN {
			big, bigN = c, total
		}
		n += total
	}
	return n, big, bigN
}

// fields adds the elementary items under it to rec, OCCURS expanded, with
// suffix for the occurrence; skip leaves out other variants. A REDEFINES
// that is not a record variant is left out (fields cannot overlap), with
// a note.
func (cb *Copybook) fields(rec *Record, it *item, suffix string, skip map[*item]bool) {
	for _, c := range it.data() {
		if skip[c] {
			continue
		}
		if c.redefines != "" && skip == nil || c.redefines != "" && !isVariant(c, skip) {
			cb.Notes = append(cb.Notes, fmt.Sprintf("line %d: %s REDEFINES %s left out: fields of a record type cannot overlap", c.line, display(c), c.redefines))
			continue
		}
		n := max(c.occurs, 1)
		one := c.size / n
		if len(c.data()) > 0 && c.occurs > 1 {
			if f, _, _ := count(c, skip); f == 0 {
				continue // only FILLER: nothing to expand
			}
		}
		for k := 0; k < n; k++ {
			sfx := suffix
			if c.occurs > 0 {
				sfx += "-" + strconv.Itoa(k+1)
			}
			if len(c.data()) > 0 {
				shifted := shift(c, k*one)
				cb.fields(rec, shifted, sfx, skip)
				continue
			}
			if c.name == "" || c.name == "FILLER" {
				continue
			}
			p, _ := parsePic(c.pic)
			rec.Fields = append(rec.Fields, Field{
				Name: c.name + sfx, Offset: c.offset + k*one, Length: one, Numeric: p.numeric, Usage: c.usage,
				Digits: p.digits, Scale: p.scale, Signed: p.signed, SignSeparate: c.signSep, SignLeading: c.signLead,
				BlankWhenZero: c.blankZero, JustRight: c.justRight, Line: c.line,
			})
		}
	}
}

// isVariant says whether c is one of the record variants (skip holds the
// others of a variant set c belongs to).
func isVariant(c *item, skip map[*item]bool) bool {
	for o := range skip {
		if o.redefines == c.redefines || o.name == c.redefines {
			return true
		}
	}
	return false
}

// shift copies a group with every offset moved by d (for OCCURS).
func shift(it *item, d int) *item {
	if d == 0 {
		return it
	}
	c := *it
	c.offset += d
	c.children = nil
	for _, k := range it.children {
		c.children = append(c.children, shift(k, d))
	}
	return &c
}

// SnakeName turns a COBOL name into a field name: lower case, - as _.
func SnakeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' {
			return '_'
		}
		return unicode.ToLower(r)
	}, s)
}
