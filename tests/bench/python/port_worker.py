# A Python worker behind an Erlang Port ({:packet, 4} frames): the isolated
# alternative the in-process bridge is measured against. Each request is one op byte
# and a payload; each reply is a payload.
import struct
import sys
import time

arrays = {}

read = sys.stdin.buffer.read
write = sys.stdout.buffer.write
flush = sys.stdout.buffer.flush


def reply(data):
    write(struct.pack(">I", len(data)) + data)
    flush()


while True:
    header = read(4)
    if len(header) < 4:
        break
    (size,) = struct.unpack(">I", header)
    frame = read(size)
    op, payload = frame[0], frame[1:]
    if op == 1:  # eval code, reply str(result)
        reply(str(eval(payload.decode())).encode())
    elif op == 2:  # sum a list of int64
        xs = list(struct.unpack("<%dq" % (len(payload) // 8), payload))
        reply(str(sum(xs)).encode())
    elif op == 3:  # list of int64 in and out
        xs = list(struct.unpack("<%dq" % (len(payload) // 8), payload))
        reply(struct.pack("<%dq" % len(xs), *xs))
    elif op == 4:  # dict of str -> int in and out ("k\tv\n" lines)
        d = {}
        for line in payload.decode().splitlines():
            k, v = line.split("\t")
            d[k] = int(v)
        reply("".join("%s\t%d\n" % (k, v) for k, v in d.items()).encode())
    elif op == 5:  # bytes in and out
        reply(bytes(payload))
    elif op == 6:  # sleep
        time.sleep(0.05)
        reply(b"ok")
    elif op == 7:  # the bytes of a numpy float64 array of n elements (made once)
        n = int(payload)
        if n not in arrays:
            import numpy

            arrays[n] = numpy.ones(n)
        reply(arrays[n].tobytes())
