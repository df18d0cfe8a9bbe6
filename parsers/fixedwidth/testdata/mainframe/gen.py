#!/usr/bin/env python3
"""Writes the EBCDIC test files of this folder from the values below, with
Python's own cp037 codec and hand-written zoned/packed encoders, so that
the Go decoder and encoder are checked against bytes they did not make.

    python3 gen.py    # rewrites signs.dat, vb-rdw.dat, vb-bdw.dat
"""
from decimal import Decimal


def text(s, n):
    assert len(s) <= n
    return s.ljust(n).encode("cp037")


def digits(v, n, scale):
    u = int((abs(Decimal(v)) * (10 ** scale)).to_integral_exact())
    s = str(u).rjust(n, "0")
    assert len(s) == n
    return s, Decimal(v) < 0


def zoned(v, n, scale, leading=False):
    """Signed zoned decimal: zone F, the sign byte's zone C (+) or D (-)."""
    s, neg = digits(v, n, scale)
    b = bytearray(0xF0 | int(c) for c in s)
    i = 0 if leading else n - 1
    b[i] = (0xD0 if neg else 0xC0) | (b[i] & 0x0F)
    return bytes(b)


def separate(v, n, scale, leading):
    """SIGN ... SEPARATE: digits in zone F and a + or - of its own."""
    s, neg = digits(v, n, scale)
    sign = ("-" if neg else "+").encode("cp037")
    d = s.encode("cp037")
    return sign + d if leading else d + sign


def packed(v, n_digits, scale, signed=True):
    """COMP-3: two digits a byte, the last half-byte the sign."""
    nbytes = n_digits // 2 + 1
    s, neg = digits(v, 2 * nbytes - 1, scale)
    nibbles = [int(c) for c in s] + [0x0D if neg else (0x0C if signed else 0x0F)]
    return bytes(nibbles[i] << 4 | nibbles[i + 1] for i in range(0, len(nibbles), 2))


def signs():
    rows = [
        ("A001", "12345.67", "-12345.67", "0.05", "-7", "12345"),
        ("A002", "-0.01", "0.00", "-99999.99", "999", "-1"),
        ("A003", "0", "-5.00", "1.00", "0", "0"),
        ("B004", "-99999.99", "99999.99", "-0.10", "-999", "-99999"),
    ]
    out = b""
    for id_, trail, lead, lsep, tsep, pack in rows:
        rec = (text(id_, 4) + zoned(trail, 7, 2) + zoned(lead, 7, 2, leading=True)
               + separate(lsep, 7, 2, leading=True) + separate(tsep, 3, 0, leading=False)
               + packed(pack, 5, 0))
        assert len(rec) == 33
        out += rec
    return out


def vb_records():
    details = [
        ("0012345678", "1234567.89", "FIRST PAYMENT"),
        ("0098765432", "-250.25", "REFUND"),
        ("0000000001", "0.00", ""),
        ("5550001112", "9999999.99", "LARGEST"),
        ("7770002223", "-0.01", "SMALLEST NEGATIVE"),
    ]
    recs = [text("H", 1) + text("PAYVB01", 8) + "20240115".encode("cp037")]
    total = Decimal(0)
    for acct, amount, note in details:
        recs.append(text("D", 1) + text(acct, 10) + packed(amount, 9, 2) + text(note, 20))
        total += Decimal(amount)
    recs.append(text("T", 1) + packed(len(details), 5, 0, signed=False) + packed(total, 13, 2))
    return recs


def rdw(rec):
    return (len(rec) + 4).to_bytes(2, "big") + b"\0\0" + rec


def blocks(recs, blksize):
    out, block = b"", b""
    for r in recs:
        r = rdw(r)
        if 4 + len(block) + len(r) > blksize:
            out += (len(block) + 4).to_bytes(2, "big") + b"\0\0" + block
            block = b""
        block += r
    return out + (len(block) + 4).to_bytes(2, "big") + b"\0\0" + block


if __name__ == "__main__":
    with open("signs.dat", "wb") as f:
        f.write(signs())
    recs = vb_records()
    with open("vb-rdw.dat", "wb") as f:
        f.write(b"".join(rdw(r) for r in recs))
    with open("vb-bdw.dat", "wb") as f:
        f.write(blocks(recs, 100))
