package mappings

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// reference times f (ns per call) in this run, before the measured loop
// (b.Loop resets the timer on its first call). testing.Benchmark cannot
// be nested in a running benchmark.
func reference(b *testing.B, f func() error) float64 {
	b.Helper()
	n := 0
	start := time.Now()
	for time.Since(start) < 200*time.Millisecond {
		if err := f(); err != nil {
			b.Fatal(err)
		}
		n++
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

// big856 builds one 856 with orders×items item loops, items interleaved
// across orders (each item names its order by HL02).
func big856(orders, items int) []string {
	segs := []string{"ST*856*0001", "BSN*00*SHIP-BIG*20240115*1200",
		"HL*1**S", "TD1*CTN25*12****G*486.5*LB", "TD5*B*2*ODFL*M*OLD DOMINION", "REF*BM*BOL1", "DTM*011*20240115*1100",
		"N1*SF*ACME PLANT*92*P2", "N3*1400 INDUSTRIAL PKWY", "N4*DAYTON*OH*45414*US",
		"N1*ST*NORTHWIND DC*92*DC7", "N3*88 LOGISTICS WAY", "N4*LOUISVILLE*KY*40218*US"}
	id := 1
	for o := 0; o < orders; o++ {
		id++
		segs = append(segs, fmt.Sprintf("HL*%d*1*O", id), fmt.Sprintf("PRF*PO-%d***20240110", o))
	}
	for i := 0; i < orders*items; i++ {
		id++
		parent := 2 + i%orders
		segs = append(segs, fmt.Sprintf("HL*%d*%d*I", id, parent),
			fmt.Sprintf("LIN*%d*BP*NW-%05d*VP*AC-%05d*LT*L%d", i+1, i, i, i),
			fmt.Sprintf("SN1**%d.5*EA", i+1),
			fmt.Sprintf("PID*F****PART %d", i))
	}
	segs = append(segs, fmt.Sprintf("CTT*%d", id), fmt.Sprintf("SE*%d*0001", len(segs)+2))
	return segs
}

// BenchmarkMap856 maps one 856 with 100 items (10 orders × 10). The
// reference, measured in the same run, is encoding/json marshalling the same
// record (about what carrying it whole, as the generic mapper does, costs).
func BenchmarkMap856(b *testing.B) {
	m := demoMapping(b, "x12-856-shipment-notice.yaml")
	rec := x12Record("856", big856(10, 10)...)
	if _, err := m.Map(rec); err != nil {
		b.Fatal(err)
	}
	ref := reference(b, func() error { _, err := json.Marshal(rec); return err })
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Map(rec); err != nil {
			b.Fatal(err)
		}
	}
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(1e9/perOp, "events/s")
	b.ReportMetric(100*1e9/perOp, "items/s")
	b.ReportMetric(perOp/ref, "x_json_marshal_of_record")
}

// pickPack856 builds one pick-and-pack 856 (shipment → tare → pack → item)
// with tares×packs×items item loops; each item names its order.
func pickPack856(tares, packs, items int) []string {
	segs := []string{"ST*856*0001", "BSN*00*SHIP-PP*20240115*1200", "HL*1**S", "TD1*PLT94*1", "REF*BM*BOL1"}
	id := 1
	for t := 0; t < tares; t++ {
		id++
		tare := id
		segs = append(segs, fmt.Sprintf("HL*%d*1*T", tare), fmt.Sprintf("MAN*GM*0000812345%010d", tare))
		for p := 0; p < packs; p++ {
			id++
			pack := id
			segs = append(segs, fmt.Sprintf("HL*%d*%d*P", pack, tare), fmt.Sprintf("MAN*GM*0000812345%010d", pack))
			for i := 0; i < items; i++ {
				id++
				segs = append(segs, fmt.Sprintf("HL*%d*%d*I", id, pack), fmt.Sprintf("LIN**BP*NW-%05d", id),
					fmt.Sprintf("SN1**%d*EA", 1+i), fmt.Sprintf("PRF*PO-%d", id%7))
			}
		}
	}
	return append(segs, fmt.Sprintf("CTT*%d", id), fmt.Sprintf("SE*%d*0001", len(segs)+2))
}

// BenchmarkMap856PickPack maps pick-and-pack 856s of 100 and 2000 items.
// Against encoding/json of the same record (measured in the same run), the
// ratio stays about flat from the small to the large one: selecting a
// level's items walks only that level's loops, so the cost is linear in the
// transaction, not quadratic.
func BenchmarkMap856PickPack(b *testing.B) {
	m := demoMapping(b, "x12-856-shipment-notice.yaml")
	for _, size := range []struct{ tares, packs, items int }{{2, 25, 2}, {20, 50, 2}} {
		n := size.tares * size.packs * size.items
		b.Run(fmt.Sprintf("items=%d", n), func(b *testing.B) {
			rec := x12Record("856", pickPack856(size.tares, size.packs, size.items)...)
			if _, err := m.Map(rec); err != nil {
				b.Fatal(err)
			}
			ref := reference(b, func() error { _, err := json.Marshal(rec); return err })
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Map(rec); err != nil {
					b.Fatal(err)
				}
			}
			perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(float64(n)*1e9/perOp, "items/s")
			b.ReportMetric(perOp/ref, "x_json_marshal_of_record")
		})
	}
}

// TestPickPack856 checks the benchmark's input maps as intended: every item
// in its pack on its tare.
func TestPickPack856(t *testing.T) {
	m := demoMapping(t, "x12-856-shipment-notice.yaml")
	rec := x12Record("856", pickPack856(3, 4, 2)...)
	evs, err := m.Map(rec)
	if err != nil {
		t.Fatal(err)
	}
	got := placements(t, evs[0].Data)
	if len(got) != 24 || hlItems(rec) != 24 {
		t.Fatalf("%d items placed, %d item loops, want 24", len(got), hlItems(rec))
	}
	// HL ids: tare 2, packs 3, 6, 9, 12, items 4-5 in pack 3, ...
	if want := "tares[00008123450000000002]/packs[00008123450000000003]/items: NW-00004 1"; got[0] != want {
		t.Errorf("first item %q, want %q", got[0], want)
	}
	if want := "tares[00008123450000000028]/packs[00008123450000000038]/items: NW-00040 2"; got[23] != want {
		t.Errorf("last item %q, want %q", got[23], want)
	}
}

// BenchmarkMapInventory maps one fixed-width movement record.
func BenchmarkMapInventory(b *testing.B) {
	m := demoMapping(b, "inventory-movement.yaml")
	rec := fwRecord(map[string]any{
		"transaction_id": int64(784501), "item": "BRG-6204-2RS", "transaction_type": "RCPT",
		"quantity": json.Number("250.000"), "uom": "EA", "transacted_at": "2024-01-15T06:12:04-06:00",
		"from_subinventory": "RECV", "from_locator": "DOCK-01", "to_subinventory": "STORES", "to_locator": "A-01-03-B",
	})
	rec.Envelope["run_id"] = "0000004711"
	if _, err := m.Map(rec); err != nil {
		b.Fatal(err)
	}
	ref := reference(b, func() error { _, err := json.Marshal(rec); return err })
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Map(rec); err != nil {
			b.Fatal(err)
		}
	}
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(1e9/perOp, "events/s")
	b.ReportMetric(perOp/ref, "x_json_marshal_of_record")
}

// TestBig856 checks the benchmark's input maps as intended: 10 orders with
// 10 items each, each item under the order its HL02 names.
func TestBig856(t *testing.T) {
	m := demoMapping(t, "x12-856-shipment-notice.yaml")
	evs, err := m.Map(x12Record("856", big856(10, 10)...))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Orders []struct {
			PO    string `json:"purchaseOrderNumber"`
			Items []struct {
				Line string `json:"lineNumber"`
			} `json:"items"`
		} `json:"orders"`
	}
	if err := json.Unmarshal(evs[0].Data, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Orders) != 10 {
		t.Fatalf("%d orders, want 10", len(d.Orders))
	}
	for o, ord := range d.Orders {
		if len(ord.Items) != 10 {
			t.Fatalf("order %s: %d items, want 10", ord.PO, len(ord.Items))
		}
		for k, it := range ord.Items {
			if want := fmt.Sprint(o + 1 + 10*k); it.Line != want {
				t.Errorf("order %s item %d: line %s, want %s", ord.PO, k, it.Line, want)
			}
		}
	}
}

// TestConcurrentMap: a Mapping is shared by goroutines (run with -race).
func TestConcurrentMap(t *testing.T) {
	m := demoMapping(t, "x12-856-shipment-notice.yaml")
	rec := x12Record("856", big856(3, 4)...)
	want, err := m.Map(rec)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 20; i++ {
				got, err := m.Map(rec)
				if err == nil && string(got[0].Data) != string(want[0].Data) {
					err = fmt.Errorf("data differs between calls")
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// pickPackDesadv is pickPack856 as a DESADV: the consignment (CPS+1), its
// pallets (PAC 201), their cartons (PAC CT), each labelled GIN+BJ, and the
// lines in the cartons, each naming its order.
func pickPackDesadv(tares, packs, items int) []string {
	segs := []string{"UNH*1*DESADV>D>96A>UN", "BGM*351*SHIP-PP*9", "DTM*137>202401151200>203", "RFF*BM>BOL1",
		"CPS*1", fmt.Sprintf("PAC*%d**201", tares)}
	id, line := 1, 0
	for t := 0; t < tares; t++ {
		id++
		tare := id
		segs = append(segs, fmt.Sprintf("CPS*%d*1", tare), "PAC*1**201", "PCI*33E", fmt.Sprintf("GIN*BJ*0812345%011d", tare))
		for p := 0; p < packs; p++ {
			id++
			pack := id
			segs = append(segs, fmt.Sprintf("CPS*%d*%d", pack, tare), "PAC*1**CT", "PCI*33E", fmt.Sprintf("GIN*BJ*0812345%011d", pack))
			for i := 0; i < items; i++ {
				line++
				segs = append(segs, fmt.Sprintf("LIN*%d", line), fmt.Sprintf("PIA*5*NW-%05d>BP", line),
					fmt.Sprintf("QTY*12>%d", 1+i), fmt.Sprintf("RFF*ON>PO-%d>%d", line%7, line))
			}
		}
	}
	return append(segs, fmt.Sprintf("CNT*2>%d", line), fmt.Sprintf("UNT*%d*1", len(segs)+2))
}

// BenchmarkMapDesadvPickPack maps pick-and-pack DESADVs of 100 and 2000
// lines; the reference, measured in the same run, is the 856 mapping on
// pickPack856 of the same shape (x_856 is the DESADV's time over the
// 856's). Like the 856, the cost stays linear: a level's lines are found
// by walking only that level's part of the CPS tree.
func BenchmarkMapDesadvPickPack(b *testing.B) {
	m := demoMapping(b, "edifact-desadv-shipment-notice.yaml")
	m856 := demoMapping(b, "x12-856-shipment-notice.yaml")
	for _, size := range []struct{ tares, packs, items int }{{2, 25, 2}, {20, 50, 2}} {
		n := size.tares * size.packs * size.items
		b.Run(fmt.Sprintf("items=%d", n), func(b *testing.B) {
			rec := edifactRecord(pickPackDesadv(size.tares, size.packs, size.items)...)
			if _, err := m.Map(rec); err != nil {
				b.Fatal(err)
			}
			x := x12Record("856", pickPack856(size.tares, size.packs, size.items)...)
			ref := reference(b, func() error { _, err := m856.Map(x); return err })
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Map(rec); err != nil {
					b.Fatal(err)
				}
			}
			perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(float64(n)*1e9/perOp, "items/s")
			b.ReportMetric(perOp/ref, "x_856")
		})
	}
}

// TestPickPackDesadv checks the benchmark's DESADV maps as intended: the
// same placements as the 856 of the same shape.
func TestPickPackDesadv(t *testing.T) {
	m := demoMapping(t, "edifact-desadv-shipment-notice.yaml")
	evs, err := m.Map(edifactRecord(pickPackDesadv(3, 4, 2)...))
	if err != nil {
		t.Fatal(err)
	}
	got := placements(t, evs[0].Data)
	if len(got) != 24 {
		t.Fatalf("%d lines placed, want 24", len(got))
	}
	if want := "tares[081234500000000002]/packs[081234500000000003]/items: NW-00001 1"; got[0] != want {
		t.Errorf("first line %q, want %q", got[0], want)
	}
	if want := "tares[081234500000000012]/packs[081234500000000016]/items: NW-00024 2"; got[23] != want {
		t.Errorf("last line %q, want %q", got[23], want)
	}
}
