// Embedding hearth from C++ through its C API, with the handles owned by std::unique_ptr:
// several requests submitted at once share the engine's batches; each streams into its own
// string and is read when done.
// usage: embed_cpp MODEL
#include <hearth/hearth.h>

#include <climits>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct EngineFree {
  void operator()(hearth_engine* e) const { hearth_engine_free(e); }
};
struct RequestFree {
  void operator()(hearth_request* r) const { hearth_request_free(r); }
};
using Engine = std::unique_ptr<hearth_engine, EngineFree>;
using Request = std::unique_ptr<hearth_request, RequestFree>;

void check(hearth_status status) {
  if (status != HEARTH_OK) throw std::runtime_error(hearth_last_error());
}

bool append(const char* text, size_t length, void* user_data) {
  static_cast<std::string*>(user_data)->append(text, length);
  return true;
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::cerr << "usage: " << argv[0] << " MODEL\n";
    return 2;
  }
  hearth_engine_params engine_params = hearth_engine_default_params();
  engine_params.model_path = argv[1];
  engine_params.threads = 2;
  hearth_engine* raw = nullptr;
  check(hearth_engine_load(&engine_params, &raw));
  Engine engine(raw);

  const std::vector<std::string> prompts = {"Once upon a time", "The little dog", "Lily and Tom"};
  std::vector<std::string> texts(prompts.size());
  std::vector<Request> requests;
  hearth_generation_params params = hearth_generation_default_params();
  params.max_tokens = 32;
  params.temperature = 0.0f;
  for (size_t i = 0; i < prompts.size(); ++i) {
    hearth_request* r = nullptr;
    check(hearth_submit(engine.get(), prompts[i].c_str(), &params, append, &texts[i], &r));
    requests.emplace_back(r);
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    check(hearth_request_wait(requests[i].get(), -1));
    std::cout << prompts[i] << texts[i] << "\n";
    std::cerr << "embed_cpp: request " << i << ": "
              << hearth_request_generated_tokens(requests[i].get()) << " tokens\n";
  }

  const std::string messages = R"([{"role": "user", "content": "Hello"}])";
  std::string rendered(4096, '\0');
  const int32_t n = hearth_render_chat(engine.get(), messages.c_str(), true, rendered.data(),
                                       static_cast<int32_t>(rendered.size()));
  if (n == INT32_MIN) std::cerr << "embed_cpp: no chat: " << hearth_last_error() << "\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "embed_cpp: " << e.what() << "\n";
  return 1;
}
