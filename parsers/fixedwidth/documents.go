package fixedwidth

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"legacybridge"
)

// DefaultMaxChildren is the most records one document holds, its start and
// end records not counted, when Document.MaxChildren is 0.
const DefaultMaxChildren = 100_000

// ErrDocument is wrapped by errors about a business document: one the input
// ends inside, one with more records than its layout allows, or a record
// that cannot nest where it is.
var ErrDocument = errors.New("broken document")

// A Document is a business document of a layout: a header record (Start),
// the records after it and the trailer that closes it (End), read by a
// DocumentReader as one legacybridge.Record: Type is the document's Name,
// Fields, Envelope and Pos are the header's, and Children are the records
// after it in order, the trailer last. For NACHA: a batch, from its batch
// header (5) to its batch control (8), with the entries (6) as children and
// each entry's addenda (7) nested under it (Nest).
type Document struct {
	// Name is the Record.Type of the documents (e.g. batch): not the name
	// of a record type. Required.
	Name string `yaml:"name"`

	// Start is the header record type that opens a document. Required.
	Start string `yaml:"start"`

	// End is the trailer record type that closes it, of Start's level.
	// Required.
	End string `yaml:"end"`

	// Nest puts records under an earlier record of the document instead of
	// at its top: record type → parent record type. With {addenda: entry}
	// every addenda record is a child of the entry before it (or of that
	// entry's addenda: records of other nested types may come between);
	// one with no entry before it in its document, or after a record of
	// another top-level type, is an error. Default: none, every record is
	// a child of the document.
	Nest map[string]string `yaml:"nest,omitempty"`

	// MaxChildren caps the records of one document, nested ones included,
	// the start and end records not: a document that would hold more is an
	// error naming the line where it overflows, and its other records are
	// skipped. It bounds the memory a document takes (see the README's
	// measurements). Default 0: DefaultMaxChildren.
	MaxChildren int `yaml:"max_children,omitempty"`
}

// document is a compiled Document.
type document struct {
	Document
	idx        int
	start, end *recType
	level      int
	parent     []*recType // by record type index: the type it nests under, or nil
	max        int
}

// compileDocuments checks the layout's documents (after levels are settled).
func (s *schema) compileDocuments(ds []Document, bad func(string, ...any)) {
	byName := map[string]*recType{}
	for _, rt := range s.types {
		byName[rt.name] = rt
	}
	names := map[string]bool{}
	starts := map[string]string{}
	for i, d := range ds {
		where := fmt.Sprintf("documents[%d]", i)
		if d.Name != "" {
			where += " (" + d.Name + ")"
		}
		doc := &document{Document: d, idx: i, parent: make([]*recType, len(s.types)), max: d.MaxChildren}
		ok := true
		fail := func(format string, args ...any) { ok = false; bad(where+": "+format, args...) }
		switch {
		case d.Name == "":
			fail("name is missing (the record type of the documents, e.g. batch)")
		case byName[d.Name] != nil:
			fail("name %q is also a record type: give the document a name of its own", d.Name)
		case names[d.Name]:
			fail("duplicate document name")
		}
		names[d.Name] = true
		doc.start, doc.end = byName[d.Start], byName[d.End]
		switch {
		case d.Start == "":
			fail("start is missing (the header record type that opens a document)")
		case doc.start == nil:
			fail("start: record type %q does not exist", d.Start)
		case doc.start.role != RoleHeader:
			fail("start: record type %q has role %s, not header", d.Start, doc.start.role)
		case starts[d.Start] != "":
			fail("start: record type %q already starts document %q", d.Start, starts[d.Start])
		default:
			starts[d.Start] = d.Name
			doc.level = doc.start.level
		}
		switch {
		case d.End == "":
			fail("end is missing (the trailer record type that closes a document)")
		case doc.end == nil:
			fail("end: record type %q does not exist", d.End)
		case doc.end.role != RoleTrailer:
			fail("end: record type %q has role %s, not trailer", d.End, doc.end.role)
		case doc.start != nil && doc.start.role == RoleHeader && doc.end.level != doc.start.level:
			fail("end: trailer %q is of level %d, start %q of level %d: a document ends with the trailer of its header's level", d.End, doc.end.level, d.Start, doc.start.level)
		}
		for _, child := range slices.Sorted(maps.Keys(d.Nest)) {
			parent := d.Nest[child]
			crt, prt := byName[child], byName[parent]
			switch {
			case crt == nil:
				fail("nest: record type %q does not exist", child)
			case prt == nil:
				fail("nest: %s: record type %q does not exist", child, parent)
			case crt == doc.start || crt == doc.end:
				fail("nest: %q starts or ends the document; only the records between them nest", child)
			case prt == doc.start:
				fail("nest: %s: %q starts the document, whose children every record is already (leave %s out of nest)", child, parent, child)
			case prt == doc.end:
				fail("nest: %s: %q ends the document and holds no records", child, parent)
			case doc.level > 0 && !doc.inside(crt):
				fail("nest: %q (level %d, %s) is not inside documents of level %d", child, crt.level, crt.role, doc.level)
			case doc.level > 0 && !doc.inside(prt):
				fail("nest: %s: %q (level %d, %s) is not inside documents of level %d", child, parent, prt.level, prt.role, doc.level)
			default:
				doc.parent[crt.idx] = prt
			}
		}
		for _, rt := range s.types { // a chain of parents must end
			seen := map[*recType]bool{}
			for p := doc.parent[rt.idx]; p != nil; p = doc.parent[p.idx] {
				if seen[p] {
					fail("nest: %q nests under itself through %q", rt.name, p.name)
					break
				}
				seen[p] = true
			}
		}
		if d.MaxChildren < 0 {
			fail("max_children %d is negative", d.MaxChildren)
		} else if d.MaxChildren == 0 {
			doc.max = DefaultMaxChildren
		}
		if ok {
			s.docs = append(s.docs, doc)
		}
	}
	for _, d := range s.docs[min(1, len(s.docs)):] {
		if d.level != s.docs[0].level {
			bad("documents: %q (level %d) and %q (level %d) would nest inside one another: declare documents of one level", s.docs[0].Name, s.docs[0].level, d.Name, d.level)
			break
		}
	}
}

// inside says whether records of type rt come between the start and end of
// the document: details of its level and anything deeper.
func (d *document) inside(rt *recType) bool {
	return rt.level > d.level || rt.level == d.level && rt.role == RoleDetail
}

// closes says whether rt ends a batch of the document's level.
func (d *document) closes(rt *recType) bool {
	return rt.role == RoleTrailer && rt.level == d.level
}

var _ legacybridge.RecordReader = (*DocumentReader)(nil)

// A DocumentReader reads the documents a layout declares (Layout.Documents)
// from a Decoder: each as one record holding its children (see Document).
// Records outside any document (a file header, a file trailer) come through
// as they are, one at a time. It keeps one document in memory at a time:
// at most its MaxChildren records.
//
// Errors are those of the Decoder, and *ParseError wrapping ErrDocument for
// a document the input ends inside, one with more than MaxChildren records
// and a nested record without its parent. A document with an error is not
// returned: its other records are skipped up to its end (its trailer, the
// next document, or a record outside documents), and reading goes on
// after it.
type DocumentReader struct {
	d *Decoder

	s      *schema
	types  map[string]*recType
	starts map[string]*document
	err    error // sticky

	def   *document            // the open document's declaration; nil outside documents
	doc   *legacybridge.Record // the open document; nil while skipping a broken one
	open  legacybridge.Position
	n     int                    // its children, start and end not counted
	stack []*legacybridge.Record // the last record at each nesting depth
}

// NewDocumentReader returns a reader of the documents in d's input. Set d's
// fields (Name, MaxLineBytes) before the first Read.
func NewDocumentReader(d *Decoder) *DocumentReader { return &DocumentReader{d: d} }

// Read returns the next document or record outside documents, or io.EOF
// after the last.
func (r *DocumentReader) Read() (legacybridge.Record, error) {
	if r.err != nil {
		return legacybridge.Record{}, r.err
	}
	for {
		rec, err := r.d.Decode()
		if r.s == nil && r.d.s != nil {
			r.init()
			if r.err != nil {
				return legacybridge.Record{}, r.err
			}
		}
		if err == io.EOF {
			if r.def == nil {
				r.err = io.EOF
				return legacybridge.Record{}, io.EOF
			}
			def := r.def
			r.def, r.doc = nil, nil
			return legacybridge.Record{}, &ParseError{File: r.d.Name, Offset: r.d.offset, Index: r.d.index, Type: def.Name,
				Err: fmt.Errorf("%w: document %q opened at line %d (%s record) is not closed: the input ends before its %q record; send the rest of the file, or the file again",
					ErrDocument, def.Name, r.open.Line, def.Start, def.End)}
		}
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) && r.s != nil {
				r.fault(pe)
			}
			return rec, err
		}
		rt := r.types[rec.Type]
		if r.def == nil {
			if def := r.starts[rec.Type]; def != nil {
				r.begin(def, rec)
				continue
			}
			return rec, nil
		}
		if r.doc == nil { // skipping a broken document
			switch def := r.starts[rec.Type]; {
			case def != nil:
				r.begin(def, rec)
			case r.def.inside(rt):
			case r.def.closes(rt):
				r.def = nil
			default:
				r.def = nil
				return rec, nil
			}
			continue
		}
		switch {
		case rt == r.def.end:
			r.doc.Children = append(r.doc.Children, rec)
			out := *r.doc
			r.def, r.doc = nil, nil
			clear(r.stack) // no reference to the document stays behind
			r.stack = r.stack[:0]
			return out, nil
		case r.def.inside(rt):
			if err := r.add(rec, rt); err != nil {
				return legacybridge.Record{}, err
			}
		default:
			// The Decoder's order checks keep other records out of an open
			// batch; a second trailer type of the document's level is what
			// remains.
			def := r.def
			r.def, r.doc = nil, nil
			if !def.closes(rt) {
				r.def = def // skip the rest of it
			}
			return legacybridge.Record{}, r.placed(rec, fmt.Errorf("%w: a %q record in document %q opened at line %d, which only its %q record closes",
				ErrDocument, rec.Type, def.Name, r.open.Line, def.End))
		}
	}
}

// init takes the compiled layout from the Decoder after its first Decode.
func (r *DocumentReader) init() {
	r.s = r.d.s
	if len(r.s.docs) == 0 {
		r.err = fmt.Errorf("fixedwidth: %s: layout %s declares no documents: add documents: (name, start, end) to the layout, or read records one at a time", r.d.Name, r.s.name)
		return
	}
	r.types = make(map[string]*recType, len(r.s.types))
	for _, rt := range r.s.types {
		r.types[rt.name] = rt
	}
	r.starts = map[string]*document{}
	for _, d := range r.s.docs {
		r.starts[d.Start] = d
	}
}

// begin opens a document at its start record.
func (r *DocumentReader) begin(def *document, rec legacybridge.Record) {
	r.def, r.open, r.n = def, rec.Pos, 0
	r.doc = &legacybridge.Record{Format: rec.Format, Type: def.Name, Pos: rec.Pos, Envelope: rec.Envelope, Fields: rec.Fields}
	clear(r.stack)
	r.stack = r.stack[:0]
}

// fault settles the document state after a Decoder error on a line of
// record type pe.Type ("" when the line's type is unknown).
func (r *DocumentReader) fault(pe *ParseError) {
	rt := r.types[pe.Type]
	switch {
	case r.def == nil:
		// A start record that failed: the Decoder has opened its batch
		// (unless it came out of order), so its records follow; skip them.
		if def := r.starts[pe.Type]; def != nil {
			r.def, r.doc, r.open = def, nil, pe.Place()
		}
	case rt != nil && r.def.closes(rt):
		r.def, r.doc = nil, nil // a trailer that failed (a control total) still closes the batch
	default:
		r.doc = nil // skip the rest of the document
	}
}

// add puts a record into the open document, at its top or under the record
// its type nests under.
func (r *DocumentReader) add(rec legacybridge.Record, rt *recType) error {
	if r.n >= r.def.max {
		r.doc = nil
		return r.placed(rec, fmt.Errorf("%w: document %q opened at line %d holds more than %d records; raise documents[%d].max_children in layout %s (memory grows with it), or have the file split; its records up to its %q record are skipped",
			ErrDocument, r.def.Name, r.open.Line, r.def.max, r.def.idx, r.s.name, r.def.End))
	}
	r.n++
	p := r.def.parent[rt.idx]
	if p == nil {
		r.doc.Children = append(r.doc.Children, rec)
		r.stack = append(r.stack[:0], &r.doc.Children[len(r.doc.Children)-1])
		return nil
	}
	for len(r.stack) > 0 && r.stack[len(r.stack)-1].Type != p.name {
		r.stack = r.stack[:len(r.stack)-1]
	}
	if len(r.stack) == 0 {
		r.doc = nil
		return r.placed(rec, fmt.Errorf("%w: a %q record nests under a %q record (documents[%d].nest), and none comes before it in document %q opened at line %d",
			ErrDocument, rec.Type, p.name, r.def.idx, r.def.Name, r.open.Line))
	}
	// Only the last record of each depth is on the stack, and records are
	// appended only under the top one: the pointers below it stay valid.
	top := r.stack[len(r.stack)-1]
	top.Children = append(top.Children, rec)
	r.stack = append(r.stack, &top.Children[len(top.Children)-1])
	return nil
}

// placed makes err a *ParseError at rec's line.
func (r *DocumentReader) placed(rec legacybridge.Record, err error) *ParseError {
	return &ParseError{File: r.d.Name, Line: rec.Pos.Line, Offset: rec.Pos.Offset, Type: rec.Type, Index: rec.Pos.Index, Err: err}
}
