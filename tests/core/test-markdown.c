/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-markdown.c: blocks cover the text exactly, in any growth pattern. */

#include <string.h>

#include "rill-markdown.h"

static const char *sample =
  "Intro **bold** and `code`.\n"
  "Second line of the paragraph.\n"
  "\n"
  "# Heading\n"
  "- one\n"
  "- two\n"
  "\n"
  "```c\n"
  "int main (void) { return 0; }\n"
  "```\n"
  "Tail text 中文 without an end";

/* Splits @text as it would arrive @step bytes at a time; returns the blocks'
 * concatenation, which must be the text itself. */
static char *
split_growing (const char *text,
               gsize       step,
               guint      *n_blocks,
               guint      *n_code)
{
  RillMarkdownSplitter splitter;
  GString *out = g_string_new (NULL);
  gsize len = strlen (text);
  gsize committed = 0;

  rill_markdown_splitter_init (&splitter);
  *n_blocks = *n_code = 0;
  for (gsize shown = MIN (step, len); ; shown = MIN (shown + step, len))
    {
      RillMarkdownBlock block;
      gboolean at_end = shown == len;

      while (rill_markdown_next_block (&splitter, text, shown, committed, at_end, &block))
        {
          g_assert_cmpuint (block.start, ==, committed);
          g_assert_cmpuint (block.end, >, committed);
          g_assert_cmpuint (block.end, <=, shown);
          g_string_append_len (out, text + block.start, block.end - block.start);
          if (block.kind == RILL_BLOCK_CODE)
            (*n_code)++;
          (*n_blocks)++;
          committed = block.end;
          rill_markdown_block_clear (&block);
        }
      if (at_end)
        break;
    }
  rill_markdown_splitter_clear (&splitter);
  g_assert_cmpuint (committed, ==, len);
  return g_string_free (out, FALSE);
}

static void
test_blocks_cover_text (void)
{
  for (gsize step = 1; step < 40; step++)
    {
      guint n_blocks, n_code;
      g_autofree char *joined = split_growing (sample, step, &n_blocks, &n_code);

      g_assert_cmpstr (joined, ==, sample);
      g_assert_cmpuint (n_code, ==, 1);
      g_assert_cmpuint (n_blocks, >=, 4);
    }
}

static void
test_long_line_is_cut (void)
{
  g_autoptr(GString) text = g_string_new (NULL);
  guint n_blocks, n_code;
  g_autofree char *joined = NULL;

  /* A line that never ends, with multi-byte characters across the cuts. */
  for (guint i = 0; i < 5000; i++)
    g_string_append (text, i % 3 ? "字" : "a");
  joined = split_growing (text->str, 97, &n_blocks, &n_code);
  g_assert_cmpstr (joined, ==, text->str);
  g_assert_cmpuint (n_blocks, >=, text->len / RILL_MARKDOWN_PIECE);
}

static void
test_pango (void)
{
  g_autofree char *markup =
    rill_markdown_to_pango ("**b** *i* `c <x>` [l](https://a.b?c=1&d=2) snake_case_name", -1,
                            RILL_BLOCK_PARAGRAPH);

  g_assert_nonnull (strstr (markup, "<b>b</b>"));
  g_assert_nonnull (strstr (markup, "<i>i</i>"));
  g_assert_nonnull (strstr (markup, "c &lt;x&gt;"));
  g_assert_nonnull (strstr (markup, "<a href=\"https://a.b?c=1&amp;d=2\">l</a>"));
  g_assert_nonnull (strstr (markup, "snake_case_name"));
}

static void
test_plain (void)
{
  g_autofree char *plain = rill_markdown_to_plain ("## A *heading*\n"
                                                   "- first item\n"
                                                   "1. second **item**\n"
                                                   "> quoted `code` and "
                                                   "[a link](https://gnome.org)\n"
                                                   "```python\n"
                                                   "def hello():\n"
                                                   "    print('hi')\n"
                                                   "```\n"
                                                   "snake_case_name 中文 <b>", -1);

  g_assert_cmpstr (plain, ==, "A heading\n"
                   "first item\n"
                   "second item\n"
                   "quoted code and a link\n"
                   "def hello():\n"
                   "    print('hi')\n"
                   "snake_case_name 中文 <b>");
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/markdown/blocks-cover-text", test_blocks_cover_text);
  g_test_add_func ("/markdown/long-line-is-cut", test_long_line_is_cut);
  g_test_add_func ("/markdown/pango", test_pango);
  g_test_add_func ("/markdown/plain", test_plain);
  return g_test_run ();
}
