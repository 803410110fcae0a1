#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Soak test (not part of the test suite): one 1920x1080 GRAY8 writer at 60 frames/s and N readers
of three kinds at once, C++ (pvshm::Reader), Python (pvshm.Reader under /usr/bin/python3) and
pipelines (pvshmsrc ! appsink), each checking that every frame it gets is intact. Every 1 to 3 s
one random reader is SIGKILLed and a new one of the same kind started; one reader of each kind
(the first three) lives throughout, for its resident memory.

    bench/soak.py [--minutes M] [--readers N] [--slots S] [--seed R] [--reader-nice K] [--no-rt]

M: minutes (default 10, fractions allowed); N: readers, at least 3 (default 9: 3 of each kind);
S: writer slots (default 4, the library's); R: seed of the random kills; K: nice value of the
readers (default 10), so that on a small machine the CPU they and their restarts (Python
importing numpy, GStreamer loading plugins) take does not delay the writer's wake-ups: the stall
figure is about pvshm making the writer wait, which it must never do. For the same reason the
writer runs as a capture process would on a shared machine, SCHED_FIFO (chrt -f 50) when that is
allowed, unless --no-rt. The writer says, for every stall, how much of it was spent waiting for
a CPU and how much time the hypervisor stole meanwhile (its stderr, kept with the logs on FAIL),
and a control loop runs alongside it at the same priority, the same schedule and the same fill
into private memory without pvshm: its stalls are the machine's own (a floor).

Prints duration, frames written, frames read per reader kind, torn frames, writer stalls (gaps
between two publishes longer than 1.5 frame intervals), frames the writer dropped (every slot
pinned) and resident memory at start and end. Exits 1 when a frame was torn, the writer stalled,
a reader exited on its own or a kind of reader read nothing (2 on bad options or a missing
program, 130 on Ctrl-C, 143 on SIGTERM). Processes and the segment are cleaned up on any exit,
Ctrl-C included. PVSHM_BUILD_DIR names the build directory (default: build), which must hold the
built soak programs (ninja -C build).
"""

import glob
import os
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

USAGE = "[--minutes M] [--readers N] [--slots S] [--seed R] [--reader-nice K] [--no-rt]"
WIDTH, HEIGHT, FPS = 1920, 1080, 60
KINDS = ("cpp", "python", "gst")
KIND_NAMES = {"cpp": "C++", "python": "Python", "gst": "pvshmsrc"}


class Exit(Exception):
    """Ends the run with `status`."""

    def __init__(self, status):
        super().__init__(status)
        self.status = status


def parse_options(argv):
    """The options' values as given (strings), and "rt": False with --no-rt; exits 2 on anything
    else."""
    options = {"minutes": "10", "readers": "9", "slots": "4", "seed": str(os.getpid()),
               "reader-nice": "10"}
    rt = True
    args = list(argv)
    while args:
        name = args.pop(0)
        if name == "--no-rt":
            rt = False
        elif name.startswith("--") and name[2:] in options and args:
            options[name[2:]] = args.pop(0)
        else:
            print(f"usage: {sys.argv[0]} {USAGE}", file=sys.stderr)
            sys.exit(2)
    valid = (re.fullmatch(r"[0-9]+", options["readers"]) and int(options["readers"]) >= 3
             and re.fullmatch(r"[0-9]*\.?[0-9]+", options["minutes"])
             and re.fullmatch(r"[0-9]+", options["seed"])
             and re.fullmatch(r"-?[0-9]+", options["reader-nice"]))
    if not valid:
        print(f"{sys.argv[0]}: --readers takes a whole number >= 3, --minutes a positive number",
              file=sys.stderr)
        sys.exit(2)
    options["rt"] = rt
    return options


def build_tree_environment(build):
    """The environment `meson devenv` gives (the build tree's plugin and Python module); None
    when meson cannot give it."""
    try:
        devenv = subprocess.run(["meson", "devenv", "-C", build, "env", "-0"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except OSError:
        return None
    if devenv.returncode != 0:
        return None
    entries = devenv.stdout.decode(errors="replace").split("\0")
    return dict(entry.split("=", 1) for entry in entries if "=" in entry)


def first_numbers(path, count):
    """The first `count` numbers of a stats file's line (zeros where it has none)."""
    try:
        with open(path) as file:
            numbers = [int(field) for field in file.read().split()[:count]]
    except (OSError, ValueError):
        numbers = []
    return numbers + [0] * (count - len(numbers))


def rss_of(pid):
    """VmRSS, RssAnon and RssShmem of a process, in kB (zeros when it is gone)."""
    fields = {"VmRSS:": 0, "RssAnon:": 0, "RssShmem:": 0}
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                name, value = (line.split() + ["", ""])[:2]
                if name in fields:
                    fields[name] = int(value)
    except OSError:
        pass
    return tuple(fields.values())


def status_of(returncode):
    """An exit status as the shell gives it: 128 + the signal that ended the process."""
    return 128 - returncode if returncode < 0 else returncode


def chrt_allowed():
    """True when this process may start a program under SCHED_FIFO 50."""
    try:
        chrt = subprocess.run(["chrt", "-f", "50", "true"], stderr=subprocess.DEVNULL)
    except OSError:
        return False
    return chrt.returncode == 0


class Soak:
    """The writer, the control loop and the readers of one run, in a work directory of logs."""

    def __init__(self, options, build):
        self.options = options
        self.readers = int(options["readers"])
        self.id = f"soak-{os.getpid()}"
        self.writer_bin = f"{build}/bench/pvshm-soak-writer"
        self.reader_bins = {
            "cpp": [f"{build}/bench/pvshm-soak-reader"],
            "python": ["/usr/bin/python3", "bench/soak_reader.py"],
            "gst": [f"{build}/bench/pvshm-soak-gst"],
        }
        self.priority, self.policy = ["chrt", "-f", "50"], "SCHED_FIFO 50"
        if not options["rt"] or not chrt_allowed():
            self.priority, self.policy = [], "normal priority"
        self.work = tempfile.mkdtemp(prefix="pvshm-soak.")
        self.keep_work = False
        self.writer = None
        self.writer_output = b""
        self.control = None
        self.reader = [None] * self.readers
        self.kind = [KINDS[i % 3] for i in range(self.readers)]
        self.runs = [0] * self.readers
        self.kills = dict.fromkeys(KINDS, 0)
        self.unexpected = 0

    def log(self, name):
        return os.path.join(self.work, name)

    def writer_command(self, id_, stats):
        command = [self.writer_bin, id_, str(WIDTH), str(HEIGHT), str(FPS), self.options["slots"],
                   self.log(stats)]
        return self.priority + command

    def start_writers(self):
        """The writer, then the control loop; False when the writer did not say it is ready
        within 10 s."""
        with open(self.log("writer.err"), "w") as err:
            self.writer = subprocess.Popen(self.writer_command(self.id, "writer.stats"),
                                           stdout=subprocess.PIPE, stderr=err)
        with open(self.log("control.err"), "w") as err:
            self.control = subprocess.Popen(self.writer_command("-", "control.stats"),
                                            stdout=subprocess.DEVNULL, stderr=err)
        out = self.writer.stdout.fileno()
        deadline = time.monotonic() + 10
        while not self.writer_said("ready", "error"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([out], [], [], left)[0]:
                break
            chunk = os.read(out, 4096)
            if not chunk:
                break
            self.writer_output += chunk
        return self.writer_said("ready")

    def writer_said(self, *beginnings):
        """True when a line the writer printed starts with one of `beginnings`."""
        lines = self.writer_output.decode(errors="replace").split("\n")[:-1]
        return any(line.startswith(beginnings) for line in lines)

    def writer_logs(self):
        """What the writer printed (all of it, once it has exited), and its errors."""
        if self.writer.poll() is not None:
            self.writer_output += self.writer.stdout.read()
        with open(self.log("writer.err"), errors="replace") as err:
            return self.writer_output.decode(errors="replace") + err.read()

    def reader_log(self, i, ending):
        return self.log(f"{self.kind[i]}.{i}.{self.runs[i]}.{ending}")

    def start_reader(self, i):
        self.runs[i] += 1
        command = ["nice", "-n", self.options["reader-nice"], *self.reader_bins[self.kind[i]],
                   self.id, str(WIDTH), str(HEIGHT), self.reader_log(i, "stats")]
        with open(self.reader_log(i, "err"), "w") as err:
            self.reader[i] = subprocess.Popen(command, stderr=err)

    def restart_exited_readers(self):
        """A reader that exited on its own (not killed by us) is a failure; it is restarted."""
        for i, reader in enumerate(self.reader):
            if reader.poll() is None:
                continue
            self.unexpected += 1
            self.keep_work = True
            with open(self.reader_log(i, "err"), errors="replace") as err:
                last_lines = "\n".join(err.read().rstrip("\n").split("\n")[-3:])
            print(f"soak: {KIND_NAMES[self.kind[i]]} reader {i} exited (status "
                  f"{status_of(reader.returncode)}): {last_lines}", file=sys.stderr)
            self.start_reader(i)

    def kill_reader(self, i):
        self.reader[i].kill()
        self.reader[i].wait()
        self.kills[self.kind[i]] += 1
        self.start_reader(i)

    def resident_memory(self):
        """Of the writer and the three long-lived readers."""
        return [rss_of(process.pid) for process in [self.writer, *self.reader[:3]]]

    def stop(self):
        """Readers first, then the writer (which writes its final figures and removes the
        segment)."""
        for reader in self.reader:
            reader.terminate()
        for reader in self.reader:
            reader.wait()
        self.reader = []
        self.writer.terminate()
        self.control.terminate()
        self.writer.wait()
        self.control.wait()
        self.writer = self.control = None

    def close(self):
        """Ends every process still running and removes the segment and, unless they are kept,
        the logs."""
        running = [p for p in [*self.reader, self.writer, self.control] if p and p.poll() is None]
        for process in running:
            process.terminate()
        deadline = time.monotonic() + 0.5
        for process in running:
            try:
                process.wait(max(deadline - time.monotonic(), 0))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shm_dir = os.environ.get("PVSHM_SHM_DIR") or "/dev/shm"
        try:
            os.unlink(f"{shm_dir}/pvshm.{self.id}")
        except FileNotFoundError:
            pass
        if self.keep_work:
            print(f"logs kept in {self.work}", file=sys.stderr)
        else:
            shutil.rmtree(self.work, ignore_errors=True)


def run(soak, minutes, seed):
    """Starts, kills and restarts readers for `minutes`, then reports; returns the exit status."""
    if not soak.start_writers():
        print(f"{sys.argv[0]}: the writer did not start:", file=sys.stderr)
        print(soak.writer_logs(), end="", file=sys.stderr)
        return 1
    for i in range(soak.readers):
        soak.start_reader(i)
    print(f"soak: {soak.readers} readers on {soak.id} ({WIDTH}x{HEIGHT} GRAY8, {FPS} frames/s, "
          f"{soak.options['slots']} slots), {minutes} min, seed {seed}", file=sys.stderr)

    kills = random.Random(int(seed))
    duration = int(float(minutes) * 60e6) / 1e6
    start = time.monotonic()
    end = start + duration
    # Resident memory "at start": once every process has mapped the segment and run for a while.
    warmup = min(duration / 6, 10)
    rss_start = None
    next_progress = start + 60
    while time.monotonic() < end:
        # Sleep 1.0 to 3.0 s (less at the end), then kill one reader.
        time.sleep(min(1 + kills.randint(0, 2000) / 1000, max(end - time.monotonic(), 0)))
        if soak.writer.poll() is not None:
            print(f"{sys.argv[0]}: the writer exited:", file=sys.stderr)
            print(soak.writer_logs(), end="", file=sys.stderr)
            soak.keep_work = True
            return 1
        soak.restart_exited_readers()
        if rss_start is None and time.monotonic() >= start + warmup:
            rss_start = soak.resident_memory()
        if time.monotonic() >= end:
            break
        if soak.readers > 3:
            soak.kill_reader(3 + kills.randrange(soak.readers - 3))
        if time.monotonic() >= next_progress:
            written = first_numbers(soak.log("writer.stats"), 1)[0]
            print(f"soak: {round((next_progress - start) / 60)} min, {written} frames written",
                  file=sys.stderr)
            next_progress += 60

    rss_end = soak.resident_memory()
    rss_start = rss_start or rss_end
    # The long-lived readers' own counts, before they stop.
    long_lived = {soak.kind[i]: first_numbers(soak.reader_log(i, "stats"), 1)[0] for i in range(3)}
    soak.stop()
    return report(soak, rss_start, rss_end, long_lived, seed)


def report(soak, rss_start, rss_end, long_lived, seed):
    """Prints the figures; returns the exit status."""
    written, dropped, stalls, longest_gap_ns, elapsed_ns, _, cpu_stalls = first_numbers(
        soak.log("writer.stats"), 7)
    _, _, control_stalls, control_gap_ns = first_numbers(soak.log("control.stats"), 4)
    readers = soak.readers
    print()
    print(f"pvshm soak test: {WIDTH}x{HEIGHT} GRAY8 at {FPS} frames/s, {soak.options['slots']} "
          f"slots, {readers} readers ({readers // 3 + (readers % 3 > 0)} C++, "
          f"{readers // 3 + (readers % 3 > 1)} Python, {readers // 3} pvshmsrc; nice "
          f"{soak.options['reader-nice']}), writer {soak.policy}, seed {seed}")
    seconds = elapsed_ns / 1e9
    print(f"duration                     {seconds:.1f} s")
    rate = written / seconds if seconds > 0 else 0
    print(f"frames written               {written} ({rate:.2f} frames/s)")
    torn_total = 0
    nothing_read = False
    for kind in KINDS:
        counts = [first_numbers(path, 3) for path in glob.glob(soak.log(f"{kind}.*.stats"))]
        frames, torn, backwards = (sum(column) for column in zip([0, 0, 0], *counts))
        incarnations = len(glob.glob(soak.log(f"{kind}.*.err")))
        torn_total += torn
        nothing_read = nothing_read or frames == 0
        print(f"frames read, {KIND_NAMES[kind]:<16} {frames} over {incarnations} incarnations "
              f"({soak.kills[kind]} killed); long-lived reader: {long_lived[kind]}; out of order: "
              f"{backwards}")
    print(f"torn frames seen             {torn_total}")
    print(f"writer stalls > {1.5e3 / FPS:.1f} ms      {stalls} (longest gap between publishes "
          f"{longest_gap_ns / 1e6:.1f} ms; {cpu_stalls} explained by waiting for a CPU or host "
          f"steal)")
    print(f"control loop stalls          {control_stalls} (longest gap {control_gap_ns / 1e6:.1f} "
          f"ms; same schedule and fill, no pvshm)")
    print(f"writer frames dropped        {dropped} (every slot pinned)")
    print(f"readers exited on their own  {soak.unexpected}")
    print("resident memory, start (after warm-up) -> end:")
    names = ["writer"] + [f"{KIND_NAMES[soak.kind[i]]} reader (long-lived)" for i in range(3)]
    for name, before, after in zip(names, rss_start, rss_end):
        mib = [f"{kb / 1024:.1f}" for kb in before + after]
        print(f"  {name:<28} {mib[0]:>5} -> {mib[3]:>5} MiB  (anonymous {mib[1]} -> {mib[4]} MiB, "
              f"shared memory {mib[2]} -> {mib[5]} MiB)")
    if torn_total > 0:
        torn_lines = []
        for path in sorted(glob.glob(soak.log("*.err"))):
            with open(path, errors="replace") as err:
                torn_lines += [line for line in err if "TORN" in line]
        print("".join(torn_lines[:5]), end="")
    if torn_total > 0 or stalls > 0 or soak.unexpected > 0 or nothing_read:
        soak.keep_work = True
        print("FAIL")
        return 1
    print("PASS")
    return 0


def on_signal(signum, _frame):
    if signum == signal.SIGINT:
        print("interrupted", file=sys.stderr)
    raise Exit(130 if signum == signal.SIGINT else 143)


def main():
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    options = parse_options(sys.argv[1:])
    build = os.environ.get("PVSHM_BUILD_DIR") or "build"
    for program in ["pvshm-soak-writer", "pvshm-soak-reader", "pvshm-soak-gst"]:
        if not os.access(f"{build}/bench/{program}", os.X_OK):
            print(f"{sys.argv[0]}: {build}/bench/{program} is missing: build first "
                  f"(ninja -C {build})", file=sys.stderr)
            return 2
    environment = build_tree_environment(build)
    if environment is None:
        print(f"{sys.argv[0]}: meson devenv -C {build} failed", file=sys.stderr)
        return 2
    os.environ.update(environment)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    soak = None
    try:
        soak = Soak(options, build)
        return run(soak, options["minutes"], options["seed"])
    except Exit as end:
        return end.status
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if soak:
            soak.close()


if __name__ == "__main__":
    sys.exit(main())
