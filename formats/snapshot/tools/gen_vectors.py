#!/usr/bin/env python3
"""Writes the golden vectors of the snapshot format (formats/snapshot/vectors/).

Written from formats/snapshot/SPEC.md (and formats/key/SPEC.md for keys and typed values,
formats/item-json/SPEC.md for items) alone, without reading the Rust writer, so that the
vectors show the spec is implementable from its text; the Rust test checks that its writer
produces the same bytes from the same rows. The vectors are committed; CI never runs this. To
regenerate (PyPI packages `xxhash`, `lz4` for the LZ4 block format, `zstandard`):

    python3 -m venv target/pyvenv && target/pyvenv/bin/pip install xxhash lz4 zstandard
    target/pyvenv/bin/python formats/snapshot/tools/gen_vectors.py

File vectors are `NAME.snap` and `NAME.json`; snapshot vectors are directories `manifest-*/`
holding `snapshot.manifest`, the files it names (`t-000000.snap`, ...) and `vector.json`:
  description   what the vector shows
  expect        "ok" | "corrupt"
  damage        corrupt: the damaged structure the first finding names (SPEC "Verification":
                size, header, padding, chunk, block, footer, trailer, manifest, mismatch)
  offset        corrupt: the byte that finding names (see "Where damage is named" below)
  file          snapshot vectors, corrupt: the file that finding names (the manifest or a file)
  deep_only     corrupt: true when only deep verification finds the damage (plain
                verification of the same path reports nothing)
  rows          ok: the row count (of the file, or of the whole snapshot)
  fingerprint   ok: {items, item_bytes, hash} of the rows (SPEC "Manifest")
  writer        ok: the writer settings that produce these bytes from these rows (block and
                file targets, the codec of the key, typed and item columns, the zstd level),
                so a second writer can be checked byte for byte

Where damage is named (SPEC "Reader requirements", the paragraph "The error offset names a byte
of the damaged structure"; where it leaves a choice, the choice is written here and in the spec):
  - a file shorter than 4160 bytes (size): at its length, the first byte that is missing;
  - a header or trailer field with a wrong value: at the field's first byte (magic, version,
    header_bytes); a checksum that does not match: at the checksum field; reserved bytes: at
    the first nonzero one, as for padding; the footer position (footer_offset, footer_bytes and
    the trailer's place after the footer): at footer_offset, the first field of the trailer;
    block_count 0: at block_count;
  - padding (after the header, after a block): at the first nonzero byte;
  - the footer (checksum mismatch, and the rules of the whole footer: its start right after the
    last block, the blocks' row counts summing to the trailer's): at the footer's first byte;
    a footer field that breaks a rule: at that field's first byte (an attribute name: its
    length; a key range: the first_key length; a block position: its offset; chunk sizes:
    stored_bytes; a zone map: its flag); bytes after the last field: at the first of them;
  - a column chunk (stored size, checksum, decompression, values not filling the raw bytes,
    an absent key or item): at the chunk's first byte;
  - a decoded block (keys not increasing, first or last key not the block index's, typed
    values not matching the zone map): at the first byte of the chunk whose values break the
    rule (the key chunk; the typed chunk of that attribute);
  - the manifest: at 0 (the JSON line) for any rule of its content; a checksum that does not
    match: at its first hex digit; JSON that does not parse or holds a field the spec does not
    define: at the byte where a reader going front to back finds it (an unknown field: the
    closing quote of its name);
  - a file that does not match its manifest entry (mismatch): at 0 of that file, the file as a
    whole; a size that differs: at the smaller of the two sizes, where they stop agreeing.
Chunk and footer edits recompute the checksums that cover them, so only the rule named breaks.
"""

import base64
import decimal
import json
import pathlib
import shutil
import struct

import lz4.block
import xxhash
import zstandard

OUT = pathlib.Path(__file__).resolve().parent.parent / "vectors"

FILE_MAGIC = b"\x89DDBSNP\n"
TRAILER_MAGIC = b"DDBSNPE\n"
assert FILE_MAGIC.hex(" ") == "89 44 44 42 53 4e 50 0a"
assert TRAILER_MAGIC.hex(" ") == "44 44 42 53 4e 50 45 0a"
ALIGN = 4096
HEADER_BYTES = 64
TRAILER_BYTES = 64
SMALLEST_FILE = ALIGN + TRAILER_BYTES  # 4160: the header slot and a trailer
ABSENT = 0xFFFFFFFF
NONE, LZ4, ZSTD = 0, 1, 2
CODEC_NAMES = {NONE: "none", LZ4: "lz4", ZSTD: "zstd"}
ZSTD_LEVEL = 3  # a writer's choice (any level gives a valid frame); the Rust writer's default

TABLE_ID = b"snapshot-vectors"
assert len(TABLE_ID) == 16
LSN = 42

# Header fields (offset in the file) and trailer fields (offset in the trailer).
H_MAGIC, H_VERSION, H_SIZE, H_TABLE_ID, H_LSN, H_RESERVED, H_CHECKSUM = 0, 8, 12, 16, 32, 40, 56
(T_FOOTER_OFFSET, T_FOOTER_BYTES, T_FOOTER_CHECKSUM, T_ROW_COUNT, T_BLOCK_COUNT,
 T_ATTRIBUTE_COUNT, T_RESERVED, T_CHECKSUM, T_MAGIC) = 0, 8, 16, 24, 32, 36, 40, 48, 56


def xxh3_64(data: bytes) -> int:
    return xxhash.xxh3_64_intdigest(data, seed=0)


def xxh3_128(data: bytes) -> int:
    return xxhash.xxh3_128_intdigest(data, seed=0)


def align(x: int) -> int:
    return (x + ALIGN - 1) // ALIGN * ALIGN


def u16(v):
    return struct.pack("<H", v)


def u32(v):
    return struct.pack("<I", v)


def u64(v):
    return struct.pack("<Q", v)


def bytes32(b: bytes) -> bytes:
    return u32(len(b)) + b


# --- keys and typed values (formats/key) ------------------------------------------------------

def escape(data: bytes) -> bytes:
    return data.replace(b"\x00", b"\x00\xff")


def key_s(text: str) -> bytes:
    data = text.encode()
    assert data, "key values are never empty"
    return b"S" + escape(data) + b"\x00"


def key_b(data: bytes) -> bytes:
    assert data, "key values are never empty"
    return b"B" + escape(data) + b"\x00"


def key_n(text: str) -> bytes:
    """`±0.d1…dn × 10^e`, digits in pairs `p = 10a + b + 1`; negatives invert every byte
    after the class byte."""
    value = decimal.Decimal(text)
    if value == 0:
        return b"N\x02"
    sign, digits, exponent = value.normalize().as_tuple()
    digits = list(digits)
    assert digits[0] != 0 and digits[-1] != 0 and len(digits) <= 38
    e = exponent + len(digits)  # digits × 10^exponent = 0.digits × 10^(exponent + n)
    assert -129 <= e <= 126
    if len(digits) % 2:
        digits.append(0)
    pairs = [10 * a + b + 1 for a, b in zip(digits[0::2], digits[1::2])]
    body = [e + 129] + pairs + [0]
    if sign:
        return b"N\x01" + bytes(0xFF - v for v in body)
    return b"N\x03" + bytes(body)


assert key_n("15").hex() == "4e03831000"
assert key_n("-15").hex() == "4e017cefff"
assert key_n("0.105").hex() == "4e03810b3300"

TYPED = {"S": key_s, "N": key_n, "B": lambda b64: key_b(base64.b64decode(b64))}


# --- items (formats/item-json) ----------------------------------------------------------------

def canonical_number(text: str) -> bool:
    """Plain decimal: optional `-`, no exponent, no leading or trailing fractional zeros."""
    body = text[1:] if text.startswith("-") else text
    if text == "-0" or not body or "e" in body.lower() or "+" in body:
        return False
    whole, _, frac = body.partition(".")
    if (len(whole) > 1 and whole[0] == "0") or not whole:
        return False
    return "." not in body or (frac and not frac.endswith("0"))


def item_json(attrs: dict) -> bytes:
    """Canonical DynamoDB JSON of a flat item: `{name: (descriptor, value)}`, members by the
    UTF-8 bytes of their names, no whitespace. Python's json escaping with ensure_ascii=False
    is the spec's: `"` `\\` and the control characters only, `\\u00xx` in lowercase."""
    members = []
    for name in sorted(attrs, key=lambda n: n.encode()):
        descriptor, value = attrs[name]
        if descriptor == "N":
            assert canonical_number(value), value
        if descriptor == "B":
            value = base64.b64encode(value).decode()
        members.append("%s:{%s:%s}" % (json.dumps(name, ensure_ascii=False), json.dumps(descriptor),
                                       json.dumps(value, ensure_ascii=False)))
    return ("{" + ",".join(members) + "}").encode()


class Row:
    def __init__(self, key: bytes, item: bytes, typed: list):
        self.key, self.item, self.typed = key, item, typed


def typed_values(attrs: dict, attributes) -> list:
    """One key component per attribute of the list, or None when the item lacks it or has it
    with another type."""
    out = []
    for name, wanted in attributes:
        descriptor, value = attrs.get(name, (None, None))
        if descriptor != wanted:
            out.append(None)
        elif wanted == "B":
            out.append(key_b(value))
        else:
            out.append(TYPED[wanted](value))
    return out


# --- fingerprints (SPEC "Manifest") ----------------------------------------------------------

class Fingerprint:
    def __init__(self, items=0, item_bytes=0, hash_=0):
        self.items, self.item_bytes, self.hash = items, item_bytes, hash_

    @staticmethod
    def of(rows):
        f = Fingerprint()
        for r in rows:
            f.items += 1
            f.item_bytes += len(r.item)
            f.hash = (f.hash + xxh3_128(u64(len(r.key)) + r.key + r.item)) % (1 << 128)
        return f

    def combine(self, other):
        return Fingerprint(self.items + other.items, self.item_bytes + other.item_bytes,
                           (self.hash + other.hash) % (1 << 128))

    def wire(self):
        return {"items": self.items, "item_bytes": self.item_bytes, "hash": "%032x" % self.hash}


# --- the file ---------------------------------------------------------------------------------

def compress(codec: int, raw: bytes) -> bytes:
    if codec == NONE:
        return raw
    if codec == LZ4:
        # The LZ4 block format: no frame, no size prefix (store_size=False).
        return lz4.block.compress(raw, mode="default", store_size=False)
    # A Zstandard frame (with its content size, as a one-shot compressor writes it).
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(raw)


def raw_chunk(values) -> bytes:
    return b"".join(u32(ABSENT) if v is None else u32(len(v)) + v for v in values)


class Chunk:
    def __init__(self, codec, stored, raw_bytes):
        self.codec, self.stored, self.raw_bytes = codec, stored, raw_bytes
        self.stored_bytes = len(stored)  # the footer's fields: editable apart from the bytes
        self.checksum = xxh3_64(stored)

    def restore(self, stored):
        """New stored bytes with a matching descriptor (size and checksum)."""
        self.stored, self.stored_bytes, self.checksum = stored, len(stored), xxh3_64(stored)


class Block:
    def __init__(self, rows, attributes, codecs):
        self.rows = rows
        self.row_count = len(rows)
        self.first_key, self.last_key = rows[0].key, rows[-1].key
        key_codec, typed_codec, item_codec = codecs
        columns = [([r.key for r in rows], key_codec)]
        columns += [([r.typed[a] for r in rows], typed_codec) for a in range(len(attributes))]
        columns.append(([r.item for r in rows], item_codec))
        self.chunks = []
        for values, codec in columns:
            raw = raw_chunk(values)
            self.chunks.append(Chunk(codec, compress(codec, raw), len(raw)))
        self.zones = []
        for a in range(len(attributes)):
            present = [r.typed[a] for r in rows if r.typed[a] is not None]
            self.zones.append((min(present), max(present)) if present else None)
        self.offset = None  # set by SnapFile.layout; a vector may then move it in the footer
        self.written_at = None  # where the bytes are when a vector moved `offset` alone
        self.zone_flags = {}  # attribute → a zone map flag other than 1, to break it

    def end(self):
        return self.offset + sum(c.stored_bytes for c in self.chunks)


def raw_size(rows, attributes):
    """The raw bytes of the chunks of a block of `rows`."""
    columns = [[r.key for r in rows]]
    columns += [[r.typed[a] for r in rows] for a in range(len(attributes))]
    columns.append([r.item for r in rows])
    return sum(len(raw_chunk(values)) for values in columns)


def cut_blocks(rows, attributes, block_bytes_target):
    """A writer's policy (SPEC "Writer requirements" SHOULD), mirrored so that another writer
    can be compared byte for byte: a block is cut once the raw bytes of its chunks reach the
    target."""
    blocks, current = [], []
    for r in rows:
        current.append(r)
        if raw_size(current, attributes) >= block_bytes_target:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


class SnapFile:
    """A file as the fields the spec names. `encode` lays the stored chunks at the blocks'
    offsets and writes the footer and trailer from the fields, recomputing the checksums that
    cover them unless a vector overrides a field."""

    def __init__(self, rows, attributes, codecs, block_bytes_target, lsn=LSN, table_id=TABLE_ID):
        self.attributes = [(n, t) for n, t in attributes]
        self.attribute_types = [t.encode() for _, t in attributes]  # editable bytes
        self.attribute_names = [n.encode() for n, _ in attributes]
        self.rows = rows
        self.blocks = [Block(b, attributes, codecs) for b in
                       cut_blocks(rows, attributes, block_bytes_target)]
        self.header = {"magic": FILE_MAGIC, "version": 1, "size": HEADER_BYTES,
                       "table_id": table_id, "lsn": lsn, "reserved": bytes(16)}
        self.trailer = {}  # overrides of trailer fields by name
        self.footer_extra = b""  # bytes after the footer's last field
        self.footer_gap = 0  # bytes of zeros between the last block's padding and the footer
        self.layout()

    def layout(self):
        """Block 0 at 4096, block i+1 at align(end of block i)."""
        at = ALIGN
        for b in self.blocks:
            b.offset = at
            at = align(b.end())
        self.footer_offset = at + self.footer_gap

    def encode_header(self):
        h = self.header
        out = h["magic"] + u32(h["version"]) + u32(h["size"]) + h["table_id"] + u64(h["lsn"])
        out += h["reserved"]
        assert len(out) == H_CHECKSUM
        return out + u64(xxh3_64(out))

    def encode_footer(self):
        """The footer's bytes and where each field starts (file offsets), by name."""
        out = bytearray()
        at = {}

        def field(name, data):
            at[name] = self.footer_offset + len(out)
            out.extend(data)

        for a, (name, type_byte) in enumerate(zip(self.attribute_names, self.attribute_types)):
            field(("name", a), u16(len(name)) + name)
            field(("type", a), type_byte)
        for i, b in enumerate(self.blocks):
            field(("offset", i), u64(b.offset))
            field(("row_count", i), u32(b.row_count))
            field(("first_key", i), bytes32(b.first_key))
            field(("last_key", i), bytes32(b.last_key))
            for c, ch in enumerate(b.chunks):
                field(("codec", i, c), bytes([ch.codec]))
                field(("stored_bytes", i, c), u32(ch.stored_bytes))
                field(("raw_bytes", i, c), u32(ch.raw_bytes))
                field(("checksum", i, c), u64(ch.checksum))
            for a, zone in enumerate(b.zones):
                if zone is None:
                    field(("zone", i, a), b"\x00")
                else:
                    flag = b.zone_flags.get(a, 1)
                    field(("zone", i, a), bytes([flag]) + bytes32(zone[0]) + bytes32(zone[1]))
        field("end", self.footer_extra)
        return bytes(out), at

    def encode(self):
        out = bytearray(self.encode_header())
        out += bytes(ALIGN - len(out))
        for b in self.blocks:
            data = b"".join(c.stored for c in b.chunks)
            at = b.offset if b.written_at is None else b.written_at
            assert len(out) <= at
            out += bytes(at - len(out)) + data
        out += bytes(self.footer_offset - len(out))
        assert len(out) == self.footer_offset
        footer, self.footer_fields = self.encode_footer()
        out += footer
        fields = {
            "footer_offset": self.footer_offset,
            "footer_bytes": len(footer),
            "footer_checksum": xxh3_64(footer),
            "row_count": sum(b.row_count for b in self.blocks),
            "block_count": len(self.blocks),
            "attribute_count": len(self.attributes),
            "reserved": 0,
        }
        fields.update({k: v for k, v in self.trailer.items() if k not in ("checksum", "magic")})
        trailer = (u64(fields["footer_offset"]) + u64(fields["footer_bytes"])
                   + u64(fields["footer_checksum"]) + u64(fields["row_count"])
                   + u32(fields["block_count"]) + u32(fields["attribute_count"])
                   + u64(fields["reserved"]))
        trailer += u64(self.trailer.get("checksum", xxh3_64(trailer)))
        trailer += self.trailer.get("magic", TRAILER_MAGIC)
        assert len(trailer) == TRAILER_BYTES
        self.trailer_offset = len(out)
        out += trailer
        return bytes(out)

    def chunk_offset(self, i, c):
        b = self.blocks[i]
        return b.offset + sum(ch.stored_bytes for ch in b.chunks[:c])

    def footer_checksum(self):
        return xxh3_64(self.encode_footer()[0])


# --- rows --------------------------------------------------------------------------------------

ATTRIBUTES = [("pk", "S"), ("sk", "N"), ("tag", "B")]
KEY_SCHEMA = ("pk", "sk")  # partition S, sort N: the key is S(pk) ‖ N(sk)
DEFAULT_CODECS = (LZ4, LZ4, ZSTD)  # SPEC "Writer requirements": key and typed LZ4, item zstd
NO_CODECS = (NONE, NONE, NONE)
# Snapshot directories use no LZ4: an LZ4 block has many valid encodings (liblz4 and the Rust
# writer's lz4_flex choose different matches), so only without it are another writer's files,
# and so the manifest's whole-file hashes, byte-identical to these.
MANIFEST_CODECS = (NONE, NONE, ZSTD)

PKS = ["alpha", "beta", "caf\u00e9", "delta", "epsilon", "nul\u0000x", "eta", "theta", "iota",
       "kappa"]
SKS = ["-15", "0", "0.105", "15", "-0.0001", "100000000000000000000"]


def make_rows(count=30, first=0):
    """Rows keyed (pk S, sk N) in key order. `tag` is B in most rows, missing in some and an S
    (another type: absent from the typed column) in others; the pk values include a 0x00 byte
    (escaped in the key) and a non-ASCII character; the sort keys negative, zero, fractional
    and 21-digit numbers."""
    rows = []
    for i in range(first, first + count):
        pk = PKS[i // 3 % len(PKS)] + ("" if i < 3 * len(PKS) else "#%d" % (i // 30))
        sk = SKS[i % 3 + (i // 3 % 2) * 3]
        attrs = {"pk": ("S", pk), "sk": ("N", sk), "v": ("S", "value %d \"%s\"" % (i, pk))}
        if pk in ("alpha", "beta"):
            if i % 2:
                attrs["tag"] = ("S", "not-binary")
        elif i % 5 == 1:
            attrs["tag"] = ("S", "not-binary")
        elif i % 5 != 0:
            attrs["tag"] = ("B", bytes([i, 0, i * 7 % 256]))
        key = key_s(pk) + key_n(sk)
        typed = typed_values(attrs, ATTRIBUTES)
        assert typed[0] == key_s(pk) and typed[1] == key_n(sk)
        rows.append(Row(key, item_json(attrs), typed))
    rows.sort(key=lambda r: r.key)
    assert all(a.key < b.key for a, b in zip(rows, rows[1:])), "keys strictly increasing"
    return rows


ROWS = make_rows()
BLOCK_TARGET = 700


def good_small():
    return SnapFile(ROWS, ATTRIBUTES, DEFAULT_CODECS, BLOCK_TARGET)


def good_none():
    return SnapFile(ROWS, ATTRIBUTES, NO_CODECS, BLOCK_TARGET)


def writer(codecs, block_bytes_target, file_bytes_target=1 << 30):
    return {"block_bytes_target": block_bytes_target, "file_bytes_target": file_bytes_target,
            "key_codec": CODEC_NAMES[codecs[0]], "attribute_codec": CODEC_NAMES[codecs[1]],
            "item_codec": CODEC_NAMES[codecs[2]], "zstd_level": ZSTD_LEVEL}


# --- vectors -----------------------------------------------------------------------------------

FILES = {}
DIRS = {}


def corrupt(damage, offset, deep_only=False, file=None):
    assert damage in ("size", "header", "padding", "chunk", "block", "footer", "trailer",
                      "manifest", "mismatch")
    out = {"expect": "corrupt", "damage": damage, "offset": offset}
    if file is not None:
        out["file"] = file
    if deep_only:
        out["deep_only"] = True
    return out


def good(rows, writer_settings):
    return {"expect": "ok", "rows": len(rows), "fingerprint": Fingerprint.of(rows).wire(),
            "writer": writer_settings}


def file_vector(name, description, data, outcome):
    assert name not in FILES, name
    assert name.startswith("good-") == (outcome["expect"] == "ok"), name
    FILES[name] = (dict(description=description, **outcome), bytes(data))


def flip(data, at, mask=0x01):
    out = bytearray(data)
    out[at] ^= mask
    return bytes(out)


def file_vectors():
    g = good_small()
    data = g.encode()
    assert len(g.blocks) >= 5, len(g.blocks)
    file_vector("good-small", "%d rows in %d blocks; attributes pk (S), sk (N), tag (B, absent in "
                "some rows: missing or of type S); key S(pk) then N(sk); default codecs (LZ4 key "
                "and typed chunks, zstd item chunk)" % (len(ROWS), len(g.blocks)), data,
                good(ROWS, writer(DEFAULT_CODECS, BLOCK_TARGET)))
    n = good_none()
    none = n.encode()
    file_vector("good-all-codecs-none", "the rows of good-small with every chunk stored "
                "uncompressed (codec 0)", none, good(ROWS, writer(NO_CODECS, BLOCK_TARGET)))
    one_row = [Row(key_s("only"), item_json({"pk": ("S", "only")}), [])]
    one = SnapFile(one_row, [], DEFAULT_CODECS, BLOCK_TARGET)
    file_vector("good-one-row", "the smallest kind of file: one block of one row, no attributes "
                "(attribute_count 0: key and item columns only)", one.encode(),
                good(one_row, writer(DEFAULT_CODECS, BLOCK_TARGET)))
    footer_offset, trailer_at = g.footer_offset, g.trailer_offset
    b0, b1 = g.blocks[0], g.blocks[1]

    # --- size -----------------------------------------------------------------------------
    file_vector("bad-file-short", "good-small's first 4159 bytes: shorter than the header slot "
                "and a trailer (4160); named at the length", data[:SMALLEST_FILE - 1],
                corrupt("size", SMALLEST_FILE - 1))
    file_vector("bad-truncated-at-footer", "good-small cut where the footer starts: its last 64 "
                "bytes, read as the trailer, are block padding; named at the trailer magic",
                data[:footer_offset], corrupt("trailer", footer_offset - TRAILER_BYTES + T_MAGIC))

    # --- header ---------------------------------------------------------------------------
    file_vector("bad-header-magic", "the first magic byte flipped; named at 0", flip(data, 0),
                corrupt("header", H_MAGIC))
    file_vector("bad-header-checksum", "an LSN byte flipped after the checksum was computed; "
                "named at the checksum", flip(data, H_LSN, 0x04), corrupt("header", H_CHECKSUM))

    def header_edit(**fields):
        f = good_small()
        f.header.update(fields)
        return f.encode()

    file_vector("bad-header-version-2", "format_version 2 (checksum valid): this reader knows "
                "version 1 only", header_edit(version=2), corrupt("header", H_VERSION))
    file_vector("bad-header-size", "header_bytes 65 (checksum valid)", header_edit(size=65),
                corrupt("header", H_SIZE))
    file_vector("bad-header-reserved", "reserved byte 7 of 16 set (checksum valid); named at that "
                "byte", header_edit(reserved=bytes(7) + b"\x01" + bytes(8)),
                corrupt("header", H_RESERVED + 7))
    file_vector("bad-header-padding", "a byte of the zero padding after the header set; named at "
                "that byte", flip(data, 100), corrupt("padding", 100))

    # --- trailer --------------------------------------------------------------------------
    file_vector("bad-trailer-magic", "the last magic byte flipped", flip(data, len(data) - 1),
                corrupt("trailer", trailer_at + T_MAGIC))
    file_vector("bad-trailer-checksum", "a row_count byte flipped after the checksum was "
                "computed; named at the checksum", flip(data, trailer_at + T_ROW_COUNT),
                corrupt("trailer", trailer_at + T_CHECKSUM))

    def trailer_edit(**fields):
        f = good_small()
        f.trailer.update(fields)
        return f, f.encode()

    f, d = trailer_edit(reserved=1 << 24)
    file_vector("bad-trailer-reserved", "reserved byte 3 of 8 set (checksum valid); named at that "
                "byte", d, corrupt("trailer", f.trailer_offset + T_RESERVED + 3))
    f, d = trailer_edit(footer_bytes=len(f.encode_footer()[0]) + 1)
    file_vector("bad-trailer-footer-bytes", "footer_bytes one more than the footer (checksum "
                "valid): the footer would end inside the trailer; the footer position is named at "
                "footer_offset", d, corrupt("trailer", f.trailer_offset + T_FOOTER_OFFSET))
    f = good_small()
    footer_bytes = len(f.encode_footer()[0])
    f.trailer.update(footer_offset=f.footer_offset + 8, footer_bytes=footer_bytes - 8)
    d = f.encode()
    file_vector("bad-trailer-footer-unaligned", "footer_offset 8 bytes past a multiple of 4096, "
                "footer_bytes 8 less (checksum valid): the footer still ends at the trailer",
                d, corrupt("trailer", f.trailer_offset + T_FOOTER_OFFSET))
    f, d = trailer_edit(block_count=0)
    file_vector("bad-trailer-block-count-zero", "block_count 0 (checksum valid): a file has at "
                "least one block", d, corrupt("trailer", f.trailer_offset + T_BLOCK_COUNT))

    # --- footer ---------------------------------------------------------------------------
    file_vector("bad-footer-checksum", "a footer byte flipped; named at the footer's first byte",
                flip(data, footer_offset + 5, 0x02), corrupt("footer", footer_offset))

    def footer_vector(name, description, edit, field):
        """good-small with `edit(file)` applied to the footer's fields; the footer checksum
        and the trailer recomputed. `field` is the footer field the reader names."""
        f = good_small()
        edit(f)
        d = f.encode()
        at = f.footer_fields[field] if not isinstance(field, int) else field
        file_vector(name, description + " (checksums valid)", d, corrupt("footer", at))

    footer_vector("bad-footer-block-order", "block 1's first key set to block 0's first key: not "
                  "above block 0's last key", lambda f: setattr(f.blocks[1], "first_key",
                                                                f.blocks[0].first_key),
                  ("first_key", 1))

    def first_after_last(f):
        b = f.blocks[2]
        b.first_key, b.last_key = b.last_key, b.first_key

    footer_vector("bad-footer-first-after-last", "block 2's first and last key swapped: first key "
                  "above last key", first_after_last, ("first_key", 2))

    def set_chunk(i, c, **fields):
        return lambda f: [setattr(f.blocks[i].chunks[c], k, v) for k, v in fields.items()]

    footer_vector("bad-footer-unknown-codec", "block 1's key chunk codec 3",
                  set_chunk(1, 0, codec=3), ("codec", 1, 0))
    footer_vector("bad-footer-chunk-raw-size-max", "block 1's item chunk raw_bytes 64 MiB + 1",
                  set_chunk(1, 4, raw_bytes=(64 << 20) + 1), ("stored_bytes", 1, 4))
    footer_vector("bad-footer-chunk-stored-zero", "block 1's item chunk stored_bytes 0",
                  set_chunk(1, 4, stored_bytes=0), ("stored_bytes", 1, 4))

    def set_type(a, value):
        return lambda f: f.attribute_types.__setitem__(a, value)

    footer_vector("bad-footer-unknown-type", "attribute 1 (sk) of type X (not S, N or B)",
                  set_type(1, b"X"), ("type", 1))
    footer_vector("bad-footer-empty-name", "attribute 2's name empty (length 0)",
                  lambda f: f.attribute_names.__setitem__(2, b""), ("name", 2))

    def zone_swap(f):
        zone = f.blocks[1].zones[0]
        assert zone[0] < zone[1]
        f.blocks[1].zones[0] = (zone[1], zone[0])

    footer_vector("bad-footer-zone-min-max", "block 1's zone map of pk with min and max swapped: "
                  "min > max", zone_swap, ("zone", 1, 0))
    footer_vector("bad-footer-zone-flag", "block 1's zone map flag of pk 2 (only 0 and 1 exist)",
                  lambda f: f.blocks[1].zone_flags.update({0: 2}), ("zone", 1, 0))

    def move_block(delta):
        def edit(f):
            f.blocks[1].written_at = f.blocks[1].offset  # the bytes stay; the footer says
            f.blocks[1].offset += delta
        return edit

    footer_vector("bad-footer-block-unaligned", "block 1's offset 1 past where it starts: not a "
                  "multiple of 4096", move_block(1), ("offset", 1))
    footer_vector("bad-footer-block-gap", "block 1's offset 4096 past where it starts: aligned, "
                  "but not at the aligned end of block 0", move_block(ALIGN), ("offset", 1))
    footer_vector("bad-footer-block-rows-zero", "block 1's row_count 0",
                  lambda f: setattr(f.blocks[1], "row_count", 0), ("row_count", 1))

    def trailing(f):
        f.footer_extra = b"\x00"

    footer_vector("bad-footer-trailing-bytes", "one zero byte after the footer's last field, in "
                  "footer_bytes", trailing, "end")

    def row_sum(f):
        f.trailer["row_count"] = len(ROWS) + 1

    footer_vector("bad-footer-row-count", "trailer row_count one more than the blocks' row counts "
                  "sum to; named at the footer's first byte", row_sum, footer_offset)

    def gap(f):
        f.footer_gap = ALIGN
        f.layout()

    footer_vector("bad-footer-not-after-last-block", "4096 zero bytes between the last block's "
                  "padding and the footer: the footer does not start at the aligned end of the "
                  "last block; named at the footer's first byte", gap, footer_offset + ALIGN)

    # --- chunks (stored bytes, checksums, decompression, values) ----------------------------
    file_vector("bad-chunk-checksum", "a byte of block 1's key chunk flipped; named at the "
                "chunk's first byte", flip(data, b1.offset + 3, 0x20),
                corrupt("chunk", b1.offset))

    def chunk_vector(name, description, base, edit, i, c, deep_only=True, damage="chunk"):
        f = base()
        edit(f)
        file_vector(name, description, f.encode(),
                    corrupt(damage, f.chunk_offset(i, c), deep_only=deep_only))

    def stored_plus_one(f):
        ch = f.blocks[1].chunks[4]
        ch.stored_bytes += 1
        assert f.blocks[1].end() < align(f.blocks[1].end() - 1), "the byte is block padding"

    chunk_vector("bad-chunk-stored-size", "block 1's item chunk stored_bytes one more in the "
                 "footer (footer checksums valid; the block still ends before its next 4 KiB): the "
                 "chunk's bytes then end in a padding byte and do not match its checksum",
                 good_small, stored_plus_one, 1, 4, deep_only=False)
    chunk_vector("bad-chunk-raw-size", "block 1's LZ4 key chunk raw_bytes one more in the footer "
                 "(footer checksums valid): it decompresses to one byte less; only decompression "
                 "finds it", good_small, set_chunk(1, 0, raw_bytes=b1.chunks[0].raw_bytes + 1),
                 1, 0)

    def zstd_damaged(f):
        ch = f.blocks[1].chunks[4]
        assert ch.codec == ZSTD and ch.stored[:4] == b"\x28\xb5\x2f\xfd"
        ch.restore(b"\x28\xb5\x2f\xfe" + ch.stored[4:])

    chunk_vector("bad-chunk-undecodable", "block 1's zstd item chunk with a wrong frame magic, "
                 "chunk checksum valid: it does not decompress", good_small, zstd_damaged, 1, 4)

    def raw_edit(i, c, edit):
        def apply(f):
            ch = f.blocks[i].chunks[c]
            assert ch.codec == NONE
            raw = bytearray(ch.stored)
            edit(raw)
            ch.restore(bytes(raw))
            ch.raw_bytes = len(raw)
            f.layout()  # the chunk may have changed size: the blocks after it move
        return apply

    def value_starts(raw):
        out, at = [], 0
        while at < len(raw):
            out.append(at)
            (length,) = struct.unpack_from("<I", raw, at)
            at += 4 + (0 if length == ABSENT else length)
        assert at == len(raw)
        return out

    def make_absent(raw):
        raw[0:4] = u32(ABSENT)

    chunk_vector("bad-absent-key", "uncompressed; block 1's first key length set to the absent "
                 "marker 0xFFFFFFFF (chunk checksum valid): a key is never absent", good_none,
                 raw_edit(1, 0, make_absent), 1, 0)
    chunk_vector("bad-absent-item", "uncompressed; block 1's first item length set to the absent "
                 "marker 0xFFFFFFFF (chunk checksum valid): an item is never absent", good_none,
                 raw_edit(1, 4, make_absent), 1, 4)

    def shorten_last(raw):
        at = value_starts(raw)[-1]
        (length,) = struct.unpack_from("<I", raw, at)
        raw[at:at + 4] = u32(length - 1)

    chunk_vector("bad-chunk-trailing-bytes", "uncompressed; block 1's last item length lowered by "
                 "1 (chunk checksum valid): a byte is left after the values", good_none,
                 raw_edit(1, 4, shorten_last), 1, 4)

    def drop_last_value(raw):
        del raw[value_starts(raw)[-1]:]

    chunk_vector("bad-chunk-values-short", "uncompressed; block 1's last item removed from its "
                 "chunk (sizes and checksum valid): the chunk holds one value fewer than the "
                 "block's rows", good_none, raw_edit(1, 4, drop_last_value), 1, 4)

    # --- padding ----------------------------------------------------------------------------
    file_vector("bad-block-padding", "block 0's first padding byte set; named at that byte",
                flip(data, b0.end(), 0x80), corrupt("padding", b0.end()))
    last = g.blocks[-1]
    file_vector("bad-block-padding-last", "a padding byte 100 bytes after the last block set; "
                "named at that byte", flip(data, last.end() + 100, 0x10),
                corrupt("padding", last.end() + 100))

    # --- blocks: decoded values against the block index and zone maps (deep only) ------------
    def block_vector(name, description, base, edit, i, c):
        chunk_vector(name, description + "; named at the chunk whose values break the rule",
                     base, edit, i, c, damage="block")

    def swap_keys(raw):
        starts = value_starts(raw)
        assert len(starts) >= 4
        values = []
        for s in starts:
            (length,) = struct.unpack_from("<I", raw, s)
            values.append(bytes(raw[s:s + 4 + length]))
        values[1], values[2] = values[2], values[1]
        raw[:] = b"".join(values)

    block_vector("bad-block-key-order", "uncompressed; block 1's second and third keys swapped "
                 "(chunk checksum valid; first and last key unchanged): keys not increasing",
                 good_none, raw_edit(1, 0, swap_keys), 1, 0)

    def first_key_lower(f):
        b0_, b1_ = f.blocks[0], f.blocks[1]
        b1_.first_key = b1_.first_key[:-1]  # a prefix sorts first: below the real first key
        assert b0_.last_key < b1_.first_key < b1_.rows[0].key

    block_vector("bad-block-first-key", "block 1's first key in the footer one byte shorter "
                 "(footer checksums valid, still above block 0's last key): not the block's "
                 "first key", good_small, first_key_lower, 1, 0)

    def last_key_higher(f):
        b1_, b2_ = f.blocks[1], f.blocks[2]
        b1_.last_key = b1_.last_key + b"\x00"
        assert b1_.rows[-1].key < b1_.last_key < b2_.first_key

    block_vector("bad-block-last-key", "block 1's last key in the footer with a 0x00 byte "
                 "appended (footer checksums valid, still below block 2's first key): not the "
                 "block's last key", good_small, last_key_higher, 1, 0)

    def zone_max_raised(f):
        lo, hi = f.blocks[0].zones[0]
        f.blocks[0].zones[0] = (lo, hi + b"\xff")

    block_vector("bad-zone-map", "block 0's zone map max of pk raised (footer checksums valid): "
                 "not the largest value", good_small, zone_max_raised, 0, 1)

    tag = 2  # the attribute absent from every row of block 0
    assert g.blocks[0].zones[tag] is None and any(z is not None for z in g.blocks[1].zones)

    def zone_says_present(f):
        f.blocks[0].zones[tag] = (key_b(b"\x01"), key_b(b"\x01"))

    block_vector("bad-zone-map-present", "block 0's zone map of tag (no row has a B tag) set "
                 "to min = max = B 01 (footer checksums valid): values absent where the zone map "
                 "says present", good_small, zone_says_present, 0, 1 + tag)

    assert g.blocks[1].zones[tag] is not None

    def zone_says_absent(f):
        f.blocks[1].zones[tag] = None

    block_vector("bad-zone-map-absent", "block 1's zone map of tag set to 0 (footer checksums "
                 "valid) while rows of the block have a B tag: values present where the zone map "
                 "says none", good_small, zone_says_absent, 1, 1 + tag)


# --- manifests ---------------------------------------------------------------------------------

MANIFEST = "snapshot.manifest"


def file_name(index):
    return "t-%06d.snap" % index


class Snapshot:
    """Files and their manifest entries; `manifest()` the manifest's bytes."""

    def __init__(self, rows, block_bytes_target, file_bytes_target, codecs=MANIFEST_CODECS,
                 lsn=LSN, base_lsn=None):
        self.lsn = lsn
        self.base_lsn = lsn if base_lsn is None else base_lsn
        self.table_id = TABLE_ID
        self.writer = writer(codecs, block_bytes_target, file_bytes_target)
        self.rows = rows
        # A file is finished once it reaches its size target, checked after each block; only
        # the targets 1 (a file per block) and 2^30 (one file) are used, which any reading of
        # "reaches" gives alike.
        assert file_bytes_target in (1, 1 << 30)
        blocks = cut_blocks(rows, ATTRIBUTES, block_bytes_target)
        groups = [b for b in blocks] if file_bytes_target == 1 else [sum(blocks, [])]
        self.files = {}
        self.entries = []
        for index, group in enumerate(groups):
            f = SnapFile(group, ATTRIBUTES, codecs, block_bytes_target, lsn=lsn)
            assert len(f.blocks) == (1 if file_bytes_target == 1 else len(blocks))
            data = f.encode()
            name = file_name(index)
            self.files[name] = data
            self.entries.append({
                "name": name,
                "size_bytes": len(data),
                "row_count": len(group),
                "first_key": group[0].key.hex(),
                "last_key": group[-1].key.hex(),
                "xxh3_128": "%032x" % xxh3_128(data),
                "footer_xxh3_64": "%016x" % f.footer_checksum(),
                "fingerprint": Fingerprint.of(group).wire(),
            })
        fingerprint = Fingerprint()
        for group in groups:
            fingerprint = fingerprint.combine(Fingerprint.of(group))
        self.totals = {"files": len(groups), "rows": len(rows),
                       "bytes": sum(len(d) for d in self.files.values()),
                       "fingerprint": fingerprint.wire()}

    def json_object(self):
        return {"format_version": 1, "table_id": self.table_id.hex(), "lsn": self.lsn,
                "base_lsn": self.base_lsn, "files": self.entries, "totals": self.totals}

    @staticmethod
    def line(obj):
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()

    @staticmethod
    def with_checksum(line: bytes):
        return line + b"\nxxh3-128 %032x\n" % xxh3_128(line)

    def manifest(self, obj=None):
        return self.with_checksum(self.line(self.json_object() if obj is None else obj))


def dir_vector(name, description, snap, outcome, manifest=None, files=None):
    assert name not in DIRS, name
    assert name.startswith("manifest-good") == (outcome["expect"] == "ok"), name
    files = dict(snap.files if files is None else files)
    files[MANIFEST] = snap.manifest() if manifest is None else manifest
    DIRS[name] = (dict(description=description, **outcome), files)


def good_dir(snap):
    out = {"expect": "ok", "rows": len(snap.rows),
           "fingerprint": Fingerprint.of(snap.rows).wire(), "writer": snap.writer}
    assert out["fingerprint"] == snap.totals["fingerprint"]
    return out


ONE = lambda: Snapshot(make_rows(5, first=30), 1 << 20, 1 << 30)  # noqa: E731
TWO_ROWS = make_rows(6, first=40)
# A block (and so a file) cut after the third row: the raw bytes of the first three rows.
TWO_BLOCK_TARGET = raw_size(TWO_ROWS[:3], ATTRIBUTES)
TWO = lambda **kw: Snapshot(TWO_ROWS, TWO_BLOCK_TARGET, 1, **kw)  # noqa: E731


def edited(snap, edit):
    """The manifest with `edit(json_object)` applied and a matching checksum."""
    obj = json.loads(json.dumps(snap.json_object()))
    edit(obj)
    return snap.manifest(obj)


def dir_vectors():
    s = ONE()
    dir_vector("manifest-good", "one file of 5 rows (one block) and its manifest; base_lsn = lsn "
               "(written directly)", s, good_dir(s))
    t = TWO(base_lsn=40)
    assert [e["row_count"] for e in t.entries] == [3, 3], t.entries
    dir_vector("manifest-good-two-files", "two files of 3 rows each, key ranges increasing; "
               "base_lsn 40 < lsn 42 (merged from the snapshot at 40 and the log after it)", t,
               good_dir(t))
    name0 = file_name(0)

    # --- the manifest's own rules: named in the manifest -------------------------------------
    m = bytearray(s.manifest())
    json_line_bytes = m.index(b"\n")
    digit = len(m) - 2
    m[digit] = ord("1") if m[digit] == ord("0") else ord("0")
    dir_vector("manifest-bad-checksum", "the checksum's last digit changed; named at its first "
               "digit", s, corrupt("manifest", json_line_bytes + 1 + len("xxh3-128 "),
                                   file=MANIFEST), manifest=bytes(m))

    def rule(name, description, edit, snap=None):
        snap = snap or ONE()
        dir_vector(name, description + " (checksum valid); named at 0", snap,
                   corrupt("manifest", 0, file=MANIFEST), manifest=edited(snap, edit))

    rule("manifest-bad-format-version", "format_version 2",
         lambda o: o.__setitem__("format_version", 2))
    rule("manifest-bad-base-lsn", "base_lsn 43 above lsn 42",
         lambda o: o.__setitem__("base_lsn", 43))

    def rename(new):
        return lambda o: o["files"][0].__setitem__("name", new)

    rule("manifest-bad-name-dotdot", "file name ../t-000000.snap (parent directory)",
         rename("../" + name0))
    rule("manifest-bad-name-slash", "file name sub/t-000000.snap (a path separator)",
         rename("sub/" + name0))
    rule("manifest-bad-totals", "totals.rows 6 for 5 rows",
         lambda o: o["totals"].__setitem__("rows", 6))

    def totals_hash(o):
        f = o["totals"]["fingerprint"]
        f["hash"] = "%032x" % ((int(f["hash"], 16) + 1) % (1 << 128))

    rule("manifest-bad-totals-fingerprint", "totals.fingerprint.hash one more than the files' "
         "fingerprints combined", totals_hash)

    def items(o):
        o["files"][0]["fingerprint"]["items"] += 1
        o["totals"]["fingerprint"]["items"] += 1

    rule("manifest-bad-fingerprint-items", "the file's fingerprint of 6 items for its 5 rows "
         "(totals.fingerprint agreeing)", items)

    def uppercase(o):
        assert o["table_id"] != o["table_id"].upper()
        o["table_id"] = o["table_id"].upper()

    rule("manifest-bad-uppercase-hex", "table_id in uppercase hex", uppercase)

    def overlap(o):
        o["files"][1]["first_key"] = o["files"][0]["first_key"]

    rule("manifest-bad-overlapping-keys", "two files; the second's first_key set to the first's, "
         "so the key ranges overlap", overlap, snap=TWO())

    s = ONE()
    line = s.line(s.json_object())
    line = b'{"extra":1,' + line[1:]
    dir_vector("manifest-bad-unknown-field", "an unknown field \"extra\" first in the JSON object "
               "(checksum valid); named at the closing quote of its name", s,
               corrupt("manifest", len('{"extra'), file=MANIFEST), manifest=s.with_checksum(line))

    # --- a file against its entry: mismatch, named in the file ---------------------------
    def mismatch(name, description, edit=None, files=None, offset=0, deep_only=False):
        snap = ONE()
        manifest = edited(snap, edit) if edit else None
        dir_vector(name, description, snap,
                   corrupt("mismatch", offset, deep_only=deep_only, file=name0),
                   manifest=manifest, files=files(snap) if files else None)

    def padding_byte(snap):
        data = bytearray(snap.files[name0])
        data[200] = 1
        return {name0: bytes(data)}

    mismatch("manifest-bad-file-hash", "a header padding byte of the listed file set: the "
             "whole-file hash differs; named at 0 of the file", files=padding_byte)
    mismatch("manifest-bad-lsn", "lsn 43 (checksum valid) while the file's header says 42; named "
             "at 0 of the file", lambda o: o.__setitem__("lsn", 43))
    mismatch("manifest-bad-table-id", "another table_id (checksum valid) than the file header's; "
             "named at 0 of the file",
             lambda o: o.__setitem__("table_id", b"another-table-id".hex()))

    def size_plus_one(o):
        o["files"][0]["size_bytes"] += 1
        o["totals"]["bytes"] += 1

    size = len(ONE().files[name0])
    mismatch("manifest-bad-file-size", "size_bytes one more than the file's (totals agreeing, "
             "checksum valid); named at the file's length, where the sizes stop agreeing",
             size_plus_one, offset=size)

    def last_key(o):
        o["files"][0]["last_key"] += "00"

    mismatch("manifest-bad-last-key", "the entry's last_key with a 00 byte appended (checksum "
             "valid): not the file's; named at 0 of the file", last_key)

    # Another valid file with the same size, rows, key range, table and LSN: one item's text
    # changed to another of the same length, uncompressed so the size stays. The entry's
    # whole-file hash is the new file's, so only footer_xxh3_64 disagrees.
    original = Snapshot(make_rows(5, first=30), 1 << 20, 1 << 30, codecs=NO_CODECS)
    rows = make_rows(5, first=30)
    rows[2] = Row(rows[2].key, rows[2].item.replace(b"value", b"VALUE"), rows[2].typed)
    assert rows[2].item != original.rows[2].item
    other = Snapshot(rows, 1 << 20, 1 << 30, codecs=NO_CODECS)
    assert other.entries[0]["size_bytes"] == original.entries[0]["size_bytes"]

    def new_hash(o):
        o["files"][0]["xxh3_128"] = other.entries[0]["xxh3_128"]

    dir_vector("manifest-bad-footer-checksum", "uncompressed; the file replaced by another valid "
               "file with the same size, rows, key range, table and LSN (one item's text "
               "differs), the entry's xxh3_128 the new file's (checksum valid): only "
               "footer_xxh3_64 disagrees; named at 0 of the file", original,
               corrupt("mismatch", 0, file=name0), manifest=edited(original, new_hash),
               files=other.files)

    def fingerprint_hash(o):
        for f in (o["files"][0]["fingerprint"], o["totals"]["fingerprint"]):
            f["hash"] = "%032x" % ((int(f["hash"], 16) + 1) % (1 << 128))

    mismatch("manifest-bad-fingerprint", "the file's fingerprint hash one more (totals agreeing, "
             "checksum valid): the manifest and file check out, only the rows' fingerprint, "
             "recomputed by deep verification, differs; named at 0 of the file",
             fingerprint_hash, deep_only=True)


def write_json(path, obj):
    path.write_text(json.dumps(obj, indent=1, ensure_ascii=False) + "\n")


def main():
    file_vectors()
    dir_vectors()
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        if old.is_dir() and old.name.startswith("manifest-"):
            shutil.rmtree(old)
        elif old.suffix in (".snap", ".json"):
            old.unlink()
    for name, (entry, data) in sorted(FILES.items()):
        (OUT / (name + ".snap")).write_bytes(data)
        write_json(OUT / (name + ".json"), entry)
    for name, (entry, files) in sorted(DIRS.items()):
        d = OUT / name
        d.mkdir()
        for file, data in files.items():
            (d / file).write_bytes(data)
        write_json(d / "vector.json", entry)
    print("%d file vectors, %d snapshot vectors in %s" % (len(FILES), len(DIRS), OUT))


if __name__ == "__main__":
    main()
