      * Variable-length records (RECFM=VB) of three lengths, EBCDIC
      * (CP037), as an FTP binary transfer with RDWs gives them
      * (vb-rdw.dat) and with their blocks' BDWs too (vb-bdw.dat, blocks
      * of at most 100 bytes). Test data for parsers/fixedwidth, written by
      * gen.py independently of the Go code.
       01  VB-HEADER.
           05  VBH-TYPE        PIC X VALUE 'H'.
           05  VBH-FILE        PIC X(8).
           05  VBH-DATE        PIC 9(8).
       01  VB-DETAIL.
           05  VBD-TYPE        PIC X VALUE 'D'.
           05  VBD-ACCOUNT     PIC X(10).
           05  VBD-AMOUNT      PIC S9(7)V99 COMP-3.
           05  VBD-NOTE        PIC X(20).
       01  VB-TRAILER.
           05  VBT-TYPE        PIC X VALUE 'T'.
           05  VBT-COUNT       PIC 9(5) COMP-3.
           05  VBT-TOTAL       PIC S9(11)V99 COMP-3.
