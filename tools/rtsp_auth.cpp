// SPDX-License-Identifier: LGPL-2.1-or-later
#include "rtsp_auth.hpp"

#include <utility>

namespace pvshm::cli {
namespace {

struct EveryMethodAuthState
{
    AuthenticatedHandler on_authenticated;
};

struct EveryMethodAuth
{
    GstRTSPAuth parent;
    EveryMethodAuthState* state;
};
struct EveryMethodAuthClass
{
    GstRTSPAuthClass parent_class;
};
G_DEFINE_TYPE(EveryMethodAuth, every_method_auth, GST_TYPE_RTSP_AUTH)

// What gst-rtsp-server's auth sends when a request has no valid credentials: 401 with the
// challenge (a fresh digest nonce).
void send_unauthorized(GstRTSPAuth* auth, GstRTSPContext* context)
{
    gst_rtsp_message_init_response(context->response, GST_RTSP_STS_UNAUTHORIZED,
                                   gst_rtsp_status_as_text(GST_RTSP_STS_UNAUTHORIZED),
                                   context->request);
    GST_RTSP_AUTH_GET_CLASS(auth)->generate_authenticate_header(auth, context);
    gst_rtsp_client_send_message(context->client, context->session, context->response);
}

// Set on a client once one of its requests passed authentication.
const char* const kAuthenticatedKey = "pvshm-authenticated";

GstRTSPFilterResult forget_session(GstRTSPClient*, GstRTSPSession* session, gpointer target)
{
    return session == target ? GST_RTSP_FILTER_REMOVE : GST_RTSP_FILTER_KEEP;
}

// gst-rtsp-server makes a client watch the session its request names before any check, and
// a client that closes ends the media of every session it watched: an unauthenticated request
// with a viewer's session id, then a disconnection, stopped that viewer. Such a client lets go
// of the session at once (without touching its media).
void forget_foreign_session(GstRTSPContext* context)
{
    if (context->session && !g_object_get_data(G_OBJECT(context->client), kAuthenticatedKey))
        g_list_free_full(
            gst_rtsp_client_session_filter(context->client, forget_session, context->session),
            g_object_unref);
}

// GST_RTSP_AUTH_CHECK_URL comes first for every request, before its path is looked up (hence
// the same answer for an id that exists and one that does not).
gboolean every_method_auth_check(GstRTSPAuth* auth, GstRTSPContext* context, const gchar* check)
{
    if (!g_str_equal(check, GST_RTSP_AUTH_CHECK_URL))
        return GST_RTSP_AUTH_CLASS(every_method_auth_parent_class)->check(auth, context, check);
    if (context->method == GST_RTSP_OPTIONS) {
        forget_foreign_session(context);
        return TRUE;
    }
    if (!context->token)
        GST_RTSP_AUTH_GET_CLASS(auth)->authenticate(auth, context);
    if (!context->token) {
        forget_foreign_session(context);
        send_unauthorized(auth, context);
        return FALSE;
    }
    g_object_set_data(G_OBJECT(context->client), kAuthenticatedKey, GINT_TO_POINTER(1));
    auto* self = reinterpret_cast<EveryMethodAuth*>(auth);
    if (self->state->on_authenticated)
        self->state->on_authenticated(context->client);
    return TRUE;
}

void every_method_auth_finalize(GObject* object)
{
    delete reinterpret_cast<EveryMethodAuth*>(object)->state;
    G_OBJECT_CLASS(every_method_auth_parent_class)->finalize(object);
}

void every_method_auth_class_init(EveryMethodAuthClass* klass)
{
    G_OBJECT_CLASS(klass)->finalize = every_method_auth_finalize;
    GST_RTSP_AUTH_CLASS(klass)->check = every_method_auth_check;
}

void every_method_auth_init(EveryMethodAuth* self)
{
    self->state = new EveryMethodAuthState;
}

} // namespace

GstRTSPAuth* every_method_auth_new(AuthenticatedHandler on_authenticated)
{
    auto* auth = static_cast<EveryMethodAuth*>(g_object_new(every_method_auth_get_type(), nullptr));
    auth->state->on_authenticated = std::move(on_authenticated);
    return GST_RTSP_AUTH(auth);
}

} // namespace pvshm::cli
