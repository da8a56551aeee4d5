/* Folds OpenAI-compatible SSE events and Ollama NDJSON lines into one reply.
 *
 * Shapes seen from real servers and handled here: chunks with an empty
 * "choices" (usage-only chunks, Azure's prompt-filter chunks); "usage": null
 * on every chunk; usage on the finish chunk (DeepSeek) or on every chunk
 * (vLLM continuous usage); reasoning as delta.reasoning_content (DeepSeek,
 * llama.cpp) or delta.reasoning (Ollama /v1, OpenRouter); llama.cpp's
 * "timings"; {"error": …} in the middle of a stream (OpenAI, OpenRouter,
 * Ollama). Text that is not valid UTF-8 is repaired before it is kept. */

#include "rill-stream-parser.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "rill-ndjson-decoder.h"
#include "rill-sse-decoder.h"
#include "rill-stream-parser-private.h"

struct _RillStreamParser
{
  RillProviderKind kind;
  RillSseDecoder *sse;
  RillNdjsonDecoder *ndjson;
  JsonParser *json;

  GString *content;
  GString *reasoning;
  char *model;
  char *finish_reason;
  char *error;
  gboolean malformed;          /* the error is ours, not the server's */
  char *usage_json;
  gint64 prompt_tokens;
  gint64 completion_tokens;
  guint n_events;
  gboolean done;
  gboolean grew;
  gboolean fast_path;
  GString *scratch;
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

/* The fast path.
 *
 * Nearly every event is one token in the same shape: a flat chunk object
 * with choices[0].delta.content. Building a json-glib tree for it costs more
 * than everything else the client does with the token, so a small scanner
 * reads the fields that matter straight from the bytes. It accepts only a
 * strict subset of JSON it knows json-glib reads the same way (valid UTF-8,
 * standard escapes, no lone surrogates or \u0000, plain numbers, no
 * duplicated fields of interest, nothing nested deeply) and only the
 * common shapes (no error, usage or timings object, no error event, Ollama
 * lines that are not the done line); anything else returns FALSE before any
 * change and takes the json-glib path below, so what a reply becomes is the
 * same either way. The fuzzers check that, against parsers made with
 * RILL_STREAM_PARSER_JSON_GLIB_ONLY (rill-stream-parser-private.h). */

#define FAST_MAX_DEPTH 32
#define FAST_MAX_CHOICES 8

typedef struct
{
  const char *p;
  const char *end;
} Scan;

typedef struct
{
  const char *start;   /* NULL: absent or not a string */
  gsize len;
  gboolean escaped;
} Span;

typedef struct
{
  Span reasoning_content;
  Span reasoning;
  Span content;
  guint seen;
} FastDelta;

typedef struct
{
  gint64 index;
  gboolean has_delta;
  gboolean has_message;
  FastDelta delta;
  FastDelta message;
  Span finish_reason;
  guint seen;
} FastChoice;

typedef struct
{
  Span model;
  FastChoice choices[FAST_MAX_CHOICES];
  guint n_choices;
  /* Ollama */
  gboolean has_message;
  FastDelta message;   /* thinking in reasoning, content in content */
  Span thinking;
  Span response;
  guint seen;
} FastEvent;

typedef gboolean (*FastMemberFunc) (Scan *s, const char *key, gsize key_len, gpointer data, int depth);

static gboolean fast_skip_value (Scan *s, int depth);

static inline void
fast_ws (Scan *s)
{
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\t'))
    s->p++;
}

static inline int
fast_hex (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static inline gboolean
fast_hex4 (const char *p, const char *end, gunichar *out)
{
  gunichar c = 0;

  if (end - p < 4)
    return FALSE;
  for (int i = 0; i < 4; i++)
    {
      int h = fast_hex (p[i]);
      if (h < 0)
        return FALSE;
      c = (c << 4) | h;
    }
  *out = c;
  return TRUE;
}

/* At a '"'. */
static gboolean
fast_string (Scan *s, Span *span)
{
  const char *p = s->p + 1;
  const char *end = s->end;
  gboolean escaped = FALSE;

  span->start = p;
  for (;;)
    {
      gunichar c, low;

      while (p < end && (guchar) *p >= 0x20 && *p != '"' && *p != '\\')
        p++;
      if (p >= end || (guchar) *p < 0x20)
        return FALSE;
      if (*p == '"')
        break;
      escaped = TRUE;
      if (++p >= end)
        return FALSE;
      switch (*p)
        {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
          p++;
          break;
        case 'u':
          if (!fast_hex4 (p + 1, end, &c) || c == 0 || (c >= 0xDC00 && c <= 0xDFFF))
            return FALSE;
          p += 5;
          if (c >= 0xD800 && c <= 0xDBFF)
            {
              if (end - p < 6 || p[0] != '\\' || p[1] != 'u'
                  || !fast_hex4 (p + 2, end, &low) || low < 0xDC00 || low > 0xDFFF)
                return FALSE;
              p += 6;
            }
          break;
        default:
          return FALSE;
        }
    }
  span->len = p - span->start;
  span->escaped = escaped;
  s->p = p + 1;
  return TRUE;
}

/* Appends a string checked by fast_string, unescaped. */
static void
fast_unescape (GString *to, const Span *span)
{
  const char *p = span->start;
  const char *end = span->start + span->len;

  if (!span->escaped)
    {
      g_string_append_len (to, p, span->len);
      return;
    }
  while (p < end)
    {
      const char *backslash = memchr (p, '\\', end - p);
      gunichar c = 0, low = 0xDC00;

      if (backslash == NULL)
        {
          g_string_append_len (to, p, end - p);
          return;
        }
      g_string_append_len (to, p, backslash - p);
      p = backslash + 1;
      switch (*p++)
        {
        case 'b': g_string_append_c (to, '\b'); break;
        case 'f': g_string_append_c (to, '\f'); break;
        case 'n': g_string_append_c (to, '\n'); break;
        case 'r': g_string_append_c (to, '\r'); break;
        case 't': g_string_append_c (to, '\t'); break;
        case 'u':
          fast_hex4 (p, end, &c);
          p += 4;
          if (c >= 0xD800 && c <= 0xDBFF)
            {
              fast_hex4 (p + 2, end, &low);
              p += 6;
              c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
            }
          g_string_append_unichar (to, c);
          break;
        default: /* '"', '\\', '/' */
          g_string_append_c (to, p[-1]);
          break;
        }
    }
}

/* Plain JSON numbers only; @index gets an integer's value, and a number
 * with a fraction fails when @index is asked for. */
static gboolean
fast_number (Scan *s, gint64 *index)
{
  const char *p = s->p;
  const char *end = s->end;
  gboolean negative = FALSE;
  const char *digits;
  gint64 value = 0;

  if (p < end && *p == '-')
    {
      negative = TRUE;
      p++;
    }
  digits = p;
  if (p >= end || !g_ascii_isdigit (*p))
    return FALSE;
  if (*p == '0')
    p++;
  else
    while (p < end && g_ascii_isdigit (*p))
      {
        /* Long numbers are json-glib's to judge (and would overflow). */
        if (p - digits >= 18)
          return FALSE;
        value = value * 10 + (*p++ - '0');
      }
  if (p < end && g_ascii_isdigit (*p))
    return FALSE;
  if (p < end && *p == '.')
    {
      if (index != NULL)
        return FALSE;
      p++;
      if (p >= end || !g_ascii_isdigit (*p))
        return FALSE;
      while (p < end && g_ascii_isdigit (*p))
        p++;
    }
  if (p < end && (*p == 'e' || *p == 'E'))
    return FALSE;
  if (index != NULL)
    *index = negative ? -value : value;
  s->p = p;
  return TRUE;
}

static gboolean
fast_literal (Scan *s, const char *word, gsize len)
{
  if ((gsize) (s->end - s->p) < len || memcmp (s->p, word, len) != 0)
    return FALSE;
  s->p += len;
  /* "nullx" and the like are not for us to judge. */
  return s->p == s->end || (*s->p != '\0' && strchr (" \t\n,}]", *s->p) != NULL);
}

static gboolean
fast_object (Scan *s, FastMemberFunc func, gpointer data, int depth)
{
  if (depth > FAST_MAX_DEPTH || s->p >= s->end || *s->p != '{')
    return FALSE;
  s->p++;
  fast_ws (s);
  if (s->p < s->end && *s->p == '}')
    {
      s->p++;
      return TRUE;
    }
  for (;;)
    {
      Span key;

      if (s->p >= s->end || *s->p != '"' || !fast_string (s, &key) || key.escaped)
        return FALSE;
      fast_ws (s);
      if (s->p >= s->end || *s->p != ':')
        return FALSE;
      s->p++;
      fast_ws (s);
      if (func != NULL ? !func (s, key.start, key.len, data, depth + 1) : !fast_skip_value (s, depth + 1))
        return FALSE;
      fast_ws (s);
      if (s->p >= s->end)
        return FALSE;
      if (*s->p == '}')
        {
          s->p++;
          return TRUE;
        }
      if (*s->p != ',')
        return FALSE;
      s->p++;
      fast_ws (s);
    }
}

typedef gboolean (*FastElementFunc) (Scan *s, gpointer data, int depth);

static gboolean
fast_array (Scan *s, FastElementFunc func, gpointer data, int depth)
{
  if (depth > FAST_MAX_DEPTH || s->p >= s->end || *s->p != '[')
    return FALSE;
  s->p++;
  fast_ws (s);
  if (s->p < s->end && *s->p == ']')
    {
      s->p++;
      return TRUE;
    }
  for (;;)
    {
      if (func != NULL ? !func (s, data, depth + 1) : !fast_skip_value (s, depth + 1))
        return FALSE;
      fast_ws (s);
      if (s->p >= s->end)
        return FALSE;
      if (*s->p == ']')
        {
          s->p++;
          return TRUE;
        }
      if (*s->p != ',')
        return FALSE;
      s->p++;
      fast_ws (s);
    }
}

static gboolean
fast_skip_value (Scan *s, int depth)
{
  Span ignored;

  if (s->p >= s->end)
    return FALSE;
  switch (*s->p)
    {
    case '{': return fast_object (s, NULL, NULL, depth);
    case '[': return fast_array (s, NULL, NULL, depth);
    case '"': return fast_string (s, &ignored);
    case 't': return fast_literal (s, "true", 4);
    case 'f': return fast_literal (s, "false", 5);
    case 'n': return fast_literal (s, "null", 4);
    default: return fast_number (s, NULL);
    }
}

/* A string is kept; any other value is read past, as member_string() would
 * ignore it. */
static gboolean
fast_string_member (Scan *s, Span *span, int depth)
{
  if (s->p < s->end && *s->p == '"')
    return fast_string (s, span);
  span->start = NULL;
  return fast_skip_value (s, depth);
}

/* Marks @bit seen; a field given twice is left to json-glib. */
static inline gboolean
fast_once (guint *seen, guint bit)
{
  if (*seen & bit)
    return FALSE;
  *seen |= bit;
  return TRUE;
}

#define KEY_IS(name) (key_len == sizeof (name) - 1 && memcmp (key, name, key_len) == 0)

/* choices[].delta or choices[].message */
static gboolean
fast_delta_member (Scan *s, const char *key, gsize key_len, gpointer data, int depth)
{
  FastDelta *d = data;

  if (KEY_IS ("content"))
    return fast_once (&d->seen, 1 << 0) && fast_string_member (s, &d->content, depth);
  if (KEY_IS ("reasoning_content"))
    return fast_once (&d->seen, 1 << 1) && fast_string_member (s, &d->reasoning_content, depth);
  if (KEY_IS ("reasoning"))
    return fast_once (&d->seen, 1 << 2) && fast_string_member (s, &d->reasoning, depth);
  return fast_skip_value (s, depth);
}

/* Ollama's message: thinking goes in reasoning. */
static gboolean
fast_message_member (Scan *s, const char *key, gsize key_len, gpointer data, int depth)
{
  FastDelta *d = data;

  if (KEY_IS ("content"))
    return fast_once (&d->seen, 1 << 0) && fast_string_member (s, &d->content, depth);
  if (KEY_IS ("thinking"))
    return fast_once (&d->seen, 1 << 2) && fast_string_member (s, &d->reasoning, depth);
  return fast_skip_value (s, depth);
}

static gboolean
fast_choice_member (Scan *s, const char *key, gsize key_len, gpointer data, int depth)
{
  FastChoice *c = data;

  if (KEY_IS ("index"))
    {
      if (!fast_once (&c->seen, 1 << 0))
        return FALSE;
      if (s->p < s->end && (*s->p == '-' || g_ascii_isdigit (*s->p)))
        return fast_number (s, &c->index);
      return fast_skip_value (s, depth);
    }
  if (KEY_IS ("delta") || KEY_IS ("message"))
    {
      gboolean is_delta = KEY_IS ("delta");

      if (!fast_once (&c->seen, is_delta ? 1 << 1 : 1 << 2))
        return FALSE;
      if (s->p < s->end && *s->p == '{')
        {
          *(is_delta ? &c->has_delta : &c->has_message) = TRUE;
          return fast_object (s, fast_delta_member, is_delta ? &c->delta : &c->message, depth);
        }
      return fast_skip_value (s, depth);
    }
  if (KEY_IS ("finish_reason"))
    return fast_once (&c->seen, 1 << 3) && fast_string_member (s, &c->finish_reason, depth);
  return fast_skip_value (s, depth);
}

static gboolean
fast_choice_element (Scan *s, gpointer data, int depth)
{
  FastEvent *e = data;
  FastChoice *c;

  if (s->p >= s->end || *s->p != '{')
    return fast_skip_value (s, depth);
  if (e->n_choices == FAST_MAX_CHOICES)
    return FALSE;
  c = &e->choices[e->n_choices++];
  c->index = -1;
  return fast_object (s, fast_choice_member, c, depth);
}

/* Fields whose presence as anything but null sends the event to json-glib. */
static gboolean
fast_null_only (Scan *s, int depth)
{
  return fast_literal (s, "null", 4);
}

static gboolean
fast_openai_member (Scan *s, const char *key, gsize key_len, gpointer data, int depth)
{
  FastEvent *e = data;

  if (KEY_IS ("model"))
    return fast_once (&e->seen, 1 << 0) && fast_string_member (s, &e->model, depth);
  if (KEY_IS ("choices"))
    {
      if (!fast_once (&e->seen, 1 << 1))
        return FALSE;
      if (s->p < s->end && *s->p == '[')
        return fast_array (s, fast_choice_element, e, depth);
      return fast_skip_value (s, depth);
    }
  if (KEY_IS ("error"))
    return fast_once (&e->seen, 1 << 2) && fast_null_only (s, depth);
  /* An object here is rare (once a stream) and needs json-glib anyway. */
  if (KEY_IS ("usage") || KEY_IS ("timings"))
    return fast_once (&e->seen, KEY_IS ("usage") ? 1 << 3 : 1 << 4)
           && (s->p >= s->end || *s->p != '{') && fast_skip_value (s, depth);
  return fast_skip_value (s, depth);
}

static gboolean
fast_ollama_member (Scan *s, const char *key, gsize key_len, gpointer data, int depth)
{
  FastEvent *e = data;

  if (KEY_IS ("model"))
    return fast_once (&e->seen, 1 << 0) && fast_string_member (s, &e->model, depth);
  if (KEY_IS ("message"))
    {
      if (!fast_once (&e->seen, 1 << 1))
        return FALSE;
      if (s->p < s->end && *s->p == '{')
        {
          e->has_message = TRUE;
          return fast_object (s, fast_message_member, &e->message, depth);
        }
      return fast_skip_value (s, depth);
    }
  if (KEY_IS ("error"))
    return fast_once (&e->seen, 1 << 2) && fast_null_only (s, depth);
  if (KEY_IS ("thinking"))
    return fast_once (&e->seen, 1 << 3) && fast_string_member (s, &e->thinking, depth);
  if (KEY_IS ("response"))
    return fast_once (&e->seen, 1 << 4) && fast_string_member (s, &e->response, depth);
  /* Only done: false is ours; the done line carries the counters. */
  if (KEY_IS ("done"))
    return fast_once (&e->seen, 1 << 5) && fast_literal (s, "false", 5);
  return fast_skip_value (s, depth);
}

#undef KEY_IS

static gboolean
fast_scan (const char *data, gsize len, FastMemberFunc func, FastEvent *e)
{
  Scan s = { data, data + len };

  if (len == 0 || data[0] != '{' || !g_utf8_validate_len (data, len, NULL))
    return FALSE;
  memset (e, 0, sizeof *e);
  if (!fast_object (&s, func, e, 0))
    return FALSE;
  fast_ws (&s);
  return s.p == s.end;
}

static void
fast_append (RillStreamParser *self, GString *to, const Span *span)
{
  if (span->start == NULL || span->len == 0)
    return;
  fast_unescape (to, span);
  self->grew = TRUE;
}

static void
fast_set_string (RillStreamParser *self, char **field, const Span *span)
{
  if (span->start == NULL || span->len == 0)
    return;
  if (!span->escaped)
    {
      if (*field != NULL && strlen (*field) == span->len && memcmp (*field, span->start, span->len) == 0)
        return;
      g_free (*field);
      *field = g_strndup (span->start, span->len);
      return;
    }
  g_string_truncate (self->scratch, 0);
  fast_unescape (self->scratch, span);
  set_string (field, self->scratch->str);
}

static gboolean
fast_openai_event (RillStreamParser *self, const char *data, gsize len)
{
  FastEvent event;
  FastEvent *e = &event;

  if (!fast_scan (data, len, fast_openai_member, e))
    return FALSE;
  fast_set_string (self, &self->model, &e->model);
  for (guint i = 0; i < e->n_choices; i++)
    {
      FastChoice *c = &e->choices[i];
      FastDelta *d = c->has_delta ? &c->delta : c->has_message ? &c->message : NULL;

      if (c->index > 0)
        continue;
      if (d != NULL)
        {
          fast_append (self, self->reasoning, &d->reasoning_content);
          fast_append (self, self->reasoning, &d->reasoning);
          fast_append (self, self->content, &d->content);
        }
      fast_set_string (self, &self->finish_reason, &c->finish_reason);
    }
  return TRUE;
}

static gboolean
fast_ollama_line (RillStreamParser *self, const char *line, gsize len)
{
  FastEvent event;
  FastEvent *e = &event;

  if (!fast_scan (line, len, fast_ollama_member, e))
    return FALSE;
  fast_set_string (self, &self->model, &e->model);
  if (e->has_message)
    {
      fast_append (self, self->reasoning, &e->message.reasoning);
      fast_append (self, self->content, &e->message.content);
    }
  fast_append (self, self->reasoning, &e->thinking);
  fast_append (self, self->content, &e->response);
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
      set_malformed (self, g_strdup_printf ("The server sent something that is not JSON: %s", start));
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
