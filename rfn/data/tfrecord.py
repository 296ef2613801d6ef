"""Read TFRecord files of ``tf.train.Example`` protos without TensorFlow.

The original BAIR release ships as TFRecord files. Their framing is simple
(TensorFlow's ``record_writer``): per record a little-endian ``uint64``
length, the masked CRC-32C of those 8 bytes, the payload, and the masked
CRC-32C of the payload. The payload is a serialised ``tf.train.Example``:
``Example{features: 1}``, ``Features{feature: map<string, Feature> = 1}``,
``Feature{bytes_list: 1 | float_list: 2 | int64_list: 3}``, each list holding
its values in field 1. Reading that much protobuf wire format takes a few
dozen lines, which spares users a multi-gigabyte TensorFlow install.

Input is untrusted: a record length is checked against what is left of the
file before anything is read (a crafted length of 2^45 with a valid checksum
allocates nothing), and a field of the wrong protobuf wire type, a truncated
message or an over-long varint raises :class:`TFRecordError`. The header CRC
of every record is checked, which catches truncated or misaligned files;
checking the payload CRC in pure Python would be slow, so it is only done
with ``verify_payload=True``.

Example:
    >>> _crc32c(b"123456789") == 0xE3069283  # the standard CRC-32C check value
    True
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np

__all__ = ["TFRecordError", "parse_example", "read_records"]


class TFRecordError(ValueError):
    """A TFRecord file or an Example inside it is malformed."""


def _make_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _make_table()


def _crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _masked_crc(data: bytes) -> int:
    crc = _crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_records(path: str | Path, verify_payload: bool = False) -> Iterator[bytes]:
    """Yield the payloads of a TFRecord file.

    Raises:
        TFRecordError: on a truncated record or a CRC mismatch (names the file and offset).
    """
    path = Path(path)
    with open(path, "rb") as f:
        offset = 0
        size = os.fstat(f.fileno()).st_size
        while True:
            header = f.read(12)
            if not header:
                return
            if len(header) < 12:
                raise TFRecordError(f"{path}: truncated TFRecord header at byte {offset} (file cut short?)")
            (length,) = struct.unpack("<Q", header[:8])
            (crc,) = struct.unpack("<I", header[8:])
            if crc != _masked_crc(header[:8]):
                raise TFRecordError(f"{path}: bad length checksum at byte {offset}; not a TFRecord file or corrupted")
            if length > size - offset - 16:  # never allocate more than the file can hold
                raise TFRecordError(
                    f"{path}: truncated record at byte {offset}: its header claims {length} payload bytes, only "
                    f"{max(size - offset - 16, 0)} remain in the file; the download or extraction was cut short, or "
                    f"the file is corrupted"
                )
            payload = f.read(length)
            footer = f.read(4)
            if len(payload) < length or len(footer) < 4:
                raise TFRecordError(
                    f"{path}: truncated record at byte {offset}: expected {length} payload bytes, "
                    f"got {len(payload)}; the download or extraction was cut short"
                )
            if verify_payload and struct.unpack("<I", footer)[0] != _masked_crc(payload):
                raise TFRecordError(f"{path}: bad payload checksum in the record at byte {offset}")
            offset += 16 + length
            yield payload


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(buf):
            raise TFRecordError("truncated varint in a protobuf message")
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            if value >= 1 << 64:
                raise TFRecordError("a protobuf varint above 2^64 (corrupted message)")
            return value, i
        shift += 7
        if shift > 63:
            raise TFRecordError("a protobuf varint longer than 10 bytes (corrupted message)")


def _fields(buf: bytes) -> Iterator[tuple[int, int, bytes | int]]:
    """(field number, wire type, value) of every field of one message."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i : i + 8], i + 8
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i : i + n], i + n
        elif wire == 5:
            value, i = buf[i : i + 4], i + 4
        else:
            raise TFRecordError(f"unsupported protobuf wire type {wire} in field {field}")
        if i > len(buf):
            raise TFRecordError("truncated protobuf message")
        yield field, wire, value


def _message(value: bytes | int, wire: int, what: str) -> bytes:
    """The bytes of a nested message or string field; a field of another wire type is an error."""
    if wire != 2 or not isinstance(value, bytes):
        raise TFRecordError(
            f"{what} has protobuf wire type {wire}, expected 2 (length-delimited); not a tf.train.Example"
        )
    return value


def _feature(buf: bytes) -> list[bytes] | np.ndarray:
    for kind, wire, payload in _fields(buf):
        if kind in (1, 2, 3):
            payload = _message(payload, wire, f"feature list (field {kind})")
        if kind == 1:  # BytesList
            return [_message(v, w, "a bytes_list value") for f, w, v in _fields(payload) if f == 1]
        if kind == 2:  # FloatList (packed or not)
            parts = [v for f, _, v in _fields(payload) if f == 1]
            data = b"".join(p if isinstance(p, bytes) else b"" for p in parts)
            if len(data) % 4:
                raise TFRecordError(f"a float_list of {len(data)} bytes, not a multiple of 4")
            return np.frombuffer(data, dtype="<f4").copy()
        if kind == 3:  # Int64List (packed varints or one varint per field)
            values: list[int] = []
            for f, wire, v in _fields(payload):
                if f != 1:
                    continue
                if wire == 0:
                    values.append(v)
                elif wire == 2:
                    j = 0
                    while j < len(v):
                        x, j = _varint(v, j)
                        values.append(x)
                else:
                    raise TFRecordError(f"an int64_list value has protobuf wire type {wire}")
            arr = np.array(values, dtype=np.uint64).astype(np.int64)  # two's complement
            return arr
    return []


def parse_example(payload: bytes) -> dict[str, list[bytes] | np.ndarray]:
    """Decode a serialised ``tf.train.Example`` into ``{key: values}``.

    ``bytes_list`` features become lists of ``bytes``; ``float_list`` and
    ``int64_list`` become numpy arrays.
    """
    out: dict[str, list[bytes] | np.ndarray] = {}
    for f, wire, features in _fields(payload):
        if f != 1:
            continue
        for g, wire_g, entry in _fields(_message(features, wire, "Example.features")):
            if g != 1:
                continue
            key, value = None, b""
            for h, wire_h, v in _fields(_message(entry, wire_g, "a feature map entry")):
                if h == 1:
                    try:
                        key = _message(v, wire_h, "a feature name").decode("utf-8")
                    except UnicodeDecodeError:
                        raise TFRecordError("a feature name is not UTF-8") from None
                elif h == 2:
                    value = _message(v, wire_h, "a Feature")
            if key is None:
                raise TFRecordError("feature map entry without a key")
            out[key] = _feature(value)
    return out
