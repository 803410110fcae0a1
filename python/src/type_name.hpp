// SPDX-License-Identifier: LGPL-2.1-or-later
// The name of a Python object's type, as the module's TypeError messages say what they got.
#pragma once

#include <string>

#include <pybind11/pybind11.h>

namespace pvshm::python {

inline std::string type_name(pybind11::handle value)
{
    return std::string(pybind11::str(pybind11::type::handle_of(value).attr("__name__")));
}

} // namespace pvshm::python
