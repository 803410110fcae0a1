// SPDX-License-Identifier: LGPL-2.1-or-later
// The soak test's pipeline reader (bench/soak.py): "pvshmsrc shared-mem-id=ID ! appsink", the
// pipeline gst-launch-1.0 would run, with a checker in place of the sink: every buffer that
// reaches the appsink must be an intact frame (tests/helpers/stamp.hpp).
//
//   pvshm-soak-gst ID WIDTH HEIGHT STATS_FILE
//
// STATS_FILE holds "frames torn backwards", rewritten after every buffer so that the figures
// survive a SIGKILL. A torn frame (or one of the wrong size) is also reported on stderr at once.
// Runs until killed; a pipeline error exits with status 3.
#include <cstdio>
#include <cstdlib>
#include <string>

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include "soak_common.hpp"
#include "stamp.hpp"

int main(int argc, char** argv)
{
    if (argc != 5) {
        std::fprintf(stderr, "usage: %s ID WIDTH HEIGHT STATS_FILE\n", argv[0]);
        return 2;
    }
    pvshm::soak::die_with_parent();
    gst_init(nullptr, nullptr);
    const size_t expected_size =
        std::strtoull(argv[2], nullptr, 10) * std::strtoull(argv[3], nullptr, 10);
    pvshm::soak::StatsFile stats_file(argv[4]);
    if (!stats_file.ok()) {
        std::fprintf(stderr, "soak gst: cannot open %s\n", argv[4]);
        return 2;
    }
    uint64_t counts[3] = {0, 0, 0}; // frames, torn, backwards
    stats_file.write(counts, 3);

    // One buffer queued at most, so that the pipeline pins no more than two slots.
    const std::string description = std::string("pvshmsrc shared-mem-id=") + argv[1] +
                                    " ! appsink name=check sync=false max-buffers=1";
    GError* error = nullptr;
    GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
    if (!pipeline) {
        std::fprintf(stderr, "soak gst: %s\n", error ? error->message : "no pipeline");
        return 3;
    }
    GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "check");
    GstBus* bus = gst_element_get_bus(pipeline);
    if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        std::fprintf(stderr, "soak gst: the pipeline does not start\n");
        return 3;
    }
    uint64_t last_stamp = 0;
    int status = 0;
    for (;;) {
        GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), GST_SECOND);
        if (!sample) {
            GstMessage* message =
                gst_bus_pop_filtered(bus, GstMessageType(GST_MESSAGE_ERROR | GST_MESSAGE_EOS));
            if (!message)
                continue;
            if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
                GError* gst_error = nullptr;
                gst_message_parse_error(message, &gst_error, nullptr);
                std::fprintf(stderr, "soak gst: error %s\n", gst_error->message);
                g_error_free(gst_error);
            } else {
                std::fprintf(stderr, "soak gst: unexpected end of stream\n");
            }
            gst_message_unref(message);
            status = 3;
            break;
        }
        GstBuffer* buffer = gst_sample_get_buffer(sample);
        GstMapInfo map;
        if (buffer && gst_buffer_map(buffer, &map, GST_MAP_READ)) {
            ++counts[0];
            const auto stamp = map.size == expected_size
                                   ? pvshm::test::read_stamp(map.data, map.size)
                                   : std::nullopt;
            if (!stamp) {
                ++counts[1];
                std::fprintf(stderr, "soak gst: TORN frame, offset %llu, %zu bytes\n",
                             static_cast<unsigned long long>(GST_BUFFER_OFFSET(buffer)), map.size);
            } else {
                if (*stamp <= last_stamp)
                    ++counts[2];
                last_stamp = *stamp;
            }
            gst_buffer_unmap(buffer, &map);
            stats_file.write(counts, 3);
        }
        gst_sample_unref(sample);
    }
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(bus);
    gst_object_unref(sink);
    gst_object_unref(pipeline);
    return status;
}
