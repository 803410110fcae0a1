// SPDX-License-Identifier: LGPL-2.1-or-later
// GStreamer elements the commands need, and what to install when one is missing.
#pragma once

#include <gst/gst.h>

namespace pvshm::cli {

// Throws std::runtime_error "the GStreamer element NAME is not installed (PACKAGE)" when no
// factory of that name is registered. GStreamer must be initialised.
void require_element(const char* factory);

// An element of `factory`, floating; throws as require_element() when it is missing.
GstElement* make_element(const char* factory);

} // namespace pvshm::cli
