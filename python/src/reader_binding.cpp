// SPDX-License-Identifier: LGPL-2.1-or-later
#include "reader_binding.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

#include <pybind11/stl.h>

#include "facts.hpp"
#include "taken_frame.hpp"
#include "type_name.hpp"
#include "waiting.hpp"

namespace py = pybind11;

namespace pvshm::python {
namespace {

// Reader.frames(): every frame in order, waiting for each (Reader.__iter__ is frames()).
class FrameIterator
{
public:
    FrameIterator(py::object reader, std::optional<double> timeout, bool view, bool with_info,
                  std::string color_space)
        : owner_(std::move(reader)), reader_(owner_.cast<ReaderBinding*>()), timeout_(timeout),
          view_(view), with_info_(with_info), color_space_(std::move(color_space))
    {
        color_order_from_name(color_space_); // refuse a bad one now rather than at the first frame
        check_timeout(timeout_, "frames");
    }

    py::object next()
    {
        for (;;) {
            py::object frame = view_ ? reader_->view_next(with_info_)
                                     : reader_->read_next(color_space_, with_info_);
            if (!frame.is_none())
                return frame;
            if (!reader_->wait(timeout_))
                throw py::stop_iteration();
        }
    }

private:
    py::object owner_; // keeps the Reader alive
    ReaderBinding* reader_;
    std::optional<double> timeout_;
    bool view_;
    bool with_info_;
    std::string color_space_;
};

} // namespace

ReaderOptions reader_options(bool allow_other_owner, double spin_seconds)
{
    if (!(spin_seconds >= 0 && spin_seconds <= 3600))
        throw py::value_error("spin must be 0 to 3600 seconds, got " +
                              py::str(py::float_(spin_seconds)).cast<std::string>());
    ReaderOptions options;
    options.allow_other_owner = allow_other_owner;
    options.spin = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double>(spin_seconds));
    return options;
}

ReaderBinding::ReaderBinding(const std::string& shared_mem_id, bool allow_other_owner,
                             double spin_seconds)
    : id_(shared_mem_id), reader_(shared_mem_id, reader_options(allow_other_owner, spin_seconds))
{
}

py::object ReaderBinding::take(Pick pick, std::optional<ColorOrder> order, bool with_info)
{
    std::optional<TakenFrame> taken;
    {
        py::gil_scoped_release release;
        std::lock_guard lock(mutex_);
        auto view = pick == Pick::Newest ? reader_.view_latest() : reader_.view_next();
        if (view) {
            taken.emplace(std::move(*view), order, with_info, id_);
            last_ = taken->info();
        }
    }
    if (!taken)
        return py::none();
    return taken->to_python();
}

py::object ReaderBinding::read(const std::string& color_space, bool with_info)
{
    return take(Pick::Newest, color_order_from_name(color_space), with_info);
}

py::object ReaderBinding::view(bool with_info)
{
    return take(Pick::Newest, std::nullopt, with_info);
}

py::object ReaderBinding::read_next(const std::string& color_space, bool with_info)
{
    return take(Pick::Next, color_order_from_name(color_space), with_info);
}

py::object ReaderBinding::view_next(bool with_info)
{
    return take(Pick::Next, std::nullopt, with_info);
}

bool ReaderBinding::wait(std::optional<double> timeout_seconds)
{
    return wait_in_slices(timeout_seconds, "wait", [this](std::chrono::nanoseconds slice) {
        std::lock_guard lock(mutex_);
        return reader_.wait(slice);
    });
}

py::object ReaderBinding::metadata()
{
    std::optional<FrameInfo> last;
    {
        py::gil_scoped_release release;
        std::lock_guard lock(mutex_);
        last = last_;
    }
    if (!last)
        return py::none();
    return frame_dict(*last);
}

uint64_t ReaderBinding::frames_skipped()
{
    py::gil_scoped_release release;
    std::lock_guard lock(mutex_);
    return reader_.frames_skipped();
}

bool ReaderBinding::writer_alive()
{
    py::gil_scoped_release release;
    std::lock_guard lock(mutex_);
    return reader_.writer_alive();
}

py::list wait_any(const py::object& readers, std::optional<double> timeout_seconds)
{
    // A Reader is iterable (its frames): taken for the list, it would wait for frames here.
    if (py::isinstance<ReaderBinding>(readers) || !py::isinstance<py::iterable>(readers))
        throw py::type_error("wait_any: expected a list of pvshm.Reader objects, got " +
                             type_name(readers));
    std::vector<py::object> given;
    std::vector<ReaderBinding*> bindings;
    for (py::handle item : readers) {
        if (!py::isinstance<ReaderBinding>(item))
            throw py::type_error("wait_any: expected pvshm.Reader objects, got " + type_name(item));
        given.push_back(py::reinterpret_borrow<py::object>(item));
        bindings.push_back(item.cast<ReaderBinding*>());
    }
    if (bindings.empty())
        throw py::value_error("wait_any: no readers to wait for");
    // Each reader's mutex is held across the library's wait, taken in address order so that
    // threads waiting on overlapping sets of readers cannot deadlock; a reader given twice is
    // locked and waited for once.
    std::vector<ReaderBinding*> distinct = bindings;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    std::vector<Reader*> targets;
    for (ReaderBinding* binding : distinct)
        targets.push_back(&binding->reader_);

    std::vector<Reader*> ready;
    wait_in_slices(timeout_seconds, "wait_any", [&](std::chrono::nanoseconds slice) {
        std::vector<std::unique_lock<std::mutex>> locks;
        locks.reserve(distinct.size());
        for (ReaderBinding* binding : distinct)
            locks.emplace_back(binding->mutex_);
        ready = pvshm::wait_any(targets, slice);
        return !ready.empty();
    });
    py::list result;
    for (size_t i = 0; i < bindings.size(); ++i)
        if (std::find(ready.begin(), ready.end(), &bindings[i]->reader_) != ready.end())
            result.append(given[i]);
    return result;
}

void bind_reader(py::module_& module)
{
    py::class_<FrameIterator>(module, "FrameIterator",
                              "Iterator of Reader.frames(): every frame in order.")
        .def("__iter__", [](py::object self) { return self; })
        .def("__next__", &FrameIterator::next);

    py::class_<ReaderBinding>(
        module, "Reader",
        R"doc(Streams the frames of one shared-memory id, from any number of processes at once.

Reader(shared_mem_id, allow_other_owner=False, spin=0.0) never fails for a missing segment: it
finds it once it appears and follows a writer that restarts. An invalid id raises ValueError. A
segment owned by another user raises SegmentError unless allow_other_owner is True. Safe to share
between threads; blocking calls release the GIL.

spin (seconds, 0 to 3600) is the low-latency mode: each wait looks for a new frame in a busy loop
for that long before it sleeps, so a frame is seen within microseconds of its publication, at the
price of a core kept busy while it spins. 0 (the default) sleeps at once; wait_any() never
spins.

Two ways to read: read()/view() give the newest frame (skipping those written meanwhile: a live
camera), read_next()/view_next() the oldest frame newer than the last one returned (every frame
in order; a lossless writer waits for such readers). Iterating a reader gives every frame in
order, waiting for each:

    reader = pvshm.Reader("cam0")
    while reader.wait(1.0):
        rgb, info = reader.read(with_info=True)   # (H,W,3) uint8 copy, normalized to RGB
        print(info["sequence"], info["age_ms"], rgb.mean(axis=(0, 1)))

    for rgb in reader.frames(timeout=5.0):        # every frame; ends after 5 s without one
        ...

Every call that returns a frame takes with_info (default False): with_info=True returns
(frame, info) where info is a dict describing exactly that frame, with the keys of metadata plus
age_ms (float: milliseconds since its capture, CLOCK_REALTIME, when it was taken) and
writer_alive (whether the segment's writer was alive then).
)doc")
        .def(py::init<const std::string&, bool, double>(), py::arg("shared_mem_id"),
             py::arg("allow_other_owner") = false, py::arg("spin") = 0.0)
        .def(
            "read", &ReaderBinding::read, py::arg("color_space") = "RGB",
            py::arg("with_info") = false,
            R"doc(The newest frame as a new (H,W,3) uint8 RGB array, or None when the id has no frame yet.

Every stored format is converted as read_image_from_shared_memory() does; color_space ("RGB" or
"BGR") gives the channel order of raw 3-channel arrays written without one. with_info=True
returns (array, info) (see the class). Raises pvshm.DecodeError when the frame cannot be decoded
and pvshm.SegmentError when the id names no usable segment.
)doc")
        .def(
            "view", &ReaderBinding::view, py::arg("with_info") = false,
            R"doc(The newest frame in place, without a copy, read-only, or None when there is no frame.

The stored bytes, not normalized (see metadata["format"]), with the stored row strides:
  RGB, BGR, raw 3-channel arrays:  (H,W,3) uint8
  RGBA, BGRA, RGBx, BGRx:          (H,W,4) uint8
  GRAY8, Bayer:                    (H,W,1) uint8
  GRAY16_LE:                       (H,W) uint16 (significant bits: info["bit_depth"], 0 = 16)
  YUY2, UYVY:                      (H,2*ceil(W/2),2) uint8, the stored byte pairs (Y with U or
                                   V), as cv2.cvtColor(..., cv2.COLOR_YUV2RGB_YUY2) takes them
  NV12:                            tuple (Y (H,W), UV (ceil(H/2),ceil(W/2),2)) of uint8
  I420:                            tuple (Y (H,W), U (ceil(H/2),ceil(W/2)), V likewise) of uint8
  JPEG, PNG, other encoded bytes:  (payload_size,) uint8
with_info=True returns (array or tuple, info) (see the class). While any of these arrays or
anything derived from them lives, the writer does not reuse the frame's slot, so keep them
short-lived (del them, or copy what you keep) or the writer starts dropping frames once every
slot is held.
)doc")
        .def("read_next", &ReaderBinding::read_next, py::arg("color_space") = "RGB",
             py::arg("with_info") = false,
             R"doc(The oldest frame newer than the last one returned, as read() gives it, or None.

Reading with read_next()/view_next() takes every frame in order (the first call: the newest
frame there is, or frame 1 when the reader called it before a lossless writer's first frame);
frames overwritten before they could be read are counted in frames_skipped. A lossless writer
(Writer(lossless=True), pvshmsink lossless=true) keeps each frame until such readers took it.
A frame that cannot be decoded raises pvshm.DecodeError and is passed over.
)doc")
        .def("view_next", &ReaderBinding::view_next, py::arg("with_info") = false,
             R"doc(The oldest frame newer than the last one returned, as view() gives it, or None.

See read_next() for the order and view() for the arrays. Keeping a view pins its slot: a lossless
writer may have to wait for the frames after it while every other slot is taken.
)doc")
        .def("wait", &ReaderBinding::wait, py::arg("timeout") = py::none(),
             R"doc(Waits until a frame newer than the last one returned is available.

timeout is in seconds (None: forever). Returns True when there is such a frame, False on
timeout. Releases the GIL while waiting and stays interruptible by Ctrl-C.
)doc")
        .def(
            "frames",
            [](py::object self, std::optional<double> timeout, bool view, bool with_info,
               const std::string& color_space) {
                return FrameIterator(std::move(self), timeout, view, with_info, color_space);
            },
            py::arg("timeout") = py::none(), py::arg("view") = false, py::arg("with_info") = false,
            py::arg("color_space") = "RGB",
            R"doc(Iterator over every frame in order: read_next() (or view_next() with view=True) after wait().

Each step waits for the next frame (releasing the GIL, interruptible by Ctrl-C). timeout, in
seconds, ends the iteration when no new frame came within it; None (the default, also
`for frame in reader`) waits forever: leave the loop with break (or Ctrl-C). with_info=True
yields (frame, info) pairs.
)doc")
        .def(
            "__iter__",
            [](py::object self) {
                return FrameIterator(std::move(self), std::nullopt, false, false, "RGB");
            },
            "Every frame in order, as RGB copies: frames() without a timeout (never ends by "
            "itself).")
        .def_property_readonly(
            "metadata", &ReaderBinding::metadata,
            R"doc(Description of the last frame this reader returned (read, view, read_next, view_next), or None.

A dict with width, height, format (name such as "RGB", "NV12", "jpeg"; encoded frames report
0x0), sequence (1 for the segment's first frame), timestamp_realtime_ns (CLOCK_REALTIME capture
time), timestamp_monotonic_ns (CLOCK_MONOTONIC), as FrameInfo names them in C++ (also under the
older keys timestamp_ns and monotonic_ns), timestamp_ms (whole milliseconds), camera_id, caps
(GStreamer caps when pvshmsink wrote it), payload_size, bit_depth (significant bits of 16-bit
gray, 0 = all) and metadata (the frame's user metadata: a dict of str to str, int or float).
)doc")
        .def_property_readonly(
            "frames_skipped", &ReaderBinding::frames_skipped,
            "Frames read_next()/view_next() found overwritten before they could be read.")
        .def_property_readonly("writer_alive", &ReaderBinding::writer_alive,
                               "True while the process writing the id is alive.")
        .def_property_readonly("id", &ReaderBinding::id, "The shared-memory id read.")
        .def("__repr__",
             [](const ReaderBinding& reader) { return "<pvshm.Reader id='" + reader.id() + "'>"; });

    module.def(
        "wait_any", &wait_any, py::arg("readers"), py::arg("timeout") = py::none(),
        R"doc(Waits until at least one of readers has a frame newer than the last one it returned.

readers is a list (any iterable) of pvshm.Reader. Returns the list of those that have one, in the
order given, or [] when timeout (seconds; None: forever) passes first. One sleep on every
segment at once, woken by whichever writer publishes first: no polling. Releases the GIL and
stays interruptible by Ctrl-C. Raises TypeError for anything but Readers, ValueError for an
empty list.

    readers = [pvshm.Reader(f"cam{i}") for i in range(4)]
    while True:
        for reader in pvshm.wait_any(readers, timeout=1.0):
            while (frame := reader.view_next()) is not None:
                ...
)doc");
}

} // namespace pvshm::python
