package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"

	"legacybridge"
	"legacybridge/emitters/file"
	"legacybridge/internal/config"
	"legacybridge/internal/ledger"
	"legacybridge/parsers/x12"
)

// delivery is one configured outbound delivery, built and ready to run.
type delivery struct {
	name, topic, group string
	d                  *file.Delivery
	closeFS            func() error
}

// buildDelivery wires a delivery from config: its destination transport,
// its encoder (X12 control numbers from led), and a Kafka consumer group
// on brokers.
func buildDelivery(dc config.Delivery, brokers []string, clientID string, tc *tls.Config, mech sasl.Mechanism,
	dlq legacybridge.Emitter, grace time.Duration, reg prometheus.Registerer, led *ledger.Ledger, log *slog.Logger) (*delivery, error) {
	var enc file.Encoder = file.JSON{}
	if dc.Format == "edi" {
		enc = file.EDI{}
	}
	if dc.Format == "fixedwidth" {
		fw, err := file.LoadFixedWidth(dc.Spec)
		if err != nil {
			return nil, err
		}
		enc = fw
	}
	if dc.Format == "x12-856" {
		x, err := x12ShipNotice(dc, led, log.With("delivery", dc.Name))
		if err != nil {
			return nil, err
		}
		if enc, err = file.NewCharset(x, dc.X12.Charset); err != nil {
			return nil, fmt.Errorf("delivery %s: %w", dc.Name, err)
		}
	}
	fs, sub, closeFS, err := openDestination(dc.Destination, log.With("delivery", dc.Name))
	if err != nil {
		return nil, err
	}
	cfg := file.Config{
		Name: dc.Name, Brokers: brokers, Topic: dc.Topic, GroupID: dc.GroupID, ClientID: clientID, TLS: tc, SASL: mech,
		StartFromLatest: dc.StartFrom == "latest", FS: fs, Dir: sub, NameTemplate: dc.NameTemplate, DoneSuffix: dc.DoneSuffix,
		Encoder: enc, Types: dc.Types, Partner: dc.Partner, PartnerExtension: dc.PartnerExtension,
		ControlNumberPath: dc.ControlNumberPath, ControlNumberExtension: dc.ControlNumberExtension,
		Concurrency: dc.Concurrency, ShutdownGrace: grace, Logger: log,
	}
	if dc.DeadLetterTopic != "" {
		cfg.DeadLetter, cfg.DeadLetterTopic = dlq, dc.DeadLetterTopic
	}
	var opts []file.Option
	if reg != nil {
		opts = append(opts, file.WithMetrics(reg))
	}
	d, err := file.New(cfg, opts...)
	if err != nil {
		closeFS()
		return nil, err
	}
	return &delivery{name: dc.Name, topic: dc.Topic, group: dc.GroupID, d: d, closeFS: closeFS}, nil
}

// status reports the delivery's health for /healthz.
func (d *delivery) status() (bool, string) {
	st := d.d.Stats()
	if st.Failing {
		return false, fmt.Sprintf("delivery failing, retrying: %s", st.LastError)
	}
	return true, fmt.Sprintf("delivering (%d files written, %d messages committed)", st.Delivered, st.Committed)
}

// drainAttempts is how many failed attempts in a row at writing one file
// make run --once give up on a delivery (the flows' limit too).
const drainAttempts = 5

// drain runs the delivery until its group has committed every message the
// topic holds now (for run --once), until it keeps failing, or until ctx ends.
func (d *delivery) drain(ctx context.Context, client *kafkago.Client, log *slog.Logger) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.d.Run(runCtx) }()
	ends, err := topicEnds(ctx, client, d.topic)
	if err != nil {
		cancel()
		<-done
		return fmt.Errorf("delivery %s: %w", d.name, err)
	}
	last := time.Now()
	var failStart int64 = -1
	for {
		select {
		case err := <-done:
			if err == nil && ctx.Err() != nil {
				err = ctx.Err()
			}
			return err
		case <-time.After(200 * time.Millisecond):
		}
		st := d.d.Stats()
		switch {
		case !st.Failing:
			failStart = -1
		case failStart < 0:
			failStart = st.Retries
		case st.Retries-failStart >= drainAttempts-1:
			cancel()
			<-done
			return fmt.Errorf("delivery %s: gave up after %d failed attempts in a row (nothing was committed past the last file in place; the next run goes on from there): %s",
				d.name, drainAttempts, st.LastError)
		}
		ok, err := caughtUp(ctx, client, d.group, d.topic, ends)
		if err != nil && ctx.Err() == nil {
			log.Warn("delivery progress not readable; still waiting", "delivery", d.name, "err", err)
		}
		if ok {
			cancel()
			return <-done
		}
		if time.Since(last) >= 10*time.Second {
			log.Info("delivery progress", "delivery", d.name, "files", st.Delivered, "committed", st.Committed, "failing", st.Failing)
			last = time.Now()
		}
	}
}

// topicEnds returns each partition's end offset now; a topic that does not
// exist yet has none.
func topicEnds(ctx context.Context, client *kafkago.Client, topic string) (map[int]int64, error) {
	md, err := client.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, err
	}
	ends := map[int]int64{}
	var reqs []kafkago.OffsetRequest
	for _, t := range md.Topics {
		if t.Name != topic || t.Error != nil {
			continue
		}
		for _, p := range t.Partitions {
			reqs = append(reqs, kafkago.LastOffsetOf(p.ID))
		}
	}
	if len(reqs) == 0 {
		return ends, nil
	}
	res, err := client.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, err
	}
	for _, p := range res.Topics[topic] {
		if p.Error != nil {
			return nil, p.Error
		}
		ends[p.Partition] = p.LastOffset
	}
	return ends, nil
}

// caughtUp reports whether the group committed up to ends on every partition.
func caughtUp(ctx context.Context, client *kafkago.Client, group, topic string, ends map[int]int64) (bool, error) {
	var parts []int
	for p, end := range ends {
		if end > 0 {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return true, nil
	}
	res, err := client.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err != nil {
		return false, err
	}
	if res.Error != nil {
		return false, res.Error
	}
	got := map[int]int64{}
	for _, p := range res.Topics[topic] {
		got[p.Partition] = p.CommittedOffset
	}
	for _, p := range parts {
		if got[p] < ends[p] {
			return false, nil
		}
	}
	return true, nil
}

// runDeliveries runs every delivery until ctx ends.
func runDeliveries(ctx context.Context, ds []*delivery, log *slog.Logger) error {
	errc := make(chan error, len(ds))
	for _, d := range ds {
		go func() {
			err := d.d.Run(ctx)
			if err != nil {
				log.Error("delivery stopped", "delivery", d.name, "err", err)
			}
			errc <- err
		}()
	}
	var errs []error
	for range ds {
		errs = append(errs, <-errc)
	}
	return errors.Join(errs...)
}

// controlsKept is how long the ledger remembers which control numbers an
// event (or file) was given: a redelivery after that gets new ones. It is
// well beyond a topic's usual retention and the duplicate-interchange
// window.
const controlsKept = 90 * 24 * time.Hour

// x12ShipNotice builds the 856 encoder of a delivery: the envelope from
// its x12 block, control numbers from the ledger, counted per sender and
// receiver pair (ledger.X12Partner, as acknowledgements to the same
// partner count them).
func x12ShipNotice(dc config.Delivery, led *ledger.Ledger, log *slog.Logger) (*file.X12ShipNotice, error) {
	x := dc.X12
	if x == nil {
		return nil, fmt.Errorf("delivery %s: format x12-856 needs an x12 block", dc.Name)
	}
	if led == nil {
		return nil, fmt.Errorf("delivery %s: format x12-856 needs the ledger (state_dir) for its control numbers", dc.Name)
	}
	p := file.X12Profile{SenderQualifier: cmp.Or(x.SenderQualifier, "ZZ"), SenderID: x.SenderID,
		ReceiverQualifier: cmp.Or(x.ReceiverQualifier, "ZZ"), ReceiverID: x.ReceiverID,
		AppSender: x.ApplicationSender, AppReceiver: x.ApplicationReceiver, Usage: x.Usage, Version: x.Version,
		AckRequested: x.AckRequested, StructureCode: x.StructureCode, Suffix: x.Delimiters.Suffix,
		Delimiters: x12.Delimiters{Element: x.Delimiters.Element, Component: x.Delimiters.Component,
			Repetition: x.Delimiters.Repetition, Segment: x.Delimiters.Segment}}
	partner := ledger.X12Partner(p.SenderQualifier, p.SenderID, p.ReceiverQualifier, p.ReceiverID)
	if start := x.StartControlNumber; start > 0 {
		for _, seq := range []ledger.Sequence{ledger.X12Interchange, ledger.X12Group} {
			err := led.SetStart(partner, seq, start)
			switch {
			case err == nil:
				log.Info("control numbers start where the old sequence left off", "partner", partner, "sequence", seq, "first", start)
			case errors.Is(err, ledger.ErrStarted):
				// Normal after the first run; worth a warning only when the
				// configured start is ahead of what was handed out.
				if last, _, lerr := led.Last(partner, seq); lerr == nil && last+1 < start {
					log.Warn("start_control_number is ignored: this partner's sequence started before (change it in the ledger only by hand)",
						"partner", partner, "sequence", seq, "last", last, "start_control_number", start)
				}
			default:
				return nil, fmt.Errorf("delivery %s: %w", dc.Name, err)
			}
		}
	}
	enc, err := file.NewX12ShipNotice(p, &ledgerControls{l: led, partner: partner, log: log})
	if err != nil {
		return nil, fmt.Errorf("delivery %s: %w", dc.Name, err)
	}
	return enc, nil
}

// ledgerControls gives the 856 encoder the ledger's control numbers of
// one partner, and forgets old keys at most once a day.
type ledgerControls struct {
	l       *ledger.Ledger
	partner string
	log     *slog.Logger

	mu     sync.Mutex
	pruned time.Time
}

func (c *ledgerControls) ControlNumbers(key string) x12.ControlNumbers {
	c.mu.Lock()
	if now := time.Now(); now.Sub(c.pruned) >= 24*time.Hour {
		c.pruned = now
		if n, err := c.l.PruneControls(now.Add(-controlsKept)); err != nil {
			c.log.Warn("forgetting old control number assignments failed; tried again tomorrow", "err", err)
		} else if n > 0 {
			c.log.Info("forgot control numbers given before the window", "keys", n, "window", controlsKept)
		}
	}
	c.mu.Unlock()
	return c.l.Controls(c.partner, key).X12()
}
