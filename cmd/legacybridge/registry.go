package main

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"legacybridge"
	"legacybridge/emitters/file"
	"legacybridge/internal/config"
	"legacybridge/mappings"
	"legacybridge/mappings/acks"
	"legacybridge/mappings/generic"
	"legacybridge/parsers/edifact"
	"legacybridge/parsers/fixedwidth"
	"legacybridge/parsers/x12"
)

// newParser is the parser registry: one line per format. Warnings (input
// that is accepted but worth knowing about) go to log.
func newParser(pc config.Parser, log *slog.Logger) (legacybridge.Parser, error) {
	return newParserFor(nil, pc, log)
}

// newParserFor is newParser reading each X12 partner's interchanges in the
// charset of its profile in cfg (nil: none).
func newParserFor(cfg *config.Config, pc config.Parser, log *slog.Logger) (legacybridge.Parser, error) {
	switch pc.Format {
	case "x12":
		return x12.Parser{Charset: pc.Charset, CharsetFor: partnerCharsets(cfg), Warn: func(e *x12.ParseError) {
			log.Warn("x12 input accepted with a warning", "warning", e.Error())
		}}, nil
	case "edifact":
		return edifact.Parser{Warn: func(e *edifact.ParseError) {
			log.Warn("edifact input accepted with a warning", "warning", e.Error())
		}}, nil
	case "fixedwidth":
		l, err := fixedwidth.LoadLayout(pc.Layout)
		if err != nil {
			return nil, err
		}
		if pc.Documents && len(l.Documents) == 0 {
			return nil, fmt.Errorf("parser.documents: layout %s declares no documents (add documents: with name, start and end to it)", pc.Layout)
		}
		return fixedwidth.Parser{Layout: l, Documents: pc.Documents}, nil
	}
	return nil, fmt.Errorf("parser format %q is not supported (x12, edifact or fixedwidth)", pc.Format)
}

// newMappers loads a flow's mapping files, then adds what handles unmapped
// records (see config.Flow.Unmapped).
func newMappers(fc config.Flow, p legacybridge.Parser) ([]legacybridge.Mapper, error) {
	var out []legacybridge.Mapper
	var errs []error
	loader, err := canonicalLoader()
	if err != nil {
		return nil, err
	}
	for _, p := range fc.Mappings {
		m, err := loader.Load(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if verrs := m.Validate(); len(verrs) > 0 {
			errs = append(errs, fmt.Errorf("mapping %s: %w", p, errors.Join(verrs...)))
			continue
		}
		out = append(out, m)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// Acknowledgements partners send back become acknowledgement-received
	// events (unless a mapping file of the flow handles them).
	if fc.Parser.Format == "x12" || fc.Parser.Format == "edifact" {
		a, err := acks.New()
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	switch fc.Unmapped {
	case "generic":
		if fc.Parser.Format == "x12" || fc.Parser.Format == "edifact" {
			g, err := generic.New()
			if err != nil {
				return nil, err
			}
			out = append(out, g)
		}
	case "dead-letter":
		d := deadLetterAll{skip: map[string]bool{}}
		if fw, ok := p.(fixedwidth.Parser); ok {
			// Headers and trailers are context, not business records.
			for _, rt := range fw.Layout.Records {
				if rt.Role == "header" || rt.Role == "trailer" {
					d.skip[rt.Name] = true
				}
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// deadLetterAll fails every record it applies to, so unmapped records are
// dead-lettered (and their file quarantined) instead of skipped.
type deadLetterAll struct{ skip map[string]bool }

func (d deadLetterAll) Applies(rec legacybridge.Record) bool { return !d.skip[rec.Type] }

func (deadLetterAll) Map(rec legacybridge.Record) ([]legacybridge.Event, error) {
	return nil, fmt.Errorf("%s: no mapping for %s record type %q (unmapped: dead-letter)", rec.Pos, rec.Format, rec.Type)
}

// canonicalLoader loads mapping files against the canonical event types;
// their schemas are compiled once per process, not once per flow.
var canonicalLoader = sync.OnceValues(func() (mappings.Loader, error) {
	reg, err := mappings.Canonical()
	if err != nil {
		return mappings.Loader{}, fmt.Errorf("event type registry: %w", err)
	}
	return mappings.Loader{Registry: reg}, nil
})

// validateAll checks the config, then every layout and mapping it names.
func validateAll(cfg *config.Config) error {
	var errs []error
	loader, err := canonicalLoader()
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	for _, fc := range cfg.Flows {
		if fc.Parser.Format == "fixedwidth" && fc.Parser.Layout != "" {
			if l, err := fixedwidth.LoadLayout(fc.Parser.Layout); err != nil {
				errs = append(errs, fmt.Errorf("flow %q: %w", fc.Name, err))
			} else if err := l.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("flow %q: layout %s: %w", fc.Name, fc.Parser.Layout, err))
			}
		}
		for _, p := range fc.Mappings {
			m, err := loader.Load(p)
			if err != nil {
				errs = append(errs, fmt.Errorf("flow %q: %w", fc.Name, err))
				continue
			}
			for _, e := range m.Validate() {
				errs = append(errs, fmt.Errorf("flow %q: mapping %s: %w", fc.Name, p, e))
			}
			if f := m.Format(); f != "" && fc.Parser.Format != "" && f != fc.Parser.Format {
				errs = append(errs, fmt.Errorf("flow %q: mapping %s is for %s records, but the flow's parser is %s: it would never apply", fc.Name, p, f, fc.Parser.Format))
			}
		}
	}
	if err := validateCaptureMappings(cfg); err != nil {
		errs = append(errs, err)
	}
	for _, dc := range cfg.Deliveries {
		if dc.NameTemplate != "" {
			if err := file.CheckNameTemplate(dc.NameTemplate); err != nil {
				errs = append(errs, fmt.Errorf("delivery %q: %w", dc.Name, err))
			}
		}
		if dc.Format == "fixedwidth" && dc.Spec != "" {
			if _, err := file.LoadFixedWidth(dc.Spec); err != nil {
				errs = append(errs, fmt.Errorf("delivery %q: %w", dc.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// partnerCharsets gives the charset of X12 partners' profiles that set
// one, nil when none does.
func partnerCharsets(cfg *config.Config) func(qualifier, id string) string {
	if cfg == nil {
		return nil
	}
	for _, p := range cfg.Partners {
		if p.Standard == "x12" && p.Charset != "" {
			return func(qualifier, id string) string {
				if p := cfg.PartnerFor("x12", qualifier, id); p != nil {
					return p.Charset
				}
				return ""
			}
		}
	}
	return nil
}
