package oracle

import (
	"fmt"
	"strings"
)

// Parsing of V$LOGMNR_CONTENTS.SQL_REDO / SQL_UNDO (mining started with
// NO_ROWID_IN_STMT, without PRINT_PRETTY_SQL):
//
//	insert into "INV"."T"("A","B","C") values ('1','x',NULL);
//	update "INV"."T" set "B" = 'y', "C" = NULL where "A" = '1' and "B" = 'x' and "C" IS NULL;
//	delete from "INV"."T" where "A" = '1' and "B" = 'y' and "C" IS NULL;
//
// Values are string literals ('' escapes a quote; LogMiner quotes NUMBER
// too: '1234.56', '.5'), NULL, bare numbers, function calls of literals
// (TO_DATE('2024-05-01 10:00:00', 'YYYY-MM-DD HH24:MI:SS'),
// TO_TIMESTAMP('...'), TO_TIMESTAMP_TZ('...'), HEXTORAW('0a0b'),
// EMPTY_CLOB()) and the words LogMiner writes for what it cannot render
// (Unsupported Type). A tokenizer, not regular expressions: quoted
// identifiers, escapes and text holding "and", "=" or ")" must not split.

// RedoValue is one column value of a mined statement.
type RedoValue struct {
	Null bool
	// Text is a literal's text (quotes removed, '' unescaped), a bare
	// number, or the words of an unsupported value.
	Text string
	// Func is the function around the literal(s) (upper case), "" for a
	// plain literal; Args its literal arguments.
	Func string
	Args []string
	// Unsupported: LogMiner could not render the value (Unsupported Type).
	Unsupported bool
}

// RedoStmt is a parsed SQL_REDO or SQL_UNDO statement.
type RedoStmt struct {
	Op           int // OpInsert, OpUpdate, OpDelete
	Owner, Table string
	// Set holds the inserted values (insert) or the assigned ones
	// (update); Where the conditions (update, delete): with supplemental
	// logging of all columns, the row's values before the change.
	Set, Where map[string]RedoValue
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokQuoted // "NAME"
	tokString // 'text'
	tokNumber
	tokPunct // ( ) , . = ;
)

type token struct {
	kind tokKind
	text string
	pos  int
}

type lexer struct {
	s   string
	pos int
}

func (l *lexer) next() (token, error) {
	for l.pos < len(l.s) && strings.IndexByte(" \t\r\n", l.s[l.pos]) >= 0 {
		l.pos++
	}
	start := l.pos
	if l.pos >= len(l.s) {
		return token{kind: tokEOF, pos: start}, nil
	}
	c := l.s[l.pos]
	switch {
	case c == '"':
		end := strings.IndexByte(l.s[l.pos+1:], '"')
		if end < 0 {
			return token{}, fmt.Errorf("unterminated quoted name at byte %d", start)
		}
		l.pos += end + 2
		return token{kind: tokQuoted, text: l.s[start+1 : l.pos-1], pos: start}, nil
	case c == '\'':
		var b strings.Builder
		i := l.pos + 1
		for {
			j := strings.IndexByte(l.s[i:], '\'')
			if j < 0 {
				return token{}, fmt.Errorf("unterminated string at byte %d", start)
			}
			b.WriteString(l.s[i : i+j])
			i += j + 1
			if i < len(l.s) && l.s[i] == '\'' { // '' is a quote
				b.WriteByte('\'')
				i++
				continue
			}
			break
		}
		l.pos = i
		return token{kind: tokString, text: b.String(), pos: start}, nil
	case c == '.' && l.pos+1 < len(l.s) && l.s[l.pos+1] >= '0' && l.s[l.pos+1] <= '9':
		i := l.pos + 1 // .5: Oracle leaves out the leading zero
		for i < len(l.s) && (l.s[i] >= '0' && l.s[i] <= '9') {
			i++
		}
		l.pos = i
		return token{kind: tokNumber, text: l.s[start:i], pos: start}, nil
	case strings.IndexByte("(),.=;", c) >= 0:
		l.pos++
		return token{kind: tokPunct, text: string(c), pos: start}, nil
	case c == '-' || c == '+' || (c >= '0' && c <= '9'):
		i := l.pos + 1
		for i < len(l.s) && (l.s[i] >= '0' && l.s[i] <= '9' || l.s[i] == '.' || l.s[i] == 'E' || l.s[i] == 'e' || ((l.s[i] == '-' || l.s[i] == '+') && (l.s[i-1] == 'E' || l.s[i-1] == 'e'))) {
			i++
		}
		l.pos = i
		return token{kind: tokNumber, text: l.s[start:i], pos: start}, nil
	case isWordByte(c):
		i := l.pos + 1
		for i < len(l.s) && isWordByte(l.s[i]) {
			i++
		}
		l.pos = i
		return token{kind: tokIdent, text: l.s[start:i], pos: start}, nil
	}
	return token{}, fmt.Errorf("unexpected %q at byte %d", c, start)
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c == '#' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

type redoParser struct {
	lx   lexer
	tok  token
	peek *token
}

func (p *redoParser) advance() error {
	if p.peek != nil {
		p.tok, p.peek = *p.peek, nil
		return nil
	}
	t, err := p.lx.next()
	p.tok = t
	return err
}

func (p *redoParser) lookahead() (token, error) {
	if p.peek == nil {
		t, err := p.lx.next()
		if err != nil {
			return t, err
		}
		p.peek = &t
	}
	return *p.peek, nil
}

func (p *redoParser) word(w string) bool {
	return p.tok.kind == tokIdent && strings.EqualFold(p.tok.text, w)
}

func (p *redoParser) expectWord(w string) error {
	if !p.word(w) {
		return p.errf("want %s", strings.ToUpper(w))
	}
	return p.advance()
}

func (p *redoParser) expectPunct(c string) error {
	if p.tok.kind != tokPunct || p.tok.text != c {
		return p.errf("want %q", c)
	}
	return p.advance()
}

func (p *redoParser) errf(format string, a ...any) error {
	got := p.tok.text
	if p.tok.kind == tokEOF {
		got = "end of statement"
	}
	return fmt.Errorf("%s at byte %d (found %q)", fmt.Sprintf(format, a...), p.tok.pos, got)
}

// name reads a (quoted or plain) identifier.
func (p *redoParser) name() (string, error) {
	switch p.tok.kind {
	case tokQuoted:
		n := p.tok.text
		if n == "" {
			return "", p.errf("empty name")
		}
		return n, p.advance()
	case tokIdent:
		n := strings.ToUpper(p.tok.text)
		return n, p.advance()
	}
	return "", p.errf("want a name")
}

// table reads "OWNER"."TABLE" (or a name without owner).
func (p *redoParser) table() (string, string, error) {
	a, err := p.name()
	if err != nil {
		return "", "", err
	}
	if p.tok.kind == tokPunct && p.tok.text == "." {
		if err := p.advance(); err != nil {
			return "", "", err
		}
		b, err := p.name()
		return a, b, err
	}
	return "", a, nil
}

// value reads one value.
func (p *redoParser) value() (RedoValue, error) {
	switch p.tok.kind {
	case tokString:
		v := RedoValue{Text: p.tok.text}
		return v, p.advance()
	case tokNumber:
		v := RedoValue{Text: p.tok.text}
		return v, p.advance()
	case tokIdent:
		if p.word("NULL") {
			return RedoValue{Null: true}, p.advance()
		}
		next, err := p.lookahead()
		if err != nil {
			return RedoValue{}, err
		}
		if next.kind == tokPunct && next.text == "(" {
			fn := strings.ToUpper(p.tok.text)
			if err := p.advance(); err != nil { // the name
				return RedoValue{}, err
			}
			if err := p.advance(); err != nil { // (
				return RedoValue{}, err
			}
			v := RedoValue{Func: fn}
			for !(p.tok.kind == tokPunct && p.tok.text == ")") {
				switch p.tok.kind {
				case tokString, tokNumber:
					v.Args = append(v.Args, p.tok.text)
				default:
					return RedoValue{}, p.errf("want a literal argument of %s", fn)
				}
				if err := p.advance(); err != nil {
					return RedoValue{}, err
				}
				if p.tok.kind == tokPunct && p.tok.text == "," {
					if err := p.advance(); err != nil {
						return RedoValue{}, err
					}
				}
			}
			if len(v.Args) > 0 {
				v.Text = v.Args[0]
			}
			return v, p.advance()
		}
		// Words LogMiner writes for values it cannot render
		// ("Unsupported Type"): up to the next , ) or and.
		var words []string
		for p.tok.kind == tokIdent && !p.word("and") && !p.word("where") {
			words = append(words, p.tok.text)
			if err := p.advance(); err != nil {
				return RedoValue{}, err
			}
		}
		return RedoValue{Text: strings.Join(words, " "), Unsupported: true}, nil
	}
	return RedoValue{}, p.errf("want a value")
}

// conditions reads "A" = v and "B" IS NULL and ... up to ; or the end.
func (p *redoParser) conditions() (map[string]RedoValue, error) {
	out := map[string]RedoValue{}
	for {
		col, err := p.name()
		if err != nil {
			return nil, err
		}
		if p.word("IS") {
			if err := p.advance(); err != nil {
				return nil, err
			}
			if err := p.expectWord("NULL"); err != nil {
				return nil, err
			}
			out[col] = RedoValue{Null: true}
		} else {
			if err := p.expectPunct("="); err != nil {
				return nil, err
			}
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			out[col] = v
		}
		if !p.word("and") {
			return out, nil
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
}

func (p *redoParser) end() error {
	if p.tok.kind == tokPunct && p.tok.text == ";" {
		if err := p.advance(); err != nil {
			return err
		}
	}
	if p.tok.kind != tokEOF {
		return p.errf("want the end of the statement")
	}
	return nil
}

// ParseRedo parses one SQL_REDO or SQL_UNDO statement (continuation rows
// joined).
func ParseRedo(sql string) (RedoStmt, error) {
	p := &redoParser{lx: lexer{s: sql}}
	st, err := p.parse()
	if err != nil {
		head := sql
		if len(head) > 120 {
			head = head[:120] + "..."
		}
		return RedoStmt{}, fmt.Errorf("logminer: SQL_REDO %q: %w", head, err)
	}
	return st, nil
}

func (p *redoParser) parse() (RedoStmt, error) {
	var st RedoStmt
	if err := p.advance(); err != nil {
		return st, err
	}
	var err error
	switch {
	case p.word("insert"):
		st.Op = OpInsert
		if err := p.advance(); err != nil {
			return st, err
		}
		if err := p.expectWord("into"); err != nil {
			return st, err
		}
		if st.Owner, st.Table, err = p.table(); err != nil {
			return st, err
		}
		if err := p.expectPunct("("); err != nil {
			return st, err
		}
		var cols []string
		for {
			c, err := p.name()
			if err != nil {
				return st, err
			}
			cols = append(cols, c)
			if p.tok.kind == tokPunct && p.tok.text == "," {
				if err := p.advance(); err != nil {
					return st, err
				}
				continue
			}
			break
		}
		if err := p.expectPunct(")"); err != nil {
			return st, err
		}
		if err := p.expectWord("values"); err != nil {
			return st, err
		}
		if err := p.expectPunct("("); err != nil {
			return st, err
		}
		st.Set = map[string]RedoValue{}
		for i := range cols {
			if i > 0 {
				if err := p.expectPunct(","); err != nil {
					return st, err
				}
			}
			v, err := p.value()
			if err != nil {
				return st, err
			}
			st.Set[cols[i]] = v
		}
		if err := p.expectPunct(")"); err != nil {
			return st, err
		}
	case p.word("update"):
		st.Op = OpUpdate
		if err := p.advance(); err != nil {
			return st, err
		}
		if st.Owner, st.Table, err = p.table(); err != nil {
			return st, err
		}
		if err := p.expectWord("set"); err != nil {
			return st, err
		}
		st.Set = map[string]RedoValue{}
		for {
			c, err := p.name()
			if err != nil {
				return st, err
			}
			if err := p.expectPunct("="); err != nil {
				return st, err
			}
			v, err := p.value()
			if err != nil {
				return st, err
			}
			st.Set[c] = v
			if p.tok.kind == tokPunct && p.tok.text == "," {
				if err := p.advance(); err != nil {
					return st, err
				}
				continue
			}
			break
		}
		if p.word("where") {
			if err := p.advance(); err != nil {
				return st, err
			}
			if st.Where, err = p.conditions(); err != nil {
				return st, err
			}
		}
	case p.word("delete"):
		st.Op = OpDelete
		if err := p.advance(); err != nil {
			return st, err
		}
		if err := p.expectWord("from"); err != nil {
			return st, err
		}
		if st.Owner, st.Table, err = p.table(); err != nil {
			return st, err
		}
		if err := p.expectWord("where"); err != nil {
			return st, err
		}
		if st.Where, err = p.conditions(); err != nil {
			return st, err
		}
	default:
		return st, p.errf("want insert, update or delete")
	}
	return st, p.end()
}
