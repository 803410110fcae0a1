// SPDX-License-Identifier: LGPL-2.1-or-later
#include "mjpeg_broadcaster.hpp"

namespace pvshm::cli {
namespace {

// How often streams without viewers are stopped. A page that reloads finds its stream running.
constexpr guint kCollectIntervalSeconds = 2;

} // namespace

MjpegBroadcaster::MjpegBroadcaster(ReaderOptions options) : options_(std::move(options))
{
    collector_ = g_timeout_add_seconds(kCollectIntervalSeconds, collect, this);
}

MjpegBroadcaster::~MjpegBroadcaster()
{
    g_source_remove(collector_);
}

void MjpegBroadcaster::add_viewer(SoupServerMessage* message, const std::string& id, uint32_t width)
{
    auto& stream = streams_[{id, width}];
    if (!stream) {
        stream = std::make_shared<MjpegStream>(id, width, options_);
        stream->start();
    }
    stream->add_viewer(message);
}

gboolean MjpegBroadcaster::collect(gpointer data)
{
    auto& streams = static_cast<MjpegBroadcaster*>(data)->streams_;
    for (auto it = streams.begin(); it != streams.end();)
        it = it->second->viewers() == 0 ? streams.erase(it) : std::next(it);
    return G_SOURCE_CONTINUE;
}

} // namespace pvshm::cli
