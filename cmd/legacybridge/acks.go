package main

import (
	"cmp"
	"fmt"
	"os"

	"legacybridge"
	"legacybridge/internal/config"
	"legacybridge/internal/ledger"
	"legacybridge/parsers/edifact"
	"legacybridge/parsers/edirules"
	"legacybridge/parsers/x12"
)

// buildAcks wires a flow's acknowledgements: partner profiles from the
// config, control numbers persisted in the ledger per pair of parties.
func buildAcks(cfg *config.Config, fc config.Flow, led legacybridge.Ledger) (*legacybridge.Acknowledgements, error) {
	a := fc.Acknowledgements
	if a == nil {
		return nil, nil
	}
	l, ok := led.(*ledger.Ledger)
	if !ok {
		return nil, fmt.Errorf("acknowledgements need the ledger (state_dir) for their control numbers")
	}
	out := &legacybridge.Acknowledgements{Topic: a.Topic, Resent: a.Resent}
	rules, err := loadRules(a.Rules)
	if err != nil {
		return nil, err
	}
	switch fc.Parser.Format {
	case "x12":
		out.Acknowledger = &x12.FlowAcks{
			Default: x12.AckProfile{Type: a.Type, TA1: a.TA1},
			Profile: func(p legacybridge.Party) (x12.AckProfile, bool) {
				pp := cfg.PartnerFor("x12", p.Qualifier, p.ID)
				if pp == nil {
					return x12.AckProfile{}, false
				}
				return x12Profile(pp, a), true
			},
			Controls: func(from, to legacybridge.Party, key string) (x12.ControlNumbers, error) {
				return l.Controls(ledger.X12Partner(from.Qualifier, from.ID, to.Qualifier, to.ID), key).X12(), nil
			},
			Options: x12.AckOptions{Charset: fc.Parser.Charset, CharsetFor: partnerCharsets(cfg)},
		}
		if rules != nil {
			out.Acknowledger.(*x12.FlowAcks).Options.Check = rules.X12Check()
		}
	case "edifact":
		out.Acknowledger = &edifact.FlowAcks{
			Default: edifact.AckProfile{Type: a.Type},
			Profile: func(p legacybridge.Party) (edifact.AckProfile, bool) {
				pp := cfg.PartnerFor("edifact", p.Qualifier, p.ID)
				if pp == nil {
					return edifact.AckProfile{}, false
				}
				return edifactProfile(pp, a), true
			},
			Controls: func(from, to legacybridge.Party, key string) (edifact.ControlRefs, error) {
				return l.Controls(ledger.EDIFACTPartner(from.Qualifier, from.ID, to.Qualifier, to.ID), key).EDIFACT(), nil
			},
		}
		if rules != nil {
			out.Acknowledger.(*edifact.FlowAcks).Options.Check = rules.EDIFACTCheck()
		}
	default:
		return nil, fmt.Errorf("acknowledgements: parser %q is not EDI", fc.Parser.Format)
	}
	return out, nil
}

// loadRules loads the transaction-set rules a flow names: "builtin" (the
// shipped ones), rule files and folders; nil when it names none.
func loadRules(names []string) (*edirules.Rules, error) {
	if len(names) == 0 {
		return nil, nil
	}
	// The shipped rules come first, whatever the order: files override them.
	r := edirules.New()
	for _, n := range names {
		if n == "builtin" {
			r = edirules.Default()
		}
	}
	for _, n := range names {
		if n == "builtin" {
			continue
		}
		st, err := os.Stat(n)
		if err != nil {
			return nil, fmt.Errorf("acknowledgements: rules: %w", err)
		}
		if st.IsDir() {
			err = r.LoadDir(n)
		} else {
			err = r.Load(n)
		}
		if err != nil {
			return nil, fmt.Errorf("acknowledgements: rules: %w", err)
		}
	}
	return r, nil
}

func x12Profile(p *config.Partner, a *config.Acknowledgements) x12.AckProfile {
	prof := x12.AckProfile{Type: cmp.Or(p.Acknowledgement, a.Type), TA1: cmp.Or(p.TA1, a.TA1), ErrorsOnly: p.ErrorsOnly}
	if d := p.Delimiters; d != nil {
		prof.Delimiters = &x12.Delimiters{Element: cmp.Or(d.Element, "*"), Component: cmp.Or(d.Component, ">"),
			Repetition: cmp.Or(d.Repetition, "^"), Segment: cmp.Or(d.Segment, "~")}
		prof.Suffix = d.Suffix
	}
	return prof
}

func edifactProfile(p *config.Partner, a *config.Acknowledgements) edifact.AckProfile {
	prof := edifact.AckProfile{Type: cmp.Or(p.Acknowledgement, a.Type), When: p.When, ReceiptOnly: p.ReceiptOnly}
	if d := p.Delimiters; d != nil {
		prof.Delimiters = &edifact.Delimiters{Component: cmp.Or(d.Component, ":"), Element: cmp.Or(d.Element, "+"),
			Decimal: cmp.Or(d.Decimal, "."), Release: cmp.Or(d.Release, "?"), Repetition: d.Repetition, Segment: cmp.Or(d.Segment, "'")}
		prof.Suffix = d.Suffix
	}
	return prof
}
