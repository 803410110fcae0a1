// SPDX-License-Identifier: LGPL-2.1-or-later
// pvshm._pvshm: the seed API on numpy arrays, the streaming Reader and Writer, wait_any and
// SyncReader. The pure-Python package pvshm re-exports everything here.
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <pybind11/pybind11.h>

#include <pvshm/error.hpp>
#include <pvshm/frame.hpp>
#include <pvshm/normalize.hpp>
#include <pvshm/pvshm.hpp>

#include "arrays.hpp"
#include "facts.hpp"
#include "reader_binding.hpp"
#include "sync_reader_binding.hpp"
#include "type_name.hpp"
#include "writer_binding.hpp"

namespace py = pybind11;

namespace pvshm::python {
namespace {

// image_meta[key] as a Python int (bool excluded), or nullopt when it is not one.
std::optional<py::int_> integer_value(const py::handle& value)
{
    if (py::isinstance<py::bool_>(value) || !PyIndex_Check(value.ptr()))
        return std::nullopt;
    auto number = py::reinterpret_steal<py::int_>(PyNumber_Index(value.ptr()));
    if (!number)
        throw py::error_already_set();
    return number;
}

// `number` as a long long when it lies in [low, high]; otherwise a ValueError naming the key,
// the value and the range (Python ints have no bound, so "does not fit" is a range error too).
long long integer_in_range(const py::int_& number, const char* key, long long low, long long high,
                           const char* note = "")
{
    int overflow = 0;
    const long long value = PyLong_AsLongLongAndOverflow(number.ptr(), &overflow);
    if (value == -1 && PyErr_Occurred())
        throw py::error_already_set();
    if (overflow == 0 && value >= low && value <= high)
        return value;
    throw py::value_error(std::string("image_meta['") + key + "'] = " +
                          std::string(py::repr(number)) + " is out of range: it must be from " +
                          std::to_string(low) + " to " + std::to_string(high) + note);
}

// image_meta["width"] / ["height"]: missing, non-integer (bool included) or non-positive values
// all mean "no image" (0), as in the seed.
int dimension(const py::dict& image_meta, const char* key)
{
    if (!image_meta.contains(key))
        return 0;
    const auto number = integer_value(image_meta[key]);
    if (!number || *number <= py::int_(0))
        return 0;
    return static_cast<int>(
        integer_in_range(*number, key, 1, kMaxDimension, " (0 or less: no image, None)"));
}

int64_t optional_integer(const py::dict& image_meta, const char* key, int64_t fallback)
{
    if (!image_meta.contains(key))
        return fallback;
    const auto number = integer_value(image_meta[key]);
    if (!number)
        throw py::type_error(std::string("image_meta['") + key + "'] must be an int, got " +
                             type_name(image_meta[key]));
    return integer_in_range(*number, key, std::numeric_limits<int64_t>::min(),
                            std::numeric_limits<int64_t>::max());
}

std::string optional_string(const py::dict& image_meta, const char* key, std::string fallback)
{
    if (!image_meta.contains(key))
        return fallback;
    const py::object value = image_meta[key];
    try {
        return value.cast<std::string>();
    } catch (const py::cast_error&) {
        throw py::type_error(std::string("image_meta['") + key + "'] must be a str, got " +
                             type_name(value));
    }
}

py::object read_image(const std::string& shared_mem_id, const py::dict& image_meta)
{
    ImageMeta meta;
    meta.width = dimension(image_meta, "width");
    meta.height = dimension(image_meta, "height");
    meta.color_space = optional_string(image_meta, "color_space", meta.color_space);
    meta.timestamp_ms = optional_integer(image_meta, "timestamp_ms", meta.timestamp_ms);
    meta.camera_id = optional_string(image_meta, "camera_id", meta.camera_id);
    if (image_meta.contains("max_age_ms")) {
        const auto number = integer_value(image_meta["max_age_ms"]);
        if (!number)
            throw py::type_error("image_meta['max_age_ms'] must be an int, got " +
                                 type_name(image_meta["max_age_ms"]));
        // The library compares ages in nanoseconds: larger values would overflow.
        meta.max_age_ms =
            integer_in_range(*number, "max_age_ms", 0,
                             std::numeric_limits<int64_t>::max() / 1000000, " (0: any age)");
    }
    cv::Mat image;
    {
        py::gil_scoped_release release;
        image = read_image_from_shared_memory(shared_mem_id, meta);
    }
    if (image.empty())
        return py::none();
    return array_from_image(std::move(image));
}

// color_space None or "": the array's order is left to the reader; "RGB"/"BGR" stores it.
std::string stated_color_space(const py::object& color_space, const char* caller)
{
    if (color_space.is_none())
        return {};
    if (!py::isinstance<py::str>(color_space))
        throw py::type_error(std::string(caller) +
                             ": color_space must be None, \"RGB\" or \"BGR\", got " +
                             std::string(py::repr(color_space)));
    auto name = color_space.cast<std::string>();
    if (!name.empty())
        color_order_from_name(name); // ValueError for anything else, also for a gray array
    return name;
}

void write_image_array(const std::string& shared_mem_id, py::handle image_array,
                       const py::object& color_space, const py::object& metadata)
{
    const char* caller = "write_image_array_to_shared_memory";
    const BorrowedImage borrowed = borrow_image(image_array, caller);
    const std::string order = stated_color_space(color_space, caller);
    const UserMetadata user_metadata = metadata_from(metadata, caller);
    py::gil_scoped_release release;
    write_image_array_to_shared_memory(shared_mem_id, borrowed.image, order, user_metadata);
}

bool c_contiguous(const py::buffer_info& buffer)
{
    py::ssize_t expected = buffer.itemsize;
    for (py::ssize_t axis = buffer.ndim - 1; axis >= 0; --axis) {
        if (buffer.shape[axis] != 1 && buffer.strides[axis] != expected)
            return false;
        expected *= buffer.shape[axis];
    }
    return true;
}

void dev_write_image(const std::string& shared_mem_id, py::handle image_bytes,
                     const py::object& metadata)
{
    const UserMetadata user_metadata = metadata_from(metadata, "dev_write_image_to_shared_memory");
    // Any contiguous bytes-like object (bytes, bytearray, memoryview, numpy): str and ints are
    // TypeErrors.
    if (!py::isinstance<py::buffer>(image_bytes))
        throw py::type_error("dev_write_image_to_shared_memory: image_bytes must be a bytes-like "
                             "object, got " +
                             type_name(image_bytes));
    const py::buffer_info buffer = py::reinterpret_borrow<py::buffer>(image_bytes).request();
    if (!c_contiguous(buffer))
        throw py::value_error("dev_write_image_to_shared_memory: image_bytes must be contiguous");
    const auto* bytes = static_cast<const uint8_t*>(buffer.ptr);
    std::vector<uint8_t> copy(bytes, bytes + buffer.size * buffer.itemsize);
    py::gil_scoped_release release;
    dev_write_image_to_shared_memory(shared_mem_id, std::move(copy), user_metadata);
}

void dev_clear(const std::string& shared_mem_id)
{
    py::gil_scoped_release release;
    dev_clear_shared_memory(shared_mem_id);
}

// What the first frame a Reader returns would otherwise pay (measured 2-15 ms against 0.5 ms
// for the next ones, 640x480 BGR): OpenCV's first conversion (its thread pool and dispatch) and
// numpy's array API, paid once here, at import, so that a reader of every frame started before
// its writer takes the first frames as fast as the later ones.
void warm_up()
{
    const FrameInfo info = packed_frame_info(PixelFormat::BGR, 640, 480);
    const std::vector<uint8_t> payload(info.payload_size);
    cv::Mat rgb;
    normalize_to_rgb(info, payload.data(), rgb);
    array_from_image(std::move(rgb));
}

// SegmentError's Python class, for the translator that words a refused owner's error.
PyObject* segment_error_type = nullptr;

} // namespace
} // namespace pvshm::python

PYBIND11_MODULE(_pvshm, module)
{
    using namespace pvshm::python;
    module.doc() = "Camera frames between processes through shared memory (see the pvshm package).";
    module.attr("__version__") = PVSHM_VERSION;
    warm_up();

    // std::invalid_argument already becomes ValueError (pybind11's default); the library's own
    // errors get Python classes so that callers can tell them from their own mistakes.
    auto& segment_error =
        py::register_exception<pvshm::SegmentError>(module, "SegmentError", PyExc_RuntimeError);
    segment_error.doc() = "The id names an object that is not a usable pvshm segment (truncated, "
                          "corrupt, of another layout version or another user).";
    segment_error_type = segment_error.ptr();
    py::register_exception<pvshm::DecodeError>(module, "DecodeError", PyExc_RuntimeError).doc() =
        "A frame's bytes could not be decoded into an image.";
    py::register_exception_translator([](std::exception_ptr error) {
        try {
            if (error)
                std::rethrow_exception(error);
        } catch (const pvshm::OtherOwnerError& other_owner) {
            PyErr_SetString(segment_error_type, (std::string(other_owner.what()) +
                                                 "; allow it with allow_other_owner=True (or "
                                                 "PVSHM_ALLOW_OTHER_OWNERS=1)")
                                                    .c_str());
        } catch (const std::system_error& system_error) {
            // OSError(errno, text) picks the matching subclass (PermissionError, ...).
            PyErr_SetObject(PyExc_OSError,
                            py::make_tuple(system_error.code().value(), system_error.what()).ptr());
        }
    });

    module.def("read_image_from_shared_memory", &read_image, py::arg("shared_mem_id"),
               py::arg("image_meta"),
               R"doc(The newest frame of the segment as a (H,W,3) uint8 RGB array, or None.

image_meta is a dict: width and height (ints; missing, non-integer or <= 0 give None),
color_space ("RGB" default or "BGR": the channel order of raw 3-channel arrays), max_age_ms (int;
0, the default, accepts any age: an older frame gives zeros), timestamp_ms and camera_id
(accepted, informational). The frame's own size wins over image_meta's. Every format is
normalized: gray expanded, BGR reversed, alpha dropped, 16-bit gray scaled by its significant
bits, YUV converted, Bayer demosaiced, JPEG/PNG decoded. Zeros of (height, width, 3) when the id
has no segment or frame, the frame is older than max_age_ms or cannot be decoded (the reason is
logged once). Raises ValueError for an invalid id or an integer out of range (width or height
above 65535, timestamp_ms beyond 64 bits, max_age_ms negative or beyond 2**63 ns), TypeError for
a value of the wrong type.
)doc");
    module.def(
        "write_image_array_to_shared_memory", &write_image_array, py::arg("shared_mem_id"),
        py::arg("image_array"), py::arg("color_space") = py::none(),
        py::arg("metadata") = py::none(),
        R"doc(Stores a uint8 array of shape (H,W,3), (H,W) or (H,W,1), contiguous or not, as the newest frame.

The segment is created or grown as needed and this process stays the id's writer until it exits
or clears the id. color_space "RGB" or "BGR" stores the channel order of a 3-channel array
(readers then convert by it); None or "" stores none, and readers say it with their own
color_space. metadata is a dict of str keys to str, int or float values (at most 4 KiB as JSON)
stored with the frame (Reader: info["metadata"]). Raises TypeError for a non-array, another dtype,
or metadata that is not such a dict (bool values included); ValueError for another shape, an
invalid id or color_space, metadata over 4 KiB, an empty key or a non-finite float; OSError
(EBUSY) when another live process writes the id.
)doc");
    module.def(
        "dev_write_image_to_shared_memory", &dev_write_image, py::arg("shared_mem_id"),
        py::arg("image_bytes"), py::arg("metadata") = py::none(),
        R"doc(Stores encoded image bytes (JPEG, PNG, anything OpenCV decodes) as the newest frame.

image_bytes is any bytes-like object. Bytes that are not an image are stored anyway; readers then
get zeros. metadata as for write_image_array_to_shared_memory(). Raises ValueError for an invalid
id or empty bytes.
)doc");
    module.def(
        "dev_clear_shared_memory", &dev_clear, py::arg("shared_mem_id"),
        R"doc(Removes the segment of the id; no error when there is none. Raises ValueError for an invalid id.
Processes that still read it keep what they have mapped.
)doc");

    bind_reader(module);
    bind_sync_reader(module);
    bind_writer(module);
}
