/* hearth: the C API, for products that embed the engine (libhearth.so; find_package(hearth)
 * gives the target hearth::hearth, pkg-config the module "hearth").
 *
 * Handles are opaque and come in init/free pairs. Every params struct starts with its
 * struct_size: fill it from *_default_params(), which sets it, then change what you need; a
 * program built against an older, shorter struct keeps working with a newer library, which
 * reads only the fields the caller's struct_size covers.
 *
 * Errors: a function that can fail returns a hearth_status (or a negative count) and leaves
 * the message, which names what and where, in hearth_last_error() for the calling thread.
 *
 * Threading, per function below. In short: an engine may be used from any number of threads
 * at once; a request handle's functions may be called from any thread; callbacks run on the
 * engine's scheduler thread, between forward passes, and must be quick and must not call
 * hearth_submit, hearth_request_wait or hearth_engine_free. */
#ifndef HEARTH_H
#define HEARTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(HEARTH_BUILDING_C_API)
#define HEARTH_API __attribute__((visibility("default")))
#else
#define HEARTH_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define HEARTH_C_API_VERSION 1

typedef struct hearth_engine hearth_engine;
typedef struct hearth_request hearth_request;

typedef enum hearth_status {
  HEARTH_OK = 0,
  HEARTH_INVALID_ARGUMENT = 1, /* bad input: a file, a setting, a prompt, a NULL handle */
  HEARTH_OUT_OF_MEMORY = 2,    /* the KV cache budget or the system's memory */
  HEARTH_FAILED = 3,           /* anything else: the system refused, an internal failure */
  HEARTH_TIMED_OUT = 4,        /* hearth_request_wait: the request is still going */
} hearth_status;

typedef enum hearth_request_state {
  HEARTH_REQUEST_QUEUED = 0,   /* waiting for room in the KV cache */
  HEARTH_REQUEST_RUNNING = 1,  /* prefilling or decoding */
  HEARTH_REQUEST_FINISHED = 2, /* ended by a stop rule */
  HEARTH_REQUEST_CANCELLED = 3,
  HEARTH_REQUEST_FAILED = 4, /* hearth_request_wait returns its status and message */
} hearth_request_state;

typedef enum hearth_stop_reason {
  HEARTH_STOP_END_OF_GENERATION = 0,
  HEARTH_STOP_STRING = 1,
  HEARTH_STOP_MAX_TOKENS = 2,
  HEARTH_STOP_CONTEXT_FULL = 3,
  HEARTH_STOP_CANCELLED = 4,
} hearth_stop_reason;

/* The version of this API the library implements (HEARTH_C_API_VERSION when it was built).
 * Thread-safe. */
HEARTH_API int32_t hearth_api_version(void);

/* The message of the calling thread's last failed call ("" if none). Valid until this thread's
 * next hearth call. Thread-safe (each thread has its own). */
HEARTH_API const char* hearth_last_error(void);

/* ---- Engine ------------------------------------------------------------------------------ */

typedef struct hearth_engine_params {
  size_t struct_size;             /* set by hearth_engine_default_params() */
  const char* model_path;         /* GGUF file; required */
  const char* chat_template_path; /* NULL = the model's own tokenizer.chat_template */
  const char* plugin_dirs;        /* folders searched for plugins, ':'-separated; NULL = none */
  const char* plugins;            /* plugins to load, ','-separated names ("trie_beam"); NULL */
  int32_t threads;                /* 0 = all physical cores */
  int32_t context_size;           /* 0 = max(the model's, 4096) */
  int32_t batch_size;             /* prompt tokens per forward pass (default 512) */
  uint64_t kv_cache_bytes;        /* 0 = room for one full context */
  /* Load progress, fraction in [0, 1], on the loading thread. NULL = none. */
  void (*on_load_progress)(float fraction, void* user_data);
  void* user_data;
  /* Where the model runs: "cpu", "auto", "cuda", "cuda:N", "hip", "hip:N" (the C++ API's
   * EngineOptions::device). NULL = "cpu". A device asked for and absent is
   * HEARTH_INVALID_ARGUMENT, the message naming it. */
  const char* device;
} hearth_engine_params;

/* Thread-safe. */
HEARTH_API hearth_engine_params hearth_engine_default_params(void);

/* Loads the model; *engine is set on HEARTH_OK, NULL otherwise. Thread-safe. */
HEARTH_API hearth_status hearth_engine_load(const hearth_engine_params* params,
                                            hearth_engine** engine);

/* Frees the engine. Requests still going are cancelled and waited for first; their handles
 * stay valid for hearth_request_* until freed. Call once, from any thread, when no other
 * thread is using the engine. NULL does nothing. */
HEARTH_API void hearth_engine_free(hearth_engine* engine);

/* The model's shape as loaded. Thread-safe. */
HEARTH_API int32_t hearth_engine_context_size(const hearth_engine* engine);
HEARTH_API int32_t hearth_engine_vocab_size(const hearth_engine* engine);
HEARTH_API int32_t hearth_engine_bos_token(const hearth_engine* engine); /* -1 = none */
/* The model's name from its metadata (or file). Valid until the engine is freed. */
HEARTH_API const char* hearth_engine_model_name(const hearth_engine* engine);

/* ---- Text ---------------------------------------------------------------------------------
 * Buffer convention (as llama.h's): the functions return how many items they wrote; when the
 * buffer is too small they write nothing and return minus the number needed; on an error they
 * return INT32_MIN and set hearth_last_error(). All thread-safe; they never wait for the
 * scheduler. */

HEARTH_API int32_t hearth_tokenize(const hearth_engine* engine, const char* text,
                                   size_t text_length, bool add_bos, bool parse_special,
                                   int32_t* tokens, int32_t capacity);

/* Writes the text's bytes and a terminating NUL (counted in neither the return value nor the
 * space it needs: give capacity >= needed + 1). */
HEARTH_API int32_t hearth_detokenize(const hearth_engine* engine, const int32_t* tokens,
                                     int32_t token_count, char* text, int32_t capacity);

/* Renders a conversation, a JSON array of {"role": ..., "content": ...} objects, through the
 * engine's chat template, with the model's BOS and EOS texts. Same convention as detokenize. */
HEARTH_API int32_t hearth_render_chat(const hearth_engine* engine, const char* messages_json,
                                      bool add_generation_prompt, char* text, int32_t capacity);

/* ---- Requests ---------------------------------------------------------------------------- */

typedef struct hearth_generation_params {
  size_t struct_size; /* set by hearth_generation_default_params() */
  int32_t max_tokens; /* -1 = until end of text or a full context (default 128) */
  float temperature;  /* 0 = greedy (default 0.8) */
  int32_t top_k;      /* 0 = off (default 40) */
  float top_p;        /* 1 = off (default 0.95) */
  float min_p;        /* 0 = off (default 0.05) */
  float repeat_penalty;
  int32_t repeat_last_n;
  int64_t seed;            /* -1 = random */
  const char* const* stop; /* stop strings (never returned in the text) */
  size_t stop_count;
  bool add_bos;       /* default true */
  bool parse_special; /* default false; true for a rendered chat prompt */
  bool ignore_eos;
  /* Beam search (needs the trie_beam plugin in hearth_engine_params.plugins): 0 = sampling. */
  int32_t num_beams;
  int32_t num_return_sequences; /* hypotheses kept, at most num_beams (default 1) */
  float length_penalty;         /* score = log-probability / length^length_penalty (1) */
  const char* knowledge;        /* a knowledge set to ask the prompt on (cag plugin); NULL */
  /* -1 = none (default); 0..20: each generated token's log-probability under the model, with
   * that many likeliest tokens of its step (sampling only; see hearth_request_logprob). */
  int32_t logprobs;
} hearth_generation_params;

/* Thread-safe. */
HEARTH_API hearth_generation_params hearth_generation_default_params(void);

/* Called with text as it becomes final (stop strings are never passed), `length` bytes, not
 * NUL-terminated; returning false cancels the request. Runs on the scheduler thread. */
typedef bool (*hearth_text_callback)(const char* text, size_t length, void* user_data);

/* Queues a request to continue `prompt` and returns its handle at once (*request set on
 * HEARTH_OK). Options are checked here. `on_text` may be NULL (poll with
 * hearth_request_take_text instead). Thread-safe. */
HEARTH_API hearth_status hearth_submit(hearth_engine* engine, const char* prompt,
                                       const hearth_generation_params* params,
                                       hearth_text_callback on_text, void* user_data,
                                       hearth_request** request);

/* Thread-safe, from any thread. */
HEARTH_API hearth_request_state hearth_request_get_state(const hearth_request* request);
/* Ends the request at the next step and frees its KV blocks; nothing if it is done. */
HEARTH_API void hearth_request_cancel(hearth_request* request);
/* Copies up to `capacity` bytes of the text made since the last call and returns how many;
 * the rest stays for the next call (it may split a UTF-8 character). For requests without
 * on_text. */
HEARTH_API size_t hearth_request_take_text(hearth_request* request, char* buffer, size_t capacity);
/* Waits until the request is done, at most timeout_ms (-1 = no limit). HEARTH_OK once it is
 * finished or cancelled, HEARTH_TIMED_OUT while it goes on, or the status that failed it. Not
 * from a callback. */
HEARTH_API hearth_status hearth_request_wait(hearth_request* request, int32_t timeout_ms);

/* The result, once hearth_request_wait returned HEARTH_OK. Strings stay valid until the
 * request is freed. */
HEARTH_API const char* hearth_request_text(const hearth_request* request);
HEARTH_API hearth_stop_reason hearth_request_stop_reason(const hearth_request* request);
HEARTH_API int32_t hearth_request_prompt_tokens(const hearth_request* request);
HEARTH_API int32_t hearth_request_generated_tokens(const hearth_request* request);
HEARTH_API uint64_t hearth_request_seed(const hearth_request* request);
/* Beam search: the hypotheses, best first (0 for sampling). */
HEARTH_API int32_t hearth_request_hypothesis_count(const hearth_request* request);
HEARTH_API const char* hearth_request_hypothesis_text(const hearth_request* request, int32_t index);
HEARTH_API double hearth_request_hypothesis_score(const hearth_request* request, int32_t index);
/* With params.logprobs >= 0: one entry per generated token. hearth_request_logprob gives
 * token `index`'s log-probability and its id in *token (when not NULL); _top_ gives the
 * `rank`-th likeliest token of that step (0 = likeliest). Out of range: 0, *token = -1. */
HEARTH_API int32_t hearth_request_logprob_count(const hearth_request* request);
HEARTH_API float hearth_request_logprob(const hearth_request* request, int32_t index,
                                        int32_t* token);
HEARTH_API int32_t hearth_request_top_logprob_count(const hearth_request* request, int32_t index);
HEARTH_API float hearth_request_top_logprob(const hearth_request* request, int32_t index,
                                            int32_t rank, int32_t* token);

/* Cancels the request if it is going, waits for it to end (no callback runs afterwards) and
 * frees the handle. Not from a callback. NULL does nothing. */
HEARTH_API void hearth_request_free(hearth_request* request);

#ifdef __cplusplus
}
#endif

#endif /* HEARTH_H */
