/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The SSE decoder against the WHATWG EventSource parsing rules, and the
 * NDJSON splitter: the same events whatever the split of the bytes. */

#include <string.h>

#include "rill-ndjson-decoder.h"
#include "rill-sse-decoder.h"

static void
collect_event (const char *type, const char *data, gsize len, const char *id, gpointer user_data)
{
  GString *out = user_data;

  g_assert_cmpuint (strlen (data), ==, len);
  g_string_append_printf (out, "[%s|%s|%s]", type, id, data);
}

static char *
decode (const char *input, gsize len, const gsize *cuts, guint n_cuts)
{
  GString *out = g_string_new (NULL);
  g_autoptr(RillSseDecoder) decoder = rill_sse_decoder_new (collect_event, out);
  gsize at = 0;

  for (guint i = 0; i < n_cuts; i++)
    {
      rill_sse_decoder_feed (decoder, input + at, cuts[i] - at);
      at = cuts[i];
    }
  rill_sse_decoder_feed (decoder, input + at, len - at);
  rill_sse_decoder_finish (decoder);
  return g_string_free (out, FALSE);
}

/* Decodes whole, then cut at every single place, then byte by byte, then in
 * random pieces; all must agree with @expected. */
static void
check (const char *input, gssize len, const char *expected)
{
  gsize n = len < 0 ? strlen (input) : (gsize) len;
  g_autofree char *whole = decode (input, n, NULL, 0);
  g_autofree gsize *every = g_new (gsize, n + 1);
  g_autoptr(GRand) rand = g_rand_new_with_seed (n);

  g_assert_cmpstr (whole, ==, expected);
  for (gsize cut = 1; cut < n; cut++)
    {
      g_autofree char *split = decode (input, n, &cut, 1);
      g_assert_cmpstr (split, ==, expected);
    }
  for (gsize i = 0; i < n; i++)
    every[i] = i;
  {
    g_autofree char *bytes = decode (input, n, every, n);
    g_assert_cmpstr (bytes, ==, expected);
  }
  for (guint round = 0; round < 50; round++)
    {
      guint n_cuts = 0;
      g_autofree char *pieces = NULL;

      for (gsize at = g_rand_int_range (rand, 1, 8); at < n; at += g_rand_int_range (rand, 1, 8))
        every[n_cuts++] = at;
      pieces = decode (input, n, every, n_cuts);
      g_assert_cmpstr (pieces, ==, expected);
    }
}

static void
test_line_endings (void)
{
  check ("data: a\n\ndata: b\r\n\r\ndata: c\r\rdata: d\r\n\n", -1,
         "[message||a][message||b][message||c][message||d]");
}

static void
test_comments_and_fields (void)
{
  check (": OPENROUTER PROCESSING\n\n"
         "event: delta\nid: 7\ndata: x\n\n"
         "data: y\n\n"
         "retry: 1000\nunknown: z\ndata:no-space\n\n",
         -1, "[delta|7|x][message|7|y][message|7|no-space]");
}

static void
test_multiline_data (void)
{
  check ("data: one\ndata:  two\ndata\ndata: three\n\n", -1, "[message||one\n two\n\nthree]");
}

static void
test_bom (void)
{
  check ("\xEF\xBB\xBF" "data: after bom\n\n", -1, "[message||after bom]");
  /* Only a leading BOM is dropped. */
  check ("data: a\n\n\xEF\xBB\xBF" "data: b\n\n", -1, "[message||a]");
}

static void
test_unterminated_event_dropped (void)
{
  check ("data: complete\n\ndata: never dispatched", -1, "[message||complete]");
  check ("data: [DONE]", -1, "");
}

static void
test_empty_events (void)
{
  /* A blank line with no data dispatches nothing; an empty data: line
   * dispatches an empty event; an id: with NUL is ignored. */
  check ("\n\n\nevent: x\n\ndata\n\n", -1, "[message||]");
  check ("id: a\0b\ndata: z\n\n", 18, "[message||z]");
}

static void
test_utf8_split_in_data (void)
{
  check ("data: {\"content\":\"你好 👋\"}\r\n\r\n", -1, "[message||{\"content\":\"你好 👋\"}]");
}

static void
collect_line (const char *line, gsize len, gpointer user_data)
{
  GString *out = user_data;

  g_assert_cmpuint (strlen (line), ==, len);
  g_string_append_printf (out, "[%s]", line);
}

static void
test_ndjson (void)
{
  const char *input = "{\"a\":1}\n\n{\"b\":\"世界\"}\r\n{\"c\":3}";
  gsize n = strlen (input);

  for (gsize piece = 1; piece <= n; piece++)
    {
      GString *out = g_string_new (NULL);
      g_autoptr(RillNdjsonDecoder) decoder = rill_ndjson_decoder_new (collect_line, out);
      g_autofree char *got = NULL;

      for (gsize at = 0; at < n; at += piece)
        rill_ndjson_decoder_feed (decoder, input + at, MIN (piece, n - at));
      rill_ndjson_decoder_finish (decoder);
      got = g_string_free (out, FALSE);
      g_assert_cmpstr (got, ==, "[{\"a\":1}][{\"b\":\"世界\"}][{\"c\":3}]");
    }
}

/* With a maximum of 10 bytes, in every split: the events before the one
 * that passes it are handed over, then nothing; "!" marks the overflow. */
static char *
decode_limited (const char *input, gsize piece, gboolean ndjson)
{
  GString *out = g_string_new (NULL);
  gsize n = strlen (input);
  gboolean overflowed;

  if (ndjson)
    {
      g_autoptr(RillNdjsonDecoder) decoder = rill_ndjson_decoder_new (collect_line, out);

      rill_ndjson_decoder_set_max_line (decoder, 10);
      for (gsize at = 0; at < n; at += piece)
        rill_ndjson_decoder_feed (decoder, input + at, MIN (piece, n - at));
      overflowed = rill_ndjson_decoder_overflowed (decoder);
      rill_ndjson_decoder_finish (decoder);
    }
  else
    {
      g_autoptr(RillSseDecoder) decoder = rill_sse_decoder_new (collect_event, out);

      rill_sse_decoder_set_max_event (decoder, 10);
      for (gsize at = 0; at < n; at += piece)
        rill_sse_decoder_feed (decoder, input + at, MIN (piece, n - at));
      overflowed = rill_sse_decoder_overflowed (decoder);
      rill_sse_decoder_finish (decoder);
    }
  if (overflowed)
    g_string_append_c (out, '!');
  return g_string_free (out, FALSE);
}

static void
test_limits (void)
{
  static const struct { gboolean ndjson; const char *input; const char *expected; } cases[] = {
    /* Ten bytes of data, in one line or two, pass; eleven do not. */
    { FALSE, "data: 0123456789\n\ndata: 01234\ndata: 5678\n\n",
      "[message||0123456789][message||01234\n5678]" },
    { FALSE, "data: 1\n\ndata: 0123456789A\n\ndata: 2\n\n", "[message||1]!" },
    { FALSE, "data: 1\n\ndata: 01234\ndata: 56789\n\ndata: 2\n\n", "[message||1]!" },
    /* A line that never ends stops at the limit, whatever it is. */
    { FALSE, "data: 1\n\n: a comment that goes on and on and on", "[message||1]!" },
    { FALSE, "data: 1\n\ndata: 0123456789ABCDEFGHIJKLMNOPQRST", "[message||1]!" },
    { TRUE, "0123456789\n01\r\n", "[0123456789][01]" },
    { TRUE, "1\n0123456789A\n2\n", "[1]!" },
    { TRUE, "1\n0123456789A", "[1]!" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    for (gsize piece = 1; piece <= strlen (cases[i].input); piece++)
      {
        g_autofree char *got = decode_limited (cases[i].input, piece, cases[i].ndjson);

        if (g_strcmp0 (got, cases[i].expected) != 0)
          g_error ("case %u in pieces of %" G_GSIZE_FORMAT ": %s, not %s", i, piece, got,
                   cases[i].expected);
      }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sse/line-endings", test_line_endings);
  g_test_add_func ("/sse/comments-and-fields", test_comments_and_fields);
  g_test_add_func ("/sse/multiline-data", test_multiline_data);
  g_test_add_func ("/sse/bom", test_bom);
  g_test_add_func ("/sse/unterminated-event-dropped", test_unterminated_event_dropped);
  g_test_add_func ("/sse/empty-events", test_empty_events);
  g_test_add_func ("/sse/utf8-split-in-data", test_utf8_split_in_data);
  g_test_add_func ("/ndjson/splits", test_ndjson);
  g_test_add_func ("/sse-ndjson/limits", test_limits);
  return g_test_run ();
}
