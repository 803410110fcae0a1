#include "reader_binding.hpp"

#include <algorithm>
#include <chrono>

#include <opencv2/core.hpp>
#include <pybind11/stl.h>

#include <pvshm/format.hpp>
#include <pvshm/normalize.hpp>

#include "arrays.hpp"

namespace py = pybind11;

namespace pvshm::python {
namespace {

// How long wait() blocks without the GIL before it looks for Ctrl-C; a frame ends the wait at
// once, so this bounds only the reaction to signals.
constexpr std::chrono::milliseconds kSignalCheckInterval{100};

// Text read from a segment is whatever bytes its writer put there: invalid UTF-8 becomes U+FFFD
// rather than a UnicodeDecodeError in the middle of a read loop.
py::str text_from_segment(const std::string& text)
{
    PyObject* decoded =
        PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "replace");
    if (!decoded)
        throw py::error_already_set();
    return py::reinterpret_steal<py::str>(decoded);
}

ReaderOptions reader_options(bool allow_other_owner)
{
    ReaderOptions options;
    options.allow_other_owner = allow_other_owner;
    options.allow_other_owner_switch = "allow_other_owner=True";
    return options;
}

py::dict metadata_dict(const FrameInfo& info)
{
    py::dict meta;
    meta["width"] = info.width;
    meta["height"] = info.height;
    meta["format"] = std::string(format_name(info.format));
    meta["sequence"] = info.sequence;
    meta["timestamp_ns"] = info.timestamp_realtime_ns;
    meta["monotonic_ns"] = info.timestamp_monotonic_ns;
    meta["camera_id"] = text_from_segment(info.camera_id);
    meta["caps"] = text_from_segment(info.caps);
    meta["payload_size"] = info.payload_size;
    return meta;
}

} // namespace

ReaderBinding::ReaderBinding(const std::string& shared_mem_id, bool allow_other_owner)
    : id_(shared_mem_id), reader_(shared_mem_id, reader_options(allow_other_owner))
{
}

py::object ReaderBinding::read(const std::string& color_space)
{
    const ColorOrder order = color_order_from_name(color_space);
    cv::Mat image;
    {
        py::gil_scoped_release release;
        std::lock_guard lock(mutex_);
        auto view = reader_.view_latest();
        if (view) {
            normalize_to_rgb(view->info(), view->data(), image, order);
            last_ = view->info();
        }
    }
    if (image.empty())
        return py::none();
    return array_from_image(std::move(image));
}

py::object ReaderBinding::view()
{
    std::optional<FrameView> view;
    {
        py::gil_scoped_release release;
        std::lock_guard lock(mutex_);
        view = reader_.view_latest();
        if (view)
            last_ = view->info();
    }
    if (!view)
        return py::none();
    return array_from_view(std::move(*view));
}

bool ReaderBinding::wait(std::optional<double> timeout_seconds)
{
    using Clock = std::chrono::steady_clock;
    if (timeout_seconds && !(*timeout_seconds >= 0))
        throw py::value_error("wait: timeout must be None or a number of seconds >= 0");
    std::optional<Clock::time_point> deadline;
    // Beyond a year the deadline's arithmetic could overflow; no caller means a finite wait then.
    if (timeout_seconds && *timeout_seconds < 365.0 * 24 * 3600)
        deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(*timeout_seconds));
    for (;;) {
        auto slice = std::chrono::nanoseconds(kSignalCheckInterval);
        if (deadline)
            slice = std::min(slice, std::max(std::chrono::nanoseconds::zero(),
                                             std::chrono::nanoseconds(*deadline - Clock::now())));
        bool arrived = false;
        {
            py::gil_scoped_release release;
            std::lock_guard lock(mutex_);
            arrived = reader_.wait(slice);
        }
        if (arrived)
            return true;
        if (deadline && Clock::now() >= *deadline)
            return false;
        if (PyErr_CheckSignals() != 0)
            throw py::error_already_set(); // KeyboardInterrupt, or whatever a handler raised
    }
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
    return metadata_dict(*last);
}

bool ReaderBinding::writer_alive()
{
    py::gil_scoped_release release;
    std::lock_guard lock(mutex_);
    return reader_.writer_alive();
}

void bind_reader(py::module_& module)
{
    py::class_<ReaderBinding>(
        module, "Reader",
        R"doc(Streams the frames of one shared-memory id, from any number of processes at once.

Reader(shared_mem_id, allow_other_owner=False) never fails for a missing segment: it finds it once
it appears and follows a writer that restarts. An invalid id raises ValueError. A segment owned by
another user raises SegmentError unless allow_other_owner is True. Safe to share between threads; blocking
calls release the GIL.

    reader = pvshm.Reader("cam0")
    while reader.wait(1.0):
        rgb = reader.read()            # (H,W,3) uint8 copy, normalized to RGB
        print(reader.metadata["sequence"], rgb.mean(axis=(0, 1)))
)doc")
        .def(py::init<const std::string&, bool>(), py::arg("shared_mem_id"),
             py::arg("allow_other_owner") = false)
        .def(
            "read", &ReaderBinding::read, py::arg("color_space") = "RGB",
            R"doc(The newest frame as a new (H,W,3) uint8 RGB array, or None when the id has no frame yet.

Every stored format is converted as read_image_from_shared_memory() does; color_space ("RGB" or
"BGR") gives the channel order of raw 3-channel arrays written by
write_image_array_to_shared_memory(). Raises pvshm.DecodeError when the frame cannot be decoded
and pvshm.SegmentError when the id names no usable segment.
)doc")
        .def(
            "view", &ReaderBinding::view,
            R"doc(The newest frame in place, without a copy, as a read-only array, or None when there is no frame.

Packed formats (RGB, BGR, RGBA, BGRA, RGBx, BGRx, GRAY8, GRAY16_LE (uint16), Bayer, YUY2, UYVY
and raw arrays) give shape (H,W,C) over the stored rows; planar (NV12, I420) and encoded (JPEG,
PNG) frames give their payload as a 1-D uint8 array. The bytes are not normalized: see
metadata["format"]. While the array or anything derived from it lives, the writer does not
reuse the frame's slot, so keep it short-lived (del it, or copy what you keep) or the writer
starts dropping frames once every slot is held.
)doc")
        .def("wait", &ReaderBinding::wait, py::arg("timeout") = py::none(),
             R"doc(Waits until a frame newer than the last one read or viewed is available.

timeout is in seconds (None: forever). Returns True when there is such a frame, False on
timeout. Releases the GIL while waiting and stays interruptible by Ctrl-C.
)doc")
        .def_property_readonly(
            "metadata", &ReaderBinding::metadata,
            R"doc(Description of the last frame read() or view() returned, or None before the first: a dict with
width, height, format (name such as "RGB", "NV12", "jpeg"; encoded frames report 0x0), sequence
(1 for the segment's first frame), timestamp_ns (CLOCK_REALTIME capture time), monotonic_ns
(CLOCK_MONOTONIC), camera_id, caps (GStreamer caps when pvshmsink wrote it) and payload_size.
)doc")
        .def_property_readonly("writer_alive", &ReaderBinding::writer_alive,
                               "True while the process writing the id is alive.")
        .def_property_readonly("id", &ReaderBinding::id, "The shared-memory id read.")
        .def("__repr__",
             [](const ReaderBinding& reader) { return "<pvshm.Reader id='" + reader.id() + "'>"; });
}

} // namespace pvshm::python
