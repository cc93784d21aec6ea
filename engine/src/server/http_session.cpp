#include "server/http_session.h"

#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hearth/error.h"
#include "server/api_error.h"
#include "server/openai_request.h"
#include "server/openai_response.h"
#include "server/prepared_request.h"
#include "server/server_metrics.h"

namespace hearth::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using HttpRequest = http::request<http::string_body>;
using Seconds = std::chrono::duration<double>;

std::chrono::steady_clock::duration seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(Seconds(s));
}

std::string_view target_path(std::string_view target) { return target.substr(0, target.find('?')); }

// One choice of a generation: its engine request and what it has streamed.
struct ChoiceRun {
  PreparedChoice prepared;
  std::optional<hearth::Request> request;
  bool done = false;
  bool first_event = true;          // chat: the first chunk carries the role
  int64_t streamed_characters = 0;  // completions: text_offset of the next streamed logprob
};

// A completion in flight on this connection.
struct Generation {
  uint64_t serial = 0;
  ApiRequest api;
  PreparedRequest prepared;
  ResponseHead head;
  std::vector<ChoiceRun> runs;
  int32_t remaining = 0;  // submitted choices not done yet
  bool admitted = false;
  bool headers_sent = false;  // streaming: the event stream has begun
  std::optional<ApiError> failure;
};

class Session final : public SessionControl, public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, detail::ServerState& server, uint64_t id)
      : stream_(std::move(socket)), server_(server), id_(id) {
    ++server_.counters.open_connections;
  }
  ~Session() override {
    set_responding(false);
    --server_.counters.open_connections;
    std::lock_guard lock(server_.sessions_mutex);
    server_.sessions.erase(id_);
  }

  void start() {
    net::dispatch(stream_.get_executor(),
                  [self = shared_from_this()] { self->wait_for_request(); });
  }

  void cancel_generation() override {
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->cancel_runs(); });
  }
  void close() override {
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->close_now(); });
  }

 private:
  // ---- Reading requests -------------------------------------------------------------------

  // A keep-alive connection may be idle for idle_timeout; once a request's first byte is in,
  // the whole request must arrive within read_timeout.
  void wait_for_request() {
    if (closed_) return;
    if (buffer_.size() > 0) return read_request();
    stream_.expires_after(seconds(server_.options.idle_timeout));
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec) return self->close_now();
                              self->buffer_.commit(n);
                              self->read_request();
                            });
  }

  void read_request() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_.options.max_header_bytes));
    parser_->body_limit(server_.options.max_body_bytes);
    stream_.expires_after(seconds(server_.options.read_timeout));
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset ||
        ec == net::error::eof) {
      return close_now();
    }
    if (ec == http::error::body_limit) {
      return reply_error(
          ApiError(413, "the request body is larger than this server's limit of " +
                            std::to_string(server_.options.max_body_bytes) + " bytes"),
          true);
    }
    if (ec == http::error::header_limit) {
      return reply_error(ApiError(431,
                                  "the request's headers are larger than this server's "
                                  "limit of " +
                                      std::to_string(server_.options.max_header_bytes) + " bytes"),
                         true);
    }
    if (ec) return reply_error(ApiError(400, "malformed HTTP request: " + ec.message()), true);
    stream_.expires_never();  // generation may take long; each write sets its own limit
    ++server_.counters.requests;
    set_responding(true);
    HttpRequest request = parser_->release();
    keep_alive_ = request.keep_alive();
    try {
      route(request);
    } catch (const ApiError& e) {
      reply_error(e, !keep_alive_);
    } catch (const std::exception& e) {
      reply_error(ApiError(500, std::string("internal error: ") + e.what()), !keep_alive_);
    }
  }

  // ---- Routing ----------------------------------------------------------------------------

  void route(const HttpRequest& request) {
    const std::string_view path = target_path(request.target());
    const http::verb method = request.method();
    auto require = [&](http::verb wanted) {
      if (method != wanted) {
        throw ApiError(405,
                       "use " + std::string(http::to_string(wanted)) + " for " + std::string(path));
      }
    };
    if (path == "/health" || path == "/health/ready") {
      require(http::verb::get);
      if (server_.draining) {
        return reply(http::status::service_unavailable, R"({"status":"shutting down"})",
                     "application/json");
      }
      return reply(http::status::ok, R"({"status":"ok"})", "application/json");
    }
    if (path == "/health/live") {
      require(http::verb::get);
      return reply(http::status::ok, R"({"status":"live"})", "application/json");
    }
    const bool known = path == "/v1/models" || path.starts_with("/v1/models/") ||
                       path == "/metrics" || path == "/v1/completions" ||
                       path == "/v1/chat/completions";
    if (!known) throw ApiError(404, "no endpoint " + std::string(path), "", "unknown_url");
    if (!server_.keys.allows(request[http::field::authorization])) {
      throw ApiError(401, "a valid API key is required (Authorization: Bearer KEY)", "",
                     "invalid_api_key");
    }
    if (path == "/metrics") {
      require(http::verb::get);
      return reply(http::status::ok, server_metrics_text(server_),
                   "text/plain; version=0.0.4; charset=utf-8");
    }
    if (path == "/v1/models") {
      require(http::verb::get);
      nlohmann::ordered_json list{{"object", "list"}, {"data", {model_json()}}};
      return reply(http::status::ok, list.dump(), "application/json");
    }
    if (path.starts_with("/v1/models/")) {
      require(http::verb::get);
      if (path.substr(11) != server_.model_id) {
        throw ApiError(404,
                       "no model '" + std::string(path.substr(11)) + "' (this server has '" +
                           server_.model_id + "')",
                       "model", "model_not_found");
      }
      return reply(http::status::ok, model_json().dump(), "application/json");
    }
    require(http::verb::post);
    // The body is read as JSON whatever Content-Type says (curl -d sends a form type).
    start_generation(
        path == "/v1/chat/completions" ? Endpoint::chat_completions : Endpoint::completions,
        request.body());
  }

  nlohmann::ordered_json model_json() const {
    return {{"id", server_.model_id},
            {"object", "model"},
            {"created", server_.model_created},
            {"owned_by", "hearth"}};
  }

  // ---- Generation -------------------------------------------------------------------------

  void start_generation(Endpoint endpoint, const std::string& body) {
    if (server_.draining) throw ApiError(503, "the server is shutting down");
    RequestLimits limits;
    limits.max_tokens_limit = server_.options.max_tokens_limit;
    limits.max_choices = server_.options.max_choices;
    limits.vocab_size = server_.engine.model_info().vocab_size;
    auto gen = std::make_unique<Generation>();
    gen->api = parse_api_request(endpoint, body, server_.defaults, limits);
    if (!gen->api.model.empty() && gen->api.model != server_.model_id) {
      throw ApiError(
          404, "no model '" + gen->api.model + "' (this server has '" + server_.model_id + "')",
          "model", "model_not_found");
    }
    gen->prepared = prepare_request(server_.engine, gen->api, server_.options.max_prompt_tokens);
    gen->serial = server_.next_id++;
    gen->head.endpoint = endpoint;
    gen->head.id = (endpoint == Endpoint::chat_completions ? "chatcmpl-" : "cmpl-") +
                   std::to_string(server_.port) + "-" + std::to_string(gen->serial);
    gen->head.created = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    gen->head.model = server_.model_id;
    for (const PreparedChoice& c : gen->prepared.choices) gen->runs.push_back({c});
    generation_ = std::move(gen);
    hold_ = shared_from_this();  // alive until every choice is done, whatever the socket does

    const uint64_t serial = generation_->serial;
    std::weak_ptr<Session> weak = weak_from_this();
    auto executor = stream_.get_executor();
    const Admission::Outcome outcome = server_.admission.enter([weak, executor, serial](bool go) {
      net::post(executor, [weak, serial, go] {
        if (auto self = weak.lock()) self->on_admitted(serial, go);
      });
    });
    if (outcome == Admission::Outcome::full) {
      generation_.reset();
      hold_.reset();
      ++server_.counters.rejected_busy;
      throw ApiError(429, "the server is busy: every place in its queue is taken; retry shortly",
                     "", "server_busy");
    }
    watch_for_disconnect();
  }

  void on_admitted(uint64_t serial, bool admitted) {
    Generation* gen = current(serial);
    if (!gen) {
      // The connection went while the request waited: pass the place on.
      if (admitted) server_.admission.leave();
      return;
    }
    if (!admitted) {
      gen->failure = ApiError(503, "the server is shutting down");
      return finish_generation();
    }
    gen->admitted = true;
    if (closed_) return finish_generation();
    if (gen->api.stream) {
      begin_stream();
      if (gen->api.echo) {
        for (ChoiceRun& run : gen->runs) {
          on_text(serial, &run - gen->runs.data(), gen->prepared.prompt_texts[run.prepared.prompt]);
        }
      }
    }
    std::weak_ptr<Session> weak = weak_from_this();
    auto executor = stream_.get_executor();
    const auto& tokens = gen->prepared.prompt_tokens;
    for (size_t i = 0; i < gen->runs.size(); ++i) {
      ChoiceRun& run = gen->runs[i];
      RequestCallbacks callbacks;
      if (gen->api.stream) {
        callbacks.on_text = [weak, executor, serial, i](std::string_view text) {
          net::post(executor, [weak, serial, i, piece = std::string(text)] {
            if (auto self = weak.lock()) self->on_text(serial, i, piece);
          });
          return true;
        };
      }
      std::atomic<int32_t>* live = &server_.live_engine_requests;
      callbacks.on_done = [weak, executor, serial, i, live](RequestState) {
        net::post(executor, [weak, serial, i] {
          if (auto self = weak.lock()) self->on_choice_done(serial, i);
        });
        --*live;  // last: shutdown waits for this before it stops the I/O threads
      };
      ++server_.live_engine_requests;
      try {
        run.request = server_.engine.submit_tokens(tokens[run.prepared.prompt],
                                                   run.prepared.generation, std::move(callbacks));
        ++gen->remaining;
      } catch (const Error& e) {
        --server_.live_engine_requests;
        gen->failure = ApiError(e.code() == ErrorCode::out_of_memory ? 503 : 400, e.what());
        cancel_runs();
        break;
      }
    }
    if (gen->remaining == 0) finish_generation();
  }

  void on_text(uint64_t serial, size_t choice, const std::string& text) {
    Generation* gen = current(serial);
    if (!gen || closed_ || text.empty()) return;
    queue_event(stream_chunk(gen->head, gen->runs[choice], text, std::nullopt));
  }

  // One chunk of a choice's stream. When the request asked for them, it carries the
  // log-probabilities of the tokens made since the previous chunk (completions count their
  // text_offset on from there).
  std::string stream_chunk(const ResponseHead& head, ChoiceRun& run, std::string_view text,
                           const std::optional<StopReason>& finish) {
    std::optional<std::vector<TokenChoice>> logprobs;
    const int64_t offset = run.streamed_characters;
    if (run.prepared.generation.logprobs >= 0 && run.request) {
      logprobs = token_choices(run.request->take_logprobs());
      for (const TokenChoice& t : *logprobs) run.streamed_characters += character_count(t.piece);
    }
    std::string event = chunk_event(head, run.prepared.index, text, run.first_event, finish,
                                    logprobs ? &*logprobs : nullptr, offset);
    run.first_event = false;
    return event;
  }

  void on_choice_done(uint64_t serial, size_t choice) {
    Generation* gen = current(serial);
    if (!gen) return;
    ChoiceRun& run = gen->runs[choice];
    run.done = true;
    if (gen->api.stream && !closed_) {
      StopReason reason = StopReason::cancelled;
      try {
        reason = run.request->wait().stop_reason;
      } catch (const Error& e) {
        queue_event(error_event(error_body(ApiError(500, e.what()))));
      }
      queue_event(stream_chunk(gen->head, run, "", reason));
    }
    if (--gen->remaining == 0) finish_generation();
  }

  // Every choice is done (or none could start): answer, pass the place on, and go back to
  // reading this connection's next request.
  void finish_generation() {
    std::unique_ptr<Generation> gen = std::move(generation_);
    if (gen->admitted) server_.admission.leave();
    std::shared_ptr<Session> keep = std::move(hold_);
    Usage usage;
    usage.prompt_tokens = gen->prepared.prompt_token_count;
    std::vector<Choice> choices;
    std::optional<ApiError> failure = gen->failure;
    for (ChoiceRun& run : gen->runs) {
      if (!run.request) continue;
      try {
        GenerationResult result = run.request->wait();
        usage.completion_tokens += result.stats.generated_tokens;
        append_choices(*gen, run, result, choices);
      } catch (const Error& e) {
        if (!failure)
          failure = ApiError(e.code() == ErrorCode::out_of_memory ? 503 : 500, e.what());
      }
    }
    server_.counters.prompt_tokens += usage.prompt_tokens;
    server_.counters.completion_tokens += usage.completion_tokens;
    if (closed_) return;
    if (gen->headers_sent) {
      if (failure) queue_event(error_event(error_body(*failure)));
      if (gen->api.include_usage) queue_event(usage_event(gen->head, usage));
      queue_event(std::string(kDoneEvent));
      end_stream_ = true;
      write_next();
      return;
    }
    if (failure) return reply_error(*failure, !keep_alive_);
    std::sort(choices.begin(), choices.end(),
              [](const Choice& a, const Choice& b) { return a.index < b.index; });
    reply(http::status::ok, completion_body(gen->head, choices, usage), "application/json");
  }

  void append_choices(const Generation& gen, const ChoiceRun& run, const GenerationResult& result,
                      std::vector<Choice>& out) const {
    const std::string& echo =
        gen.api.echo ? gen.prepared.prompt_texts[run.prepared.prompt] : std::string();
    if (result.hypotheses.empty()) {
      out.push_back(
          {run.prepared.index, echo + result.text, result.stop_reason, std::nullopt, std::nullopt});
      if (run.prepared.generation.logprobs >= 0) {
        out.back().logprobs = token_choices(result.logprobs);
      }
      return;
    }
    // Beam search: the n best hypotheses are this prompt's n choices.
    for (size_t h = 0; h < result.hypotheses.size(); ++h) {
      const Hypothesis& hyp = result.hypotheses[h];
      const bool ended =
          !hyp.tokens.empty() && server_.engine.is_end_of_generation(hyp.tokens.back());
      const StopReason reason =
          h == 0 ? result.stop_reason
                 : (ended ? StopReason::end_of_generation : StopReason::max_tokens);
      out.push_back({run.prepared.index + static_cast<int32_t>(h),
                     echo + (h == 0 ? result.text : hyp.text), reason, hyp.score, std::nullopt});
    }
  }

  std::vector<TokenChoice> token_choices(const std::vector<TokenLogprob>& logprobs) const {
    std::vector<TokenChoice> tokens;
    tokens.reserve(logprobs.size());
    for (const TokenLogprob& t : logprobs) {
      TokenChoice c{server_.engine.token_piece(t.token), t.logprob, {}};
      for (const auto& [token, logprob] : t.top) {
        c.top.emplace_back(server_.engine.token_piece(token), logprob);
      }
      tokens.push_back(std::move(c));
    }
    return tokens;
  }

  Generation* current(uint64_t serial) {
    return generation_ && generation_->serial == serial ? generation_.get() : nullptr;
  }

  void cancel_runs() {
    if (!generation_) return;
    for (ChoiceRun& run : generation_->runs) {
      if (run.request && !run.done) run.request->cancel();
    }
  }

  // A client that goes away while its answer is being made: seen as the socket becoming
  // readable with nothing to read (EOF) or an error. Pipelined bytes are left for later.
  void watch_for_disconnect() {
    const uint64_t serial = generation_->serial;
    stream_.socket().async_wait(
        tcp::socket::wait_read, [self = shared_from_this(), serial](beast::error_code ec) {
          if (!self->current(serial) || self->closed_) return;
          if (ec == net::error::operation_aborted) return;
          char byte;
          const ssize_t n =
              ::recv(self->stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
          if (n > 0) return;  // a pipelined request: read it after this one
          if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !ec) {
            return self->watch_for_disconnect();
          }
          ++self->server_.counters.cancelled_by_disconnect;
          self->close_now();
        });
  }

  // ---- Streaming --------------------------------------------------------------------------

  void begin_stream() {
    stream_head_.emplace(http::status::ok, 11);
    stream_head_->set(http::field::server, "hearth");
    stream_head_->set(http::field::content_type, "text/event-stream");
    stream_head_->set(http::field::cache_control, "no-cache");
    // A stream ends its connection. node-fetch 2 (the OpenAI client's transport on Node.js 18)
    // reports "Premature close" for a chunked response whose socket stays open for reuse.
    keep_alive_ = false;
    stream_head_->keep_alive(false);
    stream_head_->chunked(true);
    serializer_.emplace(*stream_head_);
    generation_->headers_sent = true;
    writing_ = true;
    stream_.expires_after(seconds(server_.options.write_timeout));
    http::async_write_header(stream_, *serializer_,
                             [self = shared_from_this()](beast::error_code ec, size_t) {
                               self->writing_ = false;
                               self->stream_.expires_never();
                               if (ec) return self->on_write_failed();
                               self->write_next();
                             });
  }

  void queue_event(std::string event) {
    pending_ += event;
    write_next();
  }

  // Writes what is pending as one chunk; events that arrive meanwhile go in the next one. The
  // stream's last events and its terminating chunk go out in one write, so a client sees the
  // end of the body in the same read as the last event (some clients count a body whose
  // terminator arrives alone, next to the connection closing, as cut short).
  void write_next() {
    if (writing_ || closed_) return;
    if (pending_.empty() && !end_stream_) return;
    in_flight_.clear();
    if (!pending_.empty()) {
      char size[32];
      std::snprintf(size, sizeof size, "%zx\r\n", pending_.size());
      in_flight_ = size + pending_ + "\r\n";
      pending_.clear();
    }
    const bool last = end_stream_;
    if (last) {
      in_flight_ += "0\r\n\r\n";
      end_stream_ = false;
    }
    writing_ = true;
    stream_.expires_after(seconds(server_.options.write_timeout));
    net::async_write(stream_, net::buffer(in_flight_),
                     [self = shared_from_this(), last](beast::error_code ec, size_t) {
                       self->writing_ = false;
                       self->stream_.expires_never();
                       if (ec) return self->on_write_failed();
                       if (!last) return self->write_next();
                       self->serializer_.reset();
                       self->stream_head_.reset();
                       self->set_responding(false);
                       if (!self->keep_alive_) return self->linger_then_close();
                       self->wait_for_request();
                     });
  }

  void on_write_failed() {
    if (generation_) ++server_.counters.cancelled_by_disconnect;
    close_now();
  }

  // ---- Whole responses --------------------------------------------------------------------

  void reply(http::status status, std::string body, std::string_view content_type,
             bool close_after = false, int retry_after = 0) {
    auto response = std::make_shared<http::response<http::string_body>>(status, 11);
    response->set(http::field::server, "hearth");
    response->set(http::field::content_type, content_type);
    if (retry_after > 0) response->set(http::field::retry_after, std::to_string(retry_after));
    close_after = close_after || !keep_alive_;
    response->keep_alive(!close_after);
    response->body() = std::move(body);
    response->prepare_payload();
    writing_ = true;
    stream_.expires_after(seconds(server_.options.write_timeout));
    http::async_write(
        stream_, *response,
        [self = shared_from_this(), response, close_after](beast::error_code ec, size_t) {
          self->writing_ = false;
          self->stream_.expires_never();
          if (ec) return self->close_now();
          if (close_after) return self->linger_then_close();
          self->wait_for_request();
        });
  }

  void reply_error(const ApiError& error, bool close_after) {
    if (error.status() >= 400 && error.status() < 500) ++server_.counters.client_errors;
    if (error.status() >= 500) ++server_.counters.server_errors;
    reply(static_cast<http::status>(error.status()), error_body(error), "application/json",
          close_after, error.status() == 429 || error.status() == 503 ? 1 : 0);
  }

  // After an answer that ends the connection while the client may still be sending (a body
  // over the limit): stop sending, read and drop what comes for a moment, then close, so the
  // client reads the answer instead of a reset.
  void linger_then_close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(2));
    buffer_.clear();
    drain();
  }
  void drain() {
    if (closed_) return;
    stream_.async_read_some(buffer_.prepare(16384),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->close_now();
                              self->drain();  // prepare() reuses the same space each time
                            });
  }

  void set_responding(bool responding) {
    if (responding == responding_) return;
    responding_ = responding;
    server_.responding += responding ? 1 : -1;
  }

  void close_now() {
    if (closed_) return;
    closed_ = true;
    set_responding(false);
    cancel_runs();  // frees its KV blocks at the scheduler's next step
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  detail::ServerState& server_;
  const uint64_t id_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool keep_alive_ = true;
  bool closed_ = false;
  bool writing_ = false;
  bool responding_ = false;  // counted in server_.responding

  std::unique_ptr<Generation> generation_;
  std::shared_ptr<Session> hold_;

  // Streaming: the response head, then chunks of events.
  std::optional<http::response<http::empty_body>> stream_head_;
  std::optional<http::response_serializer<http::empty_body>> serializer_;
  std::string pending_, in_flight_;
  bool end_stream_ = false;
};

}  // namespace

void start_session(tcp::socket socket, detail::ServerState& server) {
  const uint64_t id = server.next_id++;
  auto session = std::make_shared<Session>(std::move(socket), server, id);
  {
    std::lock_guard lock(server.sessions_mutex);
    server.sessions[id] = session;
  }
  session->start();
}

}  // namespace hearth::server
