000100*================================================================*
000200*  PAYMENT EXTRACT  - RECFM=FB LRECL=60, EBCDIC (CP037)          *
000300*  ONE HEADER, DETAIL RECORDS, ONE TRAILER WITH COUNT AND TOTAL  *
000400*================================================================*
000500 01  PAY-RECORD.
000600     05  PAY-REC-TYPE                PIC X.
000700         88  PAY-HEADER              VALUE 'H'.
000800         88  PAY-DETAIL              VALUE 'D'.
000900         88  PAY-TRAILER             VALUE 'T'.
001000     05  PAY-HEADER-DATA.
001100         10  HDR-BANK-ID             PIC X(8).
001200         10  HDR-RUN-DATE            PIC 9(7).
001300         10  HDR-RUN-NUMBER          PIC 9(5) COMP-3.
001400         10  FILLER                  PIC X(41).
001500     05  PAY-DETAIL-DATA REDEFINES PAY-HEADER-DATA.
001600         10  DTL-ACCOUNT             PIC X(10).
001700         10  DTL-NAME                PIC X(18).
001800         10  DTL-AMOUNT              PIC S9(9)V99 COMP-3.
001900         10  DTL-FEE                 PIC S9(3)V99.
002000         10  DTL-ITEMS               PIC S9(4) COMP.
002100         10  DTL-RATE                PIC SV9(4) COMP-3
002200                                     OCCURS 3 TIMES.
002300         10  DTL-SEQ                 PIC 9(8) BINARY.
002400         10  DTL-DISCOUNT            PIC 9(3)V99 BLANK WHEN ZERO.
002500     05  PAY-TRAILER-DATA REDEFINES PAY-HEADER-DATA.
002600         10  TRL-RECORD-COUNT        PIC 9(7) COMP-3.
002700         10  TRL-TOTAL-AMOUNT        PIC S9(13)V99 COMP-3.
002800         10  FILLER                  PIC X(47).
