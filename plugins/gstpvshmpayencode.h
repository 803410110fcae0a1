// SPDX-License-Identifier: LGPL-2.1-or-later
// pvshmpay's encodings: what each frame of the current caps goes out as (raw, JPEG, zstd), and
// the payload buffer that carries it.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <gst/gst.h>

#include <pvshm/frame.hpp>

#include "frame_codec.hpp"
#include "stream_format.hpp"

// pvshmpay's `encoding` property.
enum GstPvShmPayEncoding
{
    GST_PV_SHM_PAY_ENCODING_RAW = 0,
    GST_PV_SHM_PAY_ENCODING_JPEG = 1,
    GST_PV_SHM_PAY_ENCODING_LOSSLESS = 2,
};

#define GST_TYPE_PV_SHM_PAY_ENCODING (gst_pv_shm_pay_encoding_get_type())
GType gst_pv_shm_pay_encoding_get_type();

// Streaming thread only.
class GstPvShmPayEncoder
{
public:
    // The encoding asked for (read when the element starts).
    void start(GstPvShmPayEncoding wanted, int quality);

    // Frames of `frame` (caps `caps`, written out as `wire_caps`) from now on. Returns the reason
    // when the encoding asked for cannot take them (they are then sent raw), else nullopt.
    std::optional<std::string> set_caps(const pvshm::FrameInfo& frame, GstCaps* caps,
                                        const std::string& wire_caps);

    pvshm::stream::Encoding encoding() const { return encoding_; }
    // The caps the stream names for each frame.
    const std::string& caps() const { return caps_; }

    // The payload of the frame whose bytes (in the layout of its caps) `raw` holds: `raw` itself
    // for raw frames, else a new buffer. Throws std::runtime_error when an encoder fails.
    GstBuffer* encode(GstBuffer* raw);

private:
    GstPvShmPayEncoding wanted_ = GST_PV_SHM_PAY_ENCODING_RAW;
    int quality_ = pvshm::stream::kDefaultJpegQuality;
    pvshm::stream::Encoding encoding_ = pvshm::stream::Encoding::Raw;
    pvshm::FrameInfo frame_;
    std::string caps_;
    std::unique_ptr<pvshm::stream::JpegEncoder> jpeg_;
    std::unique_ptr<pvshm::stream::ZstdCompressor> zstd_;
};
