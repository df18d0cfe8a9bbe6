package mappings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"legacybridge"
)

// Mapping turns records of one format and type into events of one canonical
// type. Build it with Load (or Parse); it is safe for concurrent use.
type Mapping struct {
	name      string
	file      string
	format    string
	types     map[string]bool
	eventType string
	et        *EventType
	subject   *expr
	time      *expr
	loc       *time.Location
	groups    map[string]map[string]bool
	hiers     map[string]*hierarchy // groups declared with id:/parent:/level:
	lookups   map[string]map[string]string
	data      *objField
	problems  []error
}

var (
	_ legacybridge.Mapper  = (*Mapping)(nil)
	_ legacybridge.Skipper = (*Mapping)(nil)
	_ legacybridge.Placer  = (*Error)(nil)
)

// spec is the YAML mapping file. Unknown keys are errors.
type spec struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Match       struct {
		Format string     `yaml:"format"`
		Type   stringList `yaml:"type"`
	} `yaml:"match"`
	Event struct {
		Type    string `yaml:"type"`
		Subject string `yaml:"subject"`
		Time    string `yaml:"time"`
	} `yaml:"event"`
	Timezone string                       `yaml:"timezone"`
	Groups   map[string]groupSpec         `yaml:"groups"`
	Lookups  map[string]map[string]string `yaml:"lookups"`
	Data     yaml.Node                    `yaml:"data"`
}

// groupSpec declares a segment group; with id:, parent: and level: its
// segments start hierarchy loops that nest by id and parent, as HL loops do.
type groupSpec struct {
	Until  []string `yaml:"until"`
	ID     string   `yaml:"id"`     // element holding the loop's id: CPS01
	Parent string   `yaml:"parent"` // element holding its parent's id: CPS02
	Level  string   `yaml:"level"`  // expression giving its level code, read in the loop
	Top    string   `yaml:"top"`    // expression giving the level of a loop without a parent (default: level)
}

// stringList is a YAML scalar or sequence of scalars.
type stringList []string

func (l *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = []string{n.Value}
		return nil
	}
	var s []string
	if err := n.Decode(&s); err != nil {
		return err
	}
	*l = s
	return nil
}

// Loader loads mapping files against a registry of event types.
type Loader struct {
	// Registry resolves event types to schemas.
	// Default: the canonical types embedded in this package (Canonical).
	Registry *Registry
}

// Load reads, checks and compiles one mapping file with the canonical
// registry. If the file has problems, the error lists every one of them
// (it is a *Problems).
func Load(path string) (*Mapping, error) { return Loader{}.Load(path) }

// Load reads, checks and compiles one mapping file.
func (l Loader) Load(path string) (*Mapping, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mappings: %w", err)
	}
	reg := l.Registry
	if reg == nil {
		if reg, err = Canonical(); err != nil {
			return nil, err
		}
	}
	m, err := Parse(path, src, reg)
	if err != nil {
		return nil, err
	}
	if ps := m.Validate(); len(ps) > 0 {
		return nil, &Problems{File: path, Errs: ps}
	}
	return m, nil
}

// Problems lists everything wrong with a mapping file.
type Problems struct {
	File string
	Errs []error
}

func (p *Problems) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mappings: %s: %d problem(s):", p.File, len(p.Errs))
	for _, e := range p.Errs {
		b.WriteString("\n\t")
		b.WriteString(e.Error())
	}
	return b.String()
}

func (p *Problems) Unwrap() []error { return p.Errs }

// Parse decodes a mapping file's bytes (name is used in messages). It fails
// only when the YAML cannot be decoded (syntax, unknown keys); every other
// problem is kept for Validate, and Map refuses to run while there are any.
func Parse(name string, src []byte, reg *Registry) (*Mapping, error) {
	var sp spec
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&sp); err != nil {
		return nil, fmt.Errorf("mappings: %s: %w", name, err)
	}
	m := &Mapping{name: sp.Name, file: name, format: sp.Match.Format, eventType: sp.Event.Type, loc: time.UTC}
	if m.name == "" {
		m.name = name
	}
	m.compile(&sp, reg)
	return m, nil
}

func (m *Mapping) problem(format string, args ...any) {
	m.problems = append(m.problems, fmt.Errorf("%s: "+format, append([]any{m.file}, args...)...))
}

func (m *Mapping) problemAt(n *yaml.Node, where, format string, args ...any) {
	line := ""
	if n != nil && n.Line > 0 {
		line = fmt.Sprintf(":%d", n.Line)
	}
	m.problems = append(m.problems, fmt.Errorf("%s%s: %s: "+format, append([]any{m.file, line, where}, args...)...))
}

func (m *Mapping) segmentFormat() bool { return m.format == "x12" || m.format == "edifact" }

func (m *Mapping) compile(sp *spec, reg *Registry) {
	if sp.Name == "" {
		m.problem("name: missing")
	}
	switch m.format {
	case "x12", "edifact", "fixedwidth", "csv", "cdc":
	case "":
		m.problem("match.format: missing (x12, edifact, fixedwidth, csv or cdc)")
	default:
		m.problem("match.format: unknown format %q (x12, edifact, fixedwidth, csv or cdc: rows from change capture)", m.format)
	}
	if len(sp.Match.Type) == 0 {
		m.problem("match.type: missing (a transaction set such as \"856\", or a record type such as detail)")
	}
	m.types = map[string]bool{}
	for _, t := range sp.Match.Type {
		if t == "" {
			m.problem("match.type: empty type")
		}
		m.types[t] = true
	}
	if sp.Timezone != "" {
		loc, err := time.LoadLocation(sp.Timezone)
		if err != nil {
			m.problem("timezone: %v", err)
		} else {
			m.loc = loc
		}
	}
	switch {
	case sp.Event.Type == "":
		m.problem("event.type: missing")
	case reg == nil:
		m.problem("event.type: no registry of event types")
	default:
		et, ok := reg.Lookup(sp.Event.Type)
		if !ok {
			m.problem("event.type: no schema for event type %q (known: %s)", sp.Event.Type, strings.Join(reg.Types(), ", "))
		}
		m.et = et
	}
	m.lookups = sp.Lookups
	if m.lookups == nil {
		m.lookups = map[string]map[string]string{}
	}
	m.groups = map[string]map[string]bool{}
	for _, tag := range sortedKeys(sp.Groups) {
		if !m.segmentFormat() {
			m.problem("groups: %s: %s records have no segments", tag, m.format)
		}
		if !tagRe.MatchString(tag) || tag == "HL" || tag == "SE" {
			m.problem("groups: %q is not a segment tag that can start a group", tag)
		}
		until := map[string]bool{}
		for _, u := range sp.Groups[tag].Until {
			if !tagRe.MatchString(u) {
				m.problem("groups: %s: until: %q is not a segment tag", tag, u)
			}
			until[u] = true
		}
		m.groups[tag] = until
	}
	m.hiers = map[string]*hierarchy{}
	for _, tag := range sortedKeys(sp.Groups) {
		m.compileHierarchy(tag, sp.Groups[tag])
	}
	if sp.Event.Subject == "" {
		m.problem("event.subject: missing (the business key, also the Kafka key)")
	} else {
		m.subject = m.noNull(nil, "event.subject", m.compileExpr(nil, "event.subject", sp.Event.Subject))
	}
	if sp.Event.Time != "" {
		m.time = m.noNull(nil, "event.time", m.compileExpr(nil, "event.time", sp.Event.Time))
	}
	switch {
	case sp.Data.Kind == 0:
		m.problem("data: missing")
	default:
		n := resolve(&sp.Data)
		if n.Kind != yaml.MappingNode {
			m.problemAt(n, "data", "want a mapping of output fields")
			break
		}
		m.data = m.compileObject(n, "data")
		m.checkAgainstSchema()
	}
}

// compileHierarchy reads a group's id:, parent:, level: and top:, if any.
// It runs after every group is declared, so level expressions may name
// groups.
func (m *Mapping) compileHierarchy(tag string, g groupSpec) {
	if g.ID == "" && g.Parent == "" && g.Level == "" && g.Top == "" {
		return
	}
	where := "groups." + tag
	h := &hierarchy{tag: tag}
	ok := true
	elem := func(key, text string) designator {
		if text == "" {
			m.problem("%s: %s: missing (a hierarchy needs id:, parent: and level:)", where, key)
			ok = false
			return designator{}
		}
		d, err := parseDesignator(strings.TrimSpace(text))
		switch {
		case err != nil:
			m.problem("%s: %s: %v", where, key, err)
			ok = false
		case d.tag != tag || len(d.quals) > 0:
			m.problem("%s: %s: %q is not an element of %s (want %s01, %s02, ...)", where, key, text, tag, tag, tag)
			ok = false
		}
		return d
	}
	h.id = elem("id", g.ID)
	h.parent = elem("parent", g.Parent)
	if g.Level == "" {
		m.problem("%s: level: missing (an expression read in the loop, such as PAC03 | lookup(package_kind, 'P'))", where)
		ok = false
	} else if h.level = m.noNull(nil, where+".level", m.compileExpr(nil, where+".level", g.Level)); h.level == nil {
		ok = false
	}
	if g.Top != "" {
		if h.top = m.noNull(nil, where+".top", m.compileExpr(nil, where+".top", g.Top)); h.top == nil {
			ok = false
		}
	}
	if ok {
		m.hiers[tag] = h
	}
}

func sortedKeys[V any](mp map[string]V) []string {
	out := make([]string, 0, len(mp))
	for k := range mp {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		return resolve(n.Content[0])
	}
	return n
}

// noNull refuses default(null) where a value is tested or used as text
// (subject, time, levels, when/unless/by): only output fields write nulls.
func (m *Mapping) noNull(n *yaml.Node, where string, e *expr) *expr {
	if e != nil && e.null() {
		m.problemAt(n, where, "%s: default(null) is for output fields (data:), not here", jsonString(e.text))
		return nil
	}
	return e
}

// compileExpr parses an expression and checks its paths against the format.
func (m *Mapping) compileExpr(n *yaml.Node, where, text string) *expr {
	e, err := parseExpr(strings.TrimSpace(text), m.lookups)
	if err != nil {
		m.problemAt(n, where, "%s: %v", jsonString(text), err)
		return nil
	}
	for _, p := range e.paths() {
		m.checkPath(n, where, p)
	}
	return e
}

func (m *Mapping) checkPath(n *yaml.Node, where string, p *path) {
	switch p.kind {
	case pathFields, pathEnvelope, pathRecord:
		if p.kind == pathFields && m.segmentFormat() {
			m.problemAt(n, where, "%s: %s records have segments, not fields", p.text, m.format)
		} else if len(p.steps) > 0 && m.format != "fixedwidth" && m.format != "" {
			m.problemAt(n, where, "%s: only fixed-width documents have child records to step into, not %s records", p.text, m.format)
		}
		return
	}
	if !m.segmentFormat() && m.format != "" {
		m.problemAt(n, where, "%s: %s records have fields, not segments (use fields.NAME)", p.text, m.format)
		return
	}
	m.checkSteps(n, where, p.text, p.steps, true, p.elem.tag)
}

// checkSteps: every step but the last must name a group; with elem, a last
// step that is a plain segment must be of the element's tag.
func (m *Mapping) checkSteps(n *yaml.Node, where, text string, steps []step, hasElem bool, elemTag string) {
	for i, st := range steps {
		if st.cond.kind == condLevel && m.hiers[st.tag] == nil {
			m.problemAt(n, where, "%s: [%s] selects loops by level, and %s is not a hierarchy (declare it under groups: with id:, parent: and level:); to test an element write [%s01=%s]",
				text, strings.Join(st.cond.values, ","), st.tag, st.tag, strings.Join(st.cond.values, ","))
		}
		if st.tag == "HL" || m.groups[st.tag] != nil {
			continue
		}
		if i < len(steps)-1 {
			m.problemAt(n, where, "%s: %s is not a group: declare it under groups:, or select it only in the last step", text, st.tag)
			continue
		}
		if hasElem && st.tag != elemTag {
			m.problemAt(n, where, "%s: %s is a segment, not a group (declare it under groups:), so the element must be one of %s's", text, st.tag, st.tag)
		}
	}
}

// reserved keys make a mapping node a construct rather than a nested object.
var constructKeys = map[string][]string{
	"each":  {"each", "outside", "when", "unless", "by", "fields", "value"},
	"with":  {"with", "outside", "when", "unless", "fields"},
	"const": {"const"},
	"value": {"value"},
}

func (m *Mapping) compileField(n *yaml.Node, where string) field {
	n = resolve(n)
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!str":
			if e := m.compileExpr(n, where, n.Value); e != nil {
				return &exprField{e}
			}
			return nil
		case "!!int", "!!float":
			return m.constNumber(n, where)
		case "!!bool":
			return &constField{n.Value == "true"}
		}
		m.problemAt(n, where, "want an expression, got %s", n.Tag)
		return nil
	case yaml.SequenceNode:
		lf := &listField{}
		for i, it := range n.Content {
			if f := m.compileField(it, fmt.Sprintf("%s[%d]", where, i)); f != nil {
				lf.items = append(lf.items, f)
			}
		}
		return lf
	case yaml.MappingNode:
		keys := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			keys[n.Content[i].Value] = n.Content[i+1]
		}
		for _, kind := range []string{"each", "with", "const", "value"} {
			if _, ok := keys[kind]; ok {
				return m.compileConstruct(n, where, kind, keys)
			}
		}
		return m.compileObject(n, where)
	}
	m.problemAt(n, where, "want an expression, a list or a mapping")
	return nil
}

// constNumber is a YAML number written as a JSON number (not 0x1F, .inf).
func (m *Mapping) constNumber(n *yaml.Node, where string) field {
	if !numberRe.MatchString(n.Value) {
		m.problemAt(n, where, "%s is not a JSON number", n.Value)
		return nil
	}
	return &constField{json.Number(n.Value)}
}

func (m *Mapping) compileConstruct(n *yaml.Node, where, kind string, keys map[string]*yaml.Node) field {
	allowed := constructKeys[kind]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		ok := false
		for _, a := range allowed {
			ok = ok || a == k
		}
		if !ok {
			m.problemAt(n.Content[i], where, "unknown key %q in a %s: construct (allowed: %s)", k, kind, strings.Join(allowed, ", "))
		}
	}
	scalar := func(key string) (string, *yaml.Node, bool) {
		v := resolve(keys[key])
		if v.Kind != yaml.ScalarNode {
			m.problemAt(v, where, "%s: want a scalar", key)
			return "", v, false
		}
		return v.Value, v, true
	}
	switch kind {
	case "const":
		v := resolve(keys["const"])
		if v.Kind != yaml.ScalarNode {
			m.problemAt(v, where, "const: want a scalar")
			return nil
		}
		switch v.Tag {
		case "!!int", "!!float":
			return m.constNumber(v, where)
		case "!!bool":
			return &constField{v.Value == "true"}
		case "!!null":
			m.problemAt(v, where, "const: null is not a value (leave the field out)")
			return nil
		}
		return &constField{v.Value}
	case "value":
		text, vn, ok := scalar("value")
		if !ok {
			return nil
		}
		if e := m.compileExpr(vn, where, text); e != nil {
			return &exprField{e}
		}
		return nil
	}
	text, sn, ok := scalar(kind)
	if !ok {
		return nil
	}
	var sel []step
	var err error
	switch {
	case m.segmentFormat():
		if sel, err = parseSelector(text); err != nil {
			m.problemAt(sn, where, "%s: %v", kind, err)
			return nil
		}
		m.checkSteps(sn, where, text, sel, false, "")
		if on, ok := keys["outside"]; ok {
			sel[len(sel)-1].outside = m.compileOutside(resolve(on), where, text, sel[len(sel)-1])
		}
	case m.format == "fixedwidth":
		// The child records of a document (parser documents: true).
		if sel, err = parseRecordSelector(text); err != nil {
			m.problemAt(sn, where, "%s: %v", kind, err)
			return nil
		}
		for _, k := range []string{"outside", "by"} {
			if _, ok := keys[k]; ok {
				m.problemAt(keys[k], where, "%s: is for EDI loops and groups, not the child records of a fixed-width document", k)
			}
		}
	default:
		m.problemAt(sn, where, "%s: %s records have no segments or child records to iterate", kind, m.format)
		return nil
	}
	optExpr := func(key string) *expr {
		cn, ok := keys[key]
		if !ok {
			return nil
		}
		w := resolve(cn)
		if w.Kind != yaml.ScalarNode {
			m.problemAt(w, where, "%s: want an expression", key)
			return nil
		}
		return m.noNull(w, where+"."+key, m.compileExpr(w, where+"."+key, w.Value))
	}
	when, unless, by := optExpr("when"), optExpr("unless"), optExpr("by")
	if _, ok := keys["by"]; ok {
		last := sel[len(sel)-1]
		switch {
		case last.tag == "HL" || m.hiers[last.tag] != nil:
			m.problemAt(keys["by"], where, "by: groups declared groups (groups:), and %s selects %s loops, a hierarchy", text, last.tag)
		case m.groups[last.tag] == nil:
			m.problemAt(keys["by"], where, "by: groups declared groups (groups:), and %s selects %s", text, last.tag)
		}
		if _, ok := keys["fields"]; !ok {
			m.problemAt(n, where, "by: needs fields:")
		}
	}
	fn, hasFields := keys["fields"]
	vn, hasValue := keys["value"]
	var obj *objField
	if hasFields {
		f := resolve(fn)
		if f.Kind != yaml.MappingNode {
			m.problemAt(f, where, "fields: want a mapping of output fields")
		} else {
			obj = m.compileObject(f, where)
		}
	}
	if kind == "with" {
		if !hasFields {
			m.problemAt(n, where, "with: needs fields:")
			return nil
		}
		return &withField{sel: sel, when: when, unless: unless, obj: obj}
	}
	switch {
	case hasFields && hasValue:
		m.problemAt(n, where, "each: takes fields: or value:, not both")
		return nil
	case hasValue:
		v := resolve(vn)
		if v.Kind != yaml.ScalarNode {
			m.problemAt(v, where, "value: want an expression")
			return nil
		}
		e := m.compileExpr(v, where, v.Value)
		if e == nil {
			return nil
		}
		return &eachField{sel: sel, when: when, unless: unless, val: e}
	case hasFields:
		if obj == nil {
			return nil
		}
		return &eachField{sel: sel, when: when, unless: unless, by: by, obj: obj}
	}
	m.problemAt(n, where, "each: needs fields: or value:")
	return nil
}

// compileOutside reads outside: a level code (HL03) or a list of them. It
// applies to a selector whose last step is a loop (HL, a declared
// hierarchy) or a declared group (then taken through the loops below the
// scope).
func (m *Mapping) compileOutside(n *yaml.Node, where, sel string, last step) []string {
	if last.tag != "HL" && m.groups[last.tag] == nil {
		m.problemAt(n, where, "outside: applies to HL loops, hierarchies and declared groups, and %s selects %s, a plain segment", sel, last.tag)
		return nil
	}
	var items []*yaml.Node
	switch n.Kind {
	case yaml.ScalarNode:
		items = []*yaml.Node{n}
	case yaml.SequenceNode:
		items = n.Content
	default:
		m.problemAt(n, where, "outside: want a level code (HL03) or a list of them")
		return nil
	}
	var out []string
	for _, it := range items {
		it = resolve(it)
		if it.Kind != yaml.ScalarNode || !levelRe.MatchString(it.Value) {
			m.problemAt(it, where, "outside: %q is not a level code (HL03, such as O or P)", it.Value)
			continue
		}
		out = append(out, it.Value)
	}
	if len(out) == 0 {
		m.problemAt(n, where, "outside: no level codes")
	}
	return out
}

// compileObject compiles a mapping of output names to fields. "<<" merges
// the keys of an anchored mapping (YAML merge key), without overriding.
func (m *Mapping) compileObject(n *yaml.Node, where string) *objField {
	o := &objField{}
	seen := map[string]bool{}
	var add func(n *yaml.Node, merged bool)
	add = func(n *yaml.Node, merged bool) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn, vn := n.Content[i], n.Content[i+1]
			k := kn.Value
			if k == "<<" && kn.Tag == "!!merge" {
				src := resolve(vn)
				if src.Kind == yaml.MappingNode {
					defer add(src, true)
				} else {
					m.problemAt(kn, where, "<<: want an alias of a mapping")
				}
				continue
			}
			if seen[k] {
				if !merged {
					m.problemAt(kn, where, "key %q given twice", k)
				}
				continue
			}
			seen[k] = true
			sub := where + "." + k
			if f := m.compileField(vn, sub); f != nil {
				o.keys = append(o.keys, k)
				o.vals = append(o.vals, f)
			}
		}
	}
	add(n, false)
	return o
}

// Validate lists every problem found in the mapping file: unknown
// transforms and lookup tables, bad paths and selectors, an event type
// without a schema, paths that do not fit the record format, ...
func (m *Mapping) Validate() []error { return append([]error(nil), m.problems...) }

// Name is the mapping's name.
func (m *Mapping) Name() string { return m.name }

// Format is the record format the mapping applies to (x12, fixedwidth, ...).
func (m *Mapping) Format() string { return m.format }

// EventType is the CloudEvents type the mapping produces.
func (m *Mapping) EventType() string { return m.eventType }

// Applies reports whether the mapping is for rec's format and type; other
// records (a fixed-width header or trailer, another transaction set) are
// skipped.
func (m *Mapping) Applies(rec legacybridge.Record) bool {
	return rec.Format == m.format && m.types[rec.Type]
}

// Map turns one record into one event, or none when the mapping does not
// apply to it. The event's data is validated against its type's schema.
// Failures are *Error and say where (record position, segment, output
// field, schema keyword).
func (m *Mapping) Map(rec legacybridge.Record) ([]legacybridge.Event, error) {
	if len(m.problems) > 0 {
		return nil, fmt.Errorf("mappings: %s: mapping has %d problem(s), first: %w", m.name, len(m.problems), m.problems[0])
	}
	if !m.Applies(rec) {
		return nil, nil
	}
	c := &evalCtx{m: m, rec: &rec}
	root := scope{rec: &rec}
	if len(rec.Segments) > 0 {
		d, err := buildDoc(rec.Segments, m.groups, m.hiers)
		if err != nil {
			var se *structError
			if errors.As(err, &se) {
				return nil, c.fail("", se.seg, se.err)
			}
			return nil, c.fail("", -1, err)
		}
		c.doc = d
		root = scope{n: d.root}
		if err := c.levels(); err != nil {
			return nil, err
		}
	}
	subj, err := c.eval(root, m.subject)
	if err != nil {
		return nil, c.fail("subject", subj.seg, err)
	}
	if subj.v == nil || toText(subj.v) == "" {
		return nil, c.fail("subject", subj.seg, fmt.Errorf("%s: %w", m.subject.text, ErrRequired))
	}
	ev := legacybridge.Event{Type: m.eventType, Subject: toText(subj.v), DataSchema: m.et.SchemaURI}
	if m.time != nil {
		tv, err := c.eval(root, m.time)
		if err != nil {
			return nil, c.fail("time", tv.seg, err)
		}
		if ev.Time, err = asTime(tv.v, m.loc); err != nil {
			return nil, c.fail("time", tv.seg, err)
		}
	}
	data, err := m.data.eval(c, root)
	if err != nil {
		return nil, err
	}
	if data == nil {
		data = map[string]any{}
	}
	if err := m.et.Validate(data); err != nil {
		var se *SchemaError
		if !errors.As(err, &se) {
			return nil, c.fail("", -1, err)
		}
		parent := se.Field
		if se.Keyword == "required" {
			parent = parentField(se.Field)
		}
		seg, child := c.segmentOf(root, parent)
		e := c.fail(se.Field, seg, err).(*Error)
		if child != nil {
			p := child.Pos
			e.Child = &p
		}
		e.Keyword = se.Keyword
		return nil, e
	}
	b, err := appendJSON(make([]byte, 0, 1024), data)
	if err != nil {
		return nil, c.fail("", -1, err)
	}
	ev.Data = b
	return []legacybridge.Event{ev}, nil
}

// parentField strips the last key or index: lines[1].uom → lines[1].
func parentField(f string) string {
	i := strings.LastIndexAny(f, ".[")
	if i < 0 {
		return ""
	}
	return f[:i]
}

// asTime reads an event time: a time from datetime, or RFC 3339 text, or a
// date (midnight in loc).
func asTime(v any, loc *time.Location) (time.Time, error) {
	switch v := v.(type) {
	case nil:
		return time.Time{}, nil
	case time.Time:
		return v, nil
	case string:
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t, nil
		}
		d, err := toDate(v)
		if err != nil {
			return time.Time{}, fmt.Errorf("event time %s is neither RFC 3339 nor a date", jsonString(v))
		}
		y, mo, day := d.Date()
		return time.Date(y, mo, day, 0, 0, 0, 0, loc), nil
	}
	return time.Time{}, fmt.Errorf("event time is %s, not a time", describe(v))
}

// Error is a record that could not be mapped: a value that failed a
// transform, a required value that is absent, a broken HL hierarchy, or
// event data that does not match its schema. Place returns the record's
// position; Segment and Tag say which segment of it, when known.
type Error struct {
	Mapping string
	Pos     legacybridge.Position // the record's position
	Segment int                   // 1-based segment number in the file, 0 if unknown
	Tag     string                // that segment's tag
	Field   string                // output field: orders[0].items[1].quantity, subject, time
	Keyword string                // the failing JSON Schema keyword, for schema failures
	// Child is where the child record of a fixed-width document the
	// failing value came from starts (an entry of a batch); nil otherwise.
	Child *legacybridge.Position
	Err   error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("mappings: ")
	b.WriteString(e.Mapping)
	b.WriteString(": ")
	b.WriteString(e.Pos.String())
	if e.Child != nil {
		fmt.Fprintf(&b, ": %s record at line %d", e.Child.Tag, e.Child.Line)
	}
	if e.Tag != "" {
		if e.Segment > 0 {
			fmt.Fprintf(&b, ": segment %d (%s)", e.Segment, e.Tag)
		} else {
			fmt.Fprintf(&b, ": segment %s", e.Tag)
		}
	}
	var se *SchemaError
	if errors.As(e.Err, &se) {
		// The schema error names the field and keyword itself.
		b.WriteString(": ")
		b.WriteString(se.Error())
		return b.String()
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Place returns the position of the record that failed.
func (e *Error) Place() legacybridge.Position { return e.Pos }
