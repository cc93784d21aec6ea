#!/usr/bin/env python3
"""Rewrites a GGUF file with changed metadata, for tests that need real malformed models.

usage: gguf_edit.py IN OUT KEY=TYPE:VALUE...   (TYPE: u32, f32, str; VALUE "inf" allowed for f32)
A key that exists is replaced in place of its old value; a new key is appended.
"""
import struct
import sys

SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


class Reader:
    def __init__(self, data):
        self.data, self.at = data, 0

    def take(self, fmt):
        value = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return value[0]

    def string(self):
        n = self.take("Q")
        self.at += n
        return self.data[self.at - n:self.at]

    def value(self, kind):
        if kind in SCALARS:
            self.take(SCALARS[kind])
        elif kind == 8:
            self.string()
        elif kind == 9:
            inner, count = self.take("I"), self.take("Q")
            for _ in range(count):
                self.value(inner)
        else:
            raise SystemExit(f"unknown value type {kind}")


def encode(spec):
    kind, text = spec.split(":", 1)
    if kind == "u32":
        return struct.pack("<I", 4) + struct.pack("<I", int(text))
    if kind == "f32":
        return struct.pack("<I", 6) + struct.pack("<f", float(text))
    if kind == "str":
        raw = text.encode("utf-8").decode("unicode_escape").encode("latin-1")
        return struct.pack("<I", 8) + struct.pack("<Q", len(raw)) + raw
    raise SystemExit(f"unknown type in {spec}")


def main():
    source, target, edits = sys.argv[1], sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3:])
    data = open(source, "rb").read()
    r = Reader(data)
    magic, version, n_tensors, n_kv = r.take("I"), r.take("I"), r.take("Q"), r.take("Q")
    pairs = []
    for _ in range(n_kv):
        start = r.at
        key = r.string()
        kind = r.take("I")
        value_start = r.at
        r.value(kind)
        name = key.decode("utf-8")
        body = encode(edits.pop(name)) if name in edits else data[value_start - 4:r.at]
        pairs.append(data[start:value_start - 4] + body)
    for name, spec in edits.items():
        raw = name.encode("utf-8")
        pairs.append(struct.pack("<Q", len(raw)) + raw + encode(spec))
    infos_start = r.at
    for _ in range(n_tensors):
        r.string()
        dims = r.take("I")
        r.at += 8 * dims + 4 + 8
    infos = data[infos_start:r.at]
    alignment = 32
    old_data_start = (r.at + alignment - 1) // alignment * alignment
    head = struct.pack("<IIQQ", magic, version, n_tensors, len(pairs)) + b"".join(pairs) + infos
    head += b"\0" * ((-len(head)) % alignment)
    open(target, "wb").write(head + data[old_data_start:])


main()
