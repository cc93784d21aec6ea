/* Test fixture (decoding, ABI 1.1): greedy search written in plain C the way plugins were
 * before step-wise decoding: run() owns the whole request and calls forward() itself. Its
 * decoding vtable ends where ABI 1.1's did, so the host must neither read nor need begin/step. */
#include <stdlib.h>
#include <string.h>

#include "hearth/plugin.h"

typedef struct greedy_instance {
  const hearth_host_services* host;
  int32_t* tokens; /* the last result's tokens, freed by free_result() */
  hearth_hypothesis hypothesis;
} greedy_instance;

static int32_t argmax(const float* logits, int32_t vocab) {
  int32_t best = 0;
  for (int32_t i = 1; i < vocab; ++i) {
    if (logits[i] > logits[best]) best = i;
  }
  return best;
}

static hearth_status create(const hearth_host_services* host, const hearth_kv* options,
                            size_t option_count, hearth_plugin_instance** instance) {
  (void)options;
  if (!host || !instance) return HEARTH_ERROR_INVALID_ARGUMENT;
  if (option_count) {
    host->set_error(host->host, "test_greedy_v1_1 takes no options");
    return HEARTH_ERROR_INVALID_ARGUMENT;
  }
  greedy_instance* self = calloc(1, sizeof *self);
  if (!self) return HEARTH_ERROR_OUT_OF_MEMORY;
  self->host = host;
  *instance = (hearth_plugin_instance*)self;
  return HEARTH_OK;
}

static void destroy(hearth_plugin_instance* instance) {
  greedy_instance* self = (greedy_instance*)instance;
  free(self->tokens);
  free(self);
}

static hearth_status run(hearth_plugin_instance* instance, const hearth_decode_request* request,
                         hearth_decode_result* result) {
  greedy_instance* self = (greedy_instance*)instance;
  const hearth_host_services* h = self->host;
  const hearth_model_desc* model = h->model(h->host);
  const int32_t vocab = model->vocab_size;
  const int32_t limit = request->max_tokens >= 0 ? request->max_tokens : model->context_size;
  int32_t* tokens = malloc(sizeof(int32_t) * (size_t)(limit > 0 ? limit : 1));
  if (!tokens) return HEARTH_ERROR_OUT_OF_MEMORY;
  const float* logits = request->prompt_logits;
  int32_t count = 0;
  while (count < limit) {
    int32_t token = argmax(logits, vocab);
    if (token == model->eos_token) break;
    tokens[count++] = token;
    int32_t position = h->sequence_length(h->host, request->sequence);
    if (position >= model->context_size || count >= limit) break;
    hearth_batch_token row = {token, position, request->sequence, 1};
    size_t rows = 0;
    hearth_status status = h->forward(h->host, &row, 1, &logits, &rows);
    if (status != HEARTH_OK) {
      free(tokens);
      return status;
    }
  }
  free(self->tokens);
  self->tokens = tokens;
  self->hypothesis.tokens = tokens;
  self->hypothesis.length = (size_t)count;
  self->hypothesis.score = 0;
  result->hypotheses = &self->hypothesis;
  result->count = 1;
  return HEARTH_OK;
}

static void free_result(hearth_plugin_instance* instance, hearth_decode_result* result) {
  greedy_instance* self = (greedy_instance*)instance;
  free(self->tokens);
  self->tokens = NULL;
  result->hypotheses = NULL;
  result->count = 0;
}

static const hearth_decoding_vtable vtable = {HEARTH_DECODING_VTABLE_SIZE_1_1,
                                              HEARTH_PLUGIN_ABI_MAJOR,
                                              1,
                                              run,
                                              free_result,
                                              NULL,
                                              NULL,
                                              NULL,
                                              NULL};

static const hearth_plugin_descriptor descriptor = {
    sizeof(hearth_plugin_descriptor),
    HEARTH_PLUGIN_ABI_MAJOR,
    1,
    "test_greedy_v1_1",
    "1.0",
    "greedy search through a whole-request run() (ABI 1.1)",
    HEARTH_PLUGIN_DECODING,
    create,
    destroy,
    &vtable,
    NULL,
    NULL,
    NULL};

HEARTH_PLUGIN_EXPORT const hearth_plugin_descriptor* hearth_plugin_entry(uint16_t major,
                                                                         uint16_t minor) {
  (void)minor;
  return major == HEARTH_PLUGIN_ABI_MAJOR ? &descriptor : NULL;
}
