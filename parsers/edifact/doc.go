// Package edifact streams UN/EDIFACT interchanges (ISO 9735, syntax
// versions 1 to 4, batch) into messages.
//
// Use it like encoding/csv, and like the x12 package:
//
//	d := edifact.NewDecoderName(r, "orders.edi")
//	for {
//		msg, err := d.Decode()
//		if err == io.EOF {
//			break
//		}
//		if msg != nil {
//			// msg.Envelope, msg.Segments (UNH..UNT), msg.Pos
//		}
//		if err != nil {
//			// a *edifact.ParseError (or edifact.ErrorList) saying where
//		}
//	}
//
// Decode returns one message (UNH..UNT) at a time with its envelope (UNB,
// UNG when there is one, UNH fields, the service characters and the
// character set). See Decoder for the error contract: structural problems
// (counts, references, missing trailers, segments outside their envelope,
// service segments of the wrong shape) are all reported, and decoding
// continues after them, so one bad message does not hide the good ones
// after it; only faults that make segment boundaries unknowable stop it.
//
// # Errors
//
// Every error is a *ParseError (several at once: an ErrorList, whose
// elements each read on their own) naming the input, a segment and a byte
// offset, like
//
//	edifact: orders.edi: segment 7 (UNT) at byte offset 212 (line 7): UNT01 (0074) declares 9 segments, message has 5
//
// The segment is the faulty one; for a trailer missing at the end of
// input, the UNH, UNG or UNB left open (the message says where the input
// ends); for padding or a read error between segments, the last segment
// read. A segment whose tag is bad has no tag in the place; the message
// quotes its first bytes (at most 20, Go-quoted so control bytes show).
//
// Each error also says how a CONTRL acknowledgement reports it: Code is the
// syntax error code (data element 0085: 13 missing, 28 references do not
// match, 29 control count does not match, 30 groups and messages mixed, 33
// invalid occurrence outside message or group, ...), Element and Component
// locate it in the segment (S011), Level is the envelope it belongs to
// (interchange, group or message) and Interchange, Group and Message are
// the references of the envelopes open at the fault. An error of Level
// LevelMessage comes with its message, which was read whole; RecordLevel
// reports it, so a caller can set that message aside and keep the others.
//
// Checked: UNT 0074 (segments UNH..UNT inclusive) and 0062 against UNH
// 0062; UNE 0060 (messages) and 0048 against UNG 0048; UNZ 0036 (groups
// when the interchange has groups, else messages) and 0020 against UNB
// 0020; references compare exactly. Missing UNT, UNE and UNZ; segments
// between messages, after UNZ or before UNB; groups and messages mixed in
// one interchange; an interchange or group without messages; more than one
// message type in a group. UNB, UNG, UNH, UNT, UNE and UNZ are checked
// against ISO 9735 for their syntax version: at most their data elements
// and components, no repetitions, mandatory elements present, control
// references at most 14 characters, a syntax version of 1 to 4. A
// message or group reference used twice in one interchange is a warning
// (ErrDuplicateRef, to Warn): many senders number every message 1. Data
// segments are checked for their tag only (3 upper-case letters or
// digits); checking them against a message directory is not this
// package's job.
//
// # Service characters
//
// Each interchange has its own: the UNA before it when there is one (six
// characters after "UNA": component separator, element separator, decimal
// mark, release character, repetition separator, segment terminator; a
// space as release character or repetition separator means none), else the
// defaults of its syntax level. UNB has to be split before the syntax
// identifier inside it can be read, so the character after "UNB" tells the
// level: "+" is level A's defaults (used by every level but B: ":" "+"
// "." "?" "'"), IS3 (0x1D) level B's (IS1 0x1F, IS3 0x1D, IS4 0x1C, no
// release character). A UNB without UNA written with the previous
// interchange's UNA characters is read with them, with a warning; with
// any other character after "UNB" the service characters are unknown, a
// fatal ErrBadUNA. The repetition separator exists from syntax version 4
// on: UNA5, else "*" (level B: IS2, 0x1E); a UNA5 other than a space in an
// earlier version is not used (a warning).
//
// A run of k release characters before a service character releases it
// when k is odd; each pair is one release character (so "??'" ends a
// segment with a value ending in "?", "???'" holds "?'"). A release
// character before any other character releases it too.
//
// CR and LF that are not service characters are dropped everywhere, inside
// segments, values and tags too (files hard-wrapped at a fixed width read
// correctly), before release characters are applied: a line break between
// a release character and what it releases does not stop it. Whitespace
// between a segment terminator and the next tag is skipped; blanks before
// a terminator with no tag are an empty segment ("missing segment tag"). A
// UTF-8 BOM at the start of input is skipped; offsets still count it.
// After a UNZ, a run of NUL bytes, DOS end-of-file bytes (0x1A) and
// whitespace up to the end of input is padding, not a segment.
//
// Messages without an interchange (input starting with UNH) are read with
// level A's defaults and each reported as outside an interchange.
//
// # Character sets
//
// Values are returned as UTF-8, decoded in the character set the
// interchange's UNB declares (S001 0001) with golang.org/x/text tables:
// UNOC ISO-8859-1, UNOD 8859-2, UNOE 8859-5, UNOF 8859-7, UNOG 8859-3,
// UNOH 8859-4, UNOI 8859-6, UNOJ 8859-8, UNOK 8859-9, UNOL 8859-15; UNOW
// and UNOY UTF-8. UNOA and UNOB are subsets of ASCII: a byte that is not
// ASCII is taken as UTF-8 when it is, else as Windows-1252. A syntax
// identifier this package does not know (IATA's IATB, UNOX, KECA) is a
// warning and its values are read as UTF-8. A value that is not valid in
// its set (a UTF-8 value that is not UTF-8: decoded as Windows-1252; a
// byte the set leaves undefined: U+FFFD) is an ErrEncoding warning naming
// the element and the byte offset. The Charset option overrides every UNB's
// declaration for partners that declare one set and send another.
//
// Characters outside the repertoire of the syntax level (UNOA: upper-case
// letters, digits, space and . , - ( ) / = ! " % & * ; < > ' + : ?; UNOB
// adds lower-case letters and _; every level: control characters) are
// accepted and reported to Warn (ErrRepertoire, code 21), once per segment
// with the element and byte offset: real UNOA traffic is full of lower-case
// letters. StrictCharset makes them errors of their message instead.
// Service characters and tags are never decoded.
//
// Tokenizer.NextSegment is the layer below: segments with the service
// characters and character set of each interchange, without envelope
// checks.
//
// Parser adapts the decoder to legacybridge.Parser; each Record carries
// Format "edifact", Type the message type (UNH S009 0065, "ORDERS"), the
// envelope as a map ("unb02" sender, "unb05" interchange reference,
// "ung05", "unh01", "version" "D:96A:UN", "charset", the service
// characters; see Message.Record) and the segments UNH..UNT. Passwords
// (UNB S005, UNG 0058) are never kept.
//
// # Memory
//
// The decoder reads through a 64 KiB bufio.Reader (never bufio.Scanner, so
// a single-line file of any size or a segment of megabytes is fine) and
// holds one message at a time: memory is bounded by the largest message
// plus the I/O buffer, whatever the input size (measured: the peak heap
// for 100,000 messages is no higher than for 25,000). Each Decode step
// keeps at most 1000 problems and sums up the rest, and the duplicate
// reference check keeps at most 4096 runs of consecutive numbers and 16384
// hashes per interchange.
//
// # Speed
//
// A segment wholly in the I/O buffer is read in place: the terminator is
// found with bytes.IndexByte (a release-character run before it is counted
// backwards), then one pass over the segment's bytes notes where the
// delimiters are and whether a byte needs the character set; its text is
// copied once into an append-only arena shared with neighbouring segments
// (tag and values are substrings of it), and its element, repetition and
// component slices are cut at their exact sizes from slabs shared between
// segments, as are messages and their segment slices. Only a segment with
// release characters or line breaks gets a cleaned copy of its text first.
// On equivalent streams (an ORDERS message and an X12 850 of 11 segments
// and 225 bytes each) the tokenizer is as fast as the x12 package's and
// the decoder within about 15% of it (measured in the same run: 61-66
// MB/s against 68-75 MB/s on a shared 2-core machine; bufio.Scanner merely
// splitting the same bytes runs about 18 times faster); see
// BenchmarkDecodeVsX12 and BenchmarkTokenizerVsX12. Duplicate references
// are found as runs of consecutive numbers in constant time, others by
// a hash.
//
// # JSON
//
// A Message marshals as {"envelope": {...}, "segments": [...],
// "position": {...}}, envelope keys being those of the record's envelope
// map plus "delimiters"; a legacybridge.Record from Message.Record or the
// Parser marshals with the same segments.
package edifact
