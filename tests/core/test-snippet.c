/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-snippet.c: the line a search result shows. Each case checks the
 * whole text and the exact byte range of the match, which the window wraps
 * in <b> and the Shell ignores. */

#include <string.h>

#include "rill-markdown.h"
#include "rill-snippet.h"

/* The snippet of @markdown for @query, with the match in brackets, so one
 * string comparison checks both the text and the range. */
static char *
bracketed (const char *markdown,
           const char *query)
{
  gsize start = G_MAXSIZE, end = G_MAXSIZE;
  g_autofree char *text = rill_snippet_make (markdown, query, &start, &end);

  g_assert_true (g_utf8_validate (text, -1, NULL));
  g_assert_cmpuint (start, <=, end);
  g_assert_cmpuint (end, <=, strlen (text));
  if (start == end)
    {
      g_assert_cmpuint (start, ==, 0);
      return g_steal_pointer (&text);
    }
  /* Never inside a character. */
  g_assert_true (g_utf8_validate (text, start, NULL));
  g_assert_true (g_utf8_validate (text + start, end - start, NULL));
  return g_strdup_printf ("%.*s[%.*s]%s", (int) start, text, (int) (end - start), text + start,
                          text + end);
}

#define assert_snippet(markdown, query, expected) \
  G_STMT_START { \
    g_autofree char *got_ = bracketed ((markdown), (query)); \
    g_assert_cmpstr (got_, ==, (expected)); \
  } G_STMT_END

static void
test_ascii (void)
{
  assert_snippet ("The quick brown fox", "brown", "The quick [brown] fox");
  assert_snippet ("The quick brown fox", "The", "[The] quick brown fox");
  assert_snippet ("The quick brown fox", "fox", "The quick brown [fox]");
  /* The first occurrence. */
  assert_snippet ("one two one two", "two", "one [two] one two");
  /* Characters that markup would escape are the text's own here. */
  assert_snippet ("if a < b && c > d", "&&", "if a < b [&&] c > d");
}

static void
test_mixed_case (void)
{
  assert_snippet ("Lifetimes make sure references are VALID.", "valid",
                  "Lifetimes make sure references are [VALID].");
  assert_snippet ("lifetimes", "LIFETIMES", "[lifetimes]");
  assert_snippet ("Ελληνικά ΚΕΊΜΕΝΑ εδώ", "κείμενα", "Ελληνικά [ΚΕΊΜΕΝΑ] εδώ");
  assert_snippet ("Привет, МИР!", "мир", "Привет, [МИР]!");
}

/* Folding that changes the length: the range still covers whole
 * characters of the text, not of its folded copy. */
static void
test_length_changing_folds (void)
{
  assert_snippet ("Die Straße ist lang", "STRASSE", "Die [Straße] ist lang");
  assert_snippet ("DIE STRASSE IST LANG", "straße", "DIE [STRASSE] IST LANG");
  assert_snippet ("Die Straße ist lang", "Straße", "Die [Straße] ist lang");
  assert_snippet ("Die Straße ist lang", "sse", "Die Stra[ße] ist lang");
  assert_snippet ("Maße und Masse", "ss", "Ma[ß]e und Masse");
  /* Half of an "ß" is no match. */
  assert_snippet ("Maße", "se", "Maße");

  assert_snippet ("İSTANBUL ve İzmir", "istanbul", "[İSTANBUL] ve İzmir");
  assert_snippet ("Istanbul ve izmir", "İZMİR", "Istanbul ve [izmir]");
  /* The match after a character that shrank when folded. */
  assert_snippet ("İİİ abc", "ABC", "İİİ [abc]");
  /* And after one that grew ("ŉ" folds to two characters). */
  assert_snippet ("ŉŉ abc", "abc", "ŉŉ [abc]");
}

static void
test_accents_and_marks (void)
{
  /* Composed or decomposed, in the text or the query: the same match. */
  assert_snippet ("un café noir", "CAFÉ", "un [café] noir");
  assert_snippet ("un cafe\xcc\x81 noir", "café", "un [café] noir");
  assert_snippet ("un café noir", "cafe\xcc\x81", "un [café] noir");
  /* An accent is not ignored: "cafe" is not "café". */
  assert_snippet ("un café noir", "cafe", "un café noir");
  /* A base character is never parted from its marks: "क" alone bolds
   * "कि" (with its vowel sign). */
  assert_snippet ("यह किताब है", "क", "यह [कि]ताब है");
}

static void
test_chinese (void)
{
  assert_snippet ("我想去杭州西湖看看，有什么建议？", "西湖", "我想去杭州[西湖]看看，有什么建议？");
  assert_snippet ("西湖的断桥在春天最美。\n\n早上可以沿着苏堤散步。", "苏堤",
                  "西湖的断桥在春天最美。 早上可以沿着[苏堤]散步。");
  /* The ideographic space separates words, as in the store. */
  assert_snippet ("杭州 weather tomorrow", "天气\u3000WEATHER", "杭州 [weather] tomorrow");
}

static void
test_words (void)
{
  /* The whole query first, though a word of it comes earlier. */
  assert_snippet ("compiler bugs in a quantum compiler", "quantum compiler",
                  "compiler bugs in a [quantum compiler]");
  /* Else the earliest word. */
  assert_snippet ("valid in Rust, always", "rust   valid", "[valid] in Rust, always");
  /* White space in the query folds as in the text. */
  assert_snippet ("a\n\nquantum\t  compiler", " quantum\ncompiler ", "a [quantum compiler]");
}

static void
test_no_match (void)
{
  g_autoptr(GString) long_text = g_string_new (NULL);
  gsize start = 1, end = 1;
  g_autofree char *text = NULL;

  assert_snippet ("The quick brown fox", "wolf", "The quick brown fox");
  assert_snippet ("The quick brown fox", "", "The quick brown fox");
  assert_snippet ("The quick brown fox", "   ", "The quick brown fox");
  assert_snippet ("", "fox", "");

  /* No query at all; a long message shows its start. */
  for (guint i = 0; i < 40; i++)
    g_string_append (long_text, "word ");
  text = rill_snippet_make (long_text->str, NULL, &start, &end);
  g_assert_cmpuint (start, ==, 0);
  g_assert_cmpuint (end, ==, 0);
  g_assert_true (g_str_has_prefix (text, "word word"));
  /* Cut on a space: the space goes, the ellipsis stays. */
  g_assert_true (g_str_has_suffix (text, "word…"));
  g_assert_cmpint (g_utf8_strlen (text, -1), ==, RILL_SNIPPET_LENGTH);
}

static void
test_cut (void)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *middle = NULL;
  g_autofree char *near_start = NULL;
  g_autofree char *near_end = NULL;
  g_autofree char *cjk = NULL;
  gsize start, end;
  const char *ellipsis = "…";

  /* 26 letters, 10 times: "abc…xyzabc…" (260 characters), with a marker in
   * the middle. */
  for (guint i = 0; i < 10; i++)
    g_string_append (text, "abcdefghijklmnopqrstuvwxyz");
  g_string_insert (text, 130, "NEEDLE");

  middle = rill_snippet_make (text->str, "needle", &start, &end);
  /* 30 characters before the match, 120 in all, an ellipsis at each cut. */
  g_assert_true (g_str_has_prefix (middle, ellipsis));
  g_assert_true (g_str_has_suffix (middle, ellipsis));
  g_assert_cmpint (g_utf8_strlen (middle, -1), ==, RILL_SNIPPET_LENGTH + 2);
  g_assert_cmpuint (start, ==, strlen (ellipsis) + RILL_SNIPPET_LEAD);
  g_assert_cmpuint (end - start, ==, 6);
  g_assert_cmpmem (middle + start, 6, "NEEDLE", 6);
  g_assert_true (strncmp (middle + strlen (ellipsis), text->str + 100, RILL_SNIPPET_LENGTH) == 0);

  /* Near the start: nothing cut before it. */
  near_start = rill_snippet_make (text->str, "cdef", &start, &end);
  g_assert_false (g_str_has_prefix (near_start, ellipsis));
  g_assert_true (g_str_has_suffix (near_start, ellipsis));
  g_assert_cmpuint (start, ==, 2);
  g_assert_cmpuint (end, ==, 6);

  /* Near the end: the line is filled with what came before. */
  g_string_append (text, " tail");
  near_end = rill_snippet_make (text->str, "TAIL", &start, &end);
  g_assert_true (g_str_has_prefix (near_end, ellipsis));
  g_assert_cmpint (g_utf8_strlen (near_end, -1), ==, RILL_SNIPPET_LENGTH + 1);
  g_assert_cmpuint (end, ==, strlen (near_end));
  g_assert_cmpstr (near_end + start, ==, "tail");

  /* Counted in characters, so Chinese gets as many as English, and a cut
   * never falls inside one. */
  g_string_truncate (text, 0);
  for (guint i = 0; i < 100; i++)
    g_string_append (text, "汉字");
  g_string_append (text, "目标");
  for (guint i = 0; i < 100; i++)
    g_string_append (text, "文本");
  cjk = rill_snippet_make (text->str, "目标", &start, &end);
  g_assert_true (g_utf8_validate (cjk, -1, NULL));
  g_assert_cmpint (g_utf8_strlen (cjk, -1), ==, RILL_SNIPPET_LENGTH + 2);
  g_assert_cmpuint (start, ==, strlen (ellipsis) + RILL_SNIPPET_LEAD * 3);
  g_assert_cmpmem (cjk + start, end - start, "目标", strlen ("目标"));
}

static void
test_cut_at_space (void)
{
  g_autofree char *x = g_strnfill (50, 'x');
  g_autofree char *y = g_strnfill (29, 'y');
  g_autofree char *z = g_strnfill (84, 'z');
  g_autofree char *w = g_strnfill (50, 'w');
  /* Both cuts fall on a space: 30 characters before the match is the one
   * after the x's, and 120 characters on is the one after the z's. */
  g_autofree char *text = g_strconcat (x, " ", y, "match", z, " ", w, NULL);
  g_autofree char *expected = g_strconcat ("…", y, "[match]", z, "…", NULL);

  assert_snippet (text, "match", expected);
}

static void
test_markdown_removed (void)
{
  assert_snippet ("# Title\n\nSome **bold** and `code` with a [link](https://example.com/x).\n\n"
                  "- one\n- two",
                  "link",
                  "Title Some bold and code with a [link]. one two");
  /* The match is found in the words, not in the syntax around them. */
  assert_snippet ("Use **Rust**", "**", "Use Rust");
  assert_snippet ("see [the docs](https://docs.example.org)", "docs.example", "see the docs");
  assert_snippet ("```c\nint main (void);\n```\nafter", "MAIN", "int [main] (void); after");
  /* The snippet is exactly the plain text on one line. */
  {
    const char *markdown = "> quoted\n\n1. first\n2. *second*";
    g_autofree char *plain = rill_markdown_to_plain (markdown, -1);
    g_autofree char *snippet = rill_snippet_make (markdown, NULL, NULL, NULL);

    g_strdelimit (plain, "\n", ' ');
    g_assert_cmpstr (snippet, ==, plain);
  }
}

static void
test_invalid_utf8 (void)
{
  gsize start, end;
  g_autofree char *text = rill_snippet_make ("bad \xff\xfe bytes", "bytes", &start, &end);

  g_assert_true (g_utf8_validate (text, -1, NULL));
  g_assert_cmpmem (text + start, end - start, "bytes", 5);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/snippet/ascii", test_ascii);
  g_test_add_func ("/snippet/mixed-case", test_mixed_case);
  g_test_add_func ("/snippet/length-changing-folds", test_length_changing_folds);
  g_test_add_func ("/snippet/accents-and-marks", test_accents_and_marks);
  g_test_add_func ("/snippet/chinese", test_chinese);
  g_test_add_func ("/snippet/words", test_words);
  g_test_add_func ("/snippet/no-match", test_no_match);
  g_test_add_func ("/snippet/cut", test_cut);
  g_test_add_func ("/snippet/cut-at-space", test_cut_at_space);
  g_test_add_func ("/snippet/markdown-removed", test_markdown_removed);
  g_test_add_func ("/snippet/invalid-utf8", test_invalid_utf8);

  return g_test_run ();
}
