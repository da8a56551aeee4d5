/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "rill-ndjson-decoder.h"

#include <string.h>

struct _RillNdjsonDecoder
{
  RillNdjsonLineFunc func;
  gpointer           user_data;
  GString           *line;
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

void
rill_ndjson_decoder_feed (RillNdjsonDecoder *self, const char *bytes, gsize len)
{
  const char *p = bytes;
  const char *end = bytes + len;

  g_return_if_fail (self != NULL);

  while (p < end)
    {
      const char *eol = memchr (p, '\n', end - p);

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
rill_ndjson_decoder_finish (RillNdjsonDecoder *self)
{
  g_return_if_fail (self != NULL);

  emit_line (self);
}
