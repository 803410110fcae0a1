# SPDX-License-Identifier: LGPL-2.1-or-later
"""The pvshm command-line tool, run as a program, against segments other processes wrote."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import pngfile
from conftest import TIMEOUT, segment_path

REQUIRED_KEYS = {
    "id",
    "format",
    "width",
    "height",
    "slots",
    "frames_written",
    "writer_pid",
    "writer_alive",
    "last_frame_age_ms",
}


def stamped_gray(width, height, stamp):
    """A pvshm-test-writer frame (tests/helpers/stamp.hpp): the stamp, then stamp_byte."""
    data = bytearray([(stamp * 31 + 7) & 0xFF]) * (width * height)
    data[:8] = stamp.to_bytes(8, "little")
    return [list(data[y * width : (y + 1) * width]) for y in range(height)]


def gradient(width, height):
    return [
        [(x * 7 % 256, y * 11 % 256, (x + y) * 3 % 256) for x in range(width)]
        for y in range(height)
    ]


@pytest.fixture
def held_writer(helper, shm_id):
    """A second process that wrote 3 stamped 32x16 GRAY8 frames and still owns the id."""
    writer = helper("pvshm-test-writer", shm_id, 32, 16, 3, "--hold")
    pid = int(writer.expect("ready").split()[1])
    writer.expect("done")
    writer.pid = pid
    return writer


def test_help_names_every_command(pvshm):
    result = pvshm("--help")
    assert result.returncode == 0
    for command in ("list", "info", "snapshot", "write", "clear", "watch"):
        assert command in result.stdout


def test_list_shows_a_segment_another_process_writes(pvshm, shm_id, held_writer):
    table = pvshm("list")
    assert table.returncode == 0, table.stderr
    row = next(line for line in table.stdout.splitlines() if line.startswith(shm_id + " "))
    assert "GRAY8" in row and "32x16" in row and f"{held_writer.pid} alive" in row

    entries = json.loads(pvshm("list", "--json").stdout)
    entry = next(e for e in entries if e["id"] == shm_id)
    assert REQUIRED_KEYS <= entry.keys()
    assert (entry["format"], entry["width"], entry["height"]) == ("GRAY8", 32, 16)
    # Slots left to the library: the most there can be for a frame this small.
    assert (entry["slots"], entry["frames_written"]) == (64, 3)
    assert (entry["writer_pid"], entry["writer_alive"]) == (held_writer.pid, True)
    assert 0 <= entry["last_frame_age_ms"] < 60_000

    assert held_writer.finish() == 0
    entries = json.loads(pvshm("list", "--json").stdout)
    assert next(e for e in entries if e["id"] == shm_id)["writer_alive"] is False


def test_info_json_has_the_contract_keys(pvshm, shm_id, held_writer):
    result = pvshm("info", "--json", shm_id)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert REQUIRED_KEYS <= info.keys()
    assert info["id"] == shm_id and info["sequence"] == 3
    assert isinstance(info["writer_alive"], bool) and isinstance(info["last_frame_age_ms"], float)
    # The capture times under C++'s and Python's names, and under the names the first releases
    # printed, which scripts read.
    assert 0 < info["timestamp_realtime_ns"] == info["timestamp_ns"] <= time.time_ns()
    assert 0 < info["timestamp_monotonic_ns"] == info["monotonic_ns"] <= time.monotonic_ns()

    text = pvshm("info", shm_id)
    assert text.returncode == 0 and shm_id in text.stdout and "GRAY8" in text.stdout


def test_info_of_text_that_is_not_utf8(pvshm, shm_id, helper):
    """A camera id and caps of any bytes give valid JSON and printable text."""
    camera_id, caps = b"cam\xff\x1b[2J", b"video/x-raw,\xc3("
    writer = helper(
        "pvshm-test-writer", shm_id, 4, 2, 1, "--hold",
        "--camera-id", os.fsdecode(camera_id), "--caps", os.fsdecode(caps),
    )  # fmt: skip
    writer.expect("ready")
    writer.expect("done")
    info = json.loads(pvshm("info", "--json", shm_id).stdout)
    assert (info["camera_id"], info["caps"]) == ("cam\ufffd\x1b[2J", "video/x-raw,\ufffd(")
    text = pvshm("info", shm_id)  # decoding stdout as UTF-8 fails on any byte left invalid
    assert text.returncode == 0 and "camera:          cam\ufffd?[2J" in text.stdout
    assert writer.finish() == 0


def test_info_of_a_segment_without_frame_keys(pvshm, shm_id, tmp_path):
    image = tmp_path / "one.png"
    image.write_bytes(pngfile.encode(1, 1, [[(1, 2, 3)]]))
    assert pvshm("write", shm_id, image).returncode == 0
    info = json.loads(pvshm("info", "--json", shm_id).stdout)
    assert info["format"] == "png" and info["writer_alive"] is False


def test_snapshot_writes_the_frame_as_png(pvshm, shm_id, held_writer, tmp_path):
    target = tmp_path / "snapshot.png"
    result = pvshm("snapshot", shm_id, target)
    assert result.returncode == 0, result.stderr
    width, height, rows = pngfile.decode(target.read_bytes())
    assert (width, height) == (32, 16)
    expected = stamped_gray(32, 16, 3)
    assert rows == [[(v, v, v) for v in row] for row in expected]


def test_snapshot_raw_writes_16_bit_gray_as_16_bit_png(pvshm, shm_id, helper, tmp_path):
    cv2 = pytest.importorskip("cv2")
    writer = helper("pvshm-test-writer", shm_id, 12, 5, 1, "--format", "GRAY16_LE", "--hold")
    writer.expect("ready")
    writer.expect("done")
    target = tmp_path / "raw.png"
    result = pvshm("snapshot", shm_id, target, "--raw")
    assert result.returncode == 0, result.stderr
    image = cv2.imread(str(target), cv2.IMREAD_UNCHANGED)
    assert image.dtype == "uint16" and image.shape == (5, 12)

    def byte(row, index):  # tests/helpers/pattern.hpp
        return (row * 3 + index) % 251

    expected = [[byte(r, 2 * c) | byte(r, 2 * c + 1) << 8 for c in range(12)] for r in range(5)]
    assert image.tolist() == expected


def test_write_then_snapshot_round_trips_a_png(pvshm, shm_id, tmp_path):
    source = tmp_path / "source.png"
    source.write_bytes(pngfile.encode(20, 10, gradient(20, 10)))
    written = pvshm("write", shm_id, source)
    assert written.returncode == 0, written.stderr
    target = tmp_path / "back.png"
    assert pvshm("snapshot", shm_id, target).returncode == 0
    assert pngfile.decode(target.read_bytes()) == (20, 10, gradient(20, 10))


def test_clear_removes_the_segment(pvshm, shm_id, tmp_path):
    image = tmp_path / "one.png"
    image.write_bytes(pngfile.encode(2, 2, [[(0, 0, 0)] * 2] * 2))
    assert pvshm("write", shm_id, image).returncode == 0
    assert segment_path(shm_id).exists()
    result = pvshm("clear", shm_id)
    assert result.returncode == 0, result.stderr
    assert not segment_path(shm_id).exists()
    assert shm_id not in [e["id"] for e in json.loads(pvshm("list", "--json").stdout)]
    assert pvshm("info", shm_id).returncode == 1


def test_clear_of_a_missing_segment_says_so_and_exits_1(pvshm, shm_id):
    """Regression: it printed nothing and exited 0, as if it had removed something."""
    for args in (["clear", shm_id], ["clear", "--force", shm_id]):
        result = pvshm(*args)
        assert result.returncode == 1
        assert result.stdout == ""
        assert result.stderr == (
            f"pvshm: no segment with id '{shm_id}' to clear (see `pvshm list`)\n"
        )


def test_clear_dead_with_nothing_to_clear_is_not_an_error(private_shm):
    result = private_shm.pvshm("clear", "--dead")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.parametrize(
    "word, message",
    [
        ("lst", "unknown command 'lst'; did you mean 'list'?"),
        ("snapshto", "unknown command 'snapshto'; did you mean 'snapshot'?"),
        ("mirorr", "unknown command 'mirorr'; did you mean 'mirror'?"),
        (
            "frobnicate",
            "unknown command 'frobnicate'; the commands are: "
            "list, info, snapshot, write, clear, watch, rtsp, serve, mirror, web",
        ),
    ],
)
def test_a_misspelled_command_is_named_with_the_closest(pvshm, word, message):
    """Regression: `pvshm lst` said "A subcommand is required"."""
    result = pvshm(word, "cam0")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == f"pvshm: {message}\nRun with --help for more information.\n"


def test_clear_refuses_a_live_writer_unless_forced(pvshm, shm_id, held_writer):
    result = pvshm("clear", shm_id)
    assert result.returncode == 1
    assert shm_id in result.stderr and str(held_writer.pid) in result.stderr
    assert "--force" in result.stderr
    assert segment_path(shm_id).exists()

    result = pvshm("clear", "--force", shm_id)
    assert result.returncode == 0, result.stderr
    assert not segment_path(shm_id).exists()


def test_clear_takes_several_ids(pvshm, shm_id, held_writer, tmp_path):
    """The dead one is cleared even though the live one is refused and the absent one is an
    error."""
    dead, absent = shm_id + "-dead", shm_id + "-absent"
    image = tmp_path / "one.png"
    image.write_bytes(pngfile.encode(1, 1, [[(1, 2, 3)]]))
    try:
        assert pvshm("write", dead, image).returncode == 0
        result = pvshm("clear", dead, shm_id, absent)
        assert result.returncode == 1 and f"'{shm_id}'" in result.stderr
        assert f"no segment with id '{absent}'" in result.stderr
        assert f"'{dead}'" not in result.stderr
        assert not segment_path(dead).exists() and segment_path(shm_id).exists()

        assert held_writer.finish() == 0
        assert pvshm("clear", shm_id).returncode == 0
        assert not segment_path(shm_id).exists()
    finally:
        pvshm("clear", "--force", dead)


def test_clear_with_one_invalid_id_removes_nothing(pvshm, shm_id, tmp_path):
    image = tmp_path / "one.png"
    image.write_bytes(pngfile.encode(1, 1, [[(1, 2, 3)]]))
    assert pvshm("write", shm_id, image).returncode == 0
    result = pvshm("clear", shm_id, "not/an-id")
    assert result.returncode == 1 and "not/an-id" in result.stderr
    assert segment_path(shm_id).exists()


def test_clear_dead_removes_the_segments_of_dead_writers_only(private_shm, tmp_path):
    live = private_shm.writer("live", 8, 8, 1, "--hold")
    live_pid = int(live.expect("ready").split()[1])
    live.expect("done")
    gone = private_shm.writer("gone", 8, 8, 1)
    gone_pid = int(gone.expect("ready").split()[1])
    gone.expect("done")
    assert gone.finish() == 0
    private_shm.write_png("written", tmp_path / "one.png")
    private_shm.plant("truncated", "broken")

    result = private_shm.pvshm("clear", "--dead")
    assert result.returncode == 0, result.stderr
    assert f"cleared 'gone' (writer pid {gone_pid} gone)" in result.stdout
    assert "cleared 'written'" in result.stdout
    assert "live" not in result.stdout and "skipped 'broken'" in result.stderr
    assert not private_shm.object_path("gone").exists()
    assert not private_shm.object_path("written").exists()
    assert private_shm.object_path("live").exists(), f"writer {live_pid} is alive"
    assert private_shm.object_path("broken").exists(), "whose writer is unknown: kept"
    assert live.finish() == 0


@pytest.mark.parametrize("args", [[], ["--dead", "some-id"], ["--dead", "--force"]])
def test_clear_usage_errors_exit_1(pvshm, args):
    result = pvshm("clear", *args)
    assert result.returncode == 1 and result.stderr


@pytest.mark.parametrize("bad_id", ["", ".hidden", "a/b", "../etc", "x" * 201, "sp ace"])
@pytest.mark.parametrize(
    "command",
    [["info"], ["snapshot", "{id}", "out.png"], ["write", "{id}", "in.png"], ["clear"], ["watch"]],
    ids=lambda command: command[0],
)
def test_an_invalid_id_exits_1_naming_the_id(pvshm, tmp_path, bad_id, command):
    (tmp_path / "in.png").write_bytes(pngfile.encode(1, 1, [[(1, 2, 3)]]))
    args = [str(tmp_path / a) if a.endswith(".png") else a for a in command]
    args = [bad_id if a == "{id}" else a for a in args] if "{id}" in args else args + [bad_id]
    result = pvshm(*args)
    assert result.returncode == 1
    assert "shared_mem_id" in result.stderr and "[A-Za-z0-9._-]" in result.stderr
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize(
    "command", [["info"], ["snapshot", "{id}", "out.png"], ["watch"]], ids=lambda c: c[0]
)
def test_a_missing_segment_exits_1_with_a_message(pvshm, shm_id, tmp_path, command):
    args = [str(tmp_path / a) if a.endswith(".png") else a for a in command]
    args = [shm_id if a == "{id}" else a for a in args] if "{id}" in args else args + [shm_id]
    result = pvshm(*args)
    assert result.returncode == 1
    assert f"no segment with id '{shm_id}'" in result.stderr


def test_an_unreadable_file_exits_1(pvshm, shm_id, tmp_path):
    result = pvshm("write", shm_id, tmp_path / "absent.png")
    assert result.returncode == 1 and "cannot read" in result.stderr
    assert not segment_path(shm_id).exists()


@pytest.mark.parametrize("kind", ["fifo", "directory", "socket", "device"])
def test_write_refuses_what_is_not_a_regular_file(pvshm, shm_id, tmp_path, kind):
    path = tmp_path / "not-a-file"
    if kind == "fifo":
        os.mkfifo(path)  # opened without O_NONBLOCK, this would wait for a writer forever
    elif kind == "directory":
        path.mkdir()
    elif kind == "socket":
        path = Path(tempfile.mkdtemp(prefix="pvshm-")) / "socket"
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(path))
    else:
        path = Path("/dev/zero")
    try:
        result = pvshm("write", shm_id, path)
    finally:
        if kind == "socket":
            shutil.rmtree(path.parent)
    assert result.returncode == 1
    assert f"'{path}'" in result.stderr and "not a regular file" in result.stderr
    assert not segment_path(shm_id).exists()


def test_write_refuses_a_file_larger_than_a_frame_without_reading_it(pvshm, shm_id, tmp_path):
    sparse = tmp_path / "sparse.bin"
    with open(sparse, "wb") as file:
        file.truncate(2 << 30)  # 2 GiB of holes: reading it would take seconds and the memory
    start = time.monotonic()
    result = pvshm("write", shm_id, sparse)
    assert result.returncode == 1
    assert f"is {2 << 30} bytes, more than the largest frame" in result.stderr
    assert time.monotonic() - start < 2.0, "refused from its size, not after reading it"
    assert not segment_path(shm_id).exists()


def test_write_refuses_an_empty_file(pvshm, shm_id, tmp_path):
    empty = tmp_path / "empty.png"
    empty.touch()
    result = pvshm("write", shm_id, empty)
    assert result.returncode == 1
    assert f"'{empty}' is empty" in result.stderr and "ssertion" not in result.stderr
    assert not segment_path(shm_id).exists()


def test_write_stores_bytes_that_do_not_decode_with_a_warning(pvshm, shm_id, tmp_path):
    not_an_image = tmp_path / "notes.txt"
    not_an_image.write_text("hello")
    result = pvshm("write", shm_id, not_an_image)
    assert result.returncode == 0 and "not an image" in result.stderr
    assert segment_path(shm_id).exists()


def test_a_snapshot_to_an_unknown_format_exits_1(pvshm, shm_id, held_writer, tmp_path):
    result = pvshm("snapshot", shm_id, tmp_path / "frame.unknown")
    assert result.returncode == 1 and "cannot write" in result.stderr


def test_watch_counts_frames_of_a_live_writer(pvshm, shm_id, helper):
    writer = helper("pvshm-test-writer", shm_id, 64, 48, 0)
    writer.expect("ready")
    result = pvshm("watch", shm_id, "--count", 20)
    assert result.returncode == 0, result.stderr
    line = result.stdout.splitlines()[-1]
    assert "fps" in line and "latency" in line and "writer alive" in line


def test_watch_for_a_duration_without_new_frames(pvshm, shm_id, held_writer):
    result = pvshm("watch", shm_id, "--duration", 0.3, "--interval", 0.1)
    assert result.returncode == 0, result.stderr
    assert "fps" in result.stdout.splitlines()[-1]


@pytest.mark.parametrize(
    "option, value, expected",
    [
        ("-n", "0", "from 1 to"),
        ("-n", "-1", "from 1 to"),
        ("--count", "1.5", "whole number of frames"),
        ("--count", "99999999999999999999999", "from 1 to"),
        ("-i", "0", "seconds from 0.01 to 3600"),
        ("--interval", "-2", "seconds from 0.01 to 3600"),
        ("--interval", "nan", "seconds from 0.01 to 3600"),
        ("--interval", "1e9", "seconds from 0.01 to 3600"),
        ("-d", "0", "seconds from 0.01"),
        ("--duration", "inf", "seconds from 0.01"),
    ],
)
def test_watch_refuses_counts_and_intervals_out_of_range(pvshm, shm_id, option, value, expected):
    result = pvshm("watch", shm_id, option, value)
    assert result.returncode == 1
    assert expected in result.stderr and f"'{value}'" in result.stderr
    if option in ("-n", "--count"):  # watch(1)'s -n is an interval: say where that is here
        assert "--interval" in result.stderr


def test_watch_stops_on_sigint(cli_path, shm_id, held_writer):
    watch = subprocess.Popen(
        [cli_path, "watch", shm_id, "--interval", "0.05"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert shm_id in watch.stdout.readline()  # running: it printed its first refresh
        watch.send_signal(signal.SIGINT)
        assert watch.wait(TIMEOUT) == 0
    finally:
        watch.kill()
        watch.wait()
        watch.stdout.close()


UNUSABLE_KINDS = ["socket", "directory", "truncated", "other-user-0600", "fifo"]


def test_list_shows_every_entry_the_unusable_ones_with_why(private_shm, tmp_path):
    """Regression: one bad entry (a FIFO hung the listing, a socket or a directory failed it)
    must not keep the others from being listed."""
    private_shm.write_png("good", tmp_path / "good.png")
    for kind in UNUSABLE_KINDS:
        private_shm.plant(kind, kind)

    result = private_shm.pvshm("list", "--json")
    assert result.returncode == 0, result.stderr
    entries = {entry["id"]: entry for entry in json.loads(result.stdout)}
    assert entries.keys() == {"good", *UNUSABLE_KINDS}
    assert "error" not in entries["good"] and entries["good"]["format"] == "png"
    for kind in UNUSABLE_KINDS:
        assert entries[kind]["error"], kind
        assert REQUIRED_KEYS <= entries[kind].keys()
    assert "belongs to uid" in entries["other-user-0600"]["error"]

    table = private_shm.pvshm("list")
    assert table.returncode == 0, table.stderr
    rows = {line.split()[0]: line for line in table.stdout.splitlines()[1:]}
    assert rows.keys() == {"good", *UNUSABLE_KINDS}
    assert "png" in rows["good"]
    assert all("unusable: " in rows[kind] for kind in UNUSABLE_KINDS)


@pytest.mark.parametrize("kind", UNUSABLE_KINDS)
def test_info_of_an_unusable_entry_exits_1_with_why(private_shm, tmp_path, kind):
    private_shm.plant(kind, "bad")
    result = private_shm.pvshm("info", "bad")
    assert result.returncode == 1 and "bad" in result.stderr


@pytest.mark.parametrize("kind", UNUSABLE_KINDS)
def test_clear_removes_an_unusable_entry_by_name(private_shm, tmp_path, kind):
    path = private_shm.plant(kind, "bad")
    if kind == "directory":
        (path / "inside").touch()
    result = private_shm.pvshm("clear", "bad")
    if kind == "directory":  # not ours to remove recursively
        assert result.returncode == 1 and "bad" in result.stderr
        assert path.exists()
    else:
        assert result.returncode == 0, result.stderr
        assert not path.exists()


def test_reading_commands_allow_another_users_segment_when_asked(private_shm, tmp_path):
    private_shm.plant("other-user-0600", "theirs")
    target = tmp_path / "theirs.png"
    commands = {
        "list": ["list", "--json"],
        "info": ["info", "theirs"],
        "snapshot": ["snapshot", "theirs", target],
        "watch": ["watch", "theirs", "--duration", "0.05"],
    }
    for name, args in commands.items():
        refused = private_shm.pvshm(*args)
        if name == "list":
            assert refused.returncode == 0
            assert "--allow-other-owner" in json.loads(refused.stdout)[0]["error"]
        else:
            assert refused.returncode == 1, name
            assert "--allow-other-owner" in refused.stderr, refused.stderr
        allowed = private_shm.pvshm(*args, "--allow-other-owner")
        assert allowed.returncode == 0, (name, allowed.stderr)
    assert pngfile.decode(target.read_bytes())[:2] == (2, 1)
    entry = json.loads(private_shm.pvshm("list", "--json", "--allow-other-owner").stdout)[0]
    assert entry["owner_uid"] == 65534 and "error" not in entry
