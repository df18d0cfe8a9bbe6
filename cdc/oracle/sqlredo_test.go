package oracle

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func lit(s string) RedoValue { return RedoValue{Text: s} }

func TestParseRedo(t *testing.T) {
	null := RedoValue{Null: true}
	for _, tc := range []struct {
		name, sql string
		want      RedoStmt
	}{
		{"insert", `insert into "INV"."MTL_MATERIAL_TRANSACTIONS"("TRANSACTION_ID","SUBINVENTORY_CODE","TRANSACTION_QUANTITY","TRANSACTION_REFERENCE","TRANSACTION_DATE","LAST_UPDATE_DATE","RAW_DATA","NOTES") values ('90001','FGI','-12.5',NULL,TO_DATE('2024-05-01 10:00:00', 'YYYY-MM-DD HH24:MI:SS'),TO_TIMESTAMP('2024-05-01 10:00:00.250'),HEXTORAW('0a0B'),EMPTY_CLOB());`,
			RedoStmt{Op: OpInsert, Owner: "INV", Table: "MTL_MATERIAL_TRANSACTIONS", Set: map[string]RedoValue{
				"TRANSACTION_ID": lit("90001"), "SUBINVENTORY_CODE": lit("FGI"), "TRANSACTION_QUANTITY": lit("-12.5"), "TRANSACTION_REFERENCE": null,
				"TRANSACTION_DATE": {Text: "2024-05-01 10:00:00", Func: "TO_DATE", Args: []string{"2024-05-01 10:00:00", "YYYY-MM-DD HH24:MI:SS"}},
				"LAST_UPDATE_DATE": {Text: "2024-05-01 10:00:00.250", Func: "TO_TIMESTAMP", Args: []string{"2024-05-01 10:00:00.250"}},
				"RAW_DATA":         {Text: "0a0B", Func: "HEXTORAW", Args: []string{"0a0B"}},
				"NOTES":            {Func: "EMPTY_CLOB"},
			}}},
		{"text that looks like SQL", `insert into "ONT"."OE_ORDER_LINES_ALL"("LINE_ID","ORDERED_ITEM") values ('7','it''s 1 = 1 and "x", (y);');`,
			RedoStmt{Op: OpInsert, Owner: "ONT", Table: "OE_ORDER_LINES_ALL", Set: map[string]RedoValue{"LINE_ID": lit("7"), "ORDERED_ITEM": lit(`it's 1 = 1 and "x", (y);`)}}},
		{"update", `update "WIP"."WIP_DISCRETE_JOBS" set "STATUS_TYPE" = '4', "DATE_COMPLETED" = NULL where "WIP_ENTITY_ID" = '5001' and "STATUS_TYPE" = '3' and "DATE_COMPLETED" IS NULL and "DESCRIPTION" = 'and where';`,
			RedoStmt{Op: OpUpdate, Owner: "WIP", Table: "WIP_DISCRETE_JOBS",
				Set:   map[string]RedoValue{"STATUS_TYPE": lit("4"), "DATE_COMPLETED": null},
				Where: map[string]RedoValue{"WIP_ENTITY_ID": lit("5001"), "STATUS_TYPE": lit("3"), "DATE_COMPLETED": null, "DESCRIPTION": lit("and where")}}},
		{"delete with unsupported", `delete from "INV"."MTL_ONHAND_QUANTITIES_DETAIL" where "ONHAND_QUANTITIES_ID" = '77' and "GEOM" = Unsupported Type and "QTY" = .5`,
			RedoStmt{Op: OpDelete, Owner: "INV", Table: "MTL_ONHAND_QUANTITIES_DETAIL",
				Where: map[string]RedoValue{"ONHAND_QUANTITIES_ID": lit("77"), "GEOM": {Text: "Unsupported Type", Unsupported: true}, "QTY": lit(".5")}}},
		{"timestamp with zone, lower-case names", `insert into "APPS"."X"("A","TS") values (1.5E+3,TO_TIMESTAMP_TZ('2024-05-01 10:00:00.5 -05:00'))`,
			RedoStmt{Op: OpInsert, Owner: "APPS", Table: "X", Set: map[string]RedoValue{"A": lit("1.5E+3"), "TS": {Text: "2024-05-01 10:00:00.5 -05:00", Func: "TO_TIMESTAMP_TZ", Args: []string{"2024-05-01 10:00:00.5 -05:00"}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRedo(tc.sql)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRedoErrors(t *testing.T) {
	for sql, want := range map[string]string{
		`insert into "A"."B"("X") values ('1`:                  "unterminated string",
		`insert into "A"."B"("X","Y") values ('1');`:           `want ","`,
		`merge into "A"."B" using dual`:                        "want insert, update or delete",
		`update "A"."B" set "X" = '1' where "Y" = '2' or 1=1;`: "want the end of the statement",
		`delete from "A"."B" where "X" = ;`:                    "want a value",
		`insert into "A"."B`:                                   "unterminated quoted name",
	} {
		_, err := ParseRedo(sql)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", sql, err, want)
		}
	}
}

// FuzzParseRedo: any input parses or fails with an error, never panics
// or hangs; what parses has a table and its operation's parts.
func FuzzParseRedo(f *testing.F) {
	for _, s := range []string{
		`insert into "INV"."T"("A","B") values ('1',TO_DATE('2024-05-01 10:00:00', 'YYYY-MM-DD HH24:MI:SS'));`,
		`update "INV"."T" set "B" = 'it''s' where "A" = '1' and "B" IS NULL;`,
		`delete from "INV"."T" where "A" = '1' and "G" = Unsupported Type;`,
		`insert into "A"."B"("X") values (HEXTORAW('0a'))`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 1<<14 {
			return
		}
		st, err := ParseRedo(s)
		if err != nil {
			return
		}
		if st.Table == "" {
			t.Errorf("%q parsed without a table", s)
		}
		switch st.Op {
		case OpInsert:
			if len(st.Set) == 0 {
				t.Errorf("%q: insert without values", s)
			}
		case OpUpdate:
			if len(st.Set) == 0 {
				t.Errorf("%q: update without set", s)
			}
		case OpDelete:
			if len(st.Where) == 0 {
				t.Errorf("%q: delete without where", s)
			}
		default:
			t.Errorf("%q: op %d", s, st.Op)
		}
	})
}
