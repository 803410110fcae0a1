// SPDX-License-Identifier: LGPL-2.1-or-later
#include "gstpvshmmeta.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>
#include <variant>

namespace {

constexpr const char* kCameraIdField = "camera-id";
constexpr const char* kSequenceField = "sequence";
constexpr const char* kBitDepthField = "bit-depth";
constexpr guint kMaxBitDepth = 16;

// Set once by plugin_init, read by every element afterwards: the meta, the quarks of its own
// fields (a field set by name is looked up in GLib's quark table) and the caps of realtime
// reference timestamps.
const GstMetaInfo* frame_meta_info = nullptr;
GQuark camera_id_quark = 0;
GQuark sequence_quark = 0;
GQuark bit_depth_quark = 0;
GstCaps* unix_time_caps = nullptr;

bool is_own_field(const char* name)
{
    return std::strcmp(name, kCameraIdField) == 0 || std::strcmp(name, kSequenceField) == 0 ||
           std::strcmp(name, kBitDepthField) == 0;
}

void append_name(std::string& names, const char* name)
{
    if (!names.empty())
        names += ", ";
    names += name;
}

// Stores the field as user metadata when it holds a type a writer keeps without loss of
// meaning (integers and floats widened). False for any other type.
bool store_metadata_value(pvshm::UserMetadata& metadata, const char* name, const GValue* value)
{
    switch (G_VALUE_TYPE(value)) {
    case G_TYPE_STRING: {
        const gchar* text = g_value_get_string(value);
        if (!text)
            return false;
        metadata[name] = std::string(text);
        return true;
    }
    case G_TYPE_INT64:
        metadata[name] = int64_t{g_value_get_int64(value)};
        return true;
    case G_TYPE_INT:
        metadata[name] = int64_t{g_value_get_int(value)};
        return true;
    case G_TYPE_UINT:
        metadata[name] = int64_t{g_value_get_uint(value)};
        return true;
    case G_TYPE_UINT64: {
        const guint64 number = g_value_get_uint64(value);
        if (number > guint64(std::numeric_limits<int64_t>::max()))
            return false;
        metadata[name] = int64_t(number);
        return true;
    }
    case G_TYPE_DOUBLE:
        metadata[name] = g_value_get_double(value);
        return true;
    case G_TYPE_FLOAT:
        metadata[name] = double{g_value_get_float(value)};
        return true;
    default:
        return false;
    }
}

} // namespace

void gst_pv_shm_meta_register()
{
    // No tags: the facts describe the frame, not its pixels, so converters and scalers keep them.
    static const gchar* tags[] = {nullptr};
    if (frame_meta_info)
        return;
    frame_meta_info =
        gst_meta_register_custom(kGstPvShmFrameMetaName, tags, nullptr, nullptr, nullptr);
    camera_id_quark = g_quark_from_static_string(kCameraIdField);
    sequence_quark = g_quark_from_static_string(kSequenceField);
    bit_depth_quark = g_quark_from_static_string(kBitDepthField);
    // Kept for the life of the process, as GStreamer keeps its static caps.
    unix_time_caps = gst_caps_new_empty_simple("timestamp/x-unix");
    GST_MINI_OBJECT_FLAG_SET(unix_time_caps, GST_MINI_OBJECT_FLAG_MAY_BE_LEAKED);
}

GstPvShmMetas gst_pv_shm_meta_attach(GstBuffer* buffer)
{
    GstPvShmMetas metas;
    metas.unix_time =
        gst_buffer_add_reference_timestamp_meta(buffer, unix_time_caps, 0, GST_CLOCK_TIME_NONE);
    auto* meta =
        reinterpret_cast<GstCustomMeta*>(gst_buffer_add_meta(buffer, frame_meta_info, nullptr));
    metas.facts = gst_custom_meta_get_structure(meta);
    return metas;
}

std::string gst_pv_shm_meta_fill(const GstPvShmMetas& metas, const pvshm::FrameInfo& info)
{
    metas.unix_time->timestamp = GstClockTime(std::max<int64_t>(info.timestamp_realtime_ns, 0));
    metas.unix_time->duration =
        info.duration_ns > 0 ? GstClockTime(info.duration_ns) : GST_CLOCK_TIME_NONE;
    GstStructure* s = metas.facts;
    gst_structure_id_set(s, sequence_quark, G_TYPE_UINT64, guint64(info.sequence), nullptr);
    if (!info.camera_id.empty())
        gst_structure_id_set(s, camera_id_quark, G_TYPE_STRING, info.camera_id.c_str(), nullptr);
    if (info.bit_depth != 0)
        gst_structure_id_set(s, bit_depth_quark, G_TYPE_UINT, guint(info.bit_depth), nullptr);
    std::string left_out;
    for (const auto& [key, value] : info.metadata) {
        if (is_own_field(key.c_str())) {
            append_name(left_out, key.c_str());
            continue;
        }
        std::visit(
            [&, &key = key](const auto& v) {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, std::string>)
                    gst_structure_set(s, key.c_str(), G_TYPE_STRING, v.c_str(), nullptr);
                else if constexpr (std::is_same_v<T, int64_t>)
                    gst_structure_set(s, key.c_str(), G_TYPE_INT64, gint64{v}, nullptr);
                else
                    gst_structure_set(s, key.c_str(), G_TYPE_DOUBLE, gdouble{v}, nullptr);
            },
            value);
    }
    return left_out;
}

std::string gst_pv_shm_meta_add(GstBuffer* buffer, const pvshm::FrameInfo& info)
{
    return gst_pv_shm_meta_fill(gst_pv_shm_meta_attach(buffer), info);
}

std::optional<int64_t> gst_pv_shm_meta_unix_time(GstBuffer* buffer)
{
    const GstReferenceTimestampMeta* meta =
        gst_buffer_get_reference_timestamp_meta(buffer, unix_time_caps);
    if (!meta || !GST_CLOCK_TIME_IS_VALID(meta->timestamp) ||
        meta->timestamp > GstClockTime(std::numeric_limits<int64_t>::max()))
        return std::nullopt;
    return int64_t(meta->timestamp);
}

std::optional<GstPvShmMetaFacts> gst_pv_shm_meta_read(GstBuffer* buffer)
{
    // By the registered API type: gst_buffer_get_custom_meta() looks the name up in GStreamer's
    // table of metas first, for every buffer.
    auto* meta =
        reinterpret_cast<GstCustomMeta*>(gst_buffer_get_meta(buffer, frame_meta_info->api));
    if (!meta)
        return std::nullopt;
    const GstStructure* s = gst_custom_meta_get_structure(meta);
    GstPvShmMetaFacts facts;
    guint64 sequence = 0;
    if (gst_structure_get_uint64(s, kSequenceField, &sequence))
        facts.sequence = sequence;
    const gchar* camera = gst_structure_get_string(s, kCameraIdField);
    facts.camera_id = camera ? camera : "";
    if (gst_structure_has_field(s, kBitDepthField)) {
        guint bits = 0;
        if (gst_structure_get_uint(s, kBitDepthField, &bits) && bits >= 1 && bits <= kMaxBitDepth)
            facts.bit_depth = bits;
        else
            append_name(facts.skipped, kBitDepthField);
    }
    const gint fields = gst_structure_n_fields(s);
    for (gint i = 0; i < fields; ++i) {
        const gchar* name = gst_structure_nth_field_name(s, guint(i));
        if (is_own_field(name))
            continue;
        if (!store_metadata_value(facts.metadata, name, gst_structure_get_value(s, name)))
            append_name(facts.skipped, name);
    }
    return facts;
}
