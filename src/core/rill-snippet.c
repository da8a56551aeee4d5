/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-snippet.c
 *
 * Matching folds both sides one character at a time (case folding, then
 * canonical decomposition) and remembers, for each byte of the folded line,
 * where in the line its character starts. A match found in the folded text
 * maps back to whole characters of the line however much folding changed
 * the lengths ("ß" folds to "ss", "İ" to "i"), so a caller can wrap the
 * range in markup without ever cutting a character. A match must begin and
 * end on a character's edge: "s" alone does not match half of an "ß".
 *
 * Lowercasing the whole line and looking in that, as the window used to,
 * loses the way back as soon as one character changes length, and then
 * nothing is bold at all.
 *
 * The line is composed (NFC) before anything else, so a message written
 * with decomposed accents matches as a composed one does, and the marks
 * left over (Indic vowel signs, say) stay with their base character. */

#include "rill-snippet.h"

#include <string.h>

#include "rill-markdown.h"

#define ELLIPSIS "…"

/* Runs of white space, Unicode's included (the ideographic space separates
 * terms for the store too), become one space; none at either end. */
static char *
one_line (const char *text)
{
  GString *out = g_string_sized_new (strlen (text));
  gboolean space = FALSE;

  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_isspace (c))
        {
          space = out->len > 0;
          continue;
        }
      if (space)
        g_string_append_c (out, ' ');
      space = FALSE;
      g_string_append_len (out, p, g_utf8_next_char (p) - p);
    }
  return g_string_free (out, FALSE);
}

static void
fold_char (GString  *out,
           gunichar  c)
{
  char buf[6];
  g_autofree char *folded = NULL;
  g_autofree char *decomposed = NULL;

  /* Most text: nothing to allocate. */
  if (c < 0x80)
    {
      g_string_append_c (out, g_ascii_tolower (c));
      return;
    }
  /* Full case folding turns "İ" into "i" plus a combining dot above, which
   * no "i" typed on a keyboard has; the Turkic folding drops the dot. */
  if (c == 0x0130)
    {
      g_string_append_c (out, 'i');
      return;
    }
  folded = g_utf8_casefold (buf, g_unichar_to_utf8 (c, buf));
  decomposed = g_utf8_normalize (folded, -1, G_NORMALIZE_DEFAULT);
  g_string_append (out, decomposed != NULL ? decomposed : folded);
}

static char *
fold_term (const char *term)
{
  GString *out = g_string_new (NULL);

  for (const char *p = term; *p != '\0'; p = g_utf8_next_char (p))
    fold_char (out, g_utf8_get_char (p));
  return g_string_free (out, FALSE);
}

typedef struct
{
  const char *line;
  gsize       line_len;
  GString    *text;       /* the line, folded */
  gsize      *origin;     /* per byte of text: where its character starts */
} Folded;

static void
folded_init (Folded     *folded,
             const char *line)
{
  GArray *origin = g_array_new (FALSE, FALSE, sizeof (gsize));

  folded->line = line;
  folded->line_len = strlen (line);
  folded->text = g_string_sized_new (folded->line_len);
  for (const char *p = line; *p != '\0'; p = g_utf8_next_char (p))
    {
      gsize at = p - line;

      fold_char (folded->text, g_utf8_get_char (p));
      while (origin->len < folded->text->len)
        g_array_append_val (origin, at);
    }
  folded->origin = (gsize *) (gpointer) g_array_free (origin, FALSE);
}

static void
folded_clear (Folded *folded)
{
  g_string_free (folded->text, TRUE);
  g_free (folded->origin);
}

/* Whether byte @i of the folded text is where a character of the line
 * begins (or the end). */
static gboolean
folded_is_edge (const Folded *folded,
                gsize         i)
{
  return i == 0 || i == folded->text->len || folded->origin[i] != folded->origin[i - 1];
}

/* The first match of @term (folded) on characters' edges, as a byte range
 * of the line. */
static gboolean
folded_find (const Folded *folded,
             const char   *term,
             gsize        *start,
             gsize        *end)
{
  gsize n = strlen (term);
  const char *from = folded->text->str;
  const char *hit;

  if (n == 0)
    return FALSE;
  /* Both sides are valid UTF-8, so a hit always starts on a character of
   * the folded text; only the line's edges need checking. */
  while ((hit = strstr (from, term)) != NULL)
    {
      gsize s = hit - folded->text->str;
      gsize e = s + n;

      if (folded_is_edge (folded, s) && folded_is_edge (folded, e))
        {
          *start = folded->origin[s];
          *end = e == folded->text->len ? folded->line_len : folded->origin[e];
          return TRUE;
        }
      from = g_utf8_next_char (hit);
    }
  return FALSE;
}

static gboolean
is_mark (const char *p)
{
  return *p != '\0' && g_unichar_ismark (g_utf8_get_char (p));
}

/* The first occurrence of the whole query, else the earliest of its words
 * (the longest, when two start at the same place). */
static gboolean
find_match (const char *line,
            const char *phrase,
            gsize      *start,
            gsize      *end)
{
  Folded folded;
  g_autofree char *term = fold_term (phrase);
  gboolean found;

  folded_init (&folded, line);
  found = folded_find (&folded, term, start, end);
  if (!found && strchr (phrase, ' ') != NULL)
    {
      g_auto(GStrv) words = g_strsplit (phrase, " ", -1);

      for (guint i = 0; words[i] != NULL; i++)
        {
          g_autofree char *word = fold_term (words[i]);
          gsize s, e;

          if (folded_find (&folded, word, &s, &e) &&
              (!found || s < *start || (s == *start && e > *end)))
            {
              *start = s;
              *end = e;
              found = TRUE;
            }
        }
    }
  folded_clear (&folded);

  if (!found)
    return FALSE;
  /* Bold must not part a character from its marks. */
  while (*start > 0 && is_mark (line + *start))
    *start = g_utf8_prev_char (line + *start) - line;
  while (is_mark (line + *end))
    *end = g_utf8_next_char (line + *end) - line;
  return TRUE;
}

char *
rill_snippet_make (const char *markdown,
                   const char *query,
                   gsize      *match_start,
                   gsize      *match_end)
{
  g_autofree char *valid_markdown = NULL;
  g_autofree char *valid_query = NULL;
  g_autofree char *plain = NULL;
  g_autofree char *composed = NULL;
  g_autofree char *line = NULL;
  g_autofree char *phrase = NULL;
  GString *out;
  gsize start = 0, end = 0;
  gboolean found = FALSE;
  glong n_chars, from, to;
  const char *a, *b;

  g_return_val_if_fail (markdown != NULL, NULL);

  /* Stored text is valid UTF-8; a query from D-Bus is too. Cheap to make
   * sure, and every walk below relies on it. */
  if (!g_utf8_validate (markdown, -1, NULL))
    markdown = valid_markdown = g_utf8_make_valid (markdown, -1);
  if (query != NULL && !g_utf8_validate (query, -1, NULL))
    query = valid_query = g_utf8_make_valid (query, -1);

  plain = rill_markdown_to_plain (markdown, -1);
  composed = g_utf8_normalize (plain, -1, G_NORMALIZE_DEFAULT_COMPOSE);
  line = one_line (composed);
  if (query != NULL)
    {
      phrase = one_line (query);
      found = *phrase != '\0' && find_match (line, phrase, &start, &end);
    }

  /* Characters, not bytes, so Chinese gets as much text as English. Near
   * the end, more of what came before instead of a short line. */
  n_chars = g_utf8_strlen (line, -1);
  from = found ? MAX (0, g_utf8_pointer_to_offset (line, line + start) - RILL_SNIPPET_LEAD) : 0;
  to = MIN (n_chars, from + RILL_SNIPPET_LENGTH);
  if (found)
    to = MAX (to, g_utf8_pointer_to_offset (line, line + end));
  if (to - from < RILL_SNIPPET_LENGTH)
    from = MAX (0, to - RILL_SNIPPET_LENGTH);
  a = g_utf8_offset_to_pointer (line, from);
  b = g_utf8_offset_to_pointer (line, to);

  /* A cut keeps marks with their character and leaves no space beside the
   * ellipsis; the match has neither at its edges, so it stays inside. */
  while (a > line && is_mark (a))
    a = g_utf8_prev_char (a);
  while (is_mark (b))
    b = g_utf8_next_char (b);
  if (a > line && *a == ' ')
    a++;
  if (*b != '\0' && b > a && b[-1] == ' ')
    b--;

  out = g_string_sized_new (b - a + 2 * strlen (ELLIPSIS));
  if (a > line)
    g_string_append (out, ELLIPSIS);
  if (found)
    {
      start = start - (a - line) + out->len;
      end = end - (a - line) + out->len;
    }
  g_string_append_len (out, a, b - a);
  if (*b != '\0')
    g_string_append (out, ELLIPSIS);

  if (match_start != NULL)
    *match_start = start;
  if (match_end != NULL)
    *match_end = end;
  return g_string_free (out, FALSE);
}
