// SPDX-License-Identifier: LGPL-2.1-or-later
#include "facts.hpp"

#include <cstdint>
#include <variant>

#include <pvshm/format.hpp>

#include "type_name.hpp"

namespace py = pybind11;

namespace pvshm::python {
namespace {

// A str as UTF-8; a str holding lone surrogates raises UnicodeEncodeError (a ValueError).
std::string utf8(py::handle text)
{
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(text.ptr(), &size);
    if (!data)
        throw py::error_already_set();
    return std::string(data, static_cast<size_t>(size));
}

bool numpy_instance(py::handle value, const char* type)
{
    return py::isinstance(value, py::module_::import("numpy").attr(type));
}

MetadataValue metadata_value(const std::string& key, py::handle value, std::string_view caller)
{
    const std::string where = std::string(caller) + ": metadata['" + key + "']";
    if (PyUnicode_Check(value.ptr()))
        return utf8(value);
    // numpy's bool_ is no int subclass but has __index__: it must not pass as an integer.
    if (PyBool_Check(value.ptr()) || numpy_instance(value, "bool_"))
        throw py::type_error(where + " is a bool, which metadata does not carry: store an int (0 "
                                     "or 1) or a str instead");
    if (PyFloat_Check(value.ptr()))
        return PyFloat_AsDouble(value.ptr());
    if (PyIndex_Check(value.ptr())) { // int, numpy integers
        auto number = py::reinterpret_steal<py::object>(PyNumber_Index(value.ptr()));
        if (!number)
            throw py::error_already_set();
        int overflow = 0;
        const long long integer = PyLong_AsLongLongAndOverflow(number.ptr(), &overflow);
        if (integer == -1 && PyErr_Occurred())
            throw py::error_already_set();
        if (overflow != 0)
            throw py::value_error(where + " = " + std::string(py::repr(number)) +
                                  " does not fit in 64 bits (-2**63 to 2**63-1)");
        return static_cast<int64_t>(integer);
    }
    if (numpy_instance(value, "floating")) { // float32, float16: no float subclasses
        const double number = PyFloat_AsDouble(value.ptr());
        if (number == -1.0 && PyErr_Occurred())
            throw py::error_already_set();
        return number;
    }
    throw py::type_error(where + " must be a str, int or float, got " + type_name(value));
}

} // namespace

py::str text_from_segment(const std::string& text)
{
    PyObject* decoded =
        PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "replace");
    if (!decoded)
        throw py::error_already_set();
    return py::reinterpret_steal<py::str>(decoded);
}

py::dict metadata_dict(const UserMetadata& metadata)
{
    py::dict dict;
    for (const auto& [key, value] : metadata) {
        py::object item;
        if (const auto* text = std::get_if<std::string>(&value))
            item = text_from_segment(*text);
        else if (const auto* integer = std::get_if<int64_t>(&value))
            item = py::int_(*integer);
        else
            item = py::float_(std::get<double>(value));
        dict[text_from_segment(key)] = item;
    }
    return dict;
}

py::dict frame_dict(const FrameInfo& info)
{
    py::dict dict;
    dict["width"] = info.width;
    dict["height"] = info.height;
    dict["format"] = std::string(format_name(info.format));
    dict["sequence"] = info.sequence;
    // The names of FrameInfo's fields; timestamp_ns and monotonic_ns are the names the first
    // releases used, kept for the programs written against them.
    dict["timestamp_realtime_ns"] = info.timestamp_realtime_ns;
    dict["timestamp_monotonic_ns"] = info.timestamp_monotonic_ns;
    dict["timestamp_ns"] = info.timestamp_realtime_ns;
    dict["monotonic_ns"] = info.timestamp_monotonic_ns;
    // As the seed's ImageMeta::timestamp_ms: whole milliseconds, rounded down.
    const int64_t ns = info.timestamp_realtime_ns;
    dict["timestamp_ms"] = ns / 1000000 - (ns % 1000000 < 0 ? 1 : 0);
    dict["camera_id"] = text_from_segment(info.camera_id);
    dict["caps"] = text_from_segment(info.caps);
    dict["payload_size"] = info.payload_size;
    dict["bit_depth"] = info.bit_depth;
    dict["metadata"] = metadata_dict(info.metadata);
    return dict;
}

UserMetadata metadata_from(py::handle object, std::string_view caller)
{
    UserMetadata metadata;
    if (object.is_none())
        return metadata;
    if (!PyDict_Check(object.ptr()))
        throw py::type_error(std::string(caller) +
                             ": metadata must be a dict of str keys to str, int or float "
                             "values, got " +
                             type_name(object));
    for (const auto& [key, value] : py::reinterpret_borrow<py::dict>(object)) {
        if (!PyUnicode_Check(key.ptr()))
            throw py::type_error(std::string(caller) + ": metadata keys must be str, got " +
                                 type_name(key) + " " + std::string(py::repr(key)));
        std::string name = utf8(key);
        MetadataValue stored = metadata_value(name, value, caller);
        metadata.emplace(std::move(name), std::move(stored));
    }
    return metadata;
}

} // namespace pvshm::python
