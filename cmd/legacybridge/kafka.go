package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"legacybridge/emitters/kafka"
	"legacybridge/internal/kafkabroker"
)

func cmdKafka(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "serve" {
		fmt.Fprint(stderr, "Usage: legacybridge kafka serve [--listen 127.0.0.1:9092] [--data-dir DIR]\n\nSubcommands:\n  serve   run a standalone Kafka-protocol dev broker\n")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return &exitError{2, errors.New("kafka: expected a subcommand: serve")}
	}
	fs := newFlagSet("kafka serve", "kafka serve [--listen 127.0.0.1:9092] [--data-dir DIR]",
		`Runs a single-node Kafka-protocol broker (franz-go's kfake) for development
and tests: topics are created on first use (4 partitions), consumer groups and
headers work. With --data-dir the topics, records and committed offsets survive
restarts. It listens on loopback only and is not a production broker: point
kafka.brokers at your cluster for that. Stop it with Ctrl-C.`, stderr)
	listen := fs.String("listen", kafkabroker.DefaultListen, "loopback host:port to listen on")
	dataDir := fs.String("data-dir", "", "persist data here (default: memory only)")
	partitions := fs.Int("partitions", 4, "partitions of auto-created topics")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	log, _ := newLogger(stderr, "info", "text")
	return kafkabroker.Serve(ctx, kafkabroker.Config{Listen: *listen, DataDir: *dataDir, Partitions: *partitions, Logger: log}, stdout)
}

func cmdTail(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("tail", "tail --brokers ADDR --topic T [--group G] [--from-beginning] [--max N] [--timeout DUR]",
		`Prints each record of a Kafka topic as one JSON line:
  {"topic","partition","offset","key","headers":{...},"value":<the JSON value>}
A value that is not JSON is printed as a JSON string. Without --group every
partition is read (from the end, or from the beginning with --from-beginning);
with --group the consumer group's committed offsets are used and advanced.
Exits after --max records or --timeout of silence.`, stderr)
	brokers := fs.String("brokers", "127.0.0.1:9092", "comma-separated host:port list")
	topic := fs.String("topic", "", "topic to read; required")
	group := fs.String("group", "", "consumer group (commits offsets)")
	from := fs.Bool("from-beginning", false, "start at the oldest record")
	max := fs.Int("max", 0, "exit after this many records (0 = no limit)")
	timeout := fs.Duration("timeout", 0, "exit after this long without a record (0 = never)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return &exitError{2, fmt.Errorf("tail: unexpected argument %q", fs.Arg(0))}
	}
	if *topic == "" {
		fs.Usage()
		return &exitError{2, errors.New("tail: --topic is required")}
	}
	_, err := kafka.Tail(ctx, kafka.TailConfig{
		Brokers: splitList(*brokers), Topic: *topic, Group: *group, FromBeginning: *from,
		Max: *max, Timeout: *timeout,
	}, stdout)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
