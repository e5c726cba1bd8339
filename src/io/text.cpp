#include "reckon/io/text.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace reckon {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::string to_lower(std::string_view s) {
  std::string out(trim(s));
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  s = trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> parse_double(std::string_view s) {
  s = trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty() || !std::isfinite(v))
    return std::nullopt;
  return v;
}

std::string without_password(std::string url) {
  const auto scheme = url.find("://");
  const auto at = url.find('@');
  if (scheme != std::string::npos && at != std::string::npos) {
    const auto colon = url.find(':', scheme + 3);
    if (colon != std::string::npos && colon < at)
      url = url.substr(0, colon) + ":***" + url.substr(at);
  }
  for (std::size_t pos = 0; (pos = url.find("password=", pos)) != std::string::npos;) {
    const bool starts_word =
        pos == 0 || url[pos - 1] == '?' || url[pos - 1] == '&' || url[pos - 1] == ' ';
    pos += 9;
    if (!starts_word) continue;
    const auto end = url.find_first_of("& ", pos);
    url.replace(pos, (end == std::string::npos ? url.size() : end) - pos, "***");
  }
  return url;
}

std::optional<double> parse_duration(std::string_view s) {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  double unit = 1;
  switch (s.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: unit = 0;
  }
  if (unit > 0) s.remove_suffix(1);
  else unit = 1;
  auto v = parse_double(s);
  if (!v || *v < 0 || *v * unit > 1e12) return std::nullopt;
  return *v * unit;
}

bool fits_float(double v) {
  return std::isfinite(v) && std::abs(v) <= static_cast<double>(std::numeric_limits<float>::max());
}

std::optional<float> parse_float(std::string_view s) {
  const auto d = parse_double(s);
  if (!d || !fits_float(*d)) return std::nullopt;
  return static_cast<float>(*d);
}

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

std::optional<std::int64_t> parse_timestamp(std::string_view s) {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  if (auto i = parse_int(s)) {
    if (*i < -kMaxTimestamp || *i > kMaxTimestamp) return std::nullopt;
    return *i;
  }
  if (s.size() >= 10 && s[4] == '-' && s[7] == '-') {
    int y, mo, d;
    if (!digits(s, 0, 4, y) || !digits(s, 5, 2, mo) || !digits(s, 8, 2, d)) return std::nullopt;
    if (mo < 1 || mo > 12 || d < 1 || d > 31) return std::nullopt;
    std::int64_t t =
        days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400;
    std::size_t pos = 10;
    if (pos < s.size() && (s[pos] == 'T' || s[pos] == ' ')) {
      int h, mi, sec = 0;
      if (!digits(s, pos + 1, 2, h) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
          !digits(s, pos + 4, 2, mi) || h > 23 || mi > 59)
        return std::nullopt;
      pos += 6;
      if (pos < s.size() && s[pos] == ':') {
        if (!digits(s, pos + 1, 2, sec) || sec > 60) return std::nullopt;
        pos += 3;
      }
      if (pos < s.size() && s[pos] == '.') {  // fractional seconds are dropped
        ++pos;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
      }
      t += h * 3600 + mi * 60 + sec;
      if (pos < s.size()) {
        if (s[pos] == 'Z' && pos + 1 == s.size()) {
          pos++;
        } else if ((s[pos] == '+' || s[pos] == '-') &&
                   ((pos + 6 == s.size() && s[pos + 3] == ':') || pos + 5 == s.size() ||
                    pos + 3 == s.size())) {
          // +HH:MM, +HHMM, or +HH as PostgreSQL prints timestamptz ("2024-01-01 10:00:00+00").
          int oh, om = 0;
          const std::size_t mm = pos + 3 < s.size() && s[pos + 3] == ':' ? pos + 4 : pos + 3;
          if (!digits(s, pos + 1, 2, oh) || (pos + 3 != s.size() && !digits(s, mm, 2, om)) ||
              oh > 23 || om > 59)
            return std::nullopt;
          const int offset = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
          t -= offset;
          pos = s.size();
        } else {
          return std::nullopt;
        }
      }
    }
    if (pos != s.size()) return std::nullopt;
    return t;
  }
  if (auto d = parse_double(s)) {
    // Checked before the conversion: a double beyond int64's range has no integer value (UB).
    if (*d < -static_cast<double>(kMaxTimestamp) || *d > static_cast<double>(kMaxTimestamp))
      return std::nullopt;
    return static_cast<std::int64_t>(std::floor(*d));
  }
  return std::nullopt;
}

std::string format_timestamp(std::int64_t t) {
  const std::int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
  const std::int64_t secs = t - days * 86400;
  // civil_from_days (H. Hinnant).
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", y, m, d, secs / 3600, (secs / 60) % 60,
                     secs % 60);
}

std::size_t find_invalid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > n) return i;
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    // Overlong forms, surrogates and out-of-range code points are invalid.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return i;
    i += len;
  }
  return std::string_view::npos;
}

std::string latin1_to_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (unsigned char c : s) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

std::string excerpt(std::string_view s, std::size_t max) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < max; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7F) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

void split_plain(std::string_view line, std::string_view sep, std::vector<std::string_view>& out) {
  out.clear();
  if (sep.size() == 1) {
    const char c = sep[0];
    std::size_t start = 0;
    while (true) {
      const void* hit = std::memchr(line.data() + start, c, line.size() - start);
      if (!hit) break;
      const std::size_t pos = static_cast<std::size_t>(static_cast<const char*>(hit) - line.data());
      out.push_back(line.substr(start, pos - start));
      start = pos + 1;
    }
    out.push_back(line.substr(start));
    return;
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t pos = line.find(sep, start);
    if (pos == std::string_view::npos) break;
    out.push_back(line.substr(start, pos - start));
    start = pos + sep.size();
  }
  out.push_back(line.substr(start));
}

bool split_csv(std::string_view line, char sep, std::vector<std::string_view>& out,
               std::string& scratch) {
  out.clear();
  // Fast path: no quote character at all.
  if (line.find('"') == std::string_view::npos) {
    split_plain(line, std::string_view(&sep, 1), out);
    return true;
  }
  scratch.clear();
  scratch.reserve(line.size());  // views into scratch must not move
  std::size_t i = 0;
  const std::size_t n = line.size();
  while (true) {
    if (i < n && line[i] == '"') {
      const std::size_t begin = scratch.size();
      ++i;
      bool closed = false;
      while (i < n) {
        if (line[i] == '"') {
          if (i + 1 < n && line[i + 1] == '"') {
            scratch += '"';
            i += 2;
          } else {
            ++i;
            closed = true;
            break;
          }
        } else {
          scratch += line[i++];
        }
      }
      if (!closed) return false;
      // Text after the closing quote up to the separator is kept (lenient, like most readers).
      while (i < n && line[i] != sep) scratch += line[i++];
      out.emplace_back(scratch.data() + begin, scratch.size() - begin);
    } else {
      const std::size_t pos = line.find(sep, i);
      const std::size_t end = pos == std::string_view::npos ? n : pos;
      out.push_back(line.substr(i, end - i));
      i = end;
    }
    if (i >= n) break;
    ++i;  // the separator
    if (i == n) {
      out.emplace_back();
      break;
    }
  }
  return true;
}

}  // namespace reckon
