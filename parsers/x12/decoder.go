package x12

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"legacybridge"
)

// Envelope is what surrounds a transaction set: its interchange (ISA), its
// functional group (GS) and its own header (ST), plus the delimiters the
// interchange declared. Values are as sent, with the ISA's blank padding
// trimmed.
type Envelope struct {
	SenderQualifier    string     `json:"isa05"`          // ISA05
	SenderID           string     `json:"isa06"`          // ISA06
	ReceiverQualifier  string     `json:"isa07"`          // ISA07
	ReceiverID         string     `json:"isa08"`          // ISA08
	Date               string     `json:"isa09"`          // ISA09 YYMMDD
	Time               string     `json:"isa10"`          // ISA10 HHMM
	Version            string     `json:"isa12"`          // ISA12, e.g. "00401"
	ControlNumber      string     `json:"isa13"`          // ISA13
	AckRequested       string     `json:"isa14"`          // ISA14
	Usage              string     `json:"isa15"`          // ISA15: P production, T test
	FunctionalID       string     `json:"gs01,omitempty"` // GS01, e.g. "PO"
	AppSender          string     `json:"gs02,omitempty"` // GS02
	AppReceiver        string     `json:"gs03,omitempty"` // GS03
	GroupDate          string     `json:"gs04,omitempty"` // GS04 CCYYMMDD
	GroupTime          string     `json:"gs05,omitempty"` // GS05
	GroupControlNumber string     `json:"gs06,omitempty"` // GS06
	Agency             string     `json:"gs07,omitempty"` // GS07, "X"
	GroupVersion       string     `json:"gs08,omitempty"` // GS08, e.g. "004010" or "005010X222A1"
	SetID              string     `json:"st01"`           // ST01, e.g. "850"
	SetControlNumber   string     `json:"st02"`           // ST02
	ImplementationRef  string     `json:"st03,omitempty"` // ST03 (from 005010)
	Delimiters         Delimiters `json:"delimiters"`     // of the interchange
	InterchangeSegment int        `json:"-"`              // segment number of the ISA (0: none)
}

// Transaction is one transaction set (ST..SE) with its envelope.
type Transaction struct {
	Envelope Envelope               `json:"envelope"`
	Segments []legacybridge.Segment `json:"segments"` // ST..SE inclusive
	Pos      legacybridge.Position  `json:"position"` // of the ST; Index = ordinal in the input
}

// Decoder reads transaction sets from X12 input, one at a time, checking the
// envelopes around them. It streams: memory is bounded by one transaction set
// plus the I/O buffer, whatever the input size or line structure.
//
// Error contract (compare encoding/csv's ErrFieldCount):
//
//   - (tx, nil): a transaction set without problems.
//   - (tx, err): a transaction set that was read completely but has
//     structural problems (SE01 count, SE02 control number, an ST02 already
//     used in the group, bad segment tags, missing SE, ST outside a group).
//     Every problem is reported: err is a *ParseError, or an ErrorList when
//     there are several.
//   - (nil, err): problems outside any transaction set (GE/IEA counts and
//     control numbers, a GS06 already used in the interchange, missing
//     GE/IEA, segments outside their envelope).
//   - (nil, io.EOF): the end of input.
//
// After any error but a fatal one, Decode continues with the next segment, so
// every problem in the input is reported. A fatal error (the delimiters or
// segment boundaries can no longer be known: a bad ISA, a bad BIN, data
// before the first ISA, an I/O error) is returned once, then Decode returns
// io.EOF. A caller that wants strictness treats any non-nil error other than
// io.EOF as the input being bad; one that keeps going still sees every
// transaction set the input holds.
type Decoder struct {
	// Name is the input's name, used in errors and positions. Default "".
	Name string
	// Warn, if set, receives problems that do not fail the input (ISA11 that
	// cannot be a repetition separator in a 00402+ interchange). Default:
	// ignored.
	Warn func(*ParseError)
	// MaxSegment is the longest segment accepted, in bytes (BIN data
	// included); a longer one is a fatal ErrBadSegment or ErrBadBIN.
	// Default DefaultMaxSegment (64 MiB).
	MaxSegment int
	// Charset is Tokenizer.Charset: "utf-8" (default ""; a value that is
	// not valid UTF-8 is decoded as Windows-1252 with a warning),
	// "windows-1252" or "iso-8859-1".
	Charset string
	// CharsetFor, if set, gives the charset of one sender's interchange
	// (ISA05 and ISA06, trimmed), read at each ISA: "" keeps Charset. An
	// unknown name is an error at the ISA.
	CharsetFor func(senderQualifier, senderID string) string

	tok  Tokenizer
	done bool

	seg      legacybridge.Segment // the segment being handled
	back     legacybridge.Segment // pushed back segment
	hasBack  bool
	backLine int

	env       Envelope // current interchange and group fields
	inISA     bool
	isa       opener // the open ISA
	groups    int    // GS seen in the interchange
	inGS      bool
	gs        opener   // the open GS
	gsTxCount int      // ST seen in the group
	gsIDs     controls // GS06 used in the interchange
	stIDs     controls // ST02 used in the group

	cur      *Transaction
	segsHint int                    // room for the next transaction's segments
	segSlab  []legacybridge.Segment // free slots transactions' segments are cut from
	txSlab   []Transaction          // free transactions
	index    int
	errs     []*ParseError

	// envSeg, if set, sees each ISA and GS (after the envelope is read into
	// env), GE and IEA (after their checks, before the group is cleared)
	// and each accepted TA1: Acknowledge builds its outcomes from it.
	envSeg func(seg *legacybridge.Segment)
}

// opener is where an envelope header (ISA, GS) was read, for the errors
// about its trailer.
type opener struct {
	seg  int
	off  int64
	line int
}

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r io.Reader) *Decoder {
	d := &Decoder{segsHint: 16}
	d.tok.reset(r)
	return d
}

// NewDecoderName returns a Decoder reading from r whose errors name the input.
func NewDecoderName(r io.Reader, name string) *Decoder {
	d := NewDecoder(r)
	d.Name = name
	return d
}

// Delimiters returns the delimiters of the current interchange.
func (d *Decoder) Delimiters() Delimiters { return d.tok.delims }

// Decode returns the next transaction set; see Decoder for the contract.
func (d *Decoder) Decode() (*Transaction, error) {
	if d.done {
		return nil, io.EOF
	}
	d.tok.Name = d.Name
	d.tok.Warn = d.Warn
	d.tok.MaxSegment = d.MaxSegment
	d.tok.Charset = d.Charset
	seg := &d.seg
	for {
		line, err := d.read(seg)
		if err != nil {
			if err == io.EOF {
				return d.eof()
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				pe = &ParseError{File: d.Name, Offset: d.tok.off, Line: d.tok.line, Segment: d.tok.num,
					Tag: d.tok.tagOfLast(), Err: err, fatal: true}
			}
			d.errs = append(d.errs, pe)
			if pe.fatal {
				d.done = true
				d.cur = nil
				return nil, d.takeErrs()
			}
			if !validTag(seg.Tag) {
				// No segment (padding), an empty one, or one with a bad tag:
				// reported once, by the tokenizer, and never taken for an
				// envelope segment. A segment with data stays in its
				// transaction set (SE01 counts it); outside one it is
				// dropped.
				if d.cur == nil {
					return nil, d.takeErrs()
				}
				if seg.Tag != "" || seg.Elements != nil {
					d.cur.Segments = append(d.cur.Segments, *seg)
				}
				continue
			}
		}
		if tx := d.handle(seg, line); tx != nil {
			return tx, d.takeErrs()
		}
		if d.cur == nil && len(d.errs) > 0 {
			return nil, d.takeErrs()
		}
	}
}

func (d *Decoder) read(seg *legacybridge.Segment) (int, error) {
	if d.hasBack {
		*seg = d.back
		d.back, d.hasBack = legacybridge.Segment{}, false
		return d.backLine, nil
	}
	// Inside a transaction set, read into the next free slot of its
	// segments: a data segment stays there, saving a copy.
	for d.cur != nil {
		segs := d.cur.Segments
		if len(segs) == cap(segs) {
			break
		}
		segs = segs[:len(segs)+1]
		slot := &segs[len(segs)-1]
		err := d.tok.read(slot)
		if err == nil && !envelopeTag(slot.Tag) {
			d.cur.Segments = segs
			continue
		}
		*seg, *slot = *slot, legacybridge.Segment{}
		return d.tok.segLine, err
	}
	err := d.tok.read(seg)
	return d.tok.segLine, err
}

// envelopeTag reports whether tag is one of the segments Decoder.handle
// treats specially (the data segments of a set are only appended).
func envelopeTag(tag string) bool {
	switch tag {
	case "ISA", "GS", "ST", "SE", "GE", "IEA":
		return true
	}
	return false
}

func (d *Decoder) takeErrs() error {
	switch len(d.errs) {
	case 0:
		return nil
	case 1:
		e := d.errs[0]
		d.errs = d.errs[:0]
		return e
	}
	l := make(ErrorList, len(d.errs))
	copy(l, d.errs)
	d.errs = d.errs[:0]
	return l
}

func (d *Decoder) fail(seg *legacybridge.Segment, line int, kind error, format string, args ...any) {
	d.errs = append(d.errs, &ParseError{File: d.Name, Offset: seg.Offset, Line: line, Segment: seg.Number, Tag: seg.Tag,
		Err: &cause{kind: kind, msg: fmt.Sprintf(format, args...)}})
}

// eof closes whatever is open at the end of input, one envelope level per
// call. Each error is placed at the header left open (ST, GS, ISA) and says
// where the input ends.
func (d *Decoder) eof() (*Transaction, error) {
	end := "input ends at byte offset " + strconv.FormatInt(d.tok.off, 10)
	if p := d.tok.lastPlace(); p != "" {
		end += ", after " + p
	}
	if d.cur != nil {
		tx := d.take()
		st := &legacybridge.Segment{Tag: "ST", Offset: tx.Pos.Offset, Number: tx.Pos.Segment}
		d.fail(st, tx.Pos.Line, ErrMissingTrailer, "%s has no SE: %s",
			named("transaction set", tx.Envelope.SetID, tx.Envelope.SetControlNumber), end)
		return tx, d.takeErrs()
	}
	if d.inGS {
		d.inGS = false
		gs := &legacybridge.Segment{Tag: "GS", Offset: d.gs.off, Number: d.gs.seg}
		d.fail(gs, d.gs.line, ErrMissingTrailer, "%s has no GE: %s",
			named("functional group", d.env.FunctionalID, d.env.GroupControlNumber), end)
	}
	if d.inISA {
		d.inISA = false
		isa := &legacybridge.Segment{Tag: "ISA", Offset: d.isa.off, Number: d.isa.seg}
		d.fail(isa, d.isa.line, ErrMissingTrailer, "%s has no IEA: %s",
			named("interchange", "", d.env.ControlNumber), end)
	}
	if len(d.errs) > 0 {
		return nil, d.takeErrs()
	}
	d.done = true
	return nil, io.EOF
}

// named names an envelope for messages: what, its type (ST01, GS01: bare
// when letters and digits, else quoted) and its control number (quoted);
// empty ones are left out.
func named(what, typ, control string) string {
	plain := typ != ""
	for i := 0; i < len(typ); i++ {
		plain = plain && isAlnum(typ[i])
	}
	switch {
	case plain:
		what += " " + typ
	case typ != "":
		what += " " + quote(typ)
	}
	if control != "" {
		what += " " + quote(control)
	}
	return what
}

// cut ends the current transaction set at seg, which is pushed back.
func (d *Decoder) cut(seg *legacybridge.Segment, line int) *Transaction {
	tx := d.take()
	d.fail(seg, line, ErrMissingTrailer, "%s (ST at segment %d) has no SE before this %s",
		named("transaction set", tx.Envelope.SetID, tx.Envelope.SetControlNumber), tx.Pos.Segment, seg.Tag)
	d.back, d.hasBack, d.backLine = *seg, true, line
	return tx
}

func (d *Decoder) handle(seg *legacybridge.Segment, line int) *Transaction {
	switch seg.Tag {
	case "ISA", "GS", "GE", "IEA":
		if d.cur != nil {
			return d.cut(seg, line)
		}
	case "ST":
		if d.cur != nil {
			return d.cut(seg, line)
		}
	}
	switch seg.Tag {
	case "ISA":
		if d.inGS {
			d.inGS = false
			d.fail(seg, line, ErrMissingTrailer, "%s (GS at segment %d) has no GE before this ISA",
				named("functional group", "", d.env.GroupControlNumber), d.gs.seg)
		}
		if d.inISA {
			d.fail(seg, line, ErrMissingTrailer, "%s (ISA at segment %d) has no IEA before this ISA",
				named("interchange", "", d.env.ControlNumber), d.isa.seg)
		}
		d.inISA, d.isa, d.groups = true, opener{seg.Number, seg.Offset, line}, 0
		d.gsIDs.reset()
		v := func(i int) string { return strings.TrimSpace(seg.Element(i).Value()) }
		d.env = Envelope{
			SenderQualifier: v(5), SenderID: v(6), ReceiverQualifier: v(7), ReceiverID: v(8),
			Date: v(9), Time: v(10), Version: v(12), ControlNumber: v(13), AckRequested: v(14), Usage: v(15),
			Delimiters: d.tok.delims, InterchangeSegment: seg.Number,
		}
		if d.CharsetFor != nil {
			name := d.CharsetFor(d.env.SenderQualifier, d.env.SenderID)
			if name == "" {
				name = d.Charset
			}
			if cs, ok := parseCharset(name); ok {
				d.tok.cs = cs
			} else {
				d.fail(seg, line, ErrEncoding, "unknown charset %q for sender %s (want %q, %q or %q)", name, d.env.SenderID,
					CharsetUTF8, CharsetWindows1252, CharsetISO88591)
			}
		}
		d.hook(seg)
	case "GS":
		if !d.inISA {
			d.fail(seg, line, ErrOutsideEnvelope, "GS outside an interchange (after IEA, before ISA)")
		}
		if d.inGS {
			d.fail(seg, line, ErrMissingTrailer, "%s (GS at segment %d) has no GE before this GS",
				named("functional group", "", d.env.GroupControlNumber), d.gs.seg)
		}
		d.inGS, d.gs, d.gsTxCount = true, opener{seg.Number, seg.Offset, line}, 0
		d.stIDs.reset()
		if d.inISA {
			d.groups++
			if id := seg.Element(6).Value(); id != "" {
				if prev, ok := d.gsIDs.add(id, seg.Number); !ok {
					d.fail(seg, line, ErrDuplicateControl, "GS06 %q is already the control number of %s in interchange %q",
						id, prev.describe("functional group"), d.env.ControlNumber)
				}
			}
		}
		v := func(i int) string { return seg.Element(i).Value() }
		d.env.FunctionalID, d.env.AppSender, d.env.AppReceiver = v(1), v(2), v(3)
		d.env.GroupDate, d.env.GroupTime, d.env.GroupControlNumber = v(4), v(5), v(6)
		d.env.Agency, d.env.GroupVersion = v(7), v(8)
		d.hook(seg)
	case "GE":
		if !d.inGS {
			d.fail(seg, line, ErrOutsideEnvelope, "GE without a GS")
			return nil
		}
		d.inGS = false
		d.checkCount(seg, line, "GE01", d.gsTxCount, "transaction sets", "functional group has")
		d.checkControl(seg, line, "GE02", "GS06", d.env.GroupControlNumber)
		d.hook(seg)
		d.clearGroup()
	case "IEA":
		if d.inGS {
			d.inGS = false
			d.fail(seg, line, ErrMissingTrailer, "%s (GS at segment %d) has no GE before this IEA",
				named("functional group", "", d.env.GroupControlNumber), d.gs.seg)
			d.clearGroup()
		}
		if !d.inISA {
			d.fail(seg, line, ErrOutsideEnvelope, "IEA without an ISA")
			return nil
		}
		d.inISA = false
		d.checkCount(seg, line, "IEA01", d.groups, "functional groups", "interchange has")
		d.checkControl(seg, line, "IEA02", "ISA13", d.env.ControlNumber)
		d.hook(seg)
	case "ST":
		if !d.inGS {
			d.fail(seg, line, ErrOutsideEnvelope, "ST outside a functional group (no GS)")
		} else {
			d.gsTxCount++
			if id := seg.Element(2).Value(); id != "" {
				if prev, ok := d.stIDs.add(id, seg.Number); !ok {
					d.fail(seg, line, ErrDuplicateControl, "ST02 %q is already the control number of %s in functional group %q",
						id, prev.describe("transaction set"), d.env.GroupControlNumber)
				}
			}
		}
		env := d.env
		env.SetID, env.SetControlNumber, env.ImplementationRef = seg.Element(1).Value(), seg.Element(2).Value(), seg.Element(3).Value()
		if len(d.segSlab) < d.segsHint {
			d.segSlab = make([]legacybridge.Segment, max(segSlabSize, d.segsHint))
		}
		if len(d.txSlab) == 0 {
			d.txSlab = make([]Transaction, txSlabSize)
		}
		d.cur = &d.txSlab[0]
		d.txSlab = d.txSlab[1:]
		*d.cur = Transaction{
			Envelope: env,
			Segments: append(d.segSlab[:0], *seg),
			Pos: legacybridge.Position{File: d.Name, Offset: seg.Offset, Line: line, Segment: seg.Number,
				Tag: "ST", Index: d.index},
		}
		d.index++
	case "SE":
		if d.cur == nil {
			d.fail(seg, line, ErrOutsideEnvelope, "SE without an ST")
			return nil
		}
		d.cur.Segments = append(d.cur.Segments, *seg)
		tx := d.take()
		d.checkCount(seg, line, "SE01", len(tx.Segments), "segments", "transaction set has")
		d.checkControl(seg, line, "SE02", "ST02", tx.Envelope.SetControlNumber)
		return tx
	default:
		if d.cur == nil {
			if seg.Tag == "TA1" {
				// An interchange acknowledgment: interchange-level, between
				// ISA and the first GS or between GE and IEA. Accepted there
				// and kept out of every transaction set.
				if d.inISA && !d.inGS {
					d.hook(seg)
					return nil
				}
				where := "inside a functional group (it belongs between ISA and the first GS, or between GE and IEA)"
				if !d.inISA {
					where = "outside an interchange (after IEA)"
				}
				d.fail(seg, line, ErrOutsideEnvelope, "TA1 segment %s", where)
				return nil
			}
			where := "outside a transaction set (between ST and SE)"
			if !d.inISA {
				where = "outside an interchange (after IEA)"
			}
			d.fail(seg, line, ErrOutsideEnvelope, "%s segment %s", seg.Tag, where)
			return nil
		}
		d.cur.Segments = append(d.cur.Segments, *seg)
	}
	return nil
}

// Transactions and their segments are cut from slabs shared by neighbouring
// transactions: fewer allocations, the same bytes.
const (
	segSlabSize = 256
	txSlabSize  = 32
)

// take ends the current transaction set. Its segments keep only their own
// slots of the slab (capacity = length, so appending to them never reaches
// the next set's), and the slab moves past them; a set that outgrew the slab
// has its own array and leaves the slab as it was.
func (d *Decoder) take() *Transaction {
	tx := d.cur
	d.cur = nil
	n := len(tx.Segments)
	if n > 0 && n <= len(d.segSlab) && &d.segSlab[0] == &tx.Segments[0] {
		d.segSlab = d.segSlab[n:]
	}
	tx.Segments = tx.Segments[:n:n]
	d.segsHint = min(max(n, 8), 1024)
	return tx
}

func (d *Decoder) hook(seg *legacybridge.Segment) {
	if d.envSeg != nil {
		d.envSeg(seg)
	}
}

func (d *Decoder) clearGroup() {
	d.env.FunctionalID, d.env.AppSender, d.env.AppReceiver = "", "", ""
	d.env.GroupDate, d.env.GroupTime, d.env.GroupControlNumber = "", "", ""
	d.env.Agency, d.env.GroupVersion = "", ""
}

func (d *Decoder) checkCount(seg *legacybridge.Segment, line int, name string, actual int, what, has string) {
	v := seg.Element(1).Value()
	n, err := strconv.Atoi(v)
	if err != nil || !allDigits(v) {
		d.fail(seg, line, ErrCountMismatch, "%s %q is not a number of %s (%s %d)", name, v, what, has, actual)
		return
	}
	if n != actual {
		d.fail(seg, line, ErrCountMismatch, "%s declares %d %s, %s %d", name, n, what, has, actual)
	}
}

func (d *Decoder) checkControl(seg *legacybridge.Segment, line int, name, hdr, want string) {
	got := seg.Element(2).Value()
	if !sameControl(got, want) {
		d.fail(seg, line, ErrControlMismatch, "%s %q does not match %s %q", name, got, hdr, want)
	}
}

// sameControl compares control numbers, numerically when both are digits
// ("000000001" = "1").
func sameControl(a, b string) bool {
	if a == b {
		return true
	}
	if !allDigits(a) || !allDigits(b) {
		return false
	}
	return strings.TrimLeft(a, "0") == strings.TrimLeft(b, "0")
}
