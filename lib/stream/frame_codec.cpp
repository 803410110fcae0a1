// SPDX-License-Identifier: LGPL-2.1-or-later
#include "frame_codec.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <turbojpeg.h>
#include <zstd.h>

#include <pvshm/normalize.hpp>

namespace pvshm::stream {
namespace {

tjhandle tj(void* handle)
{
    return static_cast<tjhandle>(handle);
}

// GStreamer's default matrix for YUV caps that name none: BT.601 up to 576 lines, else BT.709.
bool is_bt601(const FrameInfo& info)
{
    if (info.matrix == ColorMatrix::Unspecified)
        return info.height <= 576;
    return info.matrix == ColorMatrix::BT601;
}

// JPEG's YCbCr is BT.601 in full range: limited-range samples are expanded to it.
struct RangeTables
{
    std::array<uint8_t, 256> luma;
    std::array<uint8_t, 256> chroma;

    explicit RangeTables(bool limited)
    {
        for (int v = 0; v < 256; ++v) {
            const int y = limited ? ((v - 16) * 255 + 109) / 219 : v;
            const int c = limited ? ((v - 128) * 255 + (v >= 128 ? 112 : -112)) / 224 + 128 : v;
            luma[size_t(v)] = uint8_t(std::clamp(y, 0, 255));
            chroma[size_t(v)] = uint8_t(std::clamp(c, 0, 255));
        }
    }
};

const RangeTables& range_tables(ColorRange range)
{
    static const RangeTables full(false);
    static const RangeTables limited(true);
    return range == ColorRange::Full ? full : limited;
}

} // namespace

JpegEncoder::JpegEncoder() : handle_(tjInitCompress())
{
    if (!handle_)
        throw std::runtime_error(std::string("cannot start TurboJPEG: ") + tjGetErrorStr2(nullptr));
}

JpegEncoder::~JpegEncoder()
{
    tjDestroy(tj(handle_));
}

bool JpegEncoder::takes(PixelFormat format)
{
    return format != PixelFormat::Unknown && format != PixelFormat::GRAY16_LE &&
           format != PixelFormat::Encoded && !is_encoded(format);
}

size_t JpegEncoder::bound(const FrameInfo& info)
{
    return tjBufSize(int(info.width), int(info.height), TJSAMP_444);
}

size_t JpegEncoder::encode(const FrameInfo& info, const uint8_t* data, int quality, uint8_t* out)
{
    if (!takes(info.format))
        throw std::invalid_argument("frames of this format cannot be sent as JPEG");
    const int width = int(info.width);
    const int height = int(info.height);
    const int stride = int(info.strides[0]);
    switch (info.format) {
    case PixelFormat::I420:
    case PixelFormat::NV12:
        if (is_bt601(info))
            return compress_planes(info, data, quality, out);
        break;
    case PixelFormat::RGB:
    case PixelFormat::Rgb3Unordered:
        return compress_packed(data, width, stride, height, TJPF_RGB, quality, out);
    case PixelFormat::BGR:
        return compress_packed(data, width, stride, height, TJPF_BGR, quality, out);
    case PixelFormat::RGBA:
    case PixelFormat::RGBx:
        return compress_packed(data, width, stride, height, TJPF_RGBX, quality, out);
    case PixelFormat::BGRA:
    case PixelFormat::BGRx:
        return compress_packed(data, width, stride, height, TJPF_BGRX, quality, out);
    case PixelFormat::GRAY8:
        return compress_packed(data, width, stride, height, TJPF_GRAY, quality, out);
    default:
        break;
    }
    normalize_to_rgb(info, data, rgb_);
    return compress_packed(rgb_.data, rgb_.cols, int(rgb_.step[0]), rgb_.rows, TJPF_RGB, quality,
                           out);
}

size_t JpegEncoder::compress_planes(const FrameInfo& info, const uint8_t* data, int quality,
                                    uint8_t* out)
{
    const int width = int(info.width);
    const int height = int(info.height);
    const int chroma_width = (width + 1) / 2;
    const int chroma_height = (height + 1) / 2;
    const RangeTables& tables = range_tables(info.range);
    const bool full = info.range == ColorRange::Full;
    std::array<const unsigned char*, 3> planes{};
    std::array<int, 3> strides{};
    const uint8_t* luma = data + info.plane_offsets[0];
    if (full && info.format == PixelFormat::I420) {
        // JPEG's own samples: TurboJPEG reads the planes where they lie.
        for (int plane = 0; plane < 3; ++plane) {
            planes[size_t(plane)] = data + info.plane_offsets[size_t(plane)];
            strides[size_t(plane)] = int(info.strides[size_t(plane)]);
        }
    } else {
        const size_t luma_size = size_t(width) * size_t(height);
        const size_t chroma_size = size_t(chroma_width) * size_t(chroma_height);
        planes_.resize(luma_size + 2 * chroma_size);
        uint8_t* y = planes_.data();
        uint8_t* u = y + luma_size;
        uint8_t* v = u + chroma_size;
        for (int row = 0; row < height; ++row) {
            const uint8_t* from = luma + size_t(row) * info.strides[0];
            uint8_t* to = y + size_t(row) * size_t(width);
            if (full)
                std::copy(from, from + width, to);
            else
                std::transform(from, from + width, to, [&](uint8_t s) { return tables.luma[s]; });
        }
        for (int row = 0; row < chroma_height; ++row) {
            uint8_t* to_u = u + size_t(row) * size_t(chroma_width);
            uint8_t* to_v = v + size_t(row) * size_t(chroma_width);
            if (info.format == PixelFormat::NV12) {
                const uint8_t* from = data + info.plane_offsets[1] + size_t(row) * info.strides[1];
                for (int x = 0; x < chroma_width; ++x) {
                    to_u[x] = tables.chroma[from[2 * x]];
                    to_v[x] = tables.chroma[from[2 * x + 1]];
                }
            } else {
                const uint8_t* from_u =
                    data + info.plane_offsets[1] + size_t(row) * info.strides[1];
                const uint8_t* from_v =
                    data + info.plane_offsets[2] + size_t(row) * info.strides[2];
                for (int x = 0; x < chroma_width; ++x) {
                    to_u[x] = tables.chroma[from_u[x]];
                    to_v[x] = tables.chroma[from_v[x]];
                }
            }
        }
        planes = {y, u, v};
        strides = {width, chroma_width, chroma_width};
    }
    unsigned char* jpeg = out;
    unsigned long size = tjBufSize(width, height, TJSAMP_444);
    if (tjCompressFromYUVPlanes(tj(handle_), planes.data(), width, strides.data(), height,
                                TJSAMP_420, &jpeg, &size, quality,
                                TJFLAG_NOREALLOC | TJFLAG_FASTDCT) != 0)
        throw std::runtime_error(std::string("JPEG encoding failed: ") + tjGetErrorStr2(handle_));
    return size;
}

size_t JpegEncoder::compress_packed(const uint8_t* pixels, int width, int stride, int height,
                                    int pixel_format, int quality, uint8_t* out)
{
    unsigned char* jpeg = out;
    unsigned long size = tjBufSize(width, height, TJSAMP_444);
    const int subsampling = pixel_format == TJPF_GRAY ? TJSAMP_GRAY : TJSAMP_420;
    if (tjCompress2(tj(handle_), pixels, width, stride, height, pixel_format, &jpeg, &size,
                    subsampling, quality, TJFLAG_NOREALLOC | TJFLAG_FASTDCT) != 0)
        throw std::runtime_error(std::string("JPEG encoding failed: ") + tjGetErrorStr2(handle_));
    return size;
}

ZstdCompressor::ZstdCompressor(int level) : context_(ZSTD_createCCtx()), level_(level)
{
    if (!context_)
        throw std::runtime_error("cannot start zstd");
}

ZstdCompressor::~ZstdCompressor()
{
    ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(context_));
}

size_t ZstdCompressor::bound(size_t size)
{
    return ZSTD_compressBound(size);
}

size_t ZstdCompressor::compress(const uint8_t* data, size_t size, uint8_t* out)
{
    const size_t written =
        ZSTD_compressCCtx(static_cast<ZSTD_CCtx*>(context_), out, bound(size), data, size, level_);
    if (ZSTD_isError(written))
        throw std::runtime_error(std::string("zstd compression failed: ") +
                                 ZSTD_getErrorName(written));
    return written;
}

ZstdDecompressor::ZstdDecompressor() : context_(ZSTD_createDCtx())
{
    if (!context_)
        throw std::runtime_error("cannot start zstd");
}

ZstdDecompressor::~ZstdDecompressor()
{
    ZSTD_freeDCtx(static_cast<ZSTD_DCtx*>(context_));
}

bool ZstdDecompressor::decompress(const uint8_t* data, size_t size, uint8_t* out, size_t raw_size,
                                  std::string& problem)
{
    const unsigned long long declared = ZSTD_getFrameContentSize(data, size);
    if (declared == ZSTD_CONTENTSIZE_ERROR || declared == ZSTD_CONTENTSIZE_UNKNOWN) {
        problem = "not a zstd frame that says its size";
        return false;
    }
    if (declared != raw_size) {
        problem = "a zstd frame of " + std::to_string(declared) + " bytes where the caps say " +
                  std::to_string(raw_size);
        return false;
    }
    const size_t compressed = ZSTD_findFrameCompressedSize(data, size);
    if (ZSTD_isError(compressed) || compressed != size) {
        problem = "bytes beyond the zstd frame, or a zstd frame cut short";
        return false;
    }
    // The output's size bounds the work: zstd never writes past raw_size bytes.
    const size_t written =
        ZSTD_decompressDCtx(static_cast<ZSTD_DCtx*>(context_), out, raw_size, data, size);
    if (ZSTD_isError(written) || written != raw_size) {
        problem = ZSTD_isError(written)
                      ? std::string("zstd: ") + ZSTD_getErrorName(written)
                      : "the zstd frame decompressed to " + std::to_string(written) + " bytes";
        return false;
    }
    return true;
}

} // namespace pvshm::stream
