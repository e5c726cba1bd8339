#pragma once
// Small text helpers shared by every parser: numbers, timestamps, UTF-8, error messages.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reckon {

std::string_view trim(std::string_view s);
// Trimmed and ASCII-lowercased (for matching column names).
std::string to_lower(std::string_view s);
std::optional<std::int64_t> parse_int(std::string_view s);
// A finite decimal number (nullopt for inf, nan and out-of-range text such as 1e999).
std::optional<double> parse_double(std::string_view s);
// A database URL for logs and messages: a password in the authority (postgresql://u:secret@h),
// as a URI parameter (?password=secret) or in a key=value string (password=secret) -> "***".
std::string without_password(std::string url);
// A non-negative duration: "90s", "30m", "2h", "90d" (or plain seconds) -> seconds.
std::optional<double> parse_duration(std::string_view s);
// A number that is finite as a float too: 3.5e38 is a finite double but +inf as a float, which
// would turn every sum over it into inf or NaN.
std::optional<float> parse_float(std::string_view s);
// Whether a double fits in a float without becoming inf.
bool fits_float(double v);
// Timestamps are kept within +-kMaxTimestamp seconds (about 300,000 years): any such time in
// milliseconds still fits in 64 bits, and a float-to-integer conversion is never undefined.
inline constexpr std::int64_t kMaxTimestamp = 10'000'000'000'000;
// Unix seconds (within +-kMaxTimestamp) from an integer or decimal number of seconds, or an ISO
// 8601 date or date-time
// ("2016-05-09", "2014-04-01T03:00:00.123Z", "2014-04-01 03:00:00+02:00").
std::optional<std::int64_t> parse_timestamp(std::string_view s);
// "YYYY-MM-DDTHH:MM:SSZ".
std::string format_timestamp(std::int64_t unix_seconds);

// Byte offset of the first invalid UTF-8 sequence, or npos when the text is valid.
std::size_t find_invalid_utf8(std::string_view s);
std::string latin1_to_utf8(std::string_view s);
// The text shortened to `max` bytes with control bytes escaped, for error messages.
std::string excerpt(std::string_view s, std::size_t max = 60);

// Splits on a (possibly multi-character) separator; no quoting. Views point into `line`.
void split_plain(std::string_view line, std::string_view sep, std::vector<std::string_view>& out);
// Splits one CSV record (RFC 4180 quoting: "a,b" and "say ""hi""") on a one-character separator.
// Views point into `line` or into `scratch`; returns false when a quote is left open (the record
// continues on the next line).
bool split_csv(std::string_view line, char sep, std::vector<std::string_view>& out,
               std::string& scratch);

}  // namespace reckon
