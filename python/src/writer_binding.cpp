// SPDX-License-Identifier: LGPL-2.1-or-later
#include "writer_binding.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>

#include <opencv2/core.hpp>
#include <pybind11/stl.h>

#include <pvshm/clock.hpp>
#include <pvshm/format.hpp>
#include <pvshm/frame.hpp>
#include <pvshm/normalize.hpp>

#include "arrays.hpp"
#include "facts.hpp"

namespace py = pybind11;

namespace pvshm::python {
namespace {

// The format a borrowed array is stored as: its sample type, and for 3 channels the stated
// order (None or "": left to the reader's color_space).
PixelFormat format_of(const cv::Mat& image, const py::object& color_space)
{
    std::optional<ColorOrder> order;
    if (!color_space.is_none()) {
        if (!py::isinstance<py::str>(color_space))
            throw py::type_error(
                "Writer.write: color_space must be None, \"RGB\" or \"BGR\", got " +
                std::string(py::repr(color_space)));
        if (const auto name = color_space.cast<std::string>(); !name.empty())
            order = color_order_from_name(name); // ValueError for anything else
    }
    if (image.depth() == CV_16U)
        return PixelFormat::GRAY16_LE;
    if (image.channels() == 1)
        return PixelFormat::GRAY8;
    if (!order)
        return PixelFormat::Rgb3Unordered;
    return *order == ColorOrder::BGR ? PixelFormat::BGR : PixelFormat::RGB;
}

WriterOptions writer_options(std::optional<long long> slots, const std::string& camera_id,
                             long long bit_depth, bool lossless, double lossless_timeout,
                             long long wait_for_readers, double wait_for_readers_timeout)
{
    if (slots && (*slots < kMinWriterSlots || *slots > kMaxWriterSlots))
        throw py::value_error("Writer: slots must be 2 to 64 (or None: chosen from the frame "
                              "size), not " +
                              std::to_string(*slots));
    if (bit_depth < 0 || bit_depth > static_cast<int>(kMaxBitDepth))
        throw py::value_error("Writer: bit_depth must be 0 (all 16 bits) or 1 to 16, not " +
                              std::to_string(bit_depth));
    // Beyond 10^9 s (30 years) the conversion to nanoseconds could overflow.
    if (!(lossless_timeout >= 0 && lossless_timeout <= 1e9))
        throw py::value_error("Writer: lossless_timeout must be a number of seconds from 0 to 1e9 "
                              "(0: wait as long as the readers live)");
    if (wait_for_readers < 0 || wait_for_readers > 1024)
        throw py::value_error("Writer: wait_for_readers must be 0 to 1024, not " +
                              std::to_string(wait_for_readers));
    if (!(wait_for_readers_timeout >= 0 && wait_for_readers_timeout <= 1e9))
        throw py::value_error("Writer: wait_for_readers_timeout must be a number of seconds from 0 "
                              "to 1e9 (0: as long as it takes)");
    WriterOptions options;
    options.slots = slots ? static_cast<uint32_t>(*slots) : kAutoSlots;
    options.wait_for_readers = static_cast<uint32_t>(wait_for_readers);
    options.wait_for_readers_timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double>(wait_for_readers_timeout));
    options.camera_id = camera_id;
    options.bit_depth = static_cast<uint32_t>(bit_depth);
    options.lossless = lossless;
    options.lossless_timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double>(lossless_timeout));
    return options;
}

} // namespace

WriterBinding::WriterBinding(const std::string& shared_mem_id, WriterOptions options)
    : id_(shared_mem_id)
{
    py::gil_scoped_release release; // creating a segment reserves its memory: no need to stall
    writer_ = std::make_shared<Writer>(shared_mem_id, std::move(options));
}

std::shared_ptr<Writer> WriterBinding::current(const char* caller) const
{
    std::lock_guard lock(handle_mutex_);
    if (!writer_)
        throw py::value_error(std::string(caller) + ": the writer of '" + id_ + "' is closed");
    return writer_;
}

py::object WriterBinding::write(py::handle array, const py::object& color_space,
                                const py::object& metadata, std::optional<int64_t> timestamp_ns)
{
    const BorrowedImage borrowed = borrow_image(array, "Writer.write", SampleTypes::Uint8OrUint16);
    const cv::Mat& image = borrowed.image;
    FrameInfo info =
        packed_frame_info(format_of(image, color_space), static_cast<uint32_t>(image.cols),
                          static_cast<uint32_t>(image.rows));
    info.metadata = metadata_from(metadata, "Writer.write");
    if (timestamp_ns) {
        if (*timestamp_ns <= 0)
            throw py::value_error("Writer.write: timestamp_ns must be a CLOCK_REALTIME time in "
                                  "nanoseconds (> 0), or None for now");
        info.timestamp_realtime_ns = *timestamp_ns;
        // The monotonic capture time (pvshmsrc's timestamps) as long ago as the realtime one.
        const int64_t ago = clock_ns(CLOCK_REALTIME) - *timestamp_ns;
        info.timestamp_monotonic_ns = std::max<int64_t>(1, clock_ns(CLOCK_MONOTONIC) - ago);
    }
    std::optional<uint64_t> sequence;
    {
        py::gil_scoped_release release;
        std::lock_guard lock(write_mutex_);
        const std::shared_ptr<Writer> writer = current("Writer.write");
        auto slot = writer->loan(info.payload_size);
        if (slot) {
            cv::Mat packed(image.rows, image.cols, image.type(), slot->data());
            image.copyTo(packed);
            sequence = writer->publish(*slot, info);
        }
    }
    if (!sequence)
        return py::none();
    return py::int_(*sequence);
}

py::dict WriterBinding::stats()
{
    WriterStats stats;
    {
        py::gil_scoped_release release;
        stats = current("Writer.stats")->stats();
    }
    py::dict dict;
    dict["frames_written"] = stats.frames_written;
    dict["frames_dropped"] = stats.frames_dropped;
    dict["bytes_written"] = stats.bytes_written;
    dict["lossless_drops"] = stats.lossless_drops;
    return dict;
}

void WriterBinding::cancel_wait()
{
    current("Writer.cancel_wait")->cancel_wait();
}

void WriterBinding::close()
{
    py::gil_scoped_release release;
    std::shared_ptr<Writer> writer;
    {
        std::lock_guard lock(handle_mutex_);
        writer = writer_;
    }
    if (!writer)
        return;
    writer->set_flushing(true); // a write() waiting for lossless readers gives up, or never waits
    std::lock_guard lock(write_mutex_);
    std::lock_guard handle_lock(handle_mutex_);
    writer_.reset();
}

bool WriterBinding::closed() const
{
    std::lock_guard lock(handle_mutex_);
    return !writer_;
}

void bind_writer(py::module_& module)
{
    py::class_<WriterBinding>(
        module, "Writer",
        R"doc(The one writer of a shared-memory id, for a process that streams frames.

Writer(shared_mem_id, slots=None, camera_id="", bit_depth=0, lossless=False,
lossless_timeout=0.0, wait_for_readers=0, wait_for_readers_timeout=0.0)
takes the id: creates its segment, or adopts the one a dead writer left. slots (2 to 64) frames
are held at once; None chooses from the frame size: as many as 64 MiB holds (less where
/dev/shm is under 1 GiB), 4 to 64, so that a reader of every frame that stalls for up to
slots - 2 frame intervals loses none (640x480 BGR: 64 slots, 1.2 s at 50 frames/s).
camera_id is stored with every frame; bit_depth (0 = 16, else 1 to 16) is the significant
bits of uint16 frames, by which readers scale them to 8 bits. lossless=True keeps
every frame until each reader of every frame (read_next, view_next, pvshmsrc mode=all) took
it, waiting for them in write(); readers of the newest frame never make it wait, and a reader
that dies stops counting at once. lossless_timeout (seconds, 0 = as long as they live) drops a
reader that fell behind from the wait (counted in stats["lossless_drops"]).
wait_for_readers=N makes the first write() wait (without the GIL) until N readers of every frame
are attached, to replay a recording to readers started later; after wait_for_readers_timeout
seconds (0 = as long as it takes) that write() raises TimeoutError naming how many came.

Raises ValueError for an invalid id or option, OSError (EBUSY) when another live process writes
the id. The segment and its last frame stay after close() or the end of the process, until
dev_clear_shared_memory(). A context manager:

    with pvshm.Writer("cam0", camera_id="left") as writer:
        writer.write(frame, color_space="BGR", metadata={"trigger": 17})
)doc")
        .def(py::init([](const std::string& shared_mem_id, std::optional<long long> slots,
                         const std::string& camera_id, long long bit_depth, bool lossless,
                         double lossless_timeout, long long wait_for_readers,
                         double wait_for_readers_timeout) {
                 return std::make_unique<WriterBinding>(
                     shared_mem_id,
                     writer_options(slots, camera_id, bit_depth, lossless, lossless_timeout,
                                    wait_for_readers, wait_for_readers_timeout));
             }),
             py::arg("shared_mem_id"), py::arg("slots") = py::none(), py::arg("camera_id") = "",
             py::arg("bit_depth") = 0, py::arg("lossless") = false,
             py::arg("lossless_timeout") = 0.0, py::arg("wait_for_readers") = 0,
             py::arg("wait_for_readers_timeout") = 0.0)
        .def(
            "write", &WriterBinding::write, py::arg("image_array"),
            py::arg("color_space") = py::none(), py::arg("metadata") = py::none(),
            py::arg("timestamp_ns") = py::none(),
            R"doc(Stores one frame as the newest of the id; returns its sequence number, or None when it was dropped.

image_array: uint8 (H,W,3) (color_space "RGB" or "BGR" stores its order; None leaves it to
readers' color_space), uint8 (H,W) or (H,W,1) (GRAY8), or uint16 (H,W) or (H,W,1) (GRAY16_LE,
with the writer's bit_depth); contiguous or not. metadata: a dict of str keys to str, int or
float values (at most 4 KiB as JSON), read back with the frame (info["metadata"]).
timestamp_ns: the capture time (CLOCK_REALTIME ns, e.g. time.time_ns() at exposure; the
monotonic capture time is set as long ago); None: now.

A frame is dropped (and counted in stats) when readers hold every slot. A lossless writer waits
here, without the GIL, for readers of every frame; cancel_wait() or close() from another thread
ends that wait (the frame is dropped). Raises TypeError/ValueError for another array, bool or
other metadata values, or metadata over 4 KiB; ValueError once closed.
)doc")
        .def_property_readonly(
            "stats", &WriterBinding::stats,
            R"doc(Counters of the id: a dict with frames_written (across every writer the id had),
frames_dropped (frames that found every slot held by readers), bytes_written and lossless_drops.
)doc")
        .def("cancel_wait", &WriterBinding::cancel_wait,
             "Makes a write() that is waiting for lossless readers now give up (its frame is "
             "dropped); with none waiting it does nothing, and the next write() waits as usual. "
             "Safe from any thread.")
        .def("close", &WriterBinding::close,
             "Gives the id up; its segment and last frame stay readable. Idempotent.")
        .def_property_readonly("closed", &WriterBinding::closed, "True after close().")
        .def_property_readonly("id", &WriterBinding::id, "The shared-memory id written.")
        .def("__enter__", [](py::object self) { return self; })
        .def("__exit__",
             [](WriterBinding& writer, const py::args&) {
                 writer.close();
                 return false;
             })
        .def("__repr__", [](const WriterBinding& writer) {
            return "<pvshm.Writer id='" + writer.id() + "'" + (writer.closed() ? " closed>" : ">");
        });
}

} // namespace pvshm::python
