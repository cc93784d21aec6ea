// hearth chat: a conversation at the terminal through the model's chat template. One KV cache
// sequence holds the whole conversation; each turn renders it again, keeps the cached tokens
// the new rendering starts with, and prefills only the rest.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/common_options.h"
#include "cli/progress.h"
#include "hearth/engine.h"
#include "hearth/error.h"
#include "hearth/model_chat_template.h"
#include "hearth/text.h"
#include "hearth/token_sampler.h"

namespace hearth::cli {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Ctrl-C during a reply ends the reply, not the conversation.
std::atomic<bool> reply_interrupted{false};

extern "C" void interrupt_reply(int) { reply_interrupted = true; }

class InterruptEndsReply {
 public:
  InterruptEndsReply() {
    reply_interrupted = false;
    previous_ = std::signal(SIGINT, interrupt_reply);
  }
  ~InterruptEndsReply() { std::signal(SIGINT, previous_); }
  InterruptEndsReply(const InterruptEndsReply&) = delete;
  InterruptEndsReply& operator=(const InterruptEndsReply&) = delete;

 private:
  void (*previous_)(int);
};

// What one read from stdin gives: a user turn, a command, or the end of input.
struct Input {
  enum class Kind { turn, reset, exit } kind = Kind::exit;
  std::string text;
};

// A user turn: one line; a line ending in a backslash continues on the next; a line holding
// only """ opens a block that runs until the next such line. /reset and /exit are commands
// only as a whole turn of their own.
class TurnReader {
 public:
  explicit TurnReader(bool interactive) : interactive_(interactive) {}

  Input next() {
    while (true) {
      std::string text;
      bool continued = false;
      std::string line;
      while (read_line(continued ? "... " : "> ", line)) {
        if (!continued && line == "\"\"\"") {
          text = read_block();
          break;
        }
        if (!line.empty() && line.back() == '\\') {
          line.pop_back();
          text += line + "\n";
          continued = true;
          continue;
        }
        text += line;
        if (!continued && text == "/exit") return {Input::Kind::exit, ""};
        if (!continued && text == "/reset") return {Input::Kind::reset, ""};
        continued = false;
        break;
      }
      if (!text.empty()) return {Input::Kind::turn, text};
      if (std::cin.eof()) return {Input::Kind::exit, ""};
    }
  }

 private:
  bool read_line(const char* prompt, std::string& line) {
    if (interactive_) {
      std::fputs(prompt, stderr);
      std::fflush(stderr);
    }
    if (!std::getline(std::cin, line)) return false;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  }

  std::string read_block() {
    std::string block, line;
    bool first = true;
    while (read_line("... ", line) && line != "\"\"\"") {
      if (!first) block += "\n";
      block += line;
      first = false;
    }
    return block;
  }

  bool interactive_;
};

// Streams a reply's text as its tokens arrive, holding back the bytes of a UTF-8 character
// that the next token completes.
class ReplyPrinter {
 public:
  explicit ReplyPrinter(const Engine& engine) : engine_(engine) {}

  void add(int32_t token) {
    tokens_.push_back(token);
    const std::string text = engine_.detokenize(tokens_);
    print(text, complete_prefix_length(text));
  }

  // Everything not yet printed; returns the reply's whole text.
  std::string finish() {
    const std::string text = engine_.detokenize(tokens_);
    print(text, text.size());
    return text;
  }

 private:
  static size_t complete_prefix_length(const std::string& text) {
    for (size_t back = 1; back <= std::min<size_t>(3, text.size()); ++back) {
      const auto byte = static_cast<unsigned char>(text[text.size() - back]);
      if ((byte & 0xC0) == 0x80) continue;
      const size_t needed = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1;
      return needed > back ? text.size() - back : text.size();
    }
    return text.size();
  }

  void print(const std::string& text, size_t end) {
    if (end > printed_) {
      std::fwrite(text.data() + printed_, 1, end - printed_, stdout);
      std::fflush(stdout);
      printed_ = end;
    }
  }

  const Engine& engine_;
  std::vector<int32_t> tokens_;
  size_t printed_ = 0;
};

struct TurnStats {
  size_t prompt_tokens = 0, reused_tokens = 0, prefilled_tokens = 0, generated_tokens = 0;
  double prefill_seconds = 0, decode_seconds = 0;
  int32_t decode_passes = 0;
  StopReason stop = StopReason::max_tokens;
};

void print_turn_stats(int turn, const TurnStats& s) {
  const double prefill_rate = s.prefill_seconds > 0 ? s.prefilled_tokens / s.prefill_seconds : 0;
  const double decode_rate = s.decode_seconds > 0 ? s.decode_passes / s.decode_seconds : 0;
  std::fprintf(stderr,
               "hearth: turn %d | prompt %zu tokens: %zu reused from the cache, %zu prefilled in "
               "%.3f s (%.1f tok/s) | generated %zu tokens in %.3f s (%.1f tok/s) | stop: %s\n",
               turn, s.prompt_tokens, s.reused_tokens, s.prefilled_tokens, s.prefill_seconds,
               prefill_rate, s.generated_tokens, s.decode_seconds, decode_rate,
               stop_reason_name(s.stop));
}

class Conversation {
 public:
  Conversation(Engine& engine, std::string system_prompt, const GenerationOptions& generation,
               bool show_prompt)
      : engine_(engine),
        system_prompt_(std::move(system_prompt)),
        generation_(generation),
        sampler_(generation.sampling),
        show_prompt_(show_prompt),
        sequence_(engine.create_sequence()) {
    reset();
  }

  uint64_t seed() const { return sampler_.seed(); }

  void reset() {
    messages_ = nlohmann::ordered_json::array();
    if (!system_prompt_.empty()) {
      messages_.push_back({{"role", "system"}, {"content", system_prompt_}});
    }
    engine_.truncate_sequence(sequence_, 0);
    cached_.clear();
  }

  // Answers one user turn: the reply on stdout, its statistics on stderr. A turn that fails
  // leaves the conversation as it was, and the cache empty (it may hold part of the turn).
  void answer(const std::string& user_text) {
    messages_.push_back({{"role", "user"}, {"content", user_text}});
    try {
      answer_last_message();
    } catch (...) {
      messages_.erase(messages_.end() - 1);
      cached_.clear();
      engine_.truncate_sequence(sequence_, 0);
      throw;
    }
  }

 private:
  void answer_last_message() {
    const std::string prompt = engine_.render_chat(messages_, true);
    if (show_prompt_) std::fprintf(stderr, "hearth: prompt: %s\n", printable(prompt).c_str());
    // The template writes the special tokens it wants (BOS included) as text, so the
    // tokenizer adds none and parses them, as Hugging Face's apply_chat_template does.
    const std::vector<int32_t> tokens = engine_.tokenize(prompt, false, true);
    const int32_t context = engine_.model_info().context_size;
    if (tokens.empty() || static_cast<int64_t>(tokens.size()) >= context) {
      throw Error("the conversation's prompt of " + std::to_string(tokens.size()) +
                  " tokens does not fit the context size " + std::to_string(context) +
                  "; /reset starts over");
    }

    TurnStats stats;
    stats.prompt_tokens = tokens.size();
    std::vector<float> logits = prefill_after_common_prefix(tokens, stats);

    ReplyPrinter printer(engine_);
    std::vector<int32_t> reply;
    const auto decode_start = Clock::now();
    InterruptEndsReply interrupt_ends_reply;
    while (true) {
      if (reply_interrupted) {
        stats.stop = StopReason::cancelled;
        break;
      }
      const int32_t token = sampler_.sample(logits, cached_);
      if (!generation_.ignore_eos && engine_.is_end_of_generation(token)) {
        stats.stop = StopReason::end_of_generation;
        break;
      }
      reply.push_back(token);
      printer.add(token);
      if (generation_.max_tokens >= 0 &&
          reply.size() >= static_cast<size_t>(generation_.max_tokens)) {
        stats.stop = StopReason::max_tokens;
        break;
      }
      if (static_cast<int64_t>(cached_.size()) + 1 >= context) {
        stats.stop = StopReason::context_full;
        break;
      }
      const BatchToken next{token, static_cast<int32_t>(cached_.size()), sequence_, true};
      engine_.decode({&next, 1}, logits);
      cached_.push_back(token);
      ++stats.decode_passes;
    }
    stats.decode_seconds = seconds_since(decode_start);
    stats.generated_tokens = reply.size();
    const std::string reply_text = printer.finish();
    std::fputs("\n", stdout);
    std::fflush(stdout);
    messages_.push_back({{"role", "assistant"}, {"content", reply_text}});
    print_turn_stats(++turns_, stats);
  }

  // The template renders a past reply as text followed by its own end-of-turn markup, which
  // need not tokenize as the sampled tokens did: only the common prefix is reused.
  std::vector<float> prefill_after_common_prefix(const std::vector<int32_t>& tokens,
                                                 TurnStats& stats) {
    size_t common =
        std::mismatch(tokens.begin(), tokens.end(), cached_.begin(), cached_.end()).first -
        tokens.begin();
    // The last prompt token is fed again when all of it is cached: its logits start the reply.
    common = std::min(common, tokens.size() - 1);
    if (common < cached_.size()) {
      engine_.truncate_sequence(sequence_, static_cast<int32_t>(common));
      cached_.resize(common);
    }
    const auto start = Clock::now();
    std::vector<float> logits =
        engine_.prefill(sequence_, std::span<const int32_t>(tokens).subspan(common));
    stats.prefill_seconds = seconds_since(start);
    stats.reused_tokens = common;
    stats.prefilled_tokens = tokens.size() - common;
    cached_ = tokens;
    return logits;
  }

  Engine& engine_;
  std::string system_prompt_;
  GenerationOptions generation_;
  TokenSampler sampler_;
  bool show_prompt_;
  SequenceId sequence_;
  nlohmann::ordered_json messages_;
  std::vector<int32_t> cached_;  // the sequence's tokens, in order
  int turns_ = 0;
};

}  // namespace

int chat_command(int argc, char** argv) {
  EngineOptions engine_options;
  GenerationOptions generation;
  generation.max_tokens = -1;
  std::string system_prompt;
  bool show_prompt = false;
  ArgParser parser(
      "hearth chat -m MODEL [--system TEXT] [--chat-template FILE] [options]",
      "A conversation through the model's chat template: each line on stdin is a user turn "
      "(end a line with \\ to continue it, or put it between lines of \"\"\"), the reply is "
      "streamed to stdout and each turn's statistics go to stderr. The KV cache keeps the "
      "conversation, so a turn prefills only its new tokens. /reset starts over, /exit or the "
      "end of input ends. Ctrl-C ends a reply.");
  add_engine_options(parser, engine_options);
  parser.option({"--chat-template"}, "FILE", "a template file, instead of the model's",
                &engine_options.chat_template_path);
  parser.option({"--system"}, "TEXT", "a system message that opens the conversation",
                &system_prompt);
  add_sampling_options(parser, generation);
  parser.flag({"--show-prompt"}, "print each turn's rendered prompt to stderr", &show_prompt);
  if (!parser.parse(argc, argv)) return 0;
  if (engine_options.model_path.empty()) throw Error("no model: give -m MODEL");

  // Refuse a missing or unusable template before the weights are loaded.
  if (!read_model_chat_template(engine_options.model_path, engine_options.chat_template_path)
           .chat_template) {
    throw Error(engine_options.model_path +
                ": the model has no chat template (tokenizer.chat_template); give one with "
                "--chat-template FILE");
  }
  engine_options.on_load_progress = terminal_progress("loading model");
  const auto load_start = Clock::now();
  auto engine = Engine::load(engine_options);
  Conversation conversation(*engine, system_prompt, generation, show_prompt);
  const ModelInfo& info = engine->model_info();
  std::fprintf(stderr, "hearth: %s on %s | load %.2f s | context %d | seed %llu\n",
               printable(info.name).c_str(), info.device_description.c_str(),
               seconds_since(load_start), info.context_size,
               static_cast<unsigned long long>(conversation.seed()));

  TurnReader reader(isatty(STDIN_FILENO) != 0);
  while (true) {
    const Input input = reader.next();
    if (input.kind == Input::Kind::exit) return 0;
    if (input.kind == Input::Kind::reset) {
      conversation.reset();
      std::fputs("hearth: conversation reset\n", stderr);
      continue;
    }
    try {
      conversation.answer(input.text);
    } catch (const std::exception& e) {
      // One turn that cannot be answered leaves the conversation as it was.
      std::fprintf(stderr, "hearth chat: error: %s\n", printable(e.what()).c_str());
    }
  }
}

}  // namespace hearth::cli
