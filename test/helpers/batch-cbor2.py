"""Decodes ledge batch frames with Debian's python3-cbor2, independently of cbor-x, and prints the
records as JSON lines: {"entity","type","series","value","tsMs"}. Non-finite values and -0 are
written as strings ("NaN", "Infinity", "-Infinity", "-0") so JSON can carry them exactly.
Usage: /usr/bin/python3 batch-cbor2.py FILE   (a frame, or frames back to back)"""
import io
import json
import math
import struct
import sys

import cbor2

FORMATS = {64: "B", 69: "<H", 72: "b", 77: "<h", 78: "<i", 85: "<f", 86: "<d"}


def column(item, count):
    if isinstance(item, bytes):
        tag, data = 64, item
    else:
        tag, data = item.tag, item.value
    fmt = FORMATS[tag]
    size = struct.calcsize(fmt)
    assert len(data) == size * count, "column length"
    return [v[0] for v in struct.iter_unpack(fmt, data)], tag


def exact(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    if v == 0 and math.copysign(1.0, v) < 0:
        return "-0"
    return v


def records(frame):
    version, entities, types, series, channels, count, ch, t0, dt, scale, values = frame
    assert version == 1, "version"
    ch, _ = column(ch, count)
    dt, dt_tag = column(dt, count)
    values, _ = column(values, count)
    t = t0
    for i in range(count):
        t = dt[i] if dt_tag == 86 else t + dt[i]
        c = ch[i]
        v = values[i] if scale == -1 else values[i] / 10**scale
        yield {
            "entity": entities[channels[3 * c]],
            "type": types[channels[3 * c + 1]],
            "series": series[channels[3 * c + 2]],
            "value": exact(float(v)),
            "tsMs": t,
        }


def main():
    data = open(sys.argv[1], "rb").read()
    stream = io.BytesIO(data)
    while stream.tell() < len(data):
        for r in records(cbor2.load(stream)):
            print(json.dumps(r, ensure_ascii=False, allow_nan=False))


main()
