// SPDX-License-Identifier: LGPL-2.1-or-later
#include "gstpvshmlog.h"

#include <string>

#include <pvshm/log.hpp>

namespace {

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

GstPvShmLogScope::GstPvShmLogScope(GstDebugCategory* category, gpointer object)
    : handler_(
          [category, object = G_OBJECT(object)](pvshm::LogLevel level, std::string_view message) {
              const std::string text(message);
              GST_CAT_LEVEL_LOG(category, gst_level_of(level), object, "%s", text.c_str());
          })
{
}
