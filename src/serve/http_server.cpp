#include "reckon/serve/http_server.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <csignal>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "reckon/core/error.hpp"
#include "reckon/core/threads.hpp"
#include "reckon/serve/service.hpp"
#include "request.hpp"

namespace reckon {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

struct HttpServer::Impl {
  Impl(Service& s, ServerOptions o) : service(s), options(std::move(o)), acceptor(ioc) {
    // Sessions still queued in `ioc` are destroyed with it and update the counters below, so
    // those are declared (and outlive) before it.
    if (options.threads <= 0)
      options.threads = default_threads();
    beast::error_code ec;
    const auto address = net::ip::make_address(options.host, ec);
    if (ec) throw InvalidInput(fmt::format("--host: \"{}\" is not an IP address", options.host));
    const tcp::endpoint endpoint(address, options.port);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
      throw IoError(
          fmt::format("cannot listen on {}:{}: {}", options.host, options.port, ec.message()));
    bound_port = acceptor.local_endpoint().port();
  }

  Service& service;
  ServerOptions options;
  std::uint16_t bound_port = 0;
  std::atomic<int> in_flight{0};
  std::atomic<std::size_t> connections{0};
  // Open connections per client address: one client cannot take every connection.
  std::mutex clients_mutex;
  std::unordered_map<std::string, std::size_t> clients;
  // Counts the connection of `address`; false when that client has too many.
  bool client_opened(const std::string& address) {
    std::lock_guard lock(clients_mutex);
    std::size_t& n = clients[address];
    if (n >= options.max_connections_per_client) {
      if (n == 0) clients.erase(address);
      return false;
    }
    ++n;
    return true;
  }
  void client_closed(const std::string& address) {
    std::lock_guard lock(clients_mutex);
    if (auto it = clients.find(address); it != clients.end() && --it->second == 0)
      clients.erase(it);
  }
  std::atomic<bool> draining{false};
  Clock::time_point drain_deadline;
  net::io_context ioc;
  tcp::acceptor acceptor;
  std::optional<net::steady_timer> drain_timer;

  void accept();
  void begin_stop();
  void poll_drained();
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl& server)
      : stream_(std::move(socket)), server_(server) {
    ++server_.connections;
    beast::error_code ec;
    const auto remote = stream_.socket().remote_endpoint(ec);
    if (!ec) {
      address_ = remote.address().to_string();
      remote_ = address_ + ":" + std::to_string(remote.port());
      loopback_ =
          remote.address().is_loopback() ||
          (remote.address().is_v6() && remote.address().to_v6().is_v4_mapped() &&
           net::ip::make_address_v4(net::ip::v4_mapped, remote.address().to_v6()).is_loopback());
    }
  }
  ~Session() {
    if (counted_) --server_.in_flight;
    if (client_counted_) server_.client_closed(address_);
    --server_.connections;
  }

  // Counts this connection for its client; false when that client has too many open.
  bool admit() { return client_counted_ = server_.client_opened(address_); }

  void refuse_client() {
    begin_request();
    finish(make_error(429, "too_many_connections",
                      fmt::format("more than {} connections from one address",
                                  server_.options.max_connections_per_client)),
           Route::kOther, /*close=*/true);
  }

  void start() { read(); }

  // Too many connections: one canned answer, then close.
  void refuse() {
    begin_request();
    finish(make_error(503, "overloaded", "too many connections; try again"), Route::kOther,
           /*close=*/true);
  }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(server_.options.body_limit);
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.header_limit));
    stream_.expires_after(server_.options.header_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec) return on_read(ec, 0);
    const auto& req = parser_->get();
    if (beast::iequals(req[http::field::expect], "100-continue")) {
      // curl asks before sending a body over 1 KiB; answer so that it does not wait a second.
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_,
                                                                     req.version());
      http::async_write(stream_, *cont,
                        [self = shared_from_this(), cont](beast::error_code e, std::size_t) {
                          if (e) return self->close();
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    stream_.expires_after(server_.options.read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) {
      if (ec == http::error::body_limit) {
        begin_request();
        return finish(
            make_error(413, "payload_too_large",
                       fmt::format("the body is over {} bytes", server_.options.body_limit)),
            Route::kOther, true);
      }
      if (ec == http::error::header_limit) {
        begin_request();
        return finish(
            make_error(431, "headers_too_large",
                       fmt::format("the headers are over {} bytes", server_.options.header_limit)),
            Route::kOther, true);
      }
      if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
          ec != http::error::end_of_stream && ec != http::error::partial_message) {
        begin_request();
        return finish(make_error(400, "bad_request", "malformed HTTP request: " + ec.message()),
                      Route::kOther, true);
      }
      return close();  // end of stream, timeout, reset: nothing to answer
    }
    begin_request();
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    method_ = std::string(req.method_string());
    target_ = std::string(req.target());
    HttpRequest r{method_, target_, std::move(req.body()),
                  std::string(req[http::field::content_type])};
    r.authorization = std::string(req[http::field::authorization]);
    r.origin = std::string(req[http::field::origin]);
    r.host = std::string(req[http::field::host]);
    r.sec_fetch_site = std::string(req["Sec-Fetch-Site"]);
    r.peer_loopback = loopback_;
    // Most routes answer before handle() returns, on this thread: write the answer now rather
    // than queue it (a queued handler may wake the other I/O thread for nothing). Answers that
    // come later from another thread (stored events) are posted to this session's strand.
    handling = this;
    {
      struct Done {
        ~Done() { handling = nullptr; }
      } done;
      server_.service.handle(std::move(r), [self = shared_from_this()](HttpResponse resp) {
        if (handling == self.get()) {
          self->immediate_ = std::move(resp);
          return;
        }
        net::post(self->stream_.get_executor(), [self, resp = std::move(resp)]() mutable {
          const Route route = resp.route;
          self->finish(std::move(resp), route, false);
        });
      });
    }
    if (immediate_) {
      HttpResponse resp = std::move(*immediate_);
      immediate_.reset();
      const Route route = resp.route;
      finish(std::move(resp), route, false);
    }
  }

  // The session whose request this thread is handling (see on_read).
  static thread_local Session* handling;

  HttpResponse make_error(int status, std::string_view code, std::string_view message) {
    HttpResponse r;
    r.status = status;
    r.body = detail::error_body(code, message);
    if (method_.empty()) method_ = "-";
    return r;
  }

  void begin_request() {
    started_ = Clock::now();
    if (!counted_) {
      counted_ = true;
      ++server_.in_flight;
    }
  }

  void finish(HttpResponse r, Route route, bool close) {
    status_ = r.status;
    route_ = route;
    res_ = {};
    res_.version(version_);
    res_.result(static_cast<unsigned>(r.status));
    res_.set(http::field::server, "reckon");
    res_.set(http::field::content_type, r.content_type);
    if (!r.allow.empty()) res_.set(http::field::allow, r.allow);
    for (const auto& [name, value] : r.headers) res_.set(name, value);
    res_.keep_alive(keep_alive_ && !close && !server_.draining.load());
    res_.body() = std::move(r.body);
    res_.prepare_payload();
    stream_.expires_after(server_.options.read_timeout);
    http::async_write(stream_, res_,
                      beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t bytes) {
    const double seconds = std::chrono::duration<double>(Clock::now() - started_).count();
    server_.service.metrics().observe(route_, status_, seconds);
    if (server_.options.access_log)
      server_.options.access_log->info("{} \"{} {}\" {} {} {:.3f}ms", remote_, method_,
                                       excerpt_target(), status_, bytes, seconds * 1e3);
    if (counted_) {
      counted_ = false;
      --server_.in_flight;
    }
    if (ec) return close();
    if (!res_.keep_alive()) return linger();
    method_.clear();
    target_.clear();
    read();
  }

  std::string excerpt_target() const {
    std::string t = target_.size() > 200 ? target_.substr(0, 200) + "..." : target_;
    for (char& c : t)
      if (static_cast<unsigned char>(c) < 0x20 || c == '"') c = '?';
    return t.empty() ? "-" : t;
  }

  // Closing a socket with unread input makes the kernel send a reset, which can destroy the
  // answer before the client reads it (a 413 or 431 sent while the client is still sending).
  // So: stop sending, read and drop what still arrives for a moment, then close.
  void linger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    stream_.expires_after(std::chrono::seconds(2));
    drain_ = std::make_unique<std::array<char, 16384>>();
    drain();
  }

  void drain() {
    stream_.async_read_some(net::buffer(*drain_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > (8u << 20)) return self->close();
                              self->drain();
                            });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  HttpServer::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  std::string remote_ = "-", address_, method_, target_;
  bool loopback_ = false;
  bool client_counted_ = false;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool counted_ = false;
  int status_ = 0;
  Route route_ = Route::kOther;
  Clock::time_point started_;
  std::unique_ptr<std::array<char, 16384>> drain_;
  std::size_t drained_ = 0;
  std::optional<HttpResponse> immediate_;  // an answer given during handle()
};

thread_local Session* Session::handling = nullptr;

}  // namespace

void HttpServer::Impl::accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (!acceptor.is_open()) return;  // stopping
      // Out of descriptors and the like: keep serving the connections we have.
      spdlog::warn("accept: {}", ec.message());
      return accept();
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto session = std::make_shared<Session>(std::move(socket), *this);
    if (connections.load() > options.max_connections)
      session->refuse();
    else if (!session->admit())
      session->refuse_client();
    else
      session->start();
    accept();
  });
}

void HttpServer::Impl::begin_stop() {
  if (draining.exchange(true)) return;
  beast::error_code ec;
  acceptor.close(ec);
  drain_deadline = Clock::now() + options.drain_timeout;
  drain_timer.emplace(ioc);
  poll_drained();
}

void HttpServer::Impl::poll_drained() {
  if (in_flight.load() == 0 || Clock::now() >= drain_deadline) {
    if (in_flight.load() > 0)
      spdlog::warn("shutdown: {} requests still in flight after {} ms", in_flight.load(),
                   options.drain_timeout.count());
    ioc.stop();
    return;
  }
  drain_timer->expires_after(std::chrono::milliseconds(5));
  drain_timer->async_wait([this](beast::error_code) { poll_drained(); });
}

HttpServer::HttpServer(Service& service, ServerOptions options)
    : impl_(std::make_unique<Impl>(service, std::move(options))) {}

HttpServer::~HttpServer() = default;

std::uint16_t HttpServer::port() const noexcept { return impl_->bound_port; }

void HttpServer::stop() {
  net::post(impl_->ioc, [impl = impl_.get()] { impl->begin_stop(); });
}

void HttpServer::run(bool handle_signals) {
  Impl& s = *impl_;
  std::optional<net::signal_set> signals;
  std::function<void()> wait_signal;
  if (handle_signals) {
    signals.emplace(s.ioc, SIGINT, SIGTERM, SIGHUP);
    wait_signal = [&] {
      signals->async_wait([&](beast::error_code ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
          spdlog::info("SIGHUP: reloading the model");
          s.service.reload_async([](std::exception_ptr e) {
            if (!e) return spdlog::info("reloaded: {}", "ok");
            try {
              std::rethrow_exception(e);
            } catch (const std::exception& x) {
              spdlog::error("reload failed, still serving the previous model: {}", x.what());
            }
          });
          return wait_signal();
        }
        spdlog::info("{}: finishing requests in flight, then stopping",
                     sig == SIGTERM ? "SIGTERM" : "SIGINT");
        s.begin_stop();
      });
    };
    wait_signal();
  }
  s.accept();
  std::vector<std::thread> threads;
  for (int t = 1; t < s.options.threads; ++t) threads.emplace_back([&] { s.ioc.run(); });
  s.ioc.run();
  for (auto& t : threads) t.join();
  if (signals) {
    beast::error_code ec;
    signals->cancel(ec);
  }
}

}  // namespace reckon
