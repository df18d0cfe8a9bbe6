package edifact

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"legacybridge"
)

// Causes wrapped by ParseError. Test for them with errors.Is; the Code of
// the ParseError says which CONTRL syntax error it is.
var (
	// ErrBadUNA: the service string advice cannot be read (truncated, or a
	// service character that is a letter, digit, space where not allowed,
	// or used twice). Fatal: the delimiters are unknown.
	ErrBadUNA = errors.New("bad UNA")
	// ErrNoInterchange: the input does not start with UNA, UNB or UNH. Fatal.
	ErrNoInterchange = errors.New("no interchange")
	// ErrBadSegment: an empty segment, a segment tag that is not 3
	// upper-case letters or digits, a segment over the size limit (fatal), a
	// last segment without terminator, or a release character at the end of
	// input.
	ErrBadSegment = errors.New("bad segment")
	// ErrBadServiceSegment: a service segment (UNB, UNG, UNH, UNT, UNE,
	// UNZ) with a mandatory element missing, too many elements or
	// components, a control reference longer than 14 characters, or a
	// syntax version this package does not read.
	ErrBadServiceSegment = errors.New("bad service segment")
	// ErrCountMismatch: UNT 0074, UNE 0060 or UNZ 0036 is not the actual
	// count (or not a number).
	ErrCountMismatch = errors.New("count mismatch")
	// ErrControlMismatch: UNT 0062 != UNH 0062, UNE 0048 != UNG 0048 or
	// UNZ 0020 != UNB 0020.
	ErrControlMismatch = errors.New("control reference mismatch")
	// ErrMissingTrailer: a UNT, UNE or UNZ is missing (another header or
	// the end of input came first).
	ErrMissingTrailer = errors.New("missing trailer")
	// ErrOutsideEnvelope: a segment where its envelope is not open (UNH
	// without UNB, a data segment between messages, UNE without UNG, ...),
	// or messages outside functional groups in an interchange that has
	// groups.
	ErrOutsideEnvelope = errors.New("segment outside its envelope")
	// ErrEmptyEnvelope: an interchange without messages or groups, or a
	// group without messages.
	ErrEmptyEnvelope = errors.New("empty envelope")
	// ErrGroupType: a functional group holding messages of more than one
	// type.
	ErrGroupType = errors.New("more than one message type in a group")
	// ErrDuplicateRef: a message reference (UNH 0062) or group reference
	// (UNG 0048) used twice in one interchange. A warning, through Warn:
	// many senders number every message 1.
	ErrDuplicateRef = errors.New("duplicate reference")
	// ErrEncoding: a value that is not valid in the interchange's character
	// encoding (a warning: decoded with a fallback), a syntax identifier
	// whose character set this package does not decode (a warning: read as
	// UTF-8), or an unknown Charset setting (fatal).
	ErrEncoding = errors.New("bad text encoding")
	// ErrRepertoire: a character outside the repertoire of the syntax
	// level (UNOA, UNOB) or a control character in a value. A warning,
	// unless StrictCharset makes it an error of the message.
	ErrRepertoire = errors.New("character outside the syntax level")
)

// Code is a UN/EDIFACT syntax error code (data element 0085), as a CONTRL
// message reports it in UCI, UCF, UCM, UCS and UCD segments.
type Code int

// The codes this package reports.
const (
	CodeSyntaxLevel         Code = 2  // syntax version or level not supported
	CodeInvalidValue        Code = 12 // invalid value
	CodeMissing             Code = 13 // missing (segment, element or component)
	CodeNotSupported        Code = 15 // not supported in this position (a bad segment tag)
	CodeTooManyConstituents Code = 16 // too many data elements or components
	CodeUnspecified         Code = 18 // unspecified error (a read error)
	CodeServiceChar         Code = 20 // character invalid as service character (UNA)
	CodeInvalidChars        Code = 21 // invalid character(s)
	CodeDuplicate           Code = 26 // duplicate detected
	CodeReferences          Code = 28 // references do not match
	CodeControlCount        Code = 29 // control count does not match number of instances received
	CodeMixed               Code = 30 // functional groups and messages mixed
	CodeMessageTypes        Code = 31 // more than one message type in group
	CodeEmpty               Code = 32 // lower level empty
	CodeOutside             Code = 33 // invalid occurrence outside message or functional group
	CodeTooLong             Code = 39 // data element too long
)

// Codes for transaction-set rules (parsers/edirules), which a CONTRL
// reports in UCS and UCD segments.
const (
	CodeTooManyRepetitions Code = 35 // too many segment repetitions
	CodeInvalidCharType    Code = 37 // invalid type of character(s): not numeric, or not alphabetic
	CodeTooShort           Code = 40 // data element too short
)

var codeNames = map[Code]string{
	CodeSyntaxLevel:         "syntax version or level not supported",
	CodeInvalidValue:        "invalid value",
	CodeMissing:             "missing",
	CodeNotSupported:        "not supported in this position",
	CodeTooManyConstituents: "too many constituents",
	CodeUnspecified:         "unspecified error",
	CodeServiceChar:         "character invalid as service character",
	CodeInvalidChars:        "invalid character(s)",
	CodeDuplicate:           "duplicate detected",
	CodeReferences:          "references do not match",
	CodeControlCount:        "control count does not match number of instances received",
	CodeMixed:               "functional groups and messages mixed",
	CodeMessageTypes:        "more than one message type in group",
	CodeEmpty:               "lower level empty",
	CodeOutside:             "invalid occurrence outside message or functional group",
	CodeTooLong:             "data element too long",
	CodeTooManyRepetitions:  "too many segment repetitions",
	CodeInvalidCharType:     "invalid type of character(s)",
	CodeTooShort:            "data element too short",
}

// String returns the code's name in the 0085 code list, like "references
// do not match".
func (c Code) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return "code " + strconv.Itoa(int(c))
}

// Level is the envelope an error belongs to, the level of the CONTRL
// segment that reports it.
type Level int

const (
	// LevelInterchange: the interchange (UCI): its UNA, UNB or UNZ, or
	// something between its groups or messages.
	LevelInterchange Level = iota + 1
	// LevelGroup: a functional group (UCF): its UNG or UNE.
	LevelGroup
	// LevelMessage: one message (UCM, with UCS/UCD for segment and
	// element errors): the message was read whole, and the interchange's
	// other messages are not affected.
	LevelMessage
)

func (l Level) String() string {
	switch l {
	case LevelInterchange:
		return "interchange"
	case LevelGroup:
		return "group"
	case LevelMessage:
		return "message"
	}
	return "level " + strconv.Itoa(int(l))
}

// ParseError is an error about the input, with where it was found and how a
// CONTRL acknowledgement reports it. It implements legacybridge.Placer.
//
// The place is always a segment (Segment >= 1): the faulty segment itself
// (with no Tag when its tag is bad: the message quotes its first bytes); for
// a missing trailer at the end of input, the UNB, UNG or UNH left open (the
// message says where the input ends); for a fault between segments
// (padding after the UNZ, a read error), the last segment read, or the
// first before any was, with Offset at the fault.
type ParseError struct {
	File    string // name given to the decoder, "" if none
	Offset  int64  // byte offset in the input (a BOM counts)
	Line    int    // 1-based line of the segment (0 if unknown)
	Segment int    // 1-based segment number in the input, UNA included
	Tag     string // segment tag at the place, "" if none

	// Element and Component locate the fault inside the segment, as CONTRL
	// S011 does: the 1-based position of the data element (UNB's S001 is
	// 1) and of the component in it; 0 when the fault is the whole segment
	// or element.
	Element, Component int
	// Code is the CONTRL syntax error code (0085).
	Code Code
	// Level is the envelope the error belongs to; Interchange, Group and
	// Message are the control references of the envelopes open at the
	// fault (UNB 0020, UNG 0048, UNH 0062), "" when none. The Decoder sets
	// them; a Tokenizer used on its own leaves them unset (but for its
	// warnings about a UNB).
	Level                       Level
	Interchange, Group, Message string

	Err error // the cause; wraps one of the Err* values above, or an I/O error

	fatal bool // decoding cannot continue
}

// Error renders like "edifact: orders.edi: segment 7 (UNT) at byte offset
// 212 (line 7): UNT01 (0074) declares 9 segments, message has 5".
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("edifact: ")
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

// RecordLevel reports whether the error concerns only the record (message)
// it was returned with: the message was read whole and is bad, the other
// messages of the input are not affected by it.
func (e *ParseError) RecordLevel() bool { return e.Level == LevelMessage && !e.fatal }

// ErrorList is several problems found at one step of decoding, in the order
// they were found; each is a complete *ParseError that reads on its own.
// Decode returns it instead of a single *ParseError when there is more than
// one problem. errors.As(err, &pe) finds the first.
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

// RecordLevel reports whether every error in the list is RecordLevel.
func (l ErrorList) RecordLevel() bool {
	for _, e := range l {
		if !e.RecordLevel() {
			return false
		}
	}
	return len(l) > 0
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
