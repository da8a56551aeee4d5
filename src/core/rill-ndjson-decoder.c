/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Splits a body into lines. A line is held only until its newline, so a
 * line that never ends would hold memory without end; with a maximum set,
 * the decoder stops at it instead, before the bytes that would pass it are
 * copied. */

#include "rill-ndjson-decoder.h"

#include <string.h>

struct _RillNdjsonDecoder
{
  RillNdjsonLineFunc func;
  gpointer           user_data;
  GString           *line;
  gsize              max_line; /* 0: none */
  gboolean           overflowed;
};

RillNdjsonDecoder *
rill_ndjson_decoder_new (RillNdjsonLineFunc func, gpointer user_data)
{
  RillNdjsonDecoder *self = g_new0 (RillNdjsonDecoder, 1);

  self->func = func;
  self->user_data = user_data;
  self->line = g_string_new (NULL);
  return self;
}

void
rill_ndjson_decoder_free (RillNdjsonDecoder *self)
{
  if (self == NULL)
    return;
  g_string_free (self->line, TRUE);
  g_free (self);
}

static void
emit_line (RillNdjsonDecoder *self)
{
  /* Tolerate CRLF and blank keep-alive lines. */
  if (self->line->len > 0 && self->line->str[self->line->len - 1] == '\r')
    g_string_truncate (self->line, self->line->len - 1);
  if (self->line->len > 0)
    self->func (self->line->str, self->line->len, self->user_data);
  g_string_truncate (self->line, 0);
}

/* Whether @len bytes more pass the maximum; if so, what was held goes back
 * now, not when the decoder is freed, which may be much later. */
static gboolean
overflows (RillNdjsonDecoder *self, gsize len)
{
  if (self->max_line == 0 || self->line->len + len <= self->max_line)
    return FALSE;
  self->overflowed = TRUE;
  g_string_free (self->line, TRUE);
  self->line = g_string_new (NULL);
  return TRUE;
}

void
rill_ndjson_decoder_feed (RillNdjsonDecoder *self, const char *bytes, gsize len)
{
  const char *p = bytes;
  const char *end = bytes + len;

  g_return_if_fail (self != NULL);

  while (p < end && !self->overflowed)
    {
      const char *eol = memchr (p, '\n', end - p);

      if (overflows (self, (eol ? eol : end) - p))
        return;
      if (eol == NULL)
        {
          g_string_append_len (self->line, p, end - p);
          return;
        }
      g_string_append_len (self->line, p, eol - p);
      emit_line (self);
      p = eol + 1;
    }
}

void
rill_ndjson_decoder_set_max_line (RillNdjsonDecoder *self, gsize max)
{
  g_return_if_fail (self != NULL);

  self->max_line = max;
}

gboolean
rill_ndjson_decoder_overflowed (RillNdjsonDecoder *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->overflowed;
}

void
rill_ndjson_decoder_finish (RillNdjsonDecoder *self)
{
  g_return_if_fail (self != NULL);

  if (!self->overflowed)
    emit_line (self);
  g_string_truncate (self->line, 0);
  self->overflowed = FALSE;
}
