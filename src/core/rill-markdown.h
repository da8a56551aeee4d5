/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-markdown.h: how a reply is cut into blocks, and what a block shows.
 *
 * The stored text is never touched: blocks are only a way to draw it, so a
 * long reply is laid out a block at a time and a finished block never
 * changes again. Cutting a growing text into blocks is Rill's own (it must
 * be cheap and never look back); what a finished block means is md4c's,
 * with GitHub's extensions: tables, task lists, strikethrough, autolinks,
 * and $…$ math. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  RILL_BLOCK_PARAGRAPH,   /* text, lists, quotes, tables */
  RILL_BLOCK_HEADING,
  RILL_BLOCK_CODE,        /* a fenced code block, or a piece of a long one */
} RillBlockKind;

/* Longest block that is not cut, in bytes: a paragraph or a code block that
 * keeps growing is shown as pieces of about this size. */
#define RILL_MARKDOWN_PIECE 4096

/* A table is cut only past this many bytes: a piece without the header row
 * would no longer be a table. */
#define RILL_MARKDOWN_TABLE_PIECE (256 * 1024)

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
  /* For RILL_BLOCK_CODE: a piece after the first of one long code block. */
  gboolean      continues;
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

/* The whole code of the fenced block whose first piece starts at @start in
 * @text, every piece of it, without the fences: what "Copy" copies. */
char    *rill_markdown_dup_code       (const char           *text,
                                       gsize                 len,
                                       gsize                 start);

/* What a block shows, as md4c reads it: a list of parts, each drawn as one
 * widget, top to bottom. */
typedef enum {
  RILL_MARKDOWN_TEXT,     /* a paragraph, heading, list item or display math */
  RILL_MARKDOWN_TABLE,
  RILL_MARKDOWN_CODE,
  RILL_MARKDOWN_RULE,
} RillMarkdownPartKind;

typedef enum {
  RILL_MARKDOWN_ALIGN_DEFAULT,
  RILL_MARKDOWN_ALIGN_LEFT,
  RILL_MARKDOWN_ALIGN_CENTER,
  RILL_MARKDOWN_ALIGN_RIGHT,
} RillMarkdownAlign;

typedef enum {
  RILL_MARKDOWN_TASK_NONE,
  RILL_MARKDOWN_TASK_OPEN,
  RILL_MARKDOWN_TASK_DONE,
} RillMarkdownTask;

typedef struct
{
  RillMarkdownPartKind kind;
  guint                depth;        /* lists and quotes it is inside */
  guint                quote_depth;  /* how many of those are quotes */
  /* The first part of a list item carries its mark: "•", "3." or a task. */
  char                *bullet;
  RillMarkdownTask     task;
  guint                heading;      /* 1–6, or 0 */
  gboolean             centered;     /* display math, on a line of its own */

  /* RILL_MARKDOWN_TEXT: Pango markup; links only http(s) and mailto. */
  char                *markup;
  /* Links whose words look like an address on another host than the one
   * they lead to: opening one asks first. */
  GPtrArray           *suspicious_links;

  /* RILL_MARKDOWN_CODE */
  char                *code;
  char                *language;

  /* RILL_MARKDOWN_TABLE: n_rows × n_columns cells of markup, the header row
   * first, and each column's alignment. */
  guint                n_rows;
  guint                n_columns;
  char               **cells;
  RillMarkdownAlign   *aligns;
  /* Where the table's Markdown is in the parsed text, for "Copy". */
  gsize                source_start;
  gsize                source_end;
} RillMarkdownPart;

/* The parts of @text, which is one finished block; an array of
 * RillMarkdownPart that frees them with itself. */
GPtrArray *rill_markdown_parse        (const char           *text,
                                       gsize                 len);

/* Whether @uri may become a link: http, https and mailto only. */
gboolean   rill_markdown_uri_allowed  (const char           *uri);

/* The words of @text without the Markdown around them: no fences, heading
 * marks, list bullets, emphasis, backticks or link targets. For snippets. */
char    *rill_markdown_to_plain       (const char           *text,
                                       gssize                len);

G_END_DECLS
