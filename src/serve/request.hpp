#pragma once
// Reading a request target and writing JSON by hand on the hot path (answers are built as text:
// a recommendation list is a few string appends, not a JSON tree).
#include <initializer_list>
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

// A request that failed validation: thrown inside handlers, answered as a 4xx.
struct HttpError {
  int status;
  std::string code, message;
};
[[noreturn]] void fail(int status, std::string code, std::string message);
// Every query parameter must be one the route takes: a misspelt or unsupported one (limit on a
// server that did not know it, category) would otherwise be ignored in silence.
void check_params(const Target& t, std::initializer_list<std::string_view> allowed);
// The one of several alias names that was given (k, n and limit are one parameter); 400 when
// more than one is.
const std::string* aliased(const Target& t, std::initializer_list<std::string_view> names,
                           std::string_view& which);
// Parameter `name` as a count from 1 to max (422 otherwise); `fallback` when absent.
std::size_t parse_count(const Target& t, std::string_view name, std::size_t fallback,
                        std::size_t max);
// k (alias n, limit) as a count from 1 to max; `fallback` when none is given.
std::size_t parse_k(const Target& t, std::size_t fallback, std::size_t max);
// offset: an integer >= 0 (422 otherwise); 0 when absent.
std::size_t parse_offset(const Target& t);
// Appends `s` as a JSON string literal (quotes, escapes; the text must be valid UTF-8).
void append_json_string(std::string& out, std::string_view s);
// Appends a number the way JSON wants it (shortest form that reads back; null when not finite).
void append_json_number(std::string& out, double v);
void append_json_number(std::string& out, float v);

// {"error":{"code":"..","message":".."}}
std::string error_body(std::string_view code, std::string_view message);

}  // namespace reckon::detail
