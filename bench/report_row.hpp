// One measurement, printed as a JSON line in bench/report.py's format: `values` and
// `anchor_values` are repeated measurements (report.py takes their medians); no anchor when
// `anchor` is empty.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

inline std::string json_numbers(const std::vector<double>& values)
{
    std::string text = "[";
    for (size_t i = 0; i < values.size(); ++i) {
        char number[32];
        std::snprintf(number, sizeof number, "%s%.6g", i ? ", " : "", values[i]);
        text += number;
    }
    return text + "]";
}

inline void report_row(const std::string& section, const std::string& name,
                       const std::string& metric, const std::string& unit,
                       const std::vector<double>& values, const std::string& anchor = "",
                       const std::vector<double>& anchor_values = {})
{
    std::string line = "{\"section\": \"" + section + "\", \"case\": \"" + name +
                       "\", \"metric\": \"" + metric + "\", \"unit\": \"" + unit +
                       "\", \"value\": " + json_numbers(values) + ", \"anchor\": ";
    if (anchor.empty())
        line += "null, \"anchor_value\": null}";
    else
        line += "\"" + anchor + "\", \"anchor_value\": " + json_numbers(anchor_values) + "}";
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}
