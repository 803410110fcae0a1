// SPDX-License-Identifier: LGPL-2.1-or-later
// The authentication of `pvshm rtsp` with credentials: every method but OPTIONS.
#pragma once

#include <functional>

#include <gst/rtsp-server/rtsp-server.h>

namespace pvshm::cli {

// Called, in the client's main context, for each request that passed authentication.
using AuthenticatedHandler = std::function<void(GstRTSPClient*)>;

// A GstRTSPAuth (users added as usual, gst_rtsp_auth_add_digest) that asks for credentials on
// every request but OPTIONS, before the session or the path is looked at. gst-rtsp-server's own
// checks the media factory only: PLAY, PAUSE, TEARDOWN, GET_PARAMETER and SET_PARAMETER with a
// session id went through without credentials, and DESCRIBE of a missing path answered 404
// where an existing one answered 401 (ids could be enumerated).
GstRTSPAuth* every_method_auth_new(AuthenticatedHandler on_authenticated);

} // namespace pvshm::cli
