// SPDX-License-Identifier: LGPL-2.1-or-later
#include "gstpvshmuri.h"

#include <exception>
#include <string>
#include <utility>
#include <vector>

#include <pvshm/shared_mem_id.hpp>

namespace {

constexpr const char kScheme[] = "pvshm";
constexpr const char kPrefix[] = "pvshm://";
// The property the URI's host sets, which the query may not set again.
constexpr const char kIdProperty[] = "shared-mem-id";

// One property value the query names, parsed to the property's type.
struct Setting
{
    GParamSpec* pspec = nullptr;
    GValue value = G_VALUE_INIT;
};

gboolean refuse(GError** error, const std::string& uri, const std::string& why)
{
    g_set_error(error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI, "%s: %s", uri.c_str(), why.c_str());
    return FALSE;
}

void clear(std::vector<Setting>& settings)
{
    for (auto& setting : settings)
        g_value_unset(&setting.value);
}

// Parses `text` ("key=value", percent-encoded) into a setting of one of `element`'s properties;
// an empty string with `setting` filled in, else why not.
std::string parse_setting(GstElement* element, const std::string& text, Setting& setting)
{
    const size_t equals = text.find('=');
    if (equals == std::string::npos)
        return "query parameter '" + text + "' has no value (name=value)";
    g_autofree gchar* name = g_uri_unescape_segment(text.data(), text.data() + equals, nullptr);
    g_autofree gchar* value = g_uri_unescape_string(text.c_str() + equals + 1, nullptr);
    if (!name || !value)
        return "query parameter '" + text + "' is not percent-encoded correctly";
    if (g_str_equal(name, kIdProperty))
        return std::string("the id is the URI's host (pvshm://ID), not the query parameter ") +
               kIdProperty;
    GParamSpec* pspec = g_object_class_find_property(G_OBJECT_GET_CLASS(element), name);
    if (!pspec || !(pspec->flags & G_PARAM_WRITABLE) || (pspec->flags & G_PARAM_CONSTRUCT_ONLY) ||
        pspec->owner_type == GST_TYPE_OBJECT)
        return std::string("'") + name + "' is not a property " + GST_ELEMENT_NAME(element) +
               " takes";
    g_value_init(&setting.value, pspec->value_type);
    setting.pspec = pspec;
    // g_param_value_validate() returns TRUE when it had to change the value to fit.
    if (!gst_value_deserialize_with_pspec(&setting.value, value, pspec) ||
        g_param_value_validate(pspec, &setting.value))
        return std::string("'") + value + "' is not a value of " + name + " (" +
               g_type_name(pspec->value_type) + ")";
    return {};
}

// Sets the element's id and the query's properties, all of them or, on an error, none.
gboolean set_uri(GstURIHandler* handler, const gchar* uri, GError** error)
{
    GstElement* element = GST_ELEMENT(handler);
    const std::string text = uri ? uri : "";
    if (GST_STATE(element) > GST_STATE_READY) {
        g_set_error(error, GST_URI_ERROR, GST_URI_ERROR_BAD_STATE,
                    "the URI of %s cannot change while it runs", GST_ELEMENT_NAME(element));
        return FALSE;
    }
    if (g_ascii_strncasecmp(text.c_str(), kPrefix, sizeof kPrefix - 1) != 0)
        return refuse(error, text, std::string("not a ") + kPrefix + "ID URI");
    const size_t query = text.find('?', sizeof kPrefix - 1);
    const std::string id = text.substr(sizeof kPrefix - 1, query - (sizeof kPrefix - 1));
    try {
        pvshm::validate_id(id);
    } catch (const std::exception& invalid) {
        return refuse(error, text, invalid.what());
    }
    std::vector<Setting> settings;
    if (query != std::string::npos) {
        g_auto(GStrv) parameters = g_strsplit(text.c_str() + query + 1, "&", -1);
        for (gchar** parameter = parameters; *parameter; ++parameter) {
            if (!**parameter)
                continue; // "?a=1&&b=2", a trailing '&'
            Setting setting;
            if (auto why = parse_setting(element, *parameter, setting); !why.empty()) {
                if (setting.pspec)
                    g_value_unset(&setting.value);
                clear(settings);
                return refuse(error, text, why);
            }
            settings.push_back(std::move(setting));
        }
    }
    g_object_set(element, kIdProperty, id.c_str(), nullptr);
    for (auto& setting : settings)
        g_object_set_property(G_OBJECT(element), setting.pspec->name, &setting.value);
    clear(settings);
    return TRUE;
}

gchar* get_uri(GstURIHandler* handler)
{
    g_autofree gchar* id = nullptr;
    g_object_get(handler, kIdProperty, &id, nullptr);
    return id ? g_strconcat(kPrefix, id, nullptr) : nullptr;
}

const gchar* const* get_protocols(GType)
{
    static const gchar* const protocols[] = {kScheme, nullptr};
    return protocols;
}

GstURIType src_type(GType)
{
    return GST_URI_SRC;
}

GstURIType sink_type(GType)
{
    return GST_URI_SINK;
}

void init(gpointer iface, GstURIType (*type)(GType))
{
    auto* handler = static_cast<GstURIHandlerInterface*>(iface);
    handler->get_type = type;
    handler->get_protocols = get_protocols;
    handler->get_uri = get_uri;
    handler->set_uri = set_uri;
}

} // namespace

const gchar* gst_pv_shm_id_blurb(const gchar* verb)
{
    return g_intern_string(
        (std::string("Id of the segment to ") + verb + " (required): " + pvshm::kIdRule).c_str());
}

void gst_pv_shm_uri_src_handler_init(gpointer iface, gpointer)
{
    init(iface, src_type);
}

void gst_pv_shm_uri_sink_handler_init(gpointer iface, gpointer)
{
    init(iface, sink_type);
}
