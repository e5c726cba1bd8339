#pragma once
// The HTTP/1.1 front of the service on Boost.Beast: keep-alive, a fixed pool of I/O threads,
// limits on header and body size and on the time to read a request, an access log line per
// request, graceful shutdown (stop accepting, let requests in flight finish, then return).
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace reckon {

class Service;

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: any free port (see HttpServer::port())
  int threads = 0;            // I/O threads; 0 = the machine's cores
  std::size_t body_limit = 1 << 20;
  std::size_t header_limit = 16 << 10;
  // A request's headers (and the next request on an idle keep-alive connection) must arrive
  // within header_timeout, its body within read_timeout: half-sent requests cannot hold
  // connections for long.
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds read_timeout{30'000};
  std::chrono::milliseconds drain_timeout{
      10'000};                                   // shutdown waits this long for requests in flight
  std::size_t max_connections = 10'000;          // more get 503 and are closed
  std::size_t max_connections_per_client = 256;  // from one address; more get 429
  std::shared_ptr<spdlog::logger> access_log;    // null: no access log
};

class HttpServer {
 public:
  HttpServer(Service& service, ServerOptions options);  // binds (throws when it cannot)
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const noexcept;
  // Serves until stop() (or, with handle_signals, SIGTERM/SIGINT; SIGHUP reloads the model).
  void run(bool handle_signals);
  // Graceful: stops accepting, waits for requests in flight (up to drain_timeout), then makes
  // run() return. Safe from any thread, also before run().
  void stop();

  struct Impl;  // internal (sessions reach it)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace reckon
