// SPDX-License-Identifier: LGPL-2.1-or-later
#include "arrays.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "type_name.hpp"

namespace py = pybind11;

namespace pvshm::python {
namespace {

std::string shape_text(const py::array& array)
{
    std::string text = "(";
    for (py::ssize_t axis = 0; axis < array.ndim(); ++axis)
        text += (axis ? ", " : "") + std::to_string(array.shape(axis));
    return text + (array.ndim() == 1 ? ",)" : ")");
}

// One array of a view: which plane it starts at, its element type, shape and strides in bytes.
struct PlaneArray
{
    int plane = 0; // -1: the whole payload
    bool sixteen_bit = false;
    std::vector<py::ssize_t> shape;
    std::vector<py::ssize_t> strides;
};

struct ViewLayout
{
    std::vector<PlaneArray> arrays;
    bool tuple = false; // planar formats: a tuple of one array per plane
};

// The one place that says how view() shows each format (documented in arrays.hpp). Readers
// checked the geometry against the payload (frame_geometry_problem), which bounds every array.
ViewLayout view_layout(const FrameInfo& info)
{
    using S = py::ssize_t;
    const S height = info.height;
    const S width = info.width;
    const S half_height = (height + 1) / 2;
    const S half_width = (width + 1) / 2;
    auto stride = [&](int plane) { return S(info.strides[plane]); };
    auto packed = [&](S channels) {
        return ViewLayout{{{0, false, {height, width, channels}, {stride(0), channels, 1}}}};
    };

    switch (info.format) {
    case PixelFormat::RGB:
    case PixelFormat::BGR:
    case PixelFormat::Rgb3Unordered:
        return packed(3);
    case PixelFormat::RGBA:
    case PixelFormat::BGRA:
    case PixelFormat::RGBx:
    case PixelFormat::BGRx:
        return packed(4);
    case PixelFormat::GRAY8:
    case PixelFormat::BayerRGGB:
    case PixelFormat::BayerBGGR:
    case PixelFormat::BayerGRBG:
    case PixelFormat::BayerGBRG:
        return packed(1);
    case PixelFormat::GRAY16_LE:
        return ViewLayout{{{0, true, {height, width}, {stride(0), 2}}}};
    case PixelFormat::YUY2: // 4:2:2 interleaved: 4 bytes per pair of pixels
    case PixelFormat::UYVY:
        return ViewLayout{{{0, false, {height, 2 * half_width, 2}, {stride(0), 2, 1}}}};
    case PixelFormat::NV12:
        return ViewLayout{{{0, false, {height, width}, {stride(0), 1}},
                           {1, false, {half_height, half_width, 2}, {stride(1), 2, 1}}},
                          true};
    case PixelFormat::I420:
        return ViewLayout{{{0, false, {height, width}, {stride(0), 1}},
                           {1, false, {half_height, half_width}, {stride(1), 1}},
                           {2, false, {half_height, half_width}, {stride(2), 1}}},
                          true};
    default: // encoded bytes
        return ViewLayout{{{-1, false, {S(info.payload_size)}, {1}}}};
    }
}

bool is_uint(const py::array& array, py::ssize_t size)
{
    return array.dtype().kind() == 'u' && array.itemsize() == size;
}

} // namespace

BorrowedImage borrow_image(py::handle object, std::string_view caller, SampleTypes types)
{
    const std::string prefix = std::string(caller) + ": ";
    const bool uint16_allowed = types == SampleTypes::Uint8OrUint16;
    const std::string expected_types = uint16_allowed ? "uint8 or uint16" : "uint8";
    if (!py::isinstance<py::array>(object))
        throw py::type_error(prefix + "expected a numpy.ndarray of " + expected_types + ", got " +
                             type_name(object));
    auto array = py::reinterpret_borrow<py::array>(object);
    const bool sixteen_bit = uint16_allowed && is_uint(array, 2);
    if (!is_uint(array, 1) && !sixteen_bit)
        throw py::type_error(prefix + "expected dtype " + expected_types + ", got " +
                             std::string(py::str(array.dtype())));
    const py::ssize_t ndim = array.ndim();
    const bool gray = ndim == 2 || (ndim == 3 && array.shape(2) == 1);
    if (sixteen_bit && !gray)
        throw py::value_error(prefix +
                              "expected a uint16 array of shape (H,W) or (H,W,1) "
                              "(16-bit gray), got " +
                              shape_text(array));
    if (!gray && !(ndim == 3 && array.shape(2) == 3))
        throw py::value_error(prefix + "expected shape (H,W,3), (H,W) or (H,W,1), got " +
                              shape_text(array));
    const py::ssize_t height = array.shape(0);
    const py::ssize_t width = array.shape(1);
    if (height == 0 || width == 0)
        throw py::value_error(prefix + "the array is empty: shape " + shape_text(array));
    if (height > kMaxDimension || width > kMaxDimension)
        throw py::value_error(prefix + "shape " + shape_text(array) + " exceeds " +
                              std::to_string(kMaxDimension) + " pixels per side");

    if (sixteen_bit && array.dtype().attr("byteorder").cast<std::string>() == ">")
        array = array.attr("astype")("<u2").cast<py::array>(); // stored little-endian: GRAY16_LE
    const py::ssize_t channels = ndim == 3 ? array.shape(2) : 1;
    const py::ssize_t item = sixteen_bit ? 2 : 1;
    // The library copies row by row, so only the pixels of each row need to be packed.
    const bool rows_packed =
        array.strides(1) == channels * item && (channels == 1 || array.strides(2) == item) &&
        array.strides(0) >= width * channels * item && array.strides(0) % item == 0;
    if (!rows_packed)
        array = py::array::ensure(array, py::array::c_style);
    const int type = sixteen_bit ? CV_16UC1 : CV_8UC(static_cast<int>(channels));
    cv::Mat image(static_cast<int>(height), static_cast<int>(width), type,
                  const_cast<void*>(array.data()), static_cast<size_t>(array.strides(0)));
    return {std::move(array), std::move(image)};
}

py::array array_from_image(cv::Mat image)
{
    auto owned = std::make_unique<cv::Mat>(std::move(image));
    const cv::Mat& mat = *owned;
    py::capsule base(owned.get(), [](void* mat) { delete static_cast<cv::Mat*>(mat); });
    owned.release(); // the capsule owns it now
    return py::array(py::dtype::of<uint8_t>(), {mat.rows, mat.cols, 3},
                     {static_cast<py::ssize_t>(mat.step[0]), py::ssize_t{3}, py::ssize_t{1}},
                     mat.data, base);
}

py::object array_from_view(FrameView view)
{
    const ViewLayout layout = view_layout(view.info());
    auto owned = std::make_unique<FrameView>(std::move(view));
    const FrameView& kept = *owned;
    py::capsule base(owned.get(), [](void* view) { delete static_cast<FrameView*>(view); });
    owned.release(); // the capsule owns it now: its destruction unpins the slot

    py::tuple arrays(layout.arrays.size());
    for (size_t i = 0; i < layout.arrays.size(); ++i) {
        const PlaneArray& plane = layout.arrays[i];
        const uint8_t* data = plane.plane < 0 ? kept.data() : kept.plane(plane.plane);
        py::array array(plane.sixteen_bit ? py::dtype("<u2") : py::dtype::of<uint8_t>(),
                        plane.shape, plane.strides, data, base);
        // Shared memory is mapped read-only: numpy must refuse writes rather than fault on them.
        // The base (a capsule) offers no writable buffer, so numpy refuses to set it back too.
        array.attr("setflags")(py::arg("write") = false);
        arrays[i] = std::move(array);
    }
    if (layout.tuple)
        return std::move(arrays);
    return arrays[0];
}

} // namespace pvshm::python
