// SPDX-License-Identifier: LGPL-2.1-or-later
#include "decode.hpp"

#include <memory>
#include <optional>
#include <png.h>
#include <string>
#include <turbojpeg.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <pvshm/frame.hpp>
#include <pvshm/normalize.hpp>

namespace pvshm {
namespace {

struct Size
{
    uint32_t width = 0;
    uint32_t height = 0;
};

// One decompressor per thread: creating one allocates, and handles are not thread-safe. A handle
// that failed is left in a state its next call trips over: it is replaced.
using Decompressor = std::unique_ptr<void, int (*)(tjhandle)>;

Decompressor& thread_decompressor()
{
    thread_local Decompressor handle(nullptr, tjDestroy);
    if (!handle)
        handle.reset(tjInitDecompress());
    if (!handle)
        throw DecodeError(std::string("cannot start the JPEG decoder: ") + tjGetErrorStr2(nullptr));
    return handle;
}

std::optional<Size> jpeg_size(tjhandle decompressor, const uint8_t* bytes, size_t size)
{
    int width = 0;
    int height = 0;
    int subsampling = 0;
    int colorspace = 0;
    // A warning (junk between markers, say) still reads the frame header, as the decoder will.
    if ((tjDecompressHeader3(decompressor, bytes, static_cast<unsigned long>(size), &width, &height,
                             &subsampling, &colorspace) != 0 &&
         tjGetErrorCode(decompressor) != TJERR_WARNING) ||
        width <= 0 || height <= 0)
        return std::nullopt;
    return Size{static_cast<uint32_t>(width), static_cast<uint32_t>(height)};
}

std::optional<Size> png_size(const uint8_t* bytes, size_t size)
{
    png_image image{};
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, bytes, size))
        return std::nullopt;
    const Size declared{image.width, image.height};
    png_image_free(&image);
    return declared;
}

void check_bounds(const Size& declared, size_t size, const char* container)
{
    const uint64_t decoded_bytes = uint64_t{declared.width} * declared.height * 3;
    if (declared.width > kMaxDimension || declared.height > kMaxDimension ||
        decoded_bytes > kMaxPayloadSize)
        throw DecodeError("refusing to decode a " + std::to_string(declared.width) + "x" +
                          std::to_string(declared.height) + " " + container + " from " +
                          std::to_string(size) + " bytes (larger than a frame may be)");
}

// Straight into `out` as RGB: no BGR intermediate, no second allocation.
void decode_jpeg(tjhandle decompressor, const uint8_t* bytes, size_t size, const Size& declared,
                 cv::Mat& out)
{
    out.create(static_cast<int>(declared.height), static_cast<int>(declared.width), CV_8UC3);
    // LIMITSCANS: a progressive JPEG of thousands of tiny scans costs seconds from a few bytes.
    const int rc =
        tjDecompress2(decompressor, bytes, static_cast<unsigned long>(size), out.data, out.cols,
                      static_cast<int>(out.step), out.rows, TJPF_RGB, TJFLAG_LIMITSCANS);
    // A warning (corrupt data the decoder recovered from) still gives a whole image, as OpenCV
    // and libjpeg do; an error does not.
    if (rc != 0 && tjGetErrorCode(decompressor) != TJERR_WARNING) {
        const std::string reason = tjGetErrorStr2(decompressor);
        out.setTo(cv::Scalar::all(0));
        throw DecodeError("cannot decode " + std::to_string(size) + " bytes as a JPEG (" + reason +
                          ")");
    }
}

void decode_png(const uint8_t* bytes, size_t size, cv::Mat& out)
{
    cv::Mat bgr;
    std::string reason = "libpng refused it";
    try {
        bgr = cv::imdecode(cv::_InputArray(bytes, static_cast<int>(size)), cv::IMREAD_COLOR);
    } catch (const cv::Exception& error) {
        reason = error.what();
    }
    if (bgr.empty())
        throw DecodeError("cannot decode " + std::to_string(size) + " bytes as a PNG (" + reason +
                          ")");
    cv::cvtColor(bgr, out, cv::COLOR_BGR2RGB);
}

} // namespace

void decode_image(const uint8_t* bytes, size_t size, cv::Mat& out)
{
    Decompressor& decompressor = thread_decompressor();
    const auto jpeg = jpeg_size(decompressor.get(), bytes, size);
    if (jpeg) {
        try {
            check_bounds(*jpeg, size, "JPEG");
            decode_jpeg(decompressor.get(), bytes, size, *jpeg, out);
            return;
        } catch (const DecodeError&) {
            decompressor.reset();
            throw;
        }
    }
    decompressor.reset();
    if (const auto declared = png_size(bytes, size)) {
        check_bounds(*declared, size, "PNG");
        decode_png(bytes, size, out);
        return;
    }
    throw DecodeError("cannot decode " + std::to_string(size) +
                      " bytes: neither a JPEG nor a PNG image whose header can be read");
}

} // namespace pvshm
