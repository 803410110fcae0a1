# SPDX-License-Identifier: LGPL-2.1-or-later
"""`pvshm serve --encode raw|jpeg[:QUALITY]|lossless` to `pvshm mirror` over SRT on 127.0.0.1,
as separate processes: a Python writer on the sending side, the Python module reading the
mirrored id. Every encoding keeps the frame facts; lossless gives the same bytes, jpeg a JPEG frame
close to the picture; a 16-bit frame under jpeg goes raw with one warning; a bad --encode exits 1.
"""

import time

import cv2
import numpy as np
import pytest

from conftest import segment_path
# The link's processes and helpers, shared with the other serve/mirror tests.
from test_srt import (WAIT, free_udp_port, link, newest, passphrase_file,  # noqa: F401
                      pvshm_module, srt_env, wait_for_exit, wait_for_line)

WIDTH, HEIGHT = 320, 240
# What JPEG of quality 85 keeps of picture(step): 29.1 to 37.3 dB depending on the step (its
# wrapping gradients and the moving block), measured over steps 0-600 with OpenCV's encoder. The
# step a test ends at depends on how soon the link flows.
JPEG_PSNR = 28


def picture(step):
    """A smooth BGR picture with edges that moves with `step`: what a camera might see."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    image = np.stack([(x + 3 * step) % 256, (y * 0.8 + step) % 256,
                      128 + 100 * np.sin((x + y + 5 * step) / 40)], axis=-1)
    image[60:120, 40 + step % 100:140 + step % 100] = (20, 220, 60)
    return np.ascontiguousarray(image.astype(np.uint8))


def psnr(a, b):
    error = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0 ** 2 / max(error, 1e-12))


def mirror_until_flowing(link, pvshm_module, key, sent, encode, write):
    """serve `sent` with --encode `encode`, mirror it into a new id, and call write(n) for frames
    n = 0, 1, ... until the mirrored id holds one (bounded): returns (serve, mirrored id, reader,
    the next n)."""
    mirrored = link.id("b")
    port = free_udp_port()
    write(0)
    serve = link.serve(sent, port, "--passphrase-file", key, "--encode", encode)
    link.mirror(port, mirrored, "--passphrase-file", key)
    deadline = time.monotonic() + WAIT
    reader = None
    step = 1
    while reader is None or not reader.wait(0.1):
        assert time.monotonic() < deadline, "no frame reached the mirrored id"
        write(step)
        step += 1
        if reader is None and segment_path(mirrored).exists():
            reader = pvshm_module.Reader(mirrored)
    return serve, mirrored, reader, step


@pytest.mark.parametrize("encode", ["raw", "jpeg:85", "lossless"])
def test_each_encoding_keeps_the_frame_and_its_facts(link, pvshm_module, tmp_path, encode):
    key = passphrase_file(tmp_path)
    sent = link.id("a")
    with pvshm_module.Writer(sent, camera_id="cam-E") as writer:
        sequences = {}

        def write(step, timestamp_ns=None):
            sequences[step] = writer.write(picture(step), color_space="BGR",
                                           metadata={"lot": "L7", "step": step},
                                           timestamp_ns=timestamp_ns)

        _, mirrored, reader, step = mirror_until_flowing(link, pvshm_module, key, sent, encode,
                                                         write)
        captured = time.time_ns() - 5_000_000
        write(step, captured)
        payload, facts = newest(reader, lambda info: info["metadata"].get("step") == step)

    assert facts["camera_id"] == "cam-E"
    assert facts["timestamp_ns"] == captured
    assert facts["sequence"] == sequences[step]
    assert facts["metadata"] == {"lot": "L7", "step": step}
    assert (facts["width"], facts["height"]) == (WIDTH, HEIGHT)
    if encode == "jpeg:85":
        assert facts["format"] == "jpeg"
        decoded = cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_COLOR)
        assert decoded.shape == (HEIGHT, WIDTH, 3)
        assert psnr(decoded, picture(step)) >= JPEG_PSNR
        assert len(payload) < WIDTH * HEIGHT * 3 / 4
        # Read as any JPEG frame: the seed function decodes it.
        rgb = pvshm_module.read_image_from_shared_memory(mirrored,
                                                         {"width": WIDTH, "height": HEIGHT})
        assert psnr(rgb[:, :, ::-1], picture(step)) >= JPEG_PSNR
    else:
        assert facts["format"] == "BGR"
        assert payload == picture(step).tobytes()


def test_jpeg_sends_16bit_frames_raw_with_one_warning(link, pvshm_module, tmp_path):
    key = passphrase_file(tmp_path)
    sent = link.id("a")
    frame = (np.arange(WIDTH * HEIGHT, dtype=np.uint32) * 37 % 4096).astype(np.uint16)
    frame = frame.reshape(HEIGHT, WIDTH)
    with pvshm_module.Writer(sent, camera_id="cam-G", bit_depth=12) as writer:

        def write(step):
            writer.write(frame, metadata={"step": step})

        serve, _, reader, step = mirror_until_flowing(link, pvshm_module, key, sent, "jpeg",
                                                      write)
        write(step)
        payload, facts = newest(reader, lambda info: info["metadata"].get("step") == step)
    assert (facts["format"], facts["bit_depth"]) == ("GRAY16_LE", 12)
    assert payload == frame.tobytes()
    warning = wait_for_line(serve, "sent raw")
    assert "Frames of GRAY16_LE sent raw: JPEG takes 8-bit frames only" in warning
    serve.kill()
    _, rest = wait_for_exit(serve)
    assert "sent raw" not in rest


@pytest.mark.parametrize("encode, reason", [
    ("png", "'png' is no encoding"),
    ("jpeg:0", "'jpeg:0': the JPEG quality is a number from 1 to 100"),
    ("jpeg:101", "'jpeg:101': the JPEG quality is a number from 1 to 100"),
    ("jpeg:", "'jpeg:': the JPEG quality is a number from 1 to 100"),
    ("JPEG", "'JPEG' is no encoding"),
])
def test_an_encoding_serve_does_not_know_is_refused(pvshm, srt_env, encode, reason):
    result = pvshm("serve", "cam0", "srt://:7001", "--insecure", "--encode", encode, env=srt_env)
    assert result.returncode == 1
    assert f"--encode: {reason} (raw, jpeg, jpeg:QUALITY with QUALITY 1 to 100, or lossless)" \
        in result.stderr
