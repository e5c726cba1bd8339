#include "request.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "reckon/io/text.hpp"

namespace reckon::detail {

const std::string* Target::param(std::string_view name) const {
  const std::string* found = nullptr;
  for (const auto& [k, v] : query)
    if (k == name) found = &v;
  return found;
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  if (find_invalid_utf8(out) != std::string::npos) return std::nullopt;
  return out;
}

}  // namespace

std::optional<Target> parse_target(std::string_view target) {
  Target t;
  const auto q = target.find('?');
  std::string_view path = target.substr(0, q);
  if (path.empty() || path.front() != '/') return std::nullopt;
  std::size_t pos = 1;
  while (pos <= path.size()) {
    const auto slash = path.find('/', pos);
    const auto part = path.substr(pos, slash == std::string_view::npos ? path.npos : slash - pos);
    if (!part.empty()) {
      auto d = decode(part);
      if (!d) return std::nullopt;
      t.segments.push_back(std::move(*d));
    }
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  if (q != std::string_view::npos) {
    std::string_view query = target.substr(q + 1);
    while (!query.empty()) {
      const auto amp = query.find('&');
      const auto pair = query.substr(0, amp);
      if (!pair.empty()) {
        const auto eq = pair.find('=');
        auto k = decode(pair.substr(0, eq));
        auto v = decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
        if (!k || !v) return std::nullopt;
        t.query.emplace_back(std::move(*k), std::move(*v));
      }
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
  }
  return t;
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20)
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
        else
          out += ch;
    }
  }
  out += '"';
}

void append_json_number(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  fmt::format_to(std::back_inserter(out), "{}", v);
}

void append_json_number(std::string& out, float v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  fmt::format_to(std::back_inserter(out), "{}", v);
}

std::string error_body(std::string_view code, std::string_view message) {
  std::string out = "{\"error\":{\"code\":";
  append_json_string(out, code);
  out += ",\"message\":";
  // Messages may quote client bytes: keep them valid UTF-8.
  if (find_invalid_utf8(message) != std::string::npos)
    append_json_string(out, excerpt(message, 200));
  else
    append_json_string(out, message);
  out += "}}";
  return out;
}

[[noreturn]] void fail(int status, std::string code, std::string message) {
  throw HttpError{status, std::move(code), std::move(message)};
}

void check_params(const Target& t, std::initializer_list<std::string_view> allowed) {
  for (const auto& [name, value] : t.query) {
    if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) continue;
    std::string takes;
    for (auto a : allowed) takes += (takes.empty() ? "" : ", ") + std::string(a);
    fail(400, "unknown_parameter",
         fmt::format("unknown query parameter \"{}\" (this route takes: {})", excerpt(name, 40),
                     takes.empty() ? "none" : takes));
  }
}

const std::string* aliased(const Target& t, std::initializer_list<std::string_view> names,
                           std::string_view& which) {
  const std::string* found = nullptr;
  for (auto n : names) {
    if (const std::string* v = t.param(n)) {
      if (found)
        fail(400, "conflicting_parameters",
             fmt::format("give one of {} and {}, not both", which, n));
      found = v;
      which = n;
    }
  }
  return found;
}

std::size_t parse_count(const Target& t, std::string_view name, std::size_t fallback,
                        std::size_t max) {
  const std::string* v = t.param(name);
  if (!v) return fallback;
  const auto n = parse_int(*v);
  if (!n || *n < 1 || static_cast<std::size_t>(*n) > max)
    fail(422, "invalid_parameter",
         fmt::format("{} must be an integer from 1 to {}, got \"{}\"", name, max, excerpt(*v)));
  return static_cast<std::size_t>(*n);
}

std::size_t parse_k(const Target& t, std::size_t fallback, std::size_t max) {
  std::string_view which = "k";
  return aliased(t, {"k", "n", "limit"}, which) ? parse_count(t, which, fallback, max) : fallback;
}

std::size_t parse_offset(const Target& t) {
  const std::string* v = t.param("offset");
  if (!v) return 0;
  const auto n = parse_int(*v);
  if (!n || *n < 0)
    fail(422, "invalid_parameter",
         fmt::format("offset must be an integer >= 0, got \"{}\"", excerpt(*v)));
  return static_cast<std::size_t>(*n);
}

}  // namespace reckon::detail
