package kafka

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	kafka "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"legacybridge"
)

// faultyCluster answers produce requests for topic "secret" with
// TOPIC_AUTHORIZATION_FAILED (permanent) and the first two for "flaky"
// with NOT_ENOUGH_REPLICAS (retryable); everything else is stored.
func faultyCluster(t *testing.T) (*kfake.Cluster, *atomic.Int32) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	var flaky atomic.Int32
	c.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := kreq.(*kmsg.ProduceRequest)
		topic := req.Topics[0].Topic // kafka-go sends one partition per request
		var code int16
		switch {
		case topic == "secret":
			code = kerr.TopicAuthorizationFailed.Code
		case topic == "flaky" && flaky.Add(1) <= 2:
			code = kerr.NotEnoughReplicas.Code
		default:
			return nil, nil, false
		}
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	return c, &flaky
}

// Only the messages that failed are sent again; a refused topic fails its
// messages without delaying the others.
func TestEmitPartialFailure(t *testing.T) {
	c, flaky := faultyCluster(t)
	addr := c.ListenAddrs()[0]
	reg := prometheus.NewRegistry()
	e := newEmitter(t, Config{Brokers: []string{addr}, WriteBackoffMin: 5 * time.Millisecond, WriteBackoffMax: 10 * time.Millisecond}, WithMetrics(reg))

	msgs := []legacybridge.Message{
		testMessage("fine", 0), testMessage("secret", 1), testMessage("flaky", 2),
		testMessage("fine", 3), testMessage("secret", 4), testMessage("flaky", 5),
	}
	err := emitWithin(t, e, context.Background(), msgs...)
	t.Log(err)
	var de *DeliveryError
	if !errors.As(err, &de) {
		t.Fatalf("Emit = %v, want a *DeliveryError", err)
	}
	if diff := cmp.Diff([]int{1, 4}, de.Indexes); diff != "" {
		t.Errorf("failed indexes (-want +got):\n%s", diff)
	}
	if de.Failed != 2 || de.Total != 6 || de.Temporary() || !errors.Is(err, kafka.TopicAuthorizationFailed) {
		t.Errorf("DeliveryError %+v: want 2 of 6 failed for good with TopicAuthorizationFailed", de)
	}
	if n := flaky.Load(); n != 3 {
		t.Errorf("%d produce requests for flaky, want 3 (two refused, one stored)", n)
	}

	got := readBack(t, addr, []string{"fine", "flaky"}, 4)
	var seqs []string
	for _, m := range got {
		seqs = append(seqs, header(m, "seq"))
	}
	slices.Sort(seqs)
	if diff := cmp.Diff([]string{"0", "2", "3", "5"}, seqs); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
	mf := gather(t, reg)
	for _, c := range []struct {
		name, topic string
		want        float64
	}{
		{"legacybridge_kafka_messages_emitted_total", "fine", 2},
		{"legacybridge_kafka_messages_emitted_total", "flaky", 2},
		{"legacybridge_kafka_messages_failed_total", "secret", 2},
		{"legacybridge_kafka_retries_total", "", 4}, // flaky's 2 messages, twice
		{"legacybridge_kafka_emit_errors_total", "", 1},
	} {
		if got := counter(mf, c.name, c.topic); got != c.want {
			t.Errorf("%s{%s} = %v, want %v", c.name, c.topic, got, c.want)
		}
	}
}
