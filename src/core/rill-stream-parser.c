/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Folds OpenAI-compatible SSE events and Ollama NDJSON lines into one reply.
 *
 * Shapes seen from real servers and handled here: chunks with an empty
 * "choices" (usage-only chunks, Azure's prompt-filter chunks); "usage": null
 * on every chunk; usage on the finish chunk (DeepSeek) or on every chunk
 * (vLLM continuous usage); reasoning as delta.reasoning_content (DeepSeek,
 * llama.cpp) or delta.reasoning (Ollama /v1, OpenRouter); llama.cpp's
 * "timings"; {"error": …} in the middle of a stream (OpenAI, OpenRouter,
 * Ollama). Text that is not valid UTF-8 is repaired before it is kept.
 *
 * Each event is read one of two ways: the common chunk shapes by the strict
 * scanner in rill-chunk-scanner.c, straight from the bytes, and anything it
 * refuses by json-glib. Both fold into the reply the same way, and the
 * fuzzers check that they agree, using a parser made with
 * RILL_STREAM_PARSER_JSON_GLIB_ONLY (rill-stream-parser-private.h) as the
 * reference.
 *
 * What a server can make us hold is bounded: an event or line over
 * RILL_MAX_EVENT_BYTES, or more text than RILL_MAX_REPLY_BYTES, ends the
 * reply as an error of ours, keeping the text that came before it. The
 * decoders stop before they copy the bytes that would pass the limit, so a
 * flood costs at most the limit. \u0000 becomes U+FFFD, as the chunk scanner
 * reads it, instead of cutting the string where json-glib puts its NUL.
 *
 * Tool calls (see the header) are read from json-glib's tree only: the
 * chunk scanner refuses any event that has some. Their ids, names and
 * arguments count towards RILL_MAX_REPLY_BYTES with the text, and a reply
 * holds at most RILL_MAX_TOOL_CALLS calls. Pieces that do not fit the
 * usual shape are kept rather than dropped, so that what the model said is
 * never lost on the way to the person who approves it:
 *
 *  - arguments (or an id) for an index no piece has named start that call,
 *    with no name; the caller sees a call without a name;
 *  - a piece with no usable "index" (absent, negative, not a number) goes
 *    to the last call when it has no id or the same id as that call, and
 *    starts a new call, numbered after the highest index so far, when it
 *    has another id (a server that sends each call whole, without index);
 *  - arguments that are not a string in the OpenAI shape (an object, as
 *    Ollama sends them, or a number) are appended as json-glib writes them;
 *    null adds nothing;
 *  - an id, type or name given again replaces the one before when it
 *    differs (servers that repeat them on every piece repeat the same).
 *
 * Only choice 0's calls are read, as only its text is. */

#include "rill-stream-parser.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "rill-chunk-scanner.h"
#include "rill-ndjson-decoder.h"
#include "rill-sse-decoder.h"
#include "rill-stream-parser-private.h"

/* 0 in these: the defaults; see _rill_stream_parser_set_limits(). */
static gsize max_event_override;
static gsize max_reply_override;

struct _RillStreamParser
{
  RillProviderKind   kind;
  RillSseDecoder    *sse;
  RillNdjsonDecoder *ndjson;
  JsonParser        *json;

  GString   *content;
  GString   *reasoning;
  char      *model;
  char      *finish_reason;
  char      *error;
  gboolean   malformed;        /* the error is ours, not the server's */
  gboolean   too_large;        /* ours too: a limit was reached */
  gsize      max_event;
  gsize      max_reply;
  GString   *document;         /* the body is one JSON document, read at the end */
  gboolean   sniffing;         /* it may be: the body has been whitespace so far */
  char      *usage_json;
  gint64     prompt_tokens;
  gint64     completion_tokens;
  guint      n_events;
  gboolean   done;
  gboolean   grew;
  gboolean   fast_path;         /* the chunk scanner first, json-glib after */
  GString   *scratch;           /* unescaped model or finish reason */
  GPtrArray *tool_calls;        /* RillToolCall, in the order first seen */
  gsize      tool_bytes;        /* their ids, types, names and arguments */
  gboolean   calls_changed;
};

G_DEFINE_BOXED_TYPE (RillToolCall, rill_tool_call, rill_tool_call_copy, rill_tool_call_free)

RillToolCall *
rill_tool_call_copy (const RillToolCall *call)
{
  RillToolCall *copy;

  g_return_val_if_fail (call != NULL, NULL);

  copy = g_new0 (RillToolCall, 1);
  copy->index = call->index;
  copy->id = g_strdup (call->id);
  copy->type = g_strdup (call->type);
  copy->name = g_strdup (call->name);
  copy->arguments = g_string_new_len (call->arguments->str, call->arguments->len);
  return copy;
}

void
rill_tool_call_free (RillToolCall *call)
{
  if (call == NULL)
    return;
  g_free (call->id);
  g_free (call->type);
  g_free (call->name);
  g_string_free (call->arguments, TRUE);
  g_free (call);
}

static const char *
member_string (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static JsonObject *
member_object (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_OBJECT)
    return NULL;
  return json_node_get_object (node);
}

static gint64
member_int (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE)
    return -1;
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      return json_node_get_int (node);
    case G_TYPE_DOUBLE:
      {
        double value = json_node_get_double (node);

        /* 1e300 tokens is no count; casting it would be undefined. */
        if (!(value > -9.2e18 && value < 9.2e18))
          return -1;
        return (gint64) value;
      }
    default:
      return -1;
    }
}

/* "16 MiB", or "1000 bytes" for a limit a test set. */
static char *
describe_size (gsize bytes)
{
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0)
    return g_strdup_printf ("%" G_GSIZE_FORMAT " MiB", bytes / (1024 * 1024));
  return g_strdup_printf ("%" G_GSIZE_FORMAT " bytes", bytes);
}

static void set_error (RillStreamParser *self, char *message);

static void
set_too_large (RillStreamParser *self, const char *what, gsize limit)
{
  g_autofree char *size = describe_size (limit);

  if (self->error == NULL)
    {
      self->malformed = TRUE;
      self->too_large = TRUE;
    }
  set_error (self, g_strdup_printf ("The server sent %s larger than %s; "
                                    "the text before it is kept", what, size));
}

/* Text is appended whole or not at all: a token that would take the reply
 * past its limit ends it, and the text before that token is what stays. */
static gsize
reply_size (RillStreamParser *self)
{
  return self->content->len + self->reasoning->len + self->tool_bytes;
}

static gboolean
text_fits (RillStreamParser *self, GString *to, gsize old_len)
{
  if (reply_size (self) <= self->max_reply)
    return TRUE;
  g_string_truncate (to, old_len);
  set_too_large (self, "a reply", self->max_reply);
  return FALSE;
}

static void
append_text (RillStreamParser *self, GString *to, const char *text)
{
  g_autofree char *repaired = NULL;
  gsize old_len = to->len;
  gsize len;

  if (text == NULL || text[0] == '\0' || self->error != NULL)
    return;
  len = strlen (text);
  /* json-glib turns a lone surrogate escape into bytes that are not UTF-8. */
  repaired = rill_utf8_repair (text, len);
  if (repaired != NULL)
    g_string_append (to, repaired);
  else
    g_string_append_len (to, text, len);
  if (text_fits (self, to, old_len))
    self->grew = TRUE;
}

static void
set_string (char **field, const char *value)
{
  if (value == NULL || value[0] == '\0' || g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = rill_utf8_repair (value, -1);
  if (*field == NULL)
    *field = g_strdup (value);
}

/* The fast path: nearly every event is one token in the same shape, which
 * rill-chunk-scanner.c reads straight from the bytes. It refuses anything
 * unusual before any change is made here, and the event then takes the
 * json-glib path below, so what a reply becomes is the same either way. */

static void
fast_append (RillStreamParser *self, GString *to, const RillChunkString *string)
{
  gsize old_len = to->len;

  if (string->start == NULL || string->len == 0 || self->error != NULL)
    return;
  rill_chunk_string_append (to, string);
  if (text_fits (self, to, old_len))
    self->grew = TRUE;
}

static void
fast_set_string (RillStreamParser *self, char **field, const RillChunkString *string)
{
  if (string->start == NULL || string->len == 0)
    return;
  if (!string->escaped)
    {
      if (*field != NULL && strlen (*field) == string->len
          && memcmp (*field, string->start, string->len) == 0)
        return;
      g_free (*field);
      *field = g_strndup (string->start, string->len);
      return;
    }
  g_string_truncate (self->scratch, 0);
  rill_chunk_string_append (self->scratch, string);
  set_string (field, self->scratch->str);
}

static void
fast_append_text (RillStreamParser *self, const RillChunkText *text)
{
  fast_append (self, self->reasoning, &text->reasoning_content);
  fast_append (self, self->reasoning, &text->reasoning);
  fast_append (self, self->content, &text->content);
}

static gboolean
fast_openai_event (RillStreamParser *self, const char *data, gsize len)
{
  RillChunkOpenai chunk;

  if (!rill_chunk_scan_openai (data, len, &chunk))
    return FALSE;
  fast_set_string (self, &self->model, &chunk.model);
  for (guint i = 0; i < chunk.n_choices; i++)
    {
      const RillChunkChoice *choice = &chunk.choices[i];

      if (choice->index > 0)
        continue;
      if (choice->delta.present)
        fast_append_text (self, &choice->delta);
      else if (choice->message.present)
        fast_append_text (self, &choice->message);
      fast_set_string (self, &self->finish_reason, &choice->finish_reason);
    }
  return TRUE;
}

static gboolean
fast_ollama_line (RillStreamParser *self, const char *line, gsize len)
{
  RillChunkOllama chunk;

  if (!rill_chunk_scan_ollama (line, len, &chunk))
    return FALSE;
  fast_set_string (self, &self->model, &chunk.model);
  if (chunk.message.present)
    fast_append_text (self, &chunk.message);
  fast_append (self, self->reasoning, &chunk.thinking);
  fast_append (self, self->content, &chunk.response);
  return TRUE;
}

static char *
error_message_from_node (JsonNode *node)
{
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (node));
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *object = json_node_get_object (node);
      const char *message = member_string (object, "message");
      JsonObject *metadata = member_object (object, "metadata");
      const char *raw = metadata ? member_string (metadata, "raw") : NULL;

      if (message != NULL && raw != NULL)
        return g_strdup_printf ("%s (%s)", message, raw);
      if (message != NULL)
        return g_strdup (message);
      if (member_string (object, "type") != NULL)
        return g_strdup (member_string (object, "type"));
      return json_to_string (node, FALSE);
    }
  return json_to_string (node, FALSE);
}

static void
set_error (RillStreamParser *self, char *message)
{
  if (self->error == NULL)
    {
      char *repaired = rill_utf8_repair (message, -1);
      self->error = repaired ? repaired : g_strdup (message);
    }
  g_free (message);
}

static void
set_malformed (RillStreamParser *self, char *message)
{
  if (self->error == NULL)
    self->malformed = TRUE;
  set_error (self, message);
}

/* json-glib reads \u0000 as a NUL that ends the string there, losing the
 * rest; a copy with each such escape made \uFFFD (the same length) keeps
 * it, as U+FFFD. NULL when there is none. An escaped backslash followed by
 * "u0000" is text, not an escape, and stays. */
static char *
without_nul_escapes (const char *data, gsize len)
{
  char *copy = NULL;

  for (gsize i = 0; i + 1 < len; i++)
    {
      const char *backslash = memchr (data + i, '\\', len - i - 1);

      if (backslash == NULL)
        break;
      i = backslash - data + 1;
      if (data[i] != 'u' || len - i < 5 || memcmp (data + i + 1, "0000", 4) != 0)
        continue;
      if (copy == NULL)
        {
          copy = g_malloc (len + 1);
          memcpy (copy, data, len);
          copy[len] = '\0';
        }
      memcpy (copy + i + 1, "FFFD", 4);
      i += 4;
    }
  return copy;
}

static JsonObject *
parse_object (RillStreamParser *self, const char *data, gsize len)
{
  g_autofree char *repaired = rill_utf8_repair (data, len);
  g_autofree char *unnulled = NULL;
  g_autoptr(GError) error = NULL;
  JsonNode *root;

  if (repaired != NULL)
    {
      data = repaired;
      len = strlen (repaired);
    }
  if ((unnulled = without_nul_escapes (data, len)) != NULL)
    data = unnulled;
  if (!json_parser_load_from_data (self->json, data, len, &error))
    {
      g_autofree char *start = g_utf8_make_valid (data, MIN (len, 120));
      set_malformed (self, g_strdup_printf ("The server sent something that is not JSON: %s",
                                            start));
      return NULL;
    }
  root = json_parser_get_root (self->json);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_autofree char *start = g_utf8_make_valid (data, MIN (len, 120));
      set_malformed (self, g_strdup_printf ("The server sent an unexpected event: %s", start));
      return NULL;
    }
  return json_node_get_object (root);
}

static void
take_usage (RillStreamParser *self, JsonObject *usage, JsonObject *timings)
{
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) node = NULL;

  if (usage != NULL)
    {
      gint64 prompt = member_int (usage, "prompt_tokens");
      gint64 completion = member_int (usage, "completion_tokens");

      if (prompt >= 0)
        self->prompt_tokens = prompt;
      if (completion >= 0)
        self->completion_tokens = completion;
    }

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  if (usage != NULL)
    {
      json_builder_set_member_name (builder, "usage");
      json_builder_add_value (builder, json_node_init_object (json_node_alloc (), usage));
    }
  if (timings != NULL)
    {
      json_builder_set_member_name (builder, "timings");
      json_builder_add_value (builder, json_node_init_object (json_node_alloc (), timings));
    }
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);
  g_free (self->usage_json);
  self->usage_json = json_to_string (node, FALSE);
}

/* Tool calls */

static RillToolCall *
find_call (RillStreamParser *self, guint index)
{
  /* Pieces nearly always extend the newest call. */
  for (guint i = self->tool_calls->len; i > 0; i--)
    {
      RillToolCall *call = g_ptr_array_index (self->tool_calls, i - 1);

      if (call->index == index)
        return call;
    }
  return NULL;
}

static RillToolCall *
new_call (RillStreamParser *self, guint index)
{
  RillToolCall *call;

  if (self->tool_calls->len >= RILL_MAX_TOOL_CALLS)
    {
      if (self->error == NULL)
        {
          self->malformed = TRUE;
          self->too_large = TRUE;
        }
      set_error (self, g_strdup_printf ("The server sent more than %d tool calls; "
                                        "the text and calls before them are kept",
                                        RILL_MAX_TOOL_CALLS));
      return NULL;
    }
  call = g_new0 (RillToolCall, 1);
  call->index = index;
  call->arguments = g_string_new (NULL);
  g_ptr_array_add (self->tool_calls, call);
  self->calls_changed = TRUE;
  return call;
}

static guint
next_index (RillStreamParser *self)
{
  guint next = 0;

  for (guint i = 0; i < self->tool_calls->len; i++)
    {
      RillToolCall *call = g_ptr_array_index (self->tool_calls, i);

      if (call->index >= next)
        next = call->index + 1;
    }
  return next;
}

/* A piece with no usable index: see the top of this file. */
static RillToolCall *
call_without_index (RillStreamParser *self, const char *id)
{
  RillToolCall *last = NULL;

  if (self->tool_calls->len > 0)
    last = g_ptr_array_index (self->tool_calls, self->tool_calls->len - 1);
  if (last != NULL
      && (id == NULL || id[0] == '\0' || g_strcmp0 (last->id, id) == 0))
    return last;
  /* 128 calls at most, so this cannot wrap. */
  return new_call (self, next_index (self));
}

/* Whole or not at all, as text is. */
static void
set_call_string (RillStreamParser *self, char **field, const char *value)
{
  g_autofree char *repaired = NULL;
  gsize old_len = *field != NULL ? strlen (*field) : 0;
  gsize len;

  if (value == NULL || value[0] == '\0' || self->error != NULL || g_strcmp0 (*field, value) == 0)
    return;
  repaired = rill_utf8_repair (value, -1);
  if (repaired == NULL)
    repaired = g_strdup (value);
  len = strlen (repaired);
  if (reply_size (self) - old_len + len > self->max_reply)
    {
      set_too_large (self, "a reply", self->max_reply);
      return;
    }
  g_free (*field);
  *field = g_steal_pointer (&repaired);
  self->tool_bytes = self->tool_bytes - old_len + len;
  self->calls_changed = TRUE;
}

/* A string is the next piece of the text, exactly as received; anything
 * else but null is written by json-glib: Ollama's object, or what an odd
 * server sends in the OpenAI shape. */
static void
append_arguments (RillStreamParser *self, RillToolCall *call, JsonNode *node)
{
  g_autofree char *written = NULL;
  g_autofree char *repaired = NULL;
  const char *text;
  gsize old_len = call->arguments->len;
  gsize len;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node) || self->error != NULL)
    return;
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    text = json_node_get_string (node);
  else
    text = written = json_to_string (node, FALSE);
  if (text == NULL || text[0] == '\0')
    return;
  len = strlen (text);
  /* json-glib turns a lone surrogate escape into bytes that are not UTF-8. */
  if ((repaired = rill_utf8_repair (text, len)) != NULL)
    {
      text = repaired;
      len = strlen (repaired);
    }
  if (reply_size (self) + len > self->max_reply)
    {
      set_too_large (self, "a reply", self->max_reply);
      return;
    }
  g_string_append_len (call->arguments, text, len);
  self->tool_bytes += call->arguments->len - old_len;
  self->calls_changed = TRUE;
}

/* choices[0].delta.tool_calls (or .message.tool_calls, in a document) */
static void
openai_tool_calls (RillStreamParser *self, JsonObject *delta)
{
  JsonNode *node = json_object_get_member (delta, "tool_calls");
  JsonArray *array;
  guint n;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return;
  array = json_node_get_array (node);
  n = json_array_get_length (array);
  for (guint i = 0; i < n && self->error == NULL; i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      JsonObject *piece;
      JsonObject *function;
      const char *id;
      gint64 index;
      RillToolCall *call;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        continue;
      piece = json_node_get_object (element);
      id = member_string (piece, "id");
      index = member_int (piece, "index");
      if (index >= 0 && index <= G_MAXINT)
        {
          if ((call = find_call (self, index)) == NULL)
            call = new_call (self, index);
        }
      else
        call = call_without_index (self, id);
      if (call == NULL)
        return;
      set_call_string (self, &call->id, id);
      set_call_string (self, &call->type, member_string (piece, "type"));
      if ((function = member_object (piece, "function")) != NULL)
        {
          set_call_string (self, &call->name, member_string (function, "name"));
          append_arguments (self, call, json_object_get_member (function, "arguments"));
        }
    }
}

/* message.tool_calls: each call whole, and each a new one. */
static void
ollama_tool_calls (RillStreamParser *self, JsonObject *message)
{
  JsonNode *node = json_object_get_member (message, "tool_calls");
  JsonArray *array;
  guint n;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return;
  array = json_node_get_array (node);
  n = json_array_get_length (array);
  for (guint i = 0; i < n && self->error == NULL; i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      JsonObject *piece;
      JsonObject *function;
      RillToolCall *call;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        continue;
      piece = json_node_get_object (element);
      if ((call = new_call (self, self->tool_calls->len)) == NULL)
        return;
      set_call_string (self, &call->id, member_string (piece, "id"));
      set_call_string (self, &call->type, member_string (piece, "type"));
      if ((function = member_object (piece, "function")) != NULL)
        {
          set_call_string (self, &call->name, member_string (function, "name"));
          append_arguments (self, call, json_object_get_member (function, "arguments"));
        }
    }
}

static void
openai_event (const char *event_type,
              const char *data,
              gsize       len,
              const char *last_id,
              gpointer    user_data)
{
  RillStreamParser *self = user_data;
  JsonObject *root;
  JsonNode *choices;
  JsonNode *error;
  JsonObject *usage;
  JsonObject *timings;

  if (self->done || self->error != NULL)
    return;
  self->n_events++;

  if (len == 6 && memcmp (data, "[DONE]", 6) == 0)
    {
      self->done = TRUE;
      return;
    }
  if (self->fast_path && strcmp (event_type, "error") != 0 && fast_openai_event (self, data, len))
    return;

  if (!(root = parse_object (self, data, len)))
    return;

  error = json_object_get_member (root, "error");
  if (error != NULL && !JSON_NODE_HOLDS_NULL (error))
    {
      set_error (self, error_message_from_node (error));
      return;
    }
  if (g_strcmp0 (event_type, "error") == 0)
    {
      const char *message = member_string (root, "message");
      set_error (self, g_strdup (message ? message : data));
      return;
    }

  set_string (&self->model, member_string (root, "model"));

  choices = json_object_get_member (root, "choices");
  if (choices != NULL && JSON_NODE_HOLDS_ARRAY (choices))
    {
      JsonArray *array = json_node_get_array (choices);
      guint n = json_array_get_length (array);

      for (guint i = 0; i < n; i++)
        {
          JsonNode *node = json_array_get_element (array, i);
          JsonObject *choice;
          JsonObject *delta;

          if (!JSON_NODE_HOLDS_OBJECT (node))
            continue;
          choice = json_node_get_object (node);
          /* We ask for one choice; a server that sends more is read as
           * choice 0, the one a person would see. */
          if (member_int (choice, "index") > 0)
            continue;
          if ((delta = member_object (choice, "delta")) != NULL
              || (delta = member_object (choice, "message")) != NULL)
            {
              append_text (self, self->reasoning, member_string (delta, "reasoning_content"));
              append_text (self, self->reasoning, member_string (delta, "reasoning"));
              append_text (self, self->content, member_string (delta, "content"));
              openai_tool_calls (self, delta);
            }
          set_string (&self->finish_reason, member_string (choice, "finish_reason"));
        }
    }

  usage = member_object (root, "usage");
  timings = member_object (root, "timings");
  if (usage != NULL || timings != NULL)
    take_usage (self, usage, timings);
}

static void
ollama_line (const char *line, gsize len, gpointer user_data)
{
  RillStreamParser *self = user_data;
  JsonObject *root;
  JsonObject *message;
  JsonNode *error;

  if (self->done || self->error != NULL)
    return;
  self->n_events++;

  if (self->fast_path && fast_ollama_line (self, line, len))
    return;
  if (!(root = parse_object (self, line, len)))
    return;

  error = json_object_get_member (root, "error");
  if (error != NULL && !JSON_NODE_HOLDS_NULL (error))
    {
      set_error (self, error_message_from_node (error));
      return;
    }

  set_string (&self->model, member_string (root, "model"));
  if ((message = member_object (root, "message")) != NULL)
    {
      append_text (self, self->reasoning, member_string (message, "thinking"));
      append_text (self, self->content, member_string (message, "content"));
      ollama_tool_calls (self, message);
    }
  /* /api/generate */
  append_text (self, self->reasoning, member_string (root, "thinking"));
  append_text (self, self->content, member_string (root, "response"));

  if (json_object_has_member (root, "done")
      && json_object_get_boolean_member_with_default (root, "done", FALSE))
    {
      static const char * const counters[] = {
        "total_duration", "load_duration", "prompt_eval_count",
        "prompt_eval_duration", "eval_count", "eval_duration",
      };
      g_autoptr(JsonObject) usage = json_object_new ();

      self->done = TRUE;
      set_string (&self->finish_reason, member_string (root, "done_reason"));
      if (self->finish_reason == NULL)
        set_string (&self->finish_reason, "stop");
      for (guint i = 0; i < G_N_ELEMENTS (counters); i++)
        if (member_int (root, counters[i]) >= 0)
          json_object_set_int_member (usage, counters[i], member_int (root, counters[i]));
      if (member_int (root, "prompt_eval_count") >= 0)
        json_object_set_int_member (usage, "prompt_tokens", member_int (root, "prompt_eval_count"));
      if (member_int (root, "eval_count") >= 0)
        json_object_set_int_member (usage, "completion_tokens", member_int (root, "eval_count"));
      take_usage (self, usage, NULL);
    }
}

RillStreamParser *
rill_stream_parser_new (RillProviderKind kind)
{
  return _rill_stream_parser_new_with_flags (kind, RILL_STREAM_PARSER_DEFAULT);
}

RillStreamParser *
_rill_stream_parser_new_with_flags (RillProviderKind      kind,
                                    RillStreamParserFlags flags)
{
  RillStreamParser *self = g_new0 (RillStreamParser, 1);

  self->kind = kind;
  if (kind == RILL_PROVIDER_OLLAMA)
    self->ndjson = rill_ndjson_decoder_new (ollama_line, self);
  else
    self->sse = rill_sse_decoder_new (openai_event, self);
  self->json = json_parser_new_immutable ();
  self->content = g_string_new (NULL);
  self->reasoning = g_string_new (NULL);
  self->prompt_tokens = -1;
  self->completion_tokens = -1;
  self->fast_path = (flags & RILL_STREAM_PARSER_JSON_GLIB_ONLY) == 0;
  self->scratch = g_string_new (NULL);
  self->tool_calls = g_ptr_array_new_with_free_func ((GDestroyNotify) rill_tool_call_free);
  self->max_event = max_event_override ? max_event_override : RILL_MAX_EVENT_BYTES;
  self->max_reply = max_reply_override ? max_reply_override : RILL_MAX_REPLY_BYTES;
  if (self->sse != NULL)
    rill_sse_decoder_set_max_event (self->sse, self->max_event);
  else
    rill_ndjson_decoder_set_max_line (self->ndjson, self->max_event);
  return self;
}

void
_rill_stream_parser_set_limits (gsize max_event, gsize max_reply)
{
  max_event_override = max_event;
  max_reply_override = max_reply;
}

void
rill_stream_parser_allow_document (RillStreamParser *self)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (self->n_events == 0 && self->document == NULL);

  /* Ollama's lines are each a document already, so a whole answer on one
   * line is read as it is. */
  if (self->sse == NULL)
    return;
  self->document = g_string_new (NULL);
  self->sniffing = TRUE;
}

/* Holds @bytes in the document while the body has been only whitespace, and
 * returns FALSE; at the first other byte, decides: '{' begins a document,
 * anything else a stream, which is then given what was held. */
static gboolean
sniff (RillStreamParser *self, const char *bytes, gsize len)
{
  const char *p = bytes;
  const char *end = bytes + len;
  g_autoptr(GString) held = NULL;

  while (p < end && g_ascii_isspace (*p))
    p++;
  if (p == end)
    {
      if (self->document->len + len > self->max_event)
        set_too_large (self, "an answer", self->max_event);
      else
        g_string_append_len (self->document, bytes, len);
      return FALSE;
    }
  self->sniffing = FALSE;
  if (*p == '{')
    return TRUE;
  held = g_steal_pointer (&self->document);
  rill_sse_decoder_feed (self->sse, held->str, held->len);
  return TRUE;
}

/* A whole answer, as a server that ignored "stream": true sends it: OpenAI's
 * {"choices":[{"message":…}],"usage":…} or Ollama's {"message":…,"done":true}
 * read as one event, which is then the whole reply. */
static void
end_document (RillStreamParser *self)
{
  const char *data = self->document->str;
  gsize len = self->document->len;

  while (len > 0 && g_ascii_isspace (data[len - 1]))
    len--;
  if (len == 0)
    return;
  if (self->sse != NULL)
    openai_event ("message", data, len, "", self);
  else
    ollama_line (data, len, self);
  if (self->error != NULL)
    return;
  if (self->content->len > 0 || self->reasoning->len > 0 || self->tool_calls->len > 0
      || rill_stream_parser_has_finished (self))
    self->done = TRUE;
  else
    {
      g_autofree char *start = g_utf8_make_valid (data, MIN (len, 120));

      set_malformed (self, g_strdup_printf ("The server answered with JSON that is not a reply: %s",
                                            start));
    }
}

void
rill_stream_parser_free (RillStreamParser *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->sse, rill_sse_decoder_free);
  g_clear_pointer (&self->ndjson, rill_ndjson_decoder_free);
  g_clear_object (&self->json);
  g_string_free (self->content, TRUE);
  g_string_free (self->reasoning, TRUE);
  g_string_free (self->scratch, TRUE);
  g_ptr_array_unref (self->tool_calls);
  if (self->document != NULL)
    g_string_free (self->document, TRUE);
  g_free (self->model);
  g_free (self->finish_reason);
  g_free (self->error);
  g_free (self->usage_json);
  g_free (self);
}

gboolean
rill_stream_parser_feed (RillStreamParser *self, const char *bytes, gsize len)
{
  g_return_val_if_fail (self != NULL, FALSE);

  if (self->done || self->error != NULL)
    return FALSE;
  self->grew = FALSE;
  self->calls_changed = FALSE;
  if (self->sniffing && !sniff (self, bytes, len))
    return FALSE;
  if (self->document != NULL)
    {
      if (self->document->len + len > self->max_event)
        {
          g_string_free (self->document, TRUE);
          self->document = g_string_new (NULL);
          set_too_large (self, "an answer", self->max_event);
        }
      else
        g_string_append_len (self->document, bytes, len);
    }
  else if (self->sse != NULL)
    {
      rill_sse_decoder_feed (self->sse, bytes, len);
      if (rill_sse_decoder_overflowed (self->sse))
        set_too_large (self, "an event", self->max_event);
    }
  else
    {
      rill_ndjson_decoder_feed (self->ndjson, bytes, len);
      if (rill_ndjson_decoder_overflowed (self->ndjson))
        set_too_large (self, "a line", self->max_event);
    }
  return self->grew;
}

void
rill_stream_parser_end (RillStreamParser *self)
{
  g_return_if_fail (self != NULL);

  self->calls_changed = FALSE;
  if (self->done || self->error != NULL)
    return;
  if (self->document != NULL && !self->sniffing)
    end_document (self);
  else if (self->sse != NULL)
    rill_sse_decoder_finish (self->sse);
  else
    rill_ndjson_decoder_finish (self->ndjson);
}

const GString *
rill_stream_parser_get_content (RillStreamParser *self)
{
  return self->content;
}

const GString *
rill_stream_parser_get_reasoning (RillStreamParser *self)
{
  return self->reasoning;
}

const char *
rill_stream_parser_get_model (RillStreamParser *self)
{
  return self->model;
}

const char *
rill_stream_parser_get_finish_reason (RillStreamParser *self)
{
  return self->finish_reason;
}

GPtrArray *
rill_stream_parser_get_tool_calls (RillStreamParser *self)
{
  return self->tool_calls;
}

gboolean
rill_stream_parser_tool_calls_changed (RillStreamParser *self)
{
  return self->calls_changed;
}

const char *
rill_stream_parser_get_error (RillStreamParser *self)
{
  return self->error;
}

gboolean
rill_stream_parser_is_malformed (RillStreamParser *self)
{
  return self->malformed;
}

gboolean
rill_stream_parser_is_too_large (RillStreamParser *self)
{
  return self->too_large;
}

gboolean
rill_stream_parser_is_done (RillStreamParser *self)
{
  return self->done;
}

gboolean
rill_stream_parser_has_finished (RillStreamParser *self)
{
  return self->done || self->finish_reason != NULL;
}

const char *
rill_stream_parser_get_usage_json (RillStreamParser *self)
{
  return self->usage_json;
}

gint64
rill_stream_parser_get_prompt_tokens (RillStreamParser *self)
{
  return self->prompt_tokens;
}

gint64
rill_stream_parser_get_completion_tokens (RillStreamParser *self)
{
  return self->completion_tokens;
}

guint
rill_stream_parser_get_n_events (RillStreamParser *self)
{
  return self->n_events;
}

char *
rill_error_message_from_json (const char *body, gsize len)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autofree char *repaired = rill_utf8_repair (body, len);
  g_autofree char *unnulled = NULL;
  JsonNode *root;
  JsonObject *object;
  JsonNode *error;

  if (repaired != NULL)
    {
      body = repaired;
      len = strlen (repaired);
    }
  if ((unnulled = without_nul_escapes (body, len)) != NULL)
    body = unnulled;
  if (!json_parser_load_from_data (parser, body, len, NULL))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  object = json_node_get_object (root);
  error = json_object_get_member (object, "error");
  if (error != NULL && !JSON_NODE_HOLDS_NULL (error))
    return error_message_from_node (error);
  if (member_string (object, "message") != NULL)
    return g_strdup (member_string (object, "message"));
  if (member_string (object, "detail") != NULL)
    return g_strdup (member_string (object, "detail"));
  return NULL;
}
