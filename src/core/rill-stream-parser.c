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
 * reference. */

#include "rill-stream-parser.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "rill-chunk-scanner.h"
#include "rill-ndjson-decoder.h"
#include "rill-sse-decoder.h"
#include "rill-stream-parser-private.h"

struct _RillStreamParser
{
  RillProviderKind   kind;
  RillSseDecoder    *sse;
  RillNdjsonDecoder *ndjson;
  JsonParser        *json;

  GString *content;
  GString *reasoning;
  char    *model;
  char    *finish_reason;
  char    *error;
  gboolean malformed;          /* the error is ours, not the server's */
  char    *usage_json;
  gint64   prompt_tokens;
  gint64   completion_tokens;
  guint    n_events;
  gboolean done;
  gboolean grew;
  gboolean fast_path;           /* the chunk scanner first, json-glib after */
  GString *scratch;             /* unescaped model or finish reason */
};

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

static void
append_text (RillStreamParser *self, GString *to, const char *text)
{
  g_autofree char *repaired = NULL;
  gsize len;

  if (text == NULL || text[0] == '\0')
    return;
  len = strlen (text);
  /* json-glib turns a lone surrogate escape into bytes that are not UTF-8. */
  repaired = rill_utf8_repair (text, len);
  if (repaired != NULL)
    g_string_append (to, repaired);
  else
    g_string_append_len (to, text, len);
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
  if (string->start == NULL || string->len == 0)
    return;
  rill_chunk_string_append (to, string);
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

static JsonObject *
parse_object (RillStreamParser *self, const char *data, gsize len)
{
  g_autofree char *repaired = rill_utf8_repair (data, len);
  g_autoptr(GError) error = NULL;
  JsonNode *root;

  if (repaired != NULL)
    {
      data = repaired;
      len = strlen (repaired);
    }
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
  return self;
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
  if (self->sse != NULL)
    rill_sse_decoder_feed (self->sse, bytes, len);
  else
    rill_ndjson_decoder_feed (self->ndjson, bytes, len);
  return self->grew;
}

void
rill_stream_parser_end (RillStreamParser *self)
{
  g_return_if_fail (self != NULL);

  if (self->done || self->error != NULL)
    return;
  if (self->sse != NULL)
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
  JsonNode *root;
  JsonObject *object;
  JsonNode *error;

  if (repaired != NULL)
    {
      body = repaired;
      len = strlen (repaired);
    }
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
