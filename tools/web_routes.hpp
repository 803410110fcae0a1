// SPDX-License-Identifier: LGPL-2.1-or-later
// What each path of `pvshm web` answers (CONTRACT section 11); every other path is a 404.
#pragma once

#include <glib.h>
#include <libsoup/soup.h>

#include <pvshm/reader.hpp>

#include "mjpeg_broadcaster.hpp"
#include "web_metrics.hpp"
#include "web_pages.hpp"

namespace pvshm::cli {

class WebRoutes
{
public:
    WebRoutes(ReaderOptions options, WebPages pages);

    // Answers a request already authenticated; `path` as received (percent-encoded, without
    // dot segments), `query` decoded (or null).
    void handle(SoupServerMessage* message, const char* path, GHashTable* query);

    // Once a second, for /metrics' frame rates.
    void sample() { rates_.sample(); }
    const MjpegBroadcaster& broadcaster() const { return broadcaster_; }

private:
    void id_path(SoupServerMessage* message, const std::string& id, const std::string& rest,
                 GHashTable* query);

    const ReaderOptions options_;
    const WebPages pages_;
    FrameRates rates_;
    MjpegBroadcaster broadcaster_;
};

} // namespace pvshm::cli
