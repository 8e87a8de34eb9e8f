#!/usr/bin/python3
"""An independent Modbus slave for ledge's tests and benchmark, built on pymodbus (Debian's
python3-pymodbus, 3.0.x): pymodbus frames, decodes and executes every request against its own
datastore; this script only owns the I/O so that it can inject faults.

    /usr/bin/python3 slave.py [--tcp PORT] [--rtu TTY [--baud B]] [--units 1,2,3] [--quiet]
        [--sunspec UNIT:BASE,...] [--ident UNITS] [--line UNIT:BAUD:PARITY,...]

Serves Modbus TCP on 127.0.0.1:PORT and/or Modbus RTU on a serial device (e.g. one end of a socat
pty pair). Prints `ready {"tcp": PORT}` on stdout once listening, then reads commands on stdin, one
per line, and answers each with `ok ...` (or `error ...`):

    fault none|crc|silent|garbage|noise [UNITS]  faults for all units, or a comma list of units:
        crc      responses carry a wrong CRC (RTU); on TCP a wrong MBAP length
        silent   no response at all (device gone quiet, unit not answering)
        garbage  random bytes instead of the response
        noise    random bytes before and after a correct response (RTU line noise)
    delay MS                   answer every request MS milliseconds late (a slow device)
    remove / restore           TCP: stop listening and drop connections / listen again on the same
                               port; RTU: stop answering / answer again (the device was unplugged)
    set UNIT TABLE ADDR V...   set values (TABLE: coil, discrete_input, holding, input)
    get UNIT TABLE ADDR COUNT  prints `ok [values]`
    stats                      prints `ok {"requests": N, "by_unit": {...}, "by_fc": {...}}`
    reset_stats
    line BAUD PARITY           the settings the master uses now (a pty carries no speed): a unit
                               given other settings with --line does not answer, as on a real line

--sunspec UNIT:BASE gives the unit a SunSpec map at BASE (40000, 50000 or 0): "SunS", the common
model 1 (manufacturer "ledge", model "emulated-inverter", version "1.2.3", serial "SN-0042"), an
inverter model 103 and the end marker. --ident UNITS: those units answer function 43/14 (read
device identification); the others answer exception 1 (illegal function).

Register contents of unit U (zero-based addresses; see test/helpers/modbus-slave.ts):
    holding 0..299, input 0..99, coils 0..99, discrete inputs 0..99; addresses past those answer
    exception 2 (illegal data address). Units not in --units never answer.
"""
import argparse
import asyncio
import json
import os
import random
import struct
import sys
import termios
import tty

from pymodbus.datastore import (
    ModbusSequentialDataBlock,
    ModbusServerContext,
    ModbusSlaveContext,
    ModbusSparseDataBlock,
)
from pymodbus.device import ModbusControlBlock
from pymodbus.pdu import ExceptionResponse
from pymodbus.factory import ServerDecoder
from pymodbus.framer.rtu_framer import ModbusRtuFramer
from pymodbus.framer.socket_framer import ModbusSocketFramer

HOLDING_SIZE, INPUT_SIZE, BITS_SIZE = 300, 100, 100
TABLE_FX = {"coil": 1, "discrete_input": 2, "holding": 3, "input": 4}


def words(fmt, value):
    raw = struct.pack(">" + fmt, value)
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]


def text_words(text, n):
    raw = text.encode("latin1").ljust(n * 2, b"\0")[: n * 2]
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, n * 2, 2)]


def sunspec_map():
    """SunSpec: "SunS", common model 1 (66 registers), inverter model 103 (50), end marker."""
    common = text_words("ledge", 16) + text_words("emulated-inverter", 16) + text_words("", 8)
    common += text_words("1.2.3", 8) + text_words("SN-0042", 16) + [1, 0]
    inverter = [0] * 50
    inverter[12] = 2300  # W (scale factor at 13 = 0)
    return [0x5375, 0x6E53, 1, 66] + common + [103, 50] + inverter + [0xFFFF, 0]


def holding_for(unit):
    h = [0] * HOLDING_SIZE
    h[0] = 1000 + unit  # uint16
    h[1:2] = words("h", -2)  # int16
    h[2:4] = words("i", -100000)  # int32, big word order
    h[4:6] = words("f", 21.5)  # float32 ABCD
    h[6:8] = list(reversed(words("f", 21.5)))  # float32 CDAB (little word order)
    h[8:12] = words("d", 3.141592653589793)  # float64 ABCD
    h[12:14] = words("I", 3000000000)  # uint32
    h[14:16] = list(reversed(words("i", -100000)))  # int32 CDAB
    b = struct.pack(">f", -7.25)
    h[16:18] = [int.from_bytes(b[1::-1], "big"), int.from_bytes(b[3:1:-1], "big")]  # float32 BADC
    h[18:20] = list(reversed([int.from_bytes(b[1::-1], "big"), int.from_bytes(b[3:1:-1], "big")]))  # DCBA
    h[20] = 2315  # 23.15 with scale 0.01
    h[22:26] = words("q", -5000000000)  # int64
    h[26:30] = words("Q", 2**40 + 7)  # uint64
    h[30:38] = text_words("LEDGE-SN-0042", 8)  # string, 8 registers
    h[38] = 0b1010_0000_0000_1000  # bit fields: bit 3 set, bits 13..15 = 0b101
    h[100] = unit
    h[200] = 4242
    h[299] = 299
    return h


def context_for(unit, sunspec_base=None):
    holding = holding_for(unit)
    if sunspec_base is None:
        hr = ModbusSequentialDataBlock(0, holding)
    else:
        values = dict(enumerate(holding))
        values.update({sunspec_base + i: v for i, v in enumerate(sunspec_map())})
        hr = ModbusSparseDataBlock(values)
    return ModbusSlaveContext(
        hr=hr,
        ir=ModbusSequentialDataBlock(0, [i * 10 + unit for i in range(INPUT_SIZE)]),
        co=ModbusSequentialDataBlock(0, [i % 3 == 0 for i in range(BITS_SIZE)]),
        di=ModbusSequentialDataBlock(0, [i % 2 == 1 for i in range(BITS_SIZE)]),
        zero_mode=True,
    )


class Slave:
    def __init__(self, units, quiet, sunspec=None, ident=(), line=None):
        self.units = units
        sunspec = sunspec or {}
        self.context = ModbusServerContext(slaves={u: context_for(u, sunspec.get(u)) for u in units}, single=False)
        self.ident = set(ident)
        self.unit_line = line or {}  # unit -> (baud, parity) it is set to
        self.line = None  # (baud, parity) the master uses now
        identity = ModbusControlBlock().Identity
        identity.VendorName = "ledge test vendor"
        identity.ProductCode = "LT-43"
        identity.MajorMinorRevision = "4.2"
        self.decoder = ServerDecoder()
        self.faults = {}  # unit -> fault; None key = all units
        self.delay = 0.0
        self.removed = False
        self.quiet = quiet
        self.stats = {"requests": 0, "by_unit": {}, "by_fc": {}}
        self.tcp_port = None
        self.tcp_server = None
        self.tcp_writers = set()

    def fault_of(self, unit):
        return self.faults.get(unit, self.faults.get(None, "none"))

    def respond(self, request, framer, rtu):
        """The bytes to send for a decoded request (None: stay silent)."""
        unit = request.unit_id
        self.stats["requests"] += 1
        self.stats["by_unit"][str(unit)] = self.stats["by_unit"].get(str(unit), 0) + 1
        fc = str(request.function_code)
        self.stats["by_fc"][fc] = self.stats["by_fc"].get(fc, 0) + 1
        if unit not in self.units or self.removed:
            return None
        fault = self.fault_of(unit)
        if fault == "silent":
            return None
        wanted = self.unit_line.get(unit)
        if wanted is not None and self.line is not None and wanted != self.line:
            return None  # at other settings the unit sees framing errors and stays silent
        if request.function_code == 43 and unit not in self.ident:
            response = ExceptionResponse(43, 1)
        else:
            response = request.execute(self.context[unit])
        response.transaction_id = request.transaction_id
        response.unit_id = unit
        packet = framer.buildPacket(response)
        if fault == "crc":
            if rtu:
                packet = packet[:-2] + bytes([packet[-2] ^ 0xFF, packet[-1] ^ 0x5A])
            else:
                packet = packet[:4] + struct.pack(">H", len(packet) - 6 + 3) + packet[6:]
        elif fault == "garbage":
            packet = bytes(random.randrange(256) for _ in range(len(packet)))
        elif fault == "noise":
            noise = lambda n: bytes(random.choice([0x00, 0xFF, 0x55, 0xAA, 0x7E]) for _ in range(n))  # noqa: E731
            packet = noise(random.randint(1, 6)) + packet + noise(random.randint(0, 3))
        return packet

    # ---- TCP ---------------------------------------------------------------------------------
    async def start_tcp(self, port):
        self.tcp_port = port
        self.tcp_server = await asyncio.start_server(self.on_tcp, "127.0.0.1", port, reuse_address=True)

    async def on_tcp(self, reader, writer):
        self.tcp_writers.add(writer)
        framer = ModbusSocketFramer(self.decoder)
        try:
            while True:
                data = await reader.read(4096)
                if not data:
                    break
                requests = []
                framer.processIncomingPacket(data, requests.append, list(self.units) + [0] + list(range(1, 256)), single=False)
                for req in requests:
                    if self.delay:
                        await asyncio.sleep(self.delay)
                    out = self.respond(req, framer, rtu=False)
                    if out is not None and not writer.is_closing():
                        writer.write(out)
                        await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        except Exception as exc:  # a malformed request must not kill the slave
            self.log(f"tcp handler: {exc!r}")
        finally:
            self.tcp_writers.discard(writer)
            writer.close()

    async def remove_tcp(self):
        if self.tcp_server:
            self.tcp_server.close()
            for w in list(self.tcp_writers):
                w.transport.abort()
            await self.tcp_server.wait_closed()
            self.tcp_server = None

    # ---- RTU ---------------------------------------------------------------------------------
    def start_rtu(self, path, baud):
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(fd, termios.TCSANOW)
        if baud:  # a real port (a pty ignores the speed): 8N1 at the given baud rate
            attrs = termios.tcgetattr(fd)
            speed = getattr(termios, f"B{baud}")
            attrs[4] = attrs[5] = speed
            attrs[2] = (attrs[2] & ~(termios.PARENB | termios.CSTOPB | termios.CSIZE)) | termios.CS8 | termios.CLOCAL | termios.CREAD
            termios.tcsetattr(fd, termios.TCSANOW, attrs)
        framer = ModbusRtuFramer(self.decoder)
        loop = asyncio.get_running_loop()
        all_units = list(range(0, 248))

        def on_readable():
            try:
                data = os.read(fd, 4096)
            except BlockingIOError:
                return
            except OSError as exc:
                self.log(f"rtu read: {exc!r}")
                loop.remove_reader(fd)
                return
            requests = []
            try:
                framer.processIncomingPacket(data, requests.append, all_units, single=False)
            except Exception as exc:
                self.log(f"rtu frame: {exc!r}")
                framer.resetFrame()
            for req in requests:
                loop.create_task(self.answer_rtu(fd, req, framer))

        loop.add_reader(fd, on_readable)

    async def answer_rtu(self, fd, req, framer):
        if self.delay:
            await asyncio.sleep(self.delay)
        out = self.respond(req, framer, rtu=True)
        if out is not None:
            try:
                os.write(fd, out)
            except OSError as exc:
                self.log(f"rtu write: {exc!r}")

    # ---- control -----------------------------------------------------------------------------
    def log(self, msg):
        if not self.quiet:
            print(msg, file=sys.stderr, flush=True)

    async def command(self, line):
        parts = line.split()
        if not parts:
            return "ok"
        cmd, args = parts[0], parts[1:]
        if cmd == "fault":
            kind = args[0] if args else "none"
            if kind not in ("none", "crc", "silent", "garbage", "noise"):
                return f"error unknown fault {kind}"
            if len(args) > 1:
                for u in args[1].split(","):
                    self.faults[int(u)] = kind
            else:
                self.faults = {None: kind}
            return "ok"
        if cmd == "line":
            self.line = (int(args[0]), args[1])
            return "ok"
        if cmd == "delay":
            self.delay = float(args[0]) / 1000
            return "ok"
        if cmd == "remove":
            self.removed = True
            await self.remove_tcp()
            return "ok"
        if cmd == "restore":
            self.removed = False
            if self.tcp_port is not None and self.tcp_server is None:
                await self.start_tcp(self.tcp_port)
            return "ok"
        if cmd in ("set", "get"):
            unit, table, addr = int(args[0]), args[1], int(args[2])
            ctx = self.context[unit]
            if cmd == "set":
                vals = [int(v) for v in args[3:]]
                ctx.setValues(TABLE_FX[table], addr, [bool(v) for v in vals] if TABLE_FX[table] < 3 else vals)
                return "ok"
            return "ok " + json.dumps([int(v) for v in ctx.getValues(TABLE_FX[table], addr, int(args[3]))])
        if cmd == "stats":
            return "ok " + json.dumps(self.stats)
        if cmd == "reset_stats":
            self.stats = {"requests": 0, "by_unit": {}, "by_fc": {}}
            return "ok"
        return f"error unknown command {cmd}"


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tcp", type=int)
    ap.add_argument("--rtu")
    ap.add_argument("--baud", type=int)
    ap.add_argument("--units", default="1")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--sunspec", default="")
    ap.add_argument("--ident", default="")
    ap.add_argument("--line", default="")
    a = ap.parse_args()
    sunspec = {int(u): int(b) for u, b in (x.split(":") for x in a.sunspec.split(",") if x)}
    ident = [int(u) for u in a.ident.split(",") if u]
    line = {int(u): (int(b), p) for u, b, p in (x.split(":") for x in a.line.split(",") if x)}
    slave = Slave({int(u) for u in a.units.split(",")}, a.quiet, sunspec, ident, line)
    if a.tcp is not None:
        await slave.start_tcp(a.tcp)
    if a.rtu:
        slave.start_rtu(a.rtu, a.baud)
    print("ready " + json.dumps({"tcp": a.tcp, "rtu": a.rtu}), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:  # stdin closed: the test runner is gone, so are we
            break
        try:
            reply = await slave.command(line.decode().strip())
        except Exception as exc:
            reply = f"error {exc!r}"
        print(reply, flush=True)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
