"""Decodes ledge batch frames with Debian's python3-cbor2, independently of cbor-x, and prints the
records as JSON lines: {"entity","type","series","value","tsMs"}. Non-finite values and -0 are
written as strings ("NaN", "Infinity", "-Infinity", "-0") so JSON can carry them exactly.
Usage: /usr/bin/python3 batch-cbor2.py FILE   (a frame, or frames back to back)"""
import io
import json
import math
import struct
import sys
import zlib

import cbor2


def sequence(item, count):
    """The numbers of an encoded CBOR sequence (tag 63), each decoded by cbor2 itself."""
    assert item.tag == 63, "tag 63"
    stream = io.BytesIO(item.value)
    out = [cbor2.load(stream) for _ in range(count)]
    assert stream.tell() == len(item.value), "sequence length"
    return out


def sequence_all(item):
    assert item.tag == 63, "tag 63"
    stream = io.BytesIO(item.value)
    out = []
    while stream.tell() < len(item.value):
        out.append(cbor2.load(stream))
    return out


def channel_column(item, count):
    if isinstance(item, bytes):
        assert len(item) == count
        return list(item)
    assert item.tag == 69 and len(item.value) == 2 * count
    return [v[0] for v in struct.iter_unpack("<H", item.value)]


def exact(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    if v == 0 and math.copysign(1.0, v) < 0:
        return "-0"
    return v


def records(frame):
    version, entities, types, series, channels, count, ch, times, values, _crc = frame
    assert version == 1, "version"
    channels = sequence_all(channels)
    ch = channel_column(ch, count)
    times = sequence(times, count)
    values = sequence(values, count)
    prev = {}
    t = 0
    for i in range(count):
        c = ch[i]
        entity, typ, name, scale = channels[4 * c : 4 * c + 4]
        # An integer is a delta from the previous timestamp, a float an absolute one.
        t = t + times[i] if isinstance(times[i], int) else times[i]
        if scale == -1:
            assert isinstance(values[i], float)
            v = values[i]
        else:
            assert isinstance(values[i], int)
            prev[c] = prev.get(c, 0) + values[i]
            v = prev[c] / 10**scale
        yield {
            "entity": entities[entity],
            "type": types[typ],
            "series": series[name],
            "value": exact(float(v)),
            "tsMs": t,
        }


def main():
    data = open(sys.argv[1], "rb").read()
    stream = io.BytesIO(data)
    while stream.tell() < len(data):
        start = stream.tell()
        frame = cbor2.load(stream)
        end = stream.tell()
        # The last item: 0x1a + CRC-32 (zlib's) of every byte of the frame before it.
        assert data[end - 5] == 0x1A and frame[-1] == zlib.crc32(data[start : end - 5]), "crc"
        for r in records(frame):
            print(json.dumps(r, ensure_ascii=False, allow_nan=False))


main()
