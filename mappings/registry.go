package mappings

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	pathpkg "path"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// canonicalSchemas holds the JSON Schemas of the canonical event types: one
// file per type named <type>.json, shared definitions under defs/.
//
//go:embed schemas/*.json schemas/defs/*.json
var canonicalSchemas embed.FS

// Registry maps event types to their compiled JSON Schemas. It is safe for
// concurrent use once built.
type Registry struct {
	types map[string]*EventType
	docs  map[string]any // every schema document by $id, for static checks
}

// EventType is one canonical event type: its name (the CloudEvents type),
// the URI of its schema (the CloudEvents dataschema) and the compiled schema.
type EventType struct {
	Name      string
	SchemaURI string
	raw       []byte
	schema    *jsonschema.Schema
	reg       *Registry
}

// Canonical returns a registry of the event types whose schemas are embedded
// in this package (mappings/schemas): com.legacybridge.shipment.notice.v1,
// com.legacybridge.purchase.order.v1, com.legacybridge.inventory.movement.v1,
// com.legacybridge.payment.batch.v1.
// Each call compiles the schemas anew; build one and share it.
func Canonical() (*Registry, error) {
	sub, err := fs.Sub(canonicalSchemas, "schemas")
	if err != nil {
		return nil, err
	}
	return NewRegistry(sub)
}

// NewRegistry compiles the schemas in fsys: every <type>.json at the top is
// the schema of event type <type> and must carry "$id" ending in
// "/<type>.json"; every defs/*.json is a shared resource other schemas may
// $ref by its "$id". Formats (date, date-time) are asserted.
func NewRegistry(fsys fs.FS) (*Registry, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	type entry struct {
		name, id string
		raw      []byte
	}
	var types []entry
	docs := map[string]any{}
	add := func(file string, isType bool) error {
		raw, err := fs.ReadFile(fsys, file)
		if err != nil {
			return err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return fmt.Errorf("mappings: schema %s: %w", file, err)
		}
		obj, _ := doc.(map[string]any)
		id, _ := obj["$id"].(string)
		if id == "" {
			return fmt.Errorf("mappings: schema %s: no $id", file)
		}
		if isType {
			name := strings.TrimSuffix(pathpkg.Base(file), ".json")
			if !strings.HasSuffix(id, "/"+name+".json") {
				return fmt.Errorf("mappings: schema %s: $id %q does not end in /%s.json", file, id, name)
			}
			types = append(types, entry{name, id, raw})
		}
		docs[id] = doc
		if err := c.AddResource(id, doc); err != nil {
			return fmt.Errorf("mappings: schema %s: %w", file, err)
		}
		return nil
	}
	for _, dir := range []struct {
		glob   string
		isType bool
	}{{"defs/*.json", false}, {"*.json", true}} {
		files, err := fs.Glob(fsys, dir.glob)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if err := add(f, dir.isType); err != nil {
				return nil, err
			}
		}
	}
	r := &Registry{types: map[string]*EventType{}, docs: docs}
	for _, e := range types {
		s, err := c.Compile(e.id)
		if err != nil {
			return nil, fmt.Errorf("mappings: schema of %s: %w", e.name, err)
		}
		r.types[e.name] = &EventType{Name: e.name, SchemaURI: e.id, raw: e.raw, schema: s, reg: r}
	}
	return r, nil
}

// Lookup returns the event type called name.
func (r *Registry) Lookup(name string) (*EventType, bool) {
	t, ok := r.types[name]
	return t, ok
}

// Types lists the registered event types, sorted.
func (r *Registry) Types() []string {
	out := make([]string, 0, len(r.types))
	for n := range r.types {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Schema returns the schema document as written.
func (t *EventType) Schema() []byte { return bytes.Clone(t.raw) }

// Validate checks decoded JSON data (as produced by encoding/json with
// UseNumber, or by jsonschema.UnmarshalJSON) against the type's schema. A
// failure is a *SchemaError.
func (t *EventType) Validate(data any) error {
	err := t.schema.Validate(data)
	if err == nil {
		return nil
	}
	if ve, ok := err.(*jsonschema.ValidationError); ok {
		return newSchemaError(t.Name, ve)
	}
	return err
}

// ValidateJSON checks encoded event data against the type's schema.
func (t *EventType) ValidateJSON(data []byte) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("mappings: %s: data is not JSON: %w", t.Name, err)
	}
	return t.Validate(doc)
}

// SchemaError says why data does not match its event type's schema: the
// first failing place (Field, as a dotted path like orders[0].items[1].uom)
// and the schema keyword that failed (required, type, format, ...).
type SchemaError struct {
	Type    string
	Field   string
	Keyword string
	Message string
	Err     *jsonschema.ValidationError // every failure, for detail
}

func (e *SchemaError) Error() string {
	f := e.Field
	if f == "" {
		f = "(data)"
	}
	return fmt.Sprintf("%s: %s: schema keyword %s: %s", e.Type, f, e.Keyword, e.Message)
}

func (e *SchemaError) Unwrap() error { return e.Err }

func newSchemaError(typ string, ve *jsonschema.ValidationError) *SchemaError {
	leaf := firstLeaf(ve)
	se := &SchemaError{Type: typ, Err: ve}
	loc := leaf.InstanceLocation
	kw := leaf.ErrorKind.KeywordPath()
	if len(kw) > 0 {
		se.Keyword = kw[len(kw)-1]
	}
	se.Message = kindMessage(leaf)
	if m := missingProps(leaf); len(m) > 0 {
		loc = append(append([]string(nil), loc...), m[0])
	}
	se.Field = dotted(loc)
	return se
}

// firstLeaf descends to the most specific failure: the cause that reaches
// deepest into the instance, stopping at anyOf/oneOf (whose alternatives
// all failed; reporting one of them would mislead).
func firstLeaf(ve *jsonschema.ValidationError) *jsonschema.ValidationError {
	for len(ve.Causes) > 0 {
		switch ve.ErrorKind.(type) {
		case *kind.AnyOf, *kind.OneOf:
			return ve
		}
		best := ve.Causes[0]
		for _, c := range ve.Causes[1:] {
			if len(c.InstanceLocation) > len(best.InstanceLocation) {
				best = c
			}
		}
		ve = best
	}
	return ve
}

// dotted renders an instance location as a.b[0].c.
func dotted(loc []string) string {
	var b strings.Builder
	for _, p := range loc {
		if p != "" && strings.Trim(p, "0123456789") == "" {
			b.WriteString("[" + p + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// missingProps names the properties a "required" failure misses.
func missingProps(ve *jsonschema.ValidationError) []string {
	if r, ok := ve.ErrorKind.(*kind.Required); ok {
		return r.Missing
	}
	return nil
}

// kindMessage renders one failure in English without its location; for
// anyOf/oneOf it lists why each alternative failed.
func kindMessage(ve *jsonschema.ValidationError) string {
	p := message.NewPrinter(language.English)
	msg := ve.ErrorKind.LocalizedString(p)
	switch ve.ErrorKind.(type) {
	case *kind.AnyOf, *kind.OneOf:
		var alts []string
		for _, c := range ve.Causes {
			l := firstLeaf(c)
			alts = append(alts, l.ErrorKind.LocalizedString(p))
		}
		if len(alts) > 0 {
			msg += " (" + strings.Join(alts, "; ") + ")"
		}
	}
	return msg
}
