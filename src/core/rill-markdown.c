/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-markdown.c
 *
 * Two halves. The splitter cuts a growing reply into blocks with a walk
 * that only looks at line starts (blank lines, fences, headings), so each
 * frame costs what arrived, and a block once cut never changes. The parser
 * hands one finished block to md4c and turns its events into parts: Pango
 * markup for text, cells for tables, code for code. md4c never sees a text
 * that is still growing. */

#include <md4c.h>
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

/* A table's delimiter row: cells of dashes with a colon at either end for
 * the alignment, parted by pipes. */
static gboolean
is_delimiter_row (const char *line,
                  const char *end)
{
  gboolean dash = FALSE, pipe = FALSE;

  for (; line < end; line++)
    if (*line == '-')
      dash = TRUE;
    else if (*line == '|')
      pipe = TRUE;
    else if (*line != ':' && *line != ' ' && *line != '\t' && *line != '\r')
      return FALSE;
  return dash && pipe;
}

/* Whether the line @line–@eol starts a table, with the next line at @next
 * and the text ending at @end: 1 yes, 0 no, -1 not known until the next
 * line is complete. */
static int
starts_table (const char *line,
              const char *eol,
              const char *next,
              const char *end)
{
  const char *next_eol;

  if (memchr (line, '|', eol - line) == NULL)
    return 0;
  if (next >= end)
    return -1;
  next_eol = memchr (next, '\n', end - next);
  if (next_eol == NULL)
    {
      for (const char *p = next; p < end; p++)
        if (strchr ("-|: \t\r", *p) == NULL)
          return 0;
      return -1;
    }
  return is_delimiter_row (next, next_eol) ? 1 : 0;
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
  gsize piece = RILL_MARKDOWN_PIECE;

  g_return_val_if_fail (splitter != NULL, FALSE);
  g_return_val_if_fail (block != NULL, FALSE);

  memset (block, 0, sizeof *block);
  if (start >= len)
    return FALSE;

  if (splitter->in_fence)
    {
      block->continues = TRUE;
      return code_block (splitter, text, len, start, at_end, block);
    }

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
  /* A table is not cut at RILL_MARKDOWN_PIECE: its pieces would lose the
   * header row and be text again. */
  if (starts_table (text + pos, eol, text + next, text + len) == 1)
    piece = RILL_MARKDOWN_TABLE_PIECE;
  for (;;)
    {
      char c;
      guint n;

      if (next - start >= piece)
        {
          block->end = next;
          return TRUE;
        }
      eol = next < len ? memchr (text + next, '\n', len - next) : NULL;
      if (eol == NULL)
        {
          if (at_end || len - start >= piece)
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
      /* md4c starts a table only after a blank line, so a table right
       * under a line of text is cut off into a block of its own. */
      if (piece != RILL_MARKDOWN_TABLE_PIECE)
        switch (starts_table (text + next, eol, eol + 1, text + len))
          {
          case 1:
            block->end = next;
            return TRUE;
          case -1:
            if (!at_end)
              return FALSE;
            break;
          default:
            break;
          }
      next = eol - text + 1;
    }
}

/* The whole code of a fenced block, every piece of it. */
char *
rill_markdown_dup_code (const char *text,
                        gsize       len,
                        gsize       start)
{
  RillMarkdownSplitter splitter;
  RillMarkdownBlock block;
  GString *code = g_string_new (NULL);
  gboolean first = TRUE;

  rill_markdown_splitter_init (&splitter);
  while (start < len && rill_markdown_next_block (&splitter, text, len, start, TRUE, &block))
    {
      gboolean take = block.kind == RILL_BLOCK_CODE && (first || block.continues);

      if (take)
        g_string_append_len (code, text + block.code_start, block.code_end - block.code_start);
      start = block.end;
      rill_markdown_block_clear (&block);
      if (!take || !splitter.in_fence)
        break;
      first = FALSE;
    }
  rill_markdown_splitter_clear (&splitter);
  /* The newline before the closing fence is not part of the code. */
  if (code->len > 0 && code->str[code->len - 1] == '\n')
    g_string_truncate (code, code->len - 1);
  return g_string_free (code, FALSE);
}

/* Parts, through md4c */

#define FLAGS (MD_DIALECT_GITHUB | MD_FLAG_LATEXMATHSPANS | MD_FLAG_NOINDENTEDCODEBLOCKS)

/* Chat replies are not documents: a single newline is where the model
 * wanted a new line, as the live tail shows it. */
#define SOFT_BREAK "\n"

typedef struct
{
  MD_BLOCKTYPE kind;
  guint        number;    /* an ordered list's next item */
} Container;

typedef struct
{
  const char *text;
  gsize       len;
  GPtrArray  *parts;

  GArray          *containers; /* of Container: lists and quotes */
  guint            depth;
  guint            quote_depth;
  char            *bullet; /* a list item's mark, for its first part */
  RillMarkdownTask task;

  GString    *markup;     /* text of the paragraph, heading or cell */
  gboolean    in_text;
  guint       heading;
  GPtrArray  *suspicious;

  /* Links: only one level, and the words of the one open. */
  guint       link_depth;
  GArray     *link_opened; /* of gboolean, per MD_SPAN_A open */
  char       *link_href;
  GString    *link_words;

  GString    *code;
  char       *language;
  gboolean    in_code_block;

  GPtrArray  *cells;
  GArray     *aligns;
  guint       n_columns;
  gboolean    in_cell;
  const char *table_first;
  const char *table_last;
} Parser;

static void
part_free (gpointer data)
{
  RillMarkdownPart *part = data;

  g_free (part->bullet);
  g_free (part->markup);
  g_clear_pointer (&part->suspicious_links, g_ptr_array_unref);
  g_free (part->code);
  g_free (part->language);
  g_strfreev (part->cells);
  g_free (part->aligns);
  g_free (part);
}

static RillMarkdownPart *
add_part (Parser              *p,
          RillMarkdownPartKind kind)
{
  RillMarkdownPart *part = g_new0 (RillMarkdownPart, 1);

  part->kind = kind;
  part->depth = p->depth;
  part->quote_depth = p->quote_depth;
  part->bullet = g_steal_pointer (&p->bullet);
  part->task = p->task;
  p->task = RILL_MARKDOWN_TASK_NONE;
  g_ptr_array_add (p->parts, part);
  return part;
}

/* Ends the text gathered so far as a part of its own. */
static void
flush_text (Parser *p)
{
  RillMarkdownPart *part;

  if (!p->in_text)
    return;
  p->in_text = FALSE;
  /* Line breaks at either end are those around display math. */
  while (p->markup->len > 0 && p->markup->str[p->markup->len - 1] == '\n')
    g_string_truncate (p->markup, p->markup->len - 1);
  while (p->markup->len > 0 && p->markup->str[0] == '\n')
    g_string_erase (p->markup, 0, 1);
  if (p->markup->len == 0)
    return;
  part = add_part (p, RILL_MARKDOWN_TEXT);
  part->heading = p->heading;
  if (p->heading > 0)
    {
      static const char *sizes[] = { "xx-large", "x-large", "large", "medium", "medium", "medium" };

      part->markup = g_strdup_printf ("<span size=\"%s\" weight=\"bold\">%s</span>",
                                      sizes[CLAMP (p->heading, 1, 6) - 1], p->markup->str);
    }
  else
    part->markup = g_strdup (p->markup->str);
  if (p->suspicious->len > 0)
    part->suspicious_links = g_ptr_array_ref (p->suspicious);
  g_ptr_array_unref (p->suspicious);
  p->suspicious = g_ptr_array_new_with_free_func (g_free);
  g_string_truncate (p->markup, 0);
}

static void
start_text (Parser *p)
{
  flush_text (p);
  p->in_text = TRUE;
}

/* HTML entities: numeric ones, and the named ones replies use. */
static void
append_entity (GString    *out,
               const char *entity,
               gsize       len)
{
  static const struct { const char *name; const char *utf8; } named[] = {
    { "amp", "&" }, { "lt", "<" }, { "gt", ">" }, { "quot", "\"" }, { "apos", "'" },
    { "nbsp", "\xc2\xa0" }, { "copy", "©" }, { "reg", "®" }, { "trade", "™" },
    { "hellip", "…" }, { "mdash", "—" }, { "ndash", "–" }, { "laquo", "«" }, { "raquo", "»" },
    { "times", "×" }, { "divide", "÷" }, { "deg", "°" }, { "plusmn", "±" }, { "middot", "·" },
    { "larr", "←" }, { "rarr", "→" }, { "harr", "↔" }, { "le", "≤" }, { "ge", "≥" },
    { "ne", "≠" }, { "euro", "€" },
  };
  g_autofree char *name = NULL;

  if (len >= 3 && entity[0] == '&' && entity[len - 1] == ';')
    name = g_strndup (entity + 1, len - 2);
  if (name != NULL && name[0] == '#')
    {
      gboolean hex = name[1] == 'x' || name[1] == 'X';
      gunichar c = g_ascii_strtoull (name + (hex ? 2 : 1), NULL, hex ? 16 : 10);

      if (c == 0 || !g_unichar_validate (c))
        c = 0xFFFD;
      g_string_append_unichar (out, c);
      return;
    }
  for (gsize i = 0; name != NULL && i < G_N_ELEMENTS (named); i++)
    if (g_str_equal (name, named[i].name))
      {
        g_string_append (out, named[i].utf8);
        return;
      }
  g_string_append_len (out, entity, len);
}

static void
append_escaped (GString    *out,
                const char *text,
                gsize       len)
{
  g_autofree char *escaped = g_markup_escape_text (text, len);

  g_string_append (out, escaped);
}

/* An attribute (a link's target) as one string, its entities decoded. */
static char *
attribute_string (const MD_ATTRIBUTE *attr)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; attr->substr_offsets[i] < attr->size; i++)
    {
      const char *s = attr->text + attr->substr_offsets[i];
      gsize n = attr->substr_offsets[i + 1] - attr->substr_offsets[i];

      if (attr->substr_types[i] == MD_TEXT_ENTITY)
        append_entity (out, s, n);
      else if (attr->substr_types[i] == MD_TEXT_NULLCHAR)
        g_string_append (out, "\xef\xbf\xbd");
      else
        g_string_append_len (out, s, n);
    }
  return g_string_free (out, FALSE);
}

gboolean
rill_markdown_uri_allowed (const char *uri)
{
  return g_ascii_strncasecmp (uri, "https://", 8) == 0 ||
         g_ascii_strncasecmp (uri, "http://", 7) == 0 ||
         g_ascii_strncasecmp (uri, "mailto:", 7) == 0;
}

/* The host @words name when they read as an address (example.org,
 * https://example.org/x), or NULL. */
static char *
host_in_words (const char *words)
{
  g_autofree char *w = g_strstrip (g_strdup (words));
  const char *p = w;
  const char *end;
  char *host;

  if (g_ascii_strncasecmp (p, "https://", 8) == 0)
    p += 8;
  else if (g_ascii_strncasecmp (p, "http://", 7) == 0)
    p += 7;
  end = p + strcspn (p, "/?#:");
  if (end == p || memchr (p, '.', end - p) == NULL || strchr (w, ' ') != NULL)
    return NULL;
  for (const char *q = p; q < end; q++)
    if (!g_ascii_isalnum (*q) && *q != '.' && *q != '-' && !((guchar) *q & 0x80))
      return NULL;
  /* "v1.2" or "3.14" are not addresses: the last label has letters. */
  for (const char *q = end; q > p && q[-1] != '.'; q--)
    if (!g_ascii_isalpha (q[-1]) && !((guchar) q[-1] & 0x80))
      return NULL;
  host = g_ascii_strdown (p, end - p);
  return host;
}

static const char *
without_www (const char *host)
{
  return g_str_has_prefix (host, "www.") ? host + 4 : host;
}

/* Words that read as one address and a target on another host. */
static gboolean
is_misleading (const char *words,
               const char *href)
{
  g_autofree char *shown = host_in_words (words);
  g_autoptr(GUri) uri = NULL;
  g_autofree char *target = NULL;

  if (shown == NULL)
    return FALSE;
  if (g_ascii_strncasecmp (href, "mailto:", 7) == 0)
    return TRUE;
  uri = g_uri_parse (href, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_uri_get_host (uri) == NULL)
    return TRUE;
  target = g_ascii_strdown (g_uri_get_host (uri), -1);
  return !g_str_equal (without_www (shown), without_www (target));
}

static int
enter_block_cb (MD_BLOCKTYPE type,
                void        *detail,
                void        *user_data)
{
  Parser *p = user_data;
  Container c = { type, 1 };

  switch (type)
    {
    case MD_BLOCK_DOC:
      break;
    case MD_BLOCK_QUOTE:
      flush_text (p);
      g_array_append_val (p->containers, c);
      p->depth++;
      p->quote_depth++;
      break;
    case MD_BLOCK_UL:
    case MD_BLOCK_OL:
      flush_text (p);
      if (type == MD_BLOCK_OL)
        c.number = ((MD_BLOCK_OL_DETAIL *) detail)->start;
      g_array_append_val (p->containers, c);
      p->depth++;
      break;
    case MD_BLOCK_LI:
      {
        MD_BLOCK_LI_DETAIL *li = detail;
        Container *list = p->containers->len > 0
                          ? &g_array_index (p->containers, Container, p->containers->len - 1)
                          : NULL;

        flush_text (p);
        g_free (p->bullet);
        if (li->is_task)
          {
            p->task = li->task_mark == ' ' ? RILL_MARKDOWN_TASK_OPEN : RILL_MARKDOWN_TASK_DONE;
            p->bullet = NULL;
          }
        else if (list != NULL && list->kind == MD_BLOCK_OL)
          p->bullet = g_strdup_printf ("%u.", list->number++);
        else
          p->bullet = g_strdup ("•");
        /* A tight list's text comes straight in the item. */
        start_text (p);
      }
      break;
    case MD_BLOCK_HR:
      flush_text (p);
      add_part (p, RILL_MARKDOWN_RULE);
      break;
    case MD_BLOCK_H:
      start_text (p);
      p->heading = ((MD_BLOCK_H_DETAIL *) detail)->level;
      break;
    case MD_BLOCK_CODE:
      {
        MD_BLOCK_CODE_DETAIL *code = detail;

        flush_text (p);
        p->in_code_block = TRUE;
        g_string_truncate (p->code, 0);
        g_free (p->language);
        p->language = code->lang.size > 0 ? attribute_string (&code->lang) : NULL;
      }
      break;
    case MD_BLOCK_HTML:
    case MD_BLOCK_P:
      start_text (p);
      break;
    case MD_BLOCK_TABLE:
      flush_text (p);
      p->n_columns = ((MD_BLOCK_TABLE_DETAIL *) detail)->col_count;
      p->cells = g_ptr_array_new_with_free_func (g_free);
      g_array_set_size (p->aligns, 0);
      p->table_first = p->table_last = NULL;
      break;
    case MD_BLOCK_THEAD:
    case MD_BLOCK_TBODY:
    case MD_BLOCK_TR:
      break;
    case MD_BLOCK_TH:
    case MD_BLOCK_TD:
      {
        RillMarkdownAlign align = (RillMarkdownAlign) ((MD_BLOCK_TD_DETAIL *) detail)->align;

        if (p->aligns->len < p->n_columns)
          g_array_append_val (p->aligns, align);
        g_string_truncate (p->markup, 0);
        p->in_cell = TRUE;
      }
      break;
    default:
      break;
    }
  return 0;
}

static int
leave_block_cb (MD_BLOCKTYPE type,
                void        *detail,
                void        *user_data)
{
  Parser *p = user_data;

  switch (type)
    {
    case MD_BLOCK_QUOTE:
    case MD_BLOCK_UL:
    case MD_BLOCK_OL:
      flush_text (p);
      g_array_set_size (p->containers, p->containers->len - 1);
      p->depth--;
      if (type == MD_BLOCK_QUOTE)
        p->quote_depth--;
      break;
    case MD_BLOCK_LI:
      flush_text (p);
      /* An item with nothing in it still shows its mark. */
      if (p->bullet != NULL || p->task != RILL_MARKDOWN_TASK_NONE)
        add_part (p, RILL_MARKDOWN_TEXT)->markup = g_strdup ("");
      break;
    case MD_BLOCK_H:
      flush_text (p);
      p->heading = 0;
      break;
    case MD_BLOCK_P:
    case MD_BLOCK_HTML:
      flush_text (p);
      break;
    case MD_BLOCK_CODE:
      {
        RillMarkdownPart *part = add_part (p, RILL_MARKDOWN_CODE);

        p->in_code_block = FALSE;
        if (p->code->len > 0 && p->code->str[p->code->len - 1] == '\n')
          g_string_truncate (p->code, p->code->len - 1);
        part->code = g_strdup (p->code->str);
        part->language = g_steal_pointer (&p->language);
      }
      break;
    case MD_BLOCK_TH:
    case MD_BLOCK_TD:
      g_ptr_array_add (p->cells, g_strdup (p->markup->str));
      g_string_truncate (p->markup, 0);
      p->in_cell = FALSE;
      break;
    case MD_BLOCK_TABLE:
      {
        RillMarkdownPart *part = add_part (p, RILL_MARKDOWN_TABLE);
        const char *from = p->table_first ? p->table_first : p->text;
        const char *to = p->table_last ? p->table_last : p->text + p->len;

        part->n_columns = MAX (p->n_columns, 1);
        part->n_rows = p->cells->len / part->n_columns;
        g_ptr_array_set_size (p->cells, part->n_rows * part->n_columns);
        g_ptr_array_add (p->cells, NULL);
        part->cells = (char **) g_ptr_array_free (g_steal_pointer (&p->cells), FALSE);
        g_array_set_size (p->aligns, part->n_columns);
        part->aligns = g_memdup2 (p->aligns->data, sizeof (RillMarkdownAlign) * part->n_columns);
        /* From the start of the header row's line to the end of the last
         * row's: the table as it was written. */
        while (from > p->text && from[-1] != '\n')
          from--;
        while (to < p->text + p->len && *to != '\n')
          to++;
        if (to > from && to[-1] == '\r')
          to--;
        part->source_start = from - p->text;
        part->source_end = to - p->text;
      }
      break;
    default:
      break;
    }
  return 0;
}

static int
enter_span_cb (MD_SPANTYPE type,
               void       *detail,
               void       *user_data)
{
  Parser *p = user_data;
  GString *m = p->markup;

  switch (type)
    {
    case MD_SPAN_EM:
      g_string_append (m, "<i>");
      break;
    case MD_SPAN_STRONG:
      g_string_append (m, "<b>");
      break;
    case MD_SPAN_DEL:
      g_string_append (m, "<s>");
      break;
    case MD_SPAN_CODE:
      g_string_append (m, "<span font_family=\"monospace\" background=\"#8888881f\">");
      break;
    case MD_SPAN_LATEXMATH:
      g_string_append (m, "<span font_family=\"monospace\" style=\"italic\">");
      break;
    case MD_SPAN_LATEXMATH_DISPLAY:
      /* A line of its own, centred: a part of its own. */
      if (!p->in_cell)
        {
          flush_text (p);
          p->in_text = TRUE;
        }
      g_string_append (m, "<span font_family=\"monospace\" style=\"italic\">");
      break;
    case MD_SPAN_A:
      {
        g_autofree char *href = attribute_string (&((MD_SPAN_A_DETAIL *) detail)->href);
        gboolean opened = p->link_depth == 0 && rill_markdown_uri_allowed (href);

        /* Never a link inside a link, nor one to anything but the web or
         * mail: those are their words only. */
        if (opened)
          {
            g_string_append (m, "<a href=\"");
            append_escaped (m, href, strlen (href));
            g_string_append (m, "\" title=\"");
            append_escaped (m, href, strlen (href));
            g_string_append (m, "\">");
            g_free (p->link_href);
            p->link_href = g_steal_pointer (&href);
            g_string_truncate (p->link_words, 0);
          }
        g_array_append_val (p->link_opened, opened);
        p->link_depth++;
      }
      break;
    case MD_SPAN_IMG:
    default:
      break;
    }
  return 0;
}

static int
leave_span_cb (MD_SPANTYPE type,
               void       *detail,
               void       *user_data)
{
  Parser *p = user_data;
  GString *m = p->markup;

  switch (type)
    {
    case MD_SPAN_EM:
      g_string_append (m, "</i>");
      break;
    case MD_SPAN_STRONG:
      g_string_append (m, "</b>");
      break;
    case MD_SPAN_DEL:
      g_string_append (m, "</s>");
      break;
    case MD_SPAN_CODE:
    case MD_SPAN_LATEXMATH:
      g_string_append (m, "</span>");
      break;
    case MD_SPAN_LATEXMATH_DISPLAY:
      g_string_append (m, "</span>");
      if (!p->in_cell)
        {
          RillMarkdownPart *part;

          flush_text (p);
          part = p->parts->len > 0 ? g_ptr_array_index (p->parts, p->parts->len - 1) : NULL;
          if (part != NULL && part->kind == RILL_MARKDOWN_TEXT)
            part->centered = TRUE;
          p->in_text = TRUE;
        }
      break;
    case MD_SPAN_A:
      p->link_depth--;
      if (g_array_index (p->link_opened, gboolean, p->link_depth))
        {
          g_string_append (m, "</a>");
          if (is_misleading (p->link_words->str, p->link_href))
            g_ptr_array_add (p->suspicious, g_steal_pointer (&p->link_href));
        }
      g_array_set_size (p->link_opened, p->link_depth);
      break;
    default:
      break;
    }
  return 0;
}

static int
text_cb (MD_TEXTTYPE  type,
         const char  *text,
         MD_SIZE      size,
         void        *user_data)
{
  Parser *p = user_data;
  GString *m = p->markup;
  gsize before = m->len;

  if (p->cells != NULL && text >= p->text && text + size <= p->text + p->len && size > 0)
    {
      if (p->table_first == NULL)
        p->table_first = text;
      p->table_last = text + size;
    }

  switch (type)
    {
    case MD_TEXT_NULLCHAR:
      g_string_append (m, "\xef\xbf\xbd");
      break;
    case MD_TEXT_BR:
    case MD_TEXT_SOFTBR:
      g_string_append (m, p->in_cell ? " " : SOFT_BREAK);
      break;
    case MD_TEXT_ENTITY:
      {
        g_autoptr(GString) decoded = g_string_new (NULL);

        append_entity (decoded, text, size);
        append_escaped (m, decoded->str, decoded->len);
      }
      break;
    case MD_TEXT_CODE:
      if (p->in_code_block)
        {
          g_string_append_len (p->code, text, size);
          return 0;
        }
      /* In a table, "\|" is how a pipe gets into code. */
      if (p->in_cell && memchr (text, '\\', size) != NULL)
        {
          g_autofree char *raw = g_strndup (text, size);
          g_auto(GStrv) pieces = g_strsplit (raw, "\\|", -1);
          g_autofree char *joined = g_strjoinv ("|", pieces);

          append_escaped (m, joined, strlen (joined));
        }
      else
        append_escaped (m, text, size);
      break;
    case MD_TEXT_HTML:
      /* Raw HTML is shown as typed, but for the line break models put in
       * table cells. */
      if (size >= 4 && g_ascii_strncasecmp (text, "<br", 3) == 0 &&
          strspn (text + 3, " /") == size - 4 && text[size - 1] == '>')
        g_string_append (m, p->in_cell ? " " : "\n");
      else
        append_escaped (m, text, size);
      break;
    case MD_TEXT_NORMAL:
    case MD_TEXT_LATEXMATH:
    default:
      append_escaped (m, text, size);
      break;
    }

  if (p->link_depth > 0)
    g_string_append_len (p->link_words, m->str + before, m->len - before);
  if (!p->in_cell)
    p->in_text = TRUE;
  return 0;
}

GPtrArray *
rill_markdown_parse (const char *text,
                     gsize       len)
{
  MD_PARSER md = {
    0, FLAGS, enter_block_cb, leave_block_cb, enter_span_cb, leave_span_cb, text_cb, NULL, NULL
  };
  Parser p = { 0 };

  p.text = text;
  p.len = len;
  p.parts = g_ptr_array_new_with_free_func (part_free);
  p.containers = g_array_new (FALSE, FALSE, sizeof (Container));
  p.markup = g_string_new (NULL);
  p.suspicious = g_ptr_array_new_with_free_func (g_free);
  p.link_opened = g_array_new (FALSE, FALSE, sizeof (gboolean));
  p.link_words = g_string_new (NULL);
  p.code = g_string_new (NULL);
  p.aligns = g_array_new (FALSE, FALSE, sizeof (RillMarkdownAlign));

  md_parse (text, len, &md, &p);
  flush_text (&p);

  g_array_unref (p.containers);
  g_string_free (p.markup, TRUE);
  g_ptr_array_unref (p.suspicious);
  g_array_unref (p.link_opened);
  g_free (p.link_href);
  g_string_free (p.link_words, TRUE);
  g_string_free (p.code, TRUE);
  g_free (p.language);
  g_clear_pointer (&p.cells, g_ptr_array_unref);
  g_array_unref (p.aligns);
  g_free (p.bullet);
  return p.parts;
}

/* Plain words, for snippets */

typedef struct
{
  GString *out;
  gboolean in_code;
} Plain;

static void
plain_end_line (GString *out)
{
  if (out->len > 0 && out->str[out->len - 1] != '\n')
    g_string_append_c (out, '\n');
}

static int
plain_enter_block_cb (MD_BLOCKTYPE type,
                      void        *detail,
                      void        *user_data)
{
  Plain *plain = user_data;

  if (type == MD_BLOCK_CODE)
    plain->in_code = TRUE;
  if (type == MD_BLOCK_TD || type == MD_BLOCK_TH)
    {
      if (plain->out->len > 0 && plain->out->str[plain->out->len - 1] != '\n')
        g_string_append_c (plain->out, ' ');
    }
  else
    plain_end_line (plain->out);
  return 0;
}

static int
plain_leave_block_cb (MD_BLOCKTYPE type,
                      void        *detail,
                      void        *user_data)
{
  Plain *plain = user_data;

  if (type == MD_BLOCK_CODE)
    plain->in_code = FALSE;
  if (type != MD_BLOCK_TD && type != MD_BLOCK_TH)
    plain_end_line (plain->out);
  return 0;
}

static int
plain_span_cb (MD_SPANTYPE type,
               void       *detail,
               void       *user_data)
{
  return 0;
}

static int
plain_text_cb (MD_TEXTTYPE  type,
               const char  *text,
               MD_SIZE      size,
               void        *user_data)
{
  Plain *plain = user_data;

  switch (type)
    {
    case MD_TEXT_NULLCHAR:
      g_string_append (plain->out, "\xef\xbf\xbd");
      break;
    case MD_TEXT_BR:
    case MD_TEXT_SOFTBR:
      g_string_append_c (plain->out, '\n');
      break;
    case MD_TEXT_ENTITY:
      append_entity (plain->out, text, size);
      break;
    default:
      g_string_append_len (plain->out, text, size);
      break;
    }
  return 0;
}

char *
rill_markdown_to_plain (const char *text,
                        gssize      len)
{
  MD_PARSER md = {
    0, FLAGS, plain_enter_block_cb, plain_leave_block_cb, plain_span_cb, plain_span_cb,
    plain_text_cb, NULL, NULL
  };
  Plain plain = { g_string_new (NULL), FALSE };

  if (len < 0)
    len = strlen (text);
  md_parse (text, len, &md, &plain);
  while (plain.out->len > 0 && g_ascii_isspace (plain.out->str[plain.out->len - 1]))
    g_string_truncate (plain.out, plain.out->len - 1);
  return g_string_free (plain.out, FALSE);
}
