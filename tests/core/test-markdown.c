/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-markdown.c: blocks cover the text exactly, in any growth pattern,
 * and each construct comes out of md4c as the part it is. */

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

/* Splits @text as it would arrive @step bytes at a time (or at random
 * places with @rand); returns the blocks, which must cover the text. */
static GArray *
blocks_growing (const char *text,
                gsize       step,
                GRand      *rand)
{
  RillMarkdownSplitter splitter;
  GArray *blocks = g_array_new (FALSE, FALSE, sizeof (RillMarkdownBlock));
  gsize len = strlen (text);
  gsize committed = 0;
  gsize shown = 0;

  g_array_set_clear_func (blocks, (GDestroyNotify) rill_markdown_block_clear);
  rill_markdown_splitter_init (&splitter);
  for (;;)
    {
      RillMarkdownBlock block;
      /* Drawn once: MIN() evaluates its arguments twice. */
      gsize more = rand ? (gsize) g_rand_int_range (rand, 1, 200) : step;
      gboolean at_end;

      shown = MIN (len, shown + more);
      at_end = shown == len;
      while (rill_markdown_next_block (&splitter, text, shown, committed, at_end, &block))
        {
          g_assert_cmpuint (block.start, ==, committed);
          g_assert_cmpuint (block.end, >, committed);
          g_assert_cmpuint (block.end, <=, shown);
          committed = block.end;
          g_array_append_val (blocks, block);
        }
      if (at_end)
        break;
    }
  rill_markdown_splitter_clear (&splitter);
  g_assert_cmpuint (committed, ==, len);
  return blocks;
}

static char *
joined (const char *text,
        GArray     *blocks)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < blocks->len; i++)
    {
      RillMarkdownBlock *block = &g_array_index (blocks, RillMarkdownBlock, i);

      g_string_append_len (out, text + block->start, block->end - block->start);
    }
  return g_string_free (out, FALSE);
}

static guint
count_kind (GArray        *blocks,
            RillBlockKind  kind)
{
  guint n = 0;

  for (guint i = 0; i < blocks->len; i++)
    n += g_array_index (blocks, RillMarkdownBlock, i).kind == kind;
  return n;
}

static void
test_blocks_cover_text (void)
{
  for (gsize step = 1; step < 40; step++)
    {
      g_autoptr(GArray) blocks = blocks_growing (sample, step, NULL);
      g_autofree char *text = joined (sample, blocks);

      g_assert_cmpstr (text, ==, sample);
      g_assert_cmpuint (count_kind (blocks, RILL_BLOCK_CODE), ==, 1);
      g_assert_cmpuint (blocks->len, >=, 4);
    }
}

static void
test_long_line_is_cut (void)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GArray) blocks = NULL;
  g_autofree char *out = NULL;

  /* A line that never ends, with multi-byte characters across the cuts. */
  for (guint i = 0; i < 5000; i++)
    g_string_append (text, i % 3 ? "字" : "a");
  blocks = blocks_growing (text->str, 97, NULL);
  out = joined (text->str, blocks);
  g_assert_cmpstr (out, ==, text->str);
  g_assert_cmpuint (blocks->len, >=, text->len / RILL_MARKDOWN_PIECE);
}

/* The one part of @markdown, which must be a single part of @kind. */
static GPtrArray *
parse (const char *markdown)
{
  return rill_markdown_parse (markdown, strlen (markdown));
}

static RillMarkdownPart *
part_at (GPtrArray *parts,
         guint      i)
{
  g_assert_cmpuint (i, <, parts->len);
  return g_ptr_array_index (parts, i);
}

static void
assert_contains (const char *haystack,
                 const char *needle)
{
  if (strstr (haystack, needle) == NULL)
    g_error ("\"%s\" does not contain \"%s\"", haystack, needle);
}

static void
test_inline (void)
{
  g_autoptr(GPtrArray) parts =
    parse ("**b** *i* ~~gone~~ `c <x>` [l](https://a.b?c=1&d=2) snake_case_name &amp; &#x4E2D;");
  RillMarkdownPart *part = part_at (parts, 0);

  g_assert_cmpuint (parts->len, ==, 1);
  g_assert_cmpint (part->kind, ==, RILL_MARKDOWN_TEXT);
  assert_contains (part->markup, "<b>b</b>");
  assert_contains (part->markup, "<i>i</i>");
  assert_contains (part->markup, "<s>gone</s>");
  assert_contains (part->markup, "c &lt;x&gt;</span>");
  assert_contains (part->markup,
                   "<a href=\"https://a.b?c=1&amp;d=2\" title=\"https://a.b?c=1&amp;d=2\">l</a>");
  assert_contains (part->markup, "snake_case_name &amp; 中");
}

static void
test_table (void)
{
  g_autoptr(GPtrArray) parts = parse ("| name | `a\\|b` | n |\n"
                                      "|:-----|:-----:|--:|\n"
                                      "| **x** | pipe \\| here | 1 |\n"
                                      "| y | `code` | 22 |\n");
  RillMarkdownPart *table = part_at (parts, 0);

  g_assert_cmpuint (parts->len, ==, 1);
  g_assert_cmpint (table->kind, ==, RILL_MARKDOWN_TABLE);
  g_assert_cmpuint (table->n_columns, ==, 3);
  g_assert_cmpuint (table->n_rows, ==, 3);
  g_assert_cmpint (table->aligns[0], ==, RILL_MARKDOWN_ALIGN_LEFT);
  g_assert_cmpint (table->aligns[1], ==, RILL_MARKDOWN_ALIGN_CENTER);
  g_assert_cmpint (table->aligns[2], ==, RILL_MARKDOWN_ALIGN_RIGHT);
  g_assert_cmpstr (table->cells[0], ==, "name");
  assert_contains (table->cells[1], ">a|b</span>");
  g_assert_cmpstr (table->cells[3], ==, "<b>x</b>");
  g_assert_cmpstr (table->cells[4], ==, "pipe | here");
  assert_contains (table->cells[7], ">code</span>");
  g_assert_cmpstr (table->cells[8], ==, "22");
  g_assert_null (table->cells[9]);
  /* Its Markdown, for Copy: the whole table as written. */
  g_assert_cmpuint (table->source_start, ==, 0);
  g_assert_cmpuint (table->source_end, ==, strlen ("| name | `a\\|b` | n |\n"
                                                   "|:-----|:-----:|--:|\n"
                                                   "| **x** | pipe \\| here | 1 |\n"
                                                   "| y | `code` | 22 |"));
}

static void
test_wide_table (void)
{
  g_autoptr(GString) md = g_string_new (NULL);
  g_autoptr(GPtrArray) parts = NULL;
  RillMarkdownPart *table;

  for (guint row = 0; row < 3; row++)
    {
      for (guint column = 0; column < 30; column++)
        g_string_append_printf (md, "| %s%u ", row == 0 ? "column" : "value", column);
      g_string_append (md, "|\n");
      if (row == 0)
        {
          for (guint column = 0; column < 30; column++)
            g_string_append (md, "|---");
          g_string_append (md, "|\n");
        }
    }
  parts = parse (md->str);
  table = part_at (parts, 0);
  g_assert_cmpint (table->kind, ==, RILL_MARKDOWN_TABLE);
  g_assert_cmpuint (table->n_columns, ==, 30);
  g_assert_cmpuint (table->n_rows, ==, 3);
  g_assert_cmpstr (table->cells[29], ==, "column29");
  g_assert_cmpstr (table->cells[89], ==, "value29");
}

static void
test_table_under_text (void)
{
  const char *text = "Here it is:\n| a | b |\n|---|---|\n| 1 | 2 |\n\nAfter.";
  g_autoptr(GArray) blocks = blocks_growing (text, 3, NULL);
  RillMarkdownBlock *second;
  g_autoptr(GPtrArray) parts = NULL;

  /* md4c starts a table only after a blank line: the splitter cuts it off. */
  g_assert_cmpuint (blocks->len, ==, 3);
  second = &g_array_index (blocks, RillMarkdownBlock, 1);
  parts = rill_markdown_parse (text + second->start, second->end - second->start);
  g_assert_cmpint (part_at (parts, 0)->kind, ==, RILL_MARKDOWN_TABLE);
}

static void
test_tasks_and_nested_lists (void)
{
  g_autoptr(GPtrArray) parts = parse ("- [x] done\n"
                                      "- [ ] to do\n"
                                      "  1. first\n"
                                      "  2. second\n"
                                      "     - deeper\n"
                                      "> quoted *words*\n");

  g_assert_cmpuint (parts->len, ==, 6);
  g_assert_cmpint (part_at (parts, 0)->task, ==, RILL_MARKDOWN_TASK_DONE);
  g_assert_cmpstr (part_at (parts, 0)->markup, ==, "done");
  g_assert_cmpuint (part_at (parts, 0)->depth, ==, 1);
  g_assert_cmpint (part_at (parts, 1)->task, ==, RILL_MARKDOWN_TASK_OPEN);
  g_assert_cmpstr (part_at (parts, 2)->bullet, ==, "1.");
  g_assert_cmpuint (part_at (parts, 2)->depth, ==, 2);
  g_assert_cmpstr (part_at (parts, 3)->bullet, ==, "2.");
  g_assert_cmpstr (part_at (parts, 4)->bullet, ==, "•");
  g_assert_cmpuint (part_at (parts, 4)->depth, ==, 3);
  g_assert_cmpuint (part_at (parts, 5)->quote_depth, ==, 1);
  g_assert_cmpstr (part_at (parts, 5)->markup, ==, "quoted <i>words</i>");
}

static void
test_autolinks (void)
{
  g_autoptr(GPtrArray) parts =
    parse ("See https://gnome.org/x, www.debian.org and me@example.org.");
  const char *markup = part_at (parts, 0)->markup;

  assert_contains (markup, "<a href=\"https://gnome.org/x\"");
  assert_contains (markup, "<a href=\"http://www.debian.org\"");
  assert_contains (markup, "<a href=\"mailto:me@example.org\"");
}

static void
test_links_are_safe (void)
{
  g_autoptr(GPtrArray) parts =
    parse ("[host](file:///etc/hostname) [share](smb://host/share) [app](rill-test:run) "
           "[https://good.example](https://evil.example/x) [docs](https://docs.example) "
           "[**https://gnome.org** and [inner](https://inner.example)](https://gnome.org)");
  RillMarkdownPart *part = part_at (parts, 0);

  g_assert_null (strstr (part->markup, "file:"));
  g_assert_null (strstr (part->markup, "smb:"));
  g_assert_null (strstr (part->markup, "rill-test:"));
  assert_contains (part->markup, "host share app");
  /* Words that name another host than the target's are asked about. */
  g_assert_nonnull (part->suspicious_links);
  g_assert_cmpuint (part->suspicious_links->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (part->suspicious_links, 0), ==, "https://evil.example/x");
  /* No link inside a link. */
  for (const char *p = strstr (part->markup, "<a "); p != NULL; p = strstr (p, "<a "))
    {
      const char *close = strstr (p, "</a>");

      g_assert_nonnull (close);
      g_assert_true (g_strstr_len (p + 1, close - p - 1, "<a ") == NULL);
      p = close;
    }
  g_assert_true (rill_markdown_uri_allowed ("HTTPS://x"));
  g_assert_true (rill_markdown_uri_allowed ("mailto:a@b"));
  g_assert_false (rill_markdown_uri_allowed ("javascript:alert(1)"));
}

static void
test_math (void)
{
  g_autoptr(GPtrArray) parts = parse ("Euler: $e^{i\\pi} + 1 = 0$ and\n$$\\int_0^1 x\\,dx$$\nend");

  g_assert_cmpuint (parts->len, ==, 3);
  assert_contains (part_at (parts, 0)->markup, "style=\"italic\">e^{i\\pi} + 1 = 0</span>");
  g_assert_false (part_at (parts, 0)->centered);
  g_assert_true (part_at (parts, 1)->centered);
  assert_contains (part_at (parts, 1)->markup, "\\int_0^1 x\\,dx");
  g_assert_cmpstr (part_at (parts, 2)->markup, ==, "end");
}

static void
test_fences (void)
{
  const char *text = "```python\nprint('hi')\n```\n\n~~~\nplain\n~~~\n\n"
                     "```c++ {.numbers}\nint x;\n```\n";
  g_autoptr(GArray) blocks = blocks_growing (text, 5, NULL);
  RillMarkdownBlock *b;

  g_assert_cmpuint (count_kind (blocks, RILL_BLOCK_CODE), ==, 3);
  b = &g_array_index (blocks, RillMarkdownBlock, 0);
  g_assert_cmpstr (b->language, ==, "python");
  g_assert_cmpmem (text + b->code_start, b->code_end - b->code_start, "print('hi')\n", 12);
  b = &g_array_index (blocks, RillMarkdownBlock, 1);
  g_assert_null (b->language);
  g_assert_cmpmem (text + b->code_start, b->code_end - b->code_start, "plain\n", 6);
  b = &g_array_index (blocks, RillMarkdownBlock, 2);
  g_assert_cmpstr (b->language, ==, "c++ {.numbers}");

  /* A fence inside a list item is md4c's. */
  {
    g_autoptr(GPtrArray) parts = parse ("1. Run:\n\n    ```sh\n    ls -l\n    ```\n");

    g_assert_cmpint (part_at (parts, 1)->kind, ==, RILL_MARKDOWN_CODE);
    g_assert_cmpstr (part_at (parts, 1)->code, ==, "ls -l");
    g_assert_cmpstr (part_at (parts, 1)->language, ==, "sh");
  }
}

static void
test_long_code_copies_whole (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  g_autoptr(GString) text = g_string_new ("Intro\n\n```python\n");
  g_autoptr(GString) code = g_string_new (NULL);
  g_autoptr(GArray) blocks = NULL;
  g_autofree char *copied = NULL;
  guint pieces;

  for (guint i = 0; i < 2000; i++)
    g_string_append_printf (code, "print (%u)\n", i);
  g_string_append_len (text, code->str, code->len);
  g_string_append (text, "```\nAfter\n");
  g_string_truncate (code, code->len - 1);

  blocks = blocks_growing (text->str, 0, rand);
  pieces = count_kind (blocks, RILL_BLOCK_CODE);
  g_assert_cmpuint (pieces, >, 3);
  for (guint i = 1; i < blocks->len; i++)
    {
      RillMarkdownBlock *b = &g_array_index (blocks, RillMarkdownBlock, i);

      g_assert_cmpint (b->continues, ==, b->kind == RILL_BLOCK_CODE && i > 1);
    }
  copied = rill_markdown_dup_code (text->str, text->len,
                                   g_array_index (blocks, RillMarkdownBlock, 1).start);
  g_assert_cmpstr (copied, ==, code->str);
}

/* Two lists of parts are the same. */
static void
assert_same_parts (GPtrArray *a,
                   GPtrArray *b)
{
  g_assert_cmpuint (a->len, ==, b->len);
  for (guint i = 0; i < a->len; i++)
    {
      RillMarkdownPart *x = g_ptr_array_index (a, i), *y = g_ptr_array_index (b, i);

      g_assert_cmpint (x->kind, ==, y->kind);
      g_assert_cmpstr (x->markup, ==, y->markup);
      g_assert_cmpstr (x->code, ==, y->code);
      g_assert_cmpuint (x->n_rows, ==, y->n_rows);
      for (guint c = 0; x->cells && x->cells[c]; c++)
        g_assert_cmpstr (x->cells[c], ==, y->cells[c]);
    }
}

/* Each block of @text, however it arrived, means what it means at once. */
static void
assert_splits_agree (const char *text,
                     GRand      *rand,
                     guint       rounds)
{
  g_autoptr(GArray) whole = blocks_growing (text, strlen (text) + 1, NULL);

  for (guint round = 0; round < rounds; round++)
    {
      g_autoptr(GArray) grown = blocks_growing (text, 0, rand);
      g_autofree char *out = joined (text, grown);

      g_assert_cmpstr (out, ==, text);
      g_assert_cmpuint (grown->len, ==, whole->len);
      for (guint i = 0; i < whole->len; i++)
        {
          RillMarkdownBlock *w = &g_array_index (whole, RillMarkdownBlock, i);
          RillMarkdownBlock *g = &g_array_index (grown, RillMarkdownBlock, i);
          g_autoptr(GPtrArray) pw = NULL;
          g_autoptr(GPtrArray) pg = NULL;

          g_assert_cmpuint (w->start, ==, g->start);
          g_assert_cmpuint (w->end, ==, g->end);
          g_assert_cmpint (w->kind, ==, g->kind);
          g_assert_cmpstr (w->language, ==, g->language);
          pw = rill_markdown_parse (text + w->start, w->end - w->start);
          pg = rill_markdown_parse (text + g->start, g->end - g->start);
          assert_same_parts (pw, pg);
        }
    }
}

static void
test_random_splits (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261202);
  const char *text =
    "A table of rivers:\n"
    "\n"
    "| river | length (km) | mouth |\n"
    "|:------|------------:|:-----:|\n"
    "| Nile | 6650 | Mediterranean |\n"
    "| Amazon | 6400 | Atlantic \\| Pará |\n"
    "| Yangtze 长江 | 6300 | `East China Sea` |\n"
    "\n"
    "```python\n"
    "def longest (rivers):\n"
    "    return max (rivers, key=lambda r: r.length)\n"
    "```\n"
    "- [x] measured\n"
    "- [ ] mapped\n";

  assert_splits_agree (text, rand, 200);
}

static void
test_recorded_replies (void)
{
  const char *dir = g_getenv ("RILL_STREAMS_DIR");
  g_autofree char *expected = NULL;
  g_autoptr(GDir) listing = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (1124);
  const char *name;
  guint n = 0;

  if (dir == NULL || !g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("../shared/streams is not here (RILL_STREAMS_DIR); nothing to read");
      return;
    }
  expected = g_build_filename (dir, "expected", NULL);
  listing = g_dir_open (expected, 0, NULL);
  while (listing && (name = g_dir_read_name (listing)))
    {
      g_autofree char *path = NULL;
      g_autofree char *text = NULL;

      if (!g_str_has_suffix (name, "content.txt"))
        continue;
      path = g_build_filename (expected, name, NULL);
      g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
      assert_splits_agree (text, rand, 5);
      n++;
    }
  g_test_message ("%u recorded replies", n);
  g_assert_cmpuint (n, >, 0);
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
  g_test_add_func ("/markdown/inline", test_inline);
  g_test_add_func ("/markdown/table", test_table);
  g_test_add_func ("/markdown/wide-table", test_wide_table);
  g_test_add_func ("/markdown/table-under-text", test_table_under_text);
  g_test_add_func ("/markdown/tasks-and-nested-lists", test_tasks_and_nested_lists);
  g_test_add_func ("/markdown/autolinks", test_autolinks);
  g_test_add_func ("/markdown/links-are-safe", test_links_are_safe);
  g_test_add_func ("/markdown/math", test_math);
  g_test_add_func ("/markdown/fences", test_fences);
  g_test_add_func ("/markdown/long-code-copies-whole", test_long_code_copies_whole);
  g_test_add_func ("/markdown/random-splits", test_random_splits);
  g_test_add_func ("/markdown/recorded-replies", test_recorded_replies);
  g_test_add_func ("/markdown/plain", test_plain);
  return g_test_run ();
}
