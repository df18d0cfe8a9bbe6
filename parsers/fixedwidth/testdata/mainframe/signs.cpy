      * Signed zoned decimals in every COBOL sign position, EBCDIC (CP037),
      * RECFM=FB LRECL=33. Test data for parsers/fixedwidth; the bytes of
      * signs.dat are written by gen.py, independently of the Go code.
       01  SGN-REC.
           05  SGN-ID          PIC X(4).
           05  SGN-TRAIL       PIC S9(5)V99.
           05  SGN-LEAD        PIC S9(5)V99 SIGN LEADING.
           05  SGN-LSEP        PIC S9(5)V99 SIGN LEADING SEPARATE.
           05  SGN-TSEP        PIC S9(3) SIGN TRAILING SEPARATE.
           05  SGN-PACK        PIC S9(5) COMP-3.
