#!/usr/bin/env python3
"""Regenerate tests/corpus/labels/: damaged IDX label files (deterministic).

Run from anywhere: python3 tests/corpus/make_label_corpus.py

  labels/NAME.idx1[.gz] + NAME.expect   read by tests/test_dataset.c through
                                        vp_idx_load_labels(path, 10 classes, ...)

.expect: line 1 the exit code a CLI gives for the file (2: bad input, issue 14),
then fragments the message must hold (besides the file's path, always required).
"""
import os, struct

from make_corpus import HERE, gz, write

LABELS = os.path.join(HERE, "labels")


def lab(count, body=None, magic=0x00000801):
    if body is None:
        body = bytes(i % 10 for i in range(count))
    return struct.pack(">II", magic, count) + body


def case(name, blob, *frags):
    write(os.path.join(LABELS, name), blob)
    with open(os.path.join(LABELS, name.split(".idx1")[0] + ".expect"), "w") as f:
        f.write("2\n")
        for x in frags:
            f.write(x + "\n")


def main():
    os.makedirs(LABELS, exist_ok=True)
    for f in os.listdir(LABELS):
        os.remove(os.path.join(LABELS, f))
    good = lab(100)
    images = struct.pack(">IIII", 0x803, 3, 28, 28) + bytes(3 * 784)
    case("wrong_magic_images.idx1.gz", gz(images), "wrong IDX magic 0x00000803", "image file, not labels")
    case("wrong_magic_raw.idx1", lab(100, magic=0x01080000), "wrong IDX magic 0x01080000",
         "expected 0x00000801")
    case("empty.idx1.gz", gz(b""), "truncated IDX header (0 bytes, need 8)")
    case("truncated_header_raw.idx1", good[:5], "truncated IDX header (5 bytes, need 8)")
    case("truncated_data.idx1.gz", gz(good[:8 + 60]), "truncated", "declares 100 labels (100 bytes)",
         "holds 60 bytes")
    case("truncated_data_raw.idx1", good[:-1], "truncated", "holds 99 bytes")
    case("trailing_bytes.idx1.gz", gz(good + b"\0\1\2"), "sizes disagree", "holds 103 bytes")
    case("trailing_bytes_raw.idx1", good + b"x", "sizes disagree", "holds 101 bytes")
    body = bytearray(good[8:])
    body[7] = 10
    case("label_out_of_range.idx1.gz", gz(lab(100, bytes(body))),
         "label 10 at index 7 is out of range: 10 classes (labels 0..9)")
    body = bytearray(good[8:])
    body[99] = 255
    case("label_255.idx1", lab(100, bytes(body)), "label 255 at index 99 is out of range")
    # a header declaring 4 G labels over 100 bytes: refused from the file size, not read
    case("absurd_count.idx1.gz", gz(lab(0xFFFFFFFF, good[8:])), "truncated",
         "header declares 4294967295 labels", "inflates to at most")
    case("absurd_count_raw.idx1", lab(0xFFFFFFFF, good[8:]), "truncated", "holds 100 bytes")
    z = gz(lab(3000))
    case("gzip_cut.idx1.gz", z[: len(z) // 2], "truncated")
    bad = bytearray(z)
    for i in range(20, len(bad) - 8, 7):
        bad[i] ^= 0x5A
    case("gzip_corrupt.idx1.gz", bytes(bad), "gzip error")


if __name__ == "__main__":
    main()
