/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-chunk-scanner.c: a strict JSON scanner for the common chunk shapes.
 *
 * One recursive-descent walk over the bytes, allocating nothing. Each object
 * whose members we read has a table of them (a Shape): the member's name, the
 * function that reads its value, and where in the caller's struct the value
 * goes; adding a member is one row. Every other value, and everything inside
 * an object we only read past, is still held to the same grammar, because a
 * chunk is ours only when all of it is: what is accepted here must come out
 * exactly as json-glib would read it (see the header for the rules). When in
 * doubt, reject; json-glib then reads the chunk, and is only slower. */

#include "rill-chunk-scanner.h"

#include <stddef.h>
#include <string.h>

/* Deeper than any chunk a server sends, shallow enough for the C stack. */
#define MAX_DEPTH 32

typedef struct
{
  const char *p;
  const char *end;
} Scan;

typedef struct _Member Member;
typedef struct _Shape Shape;

/* Reads the value of @member (s->p is at its first byte) into the struct at
 * @base, the one filled from the object that holds it. Returns FALSE to
 * reject the whole chunk. */
typedef gboolean (*MemberFunc) (Scan *s, const Member *member, guint8 *base, int depth);

struct _Member
{
  const char  *name;
  gsize        len;
  MemberFunc   read;
  gsize        offset;  /* of the field it fills, in the struct at base */
  const Shape *shape;   /* the members of the object it holds, if it does */
};

struct _Shape
{
  const Member *members;
  guint         n_members; /* at most 32: each has a bit in scan_object()'s seen */
};

typedef gboolean (*ElementFunc) (Scan *s, gpointer data, int depth);

static gboolean skip_value (Scan *s, int depth);

/* JSON's whitespace but CR: a chunk with a CR between tokens is left to
 * json-glib. SSE framing takes every CR out of event data, so only an
 * unusual NDJSON line can have one. */
static inline void
skip_ws (Scan *s)
{
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\t'))
    s->p++;
}

static inline int
hex (char c)
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
hex4 (const char *p, const char *end, gunichar *out)
{
  gunichar c = 0;

  if (end - p < 4)
    return FALSE;
  for (int i = 0; i < 4; i++)
    {
      int h = hex (p[i]);
      if (h < 0)
        return FALSE;
      c = (c << 4) | h;
    }
  *out = c;
  return TRUE;
}

/* The length of the UTF-8 sequence at @p (a byte of 0x80 or more), or 0 when
 * it is not one g_utf8_validate() accepts: no overlong form, no surrogate,
 * nothing past U+10FFFF. */
static inline gsize
utf8_sequence (const char *p, const char *end)
{
  const guchar *u = (const guchar *) p;
  guchar low = 0x80, high = 0xBF;
  gsize n;

  if (u[0] >= 0xC2 && u[0] <= 0xDF)
    n = 2;
  else if (u[0] >= 0xE0 && u[0] <= 0xEF)
    {
      n = 3;
      if (u[0] == 0xE0)
        low = 0xA0;
      else if (u[0] == 0xED)
        high = 0x9F;
    }
  else if (u[0] >= 0xF0 && u[0] <= 0xF4)
    {
      n = 4;
      if (u[0] == 0xF0)
        low = 0x90;
      else if (u[0] == 0xF4)
        high = 0x8F;
    }
  else
    return 0;
  if ((gsize) (end - p) < n || u[1] < low || u[1] > high)
    return 0;
  for (gsize i = 2; i < n; i++)
    if ((u[i] & 0xC0) != 0x80)
      return 0;
  return n;
}

/* At a '"'. Lone surrogates are refused: json-glib reads them its own way
 * (a lone surrogate becomes bytes that are not UTF-8, which the parser then
 * repairs), and matching that here is not worth it. \u0000 is read, and
 * becomes U+FFFD, as the parser has json-glib read it too. */
static gboolean
scan_string (Scan *s, RillChunkString *string)
{
  const char *p = s->p + 1;
  const char *end = s->end;
  gboolean escaped = FALSE;

  string->start = p;
  for (;;)
    {
      gunichar c, low;

      /* Printable ASCII in one comparison: this loop is most of the work. */
      while (p < end && (guchar) *p - 0x20u < 0x60u && *p != '"' && *p != '\\')
        p++;
      if (p >= end || (guchar) *p < 0x20)
        return FALSE;
      if ((guchar) *p >= 0x80)
        {
          gsize n = utf8_sequence (p, end);

          if (n == 0)
            return FALSE;
          p += n;
          continue;
        }
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
          if (!hex4 (p + 1, end, &c) || (c >= 0xDC00 && c <= 0xDFFF))
            return FALSE;
          p += 5;
          if (c >= 0xD800 && c <= 0xDBFF)
            {
              if (end - p < 6 || p[0] != '\\' || p[1] != 'u'
                  || !hex4 (p + 2, end, &low) || low < 0xDC00 || low > 0xDFFF)
                return FALSE;
              p += 6;
            }
          break;
        default:
          return FALSE;
        }
    }
  string->len = p - string->start;
  string->escaped = escaped;
  s->p = p + 1;
  return TRUE;
}

/* Plain JSON numbers only; @index gets an integer's value, and a number
 * with a fraction fails when @index is asked for. */
static gboolean
scan_number (Scan *s, gint64 *index)
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
scan_literal (Scan *s, const char *word, gsize len)
{
  if ((gsize) (s->end - s->p) < len || memcmp (s->p, word, len) != 0)
    return FALSE;
  s->p += len;
  if (s->p == s->end)
    return TRUE;
  /* "nullx" and the like are not for us to judge. */
  switch (*s->p)
    {
    case ' ': case '\t': case '\n': case ',': case '}': case ']':
      return TRUE;
    default:
      return FALSE;
    }
}

/* Member names are short, and memcmp() with a length known only at run time
 * is a call that cost more than the rest of the lookup; two overlapping loads
 * compare the same bytes, as a compiler does for memcmp() with a constant
 * length. */
static inline gboolean
same_name (const char *name, const char *key, gsize len)
{
  if (len >= 8 && len <= 16)
    {
      guint64 a, b, c, d;

      memcpy (&a, name, 8);
      memcpy (&b, key, 8);
      memcpy (&c, name + len - 8, 8);
      memcpy (&d, key + len - 8, 8);
      return ((a ^ b) | (c ^ d)) == 0;
    }
  if (len >= 4 && len < 8)
    {
      guint32 a, b, c, d;

      memcpy (&a, name, 4);
      memcpy (&b, key, 4);
      memcpy (&c, name + len - 4, 4);
      memcpy (&d, key + len - 4, 4);
      return ((a ^ b) | (c ^ d)) == 0;
    }
  return memcmp (name, key, len) == 0;
}

static inline const Member *
find_member (const Shape *shape, const char *key, gsize len)
{
  for (guint i = 0; i < shape->n_members; i++)
    {
      const Member *member = &shape->members[i];

      if (member->len == len && same_name (member->name, key, len))
        return member;
    }
  return NULL;
}

/* At a '{'. With @shape NULL the object is only read past. */
static gboolean
scan_object (Scan *s, const Shape *shape, guint8 *base, int depth)
{
  guint32 seen = 0;

  if (depth > MAX_DEPTH || s->p >= s->end || *s->p != '{')
    return FALSE;
  s->p++;
  skip_ws (s);
  if (s->p < s->end && *s->p == '}')
    {
      s->p++;
      return TRUE;
    }
  for (;;)
    {
      RillChunkString key;
      const Member *member;

      if (s->p >= s->end || *s->p != '"' || !scan_string (s, &key) || key.escaped)
        return FALSE;
      skip_ws (s);
      if (s->p >= s->end || *s->p != ':')
        return FALSE;
      s->p++;
      skip_ws (s);
      member = shape != NULL ? find_member (shape, key.start, key.len) : NULL;
      if (member == NULL)
        {
          if (!skip_value (s, depth + 1))
            return FALSE;
        }
      else
        {
          guint32 bit = 1u << (member - shape->members);

          /* json-glib keeps the last of a member given twice; rather than
           * read it the same way, leave such a chunk to json-glib. */
          if ((seen & bit) != 0 || !member->read (s, member, base, depth + 1))
            return FALSE;
          seen |= bit;
        }
      skip_ws (s);
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
      skip_ws (s);
    }
}

/* At a '['. With @func NULL the array is only read past. */
static gboolean
scan_array (Scan *s, ElementFunc func, gpointer data, int depth)
{
  if (depth > MAX_DEPTH || s->p >= s->end || *s->p != '[')
    return FALSE;
  s->p++;
  skip_ws (s);
  if (s->p < s->end && *s->p == ']')
    {
      s->p++;
      return TRUE;
    }
  for (;;)
    {
      if (func != NULL ? !func (s, data, depth + 1) : !skip_value (s, depth + 1))
        return FALSE;
      skip_ws (s);
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
      skip_ws (s);
    }
}

static gboolean
skip_value (Scan *s, int depth)
{
  RillChunkString ignored;

  if (s->p >= s->end)
    return FALSE;
  switch (*s->p)
    {
    case '{': return scan_object (s, NULL, NULL, depth);
    case '[': return scan_array (s, NULL, NULL, depth);
    case '"': return scan_string (s, &ignored);
    case 't': return scan_literal (s, "true", 4);
    case 'f': return scan_literal (s, "false", 5);
    case 'n': return scan_literal (s, "null", 4);
    default: return scan_number (s, NULL);
    }
}

static inline gboolean
at (const Scan *s, char c)
{
  return s->p < s->end && *s->p == c;
}

/* Member readers, for the tables below. */

/* A string is kept; any other value is read past and the member is absent,
 * as the json-glib path reads it. */
static gboolean
read_string (Scan *s, const Member *member, guint8 *base, int depth)
{
  RillChunkString *string = (RillChunkString *) (base + member->offset);

  if (at (s, '"'))
    return scan_string (s, string);
  string->start = NULL;
  return skip_value (s, depth);
}

/* An integer is kept (a fraction rejects the chunk: json-glib would round
 * it); any other value is read past. */
static gboolean
read_index (Scan *s, const Member *member, guint8 *base, int depth)
{
  if (s->p < s->end && (*s->p == '-' || g_ascii_isdigit (*s->p)))
    return scan_number (s, (gint64 *) (base + member->offset));
  return skip_value (s, depth);
}

/* An object is read with the member's shape into a RillChunkText; any other
 * value is read past. */
static gboolean
read_text (Scan *s, const Member *member, guint8 *base, int depth)
{
  RillChunkText *text = (RillChunkText *) (base + member->offset);

  if (!at (s, '{'))
    return skip_value (s, depth);
  text->present = TRUE;
  return scan_object (s, member->shape, (guint8 *) text, depth);
}

typedef struct
{
  RillChunkOpenai *chunk;
  const Shape     *shape;
} Choices;

static gboolean
read_choice (Scan *s, gpointer data, int depth)
{
  Choices *choices = data;
  RillChunkChoice *choice;

  if (!at (s, '{'))
    return skip_value (s, depth);
  if (choices->chunk->n_choices == RILL_CHUNK_MAX_CHOICES)
    return FALSE;
  choice = &choices->chunk->choices[choices->chunk->n_choices++];
  memset (choice, 0, sizeof *choice);
  choice->index = -1;
  return scan_object (s, choices->shape, (guint8 *) choice, depth);
}

/* An array's objects are read with the member's shape into the chunk's
 * choices; any other value is read past. */
static gboolean
read_choices (Scan *s, const Member *member, guint8 *base, int depth)
{
  Choices choices = { (RillChunkOpenai *) base, member->shape };

  if (!at (s, '['))
    return skip_value (s, depth);
  return scan_array (s, read_choice, &choices, depth);
}

/* Members whose other values carry what only json-glib reads: an error,
 * usage and timings objects, Ollama's done line. */

static gboolean
require_null (Scan *s, const Member *member, guint8 *base, int depth)
{
  return scan_literal (s, "null", 4);
}

static gboolean
require_false (Scan *s, const Member *member, guint8 *base, int depth)
{
  return scan_literal (s, "false", 5);
}

static gboolean
refuse_object (Scan *s, const Member *member, guint8 *base, int depth)
{
  return !at (s, '{') && skip_value (s, depth);
}

/* Tool calls come a few dozen events a reply, and assembling them by index
 * is json-glib's work; null and [] (which some servers put on every chunk)
 * say there are none, and stay ours. */
static gboolean
refuse_tool_calls (Scan *s, const Member *member, guint8 *base, int depth)
{
  if (at (s, 'n'))
    return scan_literal (s, "null", 4);
  if (!at (s, '['))
    return FALSE;
  s->p++;
  skip_ws (s);
  if (!at (s, ']'))
    return FALSE;
  s->p++;
  return TRUE;
}

/* The tables: one row a member. */

#define FIELD(name, read, type, field, shape) \
  { name, sizeof (name) - 1, read, G_STRUCT_OFFSET (type, field), shape }
#define CHECK(name, read) \
  { name, sizeof (name) - 1, read, 0, NULL }
#define DEFINE_SHAPE(shape, members) \
  G_STATIC_ASSERT (G_N_ELEMENTS (members) <= 32); \
  static const Shape shape = { members, G_N_ELEMENTS (members) }

/* OpenAI: choices[].delta and choices[].message */
static const Member openai_text_members[] = {
  FIELD ("content", read_string, RillChunkText, content, NULL),
  FIELD ("reasoning_content", read_string, RillChunkText, reasoning_content, NULL),
  FIELD ("reasoning", read_string, RillChunkText, reasoning, NULL),
  CHECK ("tool_calls", refuse_tool_calls),
};
DEFINE_SHAPE (openai_text_shape, openai_text_members);

static const Member openai_choice_members[] = {
  FIELD ("index", read_index, RillChunkChoice, index, NULL),
  FIELD ("delta", read_text, RillChunkChoice, delta, &openai_text_shape),
  FIELD ("finish_reason", read_string, RillChunkChoice, finish_reason, NULL),
  FIELD ("message", read_text, RillChunkChoice, message, &openai_text_shape),
};
DEFINE_SHAPE (openai_choice_shape, openai_choice_members);

static const Member openai_members[] = {
  FIELD ("model", read_string, RillChunkOpenai, model, NULL),
  FIELD ("choices", read_choices, RillChunkOpenai, choices, &openai_choice_shape),
  CHECK ("error", require_null),
  /* An object here is rare (once a stream) and needs json-glib anyway. */
  CHECK ("usage", refuse_object),
  CHECK ("timings", refuse_object),
};
DEFINE_SHAPE (openai_shape, openai_members);

/* Ollama: message, with thinking where OpenAI servers put reasoning */
static const Member ollama_message_members[] = {
  FIELD ("content", read_string, RillChunkText, content, NULL),
  FIELD ("thinking", read_string, RillChunkText, reasoning, NULL),
  CHECK ("tool_calls", refuse_tool_calls),
};
DEFINE_SHAPE (ollama_message_shape, ollama_message_members);

static const Member ollama_members[] = {
  FIELD ("model", read_string, RillChunkOllama, model, NULL),
  FIELD ("message", read_text, RillChunkOllama, message, &ollama_message_shape),
  FIELD ("response", read_string, RillChunkOllama, response, NULL),
  FIELD ("thinking", read_string, RillChunkOllama, thinking, NULL),
  CHECK ("error", require_null),
  /* Only done: false is ours; the done line carries the counters. */
  CHECK ("done", require_false),
};
DEFINE_SHAPE (ollama_shape, ollama_members);

#undef FIELD
#undef CHECK
#undef DEFINE_SHAPE

static gboolean
scan_chunk (const char *data, gsize len, const Shape *shape, gpointer chunk)
{
  Scan s = { data, data + len };

  /* No pass of g_utf8_validate() first, which cost as much as the scan:
   * outside strings only ASCII matches the grammar, and scan_string() checks
   * the UTF-8 inside them, so a chunk that is not UTF-8 is still refused. */
  if (len == 0 || data[0] != '{')
    return FALSE;
  if (!scan_object (&s, shape, chunk, 0))
    return FALSE;
  skip_ws (&s);
  return s.p == s.end;
}

gboolean
rill_chunk_scan_openai (const char *data, gsize len, RillChunkOpenai *chunk)
{
  g_return_val_if_fail (chunk != NULL, FALSE);

  /* Each choice is cleared as it is met: most chunks have one of eight. */
  memset (chunk, 0, G_STRUCT_OFFSET (RillChunkOpenai, choices));
  return scan_chunk (data, len, &openai_shape, chunk);
}

gboolean
rill_chunk_scan_ollama (const char *line, gsize len, RillChunkOllama *chunk)
{
  g_return_val_if_fail (chunk != NULL, FALSE);

  memset (chunk, 0, sizeof *chunk);
  return scan_chunk (line, len, &ollama_shape, chunk);
}

void
rill_chunk_string_append (GString *to, const RillChunkString *string)
{
  const char *p = string->start;
  const char *end = string->start + string->len;

  if (!string->escaped)
    {
      g_string_append_len (to, p, string->len);
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
          /* scan_string() checked the digits and the pair. */
          hex4 (p, end, &c);
          p += 4;
          if (c >= 0xD800 && c <= 0xDBFF)
            {
              hex4 (p + 2, end, &low);
              p += 6;
              c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
            }
          /* A NUL would end the text wherever it is read as a C string. */
          g_string_append_unichar (to, c != 0 ? c : 0xFFFD);
          break;
        default: /* '"', '\\', '/' */
          g_string_append_c (to, p[-1]);
          break;
        }
    }
}
