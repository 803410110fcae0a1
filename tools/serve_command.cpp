// SPDX-License-Identifier: LGPL-2.1-or-later
// `pvshm serve ID... srt://[HOST]:PORT`: every frame of each id, with its facts, to the hosts
// that mirror it, as an SRT listener. Per id:
//   pvshmsrc shared-mem-id=ID mode=all ! pvshmpay ! appsink
// and the frames go to the receivers of that id (SrtSender: libsrt, each receiver choosing its
// id by SRT stream id, newest frame first for a receiver that cannot keep up). Any number of
// receivers may connect at once and come and go; frames go to nobody while none is connected.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <pvshm/reader.hpp>
#include <pvshm/shared_mem_id.hpp>

#include "link_encoding.hpp"
#include "srt_commands.hpp"
#include "srt_link.hpp"
#include "srt_sender.hpp"

namespace pvshm::cli {
namespace {

struct ServeOptions
{
    std::vector<std::string> ids;
    std::string address;
    SrtLinkOptions link;
    int max_bandwidth_mbit = kDefaultMaxBandwidthMbit;
    bool allow_other_owner = false;
    std::string encode = "raw";
};

// One id's chain: its frames, as pvshmpay writes them, to the sender.
struct ServedId
{
    std::string id;
    GstElement* src = nullptr;
    GstElement* pay = nullptr;
    SrtSender* sender = nullptr;
};

GstFlowReturn on_frame(GstAppSink* sink, gpointer data)
{
    const auto& served = *static_cast<ServedId*>(data);
    g_autoptr(GstSample) sample = gst_app_sink_pull_sample(sink);
    if (GstBuffer* frame = sample ? gst_sample_get_buffer(sample) : nullptr)
        served.sender->send(served.id, frame);
    return GST_FLOW_OK;
}

// What each receiver was sent since the last status line: frames/s of each, Mbit/s and frames
// skipped in all.
class SentRates
{
public:
    std::string line(const std::vector<ReceiverCounts>& receivers, const std::string& id,
                     double seconds)
    {
        std::vector<double> rates;
        std::map<std::string, ReceiverCounts> present;
        double bits = 0;
        uint64_t skipped = 0;
        for (const ReceiverCounts& receiver : receivers) {
            if (receiver.id != id)
                continue;
            const ReceiverCounts last = last_[id][receiver.peer];
            rates.push_back(seconds > 0 ? double(receiver.frames_sent - last.frames_sent) / seconds
                                        : 0.0);
            bits += double(receiver.bytes_sent - last.bytes_sent) * 8;
            skipped += receiver.frames_skipped;
            present[receiver.peer] = receiver;
        }
        // Receivers that left are forgotten.
        last_[id].swap(present);
        std::string text = std::to_string(rates.size()) + " receiver(s)";
        if (rates.empty())
            return text;
        // Each receiver's rate, or their range when they are many.
        std::string each;
        if (rates.size() <= kListedReceivers) {
            for (double rate : rates)
                each += (each.empty() ? "" : " + ") + number(rate);
        } else {
            const auto [low, high] = std::minmax_element(rates.begin(), rates.end());
            each = number(*low) + " to " + number(*high);
        }
        return text + ", sent " + each + " frames/s, " +
               number(seconds > 0 ? bits / seconds / 1e6 : 0.0) + " Mbit/s, " +
               std::to_string(skipped) + " skipped";
    }

private:
    static constexpr size_t kListedReceivers = 4;

    static std::string number(double value)
    {
        char text[32];
        std::snprintf(text, sizeof text, "%.1f", value);
        return text;
    }

    // By id, then by receiver.
    std::map<std::string, std::map<std::string, ReceiverCounts>> last_;
};

int run_serve(ServeOptions options)
{
    options.address = options.ids.back();
    options.ids.pop_back();
    for (auto id = options.ids.begin(); id != options.ids.end(); ++id) {
        pvshm::validate_id(*id);
        if (std::find(options.ids.begin(), id, *id) != id)
            throw std::invalid_argument("the id '" + *id + "' is given twice");
    }
    const SrtAddress address = parse_srt_address(options.address, false);
    const std::string passphrase = link_passphrase(options.link, "serve");

    const LinkEncoding encoding = parse_link_encoding(options.encode);

    LinkPipeline link = link_pipeline("serve", {});
    std::vector<ServedId> served(options.ids.size());
    for (size_t i = 0; i < options.ids.size(); ++i) {
        const auto chain = add_chain(link, {"pvshmsrc", "pvshmpay", "appsink"});
        served[i] = {options.ids[i], chain[0], chain[1], nullptr};
        g_object_set(chain[0], "shared-mem-id", options.ids[i].c_str(), "allow-other-owner",
                     gboolean(options.allow_other_owner), nullptr);
        gst_util_set_object_arg(G_OBJECT(chain[0]), "mode", "all");
        gst_util_set_object_arg(G_OBJECT(chain[1]), "encoding", encoding.name.c_str());
        g_object_set(chain[1], "quality", guint(encoding.quality), nullptr);
        // Frames are sent as they come, from the streaming thread of their id.
        g_object_set(chain[2], "sync", FALSE, "async", FALSE, nullptr);
    }
    LinkOutput output("serve");
    // What each id says of its writer, for the heartbeats (the listener's thread alone).
    std::map<std::string, std::unique_ptr<pvshm::Reader>> watched;
    const auto liveness = [&watched, &options](const std::string& id) {
        auto& reader = watched[id];
        if (!reader)
            reader = std::make_unique<pvshm::Reader>(
                id, pvshm::ReaderOptions{options.allow_other_owner, {}});
        IdLiveness liveness;
        try {
            const auto status = reader->status();
            liveness.writer_alive = status && status->writer_alive;
            liveness.newest_sequence = status && status->latest ? status->latest->sequence : 0;
        } catch (const std::exception&) {
            // Not a usable segment: pvshmsrc says why; no live writer.
        }
        return liveness;
    };
    std::unique_ptr<SrtSender> sender;
    try {
        sender = std::make_unique<SrtSender>(
            SrtSenderOptions{address, options.ids, passphrase, options.link.latency_ms,
                             options.max_bandwidth_mbit, usable_mss(options.link.mss, output),
                             liveness},
            [&output](const std::string& text) { output.event(text); });
    } catch (const std::runtime_error& error) {
        output.event("error: cannot listen on " + options.address +
                     " (is the port in use?): " + error.what());
        return 1;
    }
    for (size_t i = 0; i < served.size(); ++i) {
        served[i].sender = sender.get();
        GstAppSinkCallbacks callbacks{};
        callbacks.new_sample = on_frame;
        gst_app_sink_set_callbacks(GST_APP_SINK(link.elements[3 * i + 2]), &callbacks, &served[i],
                                   nullptr);
    }

    std::string ids;
    for (const std::string& id : options.ids)
        ids += (ids.empty() ? "" : ", ") + id;
    const std::string where = address.host.empty() ? "every address" : address.host;
    const std::string rate =
        options.max_bandwidth_mbit
            ? "frames sent at " + std::to_string(options.max_bandwidth_mbit) + " Mbit/s"
            : "frames sent at the input's rate";
    std::map<std::string, guint64> last_frames;
    SentRates sent;
    LinkHooks hooks;
    hooks.started = [&] {
        output.event("serving " + ids + " on " + options.address + " (port " +
                     std::to_string(address.port) + ", " + where + ", " +
                     (passphrase.empty() ? "unencrypted" : "encrypted") + ", " + rate + ")");
    };
    hooks.status = [&](double seconds) {
        const std::vector<ReceiverCounts> receivers = sender->receivers();
        std::string status;
        for (const ServedId& each : served) {
            const guint64 frames = element_stat(each.pay, "frames");
            const guint64 drops = element_stat(each.src, "frames-dropped");
            guint64& last = last_frames[each.id];
            char line[160];
            std::snprintf(line, sizeof line, "%s: %.1f frames/s, %llu frames, %llu drops, ",
                          each.id.c_str(), seconds > 0 ? double(frames - last) / seconds : 0.0,
                          static_cast<unsigned long long>(frames),
                          static_cast<unsigned long long>(drops));
            last = frames;
            status += (status.empty() ? "" : "; ") + std::string(line) +
                      sent.line(receivers, each.id, seconds);
        }
        return status;
    };
    hooks.on_warning = [&](GstMessage* message) -> std::optional<std::string> {
        output.warning(message_text(message));
        return std::nullopt;
    };
    const int status = run_link(link, output, hooks);
    return status;
}

} // namespace

void add_serve_command(CLI::App& app, std::function<int()>& run)
{
    auto options = std::make_shared<ServeOptions>();
    auto* serve = app.add_subcommand(
        "serve", "Send every frame of one or more ids, with their facts, to the hosts that "
                 "mirror them (an SRT listener), until Ctrl-C");
    // One list: CLI11 gives a list of positionals every word up to the first option, and the
    // address is the last of them.
    serve
        ->add_option("ID... ADDRESS", options->ids,
                     std::string("Shared-memory ids to send (each receiver chooses one by its "
                                 "SRT stream id): ") +
                         kIdRule +
                         "; then srt://[HOST]:PORT to listen on (no HOST: every IPv4 address)")
        ->expected(2, -1)
        ->required();
    add_srt_link_options(*serve, options->link);
    add_encode_option(*serve, options->encode);
    serve
        ->add_option("--max-bandwidth", options->max_bandwidth_mbit,
                     "Mbit/s at which each frame's packets are sent to each receiver: the "
                     "link's capacity (raise it on faster links for raw frames); 0: the input's "
                     "average rate plus 25% (smooth, but a large frame then takes most of a "
                     "frame interval)")
        ->check(CLI::Range(0, kMaxMaxBandwidthMbit))
        ->capture_default_str();
    serve->add_flag("--allow-other-owner", options->allow_other_owner,
                    "Read a segment owned by another user (refused by default: it could have "
                    "been planted)");
    serve->footer("Any number of `pvshm mirror` receivers may connect at once; one with another "
                  "passphrase cannot, nor one asking for an id not served here. A receiver that "
                  "cannot keep up is sent the newest frame when it can take one; the frames it "
                  "misses count as drops on its host. Exit status 1 on a bad id or address, or "
                  "a port in use.");
    serve->callback([options, &run] { run = [options] { return run_serve(*options); }; });
}

} // namespace pvshm::cli
