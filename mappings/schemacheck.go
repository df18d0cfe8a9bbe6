package mappings

import (
	"net/url"
	"sort"
	"strings"
)

// schemaNode is a schema object and the $id of the document it is in (for
// resolving relative $refs).
type schemaNode struct {
	obj  map[string]any
	base string
}

// resolve follows $ref chains (relative to the document's $id, JSON
// Pointer fragments) to the schema object that declares properties/items.
func (r *Registry) resolve(n schemaNode) (schemaNode, bool) {
	for i := 0; i < 16; i++ {
		ref, ok := n.obj["$ref"].(string)
		if !ok {
			return n, true
		}
		b, err := url.Parse(n.base)
		if err != nil {
			return n, false
		}
		u, err := b.Parse(ref)
		if err != nil {
			return n, false
		}
		frag := u.Fragment
		u.Fragment = ""
		doc, ok := r.docs[u.String()]
		if !ok {
			return n, false
		}
		cur := doc
		for _, tok := range strings.Split(strings.TrimPrefix(frag, "/"), "/") {
			if tok == "" {
				continue
			}
			tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
			m, ok := cur.(map[string]any)
			if !ok {
				return n, false
			}
			cur = m[tok]
		}
		obj, ok := cur.(map[string]any)
		if !ok {
			return n, false
		}
		n = schemaNode{obj: obj, base: u.String()}
	}
	return n, false
}

// property returns the schema of key in an object schema; known is false
// when the schema declares properties and key is not one of them.
func (r *Registry) property(n schemaNode, key string) (schemaNode, bool, bool) {
	n, ok := r.resolve(n)
	if !ok {
		return n, false, true
	}
	props, ok := n.obj["properties"].(map[string]any)
	if !ok {
		return schemaNode{}, false, true // no declared properties: anything goes
	}
	p, ok := props[key].(map[string]any)
	if !ok {
		return schemaNode{}, false, false
	}
	return schemaNode{obj: p, base: n.base}, true, true
}

// items returns the schema of an array's elements.
func (r *Registry) items(n schemaNode) (schemaNode, bool) {
	n, ok := r.resolve(n)
	if !ok {
		return n, false
	}
	it, ok := n.obj["items"].(map[string]any)
	if !ok {
		return schemaNode{}, false
	}
	return schemaNode{obj: it, base: n.base}, true
}

// checkAgainstSchema reports output keys the event type's schema does not
// declare. Schemas allow extra keys (partners vary), so a misspelt key
// would otherwise pass validation silently.
func (m *Mapping) checkAgainstSchema() {
	if m.et == nil || m.et.reg == nil || m.data == nil {
		return
	}
	reg := m.et.reg
	root, ok := reg.docs[m.et.SchemaURI].(map[string]any)
	if !ok {
		return
	}
	var walk func(f field, n schemaNode, where string)
	var walkObj func(o *objField, n schemaNode, where string)
	walkObj = func(o *objField, n schemaNode, where string) {
		for i, k := range o.keys {
			sub := where + "." + k
			p, has, known := reg.property(n, k)
			if !known {
				var names []string
				if rn, ok := reg.resolve(n); ok {
					if props, ok := rn.obj["properties"].(map[string]any); ok {
						for name := range props {
							names = append(names, name)
						}
					}
				}
				sort.Strings(names)
				m.problem("%s: %q is not a property of %s here (known: %s); extra keys pass validation, so check the spelling", sub, k, m.et.Name, strings.Join(names, ", "))
				continue
			}
			if has {
				walk(o.vals[i], p, sub)
			}
		}
	}
	walk = func(f field, n schemaNode, where string) {
		switch f := f.(type) {
		case *objField:
			walkObj(f, n, where)
		case *withField:
			if f.obj != nil {
				walkObj(f.obj, n, where)
			}
		case *eachField:
			if it, ok := reg.items(n); ok && f.obj != nil {
				walkObj(f.obj, it, where)
			}
		case *listField:
			if it, ok := reg.items(n); ok {
				for _, x := range f.items {
					walk(x, it, where)
				}
			}
		}
	}
	walkObj(m.data, schemaNode{obj: root, base: m.et.SchemaURI}, "data")
}
