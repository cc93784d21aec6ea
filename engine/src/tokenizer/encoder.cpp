#include "tokenizer/encoder.h"

#include "hearth/error.h"
#include "tokenizer/bpe_encoder.h"
#include "tokenizer/spm_encoder.h"
#include "tokenizer/tokenizer.h"

namespace hearth::tokenizer {

std::unique_ptr<Encoder> make_encoder(const Vocabulary& vocab) {
  if (vocab.model == "llama") return std::make_unique<SentencePieceEncoder>(vocab);
  if (vocab.model == "gpt2") {
    if (!PreTokenizer::is_known(vocab.pre)) {
      throw Error(vocab.origin + ": tokenizer.ggml.pre \"" + vocab.pre +
                  "\" is not a supported pre-tokenizer");
    }
    return std::make_unique<BytePairEncoder>(vocab);
  }
  throw Error(vocab.origin + ": tokenizer.ggml.model \"" + vocab.model +
              "\" is not a supported tokenizer (expected \"llama\" or \"gpt2\")");
}

}  // namespace hearth::tokenizer
