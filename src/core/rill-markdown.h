/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-markdown.h: how a reply is cut into blocks and drawn.
 *
 * The stored text is never touched: blocks are only a way to draw it, so a
 * long reply is laid out a block at a time and a finished block never
 * changes again. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  RILL_BLOCK_PARAGRAPH,   /* text, lists, quotes: inline markup */
  RILL_BLOCK_HEADING,
  RILL_BLOCK_CODE,        /* a fenced code block, or a piece of a long one */
} RillBlockKind;

/* Longest block that is not cut, in bytes: a paragraph or a code block that
 * keeps growing is shown as pieces of about this size. */
#define RILL_MARKDOWN_PIECE 4096

typedef struct
{
  gboolean in_fence;
  char     fence_char;
  guint    fence_len;
  char    *language;
} RillMarkdownSplitter;

typedef struct
{
  RillBlockKind kind;
  gsize         start;
  gsize         end;        /* exclusive; the next block starts here */
  /* For RILL_BLOCK_CODE: where the code itself is, without fences. */
  gsize         code_start;
  gsize         code_end;
  char         *language;
} RillMarkdownBlock;

void     rill_markdown_splitter_init  (RillMarkdownSplitter *splitter);
void     rill_markdown_splitter_clear (RillMarkdownSplitter *splitter);
/* Finds the block starting at @start in @text (@len bytes). Returns FALSE
 * while that block may still grow; with @at_end, what is left is a block.
 * Clear @block with rill_markdown_block_clear(). */
gboolean rill_markdown_next_block     (RillMarkdownSplitter *splitter,
                                       const char           *text,
                                       gsize                 len,
                                       gsize                 start,
                                       gboolean              at_end,
                                       RillMarkdownBlock    *block);
void     rill_markdown_block_clear    (RillMarkdownBlock    *block);

/* Pango markup for a paragraph or a heading: bold, italic, inline code,
 * links, list bullets and quotes. */
char    *rill_markdown_to_pango       (const char           *text,
                                       gssize                len,
                                       RillBlockKind         kind);

/* The words of @text without the Markdown around them: no fences, heading
 * marks, list bullets, emphasis, backticks or link targets. For snippets. */
char    *rill_markdown_to_plain       (const char           *text,
                                       gssize                len);

G_END_DECLS
