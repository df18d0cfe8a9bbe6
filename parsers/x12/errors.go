package x12

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"legacybridge"
)

// Causes wrapped by ParseError. Test for them with errors.Is.
var (
	// ErrBadISA: the interchange header cannot be read (truncated, not
	// fixed-width, invalid delimiters, or ended early by a line break that is
	// also the segment terminator). Fatal: the delimiters are unknown.
	ErrBadISA = errors.New("bad ISA")
	// ErrNoInterchange: the input does not start with an ISA. Fatal.
	ErrNoInterchange = errors.New("no interchange")
	// ErrBadBIN: a BIN segment's length (BIN01) is not a number or does not
	// match its data. Fatal: the segment boundaries are unknown.
	ErrBadBIN = errors.New("bad BIN segment")
	// ErrBadSegment: an empty segment, a segment tag that is not 2-3 upper-case
	// letters or digits, a segment over the size limit (fatal) or a last
	// segment without terminator.
	ErrBadSegment = errors.New("bad segment")
	// ErrCountMismatch: SE01, GE01 or IEA01 is not the actual count (or not a
	// number).
	ErrCountMismatch = errors.New("count mismatch")
	// ErrControlMismatch: SE02 != ST02, GE02 != GS06 or IEA02 != ISA13.
	ErrControlMismatch = errors.New("control number mismatch")
	// ErrMissingTrailer: an SE, GE or IEA is missing (another header or the
	// end of input came first).
	ErrMissingTrailer = errors.New("missing trailer")
	// ErrOutsideEnvelope: a segment where its envelope is not open (GS
	// without ISA, ST without GS, data segment outside ST..SE, ...).
	ErrOutsideEnvelope = errors.New("segment outside its envelope")
	// ErrDuplicateControl: a control number used twice in one envelope: two
	// transaction sets with the same ST02 in one functional group, or two
	// functional groups with the same GS06 in one interchange. Not fatal.
	ErrDuplicateControl = errors.New("duplicate control number")
	// ErrEncoding: a value that is not valid UTF-8 in the default charset
	// mode, decoded as Windows-1252 (a warning, through Warn; never
	// returned by Decode), or an unknown Charset setting (fatal).
	ErrEncoding = errors.New("bad text encoding")
)

// ParseError is an error about the input, with where it was found. It
// implements legacybridge.Placer.
//
// The place is always a segment (Segment >= 1): the faulty segment itself
// (with no Tag when its tag is bad: the message quotes its first bytes); for
// a missing trailer at the end of input, the ISA, GS or ST left open (the
// message says where the input ends); for a fault between segments (padding
// after the IEA, a read error), the last segment read, or the first before
// any was, with Offset at the fault.
type ParseError struct {
	File    string // name given to the decoder, "" if none
	Offset  int64  // byte offset in the input (a BOM counts)
	Line    int    // 1-based line of the segment (0 if unknown)
	Segment int    // 1-based segment number in the input (0 if none)
	Tag     string // segment tag at the place, "" if none
	Err     error  // the cause; wraps one of the Err* values above, or an I/O error

	fatal bool // decoding cannot continue
}

// Error renders like
// "x12: orders.edi: segment 7 (SE) at byte offset 212 (line 7): SE01 declares 9 segments, transaction has 5".
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("x12: ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Segment > 0 {
		b.WriteString("segment ")
		b.WriteString(strconv.Itoa(e.Segment))
		if e.Tag != "" {
			b.WriteString(" (")
			b.WriteString(e.Tag)
			b.WriteString(")")
		}
		b.WriteString(" at ")
	}
	b.WriteString("byte offset ")
	b.WriteString(strconv.FormatInt(e.Offset, 10))
	if e.Line > 0 {
		b.WriteString(" (line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(")")
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *ParseError) Unwrap() error { return e.Err }

// Place says where the error was found.
func (e *ParseError) Place() legacybridge.Position {
	return legacybridge.Position{File: e.File, Offset: e.Offset, Line: e.Line, Segment: e.Segment, Tag: e.Tag}
}

// Fatal reports whether decoding stopped at this error (the decoder returns
// io.EOF afterwards).
func (e *ParseError) Fatal() bool { return e.fatal }

// ErrorList is several problems found at one step of decoding, in the order
// they were found; each is a complete *ParseError that reads on its own. Decode returns it instead of a single *ParseError when a transaction
// set has more than one problem. errors.As(err, &pe) finds the first.
type ErrorList []*ParseError

func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap returns the errors for errors.Is and errors.As.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Place is the place of the first error.
func (l ErrorList) Place() legacybridge.Position {
	if len(l) == 0 {
		return legacybridge.Position{}
	}
	return l[0].Place()
}

// cause is a message wrapping one of the Err* kinds, printed without the
// kind's own text.
type cause struct {
	kind error
	msg  string
}

func (c *cause) Error() string { return c.msg }
func (c *cause) Unwrap() error { return c.kind }

// quoteMax is how many bytes of offending input a message quotes.
const quoteMax = 20

// quote renders input bytes for a message: Go-quoted, so control bytes are
// visible, and cut after quoteMax bytes with "..." after the closing quote.
func quote[T string | []byte](b T) string {
	if len(b) <= quoteMax {
		return strconv.Quote(string(b))
	}
	// Do not cut inside a UTF-8 sequence: back up to its first byte (at
	// most 3 bytes, in case the input is not UTF-8).
	n := quoteMax
	for i := 0; i < utf8.UTFMax-1 && !utf8.RuneStart(b[n]); i++ {
		n--
	}
	return strconv.Quote(string(b[:n])) + "..."
}

var (
	_ legacybridge.Placer = (*ParseError)(nil)
	_ legacybridge.Placer = ErrorList(nil)
)
