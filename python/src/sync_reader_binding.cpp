// SPDX-License-Identifier: LGPL-2.1-or-later
#include "sync_reader_binding.hpp"

#include <chrono>
#include <utility>

#include <pybind11/stl.h>

#include <pvshm/writer.hpp>

#include "reader_binding.hpp"
#include "taken_frame.hpp"
#include "type_name.hpp"
#include "waiting.hpp"

namespace py = pybind11;

namespace pvshm::python {
namespace {

// Any iterable of str but a str itself (which would read as ids of one character each).
std::vector<std::string> ids_from(py::handle ids)
{
    if (py::isinstance<py::str>(ids) || py::isinstance<py::bytes>(ids) ||
        !py::isinstance<py::iterable>(ids))
        throw py::type_error("SyncReader: expected a list of shared-memory ids (str), got " +
                             type_name(ids));
    std::vector<std::string> result;
    for (py::handle id : ids) {
        if (!py::isinstance<py::str>(id))
            throw py::type_error("SyncReader: a shared-memory id is a str, got " + type_name(id));
        result.push_back(id.cast<std::string>());
    }
    return result;
}

SyncOptions sync_options(const std::optional<std::string>& key, std::optional<double> tolerance,
                         long long pending_per_id, bool allow_other_owner)
{
    SyncOptions options;
    if (key) {
        if (key->empty())
            throw py::value_error("SyncReader: key must name a user-metadata key, or be None to "
                                  "match capture times");
        if (tolerance)
            throw py::value_error("SyncReader: give key (equal metadata values) or tolerance "
                                  "(capture times), not both");
        options.key = *key;
    }
    if (tolerance) {
        // Beyond 10^9 s (30 years) the conversion to nanoseconds could overflow.
        if (!(*tolerance >= 0 && *tolerance <= 1e9))
            throw py::value_error(
                "SyncReader: tolerance must be a number of seconds from 0 to 1e9");
        options.tolerance = std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::duration<double>(*tolerance));
    }
    if (pending_per_id < 1 || pending_per_id > kMaxWriterSlots)
        throw py::value_error("SyncReader: pending_per_id must be 1 to " +
                              std::to_string(kMaxWriterSlots) + ", not " +
                              std::to_string(pending_per_id));
    options.pending_per_id = static_cast<uint32_t>(pending_per_id);
    options.reader = reader_options(allow_other_owner);
    return options;
}

} // namespace

SyncReaderBinding::SyncReaderBinding(std::vector<std::string> shared_mem_ids, SyncOptions options)
    : ids_(std::move(shared_mem_ids)), sync_(ids_, std::move(options))
{
}

py::object SyncReaderBinding::take_set(std::optional<double> timeout_seconds,
                                       std::optional<ColorOrder> order, bool with_info,
                                       const char* caller)
{
    std::optional<std::vector<FrameView>> set;
    wait_in_slices(timeout_seconds, caller, [&](std::chrono::nanoseconds slice) {
        std::lock_guard lock(mutex_);
        set = sync_.next(slice);
        return set.has_value();
    });
    if (!set)
        return py::none();
    std::vector<TakenFrame> taken;
    {
        py::gil_scoped_release release;
        taken.reserve(set->size());
        for (size_t i = 0; i < set->size(); ++i)
            taken.emplace_back(std::move((*set)[i]), order, with_info, ids_[i]);
    }
    py::list frames;
    for (TakenFrame& frame : taken)
        frames.append(frame.to_python());
    return std::move(frames);
}

py::object SyncReaderBinding::read_set(std::optional<double> timeout_seconds,
                                       const std::string& color_space, bool with_info)
{
    return take_set(timeout_seconds, color_order_from_name(color_space), with_info, "read_set");
}

py::object SyncReaderBinding::view_set(std::optional<double> timeout_seconds, bool with_info)
{
    return take_set(timeout_seconds, std::nullopt, with_info, "view_set");
}

uint64_t SyncReaderBinding::frames_unmatched()
{
    py::gil_scoped_release release;
    std::lock_guard lock(mutex_);
    return sync_.frames_unmatched();
}

std::optional<double> SyncReaderBinding::closest_spread()
{
    py::gil_scoped_release release;
    std::lock_guard lock(mutex_);
    const auto spread = sync_.closest_spread();
    if (!spread)
        return std::nullopt;
    return std::chrono::duration<double>(*spread).count();
}

void bind_sync_reader(py::module_& module)
{
    py::class_<SyncReaderBinding>(
        module, "SyncReader",
        R"doc(Reads several ids in sets of frames that belong together, one frame per id: a whole set or none.

SyncReader(shared_mem_ids, key=None, tolerance=None, pending_per_id=2, allow_other_owner=False)
takes every frame of each id in order (as Reader.read_next() does: from the newest frame at the
first call, from frame 1 of a lossless writer that had written none yet) and matches them. With
key, frames belong together when their user metadata holds an equal value under key (a trigger
id the cameras store with each frame; a frame without the key belongs to no set). Without,
when their capture times (info["timestamp_realtime_ns"]) lie within tolerance seconds (None: 0.005) of
each other. A set never mixes frames of two triggers (or moments): when a camera missed a frame,
the other cameras' frames of that trigger are passed over (counted in frames_unmatched) and no
set is returned for it.

pending_per_id frames of each id wait here for their partners; each pins a slot of its segment,
so keep it below the writers' slot count minus one. A lossless writer (Writer(lossless=True),
pvshmsink lossless=true) keeps the frames not taken yet. Ids without a segment are followed
until one appears, as by Reader; allow_other_owner as for Reader. Safe to share between
threads; blocking calls release the GIL and stay interruptible by Ctrl-C.

Raises ValueError for an empty list, an id given twice or invalid, an empty key, key and
tolerance together, a tolerance out of 0 to 1e9 s, or pending_per_id out of 1 to 64; TypeError
when shared_mem_ids is not a list (any iterable) of str.

    sync = pvshm.SyncReader([f"cam{i}" for i in range(4)], key="trigger")
    while (rgbs := sync.read_set(timeout=5.0)) is not None:   # four (H,W,3) RGB copies
        ...
    frames = sync.read_set(timeout=1.0, with_info=True)      # [(rgb, info), ...] or None
)doc")
        .def(py::init([](const py::object& shared_mem_ids, const std::optional<std::string>& key,
                         std::optional<double> tolerance, long long pending_per_id,
                         bool allow_other_owner) {
                 return std::make_unique<SyncReaderBinding>(
                     ids_from(shared_mem_ids),
                     sync_options(key, tolerance, pending_per_id, allow_other_owner));
             }),
             py::arg("shared_mem_ids"), py::arg("key") = py::none(),
             py::arg("tolerance") = py::none(), py::arg("pending_per_id") = 2,
             py::arg("allow_other_owner") = false)
        .def(
            "read_set", &SyncReaderBinding::read_set, py::arg("timeout") = py::none(),
            py::arg("color_space") = "RGB", py::arg("with_info") = false,
            R"doc(The next set: a list of new (H,W,3) uint8 RGB arrays, one per id in their order, or None.

Waits until a set completes; None when none did within timeout (seconds; None: forever; 0: only
a set that the frames already written complete). Releases the GIL while waiting and stays
interruptible by Ctrl-C. Each array is what Reader.read(color_space) gives; with_info=True
returns a list of (array, info) pairs, info describing that very frame (see Reader). A frame
that cannot be decoded raises pvshm.DecodeError and its set is passed over.
)doc")
        .def("view_set", &SyncReaderBinding::view_set, py::arg("timeout") = py::none(),
             py::arg("with_info") = false,
             R"doc(As read_set(), with the frames in place, read-only, as Reader.view() gives them.

Each frame pins its slot while its arrays live: keep them short-lived, or the writers start
dropping frames (a lossless writer waits) once every slot is held.
)doc")
        .def_property_readonly("frames_unmatched", &SyncReaderBinding::frames_unmatched,
                               "Frames taken that were not part of any set returned.")
        .def_property_readonly(
            "closest_spread", &SyncReaderBinding::closest_spread,
            R"doc(Why no set came, when matching capture times: seconds between the earliest and latest capture time of the closest frames of every id seen since the last set, or None.

Above tolerance, every id had frames, too far apart: the nearest frames of N cameras that run
free (not triggered together) at one rate lie up to (N-1)/N of a frame interval apart (22 ms for
three at 30 frames/s), so they need a tolerance of that, and a set then pairs frames up to that
far apart. None when
matching a key, when some id has had no frame since the last set, or right after a set.
)doc")
        .def_property_readonly("ids", &SyncReaderBinding::ids,
                               "The shared-memory ids read, in the order of each set.")
        .def("__repr__", [](const SyncReaderBinding& sync) {
            return "<pvshm.SyncReader ids=" + std::string(py::repr(py::cast(sync.ids()))) + ">";
        });
}

} // namespace pvshm::python
