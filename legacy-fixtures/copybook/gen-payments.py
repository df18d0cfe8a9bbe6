#!/usr/bin/env python3
# Writes payments.dat: the EBCDIC (code page 037) example described by
# payments.cpy, packed and binary fields built here byte by byte, apart
# from the Go code that reads and writes them. Run: python3 gen-payments.py
from decimal import Decimal

def packed(value, digits, scale, signed, size):
    n = int(Decimal(value).scaleb(scale))
    d = str(abs(n)).rjust(2 * size - 1, "0")
    assert len(d) == 2 * size - 1 and len(str(abs(n))) <= digits
    sign = (0xD if n < 0 else 0xC) if signed else 0xF
    nib = [int(c) for c in d] + [sign]
    return bytes(nib[i] << 4 | nib[i + 1] for i in range(0, len(nib), 2))

def zoned(value, digits, scale):  # signed, sign in the last byte's zone
    n = int(Decimal(value).scaleb(scale))
    d = str(abs(n)).rjust(digits, "0")
    b = bytearray(0xF0 | int(c) for c in d)
    b[-1] = (0xD0 if n < 0 else 0xC0) | (b[-1] & 0x0F)
    return bytes(b)

def text(s, n):
    assert len(s) <= n
    return s.ljust(n).encode("cp037")

def binary(n, size, signed):
    return n.to_bytes(size, "big", signed=signed)

def display(value, digits, scale, blank_when_zero=False):
    n = int(Decimal(value).scaleb(scale))
    if n == 0 and blank_when_zero:
        return text("", digits)
    return text(str(n).rjust(digits, "0"), digits)

recs = []
recs.append(text("H", 1) + text("BANKUS01", 8) + text("1240115", 7) + packed("42", 5, 0, False, 3) + text("", 41))
details = [
    # account, name, amount, fee, items, rates, seq, discount
    ("0012345678", "ACME CORP", "1234567.89", "12.50", 3, ["0.0125", "0.2500", "0.0000"], 1, "0"),
    ("0098765432", "MÜLLER GMBH", "-250.25", "-0.75", -2, ["0.0015", "0.0250", "0.2515"], 2, "15.25"),
    ("0000000001", "  LEADING BLANKS", "15000000.00", "0.00", 13, ["0.0000", "0.0000", "0.0000"], 3, "0"),
    ("0000025150", "O'BRIEN & SONS £", "999999999.99", "999.99", 9999, ["0.9999", "0.0001", "0.1515"], 99999999, "999.99"),
    ("0000000002", "NEGATIVE ZERO FEE", "-0.01", "-0.01", -9999, ["-0.0001", "0.0000", "-0.9999"], 5, "0.01"),
]
total = Decimal(0)
for acct, name, amt, fee, items, rates, seq, disc in details:
    total += Decimal(amt)
    r = text("D", 1) + text(acct, 10) + text(name, 18) + packed(amt, 11, 2, True, 6) + zoned(fee, 5, 2)
    r += binary(items, 2, True) + b"".join(packed(x, 4, 4, True, 3) for x in rates)
    r += binary(seq, 4, False) + display(disc, 5, 2, True)
    recs.append(r)
recs.append(text("T", 1) + packed(str(len(details)), 7, 0, False, 4) + packed(str(total), 15, 2, True, 8) + text("", 47))
for r in recs:
    assert len(r) == 60, (len(r), r)
with open("payments.dat", "wb") as f:
    f.write(b"".join(recs))
print("total", total)
