// Package x12 streams ANSI ASC X12 interchanges into transaction sets.
//
// Use it like encoding/csv:
//
//	d := x12.NewDecoderName(r, "orders.edi")
//	for {
//		tx, err := d.Decode()
//		if err == io.EOF {
//			break
//		}
//		if tx != nil {
//			// tx.Envelope, tx.Segments (ST..SE), tx.Pos
//		}
//		if err != nil {
//			// a *x12.ParseError (or x12.ErrorList) saying where
//		}
//	}
//
// Decode returns one transaction set (ST..SE) at a time with its envelope
// (ISA, GS, ST fields and the interchange's delimiters). See Decoder for the
// error contract: structural problems (counts, control numbers, duplicate
// control numbers, missing trailers, segments outside their envelope) are
// all reported, and decoding continues after them; only faults that make
// segment boundaries unknowable stop it.
//
// # Errors
//
// Every error is a *ParseError (several at once: an ErrorList, whose
// elements each read on their own) naming the input, a segment and a byte
// offset, like
//
//	x12: orders.edi: segment 7 (SE) at byte offset 212 (line 7): SE01 declares 9 segments, transaction set has 5
//
// The segment is the faulty one; for a trailer missing at the end of input,
// the ISA, GS or ST left open, the message saying where the input ends
// (`interchange "000000001" has no IEA: input ends at byte offset 180, after
// segment 6 (GE)`); for padding or a read error between segments, the last
// segment read. A segment whose tag is bad has no tag in the place; the
// message quotes its first bytes (at most 20, Go-quoted so control bytes
// show) and it is reported once: inside a transaction set it stays there
// (SE01 counts it), elsewhere it is dropped, never taken for a misplaced
// envelope segment.
//
// Control numbers must be unique in their envelope: a second transaction set
// with the same ST02 in a functional group, or a second group with the same
// GS06 in an interchange, is an ErrDuplicateControl error naming the segment
// of the first (digits compare as numbers, "0001" = "1"). To keep memory
// bounded, the first 16384 numbers of an envelope are remembered with their
// segment; after that, numeric ones are still checked as runs of
// consecutive numbers (the usual 1, 2, 3, ... is one run; at most 4096
// runs), a repeat naming the range of segments it may come from, and
// non-numeric ones are not checked.
//
// A TA1 (interchange acknowledgment) between ISA and the first GS, or
// between GE and IEA, is interchange-level: accepted, and in no
// transaction set; elsewhere outside ST..SE it is ErrOutsideEnvelope.
//
// Tokenizer.NextSegment is the layer below: segments with delimiters read
// from each ISA, without envelope checks.
//
// Parser adapts the decoder to legacybridge.Parser; each Record carries Format
// "x12", Type ST01, the envelope as a map ("isa06", "gs01", "st02",
// "version", ...) and the segments.
//
// # What the tokenizer accepts
//
// The delimiters are read from every ISA, never assumed: the element
// separator is the character after "ISA"; after 16 element separators come
// ISA16 (component separator) and then the segment terminator, which may be
// any character including a multi-byte UTF-8 one, CR or LF. ISA11 is the
// repetition separator only when ISA12 >= 00402 and ISA11 is not a letter,
// digit or space (else a warning). Two delimiters that are the same
// character (ISA11 = ISA16 = '^' in a 00501 interchange, say) are a fatal
// ErrBadISA naming both ISA elements.
//
// Values are returned as UTF-8: by default a value that is not valid UTF-8
// is decoded as Windows-1252 and reported to Warn (ErrEncoding, with the
// element, segment and byte offset), so no byte becomes U+FFFD; the Charset
// option declares Windows-1252 or ISO-8859-1 input instead. BIN data is
// never decoded. CR and LF that are not delimiters are dropped everywhere,
// inside the ISA too (so files hard-wrapped at 80 columns read correctly),
// except in BIN data; when the terminator is CR or LF, a line break inside
// the ISA is an error ("ISA shorter than 106 characters"). Whitespace between
// a terminator and the next tag is skipped. A UTF-8 BOM at the start is
// skipped; offsets still count it. After an IEA, a run of NUL bytes, DOS
// end-of-file bytes (0x1A) and whitespace up to the end of input is padding
// (as Windows and mainframe systems write it), not a segment; padding
// followed by anything else is an ErrBadSegment error and decoding goes on
// with what follows.
//
// The ISA must be fixed-width as X12.5 defines it (ISA01 2, ISA02 10, ISA03 2,
// ISA04 10, ISA05 2, ISA07 2 characters; ISA09 6, ISA10 4, ISA12 5, ISA13 9
// and ISA14 1 digits; ISA11, ISA15 one character). ISA06 and ISA08 (the
// sender and receiver ids) must hold at least 15 characters and at most 15
// that are not trailing blanks: extra blank padding is accepted (it is common
// in the wild), a collapsed, unpadded header is not.
//
// BIN segments are read by length: BIN02 is exactly BIN01 raw bytes, which
// may contain terminators and line breaks.
//
// # Memory
//
// The decoder reads through a 64 KiB bufio.Reader (never bufio.Scanner, so a
// 100 MB single-line file or a segment of megabytes is fine) and holds one
// transaction set at a time: memory is bounded by the largest transaction set
// plus the I/O buffer, whatever the input size. The duplicate control number
// check adds at most about 1 MiB per envelope level (measured for 100,000
// control numbers: 54 KiB when consecutive, 0.9 MiB when not, 1.1 MiB when
// not numeric; see Errors).
//
// # Speed
//
// An ordinary segment (single-byte delimiters, wholly in the I/O buffer, no
// line break inside) is read in one pass over its bytes straight from the
// buffer: its text is copied once into an append-only arena shared with
// neighbouring segments (tag and values are substrings of it), and its
// element, repetition and component slices are cut at their exact sizes from
// slabs shared between segments; data segments are written straight into
// the transaction set's slice, itself cut from a slab, as is the
// Transaction. A transaction set therefore shares memory with a few dozen
// neighbours: holding one keeps theirs alive too (tens of kilobytes), never
// more than that. Other segments take a general path with the
// same results (a test and the fuzz target compare the two). What remains is
// mostly the allocation the data model needs, about 64 bytes per simple
// element and 56 per segment; the Parser adds the envelope map, cloned per
// record from one built per functional group.
//
// # JSON
//
// A Transaction marshals as {"envelope": {...}, "segments": [...],
// "position": {...}}, envelope keys being the X12 element ids ("isa06",
// "gs01", "st02", ...) plus "delimiters"; a legacybridge.Record from
// Transaction.Record or the Parser marshals with the same segments.
package x12
