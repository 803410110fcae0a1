# SPDX-License-Identifier: LGPL-2.1-or-later
"""`pvshm serve` and `pvshm mirror` as separate processes over SRT on 127.0.0.1: a videotestsrc
producer through pvshmsink, the sender, one or more receivers, and readers of the mirrored ids
through the Python module. Every connection stays on the loopback interface, except in the tests
of two hosts: there the sender and the receiver run in two network namespaces the test creates,
joined by a veth pair (root only), which it removes afterwards.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import struct
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

from conftest import pipeline_env, segment_path, unique_id

# Generous: the machine's two cores are shared with other tests and builds.
WAIT = 30.0
# libsrt's connection timeout (3 s) plus start-up.
CONNECT_FAILS_WITHIN = 20.0
PASSPHRASE = "correct horse battery"


def free_udp_port():
    """A UDP port nobody uses now (SRT runs over UDP)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def srt_env(cli_path, tmp_path_factory):
    """The environment of every process here: the built plugin and a registry of our own."""
    return pipeline_env(cli_path, tmp_path_factory.mktemp("gst"), ("pvshmpay", "srtsink"))


@pytest.fixture(scope="session")
def pvshm_module():
    return pytest.importorskip("pvshm", reason="the pvshm Python module is not on the path")


def passphrase_file(directory, text=PASSPHRASE, name="passphrase"):
    path = directory / name
    path.write_text(text + "\n")
    path.chmod(0o600)
    return path


class Hosts:
    """Where the sender and the receiver run: this host's loopback, or two network namespaces
    joined by a veth pair, each namespace standing for a host (same shared memory, other
    network). `address` is the sender's."""

    def __init__(self):
        self.sender = self.receiver = None
        self.address = "127.0.0.1"

    def wrap(self, namespace, argv):
        return ["ip", "netns", "exec", namespace, *argv] if namespace else argv

    @classmethod
    def two_namespaces(cls):
        """Creates them, or skips the test where it cannot (not root, no ip, no netns)."""
        if os.geteuid() != 0 or not shutil.which("ip"):
            pytest.skip("network namespaces need root and iproute2")
        hosts = cls()
        tag = str(os.getpid())
        hosts.sender, hosts.receiver = f"pvshm-srt-a-{tag}", f"pvshm-srt-b-{tag}"
        hosts.address = "10.231.0.1"
        veth = (f"pvsa{tag}"[:15], f"pvsb{tag}"[:15])
        steps = [
            ["netns", "add", hosts.sender],
            ["netns", "add", hosts.receiver],
            ["link", "add", veth[0], "type", "veth", "peer", "name", veth[1]],
            ["link", "set", veth[0], "netns", hosts.sender],
            ["link", "set", veth[1], "netns", hosts.receiver],
            ["-n", hosts.sender, "addr", "add", f"{hosts.address}/30", "dev", veth[0]],
            ["-n", hosts.receiver, "addr", "add", "10.231.0.2/30", "dev", veth[1]],
            ["-n", hosts.sender, "link", "set", veth[0], "up"],
            ["-n", hosts.receiver, "link", "set", veth[1], "up"],
        ]
        for step in steps:
            result = subprocess.run(["ip", *step], capture_output=True, text=True, timeout=WAIT)
            if result.returncode != 0:
                hosts.remove()
                pytest.skip(f"ip {' '.join(step)}: {result.stderr.strip()}")
        return hosts

    def remove(self):
        """Deleting a namespace deletes the veth end in it, and with it its peer."""
        for namespace in (self.sender, self.receiver):
            if namespace:
                subprocess.run(["ip", "netns", "delete", namespace], capture_output=True,
                               timeout=WAIT)


@pytest.fixture(params=["loopback", "two-namespaces"])
def hosts(request):
    chosen = Hosts.two_namespaces() if request.param == "two-namespaces" else Hosts()
    yield chosen
    chosen.remove()


class Link:
    """The processes of one test and the ids they write; at the end the processes are killed
    first (a live writer would create its segment again), then the ids cleared. The sender and
    the receivers run on `hosts` (default: this host's loopback)."""

    def __init__(self, request, cli_path, env, spawn):
        self.cli = cli_path
        self.env = env
        self._spawn = spawn
        self._name = re.sub(r"[^A-Za-z0-9._-]", "_", request.node.name)
        self.ids = []
        self.children = []
        self.hosts = Hosts()

    def id(self, role):
        shared_mem_id = unique_id("srt", self._name, role, os.getpid())
        self.ids.append(shared_mem_id)
        return shared_mem_id

    def start(self, argv):
        child = self._spawn(argv, self.env, stderr=subprocess.STDOUT)
        self.children.append(child)
        return child

    def producer(self, shared_mem_id, camera_id="cam-A"):
        return self.start([
            "gst-launch-1.0", "-q", "videotestsrc", "is-live=true", "pattern=ball", "!",
            "video/x-raw,format=I420,width=160,height=120,framerate=30/1", "!",
            "pvshmsink", f"shared-mem-id={shared_mem_id}", f"camera-id={camera_id}",
        ])

    def serve(self, shared_mem_id, port, *args):
        address = f"srt://{self.hosts.address}:{port}"
        argv = [self.cli, "serve", shared_mem_id, address, *map(str, args)]
        child = self.start(self.hosts.wrap(self.hosts.sender, argv))
        wait_for_line(child, "serving ")
        return child

    def mirror(self, port, shared_mem_id, *args):
        address = f"srt://{self.hosts.address}:{port}"
        argv = [self.cli, "mirror", address, shared_mem_id, *map(str, args)]
        return self.start(self.hosts.wrap(self.hosts.receiver, argv))

    def stop(self):
        for child in self.children:
            child.kill()


@pytest.fixture
def link(request, cli_path, srt_env, spawn, pvshm):
    started = Link(request, cli_path, srt_env, spawn)
    yield started
    started.stop()
    for shared_mem_id in started.ids:
        pvshm("clear", "--force", shared_mem_id)
        assert not segment_path(shared_mem_id).exists()


def wait_for_line(child, text, timeout=WAIT):
    """The first line of the child's output that contains `text`; the lines before it are read
    (and shown when the child ends or falls silent first)."""
    deadline = time.monotonic() + timeout
    before = []
    while True:
        try:
            line = child.read_line(max(deadline - time.monotonic(), 0.01))
        except pytest.fail.Exception as failure:
            pytest.fail(f"{failure}; it printed: {before}")
        if text in line:
            return line
        before.append(line)


def wait_for_exit(child, timeout=WAIT):
    """The child's exit status and everything it printed until it exited."""
    deadline = time.monotonic() + timeout
    lines = []
    while True:
        try:
            lines.append(child.read_line(max(deadline - time.monotonic(), 0.01)))
        except pytest.fail.Exception:
            # read_line fails at the end of the output: the process has ended.
            break
    return child.process.wait(max(deadline - time.monotonic(), 0.01)), "\n".join(lines)


def view_bytes(view):
    """The pixels of a view; planar formats come as one array per plane."""
    planes = view if isinstance(view, tuple) else (view,)
    return b"".join(plane.tobytes() for plane in planes)


def newest(reader, predicate=lambda info: True, timeout=WAIT):
    """The payload and facts (Reader.view's info: the metadata and the user metadata) of the
    first frame from now on for which predicate holds."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0 and reader.wait(remaining), "no such frame arrived"
        taken = reader.view(with_info=True)
        if taken is not None and predicate(taken[1]):
            return view_bytes(taken[0]), taken[1]
        del taken


def caps_fields(caps):
    return set(caps.split(", "))


@pytest.fixture
def relayed(link, hosts, pvshm_module, tmp_path):
    """producer -> A, serve A, mirror into B, on this host's loopback and between two network
    namespaces; the producer stops and its last frame reaches B. Returns (A's last frame, B's
    copy of it), each as (payload, metadata)."""
    link.hosts = hosts
    key = passphrase_file(tmp_path)
    sent = link.id("a")
    mirrored = link.id("b")
    port = free_udp_port()
    producer = link.producer(sent)
    serve = link.serve(sent, port, "--passphrase-file", key)
    mirror = link.mirror(port, mirrored, "--passphrase-file", key)
    wait_for_line(mirror, "receiving from")
    reader = pvshm_module.Reader(mirrored)
    newest(reader)  # frames flow
    producer.kill()
    last_sent = pvshm_module.Reader(sent)
    assert last_sent.wait(WAIT)
    sent_frame = (view_bytes(last_sent.view()), dict(last_sent.metadata))
    received = newest(reader, lambda m: m["timestamp_ns"] == sent_frame[1]["timestamp_ns"])
    # The status lines say what moves.
    assert "receiver(s)" in wait_for_line(serve, "frames/s")
    assert "Mbit/s" in wait_for_line(mirror, "drops")
    return sent_frame, received


def test_mirror_stores_the_producers_frames_with_their_facts(relayed):
    (sent_pixels, sent), (received_pixels, received) = relayed
    assert received_pixels == sent_pixels
    assert (received["format"], received["width"], received["height"]) == ("I420", 160, 120)
    assert received["camera_id"] == sent["camera_id"] == "cam-A"
    assert received["timestamp_ns"] == sent["timestamp_ns"]
    # The caps are the producer's, with the colorimetry they imply written out.
    assert caps_fields(sent["caps"]) <= caps_fields(received["caps"])
    assert "colorimetry=(string)bt601" in received["caps"]


def test_mirror_readers_see_the_senders_sequence_numbers(relayed):
    (_, sent), (_, received) = relayed
    assert received["sequence"] == sent["sequence"]


def test_mirror_perms_gives_the_mirrored_id_its_mode(link, pvshm_module, tmp_path):
    # A mirror run as a service's user writes ids that readers of other users must read.
    key = passphrase_file(tmp_path)
    sent, mirrored, port = link.id("a"), link.id("b"), free_udp_port()
    link.producer(sent)
    link.serve(sent, port, "--passphrase-file", key)
    mirror = link.mirror(port, mirrored, "--passphrase-file", key, "--perms", "0640")
    wait_for_line(mirror, "receiving from")
    newest(pvshm_module.Reader(mirrored))
    assert segment_path(mirrored).stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("perms", ["640", "01000", "rw"])
def test_a_mirror_perms_that_is_no_mode_is_refused(pvshm, srt_env, perms):
    # 640 without its leading zero is decimal 640, which is 01200: no mode.
    result = pvshm("mirror", "srt://127.0.0.1:7001", "perms-refused", "--insecure", "--perms",
                   perms, env=srt_env)
    assert result.returncode != 0 and "--perms" in result.stderr, result


def test_an_algorithm_on_the_receiving_host_reads_the_frames_with_the_seed_function(
    relayed, link, pvshm_module
):
    """The frame videotestsrc ! pvshmsink wrote last on the sending host, the seed function reads
    on the receiving one, pixel for pixel."""
    sent, mirrored = link.ids
    meta = {"width": 160, "height": 120}
    on_sender = pvshm_module.read_image_from_shared_memory(sent, meta)
    on_receiver = pvshm_module.read_image_from_shared_memory(mirrored, meta)
    assert on_receiver.shape == (120, 160, 3) and on_receiver.any()
    assert (on_receiver == on_sender).all()


# Producers that take the sent id one after the other, each ending after a few frames: every
# raw format pvshmsink takes, odd sizes (rows and planes padded in GStreamer's layout), Bayer,
# JPEG and PNG. (caps, what comes before them, pvshmsink's extra properties)
PRODUCED_FORMATS = [
    (f"video/x-raw,format={name},width=161,height=121,framerate=30/1", "", "")
    for name in ("GRAY8", "RGB", "BGR", "RGBA", "BGRx", "NV12", "I420", "YUY2", "UYVY")
] + [
    ("video/x-raw,format=GRAY16_LE,width=161,height=121,framerate=30/1", "", "bit-depth=12"),
    ("video/x-bayer,format=rggb,width=160,height=120,framerate=30/1",
     "video/x-raw,format=ARGB,width=160,height=120,framerate=30/1 ! rgb2bayer", ""),
    ("image/jpeg,width=160,height=120,framerate=30/1",
     "video/x-raw,format=I420,width=160,height=120,framerate=30/1 ! jpegenc", ""),
    ("image/png,width=160,height=120,framerate=30/1",
     "video/x-raw,format=RGB,width=160,height=120,framerate=30/1 ! pngenc", ""),
]


def produce(link, shared_mem_id, caps, before, properties):
    """Runs a producer of 3 frames into the id until it ends."""
    argv = ["gst-launch-1.0", "-q", "videotestsrc", "num-buffers=3", "pattern=ball", "!"]
    argv += before.split() + (["!"] if before else [])
    argv += [caps, "!", "pvshmsink", f"shared-mem-id={shared_mem_id}", "camera-id=cam-F"]
    argv += properties.split()
    status, output = wait_for_exit(link.start(argv))
    assert status == 0, f"{caps}: {output}"


def test_mirror_keeps_every_format_and_its_facts(link, pvshm_module, tmp_path):
    """Every format, one producer after another on one link (so the caps change under serve and
    mirror), and last a Python writer's 12-bit frames with user metadata: on the receiving host
    the same bytes, caps, camera id, capture time, sequence number, bit depth and metadata."""
    key = passphrase_file(tmp_path)
    sent = link.id("a")
    mirrored = link.id("b")
    port = free_udp_port()
    serve = link.serve(sent, port, "--passphrase-file", key)
    link.mirror(port, mirrored, "--passphrase-file", key)
    # Connected before the first frame: srtsink sends a frame to the receivers it has.
    wait_for_line(serve, "1 receiver(s)")
    receiver = pvshm_module.Reader(mirrored)

    def check_relayed(what):
        view, facts = pvshm_module.Reader(sent).view(with_info=True)
        pixels = view_bytes(view)
        del view
        received, mirrored_facts = newest(
            receiver, lambda info: info["timestamp_ns"] == facts["timestamp_ns"])
        assert received == pixels, what
        for fact in ("format", "width", "height", "camera_id", "sequence", "bit_depth",
                     "metadata"):
            assert mirrored_facts[fact] == facts[fact], (what, fact)
        # A Python writer's frames have no caps: pvshmsrc states them.
        if facts["caps"]:
            assert caps_fields(facts["caps"]) <= caps_fields(mirrored_facts["caps"]), what
        return mirrored_facts

    for produced in PRODUCED_FORMATS:
        produce(link, sent, *produced)
        facts = check_relayed(produced[0])
        if "GRAY16_LE" in produced[0]:
            assert facts["bit_depth"] == 12

    metadata = {"lot": "L9", "n": 3, "gain": 1.5}
    with pvshm_module.Writer(sent, camera_id="cam-P", bit_depth=12) as writer:
        writer.write(np.arange(12 * 10, dtype=np.uint16).reshape(10, 12), metadata=metadata)
    facts = check_relayed("a Python writer's GRAY16_LE frame")
    assert (facts["format"], facts["bit_depth"], facts["camera_id"]) == ("GRAY16_LE", 12, "cam-P")
    assert facts["metadata"] == metadata


def test_several_receivers_mirror_one_id(link, pvshm_module, tmp_path):
    key = passphrase_file(tmp_path)
    sent = link.id("a")
    port = free_udp_port()
    link.producer(sent)
    serve = link.serve(sent, port, "--passphrase-file", key)
    mirrored = [link.id(f"b{n}") for n in range(2)]
    # One after the other: srtsink's listener takes one connection at a time (backlog 1), so
    # two callers in the same instant may see one refused.
    for each in mirrored:
        wait_for_line(link.mirror(port, each, "--passphrase-file", key), "receiving from")
    wait_for_line(serve, "2 receiver(s)")
    for shared_mem_id in mirrored:
        _, metadata = newest(pvshm_module.Reader(shared_mem_id))
        assert metadata["camera_id"] == "cam-A"


def test_receiver_recovers_when_the_sender_restarts(link, pvshm_module, tmp_path):
    key = passphrase_file(tmp_path)
    sent = link.id("a")
    mirrored = link.id("b")
    port = free_udp_port()
    link.producer(sent)
    serve = link.serve(sent, port, "--passphrase-file", key)
    mirror = link.mirror(port, mirrored, "--passphrase-file", key, "--retry")
    wait_for_line(mirror, "receiving from")
    reader = pvshm_module.Reader(mirrored)
    newest(reader)
    serve.kill()
    killed_at = time.time_ns()
    link.serve(sent, port, "--passphrase-file", key)
    # Only the second sender can have sent a frame captured after the first one died.
    _, metadata = newest(reader, lambda m: m["timestamp_ns"] > killed_at, timeout=60)
    assert metadata["camera_id"] == "cam-A"
    assert mirror.process.poll() is None


def wait_for_liveness(reader, alive, timeout=WAIT):
    """Seconds until the reader's writer_alive is `alive` (looked at every 50 ms)."""
    started = time.monotonic()
    while reader.writer_alive != alive:
        assert time.monotonic() - started < timeout, f"writer_alive stayed {not alive}"
        time.sleep(0.05)
    return time.monotonic() - started


def test_readers_of_a_mirrored_id_see_the_sender_die_and_come_back(link, pvshm_module, tmp_path,
                                                                   pvshm):
    """writer_alive of the mirrored id follows the sender (it stayed true 5-16 s after the
    sender was killed, the mirror being alive): false soon after serve is killed, true again when
    a new serve sends; `pvshm info` says where the id is mirrored from. The contract's bound is
    2 s; the test allows more for a loaded machine and prints the time."""
    key = passphrase_file(tmp_path)
    sent = link.id("a")
    mirrored = link.id("b")
    port = free_udp_port()
    link.producer(sent)
    serve = link.serve(sent, port, "--passphrase-file", key)
    link.mirror(port, mirrored, "--passphrase-file", key, "--retry")
    reader = pvshm_module.Reader(mirrored)
    newest(reader)
    wait_for_liveness(reader, True)
    info = json.loads(pvshm("info", mirrored, "--json").stdout)
    assert info["mirrored_from"] == f"srt://127.0.0.1:{port}", info
    serve.kill()
    print(f"seen dead {wait_for_liveness(reader, False, 10):.2f} s after the sender was killed")
    link.serve(sent, port, "--passphrase-file", key)
    wait_for_liveness(reader, True, 60)


def test_readers_of_a_mirrored_id_see_the_link_go_down_and_up(link, pvshm_module, tmp_path):
    """Two network namespaces joined by a veth pair: with the sender's end of the link down,
    readers of the mirrored id see no live writer; with it up again, a live one."""
    link.hosts = Hosts.two_namespaces()
    try:
        sent = link.id("a")
        mirrored = link.id("b")
        port = free_udp_port()
        link.producer(sent)
        link.serve(sent, port, "--insecure")
        link.mirror(port, mirrored, "--insecure", "--retry")
        reader = pvshm_module.Reader(mirrored)
        newest(reader)
        wait_for_liveness(reader, True)
        veth = f"pvsa{os.getpid()}"[:15]
        subprocess.run(["ip", "-n", link.hosts.sender, "link", "set", veth, "down"], check=True,
                       timeout=WAIT)
        print(f"seen dead {wait_for_liveness(reader, False, 10):.2f} s after the link went down")
        subprocess.run(["ip", "-n", link.hosts.sender, "link", "set", veth, "up"], check=True,
                       timeout=WAIT)
        wait_for_liveness(reader, True, 60)
    finally:
        link.stop()
        link.hosts.remove()


def test_mirror_without_retry_exits_1_when_the_sender_goes(link, pvshm_module, tmp_path):
    key = passphrase_file(tmp_path)
    sent = link.id("a")
    port = free_udp_port()
    link.producer(sent)
    serve = link.serve(sent, port, "--passphrase-file", key)
    mirror = link.mirror(port, link.id("b"), "--passphrase-file", key)
    wait_for_line(mirror, "receiving from")
    serve.kill()
    status, output = wait_for_exit(mirror, timeout=60)
    assert status == 1, output
    # Once an unexplained "Could not read from resource.: Error on SRT socket: Socket is being
    # closed".
    last = output.splitlines()[-1]
    assert re.fullmatch(
        rf"pvshm mirror: error: the connection to srt://127\.0\.0\.1:{port} was lost: the sender "
        r"stopped, or the network between the two hosts failed \(SRT: [A-Za-z ]+\) "
        r"\(--retry keeps trying\)", last), output


@pytest.mark.parametrize("retry", [False, True])
def test_a_wrong_passphrase_is_refused(link, tmp_path, retry):
    sent = link.id("a")
    port = free_udp_port()
    link.producer(sent)
    serve = link.serve(sent, port, "--passphrase-file", passphrase_file(tmp_path))
    wrong = passphrase_file(tmp_path, "another passphrase", "wrong")
    retrying = ["--retry"] if retry else []
    mirror = link.mirror(port, link.id("b"), "--passphrase-file", wrong, *retrying)
    status, output = wait_for_exit(mirror, CONNECT_FAILS_WITHIN)
    assert status == 1, output
    assert output.splitlines()[-1] == (f"pvshm mirror: error: the sender at srt://127.0.0.1:{port} "
                                       "refused the passphrase: both ends need the same"), output
    # The sender says so too (it once said nothing).
    wait_for_line(serve, "pvshm serve: refused a receiver whose passphrase is not this one")


def test_an_unencrypted_receiver_is_refused_by_an_encrypted_sender(link, tmp_path):
    sent = link.id("a")
    port = free_udp_port()
    link.producer(sent)
    link.serve(sent, port, "--passphrase-file", passphrase_file(tmp_path))
    mirror = link.mirror(port, link.id("b"), "--insecure")
    status, output = wait_for_exit(mirror, CONNECT_FAILS_WITHIN)
    assert status == 1, output
    assert "disagree on encryption" in output, output


GRAY_CAPS = "video/x-raw, format=(string)GRAY8, width=(int)8, height=(int)4"


def stream_frame(sequence, caps, payload, flags=0, payload_length=None):
    """One frame of the pvshm stream, encoded here from the layout the stream header draws."""
    body = caps.encode() + payload
    header = struct.pack("<4sHHIHHIB3xQQqqI", b"PVSF", 1, 64, flags, len(caps), 0, 0, 0,
                         len(payload) if payload_length is None else payload_length, sequence,
                         time.time_ns(), -1, zlib.crc32(body))
    return header + struct.pack("<I", zlib.crc32(header)) + body


def nested_damaged_frames(size):
    """The parser's worst case: a checked header every 64 bytes, each announcing a frame that ends
    where the bytes end, every body checksum wrong."""
    blob = bytearray(size)
    for at in range(0, size - 128, 64):
        header = struct.pack("<4sHHIHHIB3xQQqqI", b"PVSF", 1, 64, 0, 1, 0, 0, 0,
                             size - at - 65, 100 + at // 64, 0, -1, 0xdeadbeef)
        blob[at:at + 64] = header + struct.pack("<I", zlib.crc32(header))
    return bytes(blob)


def send_raw_stream(link, port, stream):
    """An SRT listener on `port` that sends `stream` to the first receiver that connects, then
    keeps the connection up (its stdin stays open)."""
    sender = link.start(["gst-launch-1.0", "-q", "fdsrc", "fd=0", "blocksize=1456", "!", "srtsink",
                         f"uri=srt://127.0.0.1:{port}?mode=listener&sndbuf=67108864&fc=51000"
                         "&payloadsize=1456", "sync=false"])

    def send():
        try:
            sender.process.stdin.write(stream)
            sender.process.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass  # the test ended first and killed the sender

    threading.Thread(target=send, daemon=True).start()


GOOD = GRAY_CAPS + ", framerate=(fraction)30/1"
# What a hostile sender sends before good frames 50..59, and what the receiver says of it.
HOSTILE_STREAMS = {
    # Once cost the square of its size in CPU: 4 MiB held the receiver 40 s, deaf to Ctrl-C.
    "nested-damaged-frames": (lambda: nested_damaged_frames(4 << 20), None),
    # Caps pvshmdepay takes and pvshmsink refuses once ended the mirror with not-negotiated.
    "caps-the-sink-refuses": (lambda: b"".join([
        stream_frame(1, GOOD, bytes(32), flags=1),
        stream_frame(2, GRAY_CAPS, bytes(32)),
        stream_frame(3, GRAY_CAPS.replace("video/x-raw", "video/x-raw(memory:DMABuf)") +
                     ", framerate=(fraction)30/1", bytes(32)),
    ]), "Frames skipped: downstream refused the sender's caps"),
    # A frame of 1 GiB once cost the receiving host the slots times 1 GiB of /dev/shm.
    "frame-above-max-frame-size": (lambda: stream_frame(1, GOOD, bytes(32), flags=1) +
                                   stream_frame(2, GOOD, bytes(32), payload_length=1 << 30)[:64],
                                   "Frames skipped: larger than max-frame-size (134217728 bytes)"),
}


@pytest.mark.parametrize("attack", HOSTILE_STREAMS)
def test_a_hostile_sender_costs_its_frames_not_the_receiver(link, pvshm_module, attack):
    """A sender that writes what no pvshm serve writes: the mirror skips it, stores the good frames
    that follow, keeps running, and stops on SIGINT."""
    make, says = HOSTILE_STREAMS[attack]
    good = b"".join(stream_frame(n, GOOD, bytes([n]) * 32) for n in range(50, 60))
    port = free_udp_port()
    mirrored = link.id("b")
    mirror = link.mirror(port, mirrored, "--insecure", "--retry")
    wait_for_line(mirror, "connecting to")
    send_raw_stream(link, port, make() + good)
    reader = pvshm_module.Reader(mirrored)
    _, facts = newest(reader, lambda info: info["sequence"] >= 50)
    assert facts["camera_id"] == "" and mirror.process.poll() is None
    mirror.process.send_signal(signal.SIGINT)
    status, output = wait_for_exit(mirror)
    assert status == 0, output
    if says:
        assert says in output, output
    assert "not-negotiated" not in output, output


def test_frames_lost_before_the_mirror_count_as_drops_of_the_mirrored_id(link, pvshm_module,
                                                                         pvshm):
    """The sender's frames 3, 4 and 7 never arrive: readers on the receiving host see 3 drops
    (they once saw 0 while the link lost a third of the frames)."""
    port = free_udp_port()
    mirrored = link.id("b")
    link.mirror(port, mirrored, "--insecure")
    sent = [1, 2, 5, 6, 8]
    send_raw_stream(link, port, b"".join(
        stream_frame(n, GOOD, bytes([n]) * 32, flags=1 if n == 1 else 0) for n in sent))
    reader = pvshm_module.Reader(mirrored)
    newest(reader, lambda info: info["sequence"] == 8)
    info = json.loads(pvshm("info", mirrored, "--json").stdout)
    assert (info["frames_written"], info["frames_dropped"]) == (5, 3), info


@pytest.mark.parametrize("command", ["serve", "mirror"])
def test_no_passphrase_is_refused_unless_insecure(pvshm, srt_env, command):
    address = f"srt://127.0.0.1:{free_udp_port()}"
    args = ["cam", address] if command == "serve" else [address, "cam"]
    result = pvshm(command, *args, env=srt_env)
    assert result.returncode == 1
    assert "unencrypted" in result.stderr and "--passphrase-file" in result.stderr
    assert "--insecure" in result.stderr


@pytest.mark.parametrize("rate", ["-1", "100001", "fast"])
def test_a_send_rate_out_of_range_is_refused(pvshm, srt_env, rate):
    address = f"srt://127.0.0.1:{free_udp_port()}"
    result = pvshm("serve", "cam", address, "--insecure", "--max-bandwidth", rate, env=srt_env)
    assert result.returncode == 1
    assert "--max-bandwidth" in result.stderr


def test_serve_says_the_rate_it_sends_at(link):
    address = f"srt://127.0.0.1:{free_udp_port()}"
    serve = link.start([link.cli, "serve", link.id("a"), address, "--insecure",
                        "--max-bandwidth", "2500"])
    line = wait_for_line(serve, "serving ")
    assert "2500 Mbit/s" in line, line


@pytest.mark.parametrize("length", [9, 80])
def test_a_passphrase_of_the_wrong_length_is_refused(pvshm, srt_env, tmp_path, length):
    key = passphrase_file(tmp_path, "x" * length)
    result = pvshm("serve", "cam", f"srt://127.0.0.1:{free_udp_port()}", "--passphrase-file", key,
                   env=srt_env)
    assert result.returncode == 1
    assert f"has {length} characters" in result.stderr and "10 to 79" in result.stderr


@pytest.mark.parametrize("command", ["serve", "mirror"])
@pytest.mark.parametrize("passphrase, where", [
    (b"caf\xe9 au lait beans", "byte 0xe9 at character 4"),  # Latin-1
    ("passphrase \u00fc\u00fc".encode(), "byte 0xc3 at character 12"),  # UTF-8, not ASCII
    (b"tab\tin the passphrase", "byte 0x09 at character 4"),
])
def test_a_passphrase_that_is_not_printable_ascii_is_refused(pvshm, srt_env, tmp_path, command,
                                                             passphrase, where):
    """Guards a passphrase that silently encrypted nothing: GStreamer's SRT elements drop a
    string that is not UTF-8 with a GLib warning, and serve said "encrypted" while a receiver
    without a passphrase got every frame. Now both ends refuse to start."""
    key = tmp_path / "passphrase"
    key.write_bytes(passphrase + b"\n")
    key.chmod(0o600)
    address = f"srt://127.0.0.1:{free_udp_port()}"
    args = ["cam", address] if command == "serve" else [address, "cam"]
    result = pvshm(command, *args, "--passphrase-file", key, env=srt_env)
    assert result.returncode == 1, result.stderr
    assert result.stderr == (f"pvshm: the passphrase in '{key}' is not printable ASCII ({where}): "
                             "SRT passphrases are 10 to 79 characters from space to '~'\n")


def test_a_sender_with_a_latin1_passphrase_sends_nothing_in_clear(link, tmp_path):
    """The attack: a sender whose passphrase file was written by a Latin-1 editor, a receiver
    with no passphrase at all. The sender exits before it listens; the receiver gets nothing."""
    key = tmp_path / "latin1"
    key.write_bytes(b"d\xe9j\xe0 vu passphrase\n")
    key.chmod(0o600)
    sent = link.id("a")
    mirrored = link.id("b")
    port = free_udp_port()
    link.producer(sent)
    serve = link.start([link.cli, "serve", sent, f"srt://127.0.0.1:{port}", "--passphrase-file",
                        key])
    status, output = wait_for_exit(serve)
    assert status == 1 and "not printable ASCII" in output and "encrypted" not in output, output
    status, output = wait_for_exit(link.mirror(port, mirrored, "--insecure"),
                                   CONNECT_FAILS_WITHIN)
    assert status == 1 and "no answer from" in output, output
    assert not segment_path(mirrored).exists()


@pytest.mark.parametrize("kind", ["fifo", "device", "too-large", "directory"])
def test_a_passphrase_file_that_is_no_small_regular_file_is_refused_at_once(
        pvshm, srt_env, tmp_path, kind):
    """Guards reading a secret file without bound: a FIFO blocked the command for good and
    /dev/zero grew its memory at 200 MB/s. The command must end at once (the test's timeout)."""
    if kind == "fifo":
        key = tmp_path / "fifo"
        os.mkfifo(key, 0o600)
        why = "not a regular file"
    elif kind == "device":
        key, why = Path("/dev/zero"), "not a regular file"
    elif kind == "directory":
        key, why = tmp_path, "not a regular file"
    else:
        key = tmp_path / "large"
        key.write_text(PASSPHRASE + "\n" + "x" * 5000)
        key.chmod(0o600)
        why = "it has 5022 bytes, more than the 4096 a file holding one secret line may"
    result = pvshm("mirror", f"srt://127.0.0.1:{free_udp_port()}", "cam", "--passphrase-file",
                   key, env=srt_env, timeout=60)
    assert result.returncode == 1
    assert result.stderr == f"pvshm: cannot read the passphrase file '{key}': {why}" + (
        " (a FIFO, a device or a directory is never read)\n" if why == "not a regular file"
        else "\n"), result.stderr


def test_an_unreadable_passphrase_file_is_refused(pvshm, srt_env, tmp_path):
    result = pvshm("mirror", f"srt://127.0.0.1:{free_udp_port()}", "cam", "--passphrase-file",
                   tmp_path / "missing", env=srt_env)
    assert result.returncode == 1
    assert "cannot read the passphrase file" in result.stderr


@pytest.mark.parametrize("address, says", [
    ("http://127.0.0.1:7001", "does not start with srt://"),
    ("srt://127.0.0.1", "no port"),
    ("srt://127.0.0.1:0", "1 to 65535"),
    ("srt://127.0.0.1:70000", "1 to 65535"),
    ("srt://127.0.0.1:7001?mode=caller", "options after '?'"),
    ("srt://127.0.0.1:7001/path", "no path"),
    ("srt://user@127.0.0.1:7001", "no user names"),
    ("srt://::1:7001", "in brackets"),
    ("srt://:7001", "no host"),
])
def test_a_bad_address_exits_1(pvshm, srt_env, address, says):
    result = pvshm("mirror", address, "cam", "--insecure", env=srt_env)
    assert result.returncode == 1
    assert "is not an SRT address" in result.stderr and says in result.stderr, result.stderr


def test_a_sender_that_does_not_answer_exits_1(link):
    started = time.monotonic()
    status, output = wait_for_exit(link.mirror(free_udp_port(), link.id("b"), "--insecure"),
                                   CONNECT_FAILS_WITHIN)
    assert status == 1, output
    assert "no answer from" in output and "within 3 s" in output, output
    assert time.monotonic() - started < CONNECT_FAILS_WITHIN


def test_a_port_in_use_exits_1(link):
    sent = link.id("a")
    port = free_udp_port()
    link.serve(sent, port, "--insecure")
    second = link.start([link.cli, "serve", sent, f"srt://127.0.0.1:{port}", "--insecure"])
    status, output = wait_for_exit(second)
    assert status == 1, output
    # One error line: GStreamer's "state change failed and some element failed to post a proper
    # error message" once followed it.
    errors = [line for line in output.splitlines() if line.startswith("pvshm serve: error:")]
    assert errors == [
        f"pvshm serve: error: cannot listen on srt://127.0.0.1:{port} (is the port in use?): "
        f"cannot bind to 127.0.0.1:{port}: Connection setup failure: unable to create/configure "
        "SRT socket (Address already in use)"], output


def test_a_mirror_into_an_id_another_writer_holds_exits_1(link, pvshm_module):
    held = link.id("b")
    producer = link.producer(held)
    assert pvshm_module.Reader(held).wait(WAIT), "the producer wrote no frame"
    mirror = link.mirror(free_udp_port(), held, "--insecure")
    status, output = wait_for_exit(mirror)
    assert status == 1, output
    errors = [line for line in output.splitlines() if line.startswith("pvshm mirror: error:")]
    assert errors == [
        f"pvshm mirror: error: Could not open shared memory '{held}' for writing: shared_mem_id "
        f"'{held}' already has a live writer (pid {producer.process.pid}): Device or resource "
        "busy"], output


def test_serve_and_mirror_stop_on_sigterm_with_status_0(link, tmp_path):
    sent = link.id("a")
    port = free_udp_port()
    link.producer(sent)
    serve = link.serve(sent, port, "--insecure")
    mirror = link.mirror(port, link.id("b"), "--insecure")
    wait_for_line(mirror, "receiving from")
    for child in (mirror, serve):
        child.process.send_signal(signal.SIGTERM)
        status, output = wait_for_exit(child)
        assert status == 0, output


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def mirrored_counts(pvshm, shared_mem_id):
    info = json.loads(pvshm("info", shared_mem_id, "--json").stdout)
    return info["frames_written"], info["frames_dropped"]


def wait_for_frames(pvshm, shared_mem_id, frames, timeout=WAIT):
    """The mirrored id's (frames_written, frames_dropped) once it has written `frames` more."""
    start = mirrored_counts(pvshm, shared_mem_id)[0]
    deadline = time.monotonic() + timeout
    while True:
        counts = mirrored_counts(pvshm, shared_mem_id)
        if counts[0] >= start + frames:
            return counts
        assert time.monotonic() < deadline, f"the mirror wrote {counts[0] - start} frames"
        time.sleep(0.1)


# 640x480 BGR: 0.9 MB a frame.
VGA_FRAME_BYTES = 640 * 480 * 3
# The frames of that size an SRT receive buffer of libsrt's default size (8192 packets of 1456
# bytes) holds, rounded up.
CALLER_BUFFER_FRAMES = 8192 * 1456 // VGA_FRAME_BYTES + 1


def test_receivers_that_never_read_cost_the_sender_a_few_frames_each(link, pvshm, helper,
                                                                     tmp_path):
    """Guards 20 authenticated callers that connect and stop reading: each once held up to
    33 MiB of the sender (its SRT send buffer filled up) and they cost the legitimate receiver
    frames. Now a receiver whose backlog is over a frame is skipped: the sender holds at most a
    few frames for each, and the legitimate mirror keeps receiving."""
    key = passphrase_file(tmp_path)
    sent, mirrored, port = link.id("a"), link.id("b"), free_udp_port()
    link.start(["gst-launch-1.0", "-q", "videotestsrc", "is-live=true", "pattern=ball", "!",
                "video/x-raw,format=BGR,width=640,height=480,framerate=30/1", "!",
                "pvshmsink", f"shared-mem-id={sent}"])
    serve = link.serve(sent, port, "--passphrase-file", key)
    mirror = link.mirror(port, mirrored, "--passphrase-file", key)
    wait_for_line(mirror, "receiving from")
    wait_for_frames(pvshm, mirrored, 30)
    before = rss_kib(serve.process.pid)
    callers = helper("pvshm-srt-idle-callers", "127.0.0.1", port, 20, sent, PASSPHRASE)
    assert callers.read_line(WAIT) == "connected 20"
    wait_for_line(serve, "21 receiver(s)")
    # Long enough for the callers' receive buffers (SRT's default 8192 packets, about 13 frames)
    # to fill up, and their backlogs on the sender after them. Until they have, the callers
    # share the sender's packets with the mirror: for each frame a caller takes, the mirror may
    # lose one (20 x 12 MB: 31-46 frames lost here; a slower machine loses more, never more than
    # the callers' buffers hold).
    written, dropped = mirrored_counts(pvshm, mirrored)
    after_written, after_dropped = wait_for_frames(pvshm, mirrored, 240, timeout=120)
    after = rss_kib(serve.process.pid)
    status = wait_for_line(serve, "21 receiver(s)")
    print(f"serve RSS {before} KiB -> {after} KiB with 20 idle callers; the mirror wrote "
          f"{after_written - written} frames and dropped {after_dropped - dropped}; {status}")
    assert (after - before) * 1024 < 20 * 4 * VGA_FRAME_BYTES, status
    assert after_dropped - dropped <= after_written - written + 20 * CALLER_BUFFER_FRAMES, status
    assert callers.process.poll() is None


def test_one_port_serves_several_ids_each_to_its_own_mirrors(link, pvshm_module, tmp_path):
    """`serve A C srt://...`, started before either id has a writer; each mirror names the id
    it wants with --remote-id (its SRT stream id) and receives that id's frames only."""
    key = passphrase_file(tmp_path)
    served = [link.id("a"), link.id("c")]
    port = free_udp_port()
    address = f"srt://127.0.0.1:{port}"
    serve = link.start([link.cli, "serve", *served, address, "--passphrase-file", key])
    assert served[0] in wait_for_line(serve, "serving ")
    for shared_mem_id, camera in zip(served, ("cam-A", "cam-C")):
        link.producer(shared_mem_id, camera)
    for shared_mem_id, camera in zip(served, ("cam-A", "cam-C")):
        mirrored = link.id("mirror-of-" + camera)
        mirror = link.mirror(port, mirrored, "--passphrase-file", key, "--remote-id",
                             shared_mem_id)
        wait_for_line(mirror, "receiving from")
        reader = pvshm_module.Reader(mirrored)
        for _ in range(3):
            assert newest(reader)[1]["camera_id"] == camera
    # The status line says so for each id (the lines before the second mirror came say less).
    deadline = time.monotonic() + WAIT
    status = ""
    while status.count("1 receiver(s), sent") != 2:
        status = wait_for_line(serve, f"{served[1]}: ", deadline - time.monotonic())


@pytest.mark.parametrize("retry", [False, True])
def test_an_id_the_sender_does_not_serve_is_a_clear_error(link, tmp_path, retry):
    key = passphrase_file(tmp_path)
    served = [link.id("a"), link.id("c")]
    port = free_udp_port()
    serve = link.start([link.cli, "serve", *served, f"srt://127.0.0.1:{port}",
                        "--passphrase-file", key])
    wait_for_line(serve, "serving ")
    retrying = ["--retry"] if retry else []
    mirror = link.mirror(port, link.id("b"), "--passphrase-file", key, "--remote-id", "nope",
                         *retrying)
    status, output = wait_for_exit(mirror, CONNECT_FAILS_WITHIN)
    assert status == 1, output
    assert output.splitlines()[-1] == (
        f"pvshm mirror: error: the sender at srt://127.0.0.1:{port} does not serve 'nope' (give "
        "the sender's id with --remote-id; `pvshm serve` lists the ids it serves)"), output
    line = wait_for_line(serve, "refused a receiver from 127.0.0.1:")
    assert line.endswith(f"asking for 'nope': this sender serves {served[0]}, {served[1]}"), line


# A process that keeps one core busy for at most this long (the test kills it sooner).
CPU_HOG = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


def test_under_load_the_link_drops_whole_frames_and_keeps_its_connection(link, pvshm, tmp_path):
    """Guards a link that broke under load: 720p30 BGR with both cores busy, the mirror lost its
    connection 20 times in 2.5 minutes and the receiving host counted no drop. Now, with a
    CPU-bound process on each core, one connection carries 30 s of frames, and every frame of
    the sender's that the mirrored id lacks is counted as its drop."""
    key = passphrase_file(tmp_path)
    sent, mirrored, port = link.id("a"), link.id("b"), free_udp_port()
    frames = 900
    for _ in range(os.cpu_count() or 1):
        link.start(["python3", "-c", CPU_HOG.format(seconds=120)])
    serve = link.serve(sent, port, "--passphrase-file", key)
    mirror = link.mirror(port, mirrored, "--passphrase-file", key)
    wait_for_line(serve, "receiver connected from")
    # Connected before the first frame: the mirrored id's first frame is the sender's first.
    status, output = wait_for_exit(link.start([
        "gst-launch-1.0", "-q", "videotestsrc", "is-live=true", f"num-buffers={frames}",
        "pattern=ball", "!", "video/x-raw,format=BGR,width=1280,height=720,framerate=30/1", "!",
        "pvshmsink", f"shared-mem-id={sent}"]), timeout=120)
    assert status == 0, output
    source = json.loads(pvshm("info", sent, "--json").stdout)
    assert source["sequence"] == source["frames_written"], source
    # The sender's last frame reaches the mirror (a receiver behind is sent it when it catches
    # up).
    deadline = time.monotonic() + WAIT
    while (info := json.loads(pvshm("info", mirrored, "--json").stdout))["sequence"] != \
            source["sequence"]:
        assert time.monotonic() < deadline, (info, source)
        time.sleep(0.1)
    assert mirror.process.poll() is None, "the mirror lost its connection"
    print(f"sent {source['frames_written']} frames; mirrored {info['frames_written']}, "
          f"{info['frames_dropped']} counted as dropped")
    assert info["frames_written"] + info["frames_dropped"] == source["frames_written"], info
    for child in (mirror, serve):
        child.process.send_signal(signal.SIGINT)
    status, output = wait_for_exit(mirror)
    assert status == 0 and "lost" not in output and "trying again" not in output, output
    # No receiver came after the first (whose line was read above).
    status, output = wait_for_exit(serve)
    assert status == 0 and "receiver connected from" not in output, output


@pytest.mark.parametrize("serve_mss, mirror_mss", [(1200, 1200), (1500, 1200), (1200, 1500),
                                                  (9000, 9000)])
def test_a_link_of_any_mss_delivers_frames(link, pvshm_module, serve_mss, mirror_mss):
    """--mss on either end: each receiver is sent packets of the smaller of the two (a mirror
    with the smaller one once received nothing from a sender with the larger). libsrt 1.5 fails
    a connection of an MSS above 1500 ("MSS size exceeds MTU size") and sends live packets of at
    most 1456 bytes: a jumbo MSS runs at 1500, and both commands say so."""
    sent, mirrored, port = link.id("a"), link.id("b"), free_udp_port()
    link.producer(sent)
    serve = link.serve(sent, port, "--insecure", "--mss", serve_mss)
    mirror = link.mirror(port, mirrored, "--insecure", "--mss", mirror_mss)
    _, metadata = newest(pvshm_module.Reader(mirrored))
    assert metadata["camera_id"] == "cam-A"
    if serve_mss == 9000:
        warning = ("warning: --mss 9000: the SRT library (libsrt 1.5) takes at most 1500 (it "
                   "sends live packets of at most 1456 bytes and fails a connection of a larger "
                   "MSS): using 1500")
        # serve's came before its "serving" line, which link.serve read.
        for child in (mirror, serve):
            child.process.send_signal(signal.SIGINT)
        assert warning in wait_for_exit(mirror)[1]
        assert serve.process.wait(WAIT) == 0


@pytest.mark.parametrize("command", ["serve", "mirror"])
@pytest.mark.parametrize("mss", ["65536", "575", "large"])
def test_an_mss_out_of_range_is_refused(pvshm, srt_env, command, mss):
    address = f"srt://127.0.0.1:{free_udp_port()}"
    args = ["cam", address] if command == "serve" else [address, "cam"]
    result = pvshm(command, *args, "--insecure", "--mss", mss, env=srt_env)
    assert result.returncode == 1
    assert result.stderr.startswith(f"--mss: 576 to 65535 bytes, not {mss}"), result.stderr


def test_an_id_given_twice_to_serve_is_refused(pvshm, srt_env):
    result = pvshm("serve", "cam", "other", "cam", f"srt://127.0.0.1:{free_udp_port()}",
                   "--insecure", env=srt_env)
    assert (result.returncode, result.stderr) == (1, "pvshm: the id 'cam' is given twice\n")


def slow_producer(link, shared_mem_id):
    """A writer of one frame every 3 s: slower than the 1.5 s a mirror waits for bytes."""
    return link.start([
        "gst-launch-1.0", "-q", "videotestsrc", "is-live=true", "pattern=ball", "!",
        "video/x-raw,format=GRAY8,width=64,height=48,framerate=1/3", "!",
        "pvshmsink", f"shared-mem-id={shared_mem_id}"])


def test_a_slow_writer_is_alive_across_the_link_and_its_death_is_seen(link, pvshm_module):
    """Heartbeats: a sender whose writer writes a frame every 3 s sends one every 0.5 s between
    its frames, saying the writer is alive (readers of the mirrored id once saw it dead between
    frames, after 1.5 s without bytes); when that writer dies, the heartbeats say so while serve
    runs on, and a new writer's frames make it alive again."""
    sent, mirrored, port = link.id("a"), link.id("b"), free_udp_port()
    producer = slow_producer(link, sent)
    link.serve(sent, port, "--insecure")
    link.mirror(port, mirrored, "--insecure")
    reader = pvshm_module.Reader(mirrored)
    newest(reader)
    wait_for_liveness(reader, True)
    # Two frame intervals: alive all along (looked at every 50 ms).
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        assert reader.writer_alive, "the slow writer was seen dead between its frames"
        time.sleep(0.05)
    producer.kill()
    print(f"seen dead {wait_for_liveness(reader, False, 10):.2f} s after the writer was killed")
    slow_producer(link, sent)
    wait_for_liveness(reader, True, 60)


def test_serve_and_mirror_over_ipv6(link, pvshm_module):
    """serve binds the family of the address it is given (libsrt binds one family)."""
    sent, mirrored = link.id("a"), link.id("b")
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
        probe.bind(("::1", 0))
        port = probe.getsockname()[1]
    link.producer(sent)
    serve = link.start([link.cli, "serve", sent, f"srt://[::1]:{port}", "--insecure"])
    wait_for_line(serve, "serving ")
    link.start([link.cli, "mirror", f"srt://[::1]:{port}", mirrored, "--insecure"])
    _, metadata = newest(pvshm_module.Reader(mirrored))
    assert metadata["camera_id"] == "cam-A"
    wait_for_line(serve, "receiver connected from [::1]:")
