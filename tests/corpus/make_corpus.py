#!/usr/bin/env python3
"""Regenerate the binary members of the broken-input corpora (deterministic).

Run from anywhere: python3 tests/corpus/make_corpus.py

  data/*.idx, data/*.idx.gz   broken IDX image files, each with a sibling .expect
                              (see docs/robustness.md for the format)
  configs/binary_*.json       binary garbage configs
  ../fuzz/corpus_idx/*        small valid and broken IDX buffers (fuzzer seeds; first
                              byte = images wanted, see tests/fuzz/fuzz_idx.c)

The >16 MiB config is not committed: tests/test_corpus.c writes it at test time.
"""
import gzip, os, random, struct

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
CONF = os.path.join(HERE, "configs")
FUZZ = os.path.join(HERE, "..", "fuzz", "corpus_idx")


def idx(count, rows, cols, body=None, magic=0x00000803):
    head = struct.pack(">IIII", magic, count, rows, cols)
    if body is None:
        body = bytes((i * 37 + 11) % 256 for i in range(count * rows * cols))
    return head + body


def gz(b):
    return gzip.compress(b, compresslevel=6, mtime=0)


def write(path, b):
    with open(path, "wb") as f:
        f.write(b)


def case(name, blob, code, *frags):
    write(os.path.join(DATA, name), blob)
    with open(os.path.join(DATA, name.split(".idx")[0] + ".expect"), "w") as f:
        f.write("%d\n" % code)
        for x in frags:
            f.write(x + "\n")


def main():
    os.makedirs(DATA, exist_ok=True)
    os.makedirs(FUZZ, exist_ok=True)
    for f in os.listdir(DATA):
        os.remove(os.path.join(DATA, f))
    good = idx(3, 28, 28)
    # Every case is read with want = 2 images (and the CLI config asks for batch 2).
    case("wrong_magic.idx.gz", gz(idx(3, 28, 28, magic=0x00000801)), 1, "wrong IDX magic 0x00000801")
    case("wrong_magic_raw.idx", idx(3, 28, 28, magic=0x08030000), 1, "wrong IDX magic")
    case("empty.idx.gz", gz(b""), 1, "truncated IDX header (0 bytes")
    case("truncated_header.idx.gz", gz(good[:10]), 1, "truncated IDX header (10 bytes")
    case("truncated_header_raw.idx", good[:7], 1, "truncated IDX header (7 bytes")
    case("truncated_data.idx.gz", gz(good[:16 + 2 * 784 + 100]), 1, "truncated", "declares 3 images of 28 x 28")
    case("truncated_data_raw.idx", good[:-1], 1, "truncated", "2351 bytes")
    case("trailing_bytes.idx.gz", gz(good + b"\0\1\2\3\4"), 1, "sizes disagree", "parse:2357 bytes")
    case("trailing_bytes_raw.idx", good + b"x", 1, "sizes disagree")
    case("too_few_images.idx.gz", gz(idx(1, 28, 28)), 1, "holds 1 images, 2 requested")
    case("zero_images.idx.gz", gz(idx(0, 28, 28)), 1, "holds 0 images, 2 requested")
    # counts that would overflow 32-bit arithmetic or ask for terabytes
    case("absurd_count.idx.gz", gz(idx(0xFFFFFFFF, 28, 28, body=good[16:])), 1, "header declares")
    case("absurd_count_raw.idx", idx(0xFFFFFFFF, 4096, 4096, body=b"\0" * 64), 1, "header declares")
    case("absurd_dims.idx.gz", gz(idx(2, 65536, 65536, body=b"\0" * 64)), 1, "implausible image size 65536 x 65536")
    case("overflow_dims.idx", idx(2, 0x10000, 0x10001, body=b"\0" * 64), 1, "implausible image size")
    case("zero_rows.idx.gz", gz(idx(2, 0, 28, body=b"")), 1, "implausible image size 0 x 28")
    # gzip damage: a valid gzip stream cut short, and one with a corrupted body
    z = gz(good)
    case("gzip_cut.idx.gz", z[: len(z) // 2], 1, "truncated")
    bad = bytearray(z)
    for i in range(20, len(bad) - 8, 7):
        bad[i] ^= 0x5A
    case("gzip_corrupt.idx.gz", bytes(bad), 1, "load:gzip error", "parse:IDX")

    # binary garbage configs
    rnd = random.Random(6)
    write(os.path.join(CONF, "binary_garbage.json"), bytes(rnd.randrange(128, 256) for _ in range(300)))
    with open(os.path.join(CONF, "binary_garbage.expect"), "w") as f:
        f.write("2\nnot valid JSON\n")
    write(os.path.join(CONF, "binary_nul.json"), b'{"name": "x\x00y"}' + bytes(rnd.randrange(256) for _ in range(64)))
    with open(os.path.join(CONF, "binary_nul.expect"), "w") as f:
        f.write("2\nNUL byte\n")

    # fuzzer seeds (raw buffers: vp_idx_parse takes memory, not gzip)
    for f in os.listdir(FUZZ):
        os.remove(os.path.join(FUZZ, f))
    seeds = {
        "valid_3x28x28": good,
        "valid_4x2x3": idx(4, 2, 3),
        "valid_1x1x1": idx(1, 1, 1),
        "wrong_magic": idx(2, 2, 2, magic=0x801),
        "truncated_header": good[:9],
        "truncated_data": idx(4, 2, 3)[:-3],
        "trailing": idx(2, 2, 2) + b"zz",
        "absurd_count": idx(0xFFFFFFFF, 1, 1, body=b"\1\2"),
        "absurd_dims": idx(1, 0xFFFF, 0xFFFF, body=b""),
        "zero_count": idx(0, 5, 5),
    }
    # fuzz_idx reads its first byte as the number of images wanted (& 7)
    for k, v in seeds.items():
        write(os.path.join(FUZZ, k), bytes([2]) + v)


if __name__ == "__main__":
    main()
