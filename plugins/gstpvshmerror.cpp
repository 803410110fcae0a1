// SPDX-License-Identifier: LGPL-2.1-or-later
#include "gstpvshmerror.h"

#include <stdexcept>
#include <system_error>

#include <pvshm/error.hpp>

void gst_pv_shm_post_exception(GstElement* element, GstPvShmAccess access, const std::string& what)
{
    const bool writing = access == GstPvShmAccess::Write;
    try {
        throw;
    } catch (const pvshm::OtherOwnerError& error) {
        // Only pvshmsrc reads a segment it did not create.
        GST_ELEMENT_ERROR(element, RESOURCE, OPEN_READ,
                          ("%s: %s; allow it with allow-other-owner=true (or "
                           "PVSHM_ALLOW_OTHER_OWNERS=1)",
                           what.c_str(), error.what()),
                          ("%s", error.what()));
    } catch (const std::invalid_argument& error) {
        GST_ELEMENT_ERROR(element, RESOURCE, SETTINGS, ("%s: %s", what.c_str(), error.what()),
                          ("%s", error.what()));
    } catch (const std::system_error& error) {
        if (writing)
            GST_ELEMENT_ERROR(element, RESOURCE, OPEN_WRITE, ("%s: %s", what.c_str(), error.what()),
                              ("%s (errno %d)", error.what(), error.code().value()));
        else
            GST_ELEMENT_ERROR(element, RESOURCE, OPEN_READ, ("%s: %s", what.c_str(), error.what()),
                              ("%s (errno %d)", error.what(), error.code().value()));
    } catch (const std::exception& error) {
        if (writing)
            GST_ELEMENT_ERROR(element, RESOURCE, WRITE, ("%s: %s", what.c_str(), error.what()),
                              ("%s", error.what()));
        else
            GST_ELEMENT_ERROR(element, RESOURCE, READ, ("%s: %s", what.c_str(), error.what()),
                              ("%s", error.what()));
    } catch (...) {
        GST_ELEMENT_ERROR(element, RESOURCE, FAILED, ("%s", what.c_str()), ("unknown exception"));
    }
}
