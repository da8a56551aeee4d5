/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An incremental decoder for text/event-stream, following the WHATWG
 * EventSource parsing rules: lines end in CRLF, LF or CR; a leading BOM is
 * dropped; ':' lines are comments; data: lines are joined with '\n'; a blank
 * line dispatches. A read may end anywhere, including between the CR and the
 * LF of one line ending, so the decoder remembers a trailing CR.
 *
 * What a server sends is held only until its event ends, so an event that
 * never ends would hold memory without end; with a maximum set, the decoder
 * stops at it instead, before the bytes that would pass it are copied. */

#include "rill-sse-decoder.h"

#include <string.h>

struct _RillSseDecoder
{
  RillSseEventFunc func;
  gpointer         user_data;

  GString *line;        /* a line not yet ended */
  GString *data;        /* data: values, each followed by '\n' */
  GString *event_type;
  GString *last_id;
  gsize    max_event;   /* 0: none */
  guint    overflowed : 1;
  guint    skip_lf : 1; /* the previous byte was a CR ending a line */
  guint    seen_first_line : 1;
};

RillSseDecoder *
rill_sse_decoder_new (RillSseEventFunc func, gpointer user_data)
{
  RillSseDecoder *self = g_new0 (RillSseDecoder, 1);

  self->func = func;
  self->user_data = user_data;
  self->line = g_string_new (NULL);
  self->data = g_string_new (NULL);
  self->event_type = g_string_new (NULL);
  self->last_id = g_string_new (NULL);
  return self;
}

void
rill_sse_decoder_free (RillSseDecoder *self)
{
  if (self == NULL)
    return;
  g_string_free (self->line, TRUE);
  g_string_free (self->data, TRUE);
  g_string_free (self->event_type, TRUE);
  g_string_free (self->last_id, TRUE);
  g_free (self);
}

/* Nothing more is kept: what was held goes back now, not when the decoder
 * is freed, which may be much later (a window keeps its replies). */
static void
overflow (RillSseDecoder *self)
{
  self->overflowed = TRUE;
  g_string_free (self->line, TRUE);
  g_string_free (self->data, TRUE);
  self->line = g_string_new (NULL);
  self->data = g_string_new (NULL);
}

static void
dispatch (RillSseDecoder *self)
{
  if (self->data->len > 0)
    {
      g_string_truncate (self->data, self->data->len - 1);
      /* The type is handed over as a C string: one that is empty as such
       * (an event: value starting with a NUL) is "message" too. */
      self->func (self->event_type->str[0] != '\0' ? self->event_type->str : "message",
                  self->data->str, self->data->len,
                  self->last_id->str, self->user_data);
    }
  g_string_truncate (self->data, 0);
  g_string_truncate (self->event_type, 0);
}

static void
process_line (RillSseDecoder *self, const char *line, gsize len)
{
  const char *colon;
  const char *value;
  gsize field_len, value_len;

  if (!self->seen_first_line)
    {
      self->seen_first_line = TRUE;
      if (len >= 3 && memcmp (line, "\xEF\xBB\xBF", 3) == 0)
        {
          line += 3;
          len -= 3;
        }
    }

  if (len == 0)
    {
      dispatch (self);
      return;
    }
  if (line[0] == ':')
    return;

  colon = memchr (line, ':', len);
  if (colon != NULL)
    {
      field_len = colon - line;
      value = colon + 1;
      value_len = len - field_len - 1;
      if (value_len > 0 && value[0] == ' ')
        {
          value++;
          value_len--;
        }
    }
  else
    {
      field_len = len;
      value = line + len;
      value_len = 0;
    }

#define FIELD_IS(name) (field_len == sizeof (name) - 1 && memcmp (line, name, field_len) == 0)
  if (FIELD_IS ("data"))
    {
      if (self->max_event > 0 && self->data->len + value_len > self->max_event)
        {
          overflow (self);
          return;
        }
      g_string_append_len (self->data, value, value_len);
      g_string_append_c (self->data, '\n');
    }
  else if (FIELD_IS ("event"))
    {
      g_string_truncate (self->event_type, 0);
      g_string_append_len (self->event_type, value, value_len);
    }
  else if (FIELD_IS ("id"))
    {
      if (memchr (value, '\0', value_len) == NULL)
        {
          g_string_truncate (self->last_id, 0);
          g_string_append_len (self->last_id, value, value_len);
        }
    }
  /* "retry" and unknown fields are ignored. */
#undef FIELD_IS
}

/* A line may be that much longer than the data it carries: "data: ", and
 * a BOM before the first. */
#define LINE_SLACK 16

/* Whether a line @len bytes long (so far) passes the maximum, with the
 * event's data before it. The event's data does not change while a line
 * is read, and a line only grows, so the answer is the same however the
 * bytes were split. */
static inline gboolean
would_overflow (RillSseDecoder *self, gsize len)
{
  return self->max_event > 0
         && self->line->len + len + self->data->len > self->max_event + LINE_SLACK;
}

/* The first CR or LF: memchr is vectorised, a byte loop is not. */
static inline const char *
find_line_end (const char *p, const char *end)
{
  const char *lf = memchr (p, '\n', end - p);
  const char *cr = memchr (p, '\r', (lf ? lf : end) - p);

  return cr ? cr : lf;
}

void
rill_sse_decoder_feed (RillSseDecoder *self, const char *bytes, gsize len)
{
  const char *p = bytes;
  const char *end = bytes + len;

  g_return_if_fail (self != NULL);

  while (p < end && !self->overflowed)
    {
      const char *eol;

      if (self->skip_lf)
        {
          self->skip_lf = FALSE;
          if (*p == '\n')
            {
              p++;
              continue;
            }
        }

      eol = find_line_end (p, end);
      if (would_overflow (self, (eol ? eol : end) - p))
        {
          overflow (self);
          return;
        }
      if (eol == NULL)
        {
          g_string_append_len (self->line, p, end - p);
          return;
        }

      /* Whole lines are handed over in place; only a line cut by a read
       * boundary is copied. */
      if (self->line->len > 0)
        {
          g_string_append_len (self->line, p, eol - p);
          process_line (self, self->line->str, self->line->len);
          g_string_truncate (self->line, 0);
        }
      else
        process_line (self, p, eol - p);

      if (*eol == '\r')
        self->skip_lf = TRUE;
      p = eol + 1;
    }
}

void
rill_sse_decoder_set_max_event (RillSseDecoder *self, gsize max)
{
  g_return_if_fail (self != NULL);

  self->max_event = max;
}

gboolean
rill_sse_decoder_overflowed (RillSseDecoder *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->overflowed;
}

void
rill_sse_decoder_finish (RillSseDecoder *self)
{
  g_return_if_fail (self != NULL);

  g_string_truncate (self->line, 0);
  g_string_truncate (self->data, 0);
  g_string_truncate (self->event_type, 0);
  self->skip_lf = FALSE;
  self->overflowed = FALSE;
}
