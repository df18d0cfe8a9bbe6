package legacybridge_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"legacybridge"
	"legacybridge/parsers/x12"
)

// BenchmarkFlowAcknowledgements: one file of 1,000 856s through RunOnce
// (poll, parse twice, map, emit to memory, archive) without and with its
// 997 (a third read, the acknowledgement and its event). The difference of
// the two ns/op is the cost of acknowledging; RunOnce's polls are in both.
func BenchmarkFlowAcknowledgements(b *testing.B) {
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprintf("SH%05d", i)
	}
	body := interchange(81, "\n", ids...)
	for _, withAcks := range []bool{false, true} {
		b.Run(fmt.Sprintf("acks=%v", withAcks), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dir := b.TempDir()
				p := filepath.Join(dir, "F.edi")
				if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
					b.Fatal(err)
				}
				em := &memEmitter{}
				f := ediFlow(b, dir, em, nil, nil, nil)
				f.BatchSize = 500
				if withAcks {
					f.Acks = &legacybridge.Acknowledgements{Acknowledger: &x12.FlowAcks{Controls: newKeyed().x12}}
				}
				b.StartTimer()
				s, err := f.RunOnce(context.Background())
				if err != nil || s.Events != 1000 || withAcks && s.Acks != 1 {
					b.Fatalf("%+v %v", s, err)
				}
			}
		})
	}
}
