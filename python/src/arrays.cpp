#include "arrays.hpp"

#include <cstdint>
#include <memory>
#include <string>

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

// Element layout of the formats whose pixels sit one after another in rows.
struct PackedLayout
{
    py::ssize_t channels = 0; // 0: not a packed format
    bool sixteen_bit = false;
};

PackedLayout packed_layout(PixelFormat format)
{
    switch (format) {
    case PixelFormat::RGB:
    case PixelFormat::BGR:
    case PixelFormat::Rgb3Unordered:
        return {3};
    case PixelFormat::RGBA:
    case PixelFormat::BGRA:
    case PixelFormat::RGBx:
    case PixelFormat::BGRx:
        return {4};
    case PixelFormat::GRAY8:
    case PixelFormat::BayerRGGB:
    case PixelFormat::BayerBGGR:
    case PixelFormat::BayerGRBG:
    case PixelFormat::BayerGBRG:
        return {1};
    case PixelFormat::GRAY16_LE:
        return {1, true};
    case PixelFormat::YUY2: // 4:2:2 interleaved: two bytes per pixel
    case PixelFormat::UYVY:
        return {2};
    default:
        return {};
    }
}

} // namespace

BorrowedImage borrow_image(py::handle object, std::string_view caller)
{
    const std::string prefix = std::string(caller) + ": ";
    if (!py::isinstance<py::array>(object))
        throw py::type_error(prefix + "expected a numpy.ndarray of uint8, got " +
                             std::string(py::str(py::type::handle_of(object).attr("__name__"))));
    auto array = py::reinterpret_borrow<py::array>(object);
    if (array.dtype().kind() != 'u' || array.itemsize() != 1)
        throw py::type_error(prefix + "expected dtype uint8, got " +
                             std::string(py::str(array.dtype())));
    const py::ssize_t ndim = array.ndim();
    if (ndim != 2 && !(ndim == 3 && (array.shape(2) == 1 || array.shape(2) == 3)))
        throw py::value_error(prefix + "expected shape (H,W,3), (H,W) or (H,W,1), got " +
                              shape_text(array));
    const py::ssize_t height = array.shape(0);
    const py::ssize_t width = array.shape(1);
    if (height == 0 || width == 0)
        throw py::value_error(prefix + "the array is empty: shape " + shape_text(array));
    if (height > kMaxDimension || width > kMaxDimension)
        throw py::value_error(prefix + "shape " + shape_text(array) + " exceeds " +
                              std::to_string(kMaxDimension) + " pixels per side");

    const py::ssize_t channels = ndim == 3 ? array.shape(2) : 1;
    // The library copies row by row, so only the pixels of each row need to be packed.
    const bool rows_packed = array.strides(1) == channels &&
                             (channels == 1 || array.strides(2) == 1) &&
                             array.strides(0) >= width * channels;
    if (!rows_packed)
        array = py::array::ensure(array, py::array::c_style);
    cv::Mat image(static_cast<int>(height), static_cast<int>(width),
                  CV_8UC(static_cast<int>(channels)), const_cast<void*>(array.data()),
                  static_cast<size_t>(array.strides(0)));
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

py::array array_from_view(FrameView view)
{
    const FrameInfo& info = view.info();
    const PackedLayout layout = packed_layout(info.format);
    const uint8_t* data = layout.channels ? view.plane(0) : view.data();
    auto owned = std::make_unique<FrameView>(std::move(view));
    py::capsule base(owned.get(), [](void* view) { delete static_cast<FrameView*>(view); });
    owned.release(); // the capsule owns it now: its destruction unpins the slot

    py::array array;
    if (layout.channels) {
        // The reader checked the geometry against the payload (frame_geometry_problem).
        const py::ssize_t item = layout.sixteen_bit ? 2 : 1;
        array = py::array(layout.sixteen_bit ? py::dtype("<u2") : py::dtype::of<uint8_t>(),
                          {py::ssize_t(info.height), py::ssize_t(info.width), layout.channels},
                          {py::ssize_t(info.strides[0]), layout.channels * item, item}, data, base);
    } else {
        array = py::array(py::dtype::of<uint8_t>(), {py::ssize_t(info.payload_size)},
                          {py::ssize_t{1}}, data, base);
    }
    // Shared memory is mapped read-only: numpy must refuse writes rather than fault on them.
    py::detail::array_proxy(array.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
    return array;
}

} // namespace pvshm::python
