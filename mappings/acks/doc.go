// Package acks maps the acknowledgements partners send back — X12 997 and
// 999 transaction sets, EDIFACT CONTRL messages — into
// com.legacybridge.edi.acknowledgement.received.v1 events that say which of
// our interchanges, groups and transaction sets the partner accepted or
// rejected, and why. It also holds the schemas of those events and of the
// acknowledgements legacybridge itself sends
// (com.legacybridge.edi.acknowledgement.v1, see legacybridge.AckEvent).
//
// A 997/999 names the acknowledged functional group (AK1: GS01 and GS06)
// and transaction sets (AK2: ST01, ST02), not the interchange: consumers
// find the original by partner and group control number. A CONTRL names
// the interchange (UCI: UNB 0020, sender and recipient), its groups (UCF)
// and messages (UCM).
package acks
