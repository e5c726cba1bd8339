#pragma once
// Reading a request target and writing JSON by hand on the hot path (answers are built as text:
// a recommendation list is a few string appends, not a JSON tree).
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace reckon::detail {

struct Target {
  std::vector<std::string> segments;                       // decoded path segments
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  const std::string* param(std::string_view name) const;   // the last value of a parameter
};

// Splits "/a/b%20c?k=10&mode=x" into segments and parameters; nullopt when a %-escape is bad or
// a decoded part is not UTF-8. '+' is kept as '+' (ISO 8601 offsets in at=).
std::optional<Target> parse_target(std::string_view target);

// Appends `s` as a JSON string literal (quotes, escapes; the text must be valid UTF-8).
void append_json_string(std::string& out, std::string_view s);
// Appends a number the way JSON wants it (shortest form that reads back; null when not finite).
void append_json_number(std::string& out, double v);
void append_json_number(std::string& out, float v);

// {"error":{"code":"..","message":".."}}
std::string error_body(std::string_view code, std::string_view message);

}  // namespace reckon::detail
