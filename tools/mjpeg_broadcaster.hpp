// SPDX-License-Identifier: LGPL-2.1-or-later
// The MJPEG streams of `pvshm web`: one per id and picture width, shared by every viewer.
#pragma once

#include <cstdint>
#include <glib.h>
#include <libsoup/soup.h>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include <pvshm/reader.hpp>

#include "mjpeg_stream.hpp"

namespace pvshm::cli {

// A stream starts with its first viewer and stops (its thread and reader gone) soon after its
// last one left: an id nobody watches costs nothing. Main loop only.
class MjpegBroadcaster
{
public:
    explicit MjpegBroadcaster(ReaderOptions options);
    ~MjpegBroadcaster();
    MjpegBroadcaster(const MjpegBroadcaster&) = delete;
    MjpegBroadcaster& operator=(const MjpegBroadcaster&) = delete;

    // `width`: 0 for the frames' own.
    void add_viewer(SoupServerMessage* message, const std::string& id, uint32_t width);
    // Streams running (each an encoder thread).
    size_t streams() const { return streams_.size(); }

private:
    static gboolean collect(gpointer broadcaster);

    const ReaderOptions options_;
    std::map<std::pair<std::string, uint32_t>, std::shared_ptr<MjpegStream>> streams_;
    guint collector_ = 0;
};

} // namespace pvshm::cli
