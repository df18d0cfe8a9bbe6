// Package mappings turns parsed records into canonical, versioned events
// with declarative YAML mapping files, and holds the registry of canonical
// event types and their JSON Schemas (schemas/, embedded).
//
// A mapping file names the records it applies to (format and record type),
// the event type, the subject (business key) and time expressions, and a
// tree of output fields, each read from the record by a path with small
// transforms:
//
//	match: {format: x12, type: "856"}
//	event:
//	  type: com.legacybridge.shipment.notice.v1
//	  subject: BSN02 | trim | required
//	  time: BSN03 | datetime(BSN04)
//	data:
//	  shipmentId: BSN02 | trim | required
//	  shipDate: HL[S]/DTM[DTM01=011]/DTM02 | date
//	  orders:
//	    each: HL[O]
//	    fields:
//	      purchaseOrderNumber: PRF01 | required
//	      items:
//	        each: HL[I]
//	        fields:
//	          quantityShipped: SN102 | number
//	          uom: SN103 | lookup(uom, keep)
//
// X12 paths select segments by qualifier (REF[REF01=BM]/REF02), groups of
// a segment and its followers (N1[N101=ST]/N301), HL loops by level (HL[I]:
// descendants of the current loop by HL02 parent ids; with outside: [P],
// only those not inside a pack below it) and qualifier/value pairs
// (PO106*BP). A group declared with id:, parent: and level: is a
// hierarchy like HL (EDIFACT CPS: CPS[T] by a level read from its PAC).
// Fixed-width paths are fields.NAME and envelope.NAME; a fixed-width
// document (a NACHA batch read with parser documents) holds child records,
// iterated by type (each: entry) and read by type (batch_control/fields.x).
// Records of change capture (format cdc) keep "" apart from NULL (absent).
// The full reference is README.md in this directory.
//
// Load compiles a file and lists every problem in it; a *Mapping is a
// legacybridge.Mapper (and Skipper). Map validates each event's data against
// its type's schema and reports failures as *Error, a legacybridge.Placer.
package mappings
