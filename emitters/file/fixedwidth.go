package file

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"legacybridge"
	"legacybridge/parsers/fixedwidth"
)

// Spec describes a fixed-width outbound file: which records of a
// fixedwidth.Layout to write for an event, and where each field's value
// comes from in the event. It is usually written in YAML and read with
// LoadFixedWidth; unknown keys are errors.
//
//	name: partner-asn
//	layout: partner-asn-layout.yaml     # a parsers/fixedwidth layout, relative to this file
//	types: [com.legacybridge.shipment.notice.v1]
//	extension: .txt                     # default .txt
//	newline: crlf                       # lf (default) or crlf
//	records:
//	  - record: header                  # one header record
//	    fields:
//	      shipment_id: $.shipmentId
//	      carrier: {path: $.carrier.code, default: "NONE"}
//	      kind: {const: "ASN"}
//	  - each: $.orders[*]               # a group: its records once per order
//	    as: order
//	    records:
//	      - record: detail              # one detail record per item of the order
//	        each: [@.items[*], @.packs[*].items[*]]
//	        fields:
//	          po_number: [@.purchaseOrderNumber, $order.purchaseOrderNumber]
//	          quantity: @.quantityShipped
//	          uom: {path: @.uom, map: {each: EA, case: CS}}
//	  - record: trailer                 # its trailer_count field is filled in
//
// A field's source is a path (see below), a list of paths (the first that
// holds a value wins), or {path, const, default, map}: const is a fixed
// text; default is used when the paths hold nothing; map translates the
// value found (a value missing from the map is an error, never passed
// through). Layout fields without a source are blank; a required one is an
// error when the spec is loaded (the trailer count aside).
//
// Paths: $ is the event data, $event the event's attributes (id, type,
// source, subject, time, dataschema, ext.NAME), $name an element bound by
// an enclosing each with as: name, @ the element of the innermost each;
// then .key, ['key'], [n] and, in each only, [*]. A path that does not
// apply yields no value (a blank field, or no records for an each).
type Spec struct {
	Name        string       `yaml:"name"`
	Description string       `yaml:"description,omitempty"`
	Layout      string       `yaml:"layout"`
	Types       []string     `yaml:"types"`
	Extension   string       `yaml:"extension,omitempty"`
	Newline     string       `yaml:"newline,omitempty"`
	Records     []RecordSpec `yaml:"records"`
}

// RecordSpec writes one record type (Record with Fields), or a group of
// record specs (Records). With Each, it does so once per element found.
type RecordSpec struct {
	Record  string            `yaml:"record,omitempty"`
	Each    Paths             `yaml:"each,omitempty"`
	As      string            `yaml:"as,omitempty"`
	Fields  map[string]Source `yaml:"fields,omitempty"`
	Records []RecordSpec      `yaml:"records,omitempty"`
}

// Paths is one path or a list of paths (YAML scalar or sequence).
type Paths []string

// UnmarshalYAML accepts a scalar or a sequence of scalars.
func (p *Paths) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*p = Paths{n.Value}
		return nil
	case yaml.SequenceNode:
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		*p = l
		return nil
	}
	return fmt.Errorf("line %d: want a path or a list of paths", n.Line)
}

// Source says where a field's value comes from.
type Source struct {
	Paths   Paths             `yaml:"path,omitempty"`
	Const   *string           `yaml:"const,omitempty"`
	Default *string           `yaml:"default,omitempty"`
	Map     map[string]string `yaml:"map,omitempty"`
}

// UnmarshalYAML accepts a path, a list of paths, or a mapping with the
// keys path, const, default and map.
func (s *Source) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode, yaml.SequenceNode:
		return n.Decode(&s.Paths)
	case yaml.MappingNode:
		for i := 0; i < len(n.Content); i += 2 {
			switch k := n.Content[i].Value; k {
			case "path", "const", "default", "map":
			default:
				return fmt.Errorf("line %d: unknown key %q in a field source (path, const, default, map)", n.Content[i].Line, k)
			}
		}
		type plain Source
		return n.Decode((*plain)(s))
	}
	return fmt.Errorf("line %d: want a path, a list of paths, or {path, const, default, map}", n.Line)
}

// FixedWidth encodes events as fixed-width files with a Spec and a
// fixedwidth.Layout; the columns are written by fixedwidth.Encoder (that is,
// go-fixedwidth). It is safe for concurrent use.
type FixedWidth struct {
	name    string
	layout  *fixedwidth.Layout
	types   []string
	ext     string
	newline string
	recs    []*fwRecord
	pool    sync.Pool // *fixedwidth.Encoder, compiled once
}

var _ TypedEncoder = (*FixedWidth)(nil)

type fwRecord struct {
	record   string // record type, or "" for a group
	each     []*path
	as       string
	fields   []fwField
	children []*fwRecord
}

type fwField struct {
	name  string
	paths []*path
	cnst  *string
	def   *string
	mp    map[string]string
}

// LoadFixedWidth reads a Spec from a YAML file, and the layout it names
// (relative to the spec's folder).
func LoadFixedWidth(specPath string) (*FixedWidth, error) {
	data, err := os.ReadFile(specPath)
	if err != nil {
		return nil, fmt.Errorf("file: fixed-width spec: %w", err)
	}
	spec, err := ParseSpec(data)
	if err != nil {
		return nil, fmt.Errorf("file: fixed-width spec %s: %w", specPath, err)
	}
	if spec.Layout == "" {
		return nil, fmt.Errorf("file: fixed-width spec %s: layout is missing", specPath)
	}
	lp := spec.Layout
	if !filepath.IsAbs(lp) {
		lp = filepath.Join(filepath.Dir(specPath), lp)
	}
	l, err := fixedwidth.LoadLayout(lp)
	if err != nil {
		return nil, fmt.Errorf("file: fixed-width spec %s: %w", specPath, err)
	}
	fw, err := NewFixedWidth(spec, l)
	if err != nil {
		return nil, fmt.Errorf("file: fixed-width spec %s: %w", specPath, err)
	}
	return fw, nil
}

// ParseSpec reads a Spec from YAML. Unknown keys are errors.
func ParseSpec(data []byte) (*Spec, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var s Spec
	if err := dec.Decode(&s); err != nil {
		if err == io.EOF {
			return nil, errors.New("empty spec")
		}
		return nil, err
	}
	return &s, nil
}

// SpecError lists every problem found in a spec.
type SpecError struct {
	Spec     string
	Problems []string
}

func (e *SpecError) Error() string {
	return fmt.Sprintf("spec %s: %s", e.Spec, strings.Join(e.Problems, "; "))
}

// NewFixedWidth checks spec against layout l (record types, field names,
// required fields, paths and their bindings) and returns the encoder.
func NewFixedWidth(spec *Spec, l *fixedwidth.Layout) (*FixedWidth, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	fw := &FixedWidth{name: spec.Name, layout: l, types: spec.Types, ext: spec.Extension}
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	if spec.Name == "" {
		bad("name is missing")
	}
	if len(spec.Types) == 0 {
		bad("types is missing: list the event types this spec writes")
	}
	if fw.ext == "" {
		fw.ext = ".txt"
	} else if !strings.HasPrefix(fw.ext, ".") || checkName("x"+fw.ext, "") != nil {
		bad("extension %q must start with a dot and be usable in a file name", fw.ext)
	}
	switch spec.Newline {
	case "", "lf":
		fw.newline = "\n"
	case "crlf":
		fw.newline = "\r\n"
	default:
		bad("newline %q is not lf or crlf", spec.Newline)
	}
	if len(spec.Records) == 0 {
		bad("records is missing")
	}
	rts := map[string]*fixedwidth.RecordType{}
	for i := range l.Records {
		rts[l.Records[i].Name] = &l.Records[i]
	}
	var compile func(rs []RecordSpec, where string, bound map[string]bool, inEach bool) []*fwRecord
	compile = func(rs []RecordSpec, where string, bound map[string]bool, inEach bool) []*fwRecord {
		var out []*fwRecord
		for i, r := range rs {
			w := fmt.Sprintf("%s[%d]", where, i)
			if r.Record != "" {
				w += " (" + r.Record + ")"
			}
			c := &fwRecord{record: r.Record, as: r.As}
			checkPath := func(s string, wild bool, scope map[string]bool, at bool) *path {
				p, err := parsePath(s)
				if err != nil {
					bad("%s: %v", w, err)
					return nil
				}
				switch {
				case p.wild && !wild:
					bad("%s: path %q: [*] is only for each", w, s)
				case p.root == "@" && !at:
					bad("%s: path %q: @ is only inside an each", w, s)
				case p.root != "" && p.root != "@" && !scope[p.root]:
					bad("%s: path %q: $%s is not bound here (bind it with as: in an enclosing each)", w, s, p.root)
				}
				return p
			}
			for _, s := range r.Each {
				c.each = append(c.each, checkPath(s, true, bound, inEach))
			}
			inner := bound
			if r.As != "" {
				switch {
				case len(r.Each) == 0:
					bad("%s: as needs each", w)
				case r.As == "event" || !isIdent(r.As):
					bad("%s: as %q must be a name of letters, digits, _ and - other than event", w, r.As)
				case bound[r.As]:
					bad("%s: as %q is already bound by an enclosing each", w, r.As)
				}
				inner = map[string]bool{r.As: true}
				for k := range bound {
					inner[k] = true
				}
			}
			innerEach := inEach || len(r.Each) > 0
			switch {
			case r.Record != "" && len(r.Records) > 0:
				bad("%s: give record (with fields) or records (a group), not both", w)
			case r.Record == "" && len(r.Records) == 0:
				bad("%s: give record (with fields) or records (a group)", w)
			case len(r.Records) > 0:
				if len(r.Each) == 0 {
					bad("%s: a group of records needs each", w)
				}
				if len(r.Fields) > 0 {
					bad("%s: fields belong to a record, not to a group", w)
				}
				c.children = compile(r.Records, w+".records", inner, innerEach)
			default:
				rt := rts[r.Record]
				if rt == nil {
					bad("%s: layout %s has no record type %q", w, l.Name, r.Record)
					break
				}
				names := make([]string, 0, len(r.Fields))
				for n := range r.Fields {
					names = append(names, n)
				}
				sort.Strings(names)
				for _, n := range names {
					src := r.Fields[n]
					fl := "field " + n
					if !slices.ContainsFunc(rt.Fields, func(f fixedwidth.Field) bool { return f.Name == n }) {
						bad("%s: %s: record type %q has no such field", w, fl, r.Record)
						continue
					}
					f := fwField{name: n, cnst: src.Const, def: src.Default, mp: src.Map}
					switch {
					case src.Const != nil && len(src.Paths) > 0:
						bad("%s: %s: give path or const, not both", w, fl)
					case src.Const == nil && len(src.Paths) == 0:
						bad("%s: %s: give a path or a const", w, fl)
					case src.Const != nil && (src.Default != nil || src.Map != nil):
						bad("%s: %s: default and map go with path, not const", w, fl)
					}
					for _, s := range src.Paths {
						f.paths = append(f.paths, checkPath(s, false, inner, innerEach))
					}
					c.fields = append(c.fields, f)
				}
				tc := l.TrailerCount
				for _, f := range rt.Fields {
					_, mapped := r.Fields[f.Name]
					if f.Required && !mapped && !(tc != nil && tc.Record == rt.Name && tc.Field == f.Name) {
						bad("%s: field %s is required by layout %s but has no source", w, f.Name, l.Name)
					}
				}
			}
			out = append(out, c)
		}
		return out
	}
	fw.recs = compile(spec.Records, "records", map[string]bool{"event": true}, false)
	if len(probs) > 0 {
		name := spec.Name
		if name == "" {
			name = "(unnamed)"
		}
		return nil, &SpecError{Spec: name, Problems: probs}
	}
	return fw, nil
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isKeyChar(s[i]) {
			return false
		}
	}
	return true
}

// Extension is the spec's file name extension (default ".txt").
func (f *FixedWidth) Extension() string { return f.ext }

// Types are the event types the spec writes.
func (f *FixedWidth) Types() []string { return slices.Clone(f.types) }

// Encode writes the fixed-width file for ev. An error names the record
// (and the element of the event data it came from) and the field.
func (f *FixedWidth) Encode(w io.Writer, ev legacybridge.Event) error {
	data, err := decodeData(ev)
	if err != nil {
		return fmt.Errorf("fixed-width %s: %w", f.name, err)
	}
	ext := map[string]any{}
	for k, v := range ev.Extensions {
		ext[k] = v
	}
	attrs := map[string]any{"id": ev.ID, "type": ev.Type, "source": ev.Source, "ext": ext}
	for k, v := range map[string]string{"subject": ev.Subject, "dataschema": ev.DataSchema} {
		if v != "" {
			attrs[k] = v
		}
	}
	if !ev.Time.IsZero() {
		attrs["time"] = ev.Time.UTC().Format(time.RFC3339Nano)
	}
	enc, _ := f.pool.Get().(*fixedwidth.Encoder)
	if enc == nil {
		enc = fixedwidth.NewEncoder(w, f.layout)
		enc.Newline = f.newline
	} else {
		enc.Reset(w)
	}
	defer f.pool.Put(enc)
	sc := &scope{data: data, bindings: map[string]any{"event": attrs}}
	if err := f.walk(enc, f.recs, sc); err != nil {
		return fmt.Errorf("fixed-width %s: %w", f.name, err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("fixed-width %s: %w", f.name, err)
	}
	return nil
}

func (f *FixedWidth) walk(enc *fixedwidth.Encoder, recs []*fwRecord, sc *scope) error {
	for _, r := range recs {
		if len(r.each) == 0 {
			if err := f.write(enc, r, sc, ""); err != nil {
				return err
			}
			continue
		}
		for _, p := range r.each {
			for _, m := range sc.all(p) {
				inner := &scope{data: sc.data, bindings: sc.bindings, cur: m, hasCur: true}
				if r.as != "" {
					inner.bindings = make(map[string]any, len(sc.bindings)+1)
					for k, v := range sc.bindings {
						inner.bindings[k] = v
					}
					inner.bindings[r.as] = m.v
				}
				var err error
				if r.record != "" {
					err = f.write(enc, r, inner, m.where)
				} else {
					err = f.walk(enc, r.children, inner)
				}
				if err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (f *FixedWidth) write(enc *fixedwidth.Encoder, r *fwRecord, sc *scope, where string) error {
	what := r.record + " record"
	if where != "" {
		what += " for " + where
	}
	fields := make(map[string]any, len(r.fields))
	for _, fd := range r.fields {
		v, err := fd.value(sc)
		if err != nil {
			return fmt.Errorf("%s: field %s: %w", what, fd.name, err)
		}
		fields[fd.name] = v
	}
	if err := enc.Encode(legacybridge.Record{Type: r.record, Fields: fields}); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// value finds a field's value: string, json.Number or nil.
func (fd *fwField) value(sc *scope) (any, error) {
	if fd.cnst != nil {
		return *fd.cnst, nil
	}
	var found *match
	for _, p := range fd.paths {
		if m, ok := sc.one(p); ok && m.v != nil {
			found = &m
			break
		}
	}
	if found == nil {
		if fd.def != nil {
			return *fd.def, nil
		}
		return nil, nil
	}
	var text string
	switch x := found.v.(type) {
	case string:
		text = x
	case json.Number:
		text = string(x)
	case bool:
		if fd.mp == nil {
			return nil, fmt.Errorf("%s is a boolean (%v); give the field a map, e.g. {true: Y, false: N}", found.where, x)
		}
		text = fmt.Sprint(x)
	case map[string]any:
		return nil, fmt.Errorf("%s is an object, not a value", found.where)
	case []any:
		return nil, fmt.Errorf("%s is a list, not a value", found.where)
	}
	if fd.mp != nil {
		mapped, ok := fd.mp[text]
		if !ok {
			return nil, fmt.Errorf("%s is %q, which the field's map does not list", found.where, text)
		}
		return mapped, nil
	}
	return found.v, nil
}
