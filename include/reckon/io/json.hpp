#pragma once
// JSON from untrusted text (request bodies, JSON lines, metadata files). nlohmann's parser does
// not recurse, but dump(), comparisons and any code that walks a document do: a body nested
// 70,000 deep (200 KB) overflows the stack there. So the depth is bounded before parsing.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace reckon {

inline constexpr int kMaxJsonDepth = 64;

// Deepest nesting of arrays and objects in `text` (strings and escapes skipped), stopping early
// once it passes `limit`. Linear, no allocation.
int json_depth(std::string_view text, int limit = kMaxJsonDepth);

// The document, or nullopt with `*error` saying why: invalid JSON, a number beyond double's
// range (1e999), or nesting deeper than `max_depth`.
std::optional<nlohmann::json> parse_json(std::string_view text, std::string* error = nullptr,
                                         int max_depth = kMaxJsonDepth);

}  // namespace reckon
