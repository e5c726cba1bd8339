#pragma once
// HTTP(S) as a client (libcurl): downloads streamed to disk, and small requests (the reload a
// retrain posts to a running server). Only http:// and https:// are followed, redirects too.
#include <filesystem>
#include <string>
#include <vector>

namespace reckon {

// Streams `url` into `dest` (created or replaced), with a progress bar; at most `max_bytes`
// (0: no limit). Throws IoError naming the URL (offline, HTTP errors, too large, disk full);
// `dest` is removed on failure.
void download(const std::string& url, const std::filesystem::path& dest,
              std::size_t max_bytes = 0);

// `url` into `dest` (a file, or a folder where the URL's last path part names the file), via
// a temporary file renamed once complete and, when `sha256` is given (hex), verified. Returns
// the file written and prints nothing; throws IoError on a mismatch (the file is not kept).
std::filesystem::path fetch_url(const std::string& url, const std::filesystem::path& dest,
                                const std::string& sha256 = {});

// True for http:// and https:// URLs.
bool is_http_url(const std::string& source);

struct HttpReply {
  long status = 0;
  std::string body;
};
// A small request (at most 1 MB of answer is kept); throws IoError when no answer came.
HttpReply http_request(const std::string& method, const std::string& url, const std::string& body,
                       const std::vector<std::string>& headers, long timeout_seconds = 60);

}  // namespace reckon
