package edirules

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// The shipped rule files. Default loads them; their folder and names are
// the documentation of what is shipped.
//
//go:embed rules
var shipped embed.FS

// Standards a rule file can name.
const (
	X12     = "x12"
	EDIFACT = "edifact"
)

// Rules holds rule sets loaded from rule files. The zero value (and New)
// holds none; Default holds the shipped ones. Load, LoadDir and Add add
// sets and code lists, a later set overriding an earlier one for the same
// transaction set or message (see Check for which set applies). Loading is
// not safe for concurrent use; once loaded, Check and the adapters are.
type Rules struct {
	sets      map[string][]*ruleSet         // by standard+" "+set id, in load order
	codelists map[string]map[string]codeSet // by standard, then list name
}

// codeSet is an allowed set of values.
type codeSet map[string]struct{}

// New returns Rules holding no rule set.
func New() *Rules { return &Rules{} }

// Default returns new Rules holding the shipped rule sets (rules/x12 and
// rules/edifact in this package's folder). Each call returns a new value,
// which the caller may load more files into. It panics only if a shipped
// file is broken, which the package's tests rule out.
func Default() *Rules {
	r := New()
	if err := r.loadFS(shipped, "", "rules/x12", "rules/edifact"); err != nil {
		panic("edirules: shipped rules: " + err.Error())
	}
	return r
}

// Load returns the shipped rules (Default) with the rule file at path
// loaded over them.
func Load(path string) (*Rules, error) {
	r := Default()
	if err := r.Load(path); err != nil {
		return nil, err
	}
	return r, nil
}

// LoadDir returns the shipped rules (Default) with every rule file in dir
// loaded over them (see (*Rules).LoadDir).
func LoadDir(dir string) (*Rules, error) {
	r := Default()
	if err := r.LoadDir(dir); err != nil {
		return nil, err
	}
	return r, nil
}

// Load adds the rule file at path. On error r is unchanged.
func (r *Rules) Load(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("edirules: %w", err)
	}
	return r.Add(path, data)
}

// LoadDir adds every rule file (*.yaml, *.yml) in dir, not descending into
// subfolders, as one batch: a set may use the code lists of any file in
// the folder. On error r is unchanged.
func (r *Rules) LoadDir(dir string) error {
	return r.loadFS(os.DirFS(dir), dir, ".")
}

// Add adds the rule file data; name says where it came from in errors and
// in Violation.Source. On error r is unchanged.
func (r *Rules) Add(name string, data []byte) error {
	f, err := parseFile(name, data)
	if err != nil {
		return err
	}
	return r.commit([]*ruleFile{f})
}

// loadFS adds the rule files (*.yaml, *.yml) directly in each of dirs of
// fsys, in name order per folder, as one batch. Their names in errors and
// Violation.Source are prefix joined with their path in fsys.
func (r *Rules) loadFS(fsys fs.FS, prefix string, dirs ...string) error {
	var files []*ruleFile
	for _, dir := range dirs {
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			return fmt.Errorf("edirules: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() || path.Ext(e.Name()) != ".yaml" && path.Ext(e.Name()) != ".yml" {
				continue
			}
			p := path.Join(dir, e.Name())
			data, err := fs.ReadFile(fsys, p)
			if err != nil {
				return fmt.Errorf("edirules: %w", err)
			}
			name := p
			if prefix != "" {
				name = filepath.Join(prefix, filepath.FromSlash(p))
			}
			f, err := parseFile(name, data)
			if err != nil {
				return err
			}
			files = append(files, f)
		}
	}
	return r.commit(files)
}

// commit adds parsed files: their code lists first, then their sets, whose
// code-list references must all resolve. Nothing changes on error.
func (r *Rules) commit(files []*ruleFile) error {
	lists := map[string]map[string]codeSet{}
	for std, m := range r.codelists {
		lists[std] = maps.Clone(m)
	}
	for _, f := range files {
		for name, cs := range f.codelists {
			if lists[f.standard] == nil {
				lists[f.standard] = map[string]codeSet{}
			}
			lists[f.standard][name] = cs
		}
	}
	var sets []*ruleSet
	for _, f := range files {
		if f.set != nil {
			sets = append(sets, f.set)
		}
	}
	// Resolve the new sets first (they may fail), then re-resolve the old
	// ones, whose lists may have been overridden (they cannot fail: lists
	// are only added or replaced).
	for _, s := range sets {
		if err := s.link(lists[s.standard]); err != nil {
			return err
		}
	}
	r.codelists = lists
	for _, old := range r.sets {
		for _, s := range old {
			_ = s.link(lists[s.standard])
		}
	}
	if r.sets == nil {
		r.sets = map[string][]*ruleSet{}
	}
	for _, s := range sets {
		k := s.standard + " " + s.id
		// A set for the same versions replaces the earlier one; others
		// add to the list, the latest tried first.
		r.sets[k] = slices.DeleteFunc(r.sets[k], func(o *ruleSet) bool { return o.versionKey == s.versionKey })
		r.sets[k] = append(r.sets[k], s)
	}
	return nil
}

// Sets lists the loaded rule sets as "standard set versions (source)",
// sorted, for logs and diagnostics.
func (r *Rules) Sets() []string {
	var out []string
	for _, list := range r.sets {
		for _, s := range list {
			v := "all versions"
			if len(s.versions) > 0 {
				v = "versions " + strings.Join(s.versions, ",")
			}
			out = append(out, fmt.Sprintf("%s %s %s (%s)", s.standard, s.id, v, s.source))
		}
	}
	slices.Sort(out)
	return out
}

// find returns the set that applies to a record of standard std, set id
// and envelope version: the latest loaded whose versions match.
func (r *Rules) find(std, id, version string) *ruleSet {
	list := r.sets[std+" "+id]
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].matches(version) {
			return list[i]
		}
	}
	return nil
}

// ruleFile is one parsed rule file: a set, code lists, or both.
type ruleFile struct {
	standard  string
	set       *ruleSet
	codelists map[string]codeSet
}

// ruleSet is the compiled rules of one transaction set or message.
type ruleSet struct {
	standard   string
	id         string
	versions   []string
	versionKey string // sorted versions: sets for the same versions replace each other
	source     string
	closed     bool
	sections   []string // names; sections[0] holds the header segment
	segs       []*segRule
	tags       map[string]*tagInfo
}

// tagInfo is what a segment tag means in a set: the rules about it and
// the sections it starts.
type tagInfo struct {
	rules  []*segRule
	starts []int // section indexes, ascending
}

type segRule struct {
	index   int // in ruleSet.segs
	tag     string
	section int // -1: every section
	min     int
	max     int // 0: no limit
	elems   []*elemRule
	line    int
}

type elemRule struct {
	name     string // "BEG02", "QTY01-2"
	pos      int
	comp     int
	ref      string
	required bool
	min, max int
	typ      valueType
	codes    codeSet
	listName string // "" for inline codes
	line     int
}

func (s *ruleSet) matches(version string) bool {
	if len(s.versions) == 0 {
		return true
	}
	for _, p := range s.versions {
		if ok, _ := path.Match(p, version); ok {
			return true
		}
	}
	return false
}

// link resolves the set's code-list references in lists.
func (s *ruleSet) link(lists map[string]codeSet) error {
	for _, sr := range s.segs {
		for _, er := range sr.elems {
			if er.listName == "" {
				continue
			}
			cs, ok := lists[er.listName]
			if !ok {
				return fmt.Errorf("edirules: %s:%d: %s: code list %q is not defined: define it under codelists in a %s rule file loaded with or before this one", s.source, er.line, er.name, er.listName, s.standard)
			}
			er.codes = cs
		}
	}
	return nil
}

// The YAML shapes of a rule file.

type fileSpec struct {
	Standard    string              `yaml:"standard"`
	Set         string              `yaml:"set"`
	Versions    []string            `yaml:"versions"`
	Description string              `yaml:"description"`
	Closed      bool                `yaml:"closed"`
	Sections    []sectionSpec       `yaml:"sections"`
	Segments    []segSpec           `yaml:"segments"`
	Codelists   map[string][]string `yaml:"codelists"`
}

type sectionSpec struct {
	Name  string   `yaml:"name"`
	Start []string `yaml:"start"`
	line  int
}

type segSpec struct {
	Tag      string     `yaml:"tag"`
	Section  string     `yaml:"section"`
	Min      int        `yaml:"min"`
	Max      int        `yaml:"max"`
	Elements []elemSpec `yaml:"elements"`
	line     int
}

type elemSpec struct {
	Pos      int      `yaml:"pos"`
	Comp     int      `yaml:"comp"`
	Ref      string   `yaml:"ref"`
	Name     string   `yaml:"name"`
	Required bool     `yaml:"required"`
	Min      int      `yaml:"min"`
	Max      int      `yaml:"max"`
	Type     string   `yaml:"type"`
	Codes    []string `yaml:"codes"`
	Codelist string   `yaml:"codelist"`
	line     int
}

func (s *sectionSpec) UnmarshalYAML(n *yaml.Node) error {
	type plain sectionSpec
	s.line = n.Line
	if err := knownKeys(n, "name", "start"); err != nil {
		return err
	}
	return n.Decode((*plain)(s))
}

func (s *segSpec) UnmarshalYAML(n *yaml.Node) error {
	type plain segSpec
	s.line = n.Line
	if err := knownKeys(n, "tag", "section", "min", "max", "elements"); err != nil {
		return err
	}
	return n.Decode((*plain)(s))
}

func (s *elemSpec) UnmarshalYAML(n *yaml.Node) error {
	type plain elemSpec
	s.line = n.Line
	if err := knownKeys(n, "pos", "comp", "ref", "name", "required", "min", "max", "type", "codes", "codelist"); err != nil {
		return err
	}
	return n.Decode((*plain)(s))
}

// knownKeys fails for a key of mapping n not in allowed (a misspelt rule
// would otherwise be silently ignored).
func knownKeys(n *yaml.Node, allowed ...string) error {
	if n.Kind != yaml.MappingNode {
		return nil // Decode reports the wrong kind
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !slices.Contains(allowed, k.Value) {
			return fmt.Errorf("line %d: unknown key %q (known: %s)", k.Line, k.Value, strings.Join(allowed, ", "))
		}
	}
	return nil
}

// Bounds that keep a rule file (and its checks) small.
const (
	maxPos   = 999
	maxComp  = 99
	maxLen   = 1 << 20
	maxCount = 1 << 30
)

// parseFile reads and compiles one rule file.
func parseFile(name string, data []byte) (*ruleFile, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var spec fileSpec
	if err := dec.Decode(&spec); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("edirules: %s: empty rule file: give standard and set (or codelists)", name)
		}
		return nil, fmt.Errorf("edirules: %s: %w", name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("edirules: %s:%d: more than one YAML document: put one rule set per file", name, extra.Line)
	}
	fail := func(line int, format string, args ...any) error {
		place := name
		if line > 0 {
			place += ":" + strconv.Itoa(line)
		}
		return fmt.Errorf("edirules: %s: %s", place, fmt.Sprintf(format, args...))
	}
	std := spec.Standard
	if std != X12 && std != EDIFACT {
		return nil, fail(0, "standard is %q: give x12 or edifact", std)
	}
	f := &ruleFile{standard: std, codelists: map[string]codeSet{}}
	for lname, values := range spec.Codelists {
		if lname == "" {
			return nil, fail(0, "a code list has no name")
		}
		cs := codeSet{}
		for _, v := range values {
			if v == "" {
				return nil, fail(0, "code list %q holds an empty value", lname)
			}
			cs[v] = struct{}{}
		}
		if len(cs) == 0 {
			return nil, fail(0, "code list %q is empty", lname)
		}
		f.codelists[lname] = cs
	}
	if spec.Set == "" {
		if len(spec.Segments) > 0 || len(spec.Sections) > 0 || len(spec.Versions) > 0 {
			return nil, fail(0, "no set: name the transaction set (X12 ST01, like 850) or message type (EDIFACT, like ORDERS) the rules are for")
		}
		if len(f.codelists) == 0 {
			return nil, fail(0, "neither a set nor code lists: nothing to load")
		}
		return f, nil
	}
	s := &ruleSet{standard: std, id: spec.Set, source: name, closed: spec.Closed, tags: map[string]*tagInfo{}}
	if !validSetID(std, spec.Set) {
		return nil, fail(0, "set %q is not a %s set id (X12: 3 digits like 850; EDIFACT: 6 capitals like ORDERS)", spec.Set, std)
	}
	for _, v := range spec.Versions {
		if _, err := path.Match(v, ""); err != nil || v == "" {
			return nil, fail(0, "version pattern %q is not valid: give versions like 004010* (X12 GS08) or D:96A:UN (EDIFACT UNH S009)", v)
		}
	}
	s.versions = slices.Clone(spec.Versions)
	key := slices.Clone(spec.Versions)
	slices.Sort(key)
	s.versionKey = strings.Join(key, "\n")
	info := func(tag string) *tagInfo {
		ti := s.tags[tag]
		if ti == nil {
			ti = &tagInfo{}
			s.tags[tag] = ti
		}
		return ti
	}
	s.sections = []string{"all"}
	if len(spec.Sections) > 0 {
		s.sections = nil
		for i, sec := range spec.Sections {
			if sec.Name == "" || slices.Contains(s.sections, sec.Name) {
				return nil, fail(sec.line, "section %d: give each section a name of its own", i+1)
			}
			if i == 0 && len(sec.Start) > 0 {
				return nil, fail(sec.line, "section %s: the first section starts with the message; leave out start", sec.Name)
			}
			if i > 0 && len(sec.Start) == 0 {
				return nil, fail(sec.line, "section %s: give the segment tags that start it (start: [LIN])", sec.Name)
			}
			for _, tag := range sec.Start {
				if !validTag(std, tag) {
					return nil, fail(sec.line, "section %s: start tag %q is not a %s segment tag", sec.Name, tag, std)
				}
				ti := info(tag)
				if !slices.Contains(ti.starts, i) {
					ti.starts = append(ti.starts, i)
				}
			}
			s.sections = append(s.sections, sec.Name)
		}
	}
	for _, ss := range spec.Segments {
		if !validTag(std, ss.Tag) {
			return nil, fail(ss.line, "segment tag %q is not a %s segment tag", ss.Tag, std)
		}
		sr := &segRule{index: len(s.segs), tag: ss.Tag, section: -1, min: ss.Min, max: ss.Max, line: ss.line}
		if ss.Section != "" {
			sr.section = slices.Index(s.sections, ss.Section)
			if sr.section < 0 || len(spec.Sections) == 0 {
				return nil, fail(ss.line, "segment %s: section %q is not one of the sections listed under sections", ss.Tag, ss.Section)
			}
		}
		if ss.Min < 0 || ss.Max < 0 || ss.Min > maxCount || ss.Max > maxCount {
			return nil, fail(ss.line, "segment %s: min and max are counts from 0 to %d (max 0: no limit)", ss.Tag, maxCount)
		}
		if ss.Max > 0 && ss.Min > ss.Max {
			return nil, fail(ss.line, "segment %s: min %d is above max %d", ss.Tag, ss.Min, ss.Max)
		}
		for _, es := range ss.Elements {
			er, err := compileElem(std, ss.Tag, es)
			if err != nil {
				return nil, fail(es.line, "%v", err)
			}
			sr.elems = append(sr.elems, er)
		}
		s.segs = append(s.segs, sr)
		info(ss.Tag).rules = append(info(ss.Tag).rules, sr)
	}
	f.set = s
	return f, nil
}

func compileElem(std, tag string, es elemSpec) (*elemRule, error) {
	if es.Pos < 1 || es.Pos > maxPos || es.Comp < 0 || es.Comp > maxComp {
		return nil, fmt.Errorf("segment %s: element pos is 1 to %d and comp 0 (none) to %d; got pos %d comp %d", tag, maxPos, maxComp, es.Pos, es.Comp)
	}
	er := &elemRule{pos: es.Pos, comp: es.Comp, ref: es.Ref, required: es.Required, min: es.Min, max: es.Max, listName: es.Codelist, line: es.line}
	er.name = fmt.Sprintf("%s%02d", tag, es.Pos)
	if es.Comp > 0 {
		er.name += "-" + strconv.Itoa(es.Comp)
	}
	if es.Ref != "" {
		er.name += " (" + es.Ref + ")"
	}
	if es.Name != "" {
		er.name += " " + es.Name
	}
	if es.Min < 0 || es.Max < 0 || es.Min > maxLen || es.Max > maxLen || (es.Max > 0 && es.Min > es.Max) {
		return nil, fmt.Errorf("%s: lengths are 0 to %d with min <= max (max 0: no limit); got min %d max %d", er.name, maxLen, es.Min, es.Max)
	}
	t, ok := parseType(std, es.Type)
	if !ok {
		want := "AN, ID, N0 to N9, R, DT, TM"
		if std == EDIFACT {
			want = "a, an, n"
		}
		return nil, fmt.Errorf("%s: type %q is not a %s type: give one of %s, or leave it out", er.name, es.Type, std, want)
	}
	er.typ = t
	if len(es.Codes) > 0 && es.Codelist != "" {
		return nil, fmt.Errorf("%s: give codes or codelist, not both", er.name)
	}
	if len(es.Codes) > 0 {
		er.codes = codeSet{}
		for _, c := range es.Codes {
			if c == "" {
				return nil, fmt.Errorf("%s: codes holds an empty value", er.name)
			}
			er.codes[c] = struct{}{}
		}
	}
	return er, nil
}

func validTag(std, tag string) bool {
	if len(tag) < 2 || len(tag) > 3 || std == EDIFACT && len(tag) != 3 {
		return false
	}
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return tag[0] >= 'A' && tag[0] <= 'Z'
}

func validSetID(std, id string) bool {
	if std == X12 {
		if len(id) != 3 {
			return false
		}
		for i := 0; i < 3; i++ {
			if id[i] < '0' || id[i] > '9' {
				return false
			}
		}
		return true
	}
	if len(id) < 1 || len(id) > 6 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
