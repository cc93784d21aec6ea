#include "gguf/gguf_file.h"
#include "hearth/tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace hearth {

ModelTokenizer ModelTokenizer::load(const std::string& path) {
  // The vocabulary is copied out of the file, so the mapping need not outlive this call.
  auto file = gguf::File::open(path);
  return ModelTokenizer(std::make_unique<Tokenizer>(load_vocabulary(*file)));
}

ModelTokenizer::ModelTokenizer(std::unique_ptr<Tokenizer> tokenizer)
    : tokenizer_(std::move(tokenizer)) {}
ModelTokenizer::ModelTokenizer(ModelTokenizer&&) noexcept = default;
ModelTokenizer& ModelTokenizer::operator=(ModelTokenizer&&) noexcept = default;
ModelTokenizer::~ModelTokenizer() = default;

std::vector<int32_t> ModelTokenizer::tokenize(std::string_view text, bool add_bos,
                                              bool parse_special) const {
  return tokenizer_->encode(text, add_bos, parse_special);
}

std::string ModelTokenizer::detokenize(std::span<const int32_t> tokens) const {
  return tokenizer_->decode(tokens);
}

std::string ModelTokenizer::token_piece(int32_t token) const {
  return tokenizer_->token_to_piece(token);
}

int32_t ModelTokenizer::vocab_size() const { return tokenizer_->n_vocab(); }
int32_t ModelTokenizer::bos_token() const { return tokenizer_->bos(); }
int32_t ModelTokenizer::eos_token() const { return tokenizer_->eos(); }
bool ModelTokenizer::wants_bos() const { return tokenizer_->wants_bos(); }

}  // namespace hearth
