#!/usr/bin/env python3
"""Convert scikit-learn's 8x8 handwritten digits into data/digits/digits.bin.

The source is the UCI "Optical Recognition of Handwritten Digits" test set
(E. Alpaydin and C. Kaynak, 1998; 1797 images) as shipped inside the
scikit-learn wheel at sklearn/datasets/data/digits.csv.gz. Nothing is
downloaded.

Usage (from the repository root):

    python3 -m pip install -r data/digits/requirements.txt
    python3 data/digits/convert.py            # writes data/digits/digits.bin
    python3 data/digits/convert.py --check    # only verifies the existing file

Output format (all integers little-endian), see data/digits/README.md:

    offset  size        field
    0       8           magic b"SNNDIGIT"
    8       4           u32 version = 1
    12      4           u32 count   = number of records (1797)
    16      4           u32 rows    = 8
    20      4           u32 cols    = 8
    24      4           u32 classes = 10
    28      65*count    records: rows*cols pixel bytes (0..16, row-major),
                        then 1 label byte (0..9)
    28+65*count  4      u32 CRC-32 (IEEE 802.3 / zlib.crc32) of bytes [0, 28+65*count)

Images are kept in scikit-learn's order.
"""

import argparse
import gzip
import hashlib
import os
import struct
import sys
import zlib

MAGIC = b"SNNDIGIT"
VERSION = 1
ROWS = 8
COLS = 8
CLASSES = 10
HEADER = struct.Struct("<8sIIIII")  # 28 bytes
EXPECTED_COUNT = 1797

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "digits.bin")


def load_from_sklearn():
    """Return (pixels: list[list[int]], labels: list[int]) in scikit-learn's order.

    Reads the data with sklearn.datasets.load_digits() and cross-checks it
    against the raw CSV file inside the installed package.
    """
    import sklearn
    from sklearn.datasets import load_digits

    d = load_digits()
    pixels = [[int(v) for v in row] for row in d.data]
    labels = [int(v) for v in d.target]

    csv_path = os.path.join(os.path.dirname(sklearn.__file__),
                            "datasets", "data", "digits.csv.gz")
    with gzip.open(csv_path, "rt") as f:
        raw = [line.strip().split(",") for line in f if line.strip()]
    raw_pixels = [[int(float(v)) for v in r[:-1]] for r in raw]
    raw_labels = [int(float(r[-1])) for r in raw]
    if raw_pixels != pixels or raw_labels != labels:
        sys.exit("load_digits() disagrees with %s" % csv_path)
    return pixels, labels, csv_path, sklearn.__version__


def encode(pixels, labels):
    count = len(labels)
    out = bytearray(HEADER.pack(MAGIC, VERSION, count, ROWS, COLS, CLASSES))
    for px, lab in zip(pixels, labels):
        if len(px) != ROWS * COLS:
            raise ValueError("image with %d pixels" % len(px))
        if not all(0 <= v <= 16 for v in px):
            raise ValueError("pixel out of 0..16")
        if not 0 <= lab < CLASSES:
            raise ValueError("label %d out of 0..9" % lab)
        out += bytes(px)
        out.append(lab)
    out += struct.pack("<I", zlib.crc32(out) & 0xFFFFFFFF)
    return bytes(out)


def decode(blob):
    """Parse and validate a digits.bin blob; return (pixels, labels)."""
    if len(blob) < HEADER.size + 4:
        raise ValueError("file too short")
    magic, version, count, rows, cols, classes = HEADER.unpack_from(blob, 0)
    if magic != MAGIC:
        raise ValueError("bad magic %r" % magic)
    if version != VERSION:
        raise ValueError("unsupported version %d" % version)
    if (rows, cols, classes) != (ROWS, COLS, CLASSES):
        raise ValueError("unexpected shape %dx%d, %d classes" % (rows, cols, classes))
    rec = rows * cols + 1
    body_end = HEADER.size + rec * count
    if len(blob) != body_end + 4:
        raise ValueError("size %d, expected %d" % (len(blob), body_end + 4))
    (crc,) = struct.unpack_from("<I", blob, body_end)
    if crc != zlib.crc32(blob[:body_end]) & 0xFFFFFFFF:
        raise ValueError("CRC mismatch")
    pixels, labels = [], []
    for i in range(count):
        off = HEADER.size + i * rec
        px = list(blob[off:off + rows * cols])
        lab = blob[off + rows * cols]
        if max(px) > 16 or lab >= classes:
            raise ValueError("record %d out of range" % i)
        pixels.append(px)
        labels.append(lab)
    return pixels, labels


def report(path, blob, labels):
    hist = [labels.count(c) for c in range(CLASSES)]
    print("file:    %s" % path)
    print("size:    %d bytes" % len(blob))
    print("sha256:  %s" % hashlib.sha256(blob).hexdigest())
    print("crc32:   %08x" % struct.unpack_from("<I", blob, len(blob) - 4))
    print("count:   %d" % len(labels))
    print("labels:  " + " ".join("%d:%d" % (c, n) for c, n in enumerate(hist)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="output file (default: %(default)s)")
    ap.add_argument("--check", action="store_true",
                    help="only read and verify the existing file")
    args = ap.parse_args()

    if not args.check:
        pixels, labels, src, ver = load_from_sklearn()
        if len(labels) != EXPECTED_COUNT:
            sys.exit("expected %d images, got %d" % (EXPECTED_COUNT, len(labels)))
        blob = encode(pixels, labels)
        with open(args.out, "wb") as f:
            f.write(blob)
        print("source:  %s (scikit-learn %s)" % (src, ver))

    with open(args.out, "rb") as f:
        blob = f.read()
    pixels2, labels2 = decode(blob)
    if len(labels2) != EXPECTED_COUNT:
        sys.exit("expected %d images, got %d" % (EXPECTED_COUNT, len(labels2)))
    if not args.check and (pixels2 != pixels or labels2 != labels):
        sys.exit("round trip mismatch")
    report(args.out, blob, labels2)


if __name__ == "__main__":
    main()
