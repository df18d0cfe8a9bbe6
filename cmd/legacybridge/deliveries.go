package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"

	"legacybridge"
	"legacybridge/emitters/file"
	"legacybridge/internal/config"
)

// delivery is one configured outbound delivery, built and ready to run.
type delivery struct {
	name, topic, group string
	d                  *file.Delivery
	closeFS            func() error
}

// buildDelivery wires a delivery from config: its destination transport,
// its encoder, and a Kafka consumer group on brokers.
func buildDelivery(dc config.Delivery, brokers []string, clientID string, tc *tls.Config, mech sasl.Mechanism,
	dlq legacybridge.Emitter, grace time.Duration, reg prometheus.Registerer, log *slog.Logger) (*delivery, error) {
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
