#!/usr/bin/env python3
"""Writes the golden vectors of the log format (formats/log/vectors/).

Written from formats/log/SPEC.md alone, without running or reading the Rust code, so that the
vectors show the spec is implementable from its text. The vectors are committed; CI never runs
this. To regenerate (needs the PyPI package `xxhash` for xxh3-64, e.g. in a venv):

    python3 -m venv target/pyvenv && target/pyvenv/bin/pip install xxhash
    target/pyvenv/bin/python formats/log/tools/gen_vectors.py

Each vector is `NAME.log` (a segment file) and `NAME.json`:
  description   what the vector shows
  file          NAME.log
  first_lsn     the LSN the segment's file name would stand for (what a reader checks the
                header's first_lsn against)
  expect        "clean" | "sealed" | "torn_tail" | "corrupt"
  offset        torn_tail: where recovery truncates (the start of the frame that is not whole);
                corrupt: the byte the reader names (see `Blame` below)
  records       the records of the valid frames, in order (before the damage, if any)

Where damage is named (the spec says "the byte offset", not which byte of a broken frame):
  - a field holding a wrong value is named at its first byte (magic, version, size, reserved,
    first_lsn, frame size, count, flags, record type/flags/sizes/LSN/timestamp);
  - a checksum that does not match is named at the checksum field;
  - a record running past the end of its frame is named at its key_bytes field (where its sizes
    start); bytes left over after the last record, at their first byte;
  - a frame's last record that does not end its batch, at that record's flags byte;
  - across frames: an LSN that does not continue, at the frame's first_lsn; timestamps going
    back, at the start of the frame; bytes after a seal, at their first byte;
  - a file too short for its header, at its length.
A bad frame is corruption only when a valid frame starts somewhere after it; otherwise (the final
frame) it is a torn tail, which is why every bad-frame vector below ends with a valid frame.
"""

import json
import pathlib
import struct

import xxhash

OUT = pathlib.Path(__file__).resolve().parent.parent / "vectors"

SEGMENT_MAGIC = b"\x89DDBLOG\n"
FRAME_MAGIC = b"DDBF"
TABLE_ID = b"vector-table-001"
assert len(TABLE_ID) == 16
T0 = 1_700_000_000_000_000  # µs since the epoch

PUT, DELETE = 1, 2
TYPE_NAMES = {PUT: "put", DELETE: "delete"}


def xxh3(data: bytes) -> int:
    return xxhash.xxh3_64_intdigest(data, seed=0)


# --- segment header (64 bytes) ---------------------------------------------------------------

def header(first_lsn, created_at_us=T0, version=1, header_bytes=64, reserved=0, magic=SEGMENT_MAGIC,
           table_id=TABLE_ID, break_checksum=False):
    body = magic + struct.pack("<II", version, header_bytes) + table_id
    body += struct.pack("<QQQ", first_lsn, created_at_us, reserved)
    assert len(body) == 56
    checksum = xxh3(body)
    out = body + struct.pack("<Q", checksum)
    if break_checksum:
        # Damage a covered byte (created_at_us) and keep the old checksum.
        out = bytearray(out)
        out[40] ^= 0x01
        out = bytes(out)
    assert len(out) == 64
    return out


# --- records and frames ----------------------------------------------------------------------

def key(text: str) -> bytes:
    """A one-attribute string key in the order-preserving encoding (formats/key): tag S, the
    UTF-8 bytes (no zero bytes here), terminator 0x00."""
    data = text.encode()
    assert b"\x00" not in data
    return b"S" + data + b"\x00"


def item(text: str) -> bytes:
    return ('{"pk":{"S":"%s"}}' % text).encode()


class Rec:
    """One record; the fields a test may break are plain attributes."""

    def __init__(self, rtype, k, value=b"", end=False):
        self.type = rtype
        self.flags = 1 if end else 0
        self.key = k
        self.value = value
        self.key_bytes = None  # overrides of the size fields, to break them
        self.value_bytes = None
        self.lsn = None  # set by Frame
        self.timestamp_us = None

    def encode(self):
        kb = len(self.key) if self.key_bytes is None else self.key_bytes
        vb = len(self.value) if self.value_bytes is None else self.value_bytes
        head = struct.pack("<BBHIQQ", self.type, self.flags, kb, vb, self.lsn, self.timestamp_us)
        assert len(head) == 24
        return head + self.key + self.value

    def describe(self):
        name = TYPE_NAMES.get(self.type, "skippable:0x%02x" % self.type)
        return {
            "lsn": self.lsn,
            "type": name,
            "key_hex": self.key.hex(),
            "value": self.value.decode(),
            "timestamp_us": self.timestamp_us,
            "end_of_batch": bool(self.flags & 1),
        }


def put(k, v):
    return Rec(PUT, key(k), item(v))


def delete(k):
    return Rec(DELETE, key(k))


def batches(*groups):
    """Flags the last record of each batch as its end and flattens them."""
    out = []
    for group in groups:
        for i, rec in enumerate(group):
            rec.flags = 1 if i + 1 == len(group) else 0
            out.append(rec)
    return out


class Frame:
    def __init__(self, first_lsn, timestamp_us, records, seal=False):
        self.first_lsn = first_lsn
        self.records = records
        self.seal = seal
        self.flags = 1 if seal else 0
        self.count = None  # overrides, to break them
        self.frame_bytes = None
        self.magic = FRAME_MAGIC
        self.trailing = b""  # bytes inside the frame after the last record
        self.flip_body_byte = None  # damage one body byte after the checksum was computed
        for i, rec in enumerate(records):
            if rec.lsn is None:
                rec.lsn = first_lsn + i
            if rec.timestamp_us is None:
                rec.timestamp_us = timestamp_us

    def encode(self):
        body = b"".join(r.encode() for r in self.records) + self.trailing
        size = 32 + len(body) if self.frame_bytes is None else self.frame_bytes
        count = len(self.records) if self.count is None else self.count
        head = self.magic + struct.pack("<IQII", size, self.first_lsn, count, self.flags)
        assert len(head) == 24
        checksum = xxh3(head + body)  # every byte of the frame but the checksum itself
        out = bytearray(head + struct.pack("<Q", checksum) + body)
        if self.flip_body_byte is not None:
            out[32 + self.flip_body_byte] ^= 0x20
        return bytes(out)

    def next_lsn(self):
        return self.first_lsn + len(self.records)


def seal(next_lsn):
    return Frame(next_lsn, 0, [], seal=True)


class Segment:
    def __init__(self, first_lsn, **header_fields):
        self.first_lsn = first_lsn
        self.data = bytearray(header(first_lsn, **header_fields))
        self.valid = []  # records of the frames a reader accepts, in order

    def add(self, frame, valid=True):
        """Appends a frame; returns its offset."""
        offset = len(self.data)
        self.data += frame.encode()
        if valid:
            self.valid.extend(frame.records)
        return offset

    def raw(self, data: bytes):
        offset = len(self.data)
        self.data += data
        return offset

    def end(self):
        return len(self.data)


VECTORS = {}


def vector(name, description, segment, expect, offset=None, first_lsn=None, records=True):
    assert name not in VECTORS, name
    entry = {
        "description": description,
        "file": name + ".log",
        "first_lsn": segment.first_lsn if first_lsn is None else first_lsn,
        "expect": expect,
    }
    if offset is not None:
        entry["offset"] = offset
    if records:
        entry["records"] = [r.describe() for r in segment.valid]
    VECTORS[name] = (entry, bytes(segment.data))


def three_frames(first_lsn=1):
    """A segment with two valid frames; returns it and the next LSN and timestamp."""
    seg = Segment(first_lsn)
    f1 = Frame(first_lsn, T0 + 10, batches([put("a", "1")]))
    seg.add(f1)
    f2 = Frame(f1.next_lsn(), T0 + 20, batches([put("b", "2"), delete("a")]))
    seg.add(f2)
    return seg, f2.next_lsn(), T0 + 20


def then_valid(seg, next_lsn, timestamp_us):
    """A valid frame after the damage: what makes damage corruption rather than a torn tail.
    Not a record the reader returns (it stops at the damage)."""
    seg.add(Frame(next_lsn, timestamp_us, batches([put("z", "9")])), valid=False)


def bad_frame_vector(name, description, build_frame, blame):
    """Two valid frames, a frame broken by `build_frame(first_lsn, ts)`, then a valid frame.
    `blame(frame_offset)` is the byte the reader must name."""
    seg, lsn, ts = three_frames()
    frame = build_frame(lsn, ts + 1)
    at = seg.add(frame, valid=False)
    then_valid(seg, lsn + max(len(frame.records), 1), ts + 1)
    vector(name, description, seg, "corrupt", offset=blame(at))


def build():
    # --- good segments ---------------------------------------------------------------------
    seg = Segment(1)
    f = Frame(1, T0 + 10, batches([put("movie", "m1")]))
    seg.add(f)
    f = Frame(f.next_lsn(), T0 + 10, batches([put("b", "b1"), delete("movie"), put("c", "c1")]))
    seg.add(f)
    f = Frame(f.next_lsn(), T0 + 35, batches([delete("b")], [put("d", "d1"), put("e", "e1")]))
    seg.add(f)
    vector("good-clean", "an open segment: a single put; a three-record batch (put, delete, put) "
           "at the same timestamp; a frame of two batches (group commit)", seg, "clean")

    seg = Segment(1000, created_at_us=T0 + 5)
    f = Frame(1000, T0 + 10, batches([put("x", "x1")]))
    seg.add(f)
    f = Frame(1001, T0 + 11, batches([delete("x"), put("y", "y1")]))
    seg.add(f)
    seg.add(seal(1003))
    vector("good-sealed", "a sealed segment starting at LSN 1000: two frames, then a seal naming "
           "LSN 1003", seg, "sealed")

    seg = Segment(7)
    vector("good-empty", "a segment that holds only its header (just created)", seg, "clean")

    seg = Segment(1)
    seg.add(Frame(1, T0, batches([Rec(DELETE, b"k")])))
    assert seg.end() == 64 + 57
    vector("good-min-frame", "the smallest record frame: one delete with a 1-byte key, 57 bytes "
           "(the log does not decode keys)", seg, "clean")

    seg = Segment(1)
    f = Frame(1, T0, batches([put("a", "1"), Rec(0x80, key("ext"), b"opaque bytes"),
                              put("b", "2")]))
    seg.add(f)
    seg.add(Frame(4, T0 + 1, batches([Rec(0xFF, key("ext2"))])))
    vector("good-skippable", "skippable record types 0x80 (with a value, inside a batch) and 0xFF "
           "(alone, empty value) decode", seg, "clean")

    seg = Segment(1)
    seg.add(Frame(1, T0 + 100, batches([put("a", "1")])))
    seg.add(Frame(2, T0 + 100, batches([put("b", "2")])))
    seg.add(Frame(3, T0 + 101, batches([put("c", "3")])))
    vector("good-timestamps-equal", "timestamps may repeat across frames (never decrease)",
           seg, "clean")

    # --- torn tails -----------------------------------------------------------------------
    seg, lsn, ts = three_frames()
    tail = Frame(lsn, ts + 1, batches([put("c", "3"), put("d", "4")])).encode()
    at = seg.raw(tail[: len(tail) // 2])
    vector("torn-half-frame", "the first half of a final frame: a crash during its write", seg,
           "torn_tail", offset=at)

    seg, lsn, ts = three_frames()
    at = seg.raw(Frame(lsn, ts + 1, batches([put("c", "3")])).encode()[:10])
    vector("torn-frame-header", "10 bytes of a final frame header", seg, "torn_tail", offset=at)

    seg, lsn, ts = three_frames()
    frame = Frame(lsn, ts + 1, batches([put("c", "3")]))
    frame.flip_body_byte = 30
    at = seg.add(frame, valid=False)
    vector("torn-bad-checksum-last", "a whole-length final frame whose checksum does not match "
           "and no valid frame after it: indistinguishable from a torn write", seg, "torn_tail",
           offset=at)

    # --- segment header --------------------------------------------------------------------
    def header_vector(name, description, offset, first_lsn=None, **fields):
        seg = Segment(fields.pop("lsn", 1), **fields)
        seg.add(Frame(seg.first_lsn, T0, batches([put("a", "1")])), valid=False)
        vector(name, description, seg, "corrupt", offset=offset, first_lsn=first_lsn,
               records=False)

    header_vector("bad-header-magic", "segment magic with a text-mode CRLF: 89 44 44 42 4C 4F 47 0D",
                  0, magic=b"\x89DDBLOG\r")
    header_vector("bad-header-checksum", "a header byte (created_at_us) changed after the "
                  "checksum was computed", 56, break_checksum=True)
    header_vector("bad-header-version-2", "format_version 2 (checksum valid): this reader knows "
                  "version 1 only", 8, version=2)
    header_vector("bad-header-size", "header_bytes 65 (checksum valid)", 12, header_bytes=65)
    header_vector("bad-header-reserved", "reserved bytes not zero (checksum valid)", 48,
                  reserved=1)
    header_vector("bad-header-first-lsn-zero", "first_lsn 0 (checksum valid)", 32, lsn=0,
                  first_lsn=1)
    header_vector("bad-header-first-lsn-name", "first_lsn 5 in a segment named for LSN 1", 32,
                  lsn=5, first_lsn=1)
    seg = Segment(1)
    del seg.data[40:]
    vector("bad-header-short", "a 40-byte file: shorter than a segment header", seg, "corrupt",
           offset=40, records=False)

    # --- one frame in isolation -------------------------------------------------------------
    def checksum_broken(lsn, ts):
        f = Frame(lsn, ts, batches([put("c", "3")]))
        f.flip_body_byte = 30
        return f

    bad_frame_vector("bad-frame-checksum", "a frame body byte changed after its checksum was "
                     "computed, then a valid frame", checksum_broken, lambda at: at + 24)

    def magic_broken(lsn, ts):
        f = Frame(lsn, ts, batches([put("c", "3")]))
        f.magic = b"DDBG"
        return f

    bad_frame_vector("bad-frame-magic", "frame magic DDBG", magic_broken, lambda at: at)

    def sized(frame_bytes, seal_frame=False):
        def build_frame(lsn, ts):
            f = seal(lsn) if seal_frame else Frame(lsn, ts, batches([put("c", "3")]))
            f.frame_bytes = frame_bytes
            return f
        return build_frame

    bad_frame_vector("bad-frame-size-small", "frame_bytes 56 (a record frame is at least 57)",
                     sized(56), lambda at: at + 4)
    bad_frame_vector("bad-frame-size-large", "frame_bytes 64 MiB + 1", sized((64 << 20) + 1),
                     lambda at: at + 4)
    bad_frame_vector("bad-seal-size", "a seal of 64 bytes (a seal is exactly 32)",
                     sized(64, seal_frame=True), lambda at: at + 4)

    def flagged(lsn, ts):
        f = Frame(lsn, ts, batches([put("c", "3")]))
        f.flags = 2
        return f

    bad_frame_vector("bad-frame-flags", "frame flags 2 (only bit 0 is defined)", flagged,
                     lambda at: at + 20)

    def counted(count, seal_frame=False, records=1):
        def build_frame(lsn, ts):
            if seal_frame:
                f = seal(lsn)
            else:
                f = Frame(lsn, ts, batches([put("c%d" % i, "3") for i in range(records)]))
            f.count = count
            return f
        return build_frame

    bad_frame_vector("bad-frame-count-zero", "a record frame with record_count 0", counted(0),
                     lambda at: at + 16)
    bad_frame_vector("bad-frame-count-mismatch", "record_count 3 with 2 records in the body",
                     counted(3, records=2), lambda at: at + 16)
    bad_frame_vector("bad-seal-count", "a seal with record_count 1", counted(1, seal_frame=True),
                     lambda at: at + 16)

    def one_record(change, records=None):
        def build_frame(lsn, ts):
            recs = records() if records else [put("c", "3")]
            f = Frame(lsn, ts, batches(recs))
            change(f.records)
            return f
        return build_frame

    def set_attr(index, **values):
        def change(recs):
            for name, value in values.items():
                setattr(recs[index], name, value)
        return change

    rec0 = lambda at: at + 32  # noqa: E731 - the first record of the frame at `at`
    bad_frame_vector("bad-record-type-0", "record type 0 (never valid)",
                     one_record(set_attr(0, type=0)), rec0)
    bad_frame_vector("bad-record-type-3", "record type 3 (reserved: a reader that does not know "
                     "it must reject the frame)", one_record(set_attr(0, type=3)), rec0)
    bad_frame_vector("bad-record-flags", "record flags 3 (only bit 0 is defined)",
                     one_record(set_attr(0, flags=3)), lambda at: at + 32 + 1)
    bad_frame_vector("bad-record-key-empty", "a record with key_bytes 0",
                     one_record(set_attr(0, key=b"")), lambda at: at + 32 + 2)
    bad_frame_vector("bad-record-put-value-short", "a put with a 1-byte value (an item is at "
                     "least 2 bytes: {})", one_record(set_attr(0, value=b"{")),
                     lambda at: at + 32 + 4)
    bad_frame_vector("bad-record-delete-value", "a delete with a value",
                     one_record(set_attr(0, value=b"{}"), records=lambda: [delete("c")]),
                     lambda at: at + 32 + 4)

    two = lambda: [put("c", "3"), put("d", "4")]  # noqa: E731
    rec1 = 32 + 24 + len(key("c")) + len(item("3"))  # the second record's offset in the frame
    bad_frame_vector("bad-record-lsn", "the second record's LSN skips one",
                     one_record(lambda r: setattr(r[1], "lsn", r[1].lsn + 1), records=two),
                     lambda at: at + rec1 + 8)
    bad_frame_vector("bad-record-timestamp-back", "the second record's timestamp is below the "
                     "first's", one_record(lambda r: setattr(r[1], "timestamp_us",
                                                             r[0].timestamp_us - 1), records=two),
                     lambda at: at + rec1 + 16)
    bad_frame_vector("bad-record-overruns-frame", "value_bytes runs past the frame's end",
                     one_record(set_attr(0, value_bytes=len(item("3")) + 1)),
                     lambda at: at + 32 + 2)

    def trailing(lsn, ts):
        f = Frame(lsn, ts, batches([put("c", "3")]))
        f.trailing = b"\x01" * 10
        return f

    bad_frame_vector("bad-frame-trailing-bytes", "10 bytes after the last record: too few for a "
                     "record header", trailing, lambda at: at + 32 + 24 + len(key("c"))
                     + len(item("3")))

    def unended(lsn, ts):
        f = Frame(lsn, ts, batches(two()))
        f.records[1].flags = 0
        return f

    bad_frame_vector("bad-batch-not-ended", "the frame's last record does not end its batch",
                     unended, lambda at: at + rec1 + 1)

    # --- across frames ------------------------------------------------------------------------
    seg, lsn, ts = three_frames()
    at = seg.add(Frame(lsn + 1, ts + 1, batches([put("c", "3")])), valid=False)
    vector("bad-lsn-gap", "a valid frame starting one LSN after the expected one", seg, "corrupt",
           offset=at + 8)

    seg = Segment(10)
    at = seg.add(Frame(11, T0, batches([put("a", "1")])), valid=False)
    vector("bad-lsn-first-frame", "the first frame does not start at the header's first_lsn",
           seg, "corrupt", offset=at + 8)

    seg, lsn, ts = three_frames()
    at = seg.add(Frame(lsn, ts - 1, batches([put("c", "3")])), valid=False)
    vector("bad-timestamp-back", "a valid frame whose timestamp is below the previous frame's",
           seg, "corrupt", offset=at)

    seg, lsn, ts = three_frames()
    seg.add(seal(lsn))
    at = seg.add(Frame(lsn, ts + 1, batches([put("c", "3")])), valid=False)
    vector("bad-after-seal", "a valid frame after the seal", seg, "corrupt", offset=at)

    seg, lsn, ts = three_frames()
    at = seg.add(seal(lsn + 1), valid=False)
    vector("bad-seal-lsn", "a seal naming an LSN one past the next one", seg, "corrupt",
           offset=at + 8)

    # --- LSNs at the top of the u64 range ----------------------------------------------------
    top = (1 << 64) - 1
    seg = Segment(top - 1)
    seg.add(Frame(top - 1, T0, batches([put("a", "1")])))
    seg.add(seal(top))
    vector("good-lsn-max", "the highest LSNs: a record at 2^64-2 and a seal naming 2^64-1",
           seg, "sealed")

    seg = Segment(top)
    at = seg.add(Frame(top, T0, batches([put("a", "1")])), valid=False)
    seg.add(seal(top), valid=False)
    vector("bad-lsn-overflow", "a record at LSN 2^64-1: the next LSN would not fit "
           "(first_lsn + record_count < 2^64); a frame valid in itself follows", seg, "corrupt",
           offset=at + 8)


def main():
    build()
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        if old.suffix in (".log", ".json"):
            old.unlink()
    for name, (entry, data) in sorted(VECTORS.items()):
        (OUT / (name + ".log")).write_bytes(data)
        (OUT / (name + ".json")).write_text(json.dumps(entry, indent=1, ensure_ascii=False) + "\n")
    print("%d vectors in %s" % (len(VECTORS), OUT))


if __name__ == "__main__":
    main()
