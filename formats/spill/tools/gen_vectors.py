#!/usr/bin/env python3
"""Writes the golden vectors of the spill run format (formats/spill/vectors/).

Written from formats/spill/SPEC.md alone, without running or reading the Rust code, so that the
vectors show the spec is implementable from its text. The vectors are committed; CI never runs
this. To regenerate (needs the PyPI package `xxhash` for xxh3-64, e.g. in a venv):

    python3 -m venv target/pyvenv && target/pyvenv/bin/pip install xxhash
    target/pyvenv/bin/python formats/spill/tools/gen_vectors.py

Each vector is `NAME.spill` (a run) and `NAME.json`:
  description   what the vector shows
  file          NAME.spill
  expect        "ok" | "corrupt"
  offset        corrupt: the byte the reader names (SPEC "Reader requirements")
  entries       ok: every entry in order, as [kind, key hex, value hex], kind "put" | "delete"

Each bad vector breaks one rule and keeps every checksum that covers the broken field valid
(recomputed after the change), unless the checksum itself is what it breaks, so the check named
is the first to fail. `read()` below is a reader written from the spec's numbered checks; every
vector is run through it and must give its expected outcome before it is written.
"""

import json
import pathlib
import struct

import xxhash

OUT = pathlib.Path(__file__).resolve().parent.parent / "vectors"

MAGIC = b"\x89DDBSPL\n"
END_MAGIC = b"DDBSPEND"
VERSION = 1
HEADER_BYTES = 24
TRAILER_BYTES = 24
ENTRY_HEADER_BYTES = 12
PUT, DELETE = 1, 2
KIND_NAMES = {PUT: "put", DELETE: "delete"}

assert MAGIC.hex(" ") == "89 44 44 42 53 50 4c 0a"
assert END_MAGIC.hex(" ") == "44 44 42 53 50 45 4e 44"


def xxh3(data: bytes) -> int:
    return xxhash.xxh3_64_intdigest(data, seed=0)


# --- encoding ------------------------------------------------------------------------------

def header(magic=MAGIC, version=VERSION, reserved=0, checksum=None):
    body = magic + struct.pack("<II", version, reserved)
    assert len(body) == 16
    return body + struct.pack("<Q", xxh3(body) if checksum is None else checksum)


def trailer(count, magic=END_MAGIC, checksum=None):
    body = magic + struct.pack("<Q", count)
    assert len(body) == 16
    return body + struct.pack("<Q", xxh3(body) if checksum is None else checksum)


class Entry:
    """One entry; the fields a vector may break are plain attributes."""

    def __init__(self, kind, key, value=b""):
        self.kind = kind
        self.reserved = b"\x00\x00\x00"
        self.key = key
        self.value = value
        self.key_size = None  # overrides of the size fields, to break them
        self.value_size = None
        self.flip_checksummed_byte = None  # damage a covered byte after the checksum

    def encode(self):
        ks = len(self.key) if self.key_size is None else self.key_size
        vs = len(self.value) if self.value_size is None else self.value_size
        head = struct.pack("<B", self.kind) + self.reserved + struct.pack("<II", ks, vs)
        assert len(head) == ENTRY_HEADER_BYTES
        covered = head + self.key + self.value
        out = bytearray(covered + struct.pack("<Q", xxh3(covered)))
        if self.flip_checksummed_byte is not None:
            out[self.flip_checksummed_byte] ^= 0x01
        return bytes(out)

    def describe(self):
        return [KIND_NAMES[self.kind], self.key.hex(), self.value.hex()]


def put(key, value):
    return Entry(PUT, key, value)


def delete(key):
    return Entry(DELETE, key)


def key(text):
    """A one-attribute string key in the order-preserving encoding (formats/key): tag S, the
    UTF-8 bytes (no zero bytes here), terminator 0x00. The format does not decode keys."""
    data = text.encode()
    assert b"\x00" not in data
    return b"S" + data + b"\x00"


def item(text):
    return ('{"pk":{"S":"%s"}}' % text).encode()


class Run:
    """A run being built: the header, entries and trailer, with the offsets of each entry."""

    def __init__(self, entries, head=None, count=None, end=None):
        self.entries = entries
        data = bytearray(header() if head is None else head)
        self.offsets = []
        for e in entries:
            self.offsets.append(len(data))
            data += e.encode()
        self.data_end = len(data)  # D
        data += trailer(len(entries) if count is None else count) if end is None else end
        self.data = data


# --- a reader, from the spec's numbered checks ----------------------------------------------

class Corrupt(Exception):
    def __init__(self, offset, what):
        super().__init__("at %d: %s" % (offset, what))
        self.offset = offset


def read(data: bytes):
    """SPEC "Reader requirements" 1-5, in order; returns the entries or raises Corrupt."""
    n = len(data)
    if n < HEADER_BYTES + TRAILER_BYTES:  # 1
        raise Corrupt(n, "file shorter than 48 bytes")
    if data[0:8] != MAGIC:  # 2
        raise Corrupt(0, "magic")
    if struct.unpack_from("<Q", data, 16)[0] != xxh3(data[0:16]):
        raise Corrupt(16, "header checksum")
    if struct.unpack_from("<I", data, 8)[0] != VERSION:
        raise Corrupt(8, "version")
    if struct.unpack_from("<I", data, 12)[0] != 0:
        raise Corrupt(12, "header reserved")
    d = n - TRAILER_BYTES  # 3
    if data[d:d + 8] != END_MAGIC:
        raise Corrupt(d, "end magic")
    if struct.unpack_from("<Q", data, d + 16)[0] != xxh3(data[d:d + 16]):
        raise Corrupt(d + 16, "trailer checksum")
    entries = []
    previous = None
    e = HEADER_BYTES
    while e < d:  # 4
        if d - e < ENTRY_HEADER_BYTES:  # 4.1
            raise Corrupt(e, "entry header cut short")
        kind = data[e]  # 4.2
        if kind not in (PUT, DELETE):
            raise Corrupt(e, "entry kind")
        if data[e + 1:e + 4] != b"\x00\x00\x00":
            raise Corrupt(e + 1, "entry reserved")
        ks, vs = struct.unpack_from("<II", data, e + 4)
        if kind == DELETE and vs != 0:
            raise Corrupt(e + 8, "delete with a value")
        if e + 20 + ks + vs > d:  # 4.3
            raise Corrupt(e + 4, "entry runs past the data")
        c = e + 12 + ks + vs  # 4.4
        if struct.unpack_from("<Q", data, c)[0] != xxh3(data[e:c]):
            raise Corrupt(c, "entry checksum")
        k = data[e + 12:e + 12 + ks]  # 4.5
        if previous is not None and not k > previous:
            raise Corrupt(e, "key not above the previous")
        previous = k
        entries.append([KIND_NAMES[kind], k.hex(), data[e + 12 + ks:c].hex()])
        e = c + 8
    if struct.unpack_from("<Q", data, d + 8)[0] != len(entries):  # 5
        raise Corrupt(d + 8, "entry count")
    return entries


# --- the vectors ----------------------------------------------------------------------------

VECTORS = {}


def vector(name, description, data, offset=None, entries=None):
    """Records a vector after checking it against `read`: a good one must decode to
    `entries`, a bad one must be named at `offset`."""
    assert name not in VECTORS, name
    data = bytes(data)
    entry = {"description": description, "file": name + ".spill"}
    if offset is None:
        assert read(data) == entries, name
        entry["expect"] = "ok"
        entry["entries"] = entries
    else:
        try:
            read(data)
        except Corrupt as c:
            assert c.offset == offset, (name, c.offset, offset, str(c))
        else:
            raise AssertionError(name + ": reads clean")
        entry["expect"] = "corrupt"
        entry["offset"] = offset
    VECTORS[name] = (entry, data)


def good(name, description, entries):
    run = Run(entries)
    vector(name, description, run.data, entries=[e.describe() for e in entries])


def three():
    """Three entries: a put, a delete, a put."""
    return [put(key("apple"), item("a1")), delete(key("banana")), put(key("cherry"), item("c1"))]


def bad(name, description, build, blame):
    """A run from `build()` (a Run); `blame(run)` is the byte the reader must name."""
    run = build()
    vector(name, description, run.data, offset=blame(run))


def changed(entries, index, **fields):
    for field, value in fields.items():
        setattr(entries[index], field, value)
    return entries


def build():
    # --- good runs -------------------------------------------------------------------------
    good("good-empty", "a run with no entries: header and trailer, 48 bytes", [])
    good("good-puts", "three puts in ascending key order", [
        put(key("a"), item("1")), put(key("ab"), item("2")), put(key("b"), item("3"))])
    good("good-delete", "a put, a delete (kind 2, no value), a put", three())
    good("good-put-empty-value", "a put whose value is empty (value_size 0 is valid for a put)",
         [put(key("k"), b""), delete(key("l"))])
    good("good-key-prefix", "a key that is a prefix of the next one sorts first (memcmp)", [
        put(b"\x01", item("short")), put(b"\x01\x00", item("longer")), delete(b"\x02")])
    big = bytes((i * 7 + (i >> 8)) & 0xFF for i in range(65 * 1024))
    good("good-large-value", "a 65 KiB value between two small entries: the entry spans file "
         "offset 65536, so a reader that reads in 64 KiB pieces must carry it across them", [
             put(key("a"), item("small")), put(key("big"), big), delete(key("c"))])

    # --- 1: file length ----------------------------------------------------------------------
    vector("bad-file-short", "47 bytes: an empty run without its last byte, shorter than a "
           "header and a trailer; named at the file length", Run([]).data[:47], offset=47)

    # --- 2: header ---------------------------------------------------------------------------
    bad("bad-header-magic", "header magic with a text-mode CRLF: 89 44 44 42 53 50 4C 0D",
        lambda: Run(three(), head=header(magic=b"\x89DDBSPL\r")), lambda r: 0)
    bad("bad-header-checksum", "format_version changed to 2 after the header checksum was "
        "computed: the checksum is checked before the version, so it is the checksum's error",
        lambda: Run(three(), head=header(version=2, checksum=xxh3(header()[:16]))),
        lambda r: 16)
    bad("bad-header-version-2", "format_version 2 (checksum valid): this reader knows version 1",
        lambda: Run(three(), head=header(version=2)), lambda r: 8)
    bad("bad-header-reserved", "header reserved bytes 00 00 00 01 (checksum valid)",
        lambda: Run(three(), head=header(reserved=1 << 24)), lambda r: 12)

    # --- 3: trailer --------------------------------------------------------------------------
    bad("bad-trailer-magic", "end magic DDBSPENX (checksum valid)",
        lambda: Run(three(), end=trailer(3, magic=b"DDBSPENX")), lambda r: r.data_end)
    bad("bad-trailer-checksum", "entry_count changed from 3 to 2 after the trailer checksum "
        "was computed", lambda: Run(three(), end=trailer(2, checksum=xxh3(trailer(3)[:16]))),
        lambda r: r.data_end + 16)

    # --- 4.1: an entry header that does not fit ------------------------------------------------
    def header_cut():
        run = Run(three())
        d = run.data_end
        run.data[d:d] = b"\x01\x00\x00\x00\x00"  # 5 bytes of a put's header before the trailer
        return run
    bad("bad-entry-header-cut", "5 bytes of an entry header between the last entry and the "
        "trailer: fewer than 12 bytes before the trailer; named at their start",
        header_cut, lambda r: r.data_end)

    # --- 4.2: kind, reserved, a delete's value -------------------------------------------------
    bad("bad-entry-kind-0", "the second entry's kind is 0 (checksum valid)",
        lambda: Run(changed(three(), 1, kind=0)), lambda r: r.offsets[1])
    bad("bad-entry-kind-3", "the second entry's kind is 3 (checksum valid)",
        lambda: Run(changed(three(), 1, kind=3)), lambda r: r.offsets[1])
    bad("bad-entry-reserved", "the first entry's third reserved byte is 1 (checksum valid); "
        "named at the reserved field", lambda: Run(changed(three(), 0, reserved=b"\x00\x00\x01")),
        lambda r: r.offsets[0] + 1)
    bad("bad-entry-delete-value", "a delete with a 2-byte value (checksum valid); named at "
        "value_size", lambda: Run(changed(three(), 1, value=b"{}")), lambda r: r.offsets[1] + 8)

    # --- 4.3: sizes running past the data ----------------------------------------------------
    bad("bad-entry-value-size-past", "the last entry's value_size one more than its value "
        "(checksum valid): it would end 1 byte into the trailer; named at key_size",
        lambda: Run(changed(three(), 2, value_size=len(item("c1")) + 1)),
        lambda r: r.offsets[2] + 4)
    bad("bad-entry-key-size-huge", "the first entry's key_size is 0xFFFFFFFF (checksum valid): "
        "a reader must not allocate it; named at key_size",
        lambda: Run(changed(three(), 0, key_size=0xFFFFFFFF)), lambda r: r.offsets[0] + 4)

    # --- 4.4: entry checksum -----------------------------------------------------------------
    bad("bad-entry-checksum", "a byte of the second entry's key changed after its checksum was "
        "computed; named at the entry's checksum field",
        lambda: Run(changed(three(), 1, flip_checksummed_byte=12 + 2)),
        lambda r: r.offsets[1] + 12 + len(key("banana")))
    bad("bad-entry-checksum-size", "the first entry's value_size byte changed after the "
        "checksum (value 1 byte shorter, its last byte read as the checksum's first): the "
        "checksum covers the sizes; named at the checksum field it then finds",
        lambda: Run(changed(three(), 0, flip_checksummed_byte=8)),
        lambda r: r.offsets[0] + 12 + len(key("apple")) + len(item("a1")) - 1)

    # --- 4.5: key order ----------------------------------------------------------------------
    bad("bad-key-equal", "the second entry's key equals the first's; named at the second entry",
        lambda: Run([put(key("a"), item("1")), delete(key("a")), put(key("b"), item("2"))]),
        lambda r: r.offsets[1])
    bad("bad-key-descending", "the third entry's key is below the second's; named at the third "
        "entry", lambda: Run([put(key("a"), item("1")), put(key("c"), item("2")),
                              put(key("b"), item("3"))]), lambda r: r.offsets[2])

    # --- 5: entry count ----------------------------------------------------------------------
    bad("bad-trailer-count-high", "entry_count 4 with 3 entries (checksum valid)",
        lambda: Run(three(), count=4), lambda r: r.data_end + 8)
    bad("bad-trailer-count-low", "entry_count 2 with 3 entries (checksum valid)",
        lambda: Run(three(), count=2), lambda r: r.data_end + 8)
    bad("bad-trailer-count-empty", "entry_count 1 in a run with no entries (checksum valid)",
        lambda: Run([], count=1), lambda r: r.data_end + 8)

    # --- truncation and trailing bytes (named through the trailer at file length - 24) --------
    def cut(at_from_entry):
        def build_run():
            run = Run(three())
            del run.data[run.offsets[2] + at_from_entry:]
            return run
        return build_run
    bad("bad-truncated-mid-entry", "the run cut 10 bytes into its third entry: the last 24 "
        "bytes are not a trailer; named at file length - 24",
        cut(10), lambda r: len(r.data) - 24)
    bad("bad-truncated-no-trailer", "the run cut where its trailer starts: the last 24 bytes "
        "are entry bytes; named at file length - 24",
        lambda: Run(three(), end=b""), lambda r: len(r.data) - 24)

    def appended(extra):
        def build_run():
            run = Run(three())
            run.data += extra(run)
            return run
        return build_run
    bad("bad-trailing-bytes", "3 bytes after the trailer: the last 24 bytes are not a trailer; "
        "named at file length - 24", appended(lambda r: b"xyz"), lambda r: len(r.data) - 24)
    bad("bad-trailing-trailer", "a second copy of the trailer after the first: the last 24 "
        "bytes are a valid trailer, and the first trailer, read as an entry, fails on its kind "
        "(0x44); named at the first trailer",
        appended(lambda r: bytes(r.data[r.data_end:])), lambda r: r.data_end)


def main():
    build()
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        if old.suffix in (".spill", ".json"):
            old.unlink()
    for name, (entry, data) in sorted(VECTORS.items()):
        (OUT / (name + ".spill")).write_bytes(data)
        (OUT / (name + ".json")).write_text(json.dumps(entry, indent=1) + "\n")
    print("%d vectors in %s" % (len(VECTORS), OUT))


if __name__ == "__main__":
    main()
