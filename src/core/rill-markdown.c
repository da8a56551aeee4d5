/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-markdown.c
 *
 * Not a full CommonMark parser: what chat replies use, drawn the way people
 * expect (code blocks, inline code, bold, italic, headings, lists, links).
 * Anything it does not understand is shown as the text it is. */

#include <string.h>

#include "rill-markdown.h"

void
rill_markdown_splitter_init (RillMarkdownSplitter *splitter)
{
  memset (splitter, 0, sizeof *splitter);
}

void
rill_markdown_splitter_clear (RillMarkdownSplitter *splitter)
{
  g_clear_pointer (&splitter->language, g_free);
  memset (splitter, 0, sizeof *splitter);
}

void
rill_markdown_block_clear (RillMarkdownBlock *block)
{
  g_clear_pointer (&block->language, g_free);
}

static gboolean
is_blank (const char *line,
          const char *end)
{
  for (; line < end; line++)
    if (!g_ascii_isspace (*line))
      return FALSE;
  return TRUE;
}

static const char *
skip_indent (const char *line,
             const char *end)
{
  guint n = 0;

  while (line < end && *line == ' ' && n < 3)
    line++, n++;
  return line;
}

static gboolean
is_fence (const char *line,
          const char *end,
          char       *fence_char,
          guint      *fence_len,
          char      **language)
{
  const char *p = skip_indent (line, end);
  char c;
  guint n = 0;

  if (p >= end || (*p != '`' && *p != '~'))
    return FALSE;
  c = *p;
  while (p < end && *p == c)
    p++, n++;
  if (n < 3)
    return FALSE;
  if (c == '`' && memchr (p, '`', end - p) != NULL)
    return FALSE;

  *fence_char = c;
  *fence_len = n;
  if (language != NULL)
    {
      g_autofree char *info = g_strndup (p, end - p);

      g_strstrip (info);
      *language = *info ? g_strdup (info) : NULL;
    }
  return TRUE;
}

static gboolean
is_closing_fence (RillMarkdownSplitter *splitter,
                  const char           *line,
                  const char           *end)
{
  const char *p = skip_indent (line, end);
  guint n = 0;

  while (p < end && *p == splitter->fence_char)
    p++, n++;
  return n >= splitter->fence_len && is_blank (p, end);
}

static gboolean
is_heading (const char *line,
            const char *end)
{
  const char *p = skip_indent (line, end);
  guint n = 0;

  while (p < end && *p == '#')
    p++, n++;
  return n >= 1 && n <= 6 && (p == end || *p == ' ' || *p == '\t' || *p == '\r');
}

/* Cuts @text at most @max bytes after @from: after the last space in the
 * piece's last PIECE_SPACE_BYTES, so a word is not split over two blocks,
 * or else never inside a character. */
#define PIECE_SPACE_BYTES 256

static gsize
piece_end (const char *text,
           gsize       from,
           gsize       max)
{
  gsize cut = from + max;

  for (gsize at = cut; at > from && at > cut - MIN (max, PIECE_SPACE_BYTES); at--)
    if (text[at - 1] == ' ')
      return at;
  while (cut > from && ((guchar) text[cut] & 0xC0) == 0x80)
    cut--;
  return cut > from ? cut : from + max;
}

static gboolean
code_block (RillMarkdownSplitter *splitter,
            const char           *text,
            gsize                 len,
            gsize                 start,
            gboolean              at_end,
            RillMarkdownBlock    *block)
{
  gsize pos = start;

  block->kind = RILL_BLOCK_CODE;
  block->start = start;
  block->code_start = start;

  while (pos < len)
    {
      const char *eol = memchr (text + pos, '\n', len - pos);

      if (eol == NULL)
        break;
      if (is_closing_fence (splitter, text + pos, eol))
        {
          block->code_end = pos;
          block->end = eol - text + 1;
          block->language = g_steal_pointer (&splitter->language);
          splitter->in_fence = FALSE;
          return TRUE;
        }
      pos = eol - text + 1;
      if (pos - start >= RILL_MARKDOWN_PIECE)
        {
          block->code_end = block->end = pos;
          block->language = g_strdup (splitter->language);
          return TRUE;
        }
    }

  if (at_end)
    {
      block->code_end = is_closing_fence (splitter, text + pos, text + len) && pos < len
                        ? pos : len;
      block->end = len;
      block->language = g_steal_pointer (&splitter->language);
      splitter->in_fence = FALSE;
      return TRUE;
    }

  /* One line of code longer than a piece, still without its newline. */
  if (pos == start && len - start >= RILL_MARKDOWN_PIECE)
    {
      block->code_end = block->end = piece_end (text, start, RILL_MARKDOWN_PIECE);
      block->language = g_strdup (splitter->language);
      return TRUE;
    }

  return FALSE;
}

gboolean
rill_markdown_next_block (RillMarkdownSplitter *splitter,
                          const char           *text,
                          gsize                 len,
                          gsize                 start,
                          gboolean              at_end,
                          RillMarkdownBlock    *block)
{
  const char *eol;
  gsize pos = start;
  gsize next;

  g_return_val_if_fail (splitter != NULL, FALSE);
  g_return_val_if_fail (block != NULL, FALSE);

  memset (block, 0, sizeof *block);
  if (start >= len)
    return FALSE;

  if (splitter->in_fence)
    return code_block (splitter, text, len, start, at_end, block);

  /* Blank lines go with the block after them. */
  while (pos < len && (eol = memchr (text + pos, '\n', len - pos)) != NULL &&
         is_blank (text + pos, eol))
    pos = eol - text + 1;

  block->kind = RILL_BLOCK_PARAGRAPH;
  block->start = start;

  eol = pos < len ? memchr (text + pos, '\n', len - pos) : NULL;
  if (eol == NULL)
    {
      if (at_end)
        {
          block->kind = is_heading (text + pos, text + len) ? RILL_BLOCK_HEADING
                                                            : RILL_BLOCK_PARAGRAPH;
          block->end = len;
          return TRUE;
        }
      if (len - pos >= RILL_MARKDOWN_PIECE)
        {
          block->end = piece_end (text, pos, RILL_MARKDOWN_PIECE);
          return TRUE;
        }
      return FALSE;
    }

  if (is_fence (text + pos, eol, &splitter->fence_char, &splitter->fence_len, &splitter->language))
    {
      splitter->in_fence = TRUE;
      if (code_block (splitter, text, len, eol - text + 1, at_end, block))
        {
          block->start = start;
          return TRUE;
        }
      /* Not complete yet: the next call starts from the fence again. */
      g_clear_pointer (&splitter->language, g_free);
      splitter->in_fence = FALSE;
      memset (block, 0, sizeof *block);
      return FALSE;
    }

  if (is_heading (text + pos, eol))
    {
      block->kind = RILL_BLOCK_HEADING;
      block->end = eol - text + 1;
      return TRUE;
    }

  next = eol - text + 1;
  for (;;)
    {
      char c;
      guint n;

      if (next - start >= RILL_MARKDOWN_PIECE)
        {
          block->end = next;
          return TRUE;
        }
      eol = next < len ? memchr (text + next, '\n', len - next) : NULL;
      if (eol == NULL)
        {
          if (at_end || len - start >= RILL_MARKDOWN_PIECE)
            {
              block->end = at_end ? len : next;
              return TRUE;
            }
          return FALSE;
        }
      if (is_blank (text + next, eol))
        {
          block->end = eol - text + 1;
          return TRUE;
        }
      if (is_fence (text + next, eol, &c, &n, NULL) || is_heading (text + next, eol))
        {
          block->end = next;
          return TRUE;
        }
      next = eol - text + 1;
    }
}

/* Inline markup */

/* The same walk renders Pango markup, or with @plain only the words: the
 * text a search result shows, without the syntax around it. */
static void
append_escaped_mode (GString    *out,
                     gboolean    plain,
                     const char *text,
                     gssize      len)
{
  g_autofree char *escaped = NULL;

  if (plain)
    {
      g_string_append_len (out, text, len < 0 ? (gssize) strlen (text) : len);
      return;
    }
  escaped = g_markup_escape_text (text, len);
  g_string_append (out, escaped);
}

static void
append_tag (GString    *out,
            gboolean    plain,
            const char *tag)
{
  if (!plain)
    g_string_append (out, tag);
}

static const char *
find_run (const char *p,
          const char *end,
          const char *run)
{
  gsize n = strlen (run);

  for (; p + n <= end; p++)
    if (memcmp (p, run, n) == 0)
      return p;
  return NULL;
}

static void render_inline (GString *out, gboolean plain, const char *p, const char *end);

static gboolean
wrap_span (GString     *out,
           gboolean     plain,
           const char  *p,
           const char  *end,
           const char  *marker,
           const char  *open,
           const char  *close,
           const char **next)
{
  gsize n = strlen (marker);
  const char *inner = p + n;
  const char *closing;

  if (inner >= end || g_ascii_isspace (*inner))
    return FALSE;
  closing = find_run (inner + 1, end, marker);
  /* "**" is not an italic "*" followed by another. */
  while (closing != NULL && n == 1 && closing + 1 < end && closing[1] == marker[0])
    closing = find_run (closing + 2, end, marker);
  if (closing == NULL || g_ascii_isspace (closing[-1]))
    return FALSE;
  /* snake_case_names are not italic. */
  if (marker[0] == '_' && closing + n < end && g_ascii_isalnum (closing[n]))
    return FALSE;

  append_tag (out, plain, open);
  render_inline (out, plain, inner, closing);
  append_tag (out, plain, close);
  *next = closing + n;
  return TRUE;
}

static void
render_inline (GString    *out,
               gboolean    plain,
               const char *p,
               const char *end)
{
  const char *line_start = p;

  while (p < end)
    {
      const char *next = NULL;
      gboolean word_start = p == line_start || g_ascii_isspace (p[-1]) || p[-1] == '(';

      if (*p == '\\' && p + 1 < end && g_ascii_ispunct (p[1]))
        {
          append_escaped_mode (out, plain, p + 1, 1);
          p += 2;
          continue;
        }

      if (*p == '`')
        {
          const char *q = p;
          char run[16] = { 0 };
          guint n = 0;
          const char *closing;

          while (q < end && *q == '`' && n < sizeof run - 1)
            run[n++] = *q++;
          closing = find_run (q, end, run);
          if (closing != NULL)
            {
              append_tag (out, plain, "<span font_family=\"monospace\" background=\"#8888881f\">");
              append_escaped_mode (out, plain, q, closing - q);
              append_tag (out, plain, "</span>");
              p = closing + n;
              continue;
            }
          append_escaped_mode (out, plain, p, q - p);
          p = q;
          continue;
        }

      if ((g_str_has_prefix (p, "**") &&
           wrap_span (out, plain, p, end, "**", "<b>", "</b>", &next)) ||
          (word_start && g_str_has_prefix (p, "__") &&
           wrap_span (out, plain, p, end, "__", "<b>", "</b>", &next)) ||
          (g_str_has_prefix (p, "~~") &&
           wrap_span (out, plain, p, end, "~~", "<s>", "</s>", &next)) ||
          (*p == '*' && wrap_span (out, plain, p, end, "*", "<i>", "</i>", &next)) ||
          (*p == '_' && word_start && wrap_span (out, plain, p, end, "_", "<i>", "</i>", &next)))
        {
          p = next;
          continue;
        }

      if (*p == '[')
        {
          const char *mid = find_run (p + 1, end, "](");
          const char *close = mid ? memchr (mid + 2, ')', end - (mid + 2)) : NULL;

          if (mid != NULL && close != NULL && memchr (p + 1, '\n', mid - p) == NULL)
            {
              g_autofree char *href = g_strndup (mid + 2, close - (mid + 2));

              /* An image's alt text is all its words. */
              if (plain && out->len > 0 && out->str[out->len - 1] == '!')
                g_string_truncate (out, out->len - 1);
              append_tag (out, plain, "<a href=\"");
              if (!plain)
                append_escaped_mode (out, plain, href, -1);
              append_tag (out, plain, "\">");
              render_inline (out, plain, p + 1, mid);
              append_tag (out, plain, "</a>");
              p = close + 1;
              continue;
            }
        }

      if (word_start && (g_str_has_prefix (p, "https://") || g_str_has_prefix (p, "http://")))
        {
          const char *q = p;

          while (q < end && !g_ascii_isspace (*q) &&
                 *q != '<' && *q != '>' && *q != ')' && *q != '"')
            q++;
          while (q > p && strchr (".,;:!?'", q[-1]) != NULL)
            q--;
          append_tag (out, plain, "<a href=\"");
          if (!plain)
            append_escaped_mode (out, plain, p, q - p);
          append_tag (out, plain, "\">");
          append_escaped_mode (out, plain, p, q - p);
          append_tag (out, plain, "</a>");
          p = q;
          continue;
        }

      if (*p == '\n')
        line_start = p + 1;
      next = g_utf8_find_next_char (p, end);
      append_escaped_mode (out, plain, p, (next ? next : end) - p);
      p = next ? next : end;
    }
}

static void
render_line (GString    *out,
             gboolean    plain,
             const char *line,
             const char *end)
{
  const char *p = line;
  guint indent = 0;

  while (p < end && (*p == ' ' || *p == '\t'))
    indent += *p == '\t' ? 4 : 1, p++;
  for (guint i = 0; !plain && i < indent / 2; i++)
    g_string_append (out, "  ");

  if (end - p >= 2 && strchr ("-*+", *p) != NULL && p[1] == ' ')
    {
      append_tag (out, plain, "•  ");
      p += 2;
    }
  else if (plain && p < end && *p == '#')
    {
      while (p < end && *p == '#')
        p++;
      while (p < end && *p == ' ')
        p++;
    }
  else if (plain && p < end && g_ascii_isdigit (*p))
    {
      const char *q = p;

      while (q < end && g_ascii_isdigit (*q))
        q++;
      if (end - q >= 2 && (*q == '.' || *q == ')') && q[1] == ' ')
        p = q + 2;
    }
  else if (p < end && *p == '>')
    {
      p++;
      if (p < end && *p == ' ')
        p++;
      append_tag (out, plain, "<span alpha=\"70%\">▎ ");
      render_inline (out, plain, p, end);
      append_tag (out, plain, "</span>");
      return;
    }
  else if (end - p >= 3 && (memcmp (p, "---", 3) == 0 || memcmp (p, "***", 3) == 0 ||
                            memcmp (p, "___", 3) == 0) && is_blank (p + 3, end))
    {
      append_tag (out, plain, "<span alpha=\"50%\">────────────</span>");
      return;
    }

  render_inline (out, plain, p, end);
}

char *
rill_markdown_to_pango (const char    *text,
                        gssize         len,
                        RillBlockKind  kind)
{
  GString *out = g_string_new (NULL);
  const char *p = text;
  const char *end;

  if (len < 0)
    len = strlen (text);
  end = text + len;

  while (p < end && g_ascii_isspace (*p))
    p++;
  while (end > p && g_ascii_isspace (end[-1]))
    end--;

  if (kind == RILL_BLOCK_HEADING)
    {
      guint level = 0;
      static const char *sizes[] = { "xx-large", "x-large", "large", "medium", "medium", "medium" };

      while (p < end && *p == '#')
        p++, level++;
      while (p < end && *p == ' ')
        p++;
      g_string_append_printf (out, "<span size=\"%s\" weight=\"bold\">",
                              sizes[CLAMP (level, 1, 6) - 1]);
      render_inline (out, FALSE, p, end);
      g_string_append (out, "</span>");
      return g_string_free (out, FALSE);
    }

  while (p < end)
    {
      const char *eol = memchr (p, '\n', end - p);
      const char *line_end = eol ? eol : end;

      if (line_end > p && line_end[-1] == '\r')
        line_end--;
      render_line (out, FALSE, p, line_end);
      if (eol == NULL)
        break;
      g_string_append_c (out, '\n');
      p = eol + 1;
    }

  return g_string_free (out, FALSE);
}

char *
rill_markdown_to_plain (const char *text,
                        gssize      len)
{
  GString *out = g_string_new (NULL);
  const char *p = text;
  const char *end;
  gboolean in_fence = FALSE;

  if (len < 0)
    len = strlen (text);
  end = text + len;

  while (p < end)
    {
      const char *eol = memchr (p, '\n', end - p);
      const char *line_end = eol ? eol : end;
      const char *q = p;

      while (q < line_end && (*q == ' ' || *q == '\t'))
        q++;
      if (line_end > p && line_end[-1] == '\r')
        line_end--;

      /* Fences go; the code between them stays as it is. */
      if (line_end - q >= 3 && (memcmp (q, "```", 3) == 0 || memcmp (q, "~~~", 3) == 0))
        in_fence = !in_fence;
      else if (in_fence)
        g_string_append_len (out, p, line_end - p);
      else
        render_line (out, TRUE, p, line_end);

      if (out->len > 0 && out->str[out->len - 1] != '\n')
        g_string_append_c (out, '\n');
      if (eol == NULL)
        break;
      p = eol + 1;
    }

  while (out->len > 0 && g_ascii_isspace (out->str[out->len - 1]))
    g_string_truncate (out, out->len - 1);
  return g_string_free (out, FALSE);
}
