/* Embedding hearth from C11: load a model, stream a completion through a callback, then run a
 * second request that is polled and cancelled, and report what each did.
 * usage: embed_c MODEL [PROMPT] */
#include <hearth/hearth.h>
#include <stdio.h>
#include <string.h>

static bool print_text(const char* text, size_t length, void* user_data) {
  (void)user_data;
  fwrite(text, 1, length, stdout);
  fflush(stdout);
  return true; /* false would cancel the request */
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s MODEL [PROMPT]\n", argv[0]);
    return 2;
  }
  hearth_engine_params engine_params = hearth_engine_default_params();
  engine_params.model_path = argv[1];
  engine_params.threads = 2;
  hearth_engine* engine = NULL;
  if (hearth_engine_load(&engine_params, &engine) != HEARTH_OK) {
    fprintf(stderr, "embed_c: %s\n", hearth_last_error());
    return 1;
  }

  const char* prompt = argc > 2 ? argv[2] : "Once upon a time";
  int32_t tokens[512];
  const int32_t n = hearth_tokenize(engine, prompt, strlen(prompt), true, false, tokens, 512);
  fprintf(stderr, "embed_c: model '%s', context %d, prompt of %d tokens\n",
          hearth_engine_model_name(engine), hearth_engine_context_size(engine), n);

  hearth_generation_params params = hearth_generation_default_params();
  params.max_tokens = 48;
  params.temperature = 0.0f; /* greedy */
  hearth_request* request = NULL;
  if (hearth_submit(engine, prompt, &params, print_text, NULL, &request) != HEARTH_OK ||
      hearth_request_wait(request, -1) != HEARTH_OK) {
    fprintf(stderr, "embed_c: %s\n", hearth_last_error());
    hearth_request_free(request);
    hearth_engine_free(engine);
    return 1;
  }
  printf("\n");
  fprintf(stderr, "embed_c: generated %d tokens, stop reason %d\n",
          hearth_request_generated_tokens(request), (int)hearth_request_stop_reason(request));
  hearth_request_free(request);

  /* A polled request, cancelled once some text has come. */
  params.max_tokens = 400;
  params.ignore_eos = true;
  if (hearth_submit(engine, prompt, &params, NULL, NULL, &request) != HEARTH_OK) {
    fprintf(stderr, "embed_c: %s\n", hearth_last_error());
    hearth_engine_free(engine);
    return 1;
  }
  char buffer[256];
  size_t polled = 0;
  while (polled < 20 && hearth_request_wait(request, 1) == HEARTH_TIMED_OUT) {
    polled += hearth_request_take_text(request, buffer, sizeof buffer);
  }
  hearth_request_cancel(request);
  hearth_request_wait(request, -1);
  fprintf(stderr, "embed_c: polled %zu bytes, then %s after %d tokens\n", polled,
          hearth_request_stop_reason(request) == HEARTH_STOP_CANCELLED ? "cancelled" : "finished",
          hearth_request_generated_tokens(request));
  hearth_request_free(request);

  /* Errors come back as a status and a message naming the field. */
  params.top_p = 2.0f;
  if (hearth_submit(engine, prompt, &params, NULL, NULL, &request) == HEARTH_INVALID_ARGUMENT) {
    fprintf(stderr, "embed_c: refused as expected: %s\n", hearth_last_error());
  }
  hearth_engine_free(engine);
  return 0;
}
