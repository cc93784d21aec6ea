/* hearth plugin ABI: the C contract between the engine and a runtime-loaded plugin library.
 *
 * A plugin is a shared library exporting one function, hearth_plugin_entry(), that returns a
 * descriptor: the plugin's name, its interface kind, a factory and one vtable. Everything
 * else in the library stays hidden (-fvisibility=hidden).
 *
 * Rules (see also the README's plugin author's guide):
 *  - Only C types cross the boundary: fixed-width integers, floats, UTF-8 `const char*`,
 *    opaque handles, pointer + length spans, key/value lists. No exceptions, no C++ types.
 *  - Every struct starts with struct_size and the ABI version it was built against. Members
 *    are only ever appended. A member exists for the reader when the writer's struct_size
 *    covers it and the writer's minor version is at least the member's "since" version; the
 *    HEARTH_HAS_MEMBER macro checks both.
 *  - ABI major versions must match; a different major is refused at load.
 *  - Strings handed across are borrowed: the receiver copies what it keeps. Objects are freed
 *    by the side that made them (the descriptor's destroy(), the vtable's free functions).
 *  - Calls return hearth_status. On failure the callee may describe the error with the host's
 *    set_error() service; the host reports it with the plugin's name.
 *
 * Members carry a "since" note in their comment; "(optional)" says what NULL means.
 */
#ifndef HEARTH_PLUGIN_H
#define HEARTH_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HEARTH_PLUGIN_ABI_MAJOR 1
#define HEARTH_PLUGIN_ABI_MINOR 5
#define HEARTH_PLUGIN_ENTRY_SYMBOL "hearth_plugin_entry"

#if defined(_WIN32)
#define HEARTH_PLUGIN_EXPORT __declspec(dllexport)
#else
#define HEARTH_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* Whether `ptr` (a struct with struct_size and abi_minor) holds `member`, added in minor
 * version `since`. */
#define HEARTH_HAS_MEMBER(ptr, type, member, since) \
  ((ptr)->abi_minor >= (since) &&                   \
   (ptr)->struct_size >= offsetof(type, member) + sizeof(((type*)0)->member))

typedef enum hearth_status {
  HEARTH_OK = 0,
  HEARTH_ERROR_INVALID_ARGUMENT = 1, /* bad option, unknown sequence, bad batch */
  HEARTH_ERROR_OUT_OF_MEMORY = 2,    /* e.g. the KV cache budget is exhausted */
  HEARTH_ERROR_UNSUPPORTED = 3,      /* the service is not available in this phase */
  HEARTH_ERROR_BUFFER_TOO_SMALL = 4, /* the *_out count says how much is needed */
  HEARTH_ERROR_FAILED = 5            /* anything else; see the message given to set_error */
} hearth_status;

typedef enum hearth_plugin_kind {
  HEARTH_PLUGIN_DECODING = 1,  /* replaces the sampling loop of a request */
  HEARTH_PLUGIN_KNOWLEDGE = 2, /* supplies a cached context prefix */
  HEARTH_PLUGIN_ATTENTION = 3, /* transforms attention weights at load time */
  HEARTH_PLUGIN_METRICS = 4    /* observes the core's events */
} hearth_plugin_kind;

typedef enum hearth_log_level {
  HEARTH_LOG_DEBUG = 0,
  HEARTH_LOG_INFO = 1,
  HEARTH_LOG_WARNING = 2,
  HEARTH_LOG_ERROR = 3
} hearth_log_level;

typedef int32_t hearth_sequence_id;

/* One key/value pair: plugin options (from TOML [plugins.options]) and metric snapshots.
 * Values are text; numbers are written in their TOML form ("4", "0.5", "true"). */
typedef struct hearth_kv {
  const char* key;
  const char* value;
} hearth_kv;

/* Opaque handle of the host's context; passed back as the first argument of every service. */
typedef struct hearth_host hearth_host;

/* Opaque handle of a plugin's instance, made by the descriptor's create(). */
typedef struct hearth_plugin_instance hearth_plugin_instance;

/* What the loaded model looks like. Owned by the host; valid for the life of the instance
 * except layer_kv_heads, which an attention plugin may change during transform(). */
typedef struct hearth_model_desc {
  uint32_t struct_size;
  uint16_t abi_major, abi_minor;
  const char* architecture;      /* since 1.0: "llama", "qwen2" */
  const char* name;              /* since 1.0 */
  const char* identity;          /* since 1.0: hex digest of the weights' identity */
  int32_t vocab_size;            /* since 1.0 */
  int32_t dim;                   /* since 1.0 */
  int32_t layers;                /* since 1.0 */
  int32_t heads;                 /* since 1.0: query heads per layer */
  int32_t head_dim;              /* since 1.0 */
  int32_t ffn_dim;               /* since 1.0 */
  int32_t context_size;          /* since 1.0: positions per sequence */
  int32_t bos_token;             /* since 1.0: -1 when none */
  int32_t eos_token;             /* since 1.0: -1 when none */
  const int32_t* layer_kv_heads; /* since 1.0: `layers` entries */
  int32_t rope_dims;             /* since 1.5: the first rope_dims of a head are rotated */
  int32_t rope_neox;             /* since 1.5: nonzero: RoPE rotates dims (i, i + rope_dims/2)
                                  * together; zero: (2i, 2i + 1), as Llama files order them */
} hearth_model_desc;

/* One entry of a forward batch. Positions must continue their sequence. */
typedef struct hearth_batch_token {
  int32_t token;
  int32_t position;
  hearth_sequence_id sequence;
  int32_t wants_logits; /* nonzero: the pass returns a row of vocab_size logits for it */
} hearth_batch_token;

typedef struct hearth_memory_stats {
  uint32_t struct_size;
  uint16_t abi_major, abi_minor;
  uint64_t weight_bytes;      /* since 1.1: model weights on the device */
  uint64_t kv_capacity_bytes; /* since 1.1: the KV cache budget */
  uint64_t kv_live_bytes;     /* since 1.1: blocks in use */
  uint64_t kv_shared_bytes;   /* since 1.1: blocks used by more than one sequence */
  uint64_t process_rss_bytes; /* since 1.1: resident memory of the process (0 = unknown) */
  int32_t kv_sequences;       /* since 1.1 */
  uint64_t kv_block_bytes;    /* since 1.3: one block of the cache (all layers' K and V) */
  int32_t kv_block_tokens;    /* since 1.3: positions per block */
  int32_t kv_free_blocks;     /* since 1.3: blocks no sequence holds */
} hearth_memory_stats;

typedef enum hearth_event_type {
  HEARTH_EVENT_REQUEST_START = 1,   /* a generation request begins */
  HEARTH_EVENT_PROMPT_DONE = 2,     /* its prompt is in the KV cache; the first logits exist */
  HEARTH_EVENT_TOKEN = 3,           /* one generated token */
  HEARTH_EVENT_REQUEST_END = 4,     /* the request finished (or failed: status != HEARTH_OK) */
  HEARTH_EVENT_METHOD_OVERHEAD = 5, /* a plugin's one-time cost (prefix build, weight transform) */
  HEARTH_EVENT_DECODE_STEP = 6      /* since 1.3: a decoding plugin's step (its branches, KV) */
} hearth_event_type;

/* An event from the core (or emitted by a plugin through emit_event). Borrowed for the call. */
typedef struct hearth_event {
  uint32_t struct_size;
  uint16_t abi_major, abi_minor;
  hearth_event_type type;    /* since 1.0 */
  uint64_t request_id;       /* since 1.0: the same for all events of one request */
  double time_seconds;       /* since 1.0: monotonic clock (see now()) */
  int32_t prompt_tokens;     /* since 1.0; for METHOD_OVERHEAD since 1.5: the tokens the
                              * one-time work fed the model (the host counts them) */
  int32_t generated_tokens;  /* since 1.0: so far */
  int32_t token;             /* since 1.0: HEARTH_EVENT_TOKEN only, else -1 */
  hearth_status status;      /* since 1.0: HEARTH_EVENT_REQUEST_END only */
  double elapsed_seconds;    /* since 1.0: METHOD_OVERHEAD: what the one-time work took */
  uint64_t kv_bytes;         /* since 1.0: KV cache bytes in use */
  uint64_t weight_bytes;     /* since 1.0 */
  const char* device;        /* since 1.0: "cpu", "cuda:0" */
  const char* source;        /* since 1.0: "core" or the emitting plugin's name */
  int32_t live_branches;     /* since 1.3: DECODE_STEP: hypotheses still being extended */
  int32_t finished_branches; /* since 1.3: DECODE_STEP: hypotheses finished so far */
  uint64_t kv_shared_bytes;  /* since 1.3: DECODE_STEP; since 1.5 every event: KV bytes in blocks
                              * several sequences hold */
} hearth_event;

/* Services the host offers every plugin. Owned by the host; valid until destroy(). Calls
 * that do not fit the current phase return HEARTH_ERROR_UNSUPPORTED (sequences and forward
 * passes before the model is ready, weight access after load). */
typedef struct hearth_host_services {
  uint32_t struct_size;
  uint16_t abi_major, abi_minor;
  hearth_host* host; /* since 1.0: pass as the first argument of every service */

  /* since 1.0: writes one line to the host's log, prefixed with the plugin's name. */
  void (*log)(hearth_host* host, hearth_log_level level, const char* message);
  /* since 1.0: describes the current call's failure; the host copies the message. */
  void (*set_error)(hearth_host* host, const char* message);
  /* since 1.0: the loaded model. */
  const hearth_model_desc* (*model)(hearth_host* host);
  /* since 1.0: monotonic seconds, the clock of hearth_event.time_seconds. */
  double (*now)(hearth_host* host);
  /* since 1.0: hands an event to every metrics plugin (source = this plugin). */
  void (*emit_event)(hearth_host* host, const hearth_event* event);

  /* since 1.0: text -> token ids. Writes at most `capacity` ids and sets *count to the number
   * the text needs (HEARTH_ERROR_BUFFER_TOO_SMALL when it exceeds capacity). */
  hearth_status (*tokenize)(hearth_host* host, const char* text, size_t length, int32_t add_bos,
                            int32_t* tokens, size_t capacity, size_t* count);
  /* since 1.0: token ids -> UTF-8 text (not NUL-terminated), same buffer contract. */
  hearth_status (*detokenize)(hearth_host* host, const int32_t* tokens, size_t count, char* text,
                              size_t capacity, size_t* length);

  /* since 1.0: sequences in the paged KV cache. fork() shares the parent's blocks; the first
   * write to a shared, partly filled block copies it. */
  hearth_status (*sequence_create)(hearth_host* host, hearth_sequence_id* sequence);
  hearth_status (*sequence_fork)(hearth_host* host, hearth_sequence_id parent,
                                 hearth_sequence_id* child);
  hearth_status (*sequence_truncate)(hearth_host* host, hearth_sequence_id sequence,
                                     int32_t length);
  hearth_status (*sequence_drop)(hearth_host* host, hearth_sequence_id sequence);
  /* since 1.0: the sequence's length, or -1 when it does not exist. */
  int32_t (*sequence_length)(hearth_host* host, hearth_sequence_id sequence);

  /* since 1.0: one forward pass over a batch mixing sequences. *logits points to `*rows`
   * rows of vocab_size floats, one per entry with wants_logits, in batch order; owned by the
   * host and valid until the next forward call. Refused (HEARTH_ERROR_UNSUPPORTED) inside
   * the step-wise decoding calls, whose rows the host batches instead. */
  hearth_status (*forward)(hearth_host* host, const hearth_batch_token* batch, size_t count,
                           const float** logits, size_t* rows);

  /* since 1.0: attention plugins, during transform() only. Names are GGUF tensor names
   * ("blk.0.attn_k.weight"). A matrix is rows (output features) x cols (input features). */
  hearth_status (*weight_shape)(hearth_host* host, const char* name, int64_t* rows, int64_t* cols);
  /* since 1.0: copies the tensor, converted to f32, into `values` (rows * cols floats). */
  hearth_status (*weight_read)(hearth_host* host, const char* name, float* values, size_t count);
  /* since 1.0: replaces a tensor (f32, any shape the new head counts make consistent); the
   * host copies the values. */
  hearth_status (*weight_replace)(hearth_host* host, const char* name, const float* values,
                                  int64_t rows, int64_t cols);
  /* since 1.0: sets a layer's number of KV heads; the KV cache and kernels follow. */
  hearth_status (*set_layer_kv_heads)(hearth_host* host, int32_t layer, int32_t kv_heads);

  /* since 1.1: writes a sequence's KV cache to a file whose versioned, checksummed header
   * records the model's identity. */
  hearth_status (*sequence_save)(hearth_host* host, hearth_sequence_id sequence, const char* path);
  /* since 1.1: reads such a file into a new sequence; a file from another model or a
   * damaged one is refused (HEARTH_ERROR_INVALID_ARGUMENT, with the reason). */
  hearth_status (*sequence_load)(hearth_host* host, const char* path, hearth_sequence_id* sequence);
  /* since 1.1: memory in use now. The caller sets stats->struct_size; the host writes only
   * the members that size covers. */
  void (*memory_stats)(hearth_host* host, hearth_memory_stats* stats);
  /* since 1.3: a new sequence holding its own copy of every block of `source`, nothing shared
   * (what fork() avoids; for comparisons with unshared caches). */
  hearth_status (*sequence_copy)(hearth_host* host, hearth_sequence_id source,
                                 hearth_sequence_id* copy);
  /* since 1.5: how far a long piece of one-time work has come (a prefix being prefilled):
   * `done` of `total` units of the task named `task`. The host may show it to whoever waits. */
  void (*progress)(hearth_host* host, const char* task, int64_t done, int64_t total);
  /* since 1.5: the folder of the configuration file the plugin's options came from, for
   * options that name files relative to it; "" when they came from the API. */
  const char* (*config_dir)(hearth_host* host);
  /* since 1.5: attention plugins, during transform() only: runs the model as its weights are
   * now over `count` tokens (one sequence from position 0, on the host, in f32) and hands each
   * layer's attention input (the hidden state after the layer's attention norm: `rows` =
   * count rows of `dim` floats, borrowed for the call) to `sink`, layer by layer. From it a
   * plugin computes the layer's queries, keys and values with the weights it reads. */
  hearth_status (*calibrate)(hearth_host* host, const int32_t* tokens, size_t count,
                             void (*sink)(void* user, int32_t layer, const float* rows,
                                          size_t row_count, size_t dim),
                             void* user);
} hearth_host_services;

/* ---- decoding ------------------------------------------------------------------------ */

/* A request handed to a decoding plugin: the prompt is already in `sequence`'s KV cache and
 * `prompt_logits` holds the logits after its last token (in admit(), neither: sequence is -1
 * and prompt_logits NULL). The plugin owns `sequence` for the
 * request (it may fork, truncate or drop it); when the request ends the host drops it and
 * every sequence the plugin made for the request that still exists. */
typedef struct hearth_decode_request {
  uint32_t struct_size;
  uint16_t abi_major, abi_minor;
  uint64_t request_id;         /* since 1.0 */
  hearth_sequence_id sequence; /* since 1.0 */
  const int32_t* prompt;       /* since 1.0 */
  size_t prompt_length;        /* since 1.0 */
  const float* prompt_logits;  /* since 1.0: vocab_size floats */
  int32_t max_tokens;          /* since 1.0: < 0 = until end of generation or full context */
  const hearth_kv* options;    /* since 1.3: this request's options (e.g. "num_beams"), which
                                * take the place of the plugin's own for the same keys */
  size_t option_count;         /* since 1.3 */
} hearth_decode_request;

typedef struct hearth_hypothesis {
  const int32_t* tokens; /* generated tokens, prompt excluded */
  size_t length;
  float score; /* the strategy's score, e.g. summed log-probability */
} hearth_hypothesis;

/* Filled by run() or result(); owned by the plugin until free_result(). Best hypothesis first. */
typedef struct hearth_decode_result {
  const hearth_hypothesis* hypotheses;
  size_t count;
} hearth_decode_result;

/* Opaque per-request state of a step-wise decoding plugin, made by begin(). */
typedef struct hearth_decode_state hearth_decode_state;

/* since 1.2: what one step() receives: the logits of the rows the previous answer asked for.
 * Borrowed for the call. */
typedef struct hearth_decode_input {
  uint32_t struct_size;
  uint16_t abi_major, abi_minor;
  const hearth_batch_token* rows; /* since 1.2: the rows fed in the last pass, as answered */
  size_t row_count;               /* since 1.2 */
  const float* logits;            /* since 1.2: logit_rows rows of vocab_size floats, one per
                                   * row with wants_logits, in order */
  size_t logit_rows;              /* since 1.2 */
} hearth_decode_input;

/* since 1.2: a step's answer. `rows` are fed in the next pass, beside other requests' rows;
 * each must continue its sequence (one of this request's) like a forward batch. The array is
 * owned by the plugin and must stay valid until its next call for this request. */
typedef struct hearth_decode_output {
  uint32_t struct_size;
  uint16_t abi_major, abi_minor;
  const hearth_batch_token* rows; /* since 1.2 */
  size_t row_count;               /* since 1.2: at most the host's batch size; 0 with finished */
  int32_t finished;               /* since 1.2: nonzero: done; the host calls result() next */
} hearth_decode_output;

/* Two ways to decode. Step-wise (since 1.2, preferred): the host calls begin() once the prompt
 * is in the cache, then step() after every pass that fed the plugin's rows, until an answer says
 * finished; then result(), free_result() and end(). The host runs the forward passes, batching
 * the plugin's rows with every other request's, so forward() is refused during these calls;
 * fork, truncate and drop are how the plugin shapes its sequences between steps. A request that
 * is cancelled or fails gets end() without result(). Whole-request (run(), the only way before
 * 1.2): run() decodes the request itself with forward(); the host runs it alone, so every other
 * request waits until it returns. */
typedef struct hearth_decoding_vtable {
  uint32_t struct_size;
  uint16_t abi_major, abi_minor;
  /* since 1.0 (optional since 1.2): NULL when begin/step/result/end are given. */
  hearth_status (*run)(hearth_plugin_instance* self, const hearth_decode_request* request,
                       hearth_decode_result* result);
  /* since 1.0 (optional): NULL when results need no freeing. */
  void (*free_result)(hearth_plugin_instance* self, hearth_decode_result* result);
  /* since 1.2 (optional, with step, result and end): starts a request; *state is passed to
   * the request's later calls. The request and its prompt logits are borrowed for the call. */
  hearth_status (*begin)(hearth_plugin_instance* self, const hearth_decode_request* request,
                         hearth_decode_state** state);
  /* since 1.2: one step; the first comes right after begin() with the prompt's logits (one row,
   * no rows fed). */
  hearth_status (*step)(hearth_plugin_instance* self, hearth_decode_state* state,
                        const hearth_decode_input* input, hearth_decode_output* output);
  /* since 1.2: the hypotheses, once a step answered finished. */
  hearth_status (*result)(hearth_plugin_instance* self, hearth_decode_state* state,
                          hearth_decode_result* result);
  /* since 1.2: frees the state; called once for every successful begin(), whatever happened. */
  void (*end)(hearth_plugin_instance* self, hearth_decode_state* state);
  /* since 1.4 (optional): called when the request reaches the front of the queue, before any
   * work for it (nothing prefilled yet). An error refuses the request, with the plugin's
   * message. Otherwise *kv_blocks is the most KV cache blocks the request's sequences may come
   * to hold beyond those of its prompt (e.g. what k beams grow by); the host admits the
   * request once that many are free and keeps them for it until it ends. NULL, or 0: none. */
  hearth_status (*admit)(hearth_plugin_instance* self, const hearth_decode_request* request,
                         int64_t* kv_blocks);
} hearth_decoding_vtable;

/* ---- knowledge ----------------------------------------------------------------------- */

typedef struct hearth_knowledge_vtable {
  uint32_t struct_size;
  uint16_t abi_major, abi_minor;
  /* since 1.0: prefills `documents` once into a named prefix (kept by the plugin). */
  hearth_status (*build)(hearth_plugin_instance* self, const char* name,
                         const char* const* documents, size_t count);
  /* since 1.0: a new sequence that starts with the prefix, sharing its blocks. */
  hearth_status (*attach)(hearth_plugin_instance* self, const char* name,
                          hearth_sequence_id* sequence);
  /* since 1.0: truncates `sequence` back to the prefix after an answer. */
  hearth_status (*reset)(hearth_plugin_instance* self, const char* name,
                         hearth_sequence_id sequence);
  /* since 1.0: persists a prefix / brings one back (possibly in a later process). */
  hearth_status (*save)(hearth_plugin_instance* self, const char* name, const char* path);
  hearth_status (*restore)(hearth_plugin_instance* self, const char* name, const char* path);
  /* since 1.5 (optional): the text that follows prefix `name` for the question `question`
   * (the question placed in the prefix's prompt template); NULL: the question as it is.
   * Writes at most `capacity` bytes (not NUL-terminated) and sets *length to what the text
   * needs (HEARTH_ERROR_BUFFER_TOO_SMALL when more than `capacity`). */
  hearth_status (*compose)(hearth_plugin_instance* self, const char* name, const char* question,
                           char* text, size_t capacity, size_t* length);
  /* since 1.5 (optional): what the plugin knows of its prefixes, for deployers, as key/values
   * in order: each prefix starts with the key "set" (its name), the plugin's own keys follow
   * ("documents", "tokens", "cache", ...). `name` NULL: every prefix it is configured with or
   * holds, briefly and cheaply (at least the "set" keys); else that one in full. Same buffer
   * contract as the metrics snapshot. */
  hearth_status (*describe)(hearth_plugin_instance* self, const char* name, hearth_kv* entries,
                            size_t capacity, size_t* count);
} hearth_knowledge_vtable;

/* ---- attention ----------------------------------------------------------------------- */

typedef struct hearth_attention_vtable {
  uint32_t struct_size;
  uint16_t abi_major, abi_minor;
  /* since 1.0: called once after the weights are read and before they reach the device;
   * reads and replaces weights and KV head counts through the host services. */
  hearth_status (*transform)(hearth_plugin_instance* self);
} hearth_attention_vtable;

/* ---- metrics ------------------------------------------------------------------------- */

typedef struct hearth_metrics_vtable {
  uint32_t struct_size;
  uint16_t abi_major, abi_minor;
  /* since 1.0: every core event, in order, on the engine's thread. Must be quick. It returns
   * nothing: a failure is reported with the host's set_error() during the call. */
  void (*on_event)(hearth_plugin_instance* self, const hearth_event* event);
  /* since 1.0: the plugin's counters as key/values. Writes at most `capacity` entries and
   * sets *count to how many there are (HEARTH_ERROR_BUFFER_TOO_SMALL when more than
   * `capacity`). The strings stay valid until the next call. */
  hearth_status (*snapshot)(hearth_plugin_instance* self, hearth_kv* entries, size_t capacity,
                            size_t* count);
  /* since 1.1 (optional): writes a human-readable report to `path`. */
  hearth_status (*write_report)(hearth_plugin_instance* self, const char* path);
} hearth_metrics_vtable;

/* ---- the descriptor ------------------------------------------------------------------ */

typedef struct hearth_plugin_descriptor {
  uint32_t struct_size;
  uint16_t abi_major, abi_minor;
  const char* name;        /* since 1.0: what [[plugins]] name = "..." matches */
  const char* version;     /* since 1.0: the plugin's own version, free text */
  const char* description; /* since 1.0: one line */
  hearth_plugin_kind kind; /* since 1.0 */
  /* since 1.0: makes an instance. `options` are the TOML [plugins.options] entries, borrowed
   * for the call; an unknown or malformed option fails with HEARTH_ERROR_INVALID_ARGUMENT. */
  hearth_status (*create)(const hearth_host_services* host, const hearth_kv* options,
                          size_t option_count, hearth_plugin_instance** instance);
  /* since 1.0 */
  void (*destroy)(hearth_plugin_instance* instance);
  /* since 1.0: exactly the one matching `kind` is non-NULL. */
  const hearth_decoding_vtable* decoding;
  const hearth_knowledge_vtable* knowledge;
  const hearth_attention_vtable* attention;
  const hearth_metrics_vtable* metrics;
} hearth_plugin_descriptor;

/* The one exported symbol. The host passes its own ABI version; the plugin returns its
 * descriptor (static storage), or NULL when it cannot work with that host. */
typedef const hearth_plugin_descriptor* (*hearth_plugin_entry_fn)(uint16_t host_abi_major,
                                                                  uint16_t host_abi_minor);

/* Sizes of the structs as earlier ABI versions defined them, for plugins and hosts built
 * against those. */
#define HEARTH_HOST_SERVICES_SIZE_1_0 offsetof(hearth_host_services, sequence_save)
#define HEARTH_METRICS_VTABLE_SIZE_1_0 offsetof(hearth_metrics_vtable, write_report)
#define HEARTH_DECODING_VTABLE_SIZE_1_1 offsetof(hearth_decoding_vtable, begin)
#define HEARTH_DECODING_VTABLE_SIZE_1_3 offsetof(hearth_decoding_vtable, admit)
#define HEARTH_HOST_SERVICES_SIZE_1_4 offsetof(hearth_host_services, progress)
#define HEARTH_KNOWLEDGE_VTABLE_SIZE_1_4 offsetof(hearth_knowledge_vtable, compose)

#ifdef __cplusplus
} /* extern "C" */

/* A layout change without a version bump fails the build (x86-64 / aarch64 LP64). */
static_assert(sizeof(hearth_kv) == 16, "hearth_kv layout changed");
static_assert(sizeof(hearth_batch_token) == 16, "hearth_batch_token layout changed");
static_assert(sizeof(hearth_model_desc) == 88, "hearth_model_desc layout changed");
static_assert(sizeof(hearth_memory_stats) == 72, "hearth_memory_stats layout changed");
static_assert(sizeof(hearth_event) == 104, "hearth_event layout changed");
static_assert(sizeof(hearth_host_services) == 208, "hearth_host_services layout changed");
static_assert(HEARTH_HOST_SERVICES_SIZE_1_0 == 152, "ABI 1.0 host services changed");
static_assert(HEARTH_HOST_SERVICES_SIZE_1_4 == 184, "ABI 1.4 host services changed");
static_assert(sizeof(hearth_decode_request) == 72, "hearth_decode_request layout changed");
static_assert(sizeof(hearth_decoding_vtable) == 64, "hearth_decoding_vtable layout changed");
static_assert(HEARTH_DECODING_VTABLE_SIZE_1_3 == 56, "ABI 1.3 decoding vtable changed");
static_assert(HEARTH_DECODING_VTABLE_SIZE_1_1 == 24, "ABI 1.1 decoding vtable changed");
static_assert(sizeof(hearth_decode_input) == 40, "hearth_decode_input layout changed");
static_assert(sizeof(hearth_decode_output) == 32, "hearth_decode_output layout changed");
static_assert(sizeof(hearth_knowledge_vtable) == 64, "hearth_knowledge_vtable layout changed");
static_assert(HEARTH_KNOWLEDGE_VTABLE_SIZE_1_4 == 48, "ABI 1.4 knowledge vtable changed");
static_assert(sizeof(hearth_attention_vtable) == 16, "hearth_attention_vtable layout changed");
static_assert(sizeof(hearth_metrics_vtable) == 32, "hearth_metrics_vtable layout changed");
static_assert(HEARTH_METRICS_VTABLE_SIZE_1_0 == 24, "ABI 1.0 metrics vtable changed");
static_assert(sizeof(hearth_plugin_descriptor) == 88, "hearth_plugin_descriptor layout changed");
#else
_Static_assert(sizeof(hearth_host_services) == 208, "hearth_host_services layout changed");
_Static_assert(sizeof(hearth_plugin_descriptor) == 88, "hearth_plugin_descriptor layout changed");
#endif

#endif /* HEARTH_PLUGIN_H */
