package config

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"unicode/utf8"
)

// Partner is a trading partner's EDI profile: who it is, which standard
// and version it speaks, and what it wants acknowledged, and how.
type Partner struct {
	Name string `yaml:"name"`
	// Standard is x12 or edifact.
	Standard string `yaml:"standard"`
	// ID and Qualifier identify the partner as the sender of interchanges
	// (X12 ISA06 and ISA05; EDIFACT UNB S002 0004 and 0007). Qualifier ""
	// matches any qualifier.
	ID        string `yaml:"id"`
	Qualifier string `yaml:"qualifier"`
	// Version it exchanges: X12 e.g. 004010 or 005010; EDIFACT the
	// directory, e.g. D96A (informational for now, checked for form).
	Version string `yaml:"version"`
	// Charset (X12) of the partner's interchanges, read at each ISA from
	// it, and of the 856s sent to it: utf-8, windows-1252 or iso-8859-1.
	// Default: the flow's parser.charset; UTF-8 for what is sent. EDIFACT
	// interchanges name theirs in UNB (UNOA..UNOY).
	Charset string `yaml:"charset"`
	// Acknowledgement it expects: X12 997 (default) or 999, EDIFACT contrl
	// (default); none for no functional acknowledgement.
	Acknowledgement string `yaml:"acknowledgement"`
	// TA1 (X12): requested (default: when ISA14 asks for one or the
	// interchange envelope is bad), always, never.
	TA1 string `yaml:"ta1"`
	// When (EDIFACT): always (default) or requested (only interchanges
	// asking in UNB 0031, and those with something rejected).
	When string `yaml:"when"`
	// ErrorsOnly (X12) lists only rejected transaction sets in the 997/999.
	ErrorsOnly bool `yaml:"errors_only"`
	// ReceiptOnly (EDIFACT) reports error-free interchanges as received
	// (UCI 0083 = 8) without message detail.
	ReceiptOnly bool `yaml:"receipt_only"`
	// Delimiters of what is sent to the partner. Default: those of the
	// partner's own interchange; when set, the ones left out are the
	// standard's usual ones (X12 * > ^ ~, EDIFACT : + . ? ').
	Delimiters *Delimiters `yaml:"delimiters"`
}

// Delimiters are the separators of EDI sent to a partner.
type Delimiters struct {
	Element    string `yaml:"element"`
	Component  string `yaml:"component"`
	Repetition string `yaml:"repetition"`
	Segment    string `yaml:"segment"`
	// Release is EDIFACT's release character (default "?").
	Release string `yaml:"release"`
	// Decimal is EDIFACT's decimal mark (default ".").
	Decimal string `yaml:"decimal"`
	// Suffix follows every segment terminator, e.g. "\n".
	Suffix string `yaml:"suffix"`
}

// Acknowledgements makes a flow acknowledge the EDI files it reads (X12
// 997/999 and TA1, EDIFACT CONTRL). Sets the acknowledgement rejects are
// not posted; the accepted ones of the same file are.
type Acknowledgements struct {
	// Topic of the acknowledgement events (which a delivery with format
	// edi writes back to the partner). Default: the flow's topic.
	Topic string `yaml:"topic"`
	// Type for partners without a profile: X12 997 (default) or 999,
	// EDIFACT contrl (default), or none.
	Type string `yaml:"type"`
	// TA1 for partners without a profile (X12): requested (default),
	// always, never.
	TA1 string `yaml:"ta1"`
	// Resent acknowledges again interchanges delivered before (see
	// duplicate_interchanges) that arrive in another file. Default false.
	Resent bool `yaml:"resent"`
	// Rules are transaction-set rule files or folders (required segments,
	// element lengths, code lists); "builtin" is the rules legacybridge
	// ships for 850, 855, 856, 810, ORDERS, DESADV and INVOIC. Default
	// none: only the envelope and structure are checked.
	Rules []string `yaml:"rules"`
}

// PartnerFor returns the profile of the partner that sends as qualifier
// and id in standard, or nil.
func (c *Config) PartnerFor(standard, qualifier, id string) *Partner {
	for i := range c.Partners {
		p := &c.Partners[i]
		if p.Standard == standard && p.ID == id && (p.Qualifier == "" || p.Qualifier == qualifier) {
			return p
		}
	}
	return nil
}

func (c *Config) partnerDefaults() {
	for i := range c.Flows {
		a := c.Flows[i].Acknowledgements
		if a == nil {
			continue
		}
		for j, r := range a.Rules {
			if r != "builtin" {
				a.Rules[j] = c.rel(r)
			}
		}
	}
}

// PartnerNamed returns the profile called name, or nil.
func (c *Config) PartnerNamed(name string) *Partner {
	for i := range c.Partners {
		if c.Partners[i].Name == name {
			return &c.Partners[i]
		}
	}
	return nil
}

// deliveryPartners fills x12-856 envelopes from the partner profiles they
// name; what the delivery sets itself wins.
func (c *Config) deliveryPartners() {
	for i := range c.Deliveries {
		x := c.Deliveries[i].X12
		if x == nil || x.Partner == "" {
			continue
		}
		p := c.PartnerNamed(x.Partner)
		if p == nil || p.Standard != "x12" {
			continue // validate says so
		}
		if x.ReceiverID == "" {
			x.ReceiverID = p.ID
			if x.ReceiverQualifier == "" {
				x.ReceiverQualifier = p.Qualifier
			}
		}
		if x.Version == "" {
			x.Version = p.Version
		}
		if x.Delimiters == (Delimiters{}) && p.Delimiters != nil {
			x.Delimiters = *p.Delimiters
		}
		if x.Charset == "" {
			x.Charset = p.Charset
		}
	}
}

func (c *Config) validatePartners(add func(string, ...any)) {
	names := map[string]bool{}
	ids := map[string]bool{}
	for i, p := range c.Partners {
		where := fmt.Sprintf("partners[%d]", i)
		if p.Name != "" {
			where += " (" + p.Name + ")"
		}
		if p.Name == "" {
			add("%s: name is required", where)
		} else if names[p.Name] {
			add("%s: name %q is used twice", where, p.Name)
		}
		names[p.Name] = true
		if p.ID == "" {
			add("%s: id is required (the partner's ISA06 / UNB sender id)", where)
		}
		if max := map[string]int{"x12": 15, "edifact": 35}[p.Standard]; max > 0 && len([]rune(p.ID)) > max {
			add("%s: id %q is longer than an %s sender id can be (%d characters): it would never match", where, p.ID, p.Standard, max)
		}
		k := p.Standard + "\x00" + p.Qualifier + "\x00" + p.ID
		if ids[k] {
			add("%s: another partner has the same standard, qualifier and id", where)
		}
		ids[k] = true
		switch p.Standard {
		case "x12":
			if !slices.Contains([]string{"", "997", "999", "none"}, p.Acknowledgement) {
				add("%s: acknowledgement %q is not one of 997, 999, none", where, p.Acknowledgement)
			}
			if !slices.Contains([]string{"", "requested", "always", "never"}, p.TA1) {
				add("%s: ta1 %q is not one of requested, always, never", where, p.TA1)
			}
			if p.When != "" || p.ReceiptOnly {
				add("%s: when and receipt_only are EDIFACT settings", where)
			}
			if !slices.Contains([]string{"", "utf-8", "windows-1252", "iso-8859-1"}, strings.ToLower(p.Charset)) {
				add("%s: charset %q is not one of utf-8, windows-1252, iso-8859-1", where, p.Charset)
			}
			if p.Version != "" && (len(p.Version) != 6 || !digits(p.Version[:5])) {
				add("%s: version %q is not an X12 version like 004010 or 005010", where, p.Version)
			}
		case "edifact":
			if !slices.Contains([]string{"", "contrl", "none"}, p.Acknowledgement) {
				add("%s: acknowledgement %q is not one of contrl, none", where, p.Acknowledgement)
			}
			if !slices.Contains([]string{"", "always", "requested"}, p.When) {
				add("%s: when %q is not one of always, requested", where, p.When)
			}
			if p.TA1 != "" || p.ErrorsOnly {
				add("%s: ta1 and errors_only are X12 settings", where)
			}
			if p.Charset != "" {
				add("%s: charset is for X12 partners; an EDIFACT interchange names its own in UNB (UNOA..UNOY)", where)
			}
		default:
			add("%s: standard %q is not one of x12, edifact", where, p.Standard)
		}
		if d := p.Delimiters; d != nil {
			checkDelimiters(where, p.Standard, d, add)
		}
	}
	for i, d := range c.Deliveries {
		if d.X12 == nil || d.X12.Partner == "" {
			continue
		}
		switch p := c.PartnerNamed(d.X12.Partner); {
		case p == nil:
			add("deliveries[%d] (%s): x12.partner %q is not a name in partners", i, d.Name, d.X12.Partner)
		case p.Standard != "x12":
			add("deliveries[%d] (%s): x12.partner %q is an %s partner", i, d.Name, d.X12.Partner, p.Standard)
		}
	}
	for i := range c.Flows {
		f := &c.Flows[i]
		a := f.Acknowledgements
		if a == nil {
			continue
		}
		where := fmt.Sprintf("flows[%d] (%s): acknowledgements", i, f.Name)
		switch f.Parser.Format {
		case "x12":
			if !slices.Contains([]string{"", "997", "999", "none"}, a.Type) {
				add("%s: type %q is not one of 997, 999, none", where, a.Type)
			}
		case "edifact":
			if !slices.Contains([]string{"", "contrl", "none"}, a.Type) {
				add("%s: type %q is not one of contrl, none", where, a.Type)
			}
		default:
			add("%s: only EDI flows (parser x12 or edifact) are acknowledged", where)
		}
		if !slices.Contains([]string{"", "requested", "always", "never"}, a.TA1) {
			add("%s: ta1 %q is not one of requested, always, never", where, a.TA1)
		}
		if a.Topic != "" && !topicName.MatchString(a.Topic) {
			add("%s: topic %q is not a valid Kafka topic name", where, a.Topic)
		}
		if a.Topic != "" && a.Topic == f.DeadLetterTopic {
			add("%s: topic must differ from the flow's dead_letter_topic", where)
		}
		for _, r := range a.Rules {
			if r == "builtin" {
				continue
			}
			if _, err := os.Stat(r); err != nil {
				add("%s: rules %s: %v", where, r, err)
			}
		}
	}
}

// checkDelimiters: each one character, all different, none a letter or
// digit (they would split data).
func checkDelimiters(where, standard string, d *Delimiters, add func(string, ...any)) {
	seen := map[string]string{}
	for _, x := range []struct{ key, v string }{{"element", d.Element}, {"component", d.Component},
		{"repetition", d.Repetition}, {"segment", d.Segment}, {"release", d.Release}, {"decimal", d.Decimal}} {
		if x.v == "" {
			continue
		}
		r, n := utf8.DecodeRuneInString(x.v)
		if n != len(x.v) || r > 0x7e {
			add("%s: delimiters.%s %q must be one ASCII character", where, x.key, x.v)
			continue
		}
		if r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == ' ' && x.key != "decimal" {
			add("%s: delimiters.%s %q would split data (a letter, digit or space)", where, x.key, x.v)
		}
		if other, ok := seen[x.v]; ok && x.key != "decimal" {
			add("%s: delimiters.%s %q is also the %s delimiter", where, x.key, x.v, other)
		}
		seen[x.v] = x.key
	}
	if standard == "x12" && (d.Release != "" || d.Decimal != "") {
		add("%s: delimiters.release and decimal are EDIFACT's", where)
	}
	if d.Decimal != "" && d.Decimal != "." && d.Decimal != "," {
		add("%s: delimiters.decimal %q is not . or ,", where, d.Decimal)
	}
	for _, r := range d.Suffix {
		if r != '\n' && r != '\r' {
			add("%s: delimiters.suffix may hold only line breaks (\\n, \\r\\n)", where)
			break
		}
	}
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
