// SPDX-License-Identifier: LGPL-2.1-or-later
#include "gstpvshmlog.h"

#include <string>

#include <pvshm/log.hpp>

GST_DEBUG_CATEGORY_STATIC(gst_pv_shm_debug);

namespace {

thread_local GstDebugCategory* current_category = nullptr;
thread_local GObject* current_object = nullptr;

GstDebugLevel gst_level_of(pvshm::LogLevel level)
{
    switch (level) {
    case pvshm::LogLevel::Debug:
        return GST_LEVEL_DEBUG;
    case pvshm::LogLevel::Info:
        return GST_LEVEL_INFO;
    case pvshm::LogLevel::Warning:
        return GST_LEVEL_WARNING;
    case pvshm::LogLevel::Error:
        break;
    }
    return GST_LEVEL_ERROR;
}

} // namespace

void gst_pv_shm_log_init()
{
    // Messages from a thread no element is calling from (none expected) still reach the log.
    GST_DEBUG_CATEGORY_INIT(gst_pv_shm_debug, "pvshm", 0, "pvshm library");
    pvshm::set_log_handler([](pvshm::LogLevel level, std::string_view message) {
        GstDebugCategory* category = current_category ? current_category : gst_pv_shm_debug;
        const std::string text(message);
        GST_CAT_LEVEL_LOG(category, gst_level_of(level), current_object, "%s", text.c_str());
    });
}

GstPvShmLogScope::GstPvShmLogScope(GstDebugCategory* category, gpointer object)
    : previous_category_(current_category), previous_object_(current_object)
{
    current_category = category;
    current_object = G_OBJECT(object);
}

GstPvShmLogScope::~GstPvShmLogScope()
{
    current_category = previous_category_;
    current_object = previous_object_;
}
